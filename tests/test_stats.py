"""schedlang.stats on constructed samples: the ratio, the rank test's exact numbers, and a
bootstrap interval that is the same for the same seed."""

from __future__ import annotations

import pytest

from schedlang.stats import compare, oriented, ratio_interval, ratio_of_medians

FAST = (8.0, 8.2, 8.1, 7.9, 8.3)
SLOW = (10.0, 10.2, 10.1, 9.9, 10.3)


def test_ratio_of_medians_is_candidate_over_other() -> None:
    assert ratio_of_medians(FAST, SLOW) == pytest.approx(8.1 / 10.1)
    assert ratio_of_medians([1.0, 2.0, 9.0, 10.0], [4.0]) == pytest.approx(5.5 / 4.0)
    assert ratio_of_medians([], SLOW) is None
    assert ratio_of_medians(FAST, [0.0, 0.0, 1.0]) is None


def test_oriented_turns_lower_is_better_ratios_over() -> None:
    assert oriented(0.8, "lower") == pytest.approx(1.25)
    assert oriented(0.8, "higher") == pytest.approx(0.8)
    assert oriented(0.0, "lower") is None
    assert oriented(None, "higher") is None


def test_complete_separation_has_the_smallest_exact_p_for_five_a_side() -> None:
    result = compare(FAST, SLOW, metric="time_s", better="lower", against="default")
    assert result.u == 0.0
    assert result.p == pytest.approx(2 / 252)
    assert result.test == "Mann-Whitney U (two-sided, exact)"
    assert result.n == (5, 5)
    assert result.ratio == pytest.approx(8.1 / 10.1)
    assert result.low is not None and result.high is not None
    assert 7.9 / 10.3 <= result.low < result.ratio < result.high < 1
    assert result.improves and not result.worsens
    low, high, ratio = result.oriented()[1], result.oriented()[2], result.oriented()[0]
    assert ratio == pytest.approx(10.1 / 8.1)
    assert low == pytest.approx(1 / result.high) and high == pytest.approx(1 / result.low)


def test_the_same_comparison_seen_from_the_other_side_worsens() -> None:
    result = compare(SLOW, FAST, metric="time_s", better="lower", against="default")
    assert result.u == 25.0 and result.p == pytest.approx(2 / 252)
    assert result.worsens and not result.improves


def test_higher_is_better_needs_the_interval_above_one() -> None:
    result = compare(SLOW, FAST, metric="ops", better="higher", against="default")
    assert result.improves
    assert not compare(FAST, SLOW, metric="ops", better="higher", against="default").improves


def test_ties_are_counted_in_the_exact_distribution() -> None:
    result = compare((1.0, 2.0, 3.0, 4.0, 5.0), (5.0, 7.0, 8.0, 9.0, 10.0), metric="m",
                     better="lower", against="default")  # fmt: skip
    assert result.u == 0.5
    assert result.p == pytest.approx(4 / 252)


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    a = (8.0, 8.6, 8.1, 7.2, 9.3, 8.8, 7.7)
    b = (10.0, 9.2, 10.1, 9.9, 11.3, 8.9, 10.4)
    first = ratio_interval(a, b, seed=7)
    assert ratio_interval(a, b, seed=7) == first
    assert ratio_interval(a, b, seed=8) != first
    assert compare(a, b, metric="m", better="lower", against="x", seed=7).low == first[0]


def test_interval_is_undefined_for_one_run_or_zero_medians() -> None:
    assert ratio_interval((1.0,), (2.0, 3.0)) == (None, None)
    assert ratio_interval((1.0, 2.0, 1.0), (0.0, 0.0, 1.0)) == (None, None)
    result = compare((1.0, 2.0, 1.0), (0.0, 0.0, 1.0), metric="misses", better="lower",
                     against="default")  # fmt: skip
    assert result.low is None and not result.improves and not result.worsens
    assert "interval undefined" in result.describe()

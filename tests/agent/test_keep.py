"""agent/keep.judge on fixed samples: each outcome exactly, with its numbers and sentence."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from schedlang.agent.goal import Slo
from schedlang.agent.keep import MIN_RUNS, Samples, Verdict, judge, samples

DEFAULT = (10.0, 10.2, 10.1, 9.9, 10.3)
FAST = (8.0, 8.2, 8.1, 7.9, 8.3)
OVERLAPPING = (9.8, 10.4, 10.0, 10.1, 9.95)
THROUGHPUT_DEFAULT = (100.0, 101.0, 99.0, 100.0, 102.0)


def time_s(candidate: tuple[float, ...], default: tuple[float, ...] = DEFAULT) -> Samples:
    return Samples("time_s", "lower", candidate, default)


def test_a_clear_win() -> None:
    v = judge("fast", time_s(FAST))
    assert v.outcome == "win" and v.win
    assert v.vs_default is not None
    assert (v.vs_default.u, v.vs_default.n) == (0.0, (5, 5))
    assert v.vs_default.p == pytest.approx(2 / 252)
    assert v.vs_default.ratio == pytest.approx(8.1 / 10.1)
    assert v.vs_default.high is not None and v.vs_default.high < 1
    assert v.vs_best is None and v.best is None
    assert v.sentence.startswith(
        "win for fast on time_s: 0.802x the default's median (95% interval"
    )
    assert v.sentence.endswith("Mann-Whitney U=0, p=0.0079; n=5/5)")


def test_a_clear_loss_says_worse() -> None:
    v = judge("slow", time_s(tuple(x + 2.5 for x in DEFAULT)))
    assert v.outcome == "no win"
    assert v.vs_default is not None and v.vs_default.worsens and v.vs_default.u == 25.0
    assert v.sentence.endswith("; worse than the default with significance")


def test_overlapping_runs_are_no_win_and_say_why() -> None:
    v = judge("same", time_s(OVERLAPPING))
    assert v.outcome == "no win"
    assert v.vs_default is not None
    assert v.vs_default.u == 10.0 and v.vs_default.p == pytest.approx(0.6904761904761905)
    assert v.vs_default.low is not None and v.vs_default.high is not None
    assert v.vs_default.low < 1 < v.vs_default.high
    assert v.sentence.endswith(
        "; the interval against the default does not exclude 1 on the good side"
        "; p=0.69 against the default is not below 0.05"
    )


def test_four_runs_are_insufficient_however_large_the_gain() -> None:
    assert MIN_RUNS == 5
    v = judge("four", time_s(tuple(x / 2 for x in FAST[:4])))
    assert v.outcome == "insufficient" and not v.win
    assert v.vs_default is not None and v.vs_default.n == (4, 5)
    assert v.sentence == (
        "insufficient for four on time_s: 4 runs of the candidate, 5 of the default; "
        "at least 5 runs a side are needed to claim a win"
    )
    assert judge("four", time_s(FAST, DEFAULT[:4])).outcome == "insufficient"


def test_a_broken_slo_is_no_win_even_when_faster() -> None:
    slo = Slo("throughput", 0.95, "build")
    ops = Samples("bogo_ops_per_s", "higher", (90.0, 91.0, 89.0, 92.0, 90.0), THROUGHPUT_DEFAULT)
    v = judge("greedy", time_s(FAST), slos=[(slo, ops)])
    assert v.vs_default is not None and v.vs_default.improves
    assert v.outcome == "no win"
    (check,) = v.slos
    assert check.ratio == pytest.approx(0.9) and not check.held
    assert v.sentence.endswith(
        "; build (throughput) >= 95% of the default's: bogo_ops_per_s at 0.900 of the "
        "default's, broken"
    )


def test_a_held_slo_on_a_lower_is_better_metric_is_oriented() -> None:
    slo = Slo("time", 0.95)
    wall = Samples("wall_s", "lower", (10.3, 10.4, 10.2, 10.5, 10.3), DEFAULT)
    v = judge("ok", time_s(FAST), slos=[(slo, wall)])
    assert v.outcome == "win"
    assert v.slos[0].ratio == pytest.approx(10.1 / 10.3) and v.slos[0].held
    assert v.sentence.endswith("wall_s at 0.981 of the default's, held")


def test_an_slo_with_four_runs_makes_it_insufficient() -> None:
    ops = Samples("ops", "higher", THROUGHPUT_DEFAULT[:4], THROUGHPUT_DEFAULT)
    v = judge("x", time_s(FAST), slos=[(Slo("throughput", 0.9), ops)])
    assert v.outcome == "insufficient"
    assert "4/5 on SLO metric ops" in v.sentence


def test_beating_the_default_but_not_the_best_is_no_win() -> None:
    best = (8.05, 8.15, 8.0, 8.2, 8.1)
    v = judge("also-fast", time_s(FAST), best=("previous", best))
    assert v.vs_default is not None and v.vs_default.improves
    assert v.vs_best is not None and v.vs_best.against == "previous" and not v.vs_best.improves
    assert v.outcome == "no win" and v.best == "previous"
    assert "and 1.000x previous's median" in v.sentence
    better_than_best = judge("faster", time_s(tuple(x - 1 for x in FAST)), best=("previous", best))
    assert better_than_best.outcome == "win"


def test_same_seed_same_verdict_and_json_round_trip() -> None:
    a = judge("fast", time_s(FAST), seed=3)
    assert judge("fast", time_s(FAST), seed=3) == a
    assert Verdict.from_dict(a.to_dict()) == a
    slo = (Slo("throughput", 0.95, "build"), Samples("ops", "higher", FAST, DEFAULT))
    b = judge("fast", time_s(FAST), slos=[slo], best=("prev", DEFAULT))
    assert Verdict.from_dict(b.to_dict()) == b


def test_samples_reads_a_report_row() -> None:
    row = SimpleNamespace(
        metric="time_s",
        better="lower",
        policy=SimpleNamespace(values=FAST),
        baseline=SimpleNamespace(values=DEFAULT),
    )
    report = SimpleNamespace(rows=[row])
    assert samples(report, "time_s") == Samples("time_s", "lower", FAST, DEFAULT)
    assert samples(report, "wall_s") is None

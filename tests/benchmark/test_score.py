"""The score formula on fixed samples, checked to the last bit where the arithmetic allows."""

from __future__ import annotations

import pytest

from schedlang.benchmark import score, suite

MIX = suite.parse_spec(
    """\
name = "mix"
description = "d"
category = "latency"
held_out = false
runner = "mix"
parser = "parse_mix"

[[metrics]]
name = "usecs_per_op"
alpha = 0.5

[[metrics]]
name = "bogo_ops_per_s"
alpha = 0.5

[[slos]]
metric = "bogo_ops_per_s"
bound = 0.8
relative = true
hard = true
why = "w"

[[slos]]
metric = "wall_s"
bound = 1.0
relative = true
hard = false
why = "w"

[goal]
metric = "wakeup_p50"
direction = "lower"
why = "w"
""",
    "mix.toml",
)
HELD = MIX.__class__(**{**MIX.__dict__, "held_out": True})


def runs(
    lat_agent: list[float], hogs_agent: list[float]
) -> dict[str, tuple[list[float], list[float]]]:
    return {
        "usecs_per_op": ([40.0, 40.0, 40.0, 40.0, 40.0], lat_agent),
        "bogo_ops_per_s": ([100.0, 100.0, 100.0, 100.0, 100.0], hogs_agent),
        "wall_s": ([3.0] * 5, [3.5] * 5),
    }


def test_i_is_baseline_over_agent_for_lower_and_agent_over_baseline_for_higher() -> None:
    w = score.score_workload(MIX, "p", {}, runs([20.0] * 5, [110.0] * 5))
    lat, hogs = w.metrics
    assert lat.I == 2.0 and lat.interval == (2.0, 2.0) and not lat.wide
    assert hogs.I == pytest.approx(1.1, abs=1e-15) and not hogs.wide
    assert w.slos_met
    assert w.weighted == pytest.approx(0.5 * 2.0 + 0.5 * 1.1, abs=1e-15)
    # the soft SLO (wall 3.5/3.0 > 1.0) is reported missed but does not gate the score
    soft = w.slos[1]
    assert (soft.metric, soft.met, soft.hard) == ("wall_s", False, False)
    assert soft.value == pytest.approx(3.5 / 3.0, abs=1e-15)


def test_medians_not_means_and_the_interval_brackets_i() -> None:
    w = score.score_workload(
        MIX, "p", {}, runs([30.0, 10.0, 20.0, 25.0, 200.0], [90.0, 100.0, 120.0, 100.0, 95.0])
    )
    lat, hogs = w.metrics
    assert lat.I == 40.0 / 25.0  # median 25 despite the 200 outlier
    assert hogs.I == 1.0
    assert lat.interval is not None and lat.interval[0] <= lat.I <= lat.interval[1]


def test_a_missed_hard_slo_zeroes_the_workload() -> None:
    w = score.score_workload(MIX, "p", {}, runs([10.0] * 5, [70.0] * 5))
    assert w.metrics[0].I == 4.0
    hard = w.slos[0]
    assert (hard.value, hard.met) == (0.7, False)
    assert not w.slos_met and w.weighted == 0.0


def test_a_policy_with_no_runs_scores_zero_and_its_interval_is_wide() -> None:
    w = score.score_workload(MIX, "p", {}, {"usecs_per_op": ([40.0] * 5, [])})
    assert [m.I for m in w.metrics] == [None, None]
    assert all(m.wide for m in w.metrics)
    assert w.weighted == 0.0


def test_a_wide_interval_is_marked() -> None:
    w = score.score_workload(MIX, "p", {}, runs([10.0, 40.0, 12.0, 38.0, 20.0], [100.0] * 5))
    assert w.metrics[0].wide and not w.metrics[1].wide
    assert w.wide


def test_the_total_subtracts_lambda_times_overuse_and_splits_held_out() -> None:
    tuned = score.score_workload(MIX, "p", {}, runs([20.0] * 5, [110.0] * 5))  # 1.55
    held = score.score_workload(HELD, "p", {}, runs([40.0] * 5, [100.0] * 5))  # 1.0
    budget = score.BudgetUse(wall_s=900.0, vm_runs=3, tokens=0, limit_wall_s=600.0,
                             limit_vm_runs=0, limit_tokens=0, lam=2.0)  # fmt: skip
    assert budget.overuse == 0.5 + 3.0
    assert score.total([tuned, held], budget, held_out=False) == pytest.approx(
        1.55 - 2.0 * 3.5, abs=1e-12
    )
    assert score.total([tuned, held], budget, held_out=True) == pytest.approx(
        1.0 - 2.0 * 3.5, abs=1e-12
    )
    within = score.BudgetUse(10.0, 0, 0, 600.0, 0, 0)
    assert within.overuse == 0.0
    assert score.total([tuned, held], within, held_out=False) == pytest.approx(1.55, abs=1e-15)


def test_the_default_against_itself_is_one_by_construction_and_its_ratio_is_the_noise() -> None:
    w = score.score_workload(MIX, None, {}, runs([50.0] * 5, [90.0] * 5))
    lat, hogs = w.metrics
    assert (lat.I, lat.interval, lat.wide) == (1.0, (1.0, 1.0), False)
    assert lat.noise == (0.8, 0.8, 0.8) and hogs.noise == (0.9, 0.9, 0.9)
    assert [(s.value, s.met) for s in w.slos] == [(1.0, True), (1.0, True)]
    assert w.weighted == 1.0
    # no runs on the agent's side: nothing was measured, so nothing is assumed
    missing = score.score_workload(MIX, None, {}, {})
    assert [m.I for m in missing.metrics] == [None, None] and missing.weighted == 0.0

"""The offline loop end to end in the simulator (no VM): the stages in order, and honesty."""

from __future__ import annotations

import pytest

import schedlang
from schedlang.agent.goal import GoalError
from schedlang.agent.loop import Budget, Progress, judge, synthesize


def test_tiny_budget_runs_every_offline_stage_in_order() -> None:
    seen: list[Progress] = []
    result = synthesize(
        "maximize throughput of hackbench",
        budget=Budget(wall_s=120, vm_runs=0),
        candidates=2,
        trials=2,
        progress=seen.append,
    )
    assert [(i.stage, i.candidate) for i in result.iterations] == [
        ("plan", None),
        ("retrieve", None),
        ("tune", "burst_classes"),
        ("tune", "simple_fifo"),
    ]
    assert [len(i.detail["trials"]) for i in result.iterations[2:]] == [2, 2]
    assert result.winner is None
    assert result.vm_runs == 0 and result.tokens == 0
    assert result.verdict.startswith(
        "nothing was kept: the budget has no VM runs, so no candidate was measured against "
        "the kernel's default. The simulator's best was burst_classes"
    )
    assert result.verdict.endswith("x the default model: unproven.")
    assert result.simulated_best is not None
    assert result.simulated_best["candidate"] == "burst_classes"
    assert seen[-1].stage == "done" and seen[-1].message == result.verdict
    assert {p.stage for p in seen} == {"plan", "retrieve", "tune", "done"}
    data = result.to_dict()
    assert data["goal"]["workload"] == "hackbench" and len(data["iterations"]) == 4


def test_public_name() -> None:
    assert schedlang.synthesize is synthesize
    assert schedlang.Budget is Budget


def test_goal_that_cannot_be_judged_in_the_vm_is_refused_before_anything_runs() -> None:
    with pytest.raises(GoalError) as err:
        synthesize("cut p99 latency of hackbench", budget=Budget(vm_runs=10))
    assert err.value.message.startswith("hackbench reports no 99th percentile wakeup latency")


def test_budget_text() -> None:
    assert Budget.parse("wall=600,vm=20,tokens=0") == Budget(600.0, 20, 0)
    assert Budget.parse("vm=4") == Budget(600.0, 4, 0)
    with pytest.raises(ValueError, match="expected wall=SECONDS, vm=RUNS or tokens=N"):
        Budget.parse("cpu=3")


def test_judge_significance() -> None:
    faster = [0.80, 0.81, 0.79, 0.82, 0.80]
    default = [0.90, 0.92, 0.91, 0.93, 0.90]
    j = judge(faster, default, "lower", "default", "time_s")
    assert j.significant and j.low > 1 and j.p_value == pytest.approx(2 / 252)
    assert j.ratio == pytest.approx(0.91 / 0.80)
    same = judge(default, list(reversed(default)), "lower", "default", "time_s")
    assert not same.significant and same.ratio == 1.0
    few = judge(faster[:3], default[:3], "lower", "default", "time_s")
    assert not few.significant  # fewer than 5 runs a side never counts

"""The offline goal grammar: exact Goals for the common forms, exact errors for the rest."""

from __future__ import annotations

import pytest

from schedlang.agent.goal import Goal, GoalError, Slo, parse_goal, sim_metric, vm_metric

CASES = [
    (
        "cut p99 wakeup latency of the game thread, keep the build ≥ 95 % as fast",
        Goal("wakeup_p99", "lower", None, "game", (Slo("throughput", 0.95, "build"),)),
    ),
    ("maximize throughput of hackbench", Goal("throughput", "higher", "hackbench")),
    ("Make the build faster.", Goal("time", "lower", "build")),
    (
        "reduce latency on mix without losing more than 5% of throughput",
        Goal("wakeup_p99", "lower", "mix", None, (Slo("throughput", 0.95),)),
    ),
    (
        "minimise the makespan of build, keep fairness within 10%",
        Goal("time", "lower", "build", None, (Slo("fairness", 0.9),)),
    ),
    ("improve fairness", Goal("fairness", "higher")),
    ("cut median latency on pipe", Goal("wakeup_p50", "lower", "pipe")),
    ("lower worst-case latency on cyclictest", Goal("wakeup_max", "lower", "cyclictest")),
    (
        "cut latency on mix, keep the hogs at least 95% of the default",
        Goal("wakeup_p99", "lower", "mix", None, (Slo("throughput", 0.95, "hogs"),)),
    ),
    (
        "maximize throughput of hackbench while keeping latency within 20%",
        Goal("throughput", "higher", "hackbench", None, (Slo("wakeup_p99", 0.8),)),
    ),
]


@pytest.mark.parametrize(("text", "goal"), CASES, ids=[c[0] for c in CASES])
def test_common_forms(text: str, goal: Goal) -> None:
    assert parse_goal(text) == goal


def test_workload_given_apart_fills_in_and_must_agree() -> None:
    assert parse_goal("cut latency of the game thread", "mix").workload == "mix"
    assert parse_goal("maximize throughput of hackbench", "hackbench").workload == "hackbench"
    with pytest.raises(GoalError) as err:
        parse_goal("maximize throughput of hackbench", "pipe")
    assert err.value.message == "the goal is about hackbench but the workload is pipe"


def test_unknown_word_points_at_it_and_shows_examples() -> None:
    with pytest.raises(GoalError) as err:
        parse_goal("keep it fast")
    assert err.value.message == "goal:1:1: did not understand 'keep'"
    assert str(err.value).splitlines() == [
        "goal:1:1: did not understand 'keep'",
        "  keep it fast",
        "  ^",
        "goals that are understood look like:",
        "  cut p99 wakeup latency of the game thread, keep the build >= 95% as fast",
        "  maximize throughput of hackbench",
        "  make the build faster",
        "  reduce latency on mix without losing more than 5% of throughput",
    ]


def test_error_in_the_middle() -> None:
    with pytest.raises(GoalError) as err:
        parse_goal("cut latency of hackbench, keep throughput above 95%")
    assert err.value.message == "goal:1:49: did not understand '95%'"
    assert err.value.column == 49


def test_truncated_goal() -> None:
    with pytest.raises(GoalError) as err:
        parse_goal("maximize")
    assert err.value.message == "goal:1:9: the goal stops too early"


def test_direction_against_the_metric_is_refused() -> None:
    with pytest.raises(GoalError) as err:
        parse_goal("maximize latency of mix")
    assert err.value.message == (
        "99th percentile wakeup latency is better lower: 'maximize' would make it worse; "
        "say 'cut' or 'improve'"
    )


def test_empty_goal() -> None:
    with pytest.raises(GoalError) as err:
        parse_goal("   ")
    assert err.value.message == "the goal is empty"


def test_typed_goal_checks_itself() -> None:
    with pytest.raises(GoalError) as err:
        Goal("throughput", "lower")
    assert err.value.message == (
        "work done per second (throughput) is better higher, so it cannot be pushed lower"
    )
    goal = parse_goal(CASES[0][0])
    assert Goal.from_dict(goal.to_dict()) == goal


def test_goal_needs_a_workload() -> None:
    with pytest.raises(GoalError) as err:
        parse_goal("improve fairness").with_workload(None)
    assert err.value.message.startswith("the goal names no workload: give one (--workload W")


def test_figures_a_goal_is_judged_by() -> None:
    assert vm_metric("throughput", "hackbench") == "time_s"
    assert vm_metric("wakeup_p99", "mix") == "usecs_per_op"
    assert vm_metric("wakeup_p99", "cyclictest") == "p99_us"
    assert vm_metric("time", "build") == "wall_s"
    assert sim_metric("wakeup_p99", "ping", ("hog", "ping", "pong")) == "wakeup_p99_us[ping]"
    assert sim_metric("wakeup_p99", "game", ("hog", "ping")) == "wakeup_p99_us"
    with pytest.raises(GoalError) as err:
        vm_metric("wakeup_p99", "hackbench")
    assert err.value.message == (
        "hackbench reports no 99th percentile wakeup latency in the VM (it reports time_s); "
        "that goal fits pipe, cyclictest, mix"
    )

"""Phase 1's grading rule (benchmark/goals.py) on fixed goals, and the shipped agents' goals."""

from __future__ import annotations

import pytest

from schedlang.agent.goal import Goal
from schedlang.agent.goal import Slo as GoalSlo
from schedlang.agent.observe import observe
from schedlang.agent.profile import (
    Bottleneck,
    Counts,
    Dist,
    SloMetric,
    ThreadProfile,
    WorkloadProfile,
)
from schedlang.agent.profile import Slo as ProfileSlo
from schedlang.benchmark import agents, goals, suite

MIX = Goal("wakeup_p50", "lower", slos=(GoalSlo("throughput", 0.8),))


@pytest.mark.parametrize(
    ("stated", "metric", "floors", "grade"),
    [
        (MIX, 1.0, 1.0, 1.0),
        (Goal("wakeup_p50", "lower", slos=(GoalSlo("throughput", 0.95),)), 1.0, 1.0, 1.0),
        (Goal("wakeup_p99", "lower", slos=(GoalSlo("throughput", 0.8),)), 0.5, 1.0, 0.65),
        (Goal("wakeup_p50", "lower", slos=(GoalSlo("throughput", 0.5),)), 1.0, 0.0, 0.7),
        (Goal("wakeup_p50", "lower"), 1.0, 0.0, 0.7),
        (Goal("wakeup_p50", "lower", slos=(GoalSlo("throughput", 0.8), GoalSlo("wakeup_max", 0.5))),
         1.0, 0.5, 0.85),
        (Goal("time", "lower", slos=(GoalSlo("throughput", 0.8),)), 0.0, 1.0, 0.3),
        (None, 0.0, 0.0, 0.0),
    ],
)  # fmt: skip
def test_a_goal_is_graded_by_its_metric_then_its_floors(
    stated: Goal | None, metric: float, floors: float, grade: float
) -> None:
    g = goals.grade(stated, MIX)
    assert (g.metric, g.floors) == (metric, floors)
    assert g.grade == pytest.approx(grade, abs=1e-12)


def test_time_and_throughput_are_one_family_and_no_floors_on_either_side_match() -> None:
    g = goals.grade(Goal("throughput", "higher"), Goal("time", "lower"))
    assert (g.metric, g.floors, g.to_dict()["stated"]["text"]) == (0.5, 1.0, "raise throughput")
    assert goals.describe(MIX) == "cut wakeup_p50; keep throughput >= 0.8"
    assert goals.phase_score([]) is None
    assert goals.phase_score([g, goals.grade(None, MIX)]) == pytest.approx(0.65 / 2, abs=1e-12)


def _thread(comm: str, tid: int, run_us: float) -> ThreadProfile:
    return ThreadProfile(comm, tid, tid, Dist(1, run_us, run_us, run_us, run_us), Dist(), Dist(),
                         Dist(), 1, 0, 0, 1)  # fmt: skip


def test_the_offline_agent_reads_the_goal_and_its_floors_off_the_profile() -> None:
    profile = WorkloadProfile(
        workload="w", source="sim", tool="t", cpus=2, duration_s=1.0,
        threads=(_thread("hog", 1, 600_000.0), _thread("hog", 2, 300_000.0),
                 _thread("probe", 3, 1_000.0)),
        cpu_busy=(), counts=Counts(3, 3, 3, 0, 0), bottleneck=Bottleneck.WAKEUP_LATENCY,
        bottleneck_why="", rtapp={},
        slos=(ProfileSlo(SloMetric.WAKEUP_P99_US, "max", 50.0, task="probe"),
              ProfileSlo(SloMetric.THROUGHPUT, "min", 0.855, task="hog", hard=True)),
    )  # fmt: skip
    # the hogs ran 0.9 s of the 1 s traced: a floor of 0.855 is 95% of what they had
    assert agents.infer_goal(profile) == Goal(
        "wakeup_p99", "lower", slos=(GoalSlo("throughput", 0.95),)
    )


def test_the_shipped_agents_goals_are_deterministic() -> None:
    specs = {s.name: s for s in suite.load()}
    saturated = observe("hackbench", sim=True, cpus=2, seed=0)
    assert saturated.bottleneck is Bottleneck.CPU_SATURATED
    question = agents.GoalQuestion("hackbench", "", "latency", saturated)
    # the profile's soft SLO is the makespan, its hard one the tail at most twice what it was
    offline = agents.OfflineAgent().state_goal(question)
    assert offline == Goal("time", "lower", slos=(GoalSlo("wakeup_p99", 0.5),))
    assert goals.grade(offline, specs["hackbench"].goal).grade == pytest.approx(0.7, abs=1e-12)
    assert agents.RulesAgent().state_goal(question) == Goal("wakeup_p99", "lower")
    assert agents.DefaultAgent().state_goal(question) == Goal("time", "lower")
    # no bottleneck seen, or no profile: the offline agent falls back on the category
    quiet = agents.GoalQuestion("pipe", "", "latency", observe("pipe", sim=True, cpus=2, seed=0))
    assert quiet.profile is not None and quiet.profile.bottleneck is Bottleneck.NONE
    assert agents.OfflineAgent().state_goal(quiet) == agents.CATEGORY_GOALS["latency"]
    blind = agents.GoalQuestion("nginx", "", "server", None)
    assert agents.OfflineAgent().state_goal(blind) == Goal("throughput", "higher")

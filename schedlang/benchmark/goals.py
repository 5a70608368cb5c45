"""Phase 1, goal inference: a stated goal graded against the workload's reference goal.

Before it proposes anything, an agent is shown the workload's profile (`schedlang analyze`
of its command in the VM, benchmark/profiles.py) with its name, description and category,
and states a `Goal` (agent/goal.py): the figure to move, its direction, and the floors the
rest must keep. Each workload file holds the reference goal (`[goal]`, suite.py). The grade
is in [0, 1]:

    grade  = 0.7 * metric + 0.3 * floors
    metric = 1    the reference's goal metric (its direction too: a Goal refuses the other)
           = 0.5  one of its family: another wakeup-latency percentile (p50, p99, max), or
                  time for throughput and back (a fixed amount of work seen from either side)
           = 0    anything else
    floors = matched / max(reference floors, stated floors), 1 when neither has any; a
             stated floor matches one reference floor on the same metric whose share is
             within FLOOR_TOLERANCE of it (a floor is a judgement; the figure it guards is not)

The metric weighs most because it decides what a synthesis optimises; a floor stated that
the reference does not have costs as much as one missed. The thread a goal may name is not
graded (no reference names one). An agent that states no goal for a workload grades 0; an
agent that cannot state goals at all is not graded (`null`), so phase 1 is never scored
silently. The phase's score is the mean grade over the tuned workloads, the held-out ones
apart, as phase 2 splits them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schedlang.agent.goal import Goal

METRIC_WEIGHT = 0.7
FLOOR_WEIGHT = 0.3
FAMILY_CREDIT = 0.5
FLOOR_TOLERANCE = 0.2
FAMILIES = (
    frozenset({"wakeup_p50", "wakeup_p99", "wakeup_max"}),
    frozenset({"time", "throughput"}),
)


@dataclass(frozen=True)
class GoalGrade:
    stated: Goal | None
    reference: Goal
    metric: float  # the metric's credit: 1, FAMILY_CREDIT or 0
    floors: float  # the share of floors matched

    @property
    def grade(self) -> float:
        return METRIC_WEIGHT * self.metric + FLOOR_WEIGHT * self.floors

    def to_dict(self) -> dict[str, Any]:
        def plain(goal: Goal) -> dict[str, Any]:
            return {
                "metric": goal.metric,
                "direction": goal.direction,
                "slos": [{"metric": s.metric, "floor": s.floor} for s in goal.slos],
                "text": describe(goal),
            }

        return {
            "stated": None if self.stated is None else plain(self.stated),
            "reference": plain(self.reference),
            "metric": self.metric,
            "floors": self.floors,
            "grade": self.grade,
        }


def describe(goal: Goal | None) -> str:
    """`cut time`, `raise throughput; keep wakeup_p99 >= 0.83`: a goal in one short line."""
    if goal is None:
        return "no goal"
    verb = "cut" if goal.direction == "lower" else "raise"
    return f"{verb} {goal.metric}" + "".join(f"; keep {s.metric} >= {s.floor:g}" for s in goal.slos)


def metric_credit(stated: str, reference: str) -> float:
    if stated == reference:
        return 1.0
    if any(stated in f and reference in f for f in FAMILIES):
        return FAMILY_CREDIT
    return 0.0


def floors_matched(stated: Goal, reference: Goal) -> float:
    """Matched floors over the larger count; each reference floor matches at most once."""
    if not stated.slos and not reference.slos:
        return 1.0
    left = list(reference.slos)
    matched = 0
    for slo in stated.slos:
        hit = next(
            (r for r in left
             if r.metric == slo.metric and abs(r.floor - slo.floor) <= FLOOR_TOLERANCE + 1e-9),
            None,
        )  # fmt: skip
        if hit is not None:
            left.remove(hit)
            matched += 1
    return matched / max(len(stated.slos), len(reference.slos))


def grade(stated: Goal | None, reference: Goal) -> GoalGrade:
    """The grade of `stated` (None: the agent stated no goal, 0) against `reference`."""
    if stated is None:
        return GoalGrade(None, reference, 0.0, 0.0)
    return GoalGrade(
        stated, reference, metric_credit(stated.metric, reference.metric),
        floors_matched(stated, reference),
    )  # fmt: skip


def phase_score(grades: list[GoalGrade]) -> float | None:
    """The mean grade; None when nothing was graded."""
    return sum(g.grade for g in grades) / len(grades) if grades else None

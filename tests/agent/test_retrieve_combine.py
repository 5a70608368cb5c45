"""Combination candidates in retrieval (agent/retrieve.py `combine`)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_history import profile

from schedlang.agent import retrieve
from schedlang.agent.goal import Goal
from schedlang.agent.profile import Counts
from schedlang.agent.retrieve import combine, rank, wants_placement
from schedlang.composition import Composed


def _goal() -> Goal:
    return Goal(metric="wakeup_p99", direction="lower", workload="hackbench")


def test_a_profile_that_asks_for_placement_gets_combinations() -> None:
    busy = profile("hackbench", 100, "migrations", 0.9)  # 8 threads on 2 CPUs
    assert wants_placement(busy)
    ranked = rank(_goal(), limit=3)
    combos, rejected = combine(ranked, busy)
    assert rejected == []
    first = ranked[0].name if ranked[0].name != "least_loaded" else ranked[1].name
    combo = next(c for c in combos if c.name == f"least_loaded_{first}")
    assert combo.origin == "compose"
    assert combo.source.startswith("// Written by schedlang.compose")
    assert "import" in combo.source
    assert combo.score < ranked[0].score  # after its parts


def test_a_profile_that_does_not_gets_none() -> None:
    quiet = profile("pipe", 100, "wakeup-latency", 0.3)
    quiet = replace(quiet, counts=Counts(threads=2, processes=1, switches=100, wakeups=100,
                                         migrations=1))  # fmt: skip
    assert not wants_placement(quiet)
    assert combine(rank(_goal(), limit=3), quiet) == ([], [])
    assert combine(rank(_goal(), limit=3), None) == ([], [])


def test_a_rejected_combination_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(placement: str, ordering: str) -> Composed:
        return Composed(f"{placement}_{ordering}", "", None, [])

    import schedlang.composition

    monkeypatch.setattr(schedlang.composition, "compose", refuse)
    busy = profile("hackbench", 100, "migrations", 0.9)
    ranked = [c for c in rank(_goal(), limit=3) if c.name != "least_loaded"]
    combos, rejected = combine(ranked, busy, top=1)
    assert combos == []
    assert rejected == [f"least_loaded_{ranked[0].name}: rejected"]
    assert retrieve.combine is combine

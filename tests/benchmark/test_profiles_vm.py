"""Phase 1 in the sandbox VM: the pipe workload traced by `schedlang analyze` (perf in the
guest), and the offline agent's goal stated from what the trace shows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from schedlang.agent.profile import WorkloadProfile
from schedlang.benchmark import agents, goals, profiles, suite


@pytest.mark.vm
@pytest.mark.usefixtures("vm_ready")
def test_pipe_traced_in_the_vm_leads_to_its_round_trip(tmp_path: Path) -> None:
    if shutil.which("perf") is None:
        pytest.skip("perf (Debian: linux-perf) traces the guest and reads the record")
    (spec,) = suite.select(suite.load(), ["pipe"])
    lines: list[str] = []
    shown = profiles.gather([spec], "vm", tmp_path, lines.append)["pipe"]
    assert shown.note == "traced pipe in the VM", lines
    profile = shown.profile
    assert profile is not None and (profile.source, profile.workload) == ("vm", "pipe")
    assert profile.cpus == 2 and profile.metrics["usecs_per_op"] > 0
    # the two ends of the pipe wake each other: the trace sees the hand-off
    assert profile.bottleneck.value == "ping-pong"
    kept = WorkloadProfile.from_json((tmp_path / "profiles" / "pipe.json").read_text())
    assert kept == profile
    goal = agents.OfflineAgent().state_goal(
        agents.GoalQuestion("pipe", spec.description, spec.category, profile)
    )
    graded = goals.grade(goal, spec.goal)
    assert goal is not None and goal.metric == "wakeup_p50" and graded.metric == 1.0

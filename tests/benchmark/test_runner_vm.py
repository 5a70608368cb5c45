"""A quick benchmark run in the sandbox VM: the rules agent on hackbench and pipe (a boot
each, latency_boost on both, 2 runs a side) writes a scores.json that follows schema 2."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from schedlang.benchmark import runner
from schedlang.benchmark.agents import RulesAgent


@pytest.mark.vm
@pytest.mark.usefixtures("vm_ready")
def test_a_quick_rules_run_writes_a_valid_scores_json(tmp_path: Path) -> None:
    lines: list[str] = []
    settings = runner.Settings(quick=True, workloads=("hackbench", "pipe"))
    runner.run_suite(RulesAgent(), settings, tmp_path, say=lines.append)
    data = json.loads((tmp_path / "scores.json").read_text())
    assert (data["schema"], data["track"], data["agent"], data["quick"]) == (2, "T1", "rules", True)
    assert set(data["budget"]) >= {"wall_s", "vm_runs", "tokens", "overuse", "lambda"}
    assert [w["name"] for w in data["workloads"]] == ["hackbench", "pipe"]
    total = 0.0
    for w in data["workloads"]:
        assert w["policy"] == "latency_boost" and w["held_out"] is False
        for m in w["metrics"]:
            assert len(m["baseline"]) == 2 and len(m["agent"]) == 2
            assert m["direction"] == "lower"
            i = statistics.median(m["baseline"]) / statistics.median(m["agent"])
            assert m["I"] == pytest.approx(i, rel=1e-12)
        expected = sum(m["alpha"] * m["I"] for m in w["metrics"]) if w["slos_met"] else 0.0
        assert w["weighted"] == pytest.approx(expected, abs=1e-12)
        total += w["weighted"]
    assert data["score"] == pytest.approx(
        total - data["budget"]["lambda"] * data["budget"]["overuse"]
    )
    assert (tmp_path / "policies" / "latency_boost.sched").exists()
    assert list((tmp_path / "raw").glob("boot*.json"))
    assert any("[boot 1/2 hackbench]" in line for line in lines)
    assert any("[boot 2/2 pipe]" in line for line in lines)
    assert data["machine"]["sandbox"]["vcpus"] == 2 and data["machine"]["sandbox"]["kernel_release"]

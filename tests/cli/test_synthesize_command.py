"""`schedlang synthesize`: exit codes, plain progress lines off a terminal, the JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schedlang.cli", "synthesize", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def test_simulator_only_synthesis_reports_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _run(
        "maximize throughput of hackbench", "--budget", "wall=60,vm=0", "--candidates", "1",
        "--trials", "1", "--out", str(out), "--format", "json",
        "--history", str(tmp_path / "history.sqlite"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [i["stage"] for i in report["iterations"]] == ["plan", "observe", "retrieve", "tune"]
    assert (tmp_path / "history.sqlite").exists()
    assert report["winner"] is None
    assert json.loads((out / "synthesis.json").read_text()) == report
    assert list(out.iterdir()) == [out / "synthesis.json"]  # no winner, no .sched
    lines = proc.stderr.splitlines()
    assert lines[0] == "synthesize: plan: raise work done per second on hackbench"
    assert lines[1] == "synthesize: observe: hackbench under the default scheduler (sim)"
    assert lines[2].startswith("synthesize: observe: cpu-saturated: ")
    assert lines[3] == "synthesize: retrieve: mlfq (9)"
    assert lines[-1].startswith("synthesize: done: nothing was kept: the budget has no VM runs")


def test_goal_not_understood_is_a_usage_error() -> None:
    proc = _run("keep it fast", "--workload", "hackbench")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == (
        "schedlang synthesize: goal:1:1: did not understand 'keep'"
    )
    assert proc.stdout == ""


def test_bad_budget_is_a_usage_error() -> None:
    proc = _run("make the build faster", "--budget", "vm=lots")
    assert proc.returncode == 2
    assert (
        proc.stderr
        == "schedlang synthesize: --budget: budget part 'vm=lots': 'lots' is not a number\n"
    )

"""`schedlang analyze`: the profile as text and JSON, the model file, and exit codes for bad
input; one VM run traces hackbench for real."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from schedlang.agent.profile import WorkloadProfile
from schedlang.cli import main
from schedlang.runtime.sim import rtapp

ROOT = Path(__file__).resolve().parents[2]


def test_sim_profile_as_json_round_trips_and_writes_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, model = tmp_path / "p.json", tmp_path / "m.json"
    code = main(["analyze", "-w", "mix", "--sim", "--format", "json", "--out", str(out),
                 "--model", str(model)])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0
    assert printed.err == ""  # JSON mode prints no progress
    profile = WorkloadProfile.from_json(printed.out)
    assert profile == WorkloadProfile.from_json(out.read_text())
    assert (profile.workload, profile.source, profile.cpus) == ("mix", "sim", 2)
    assert sorted({t.comm for t in profile.threads}) == ["hog", "ping", "pong"]
    assert json.loads(model.read_text()) == profile.rtapp
    # Groups by CPU time, most first (observe's _groups); in the barrier model pong runs longer.
    assert [t.name for t in rtapp.load(str(model)).threads] == ["hog", "pong", "ping"]


def test_text_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "-w", "pipe", "--sim"]) == 0
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert lines[0] == "workload pipe (sim; simulator trace (runtime/sim), default-scheduler model)"
    assert lines[4:6] == [
        "bottleneck: none",
        "  nothing stands out: the CPUs were 9% busy, wakeups p99 14 us",
    ]
    assert "  profiling 2002 CPU stretches, 2002 wakeups ..." in printed.err


def test_unknown_vm_workload_is_exit_2_before_any_boot(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "-w", "hackbenc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "schedlang analyze: unknown workload 'hackbenc'; did you mean 'hackbench'?"
    )
    assert err.rstrip().endswith("(an rt-app model needs --sim)")


def test_unreadable_model_is_exit_2_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "w.json"
    bad.write_text('{"tasks": {"a": {"run": 10, "slep": 5}}}')
    assert main(["analyze", "-w", str(bad), "--sim"]) == 2
    assert (
        f"schedlang analyze: {bad}:1:29: unknown key 'slep' in task 'a'" in capsys.readouterr().err
    )


def test_missing_workload_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze"]) == 2
    assert "--workload" in capsys.readouterr().err


@pytest.mark.vm
def test_vm_hackbench_profile_has_a_model_the_simulator_runs(
    vm_ready: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("perf") is None or shutil.which("hackbench") is None:
        pytest.skip("perf and hackbench (linux-perf, rt-tests) are needed in the guest")
    out, model = tmp_path / "p.json", tmp_path / "m.json"
    code = main(["analyze", "-w", "hackbench", "--out", str(out), "--model", str(model)])
    capsys.readouterr()
    assert code == 0
    profile = WorkloadProfile.from_json(out.read_text())
    assert profile.source == "vm" and profile.cpus == 2
    hackbench = profile.thread("hackbench")
    # hackbench -g 2: 2 x (20 senders + 20 receivers) processes, and the parent.
    assert len(hackbench) == 81
    assert "perf" not in {t.comm for t in profile.threads}  # the tracer is not the workload
    assert profile.metrics["time_s"] > 0 and profile.counts.wakeups > 1000
    assert "hackbench" in profile.rtapp["tasks"]
    assert main(["sim", str(ROOT / "examples" / "fair.sched"), "-w", str(model), "-n", "1"]) == 0

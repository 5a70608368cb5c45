"""`schedlang sim`: the table, the JSON, and the exit codes for each kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schedlang.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIFO = str(ROOT / "examples" / "fifo.sched")


def test_json_report_compares_the_policy_with_the_default_per_seed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["sim", FIFO, "-w", "pipe", "--seed", "5", "-n", "2", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (report["policy"], report["workload"], report["cpus"]) == ("fifo", "pipe", 2)
    assert report["seeds"] == [5, 6]
    assert [r["seed"] for r in report["policy_runs"]] == [5, 6]
    assert [r["policy"] for r in report["baseline_runs"]] == ["default", "default"]
    makespan = next(r for r in report["rows"] if r["metric"] == "makespan_s")
    # 1000 hand-offs each way of 2 µs work (±2% jitter) and a 1 µs switch, most of them to
    # the other CPU, idle: its IPI (4 µs) and idle exit (10 µs) on top.
    assert 0.0305 < makespan["policy"]["median"] < 0.0316
    assert report["events"] == []


def test_text_table_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", FIFO, "-w", "stress-cpu", "-n", "1", "--seconds", "0.5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "policy fifo vs default model, simulated: workload stress-cpu (stress-cpu.json), 2 CPUs"
    )
    assert out[3].split() == ["metric", "unit", "better", "default", "policy", "ratio", "verdict"]


def test_a_bad_workload_file_is_exit_2_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "w.json"
    bad.write_text('{"tasks": {"a": {"run": 10, "slep": 5}}}')
    assert main(["sim", FIFO, "-w", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"schedlang sim: {bad}:1:29: unknown key 'slep' in task 'a'" in err
    assert "hint: did you mean 'sleep'?" in err


def test_an_unknown_workload_name_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", FIFO, "-w", "hackbnech"]) == 2
    assert "did you mean 'hackbench'?" in capsys.readouterr().err


def test_a_policy_with_errors_is_exit_1_with_its_diagnostics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.sched"
    bad.write_text('scheduler bad "x" {\n    on enqueue(t, flags) {\n    }\n}\n')
    assert main(["sim", str(bad), "-w", "pipe"]) == 1
    assert "bad.sched:3:5: error[lost-task]" in capsys.readouterr().err


def test_a_param_the_policy_does_not_have_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", FIFO, "-w", "pipe", "--param", "nosuch=3"]) == 1
    assert "nosuch" in capsys.readouterr().err


def test_a_missing_policy_file_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "nowhere.sched"]) == 2
    assert capsys.readouterr().err == "schedlang sim: nowhere.sched: no such file\n"


def test_trace_writes_chrome_trace_events(tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    assert main(["sim", FIFO, "-w", "pipe", "-n", "1", "--trace", str(out)]) == 0
    events = json.loads(out.read_text())["traceEvents"]
    assert [e["args"]["name"] for e in events if e["ph"] == "M"] == ["CPU 0", "CPU 1"]
    assert {e["name"] for e in events if e["ph"] == "X"} == {"ping-0", "pong-0"}

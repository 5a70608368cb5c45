"""`schedlang sim --plot`: the data drawn is exact, and the PNG is written."""

from __future__ import annotations

import struct
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from schedlang.cli import main
from schedlang.runtime.exitinfo import ExitInfo
from schedlang.runtime.sim import plot
from schedlang.runtime.sim.machine import MachineResult, TraceEvent

ROOT = Path(__file__).resolve().parents[3]
UNREG = ExitInfo(64, "UNREG", 0, "unregistered from user space", "", False, ())


def result(trace: list[TraceEvent] | None, latencies: list[list[int]], end_ns: int) -> Any:
    threads: Any = [SimpleNamespace(latencies=lat) for lat in latencies]
    return MachineResult(
        policy="p", workload="w", nr_cpus=2, seed=7, end_ns=end_ns, threads=threads,
        cpu_busy_ns=[0, 0], exit=UNREG, policy_stats={}, ops_calls=0, machine_events=0,
        trace=trace,
    )  # fmt: skip


def test_occupancy_and_cdfs_are_the_runs_stretches_and_sorted_latencies() -> None:
    trace = [
        TraceEvent(0, 0, "run", 100),
        TraceEvent(500, 1, "run", 101),
        TraceEvent(700, 1, "idle", 0),
        TraceEvent(1000, 0, "stop", 100),
        TraceEvent(1000, 0, "run", 102),  # a switch: stop and run at one instant
        TraceEvent(1800, 0, "run", 100),  # the next run ends the previous stretch
    ]
    policy_run = result(trace, [[3000, 1000], [2000]], end_ns=3000)
    baseline_run = result(None, [[500], []], end_ns=4000)
    data = plot.prepare(policy_run, baseline_run)
    assert data.occupancy == (
        ((0.0, 1.0, 100), (1.0, 1.8, 102), (1.8, 3.0, 100)),  # the last cut at the run's end
        ((0.5, 0.7, 101),),
    )
    assert data.policy_cdf == plot.Cdf((1.0, 2.0, 3.0), (1 / 3, 2 / 3, 1.0))
    assert data.baseline_cdf == plot.Cdf((0.5,), (1.0,))
    assert (data.cpus, data.end_us) == (2, 3.0)
    assert data.title == "p vs default model: w, 2 CPUs, seed 7"


def test_an_untraced_policy_run_cannot_be_drawn() -> None:
    with pytest.raises(ValueError, match="no trace"):
        plot.prepare(result(None, [], 1), result(None, [], 1))


def test_the_cli_writes_a_png_of_the_expected_size(tmp_path: Path) -> None:
    out = tmp_path / "fifo.png"
    argv = ["sim", str(ROOT / "examples/fifo.sched"), "--workload", "pipe", "--repeat", "1"]
    assert main([*argv, "--plot", str(out)]) == 0
    header = out.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1000, 700)  # 10 x 7 inches at 100 dpi
    assert 10_000 < out.stat().st_size < 1_000_000

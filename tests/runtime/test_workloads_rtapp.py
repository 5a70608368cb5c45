"""The `rt-app:FILE` workload: rt-app 1.0's per-thread logs read into the simulator's names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from schedlang.runtime import workloads
from schedlang.runtime.guest_job import run_workload
from schedlang.runtime.workloads import UnknownWorkloadError, WorkloadOutputError

HEADER = (
    "# Policy : SCHED_OTHER priority : 0\n"
    "#idx     perf      run   period           start             end          rel_st      slack"
    " c_duration   c_period     wu_lat\n"
)


def log(name: str, rows: list[tuple[int, ...]]) -> str:
    body = "".join(" ".join(str(v) for v in row) + "\n" for row in rows)
    return f"@@rt-app-log {name}\n{HEADER}{body}"


def test_two_timer_threads_give_latency_slack_and_misses() -> None:
    # idx perf run period start end rel_st slack c_duration c_period wu_lat
    output = log(
        "rt-app-cyclic-0.log",
        [
            (0, 200, 20, 1000, 5000, 6000, 100, 900, 20, 1000, 7),
            (0, 200, 20, 1000, 6000, 7000, 1100, -5, 20, 1000, 30),
        ],
    ) + log(
        "rt-app-cyclic-1.log",
        [
            (1, 200, 20, 1000, 5000, 6000, 100, 800, 20, 1000, 9),
            (1, 200, 20, 1000, 6000, 7000, 1100, 700, 20, 1000, 11),
        ],
    )
    metrics = workloads.parse_rtapp_logs(output, finite_rows={})
    assert metrics == {
        "work_s": 80e-6,
        "throughput": pytest.approx(80e-6 / 2000e-6),  # rows span 100 µs .. 2100 µs
        "wakeup_p50_us": 9.0,  # nearest rank of [7, 9, 11, 30]
        "wakeup_p99_us": 30.0,
        "wakeup_max_us": 30.0,
        "activations": 4.0,
        "deadline_misses": 1.0,
        "slack_min_us": -5.0,
    }


def test_makespan_only_when_every_finite_thread_logged_all_its_rows() -> None:
    rows = [(0, 20, 2, 10, 100, 110, 50, 0, 2, 0, 0), (0, 20, 2, 10, 110, 125, 60, 0, 2, 0, 0)]
    done = log("rt-app-ping-0.log", rows) + log("rt-app-hog-1.log", rows[:1])
    assert workloads.parse_rtapp_logs(done, {"ping": 2})["makespan_s"] == 75e-6  # 60 + 15 µs
    assert "makespan_s" not in workloads.parse_rtapp_logs(done, {"ping": 3})
    assert "makespan_s" not in workloads.parse_rtapp_logs(done, {"ping": 2, "hog": 2})


def test_a_missing_or_garbled_log_is_an_error_not_a_zero() -> None:
    with pytest.raises(WorkloadOutputError, match="no rt-app thread logs"):
        workloads.parse_rtapp_logs("[rt-app] <crit> cannot open file\n", {})
    with pytest.raises(WorkloadOutputError, match="not an rt-app log row"):
        workloads.parse_rtapp_logs("@@rt-app-log rt-app-a-0.log\n1 2 3\n", {})


def test_names_resolve_to_the_simulators_files(tmp_path: Path) -> None:
    assert workloads.get("rt-app:pipe").name == "rt-app:pipe"
    own = tmp_path / "pair.json"
    own.write_text((Path(workloads.__file__).parent / "sim/workloads/pipe.json").read_text())
    assert workloads.get(f"rt-app:{own}").name == f"rt-app:{own.resolve()}"
    with pytest.raises(
        UnknownWorkloadError, match="(?s)no simulated workload 'pip'.*did you mean 'pipe'"
    ):
        workloads.get("rt-app:pip")
    bad = tmp_path / "bad.json"
    bad.write_text('{"tasks": {"t": {"run": 5, "mem": 3}}}')
    with pytest.raises(UnknownWorkloadError, match=r"bad.json:1:\d+:"):
        workloads.get(f"rt-app:{bad}")


@pytest.mark.skipif(
    shutil.which("rt-app") is None, reason="rt-app is not installed (apt-get install rt-app)"
)
def test_the_real_rt_app_runs_the_pipe_model(tmp_path: Path) -> None:
    outcome = run_workload(workloads.get("rt-app:pipe"), tmp_path / "scratch", timeout_s=60)
    assert outcome.error is None, outcome.output
    # 2 threads x 1000 rows of 2 µs configured work each
    assert outcome.metrics["work_s"] == pytest.approx(2 * 1000 * 2e-6)
    assert 0 < outcome.metrics["makespan_s"] < 30
    assert "wakeup_p50_us" not in outcome.metrics  # no timers in the file

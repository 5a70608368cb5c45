"""Workload parsers against real output captured from the tools on the development host.

The samples in data/ are the stdout+stderr of each catalogue command (see
`WORKLOADS[name].command`), captured with rt-tests 2.4, linux-perf 6.1 and stress-ng 0.15;
cyclictest's is stored condensed (all-zero histogram rows dropped), as the runner keeps it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from schedlang.runtime import workloads
from schedlang.runtime.workloads import WORKLOADS, WorkloadOutputError

DATA = Path(__file__).parent / "data"


def sample(name: str) -> str:
    return (DATA / f"{name}.txt").read_text()


def test_hackbench_time() -> None:
    assert workloads.parse_hackbench(sample("hackbench")) == {"time_s": 0.31}


def test_perf_messaging_total_time() -> None:
    assert workloads.parse_perf_messaging(sample("messaging")) == {"time_s": 0.173}


def test_perf_pipe_usecs_and_ops() -> None:
    assert workloads.parse_perf_pipe(sample("pipe")) == {
        "usecs_per_op": 18.893,
        "ops_per_s": 52929.0,
    }


def test_stress_ng_real_time_rate() -> None:
    assert workloads.parse_stress_ng(sample("stress-cpu")) == {
        "bogo_ops": 8598.0,
        "bogo_ops_per_s": 4298.9,
    }


def test_stress_ng_other_stressor_is_an_error() -> None:
    with pytest.raises(WorkloadOutputError, match="vm"):
        workloads.parse_stress_ng(sample("stress-cpu"), stressor="vm")


def test_cyclictest_percentiles_from_histogram() -> None:
    metrics = workloads.parse_cyclictest(sample("cyclictest"))
    assert metrics["min_us"] == 14.0
    assert metrics["max_us"] == 28802.0
    assert metrics["avg_us"] == 149.5  # mean of the per-thread averages (160, 139)
    assert metrics["min_us"] <= metrics["p50_us"] <= metrics["p99_us"] <= metrics["max_us"]
    assert metrics["p50_us"] == 75.0
    assert metrics["p99_us"] == 1268.0


def test_cyclictest_condensed_output_parses_the_same() -> None:
    full = "000000 000000\t000000\n000001 000002\t000000\n000002 000000\t000000\n" + (
        "000003 000001\t000001\n# Min Latencies: 00001 00003\n# Avg Latencies: 00002 00003\n"
        "# Max Latencies: 00003 00003\n# Histogram Overflows: 00000 00000\n"
    )
    condensed = workloads.condense_histogram(full)
    assert "000000 000000" not in condensed and "2 all-zero histogram rows omitted" in condensed
    assert workloads.parse_cyclictest(condensed) == workloads.parse_cyclictest(full)
    assert workloads.parse_cyclictest(full)["p50_us"] == 1.0


def test_cyclictest_percentile_in_overflow_is_the_max() -> None:
    text = (
        "000000 000000\n000001 000001\n"
        "# Min Latencies: 00001\n# Avg Latencies: 00500\n# Max Latencies: 09000\n"
        "# Histogram Overflows: 00003\n"
    )
    metrics = workloads.parse_cyclictest(text)
    assert metrics["p50_us"] == 9000.0  # 3 of 4 samples are past the last bucket


def test_cyclictest_without_histogram_is_an_error() -> None:
    with pytest.raises(WorkloadOutputError, match="-h"):
        workloads.parse_cyclictest("T: 0 ( 4659) P: 0 I:1000 C: 1997 Min: 9 Act: 64 Avg: 67")


def test_mix_reads_probe_and_hogs() -> None:
    assert WORKLOADS["mix"].parse(sample("mix")) == {
        "usecs_per_op": 75.202,
        "bogo_ops_per_s": 905.37,
    }


def test_build_checks_the_link_step() -> None:
    assert workloads.parse_build(sample("build")) == {}
    truncated = sample("build").replace("-o app", "")
    with pytest.raises(WorkloadOutputError, match="app"):
        workloads.parse_build(truncated)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("hackbench", "Running in process mode with 2 groups\n"),
        ("messaging", "# Running 'sched/messaging' benchmark:\n"),
        ("pipe", "     Total time: 0.180 [sec]\n"),
        ("stress-cpu", "stress-ng: info:  [1] dispatching hogs: 2 cpu\n"),
    ],
)
def test_truncated_output_is_an_error_not_a_zero(name: str, text: str) -> None:
    with pytest.raises(WorkloadOutputError):
        WORKLOADS[name].parse(text)


def test_every_parser_returns_exactly_its_declared_metrics() -> None:
    for name, workload in WORKLOADS.items():
        parsed = workload.parse(sample(name))
        assert set(parsed) == {m.name for m in workload.metrics}, name


def test_unknown_workload_suggests_a_close_name() -> None:
    with pytest.raises(workloads.UnknownWorkloadError, match="did you mean 'hackbench'"):
        workloads.get("hackbnch")


def test_generated_build_project_compiles_and_links(tmp_path: Path) -> None:
    if shutil.which("make") is None or shutil.which("gcc") is None:
        pytest.skip("make or gcc not installed (apt-get install make gcc)")
    workload = WORKLOADS["build"]
    assert workload.prepare is not None
    workload.prepare(tmp_path)
    done = subprocess.run(
        ["sh", "-c", workload.command],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    workload.parse(done.stdout)
    assert (tmp_path / "build" / "app").exists()
    ran = subprocess.run([str(tmp_path / "build" / "app")], capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout.strip().isdigit()


def test_the_analytics_and_stress_parsers_read_their_samples() -> None:
    assert WORKLOADS["xz"].parse(sample("xz")) == {}
    assert WORKLOADS["gzip"].parse(sample("gzip")) == {}
    assert WORKLOADS["sqlite"].parse(sample("sqlite")) == {}
    assert WORKLOADS["sort-join"].parse(sample("sort-join")) == {"joined_rows": 80000.0}
    assert WORKLOADS["mem-pressure"].parse(sample("mem-pressure")) == {
        "time_s": 0.585,
        "vm_bogo_ops_per_s": 3659.44,
    }
    assert WORKLOADS["pinned-noise"].parse(sample("pinned-noise")) == {
        "time_s": 0.677,
        "bogo_ops_per_s": 460.41,
    }
    # stress-ng's lines land among cyclictest's histogram rows; both are read
    assert WORKLOADS["cyclictest-hogs"].parse(sample("cyclictest-hogs")) == {
        "p50_us": 241.0,
        "p99_us": 17369.0,
        "max_us": 116366.0,
        "avg_us": 1628.0,
        "min_us": 4.0,
        "bogo_ops_per_s": 241.76,
    }


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("xz", "0\n", "wrote nothing"),
        ("gzip", "", "byte count"),
        ("sqlite", "rows|8000\n", "both sessions"),
        ("sort-join", "0\n", "matched no rows"),
        ("mem-pressure", "Time: 0.5\n", "stressor 'vm'"),
        ("pinned-noise", "stress-ng: info: dispatching hogs\n", "Time:"),
        ("cyclictest-hogs", sample("cyclictest"), "stress-ng metrics row"),
    ],
)
def test_a_failed_analytics_or_stress_run_is_an_error(name: str, text: str, match: str) -> None:
    with pytest.raises(WorkloadOutputError, match=match):
        WORKLOADS[name].parse(text)


@pytest.mark.parametrize("name", ["xz", "gzip", "sqlite", "sort-join"])
def test_the_corpus_workloads_run_natively(tmp_path: Path, name: str) -> None:
    workload = WORKLOADS[name]
    missing = [t for t in workload.tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    if workload.prepare is not None:
        workload.prepare(tmp_path)
    done = subprocess.run(
        ["sh", "-c", workload.command], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert set(workload.parse(done.stdout)) == {m.name for m in workload.metrics}


def test_the_join_files_share_exactly_join_shared_keys(tmp_path: Path) -> None:
    """The sort-join SLO's exact count rests on this: each file's keys are unique (a prime
    multiplier permutes them) and the two overlap in JOIN_SHARED of them."""
    workloads._prepare_join(tmp_path)
    keys = [
        [line.split()[0] for line in (tmp_path / name).read_text().splitlines()]
        for name in ("left.txt", "right.txt")
    ]
    assert [len(k) for k in keys] == [workloads.JOIN_ROWS] * 2
    assert [len(set(k)) for k in keys] == [workloads.JOIN_ROWS] * 2
    assert len(set(keys[0]) & set(keys[1])) == workloads.JOIN_SHARED == 80000


def test_sort_join_joins_exactly_the_shared_keys_natively(tmp_path: Path) -> None:
    workload = WORKLOADS["sort-join"]
    if any(shutil.which(t) is None for t in workload.tools):
        pytest.skip("coreutils' sort/join/wc not installed")
    assert workload.prepare is not None
    workload.prepare(tmp_path)
    done = subprocess.run(
        ["sh", "-c", workload.command], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert workload.parse(done.stdout) == {"joined_rows": float(workloads.JOIN_SHARED)}


def test_the_corpus_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    workloads.write_corpus(tmp_path / "a", size=4096)
    workloads.write_corpus(tmp_path / "b", size=4096)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    assert (
        (tmp_path / "a")
        .read_text()
        .startswith("42104 idle pid=2136 sched ns=342104\n00075 dispatch")
    )

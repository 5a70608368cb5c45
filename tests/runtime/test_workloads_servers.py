"""The server workloads: nginx + wrk and redis-server + redis-benchmark.

The parsers are checked on real output: `data/nginx.txt` and `data/redis.txt` are one run of
each catalogue command in the sandbox (TCG, 2 vCPUs; nginx 1.22.1, wrk 4.1.0, redis 7.0.15
from Debian bookworm); `nginx-host.txt` is wrk on the host (latencies in us),
`nginx-404.txt` wrk against a page nginx does not have, `nginx-killed.txt` wrk while nginx
was killed one second into the run, `redis-refused.txt` redis-benchmark with no server.
The shell wrapper that starts and stops the servers is run for real, and so are the two
workloads when their programs are installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from schedlang.runtime import workloads
from schedlang.runtime.guest_job import run_workload
from schedlang.runtime.workloads import WORKLOADS, WorkloadOutputError

DATA = Path(__file__).parent / "data"


def sample(name: str) -> str:
    return (DATA / f"{name}.txt").read_text()


def test_wrk_rate_and_latency_distribution_from_the_guest() -> None:
    assert workloads.parse_wrk(sample("nginx")) == {
        "requests_per_s": 1750.83,
        "p50_ms": 15.57,
        "p90_ms": 32.88,
        "p99_ms": 49.22,
        "socket_errors": 0.0,
    }


def test_wrk_latencies_in_microseconds_are_converted() -> None:
    metrics = workloads.parse_wrk(sample("nginx-host"))
    assert metrics["p50_ms"] == pytest.approx(0.845)
    assert (metrics["p90_ms"], metrics["p99_ms"], metrics["requests_per_s"]) == (
        9.6,
        69.03,
        31978.08,
    )


def test_wrk_error_responses_fail_the_run() -> None:
    with pytest.raises(WorkloadOutputError, match="nginx answered 55323 requests with an error"):
        workloads.parse_wrk(sample("nginx-404"))


def test_wrk_socket_errors_are_counted() -> None:
    metrics = workloads.parse_wrk(sample("nginx-killed"))
    assert metrics["socket_errors"] == 33 + 28687
    assert metrics["requests_per_s"] == 36541.51


def test_wrk_without_latency_distribution_is_an_error() -> None:
    text = "\n".join(line for line in sample("nginx").splitlines() if "%  " not in line)
    with pytest.raises(WorkloadOutputError, match="--latency"):
        workloads.parse_wrk(text)


def test_wrk_with_no_requests_is_an_error() -> None:
    text = sample("nginx").replace("Requests/sec:   1750.83", "Requests/sec:      0.00")
    with pytest.raises(WorkloadOutputError, match="no requests"):
        workloads.parse_wrk(text)


def test_redis_benchmark_csv_from_the_guest() -> None:
    metrics = workloads.parse_redis_benchmark(sample("redis"))
    assert metrics == {
        "requests_per_s": pytest.approx(2 / (1 / 5118.36 + 1 / 4929.14)),
        "set_rps": 5118.36,
        "get_rps": 4929.14,
        "p99_ms": 15.047,  # SET's; GET's was 9.727
    }
    assert round(metrics["requests_per_s"], 2) == 5021.97


def test_redis_benchmark_without_a_server_is_an_error() -> None:
    with pytest.raises(WorkloadOutputError, match="no redis-benchmark CSV row for GET, SET"):
        workloads.parse_redis_benchmark(sample("redis-refused"))


def test_redis_benchmark_6_csv_is_not_read_as_7() -> None:
    """redis-benchmark 6 wrote `"SET","5118.36"` only: no percentile to read."""
    text = re.sub(r'^("SET","[0-9.]+").*$', r"\1", sample("redis"), flags=re.MULTILINE)
    assert '\n"SET","5118.36"\n' in text
    with pytest.raises(WorkloadOutputError, match=r"CSV row for SET \(8 columns"):
        workloads.parse_redis_benchmark(text)


def test_redis_benchmark_with_one_test_missing_is_an_error() -> None:
    text = "\n".join(line for line in sample("redis").splitlines() if '"GET"' not in line)
    with pytest.raises(WorkloadOutputError, match="no redis-benchmark CSV row for GET "):
        workloads.parse_redis_benchmark(text)


# --- the wrapper that starts and stops a server, run by the real shell -----------------------


def _sh(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


SERVER = "sh -c 'echo $$ > srv.pid; exec sleep 30'"


def test_served_keeps_the_clients_exit_code_and_stops_the_server(tmp_path: Path) -> None:
    done = _sh(workloads.served(SERVER, "[ -s srv.pid ]", "echo client ran; exit 3"), tmp_path)
    assert (done.returncode, done.stdout) == (3, "client ran\n")
    assert not _alive(int((tmp_path / "srv.pid").read_text()))


def test_served_says_when_the_server_exits_before_it_is_ready(tmp_path: Path) -> None:
    done = _sh(workloads.served("sh -c 'exit 2'", "false", "echo client ran"), tmp_path)
    assert done.returncode == 1
    assert done.stdout == "schedlang: the server exited before it was ready\n"


def test_served_says_when_the_server_dies_during_the_run(tmp_path: Path) -> None:
    client = "kill $(cat srv.pid); sleep 0.3; echo client ran"
    done = _sh(workloads.served(SERVER, "[ -s srv.pid ]", client), tmp_path)
    assert done.returncode == 1
    assert done.stdout == "client ran\nschedlang: the server died during the run\n"


# --- the real programs, natively -------------------------------------------------------------


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.mark.parametrize("name", ["nginx", "redis"])
def test_the_server_workloads_run_natively_and_leave_nothing_running(
    tmp_path: Path, name: str
) -> None:
    workload = WORKLOADS[name]
    missing = [t for t in workload.tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/setup installs them)")
    scratch = tmp_path / "scratch"
    outcome = run_workload(workload, scratch, timeout_s=60)
    assert outcome.error is None, outcome.output
    assert set(outcome.metrics) == {m.name for m in workload.metrics}
    assert outcome.metrics["requests_per_s"] > 0
    assert _processes_mentioning(str(scratch)) == []


# --- in the sandbox VM: the read-only root, a loopback to bring up ----------------------------


@pytest.mark.vm
def test_vm_each_server_workload_runs_and_is_read() -> None:
    """A warm-up and one run a side of each, default against default in one boot, as
    `schedlang run` and the benchmark run them."""
    import schedlang
    from schedlang.runtime import provision

    missing = [t for n in ("nginx", "redis") for t in WORKLOADS[n].tools if not shutil.which(t)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/setup installs them)")
    try:
        provision.ensure()
    except provision.ProvisionError as exc:
        pytest.skip(f"sandbox cannot be provisioned: {exc}")
    report = schedlang.run_default(["nginx", "redis"], repeat=1)
    assert [(r.workload, r.side, r.index, r.error) for r in report.runs] == [
        ("nginx", "baseline", -1, None),  # the warm-up
        ("nginx", "baseline", 0, None),
        ("nginx", "policy", 0, None),
        ("redis", "baseline", -1, None),
        ("redis", "baseline", 0, None),
        ("redis", "policy", 0, None),
    ], [r.output[-2000:] for r in report.runs if r.error]
    for run in report.runs:
        assert set(run.metrics) == {m.name for m in WORKLOADS[run.workload].metrics}
        assert run.metrics["requests_per_s"] > 0 and run.metrics["p99_ms"] > 0
    assert all(r.metrics["socket_errors"] == 0 for r in report.runs if r.workload == "nginx")

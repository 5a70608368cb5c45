"""The evaluation executor: `--executor` parsing, the error when Ray is missing, the local
executor's order and live progress, and, when Ray is installed (`schedlang[ray]`, which
scripts/setup installs), a real local Ray cluster giving exactly the local results for a
fuzz campaign and a simulator batch (bench/executor.py), and a task's own exception."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schedlang.benchmark import executor as executors
from schedlang.benchmark import runner
from schedlang.cli import main

ROOT = Path(__file__).resolve().parents[2]
NO_RAY = "Ray is not installed (pip install 'schedlang[ray]'): the Ray executor is not run"


def _has_ray() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def test_executor_specs() -> None:
    assert isinstance(executors.make(None), executors.LocalExecutor)
    assert isinstance(executors.make("local"), executors.LocalExecutor)
    with pytest.raises(executors.ExecutorError, match=r"^--executor 'dask': expected local, ray"):
        executors.make("dask")
    if not _has_ray():
        pytest.skip(NO_RAY)
    assert executors.RayExecutor is type(executors.make("ray"))
    assert getattr(executors.make("ray"), "address", "-") is None
    assert getattr(executors.make("ray:auto"), "address", "-") == "auto"
    with socket.socket() as head:  # HOST:PORT must answer (a listening socket does)
        head.bind(("127.0.0.1", 0))
        head.listen()
        address = f"127.0.0.1:{head.getsockname()[1]}"
        assert getattr(executors.make(f"ray:{address}"), "address", "-") == address
    assert getattr(executors.make("ray:ray://head:10001"), "address", "-") == "ray://head:10001"


MISSING = (
    "--executor ray needs Ray, which is not installed here: "
    "pip install 'schedlang[ray]' (or pip install ray)\n"
)


def test_asking_for_ray_without_it_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert main(["fuzz", "--count", "1", "--executor", "ray"]) == 2
    assert capsys.readouterr().err == "schedlang fuzz: " + MISSING
    args = ["bench", "run", "--agent", "rules", "--workloads", "pipe", "--out", str(tmp_path)]
    assert main([*args, "--executor", "ray:auto"]) == 2
    out, err = capsys.readouterr()
    assert err == "schedlang bench run: " + MISSING
    assert out == ""  # said before the agent proposed anything


@pytest.mark.skipif(not _has_ray(), reason=NO_RAY)
def test_a_head_that_does_not_answer_is_one_line_not_minutes_of_retries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        assert main(["fuzz", "--count", "1", "--executor", f"ray:127.0.0.1:{port}"]) == 2
        fuzz_err = capsys.readouterr().err
        args = ["bench", "run", "--agent", "rules", "--workloads", "pipe", "--out", str(tmp_path)]
        assert main([*args, "--executor", f"ray:127.0.0.1:{port}"]) == 2
        out, bench_err = capsys.readouterr()
    said = (
        f"cannot reach the Ray cluster's head at 127.0.0.1:{port}: "
        "Connection refused (is `ray start --head` running there, and the port open?)\n"
    )
    assert fuzz_err == "schedlang fuzz: " + said
    assert bench_err == "schedlang bench run: " + said and out == ""  # before any proposal


def _square(job: int, say: executors.Say) -> int:
    say(f"job {job}")
    return job * job


def test_the_local_executor_runs_in_order_and_says_as_it_goes() -> None:
    events: list[Any] = []
    results = executors.LocalExecutor().run(_square, [3, 1, 2], events.append)
    assert next(results) == (0, 9) and events == ["job 3"]  # said before the next job starts
    assert list(results) == [(1, 1), (2, 4)] and events == ["job 3", "job 1", "job 2"]
    assert executors.run_all(executors.LocalExecutor(), _square, [], events.append) == []


@pytest.mark.skipif(not _has_ray(), reason=NO_RAY)
def test_bench_executor_gives_identical_simulator_results_on_ray() -> None:
    """bench/executor.py with its own 2-CPU local cluster: every Ray round's results are the
    local round's (it exits 1 otherwise), and it reports both sides' times."""
    done = subprocess.run(
        [sys.executable, "bench/executor.py", "--jobs", "4", "--rounds", "1", "--noop", "10",
         "--cpus", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    assert figures["identical"] is True
    assert figures["ray"]["cluster_cpus"] == 2.0 and figures["ray"]["nodes"] == 1
    assert len(figures["local"]["wall_s"]) == len(figures["on_ray"]["wall_s"]) == 1
    assert figures["per_task_overhead_ms"]["tasks"] == 10


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    if not _has_ray():
        pytest.skip(NO_RAY)
    import ray

    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.clang
def test_a_fuzz_campaign_on_ray_logs_what_it_logs_locally(
    ray_cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = {}
    for name in ("local", "ray"):
        log = tmp_path / f"{name}.jsonl"
        args = ["fuzz", "--count", "6", "--seed", "20", "--batch", "2", "--log", str(log)]
        assert main([*args, "--executor", name]) == 0
        logs[name] = sorted((json.loads(line) for line in log.read_text().splitlines()),
                            key=lambda r: r["seed"])  # fmt: skip
        out, _ = capsys.readouterr()
        assert "compiled                  6" in out
    assert [r["seed"] for r in logs["local"]] == list(range(20, 26))
    assert logs["ray"] == logs["local"]
    assert ray_cluster.is_initialized()  # the executor used this cluster and left it running


def test_a_tasks_exception_on_ray_is_raised_as_the_task_raised_it(ray_cluster: Any) -> None:
    from schedlang.runtime.workloads import UnknownWorkloadError

    job = runner.Boot(label="boot 1/1 nope", runner="no-such-workload", repeat=1)
    with pytest.raises(UnknownWorkloadError, match="no-such-workload"):
        executors.run_all(executors.RayExecutor(), runner.measure_task, [job], print)

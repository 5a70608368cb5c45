"""Where an evaluation's tasks run: in this process (`local`, the default) or on a Ray cluster
(`ray`, `ray:ADDRESS`).

A benchmark suite, a fuzz campaign and a batch of simulations are all lists of independent
jobs: one workload measured in its own boot, one batch of fuzz seeds, one batch of simulated
runs. A task is a module-level function `task(job, say) -> result` (Ray sends it by name, so
every node must have this package installed); `Executor.run(task, jobs, say)` yields
`(index, result)` as each job finishes. Both executors run the same task function on the same
job, so the results are the same; only where and how many at once differ.

`say` is how a task reports progress. Locally it is the caller's own callback and gets every
event as it happens. On Ray it is `_say_on_worker`: text lines are printed on the worker
(Ray shows them on the caller's terminal, prefixed with the worker's pid), anything else is
dropped. So a task must also *return* everything its caller needs.

Ray is an optional dependency (`pip install 'schedlang[ray]'`) imported only when asked for;
without it `--executor ray` is an ExecutorError saying how to install it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

J = TypeVar("J")
R = TypeVar("R")
Say = Callable[[Any], None]

VM_CPUS = 2  # a sandbox boot's guest vCPUs (the sandbox's default): one VM task's `cpus`

HELP = (
    "where tasks run: local (default, one after another in this process), ray (a new local "
    "Ray cluster on this machine's cores), ray:auto (the cluster `ray start` made or "
    "RAY_ADDRESS names) or ray:ADDRESS (host:port of a cluster's head, or ray://host:10001)"
)


class ExecutorError(Exception):
    """The executor asked for cannot be used (a message for the user, no traceback)."""


class Executor(Protocol):
    name: str

    def run(
        self, task: Callable[[J, Say], R], jobs: Sequence[J], say: Say, cpus: int = 1
    ) -> Iterator[tuple[int, R]]:
        """Run `task(job, say)` for every job; yield (index in `jobs`, result) as each ends.
        `cpus` is what one task occupies (a VM boot: its vCPUs), so a node runs no more at
        once than its cores allow. A task's exception is raised here, as the task raised it."""
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """What runs without a cluster: each job in turn, in this process, `say` live."""

    name = "local"

    def run(
        self, task: Callable[[J, Say], R], jobs: Sequence[J], say: Say, cpus: int = 1
    ) -> Iterator[tuple[int, R]]:
        for index, job in enumerate(jobs):
            yield index, task(job, say)

    def close(self) -> None:
        pass


def _say_on_worker(event: Any) -> None:
    """A task's `say` on a Ray worker: text is printed (Ray forwards it), the rest dropped."""
    if isinstance(event, str):
        print(event, flush=True)


class RayExecutor:
    """Every job a Ray task, all submitted at once; Ray places them on the cluster's nodes
    as their CPUs free up. Connects on first use; shuts down only a cluster it started."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        try:  # here, so a missing Ray is said before anything runs
            import ray
        except ImportError:
            raise ExecutorError(
                "--executor ray needs Ray, which is not installed here: "
                "pip install 'schedlang[ray]' (or pip install ray)"
            ) from None
        if not ray.is_initialized():
            _check_reachable(address)
        self.address = address  # None: a new local cluster (or the one already initialised)
        self._ray: Any = ray
        self._connected = False
        self._started = False

    def _connect(self) -> Any:
        ray = self._ray
        if self._connected:
            return ray
        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.address,
                    include_dashboard=False,
                    configure_logging=False,
                    log_to_driver=True,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "a new local cluster"
                raise ExecutorError(f"cannot start or reach Ray ({where}): {exc}") from None
            self._started = True
        self._connected = True
        return ray

    def run(
        self, task: Callable[[J, Say], R], jobs: Sequence[J], say: Say, cpus: int = 1
    ) -> Iterator[tuple[int, R]]:
        ray = self._connect()
        remote = ray.remote(num_cpus=cpus, max_retries=0)(task)
        index = {remote.remote(job, _say_on_worker): n for n, job in enumerate(jobs)}
        pending = list(index)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                result = ray.get(done[0])
            except ray.exceptions.RayTaskError as exc:
                # the task's own exception (a MeasureError says what went wrong), not Ray's
                # wrapper with the worker's traceback in its text
                if isinstance(exc.cause, Exception):
                    raise exc.cause from None
                raise
            yield index[done[0]], result

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
        self._connected = self._started = False


def _check_reachable(address: str | None) -> None:
    """A head at HOST:PORT that does not answer is said now: Ray itself would retry for
    minutes, logging warnings. Other forms (auto, ray://) are left to Ray."""
    import socket

    if address is None or address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(
            f"--executor ray:{address}: expected ray:HOST:PORT, ray:auto or ray:ray://HOST:PORT"
        )
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as exc:
        raise ExecutorError(
            f"cannot reach the Ray cluster's head at {address}: {exc.strerror or exc} "
            "(is `ray start --head` running there, and the port open?)"
        ) from None


def make(spec: str | None) -> Executor:
    """The executor `--executor SPEC` names: local, ray, ray:auto or ray:ADDRESS."""
    spec = (spec or "local").strip()
    if spec == "local":
        return LocalExecutor()
    kind, _, address = spec.partition(":")
    if kind == "ray":
        return RayExecutor(address or None)
    raise ExecutorError(f"--executor '{spec}': expected local, ray, ray:auto or ray:ADDRESS")


def run_all(
    executor: Executor, task: Callable[[J, Say], R], jobs: Sequence[J], say: Say, cpus: int = 1
) -> list[R]:
    """Every job's result, in the jobs' order (whatever order they finished in)."""
    if not jobs:  # nothing to do: do not start a cluster for it
        return []
    results: dict[int, R] = dict(executor.run(task, jobs, say, cpus))
    return [results[n] for n in range(len(jobs))]

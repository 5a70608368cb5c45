"""A trace of a policy's run: each callback call, each host call, as plain tuples.

Two executable forms of one checked policy (this interpreter, the llvmlite JIT) must behave
identically; the differential test runs both on the same event stream and compares their
traces. The trace is taken at the `sim_abi` boundary, by wrapping the Host and the
SimPolicy, so it needs no hook inside either backend and reads the same for both.

Events (docs/semantics.md, "Traces"), in the order they happen; a task is written as its pid:

    ("call", op, args)                   the machine calls op with args
    ("host", method, args, result)       the policy calls the Host
    ("return", op, result, tasks)        op returned; tasks: (pid, vtime, slice) of each task
                                         argument afterwards (the fields a policy may write)
    ("exit", pid)                        task_exit
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schedlang import sim_abi

Event = tuple[Any, ...]
Sink = Callable[[Event], None]


def _plain(value: object) -> object:
    """A value as the trace records it: a task as its pid, a bool as 0/1 (a JIT's bools
    are integers), tuples element-wise."""
    if isinstance(value, sim_abi.SimTask):
        return value.pid
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


class TracingHost:
    """A Host that records every call to `sink` and forwards it to `host`."""

    def __init__(self, host: sim_abi.Host, sink: Sink) -> None:
        self._host = host
        self._sink = sink

    @property
    def nr_cpus(self) -> int:
        return self._host.nr_cpus

    def _record(self, method: str, args: tuple[object, ...], result: Any) -> Any:
        self._sink(("host", method, _plain(args), _plain(result)))
        return result

    def now(self) -> int:
        return self._record("now", (), self._host.now())

    def create_dsq(self, dsq_id: int, vtime_ordered: bool) -> None:
        self._host.create_dsq(dsq_id, vtime_ordered)
        self._record("create_dsq", (dsq_id, vtime_ordered), None)

    def default_cpu(self, task: sim_abi.SimTask, prev: int, wake_flags: int) -> tuple[int, bool]:
        result = self._host.default_cpu(task, prev, wake_flags)
        return self._record("default_cpu", (task, prev, wake_flags), result)

    def insert(
        self, task: sim_abi.SimTask, dsq_id: int, slice_ns: int, vtime: int | None, enq_flags: int
    ) -> bool:
        result = self._host.insert(task, dsq_id, slice_ns, vtime, enq_flags)
        return self._record("insert", (task, dsq_id, slice_ns, vtime, enq_flags), result)

    def move_to_local(self, dsq_id: int, cpu: int) -> bool:
        return self._record("move_to_local", (dsq_id, cpu), self._host.move_to_local(dsq_id, cpu))

    def queued(self, dsq_id: int) -> int:
        return self._record("queued", (dsq_id,), self._host.queued(dsq_id))

    def kick(self, cpu: int, mode: str | None) -> None:
        self._host.kick(cpu, mode)
        self._record("kick", (cpu, mode), None)

    def cpu_allowed(self, task: sim_abi.SimTask, cpu: int) -> bool:
        return self._record("cpu_allowed", (task, cpu), self._host.cpu_allowed(task, cpu))


class TracedPolicy:
    """A SimPolicy that records its calls to `sink` and runs `policy` against a
    TracingHost writing to the same sink."""

    def __init__(self, policy: sim_abi.SimPolicy, sink: Sink) -> None:
        self._policy = policy
        self._sink = sink

    @property
    def name(self) -> str:
        return self._policy.name

    @property
    def ops(self) -> frozenset[str]:
        return self._policy.ops

    @property
    def timeout_ms(self) -> int:
        return self._policy.timeout_ms

    def call(self, op: str, host: sim_abi.Host, *args: int | bool | sim_abi.SimTask) -> int | None:
        self._sink(("call", op, _plain(args)))
        result = self._policy.call(op, TracingHost(host, self._sink), *args)
        tasks = tuple((a.pid, a.vtime, a.slice) for a in args if isinstance(a, sim_abi.SimTask))
        self._sink(("return", op, _plain(result), tasks))
        return result

    def task_exit(self, task: sim_abi.SimTask) -> None:
        self._sink(("exit", task.pid))
        self._policy.task_exit(task)

    def stats(self) -> dict[str, int | list[int]]:
        return self._policy.stats()


def traced(policy: sim_abi.SimPolicy) -> tuple[TracedPolicy, list[Event]]:
    """`policy` wrapped to record into a new list, and that list."""
    events: list[Event] = []
    return TracedPolicy(policy, events.append), events

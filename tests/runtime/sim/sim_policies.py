"""Small policies written directly against `sim_abi`, to test the machine without a backend.

They are real policies (a global FIFO and a weighted-vtime one, as examples/fifo.sched and
scx_simple do), not mocks: the machine's tests assert what these policies do under its rules.
"""

from __future__ import annotations

from schedlang.sim_abi import DSQ_GLOBAL, DSQ_LOCAL, WEIGHT_NICE0, Host, SimTask

SHARED = 0


class PyPolicy:
    """Dispatches `call` to methods named like the ops; records every call in `calls`."""

    name = "py"
    timeout_ms = 5000

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, tuple[object, ...]]] = []
        self.counters = {"nr_enqueued": 0, "nr_dispatched": 0}

    @property
    def ops(self) -> frozenset[str]:
        return frozenset(op for op in _OPS if hasattr(self, "on_" + op))

    def call(self, op: str, host: Host, *args: int | bool | SimTask) -> int | None:
        shown = tuple(a.pid if isinstance(a, SimTask) else a for a in args)
        self.calls.append((op, host.now(), shown))
        result: int | None = getattr(self, "on_" + op)(host, *args)
        return result

    def task_exit(self, task: SimTask) -> None:
        pass

    def stats(self) -> dict[str, int | list[int]]:
        return dict(self.counters)


_OPS = ("select_cpu", "enqueue", "dispatch", "runnable", "running", "stopping", "quiescent",
        "tick", "enable", "init")  # fmt: skip


class Fifo(PyPolicy):
    """One FIFO queue for every CPU; an idle CPU is kicked when a task is queued."""

    name = "fifo"

    def __init__(self, slice_ns: int = 5_000_000) -> None:
        super().__init__()
        self.slice_ns = slice_ns

    def on_init(self, host: Host) -> None:
        host.create_dsq(SHARED, False)

    def on_enqueue(self, host: Host, t: SimTask, flags: int) -> None:
        self.counters["nr_enqueued"] += 1
        host.insert(t, SHARED, self.slice_ns, None, 0)
        for cpu in range(host.nr_cpus):
            if host.cpu_allowed(t, cpu):
                host.kick(cpu, "idle")

    def on_dispatch(self, host: Host, cpu: int) -> None:
        if host.move_to_local(SHARED, cpu):
            self.counters["nr_dispatched"] += 1


class Vtime(Fifo):
    """Weighted virtual time (scx_simple's vtime mode) in one vtime-ordered queue."""

    name = "vtime"

    def __init__(self, slice_ns: int = 5_000_000) -> None:
        super().__init__(slice_ns)
        self.clock = 0

    def on_init(self, host: Host) -> None:
        host.create_dsq(SHARED, True)

    def on_enqueue(self, host: Host, t: SimTask, flags: int) -> None:
        self.counters["nr_enqueued"] += 1
        vtime = t.vtime
        if flags & 1:  # SCX_ENQ_WAKEUP: a sleeper comes back at most one slice behind
            vtime = max(vtime, self.clock - self.slice_ns)
        host.insert(t, SHARED, self.slice_ns, vtime, 0)
        for cpu in range(host.nr_cpus):
            if host.cpu_allowed(t, cpu):
                host.kick(cpu, "idle")

    def on_running(self, host: Host, t: SimTask) -> None:
        self.clock = max(self.clock, t.vtime)

    def on_stopping(self, host: Host, t: SimTask, runnable: bool) -> None:
        used = self.slice_ns - t.slice
        t.vtime += used * WEIGHT_NICE0 // t.weight


class Hoarder(Fifo):
    """Inserts every task into its own queue and never moves it to a CPU: the watchdog's
    case (a policy that never dispatches its queue)."""

    name = "hoarder"

    def on_select_cpu(self, host: Host, t: SimTask, prev: int, flags: int) -> int:
        return prev  # no insert: every wakeup goes through enqueue

    def on_dispatch(self, host: Host, cpu: int) -> None:
        pass


__all__ = ["DSQ_GLOBAL", "DSQ_LOCAL", "Fifo", "Hoarder", "PyPolicy", "Vtime"]

"""The memory an interpreted policy owns, and the run-time guards applied to it.

Every guard's rule is `schedlang.backends.semantics` (shared with the BPF and llvmlite
backends); this class holds what the rules need between calls (the kick limiter's slots,
the counters, the histogram) and asks the Host what only the machine knows, in the order the
generated C does (a host call the C short-circuits past is not made here either, so traces
of two backends line up).

Storage: `var`s, arrays and maps live in plain Python containers; task vars (and the
`runnable_at` stamp behind the wakeup histogram) live in one record per pid, created with the
declared initial values on first use (as `bpf_task_storage_get(..., F_CREATE)` does) and
dropped by `free_task`.
"""

from __future__ import annotations

from collections.abc import Callable

from schedlang import arith, ir, sim_abi
from schedlang.backends import semantics as sem
from schedlang.types import SIGNED, Type

RUNNABLE_AT = " runnable_at"  # the task record's hidden field (no policy name has a space)


def wrapper(t: Type) -> Callable[[int], int]:
    """The fastest function that stores a value at t's width: `arith.wrap(v, t)`, with
    the width and signedness looked up once (tests/backends/interp checks they agree)."""
    bits = arith.BITS.get(t)
    if bits is None:
        return same
    mask = (1 << bits) - 1
    if t in SIGNED or t is Type.CPU:
        half = 1 << (bits - 1)
        return lambda v: ((v + half) & mask) - half
    return lambda v: v & mask


def converter(source: Type, target: Type) -> Callable[[int], int]:
    """How a value of `source` is stored into `target`: nothing to do when the types are
    equal (every value of a type is already within its width), else `wrapper(target)`."""
    return same if source is target else wrapper(target)


def same(v: int) -> int:
    return v


_to_cpu = wrapper(Type.CPU)  # what the C's `s32 cpu` parameters do to a CPU argument


class Array:
    """One `array`: its slots (an index outside them is the semantics' scratch slot)."""

    __slots__ = ("slots", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.slots = [0] * size


class Map:
    """One `map`: a hash map with a capacity and a default for missing keys."""

    __slots__ = ("entries", "capacity", "default")

    def __init__(self, decl: ir.MapDecl) -> None:
        self.entries: dict[int, int] = {}
        self.capacity = decl.capacity
        self.default = decl.default


class State:
    """Everything an interpreted policy remembers between calls."""

    def __init__(self, program: ir.Program, params: dict[str, int], timeout_ms: int) -> None:
        self.params = {
            p.name: arith.wrap(params.get(p.name, p.default), p.type) for p in program.params
        }
        self.vars = {v.name: v.init for v in program.vars}
        self.arrays = {
            a.name: Array(program.max_cpus if a.size is None else a.size) for a in program.arrays
        }
        self.maps = {m.name: Map(m) for m in program.maps}
        self.task_init = {v.name: v.init for v in program.task_vars}
        self.task_init[RUNNABLE_AT] = 0
        self.tasks: dict[int, dict[str, int]] = {}
        self.timeout_ms = timeout_ms
        self.kicks = sem.KickLimiter(program.max_cpus)
        self.counters = dict.fromkeys(sem.COUNTERS, 0)
        self.wakeup_hist = [0] * sem.WAKEUP_HIST_BUCKETS
        self.queue_inserts = [0] * len(program.queues)

    # ------------------------------------------------------------------ storage
    def task(self, pid: int) -> dict[str, int]:
        """The task's record (task_ctx()): created with the initial values on first use."""
        rec = self.tasks.get(pid)
        if rec is None:
            rec = self.tasks[pid] = dict(self.task_init)
        return rec

    def free_task(self, pid: int) -> None:
        self.tasks.pop(pid, None)

    def array_slot(self, name: str, index: int) -> int:
        """The slot `name[index]` reaches, or -1 for the scratch slot (counted)."""
        at = sem.array_slot(index, self.arrays[name].size)
        if at is None:
            self.counters[sem.NR_INDEX_OUT_OF_RANGE] += 1
            return -1
        return at

    def map_set(self, name: str, key: int, value: int) -> None:
        m = self.maps[name]
        if sem.map_may_store(key in m.entries, len(m.entries), m.capacity):
            m.entries[key] = value
        else:
            self.counters[sem.NR_MAP_FULL] += 1

    # ------------------------------------------------------------------ guards
    def checked_cpu(self, host: sim_abi.Host, task: sim_abi.SimTask, cpu: int) -> int:
        cpu, bad = sem.checked_cpu(_to_cpu(cpu), host.nr_cpus, task.cpu)
        if bad:
            self.counters[sem.NR_BAD_CPU] += 1
        return cpu

    def allowed(self, host: sim_abi.Host, task: sim_abi.SimTask, cpu: int) -> bool:
        cpu = _to_cpu(cpu)
        return cpu >= 0 and sem.allowed(cpu, host.cpu_allowed(task, cpu))

    def local_on(self, host: sim_abi.Host, task: sim_abi.SimTask, cpu: int) -> int:
        cpu = _to_cpu(cpu)
        ok = sem.cpu_exists(cpu, host.nr_cpus) and self.allowed(host, task, cpu)
        dsq = sem.local_on(cpu, host.nr_cpus, ok)
        if dsq == sim_abi.DSQ_GLOBAL:
            self.counters[sem.NR_BAD_CPU] += 1
        return dsq

    def slice(self, value: int, in_tick: bool) -> int:
        rule = sem.tick_slice if in_tick else sem.clamp_slice
        value, clamped = rule(value, self.timeout_ms)
        if clamped:
            self.counters[sem.NR_SLICE_CLAMPED] += 1
        return value

    def kick(self, host: sim_abi.Host, cpu: int, mode: str | None) -> None:
        cpu = _to_cpu(cpu)
        if not sem.kick_target(cpu, host.nr_cpus):
            self.counters[sem.NR_BAD_CPU] += 1
            return
        if mode == "preempt":  # the C reads the clock only for a preempting kick
            mode, limited = self.kicks.mode(cpu, mode, host.now())
            if limited:
                self.counters[sem.NR_KICK_LIMITED] += 1
        host.kick(cpu, mode)

    def record_wakeup(self, host: sim_abi.Host, task: sim_abi.SimTask) -> None:
        """Before `on running`: the runnable -> running wait, once per wakeup."""
        rec = self.task(task.pid)
        at = rec[RUNNABLE_AT]
        if not at:
            return
        rec[RUNNABLE_AT] = 0
        self.wakeup_hist[sem.wakeup_bucket(arith.wrap(host.now() - at, Type.U64))] += 1

    def stats(self) -> dict[str, int | list[int]]:
        out: dict[str, int | list[int]] = dict(self.counters)
        out[sem.WAKEUP_HIST] = list(self.wakeup_hist)
        if self.queue_inserts:
            out[sem.QUEUE_INSERTS] = list(self.queue_inserts)
        return out

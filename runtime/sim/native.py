"""The simulated machine in native code, for a JIT-compiled policy.

machine.py is the reference machine and stays it; native_machine.c is the same machine
written again in C (function by function, same order of effects) because the Python one
caps a run at ~80k policy operations per second however fast the policy is. The C file is
compiled once per source version with clang (the backend's compiler; `cc` otherwise) into a
shared library in the user's cache. The policy is compiled by the JIT against that library:
its host calls (`now`, `insert`, ...) are direct calls to the machine's `sl_host_*`
functions, and the machine calls the policy's `on.OP` functions through their addresses,
so a run never crosses into Python between setup and the results.

`NativeMachine(...).run()` takes and returns what `Machine(...).run()` does;
`unavailable(...)` says why a run cannot use it (then the caller uses machine.py).
tests/runtime/sim/test_sim_native.py holds the two machines to identical results.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from schedlang import user_cache
from schedlang.runtime.sim.machine import (
    BLOCKED,
    DONE,
    IDLE_EXIT_NS,
    IPI_NS,
    NEW,
    RUNNABLE,
    RUNNING,
    SWITCH_NS,
    MachineResult,
    Thread,
    TraceEvent,
    _exit_info,
    scx_weight,
    time_limit_ns,
)
from schedlang.runtime.sim.rtapp import Workload
from schedlang.sim_abi import SimPolicy, SimTask

_SOURCE = Path(__file__).with_name("native_machine.c")
MAX_CPUS = 64  # a task's allowed CPUs are one 64-bit mask
# The policy operations the machine calls, in native_machine.c's OP_* order.
_OPS = (
    "init", "enable", "select_cpu", "runnable", "enqueue", "dispatch", "running",
    "stopping", "quiescent", "tick",
)  # fmt: skip
_KINDS = {
    k: i
    for i, k in enumerate(
        (
            "run", "runtime", "sleep", "timer", "yield", "resume", "broad", "signal", "sync",
            "wait", "suspend", "lock", "unlock", "barrier",
        )
    )
}  # fmt: skip
# Which namespace of shared objects an event's `ref` names (machine.py's waiter keys).
_NAMESPACE = {
    "resume": "thread:", "suspend": "thread:", "broad": "cond:", "signal": "cond:",
    "sync": "cond:", "wait": "cond:", "lock": "mutex:", "unlock": "mutex:",
    "barrier": "barrier:",
}  # fmt: skip
_STATES = (NEW, BLOCKED, RUNNABLE, RUNNING, DONE)
_TRACE_WHAT = ("run", "stop", "idle", "wake", "exit")
_HOST = (
    "now", "default_cpu", "insert", "move_to_local", "queued", "kick", "cpu_allowed",
    "create_dsq",
)  # fmt: skip


class _Event(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_int32),
        ("ref", ctypes.c_int32),
        ("timer_unique", ctypes.c_int32),
        ("mode_absolute", ctypes.c_int32),
        ("ns", ctypes.c_int64),
    ]


class _Triple(ctypes.Structure):  # sim_phase {loop, first, count}, sim_spec {loop, first, n}
    _fields_ = [("a", ctypes.c_int32), ("b", ctypes.c_int32), ("c", ctypes.c_int32)]


class _Config(ctypes.Structure):
    _fields_ = [
        ("nr_cpus", ctypes.c_int32),
        ("nr_threads", ctypes.c_int32),
        ("nr_refs", ctypes.c_int32),
        ("nr_timer_names", ctypes.c_int32),
        ("until", ctypes.c_int64),
        ("watchdog_ns", ctypes.c_int64),
        ("switch_ns", ctypes.c_int64),
        ("ipi_ns", ctypes.c_int64),
        ("idle_exit_ns", ctypes.c_int64),
        ("max_events", ctypes.c_int64),
        ("jitter", ctypes.c_double),
        ("ops", ctypes.c_uint64),
        ("op", ctypes.c_void_p * len(_OPS)),
        ("recs", ctypes.POINTER(ctypes.c_void_p)),
        ("thread_spec", ctypes.POINTER(ctypes.c_int32)),
        ("start_ns", ctypes.POINTER(ctypes.c_int64)),
        ("allowed", ctypes.POINTER(ctypes.c_uint64)),
        ("specs", ctypes.POINTER(_Triple)),
        ("phases", ctypes.POINTER(_Triple)),
        ("events", ctypes.POINTER(_Event)),
        ("barrier_users", ctypes.POINTER(ctypes.c_int32)),
        ("mt", ctypes.POINTER(ctypes.c_uint32)),
        ("trace", ctypes.c_int32),
    ]


def _compiler() -> str | None:
    for name in (os.environ.get("SCHEDLANG_CLANG"), "clang-19", "clang", "cc"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@functools.cache
def _library() -> ctypes.CDLL | str:
    """The compiled machine, or why there is none."""
    compiler = _compiler()
    if compiler is None:
        return "no C compiler (clang-19, clang or cc) to build the native machine"
    source = _SOURCE.read_bytes()
    digest = hashlib.sha256(source + compiler.encode()).hexdigest()[:16]
    cache = user_cache.directory() / "sim"
    lib = cache / f"native_machine-{digest}.so"
    if not user_cache.private_folder(cache.parent) or not user_cache.private_folder(cache):
        return f"{cache} is not this user's alone: the native machine is not built or loaded there"
    if not lib.exists():
        try:
            fd, tmp = tempfile.mkstemp(suffix=".so", dir=cache)
            os.close(fd)
            done = subprocess.run(
                [compiler, "-O2", "-shared", "-fPIC", "-o", tmp, str(_SOURCE)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                os.unlink(tmp)
                return f"{compiler} could not build {_SOURCE.name}: {done.stderr.strip()[:300]}"
            os.replace(tmp, lib)
        except OSError as exc:
            return f"cannot build the native machine in {cache}: {exc}"
    if not user_cache.private(os.lstat(lib)):  # a library someone else could write runs as us
        return f"{lib} is not this user's alone (owner or mode): not loaded"
    dll = ctypes.CDLL(str(lib))
    dll.sim_new.restype = ctypes.c_void_p
    dll.sim_new.argtypes = [ctypes.POINTER(_Config)]
    dll.sim_run.argtypes = [ctypes.c_void_p]
    dll.sim_free.argtypes = [ctypes.c_void_p]
    dll.sim_totals.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int64)]
    i64p = ctypes.POINTER(ctypes.c_int64)
    dll.sim_thread.argtypes = [
        ctypes.c_void_p, ctypes.c_int, i64p,
        ctypes.POINTER(i64p), i64p, ctypes.POINTER(i64p), i64p,
    ]  # fmt: skip
    dll.sim_trace.restype = ctypes.c_int64
    dll.sim_trace.argtypes = [ctypes.c_void_p, ctypes.POINTER(i64p)]
    for name in ("sim_exit_reason", "sim_exit_message"):
        getattr(dll, name).restype = ctypes.c_char_p
        getattr(dll, name).argtypes = [ctypes.c_void_p]
    return dll


def host_addresses() -> dict[str, int] | None:
    """The machine's host calls for the JIT to call directly (None: no native machine)."""
    lib = _library()
    if isinstance(lib, str):
        return None
    return {name: ctypes.cast(getattr(lib, f"sl_host_{name}"), ctypes.c_void_p).value or 0
            for name in _HOST}  # fmt: skip


def unavailable(workload: Workload, nr_cpus: int) -> str | None:
    """Why `workload` on `nr_cpus` cannot run on the native machine, or None if it can."""
    lib = _library()
    if isinstance(lib, str):
        return lib
    if nr_cpus > MAX_CPUS:
        return f"the native machine models at most {MAX_CPUS} CPUs, not {nr_cpus}"
    for spec in workload.threads:
        if any(c >= MAX_CPUS for c in spec.cpus):
            return f"task '{spec.name}' names a CPU past {MAX_CPUS - 1}"
    return None


class NativeMachine:
    """`Machine`'s interface for a policy compiled with `host=host_addresses()`."""

    def __init__(
        self,
        policy: SimPolicy,
        workload: Workload,
        nr_cpus: int,
        *,
        seconds: float | None = None,
        seed: int = 0,
        jitter: float = 0.02,
        switch_ns: int = SWITCH_NS,
        ipi_ns: int = IPI_NS,
        idle_exit_ns: int = IDLE_EXIT_NS,
        max_events: int = 0,
        trace: bool = False,
    ) -> None:
        reason = unavailable(workload, nr_cpus)
        if reason is not None:
            raise ValueError(reason)
        if not getattr(policy, "host_linked", False):
            raise ValueError("the native machine needs a policy compiled with its host calls")
        self.policy = policy
        self.workload = workload
        self.nr_cpus = nr_cpus
        self.until = time_limit_ns(workload, seconds)
        self.seed, self.jitter, self.switch_ns, self.trace = seed, jitter, switch_ns, trace
        self.ipi_ns, self.idle_exit_ns, self.max_events = ipi_ns, idle_exit_ns, max_events

    def run(self) -> MachineResult:
        lib = _library()
        assert not isinstance(lib, str)
        policy: Any = self.policy
        nr = self.nr_cpus
        threads, spec_of, allowed, refs, timers = self._threads()
        barrier_users: dict[int, int] = {}
        events: list[_Event] = []
        phases: list[_Triple] = []
        specs: list[_Triple] = []
        for spec in self.workload.threads:
            specs.append(_Triple(spec.loop, len(phases), len(spec.phases)))
            for phase in spec.phases:
                phases.append(_Triple(phase.loop, len(events), len(phase.events)))
                for ev in phase.events:
                    ref = -1
                    if ev.kind == "timer":
                        ref = timers.setdefault(ev.ref, len(timers))
                    elif ev.kind in _NAMESPACE:
                        ref = refs.setdefault(_NAMESPACE[ev.kind] + ev.ref, len(refs))
                        if ev.kind == "barrier":
                            barrier_users[ref] = barrier_users.get(ref, 0) + spec.instances
                    events.append(
                        _Event(
                            _KINDS[ev.kind],
                            ref,
                            ev.ref.startswith("unique"),
                            ev.mode != "relative",
                            ev.ns,
                        )
                    )
        rng = random.Random(self.seed)
        starts = [
            th.spec.delay_ns + (int(rng.random() * 50_000) if self.jitter else 0) for th in threads
        ]
        state = rng.getstate()[1]
        n = len(threads)
        recs = (ctypes.c_void_p * max(1, n))(*(policy.task_record(th.t, nr) for th in threads))
        ops = policy.ops
        c = _Config()
        c.nr_cpus, c.nr_threads, c.nr_refs, c.nr_timer_names = nr, n, len(refs), len(timers)
        c.until, c.watchdog_ns = self.until, policy.timeout_ms * 1_000_000
        c.switch_ns, c.jitter, c.trace = self.switch_ns, self.jitter, self.trace
        c.ipi_ns, c.idle_exit_ns, c.max_events = self.ipi_ns, self.idle_exit_ns, self.max_events
        for i, op in enumerate(_OPS):
            if op in ops:
                c.ops |= 1 << i
                c.op[i] = policy.function_address(op)
        keep = (
            recs,
            (ctypes.c_int32 * max(1, n))(*spec_of),
            (ctypes.c_int64 * max(1, n))(*starts),
            (ctypes.c_uint64 * max(1, n))(*allowed),
            (_Triple * max(1, len(specs)))(*specs),
            (_Triple * max(1, len(phases)))(*phases),
            (_Event * max(1, len(events)))(*events),
            (ctypes.c_int32 * max(1, len(refs)))(
                *(barrier_users.get(i, 0) for i in range(len(refs)))
            ),
            (ctypes.c_uint32 * 625)(*state),
        )
        c.recs = ctypes.cast(keep[0], ctypes.POINTER(ctypes.c_void_p))
        c.thread_spec, c.start_ns, c.allowed = keep[1], keep[2], keep[3]
        c.specs, c.phases, c.events = keep[4], keep[5], keep[6]
        c.barrier_users, c.mt = keep[7], keep[8]
        sim = lib.sim_new(ctypes.byref(c))
        try:
            lib.sim_run(sim)
            return self._result(lib, sim, threads)
        finally:
            lib.sim_free(sim)

    def _threads(
        self,
    ) -> tuple[list[Thread], list[int], list[int], dict[str, int], dict[str, int]]:
        """The threads as machine.py creates them (same pids, names, weights, first CPUs)."""
        nr = self.nr_cpus
        threads: list[Thread] = []
        spec_of: list[int] = []
        allowed_masks: list[int] = []
        pid = 100
        for index, spec in enumerate(self.workload.threads):
            tgid = pid
            for i in range(spec.instances):
                allowed = frozenset(c for c in spec.cpus if c < nr)
                if spec.cpus and not allowed:
                    raise ValueError(
                        f"task '{spec.name}' may run only on CPUs {sorted(spec.cpus)}, "
                        f"and the machine has {nr}"
                    )
                t = SimTask(
                    pid=pid,
                    tgid=tgid,
                    comm=f"{spec.name}-{i}"[:15],
                    weight=scx_weight(spec.nice, spec.idle_policy),
                    cpu=min(allowed) if allowed else (pid - 100) % nr,
                    allowed=allowed,
                )
                threads.append(Thread(t, spec, i))
                spec_of.append(index)
                allowed_masks.append(sum(1 << c for c in allowed))
                pid += 1
        return threads, spec_of, allowed_masks, {}, {}

    def _result(self, lib: ctypes.CDLL, sim: int, threads: list[Thread]) -> MachineResult:
        policy: Any = self.policy
        nr = self.nr_cpus
        totals = (ctypes.c_int64 * (5 + nr))()
        lib.sim_totals(sim, totals)
        end_ns, ops_calls, machine_events, exit_kind = totals[:4]
        out = (ctypes.c_int64 * 6)()
        lat, nlat = ctypes.POINTER(ctypes.c_int64)(), ctypes.c_int64()
        slack, nslack = ctypes.POINTER(ctypes.c_int64)(), ctypes.c_int64()
        for i, th in enumerate(threads):
            lib.sim_thread(sim, i, out, ctypes.byref(lat), ctypes.byref(nlat),
                           ctypes.byref(slack), ctypes.byref(nslack))  # fmt: skip
            th.state = _STATES[out[0]]
            th.run_ns, th.migrations, th.switches, th.misses = out[1], out[2], out[3], out[4]
            th.ended_at = None if out[5] < 0 else out[5]
            th.latencies = lat[: nlat.value] if nlat.value else []
            th.slack_ns = slack[: nslack.value] if nslack.value else []
            policy.read_task(th.t)
        trace = None
        if self.trace:
            buf = ctypes.POINTER(ctypes.c_int64)()
            count = lib.sim_trace(sim, ctypes.byref(buf))
            flat = buf[: 4 * count] if count else []
            trace = [
                TraceEvent(flat[j], flat[j + 1], _TRACE_WHAT[flat[j + 2]], flat[j + 3])
                for j in range(0, len(flat), 4)
            ]
        name = policy.name
        if exit_kind:
            reason = lib.sim_exit_reason(sim).decode()
            message = lib.sim_exit_message(sim).decode()
            exit_info = _exit_info(exit_kind, reason, message, name)
        else:
            exit_info = _exit_info(64, "unregistered from user space", "", name)
        return MachineResult(
            policy=name,
            workload=self.workload.name,
            nr_cpus=nr,
            seed=self.seed,
            end_ns=end_ns,
            threads=threads,
            cpu_busy_ns=list(totals[4 : 4 + nr]),
            exit=exit_info,
            policy_stats=policy.stats(),
            ops_calls=ops_calls,
            machine_events=machine_events,
            trace=trace,
            out_of_events=bool(totals[4 + nr]),
        )

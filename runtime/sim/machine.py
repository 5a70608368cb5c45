"""The simulated machine: N CPUs that follow sched_ext's rules, driven by any `SimPolicy`.

A discrete-event simulation in integer nanoseconds. The rules are the kernel's
(kernel/sched/ext.c), reduced to what a policy can observe:

* **Wakeup**: `select_cpu` runs only for a task allowed on more than one CPU (core.c's
  select_task_rq); without the op the machine uses `default_cpu` and, when that found an idle
  CPU, inserts the task straight into its local queue with the default slice. An insert made
  in `select_cpu` is applied when the task is enqueued, in place of `enqueue`. Then
  `runnable`, then `enqueue`; without `enqueue` the task goes to the global queue. A task
  enqueued on an idle CPU's runqueue wakes that CPU; nothing else wakes an idle CPU but a
  local insert or `kick`.
* **Picking** (balance_one): a running task with slice left keeps its CPU; else the local
  queue, else the global queue, else `dispatch` (up to 32 rounds while it inserts something);
  when all are empty a still-runnable task keeps running with its slice refilled (no
  SCX_OPS_ENQ_LAST). A task giving up the CPU while runnable gets `stopping(t, true)` and
  `enqueue(t, 0)`; the next one gets `running`.
* **Context switches** cost `switch_ns` (1 µs) of CPU before the incoming task's work.
* **Waking a CPU costs time.** A CPU asked to pick by another CPU (a wakeup placed there, a
  local insert, `kick`) picks `ipi_ns` later; a CPU that is idle (asleep) picks `idle_exit_ns`
  later, on top. A wakeup with no waking task (a timer, a start) comes from the CPU the task
  last ran on. One request in flight per CPU: others that arrive meanwhile join it.
* **Slices** are charged as the task runs but only end at the scheduler tick (HZ=250, as
  the sandbox kernel), where `tick` runs; `kick(preempt)` zeroes the running slice.
* **Queues**: local and global are FIFO; a user queue is FIFO or vtime-ordered (ties FIFO)
  and refuses the other kind while it holds tasks, as the kernel does. `move_to_local` takes
  the first task the CPU may run.
* **Errors** the kernel turns into an ejection (a local insert on a CPU the task may not use,
  an unknown queue, a bad CPU from select_cpu, a double insert) end the run with kind ERROR;
  the **watchdog** ends it with ERROR_STALL when a task stays runnable past `timeout_ms`,
  checked every `timeout_ms / 2` like scx_watchdog_workfn. Both give the kernel's exit info.

Threads follow an rt-app `Workload`; each thread is one task. Deterministic: the only
randomness is a seeded jitter of start times and run lengths, so one seed is one trace.
"""

from __future__ import annotations

import heapq
import random
from bisect import insort
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from schedlang.runtime.exitinfo import ExitInfo, kind_name
from schedlang.runtime.sim.rtapp import Event, ThreadSpec, Workload
from schedlang.sim_abi import (
    DSQ_GLOBAL,
    DSQ_LOCAL,
    DSQ_LOCAL_ON,
    SLICE_DFL_NS,
    WEIGHT_NICE0,
    SimPolicy,
    SimTask,
)

# Wake flags (kernel/sched/sched.h WF_*, which SCX_WAKE_* equal) and enqueue flags.
WAKE_FORK = 0x04
WAKE_TTWU = 0x08
WAKE_SYNC = 0x10
ENQ_WAKEUP = 0x1
ENQ_HEAD = 1 << 4
ENQ_PREEMPT = 1 << 32
DEQ_SLEEP = 0x1
SLICE_INF = (1 << 64) - 1
TICK_NS = 4_000_000  # HZ=250 (the sandbox kernel's CONFIG_HZ)
DISPATCH_MAX_LOOPS = 32  # SCX_DSP_MAX_LOOPS
# What a context switch costs before the incoming task's work starts (a modern x86 core's
# order of magnitude; without it a ping-pong would cost nothing but its work).
SWITCH_NS = 1_000
# What it costs to make another CPU pick (an IPI from the requesting CPU) and what an idle
# CPU takes to leave its idle state before it picks: together what a pipe hand-off to the
# other, idle CPU cost more than one on the same CPU on the development host (14 µs), split
# by the usual order of each. docs/simulator.md "The machine's rules" has the measurement.
IPI_NS = 4_000
IDLE_EXIT_NS = 10_000
_LOCAL_ON_MASK = 0xC000000000000000

# sched_prio_to_weight[nice + 20] (kernel/sched/core.c); sched_ext reports weight * 100 / 1024.
_PRIO_TO_WEIGHT = (
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
    110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
)  # fmt: skip
_WEIGHT_IDLEPRIO = 3  # SCHED_IDLE


def scx_weight(nice: int, idle_policy: bool = False) -> int:
    """p->scx.weight as sched_ext sets it: the CFS weight scaled to 100 for nice 0,
    rounded to nearest and clamped to [1, 10000] (sched_weight_to_cgroup)."""
    weight = _WEIGHT_IDLEPRIO if idle_policy else _PRIO_TO_WEIGHT[nice + 20]
    return max(1, min(10000, (weight * WEIGHT_NICE0 + 512) // 1024))


# Task states.
NEW, BLOCKED, RUNNABLE, RUNNING, DONE = range(5)
# Policy call contexts (which kfuncs are allowed, and what DSQ_LOCAL means).
_CTX_NONE, _CTX_SELECT, _CTX_ENQUEUE, _CTX_DISPATCH = range(4)
# Event kinds in the queue.
_EV_WAKE, _EV_DONE, _EV_TICK, _EV_WATCHDOG, _EV_RESCHED, _EV_IPI = range(6)
# A CPU asked to pick again more often than this within one instant (a policy that kicks the
# CPU it dispatches on, say) picks again only after RESCHED_COST_NS: in the kernel each
# schedule() takes time, so such a loop spins the CPU; here it must not stop the clock.
RESCHED_PER_INSTANT = 8
RESCHED_COST_NS = 1_000


class Thread:
    """A task of the machine: the policy's `SimTask` plus where it is in its rt-app program
    and what happened to it (for the metrics)."""

    __slots__ = (
        "t", "spec", "index", "state", "phase", "phase_loop", "loop", "ev",
        "remaining", "deadline", "runnable_at", "woke", "queued", "ddsp", "wake_gen",
        "last_cpu", "t_first", "latencies", "run_ns", "migrations", "switches",
        "slack_ns", "misses", "ended_at", "wait_ref",
    )  # fmt: skip

    def __init__(self, t: SimTask, spec: ThreadSpec, index: int) -> None:
        self.t = t
        self.spec = spec
        self.index = index
        self.state = NEW
        self.phase = self.phase_loop = self.loop = self.ev = 0
        self.remaining = 0  # ns of work left in the current run event
        self.deadline = 0  # a runtime event's wall-clock end (0: not in one)
        self.runnable_at = 0
        self.woke = False  # runnable since a wakeup (its first run is a latency sample)
        self.queued: Dsq | None = None
        self.ddsp: tuple[int, int, int | None, int] | None = None  # select_cpu's insert
        self.wake_gen = 0
        self.last_cpu = -1
        self.t_first = 0
        self.latencies: list[int] = []
        self.run_ns = 0
        self.migrations = 0
        self.switches = 0
        self.slack_ns: list[int] = []
        self.misses = 0
        self.ended_at: int | None = None
        self.wait_ref = ""


class Dsq:
    """A dispatch queue: FIFO (deque) or vtime-ordered (sorted list), never both at once."""

    __slots__ = ("dsq_id", "fifo", "prio")

    def __init__(self, dsq_id: int) -> None:
        self.dsq_id = dsq_id
        self.fifo: deque[Thread] = deque()
        self.prio: list[tuple[int, int, Thread]] = []

    def __len__(self) -> int:
        return len(self.fifo) + len(self.prio)

    def take_for(self, cpu: int) -> Thread | None:
        """Remove and return the first task allowed on `cpu`, in queue order."""
        if self.fifo:
            for i, th in enumerate(self.fifo):
                if th.t.may_run_on(cpu):
                    del self.fifo[i]
                    return th
        elif self.prio:
            for i, (_, _, th) in enumerate(self.prio):
                if th.t.may_run_on(cpu):
                    del self.prio[i]
                    return th
        return None


@dataclass
class Cpu:
    id: int
    local: deque[Thread] = field(default_factory=deque)
    curr: Thread | None = None
    idle_bit: bool = True  # in the idle mask default_cpu reads (claimed: cleared)
    seg_start: int = 0  # when curr's running was last charged
    gen: int = 0  # bumps when curr's completion time changes (stale events are skipped)
    tick_armed: bool = False
    need_resched: bool = False
    resched_at: int = -1  # the instant of the last picks, and how many there were
    resched_count: int = 0
    busy_ns: int = 0
    asleep: bool = True  # idle and in the idle state: a pick first costs idle_exit_ns
    waking: bool = False  # a pick request (IPI or idle exit) is on its way


class SimulationEnded(Exception):
    """Raised inside a policy call when the machine has ended the run (an ejection)."""


@dataclass(frozen=True)
class TraceEvent:
    """One line of the trace: (ns, cpu, what, pid). `what`: run, stop, idle, wake, exit."""

    ns: int
    cpu: int
    what: str
    pid: int


@dataclass
class MachineResult:
    """The raw outcome of one run; `metrics.py` turns it into figures."""

    policy: str
    workload: str
    nr_cpus: int
    seed: int
    end_ns: int  # when the run stopped (duration, last thread, or ejection)
    threads: list[Thread]
    cpu_busy_ns: list[int]
    exit: ExitInfo
    policy_stats: dict[str, Any]
    ops_calls: int  # policy operations run: the "scheduling events" a benchmark counts
    machine_events: int
    trace: list[TraceEvent] | None
    out_of_events: bool = False  # stopped by the event budget (`max_events`), not the clock


def time_limit_ns(workload: Workload, seconds: float | None) -> int:
    """The simulated time a run covers: `seconds` if given, else the workload's own duration,
    else 10 s. Both machines stop there, so their traces cover the same span."""
    if seconds is not None:
        return int(seconds * 1e9)
    return workload.duration_ns or 10_000_000_000


class Machine:
    """Implements `sim_abi.Host`. Build one per run: `Machine(...).run()`."""

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
        if nr_cpus < 1:
            raise ValueError("a machine needs at least one CPU")
        self.policy = policy
        self.ops = policy.ops
        self.workload = workload
        self._nr_cpus = nr_cpus
        self.cpus = [Cpu(i) for i in range(nr_cpus)]
        self.until = time_limit_ns(workload, seconds)
        self.seed = seed
        self.rng = random.Random(seed)
        self.jitter = jitter
        self.switch_ns = switch_ns
        self.ipi_ns = ipi_ns
        self.idle_exit_ns = idle_exit_ns
        self.max_events = max_events  # 0: no budget; else the run stops after so many events
        self.out_of_events = False
        self._origin = 0  # the CPU whose action this is (where a pick request comes from)
        self._now = 0
        self._events: list[tuple[int, int, int, Any, int]] = []
        self._seq = 0
        self.global_dsq = Dsq(DSQ_GLOBAL)
        self.dsqs: dict[int, Dsq] = {}
        self.threads: list[Thread] = []
        self._by_pid: dict[int, Thread] = {}
        self._runnable: set[Thread] = set()  # runnable, not running: what the watchdog reads
        self._resched: list[Cpu] = []
        self._ctx = _CTX_NONE
        self._ctx_cpu = 0  # the CPU a policy call runs on (smp_processor_id)
        self._dispatch_buf: list[tuple[Thread, int, int, int | None, int]] = []
        self._ddsp: tuple[int, int, int | None, int] | None = None
        self.exit: ExitInfo | None = None
        self.ops_calls = 0
        self.machine_events = 0
        self.trace: list[TraceEvent] | None = [] if trace else None
        # Shared objects of the rt-app program: timers, conditions, mutexes, barriers.
        self._timers: dict[Any, int] = {}
        self._waiters: dict[str, deque[Thread]] = {}
        self._mutex_owner: dict[str, Thread | None] = {}
        self._barrier_users: dict[str, int] = {}
        self._barrier_waiting: dict[str, list[Thread]] = {}
        self._create_threads()
        self._live = len(self.threads)  # threads not yet ended: the run stops at 0

    # --- sim_abi.Host ---------------------------------------------------------------------

    @property
    def nr_cpus(self) -> int:
        return self._nr_cpus

    def now(self) -> int:
        return self._now

    def create_dsq(self, dsq_id: int, vtime_ordered: bool) -> None:
        self.dsqs.setdefault(dsq_id, Dsq(dsq_id))

    def default_cpu(self, task: SimTask, prev: int, wake_flags: int) -> tuple[int, bool]:
        """scx_select_cpu_dfl without SMT: the waker's CPU for a sync wakeup when some CPU is
        idle and the waker's local queue is empty; else `prev` if idle; else the lowest idle
        CPU the task may use (the kernel's pick rotates; lowest keeps runs reproducible).
        An idle CPU it returns is claimed (cleared from the idle mask)."""
        cpus = self.cpus
        this = self._ctx_cpu
        if (
            wake_flags & WAKE_SYNC
            and not cpus[this].local
            and task.may_run_on(this)
            and any(c.idle_bit for c in cpus)
        ):
            return this, True
        if 0 <= prev < self._nr_cpus and cpus[prev].idle_bit and task.may_run_on(prev):
            cpus[prev].idle_bit = False
            return prev, True
        for cpu in cpus:
            if cpu.idle_bit and task.may_run_on(cpu.id):
                cpu.idle_bit = False
                return cpu.id, True
        return prev, False

    def insert(
        self, task: SimTask, dsq_id: int, slice_ns: int, vtime: int | None, enq_flags: int
    ) -> bool:
        th = self._by_pid[task.pid]
        ctx = self._ctx
        if ctx == _CTX_DISPATCH:
            self._dispatch_buf.append((th, dsq_id, slice_ns, vtime, enq_flags))
            return True
        if ctx == _CTX_NONE:
            return self._error(f"insert of {self._name(th)} outside select_cpu/enqueue/dispatch")
        if th.queued is not None or self._ddsp is not None:
            return self._error(f"{self._name(th)} already direct-dispatched")
        if ctx == _CTX_SELECT:
            self._ddsp = (dsq_id, slice_ns, vtime, enq_flags)
            return True
        self._ddsp = (dsq_id, slice_ns, vtime, enq_flags)  # marks the task as inserted
        return self._place(th, dsq_id, slice_ns, vtime, enq_flags, self._ctx_cpu)

    def move_to_local(self, dsq_id: int, cpu: int) -> bool:
        if self._ctx != _CTX_DISPATCH:
            return self._error("move_to_local outside dispatch")
        self._flush_dispatch(self.cpus[cpu])
        dsq = self.global_dsq if dsq_id == DSQ_GLOBAL else self.dsqs.get(dsq_id)
        if dsq is None:
            return self._error(f"invalid DSQ ID 0x{dsq_id:016x}")
        return self._consume(dsq, self.cpus[cpu])

    def queued(self, dsq_id: int) -> int:
        if dsq_id == DSQ_GLOBAL:
            return len(self.global_dsq)
        if dsq_id == DSQ_LOCAL:
            return len(self.cpus[self._ctx_cpu].local)
        if dsq_id & _LOCAL_ON_MASK == DSQ_LOCAL_ON:
            cpu = dsq_id & 0xFFFFFFFF
            return len(self.cpus[cpu].local) if cpu < self._nr_cpus else 0
        dsq = self.dsqs.get(dsq_id)
        return len(dsq) if dsq is not None else 0

    def kick(self, cpu: int, mode: str | None) -> None:
        if not 0 <= cpu < self._nr_cpus:
            self._error(f"invalid CPU {cpu} from kick")
            return
        target = self.cpus[cpu]
        if mode == "idle" and target.curr is not None:
            return
        if mode == "preempt" and target.curr is not None:
            self._charge(target)
            target.curr.t.slice = 0
        self._ask_pick(target)

    def cpu_allowed(self, task: SimTask, cpu: int) -> bool:
        return task.may_run_on(cpu)

    # --- running ------------------------------------------------------------------------------

    def run(self) -> MachineResult:
        if "init" in self.ops:
            self._call("init")
        for th in self.threads:
            if "enable" in self.ops:
                self._call("enable", th.t)
            start = th.spec.delay_ns + (int(self.rng.random() * 50_000) if self.jitter else 0)
            self._push(start, _EV_WAKE, th, th.wake_gen)
        watchdog = self.policy.timeout_ms * 1_000_000
        self._push(watchdog // 2, _EV_WATCHDOG, None, 0)
        try:
            self._loop()
        except SimulationEnded:
            pass
        end = min(self._now, self.until)
        for cpu in self.cpus:
            if cpu.curr is not None and self.exit is None:
                self._charge(cpu)
        if self.exit is None:
            self.exit = _exit_info(64, "unregistered from user space", "", self.policy.name)
        return MachineResult(
            policy=self.policy.name,
            workload=self.workload.name,
            nr_cpus=self._nr_cpus,
            seed=self.seed,
            end_ns=end,
            threads=self.threads,
            cpu_busy_ns=[c.busy_ns for c in self.cpus],
            exit=self.exit,
            policy_stats=self.policy.stats(),
            ops_calls=self.ops_calls,
            machine_events=self.machine_events,
            trace=self.trace,
            out_of_events=self.out_of_events,
        )

    def _loop(self) -> None:
        events = self._events
        until = self.until
        watchdog_ns = self.policy.timeout_ms * 1_000_000
        while events:
            when, _, kind, obj, gen = heapq.heappop(events)
            if when > until:
                self._now = until
                return
            self._now = when
            self.machine_events += 1
            if kind == _EV_DONE:
                if obj.gen == gen and obj.curr is not None:
                    self._origin = obj.id
                    self._charge(obj)
                    self._advance(obj, obj.curr)
            elif kind == _EV_WAKE:
                if obj.wake_gen == gen and obj.state in (NEW, BLOCKED):
                    self._wake(obj, WAKE_FORK if obj.state == NEW else WAKE_TTWU, None)
            elif kind == _EV_TICK:
                self._tick(obj)
            elif kind == _EV_RESCHED:
                self._need_resched(obj)
            elif kind == _EV_IPI:
                obj.waking = obj.asleep = False
                self._need_resched(obj)
            else:
                self._watchdog(watchdog_ns)
                self._push(when + watchdog_ns // 2, _EV_WATCHDOG, None, 0)
            self._run_resched()
            if self.exit is not None:
                return
            if not self._live or (
                len(events) == 1 and events[0][2] == _EV_WATCHDOG and not self._runnable
            ):
                return  # every thread ended, or waits for nothing but the watchdog
            if self.machine_events == self.max_events:
                self.out_of_events = True
                return

    def _push(self, when: int, kind: int, obj: Any, gen: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, self._seq, kind, obj, gen))

    def _call(self, op: str, *args: Any) -> Any:
        self.ops_calls += 1
        return self.policy.call(op, self, *args)

    # --- errors -------------------------------------------------------------------------------

    def _error(self, message: str) -> bool:
        """A policy mistake the kernel answers with scx_ops_error: the run ends (ejected)."""
        if self.exit is None:
            self.exit = _exit_info(1024, "runtime error", message, self.policy.name)
        return False

    def _watchdog(self, timeout_ns: int) -> None:
        for th in sorted(self._runnable, key=lambda t: (t.runnable_at, t.t.pid)):
            waited = self._now - th.runnable_at
            if waited > timeout_ns:
                ms = waited // 1_000_000
                message = f"{th.t.comm}[{th.t.pid}] failed to run for {ms // 1000}.{ms % 1000:03d}s"
                self.exit = _exit_info(1026, "runnable task stall", message, self.policy.name)
                return

    # --- wakeups and enqueueing ----------------------------------------------------------------

    def _wake(self, th: Thread, wake_flags: int, waker: Cpu | None) -> None:
        t = th.t
        fork = th.state == NEW
        if fork:
            th.t_first = self._now
        th.state = RUNNABLE
        th.runnable_at = self._now
        th.woke = True
        self._runnable.add(th)
        if self.trace is not None:
            self.trace.append(TraceEvent(self._now, t.cpu, "wake", t.pid))
        prev = t.cpu
        self._ctx_cpu = self._origin = waker.id if waker is not None else prev
        ddsp = None
        nr = self._nr_cpus
        if t.nr_cpus_allowed(nr) > 1:
            if "select_cpu" in self.ops:
                self._ctx, self._ddsp = _CTX_SELECT, None
                cpu = self._call("select_cpu", t, prev, wake_flags)
                self._ctx = _CTX_NONE
                ddsp, self._ddsp = self._ddsp, None
                if cpu is None or not 0 <= cpu < nr:
                    self._error(f"invalid CPU {cpu} from ops.select_cpu()")
                    raise SimulationEnded
                if not t.may_run_on(cpu):
                    cpu = prev if t.may_run_on(prev) else min(t.allowed)
            else:
                cpu, found = self.default_cpu(t, prev, wake_flags)
                if found:
                    ddsp = (DSQ_LOCAL, SLICE_DFL_NS, None, 0)
        else:
            cpu = min(t.allowed) if t.allowed else 0
        t.cpu = cpu
        enq_flags = 0 if fork else ENQ_WAKEUP
        if "runnable" in self.ops:
            self._call("runnable", t, enq_flags)
        self._enqueue(th, enq_flags, ddsp)
        if self.exit is not None:
            raise SimulationEnded
        target = self.cpus[cpu]
        if target.curr is None:
            self._ask_pick(target)

    def _enqueue(self, th: Thread, enq_flags: int, ddsp: Any) -> None:
        """do_enqueue_task: a direct insert from select_cpu, else ops.enqueue, else global."""
        cpu = th.t.cpu
        if ddsp is not None:
            self._place(th, ddsp[0], ddsp[1], ddsp[2], ddsp[3] | enq_flags, cpu)
        elif "enqueue" in self.ops:
            self._ctx, self._ctx_cpu, self._ddsp = _CTX_ENQUEUE, cpu, None
            self._call("enqueue", th.t, enq_flags)
            self._ctx, self._ddsp = _CTX_NONE, None
            # No insert: the policy keeps the task and nothing will run it (the watchdog's case).
        else:
            th.t.slice = SLICE_DFL_NS
            self._place(th, DSQ_GLOBAL, SLICE_DFL_NS, None, enq_flags, cpu)

    def _place(
        self, th: Thread, dsq_id: int, slice_ns: int, vtime: int | None, flags: int, local: int
    ) -> bool:
        """Put a task on a queue (dispatch_enqueue); `local` is the CPU DSQ_LOCAL means."""
        t = th.t
        t.slice = slice_ns if slice_ns else (t.slice or 1)
        if vtime is not None:
            t.vtime = vtime
        if dsq_id == DSQ_LOCAL or dsq_id & _LOCAL_ON_MASK == DSQ_LOCAL_ON:
            cpu = local if dsq_id == DSQ_LOCAL else dsq_id & 0xFFFFFFFF
            if cpu >= self._nr_cpus:
                return self._error(f"invalid CPU {cpu} in SCX_DSQ_LOCAL_ON for {self._name(th)}")
            if not t.may_run_on(cpu):
                return self._error(
                    f"SCX_DSQ_LOCAL[_ON] target CPU {cpu} not allowed for {self._name(th)}"
                )
            if vtime is not None:
                return self._error("cannot use vtime ordering for built-in DSQs")
            target = self.cpus[cpu]
            if flags & ENQ_HEAD:
                target.local.appendleft(th)
            else:
                target.local.append(th)
            th.queued = None
            if flags & ENQ_PREEMPT and target.curr is not None and target.curr is not th:
                self._charge(target)
                target.curr.t.slice = 0
                self._ask_pick(target)
            elif target.curr is None:
                self._ask_pick(target)
            return True
        if dsq_id == DSQ_GLOBAL:
            if vtime is not None:
                return self._error("cannot use vtime ordering for built-in DSQs")
            dsq = self.global_dsq
        else:
            found = self.dsqs.get(dsq_id)
            if found is None:
                return self._error(f"non-existent DSQ 0x{dsq_id:x} for {self._name(th)}")
            dsq = found
        if vtime is None:
            if dsq.prio:
                return self._error(f"DSQ 0x{dsq_id:x} already had PRIQ-enqueued tasks")
            if flags & ENQ_HEAD:
                dsq.fifo.appendleft(th)
            else:
                dsq.fifo.append(th)
        else:
            if dsq.fifo:
                return self._error(f"DSQ 0x{dsq_id:x} already had FIFO-enqueued tasks")
            self._seq += 1
            insort(dsq.prio, (vtime, self._seq, th))
        th.queued = dsq
        return True

    def _consume(self, dsq: Dsq, cpu: Cpu) -> bool:
        th = dsq.take_for(cpu.id)
        if th is None:
            return False
        th.queued = None
        cpu.local.append(th)
        return True

    def _flush_dispatch(self, cpu: Cpu) -> int:
        buf, self._dispatch_buf = self._dispatch_buf, []
        for th, dsq_id, slice_ns, vtime, flags in buf:
            if th.state == RUNNABLE and th.queued is None and not self._in_local(th):
                self._place(th, dsq_id, slice_ns, vtime, flags, cpu.id)
        return len(buf)

    def _in_local(self, th: Thread) -> bool:
        return any(th in c.local for c in self.cpus)

    # --- running, stopping, picking -------------------------------------------------------------

    def _need_resched(self, cpu: Cpu) -> None:
        if not cpu.need_resched:
            cpu.need_resched = True
            self._resched.append(cpu)

    def _ask_pick(self, cpu: Cpu) -> None:
        """Make `cpu` pick again, at the cost of reaching it from the CPU asking (an IPI)
        and of its idle exit if it sleeps."""
        delay = (self.ipi_ns if cpu.id != self._origin else 0) + (
            self.idle_exit_ns if cpu.asleep else 0
        )
        if not delay:
            self._need_resched(cpu)
        elif not cpu.waking:
            cpu.waking = True
            self._push(self._now + delay, _EV_IPI, cpu, 0)

    def _run_resched(self) -> None:
        pending = self._resched
        now = self._now
        while pending:
            cpu = pending.pop(0)
            cpu.need_resched = False
            if cpu.resched_at != now:
                cpu.resched_at, cpu.resched_count = now, 0
            cpu.resched_count += 1
            if cpu.resched_count > RESCHED_PER_INSTANT:
                # One more pick after the cost, then defer again if it asks again.
                cpu.resched_at = now + RESCHED_COST_NS
                cpu.resched_count = RESCHED_PER_INSTANT - 1
                self._push(cpu.resched_at, _EV_RESCHED, cpu, 0)
                continue
            self._schedule(cpu)
            if self.exit is not None:
                return

    def _charge(self, cpu: Cpu) -> None:
        """update_curr: the running task has used the CPU since seg_start."""
        th = cpu.curr
        assert th is not None
        used = self._now - cpu.seg_start
        if used <= 0:
            return
        cpu.seg_start = self._now
        th.remaining -= used
        th.run_ns += used
        cpu.busy_ns += used
        s = th.t.slice
        if s != SLICE_INF:
            th.t.slice = s - used if s > used else 0

    def _schedule(self, cpu: Cpu) -> None:
        prev = cpu.curr
        self._ctx_cpu = self._origin = cpu.id
        if prev is not None:
            self._charge(cpu)
        keep = prev is not None and prev.t.slice > 0
        if not keep and not cpu.local and not self._consume(self.global_dsq, cpu):
            if "dispatch" in self.ops:
                for _ in range(DISPATCH_MAX_LOOPS):
                    self._ctx, self._ctx_cpu = _CTX_DISPATCH, cpu.id
                    self._call("dispatch", cpu.id)
                    inserted = self._flush_dispatch(cpu)
                    self._ctx = _CTX_NONE
                    if self.exit is not None:
                        raise SimulationEnded
                    if cpu.local or self._consume(self.global_dsq, cpu):
                        break
                    if not inserted:
                        break
            keep = not cpu.local and prev is not None
        if keep:
            assert prev is not None
            if prev.t.slice == 0:
                prev.t.slice = SLICE_DFL_NS
            return
        if prev is not None:
            if "stopping" in self.ops:
                self._call("stopping", prev.t, True)
            self._put_prev(cpu, prev)
            if self.exit is not None:
                raise SimulationEnded
        if cpu.local:
            self._run(cpu, cpu.local.popleft())
        else:
            cpu.idle_bit = cpu.asleep = True
            if self.trace is not None and prev is not None:
                self.trace.append(TraceEvent(self._now, cpu.id, "idle", 0))

    def _put_prev(self, cpu: Cpu, prev: Thread) -> None:
        cpu.curr = None
        cpu.gen += 1
        prev.state = RUNNABLE
        prev.runnable_at = self._now
        self._runnable.add(prev)
        if self.trace is not None:
            self.trace.append(TraceEvent(self._now, cpu.id, "stop", prev.t.pid))
        self._enqueue(prev, 0, None)

    def _run(self, cpu: Cpu, th: Thread) -> None:
        """set_next_task: `th` takes the CPU, and starts its work after the switch cost."""
        now = self._now + self.switch_ns
        th.state = RUNNING
        self._runnable.discard(th)
        cpu.curr = th
        cpu.idle_bit = cpu.asleep = False
        cpu.seg_start = now
        cpu.gen += 1
        if th.last_cpu >= 0 and th.last_cpu != cpu.id:
            th.migrations += 1
        th.last_cpu = cpu.id
        th.t.cpu = cpu.id
        th.switches += 1
        if th.woke:
            th.latencies.append(now - th.runnable_at)
            th.woke = False
        if self.trace is not None:
            self.trace.append(TraceEvent(self._now, cpu.id, "run", th.t.pid))
        if "running" in self.ops:
            self._call("running", th.t)
        if th.remaining <= 0 and th.deadline == 0:
            # First run after a wakeup: the program decides what it does next.
            self._advance(cpu, th)
            return
        if th.deadline:
            th.remaining = max(0, th.deadline - now)
        self._push(now + th.remaining, _EV_DONE, cpu, cpu.gen)
        self._arm_tick(cpu)

    def _arm_tick(self, cpu: Cpu) -> None:
        if not cpu.tick_armed:
            cpu.tick_armed = True
            self._push((self._now // TICK_NS + 1) * TICK_NS, _EV_TICK, cpu, 0)

    def _tick(self, cpu: Cpu) -> None:
        cpu.tick_armed = False
        th = cpu.curr
        if th is None:
            return  # nohz: an idle CPU stops ticking
        self._charge(cpu)
        self._ctx_cpu = self._origin = cpu.id
        if "tick" in self.ops:
            self._call("tick", th.t)
        if th.t.slice == 0:
            self._need_resched(cpu)
        self._arm_tick(cpu)

    def _block(self, cpu: Cpu, th: Thread, state: int) -> None:
        """The running task sleeps or exits: dequeue_task_scx, then the CPU picks again."""
        if "stopping" in self.ops:
            self._call("stopping", th.t, False)
        if "quiescent" in self.ops:
            self._call("quiescent", th.t, DEQ_SLEEP)
        th.state = state
        cpu.curr = None
        cpu.gen += 1
        if self.trace is not None:
            self.trace.append(
                TraceEvent(self._now, cpu.id, "exit" if state == DONE else "stop", th.t.pid)
            )
        if state == DONE:
            th.ended_at = self._now
            self._live -= 1
            self.policy.task_exit(th.t)
        self._need_resched(cpu)

    # --- the rt-app program ------------------------------------------------------------------

    def _advance(self, cpu: Cpu, th: Thread) -> None:
        """`th` is running and its current step is done: run steps until one takes time."""
        th.deadline = 0
        while True:
            event = self._next_event(th)
            if event is None:
                self._block(cpu, th, DONE)
                return
            kind = event.kind
            if kind == "run":
                work = event.ns
                if self.jitter:
                    work = int(work * (1 + self.jitter * (2 * self.rng.random() - 1)))
                if work <= 0:
                    continue
                th.remaining = work
                break
            if kind == "runtime":
                if event.ns <= 0:
                    continue
                th.deadline = self._now + event.ns
                th.remaining = event.ns
                break
            if kind == "sleep":
                if event.ns > 0:
                    self._sleep_until(cpu, th, self._now + event.ns)
                    return
                continue
            if kind == "timer":
                wake_at = self._timer(th, event)
                if wake_at is not None:
                    self._sleep_until(cpu, th, wake_at)
                    return
                continue
            if kind == "yield":
                th.t.slice = 0
                self._need_resched(cpu)
                continue
            if self._sync_event(cpu, th, event):
                return  # blocked
        cpu.gen += 1
        self._push(max(self._now, cpu.seg_start) + th.remaining, _EV_DONE, cpu, cpu.gen)
        self._arm_tick(cpu)

    def _next_event(self, th: Thread) -> Event | None:
        spec = th.spec
        while True:
            phase = spec.phases[th.phase]
            if th.ev < len(phase.events):
                th.ev += 1
                return phase.events[th.ev - 1]
            th.ev = 0
            th.phase_loop += 1
            if th.phase_loop < phase.loop:
                continue
            th.phase_loop = 0
            th.phase += 1
            if th.phase < len(spec.phases):
                continue
            th.phase = 0
            th.loop += 1
            if spec.loop >= 0 and th.loop >= spec.loop:
                return None

    def _sleep_until(self, cpu: Cpu, th: Thread, when: int) -> None:
        th.wake_gen += 1
        self._push(when, _EV_WAKE, th, th.wake_gen)
        self._block(cpu, th, BLOCKED)

    def _timer(self, th: Thread, event: Event) -> int | None:
        """rt-app's timer: the next period's start, shared by instances unless the ref begins
        with 'unique'. Returns when to wake, or None for a missed period (negative slack)."""
        key: Any = (event.ref, th.t.pid) if event.ref.startswith("unique") else event.ref
        t_next = self._timers.get(key, th.t_first) + event.ns
        slack = t_next - self._now
        th.slack_ns.append(slack)
        if slack > 0:
            self._timers[key] = t_next
            return t_next
        th.misses += 1
        self._timers[key] = self._now if event.mode == "relative" else t_next
        return None

    def _sync_event(self, cpu: Cpu, th: Thread, event: Event) -> bool:
        """Conditions, suspend/resume, mutexes, barriers. True: `th` blocked."""
        kind, ref = event.kind, event.ref
        if kind in ("resume", "broad"):
            key = ("thread:" if kind == "resume" else "cond:") + ref
            for other in self._waiters.pop(key, ()):
                self._wake(other, WAKE_TTWU | WAKE_SYNC, cpu)
            return False
        if kind in ("signal", "sync"):
            waiting = self._waiters.get("cond:" + ref)
            if waiting:
                self._wake(waiting.popleft(), WAKE_TTWU | WAKE_SYNC, cpu)
            if kind == "signal":
                return False
        if kind in ("wait", "sync", "suspend"):
            key = ("thread:" if kind == "suspend" else "cond:") + ref
            self._waiters.setdefault(key, deque()).append(th)
            self._block(cpu, th, BLOCKED)
            return True
        if kind == "lock":
            if self._mutex_owner.get(ref) is None:
                self._mutex_owner[ref] = th
                return False
            self._waiters.setdefault("mutex:" + ref, deque()).append(th)
            self._block(cpu, th, BLOCKED)
            return True
        if kind == "unlock":
            waiting = self._waiters.get("mutex:" + ref)
            if waiting:
                owner = waiting.popleft()
                self._mutex_owner[ref] = owner
                self._wake(owner, WAKE_TTWU | WAKE_SYNC, cpu)
            else:
                self._mutex_owner[ref] = None
            return False
        assert kind == "barrier", kind
        arrived = self._barrier_waiting.setdefault(ref, [])
        if len(arrived) + 1 < self._barrier_users[ref]:
            arrived.append(th)
            self._block(cpu, th, BLOCKED)
            return True
        self._barrier_waiting[ref] = []
        for other in arrived:
            self._wake(other, WAKE_TTWU, cpu)
        return False

    # --- setup --------------------------------------------------------------------------------

    def _create_threads(self) -> None:
        pid = 100
        for spec in self.workload.threads:
            tgid = pid
            for i in range(spec.instances):
                allowed = frozenset(c for c in spec.cpus if c < self._nr_cpus)
                if spec.cpus and not allowed:
                    raise ValueError(
                        f"task '{spec.name}' may run only on CPUs {sorted(spec.cpus)}, "
                        f"and the machine has {self._nr_cpus}"
                    )
                comm = f"{spec.name}-{i}"[:15]
                t = SimTask(
                    pid=pid,
                    tgid=tgid,
                    comm=comm,
                    weight=scx_weight(spec.nice, spec.idle_policy),
                    cpu=min(allowed) if allowed else (pid - 100) % self._nr_cpus,
                    allowed=allowed,
                )
                th = Thread(t, spec, i)
                self.threads.append(th)
                self._by_pid[pid] = th
                pid += 1
            for phase in spec.phases:
                for event in phase.events:
                    if event.kind == "barrier":
                        self._barrier_users[event.ref] = (
                            self._barrier_users.get(event.ref, 0) + spec.instances
                        )

    def _name(self, th: Thread) -> str:
        return f"{th.t.comm}[{th.t.pid}]"


def _exit_info(kind: int, reason: str, message: str, name: str) -> ExitInfo:
    """The exit info as the kernel reports it, with the two lines it logs."""
    lines = [f'sched_ext: BPF scheduler "{name}" disabled ({reason})']
    if message:
        lines.append(f"sched_ext: {name}: {message}")
    return ExitInfo(
        kind=kind,
        kind_name=kind_name(kind),
        code=0,
        reason=reason,
        message=message,
        ejected=kind >= 1024,
        kernel_log_lines=tuple(lines),
    )

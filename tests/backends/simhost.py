"""A small, deterministic sched_ext machine for testing SimPolicy implementations.

`ToyHost` implements `sim_abi.Host` for real (queues, idle CPUs, affinity, a clock), and
records as `errors` every call for which the kernel would eject the scheduler (an insert
into a queue that does not exist, vtime into a FIFO queue, a CPU that does not exist or is
not allowed...). `drive()` runs a policy through a random but seeded life of tasks (wake,
select_cpu, enqueue, dispatch, running, tick, stopping, quiescent, exit) and checks what the
checker promises at every step: each enqueue inserts its task exactly once, select_cpu
returns a CPU that exists, only select_cpu/enqueue insert, every slice is clamped, no
insert is refused.

It is not the simulator (runtime/sim): no timing model, just enough of the contract to run
every callback in a plausible order. The interpreter's tests and the JIT's differential test
share it (tests/backends is on sys.path for every test below it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from schedlang import sim_abi
from schedlang.sim_abi import DSQ_GLOBAL, DSQ_LOCAL, DSQ_LOCAL_ON, SimTask

_LOCAL_ON_MASK = 0xC000000000000000


class ToyHost:
    """sim_abi.Host over plain lists: one local queue per CPU, the global queue, user DSQs."""

    def __init__(self, nr_cpus: int) -> None:
        self._nr_cpus = nr_cpus
        self.time = 1_000_000
        self.cpu = 0  # the CPU the current callback runs on
        self.op = ""  # the operation being run (set by the driver)
        self.local: list[list[SimTask]] = [[] for _ in range(nr_cpus)]
        self.global_q: list[SimTask] = []
        self.user: dict[int, list[tuple[int, int, SimTask]]] = {}  # id -> (key, seq, task)
        self.vtime_ordered: dict[int, bool] = {}
        self.idle: set[int] = set(range(nr_cpus))
        self.direct: list[SimTask] = []  # select_cpu's inserts into `local`, placed on return
        self.inserts: list[tuple[str, int, int]] = []  # (op, pid, dsq) of the current call
        self.kicks: list[tuple[int, str | None]] = []
        self.errors: list[str] = []
        self.slice_max = 2**64 - 1  # drive() sets the policy's: timeout / 10
        self._seq = 0

    @property
    def nr_cpus(self) -> int:
        return self._nr_cpus

    def now(self) -> int:
        return self.time

    def create_dsq(self, dsq_id: int, vtime_ordered: bool) -> None:
        if dsq_id in self.user or dsq_id >> 63:
            self.errors.append(f"create_dsq({dsq_id:#x}): exists or reserved")
            return
        self.user[dsq_id] = []
        self.vtime_ordered[dsq_id] = vtime_ordered

    def default_cpu(self, task: SimTask, prev: int, wake_flags: int) -> tuple[int, bool]:
        if not 0 <= prev < self._nr_cpus:
            self.errors.append(f"default_cpu: prev CPU {prev} does not exist")
            return task.cpu, False
        order = [prev] + sorted(self.idle - {prev})
        for cpu in order:
            if cpu in self.idle and task.may_run_on(cpu):
                self.idle.discard(cpu)
                return cpu, True
        return prev, False

    def insert(
        self, task: SimTask, dsq_id: int, slice_ns: int, vtime: int | None, enq_flags: int
    ) -> bool:
        self.inserts.append((self.op, task.pid, dsq_id))
        if self.op not in ("select_cpu", "enqueue"):
            self.errors.append(f"insert from {self.op}")
            return False
        if not 0 <= slice_ns < 2**64 or (vtime is not None and not 0 <= vtime < 2**64):
            self.errors.append(f"insert: slice {slice_ns} / vtime {vtime} not a u64")
            return False
        if slice_ns != sim_abi.SLICE_DFL_NS and not 100_000 <= slice_ns <= self.slice_max:
            self.errors.append(f"insert: slice {slice_ns} ns escaped the clamp")
        target = self._target(task, dsq_id, vtime)
        if target is None:
            return False
        task.slice = slice_ns
        if vtime is not None:
            task.vtime = vtime
        self._seq += 1
        if target == "direct":
            self.direct.append(task)
        elif isinstance(target, int):
            entry = (
                vtime if self.vtime_ordered[target] and vtime is not None else 0,
                self._seq,
                task,
            )
            self.user[target].append(entry)
            if self.vtime_ordered[target]:
                self.user[target].sort(key=lambda e: (e[0], e[1]))
        else:
            target.append(task)
        return True

    def _target(
        self, task: SimTask, dsq_id: int, vtime: int | None
    ) -> list[SimTask] | int | str | None:
        if dsq_id in self.user:
            if (vtime is not None) != self.vtime_ordered[dsq_id]:
                self.errors.append(f"insert: vtime {vtime} into queue {dsq_id} of the other kind")
                return None
            return dsq_id
        if vtime is not None:
            self.errors.append(f"insert: vtime into built-in queue {dsq_id:#x}")
            return None
        if dsq_id == DSQ_GLOBAL:
            return self.global_q
        if dsq_id == DSQ_LOCAL:
            return "direct" if self.op == "select_cpu" else self.local[task.cpu]
        if dsq_id & _LOCAL_ON_MASK == DSQ_LOCAL_ON:
            cpu = dsq_id & 0xFFFFFFFF
            if cpu < self._nr_cpus and task.may_run_on(cpu):
                return self.local[cpu]
            self.errors.append(f"insert: local on CPU {cpu}, absent or not allowed")
            return None
        self.errors.append(f"insert: no queue {dsq_id:#x}")
        return None

    def move_to_local(self, dsq_id: int, cpu: int) -> bool:
        if self.op != "dispatch" or cpu != self.cpu:
            self.errors.append(f"move_to_local from {self.op} on CPU {self.cpu} for {cpu}")
            return False
        queue = self.user.get(dsq_id)
        if queue is None:
            self.errors.append(f"move_to_local: no queue {dsq_id:#x}")
            return False
        for i, (_, _, task) in enumerate(queue):
            if task.may_run_on(cpu):
                del queue[i]
                self.local[cpu].append(task)
                return True
        return False

    def queued(self, dsq_id: int) -> int:
        if dsq_id == DSQ_LOCAL:
            return len(self.local[self.cpu])
        if dsq_id == DSQ_GLOBAL:
            return len(self.global_q)
        if dsq_id in self.user:
            return len(self.user[dsq_id])
        return -2  # -ENOENT, as the kfunc

    def kick(self, cpu: int, mode: str | None) -> None:
        if not 0 <= cpu < self._nr_cpus or mode not in (None, "idle", "preempt"):
            self.errors.append(f"kick({cpu}, {mode})")
        self.kicks.append((cpu, mode))

    def cpu_allowed(self, task: SimTask, cpu: int) -> bool:
        return 0 <= cpu < self._nr_cpus and task.may_run_on(cpu)

    def waiting(self) -> int:
        return len(self.global_q) + sum(map(len, self.local)) + sum(map(len, self.user.values()))


@dataclass
class Run:
    """What one driven run produced."""

    host: ToyHost
    calls: int = 0
    problems: list[str] = field(default_factory=list)


COMMS = ("kworker/0:1", "make", "cc1", "ld", "bash", "rt-app", "x" * 15)


def drive(
    policy: sim_abi.SimPolicy, seed: int, *, nr_cpus: int = 4, nr_tasks: int = 6, steps: int = 200
) -> Run:
    """Run `policy` through `steps` random events; Run.problems lists every broken promise."""
    rng = random.Random(seed)
    host = ToyHost(nr_cpus)
    host.slice_max = policy.timeout_ms * 1_000_000 // 10
    run = Run(host)
    next_pid = [100]
    running: list[SimTask | None] = [None] * nr_cpus
    sleeping: list[SimTask] = []

    def call(op: str, cpu: int, *args: int | bool | SimTask) -> int | None:
        if op not in policy.ops:
            return None
        host.op, host.cpu, host.inserts = op, cpu, []
        run.calls += 1
        return policy.call(op, host, *args)

    def new_task() -> SimTask:
        pid = next_pid[0]
        next_pid[0] += 1
        allowed = frozenset(rng.sample(range(nr_cpus), rng.randint(1, nr_cpus)))
        t = SimTask(
            pid=pid,
            tgid=pid - pid % 3,
            comm=rng.choice(COMMS),
            weight=rng.choice((1, 80, 100, 125, 10000)),
            cpu=min(allowed),
            allowed=allowed if rng.random() < 0.5 else frozenset(),
            is_kthread=rng.random() < 0.2,
        )
        call("enable", t.cpu, t)
        return t

    def enqueue(t: SimTask, flags: int) -> None:
        if "enqueue" in policy.ops:
            call("enqueue", t.cpu, t, flags)
            mine = [i for i in host.inserts if i[1] == t.pid]
            if len(mine) != 1:
                run.problems.append(f"enqueue of {t.pid} inserted it {len(mine)} times")
        else:
            host.op = "enqueue"
            host.insert(t, DSQ_GLOBAL, sim_abi.SLICE_DFL_NS, None, flags)

    def wake(t: SimTask) -> None:
        call("runnable", t.cpu, t, 0)
        host.direct = []
        if "select_cpu" in policy.ops:
            cpu = call("select_cpu", t.cpu, t, t.cpu, rng.choice((0, 1, 8)))
            if not isinstance(cpu, int) or not 0 <= cpu < nr_cpus:
                run.problems.append(f"select_cpu returned {cpu!r}")
                cpu = t.cpu
            if len([i for i in host.inserts if i[1] == t.pid]) > 1:
                run.problems.append(f"select_cpu inserted {t.pid} more than once")
        else:
            host.op = "select_cpu"
            cpu, idle = host.default_cpu(t, t.cpu, 0)
            if idle:
                host.insert(t, DSQ_LOCAL, sim_abi.SLICE_DFL_NS, None, 0)
        t.cpu = cpu
        if host.direct:
            host.local[cpu if t.may_run_on(cpu) else t.cpu] += host.direct
            host.direct = []
        else:
            enqueue(t, 0)

    def pick(cpu: int) -> None:
        if not host.local[cpu]:
            for i, t in enumerate(host.global_q):
                if t.may_run_on(cpu):
                    host.local[cpu].append(host.global_q.pop(i))
                    break
        if not host.local[cpu] and "dispatch" in policy.ops:
            call("dispatch", cpu, cpu)
        if not host.local[cpu]:
            host.idle.add(cpu)
            return
        t = host.local[cpu].pop(0)
        t.cpu = cpu
        host.idle.discard(cpu)
        running[cpu] = t
        call("running", cpu, t)

    def stop(cpu: int, runnable: bool) -> None:
        t = running[cpu]
        assert t is not None
        running[cpu] = None
        call("stopping", cpu, t, runnable)
        if runnable:
            enqueue(t, 0)
        else:
            call("quiescent", cpu, t, 0)
            sleeping.append(t)

    call("init", 0)
    for _ in range(nr_tasks):
        sleeping.append(new_task())
    for _ in range(steps):
        host.time += rng.choice((0, 1, 50_000, 400_000, 1_500_000, 30_000_000))
        event = rng.random()
        busy = [c for c in range(nr_cpus) if running[c] is not None]
        if event < 0.3 and sleeping:
            wake(sleeping.pop(rng.randrange(len(sleeping))))
        elif event < 0.55:
            cpu = rng.randrange(nr_cpus)
            if running[cpu] is None:
                pick(cpu)
        elif event < 0.7 and busy:
            cpu = rng.choice(busy)
            t = running[cpu]
            assert t is not None
            call("tick", cpu, t)
            if t.slice == 0:
                stop(cpu, True)
        elif event < 0.8 and busy:
            stop(rng.choice(busy), True)
        elif event < 0.95 and busy:
            stop(rng.choice(busy), False)
        elif sleeping:
            gone = sleeping.pop(rng.randrange(len(sleeping)))
            policy.task_exit(gone)
            sleeping.append(new_task())
    run.problems += host.errors
    return run

"""The calls between a simulated machine and a policy compiled for it.

A checked policy has two executable forms besides BPF C: the IR interpreter (the reference
semantics, `backends/interp`) and native code JIT-compiled with llvmlite (`backends/llvm`).
The simulated machine (`runtime/sim`) must drive either without knowing which it has, and
neither backend may import the machine (data flows backend -> artifact -> runtime). So the
contract lives here, in the shared layer, written once:

* the machine owns the tasks and hands the policy a `SimTask` (plain data it may read, and
  whose `vtime` and `slice` the policy may write, as `p->scx.dsq_vtime`/`p->scx.slice`);
* the policy calls back into the machine only through `Host`, the kfuncs of sched_ext a
  policy can reach (one method per kfunc family, not per kernel variant);
* the machine calls the policy only through `SimPolicy.call`, one operation at a time, with
  the operation's arguments in the order of `schedlang.callbacks.CALLBACKS`.

Dispatch queue ids use the kernel's values, so a trace from the simulator and one from the
kernel name queues alike: a declared queue is its `QueueDecl.dsq_id`; the built-ins are
`DSQ_GLOBAL`, `DSQ_LOCAL`, and `DSQ_LOCAL_ON | cpu`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# The kernel's enum scx_dsq_id_flags values (include/linux/sched/ext.h).
DSQ_GLOBAL = 0x8000000000000001
DSQ_LOCAL = 0x8000000000000002
DSQ_LOCAL_ON = 0xC000000000000000
# SCX_SLICE_DFL: the slice of an insert that names none (ns).
SLICE_DFL_NS = 20_000_000
# The weight of a nice-0 task, as sched_ext reports it in p->scx.weight.
WEIGHT_NICE0 = 100


@dataclass
class SimTask:
    """A task as a policy sees it. The machine creates it; the policy reads every field and
    writes only `vtime` and `slice` (the IR's writable task fields)."""

    pid: int
    tgid: int
    comm: str  # at most 15 bytes, as the kernel's TASK_COMM_LEN - 1
    weight: int = WEIGHT_NICE0
    vtime: int = 0
    slice: int = SLICE_DFL_NS
    cpu: int = 0  # the CPU it last ran on (task_cpu())
    allowed: frozenset[int] = field(default_factory=frozenset)  # empty: every CPU
    is_kthread: bool = False

    def may_run_on(self, cpu: int) -> bool:
        return not self.allowed or cpu in self.allowed

    def nr_cpus_allowed(self, nr_cpus: int) -> int:
        return len(self.allowed) if self.allowed else nr_cpus


class Host(Protocol):
    """What a policy may ask of the machine: sched_ext's kfuncs as the IR uses them."""

    @property
    def nr_cpus(self) -> int: ...

    def now(self) -> int:
        """Monotonic time in ns (bpf_ktime_get_ns / scx_bpf_now)."""
        ...

    def create_dsq(self, dsq_id: int, vtime_ordered: bool) -> None:
        """scx_bpf_create_dsq, from init; `vtime_ordered` says how the queue is used."""
        ...

    def default_cpu(self, task: SimTask, prev: int, wake_flags: int) -> tuple[int, bool]:
        """scx_bpf_select_cpu_dfl: (cpu, whether it was idle and is now claimed)."""
        ...

    def insert(
        self, task: SimTask, dsq_id: int, slice_ns: int, vtime: int | None, enq_flags: int
    ) -> bool:
        """scx_bpf_dsq_insert(_vtime): vtime None is a FIFO insert. False: refused (the
        kernel ejects the scheduler for some refusals; the machine records why)."""
        ...

    def move_to_local(self, dsq_id: int, cpu: int) -> bool:
        """scx_bpf_dsq_move_to_local from `cpu`'s dispatch: False if the queue was empty."""
        ...

    def queued(self, dsq_id: int) -> int:
        """scx_bpf_dsq_nr_queued."""
        ...

    def kick(self, cpu: int, mode: str | None) -> None:
        """scx_bpf_kick_cpu; mode None, "idle" or "preempt"."""
        ...

    def cpu_allowed(self, task: SimTask, cpu: int) -> bool:
        """bpf_cpumask_test_cpu(cpu, p->cpus_ptr)."""
        ...


class SimPolicy(Protocol):
    """A checked policy compiled for the simulator (by the interpreter or the JIT)."""

    @property
    def name(self) -> str: ...

    @property
    def ops(self) -> frozenset[str]:
        """The operations the policy implements (`on ...` blocks plus what the backend adds,
        e.g. the runnable/running hooks behind the wakeup histogram)."""
        ...

    @property
    def timeout_ms(self) -> int: ...

    def call(self, op: str, host: Host, *args: int | bool | SimTask) -> int | None:
        """Run one operation; returns select_cpu's CPU, else None. Arguments as in
        `schedlang.callbacks.CALLBACKS[op].params` (a task is a SimTask, a cpu an int)."""
        ...

    def task_exit(self, task: SimTask) -> None:
        """The task left the scheduler: free its task-local storage."""
        ...

    def stats(self) -> dict[str, int | list[int]]:
        """The stats the BPF backend exports, by the same names (nr_enqueued, nr_bad_cpu,
        wakeup_hist, queue_inserts, ...), so one report reads both."""
        ...

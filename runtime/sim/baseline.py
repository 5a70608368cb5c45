"""The baseline every simulated figure is a ratio against: a model of the kernel's default.

In the VM a policy is compared with the kernel's own EEVDF scheduler in the same boot; the
simulator needs the same reference point, so this is a small EEVDF-like policy written
against the same `sim_abi` contract a compiled policy uses (the machine cannot tell them
apart). What it keeps of EEVDF/CFS:

* weighted virtual time: a task's vtime advances by its run time x 100 / weight;
* placement on wakeup: a sleeper resumes no further back than one base slice behind the
  queue's clock, so sleeping earns bounded credit (place_entity's lag clamp);
* the base slice, 0.75 ms x (1 + log2 CPUs) for up to 8 CPUs (sysctl_sched_base_slice scaled
  as sched_init_granularity does), ending at the tick as the kernel's does under HZ=250;
* wakeup preemption: a woken task whose vtime is a base slice behind the running task's
  (counting what it has run so far) with the largest vtime on a CPU it may use preempts it.

What it leaves out, so a ratio against it is read with care: per-CPU runqueues and periodic
load balancing (here one vtime-ordered queue for all CPUs, i.e. perfect balancing), cache
and SMT topology, and EEVDF's eligibility test (the lowest vtime runs first).
"""

from __future__ import annotations

from typing import Any

from schedlang.sim_abi import DSQ_LOCAL, WEIGHT_NICE0, Host, SimTask

SHARED_DSQ = 0  # the one queue, as a policy's first declared queue


class DefaultPolicy:
    """An EEVDF-like SimPolicy; one instance per run (it keeps per-task state)."""

    name = "default"
    ops = frozenset({"init", "select_cpu", "enqueue", "dispatch", "running", "stopping"})
    timeout_ms = 30_000  # the kernel default has no watchdog; the longest sched_ext allows

    def __init__(self, nr_cpus: int) -> None:
        n = max(1, min(nr_cpus, 8))
        self.base_slice = 750_000 * (1 + n.bit_length() - 1)
        self.clock = 0  # vtime of the task that started running last (min_vruntime-like)
        self.started: dict[int, int] = {}  # pid -> when it started running
        self.curr: list[SimTask | None] = [None] * nr_cpus  # what runs on each CPU
        self.counts = {"nr_enqueued": 0, "nr_dispatched": 0, "nr_direct": 0}

    def call(self, op: str, host: Host, *args: Any) -> int | None:
        result: int | None = getattr(self, "_on_" + op)(host, *args)
        return result

    def _on_init(self, host: Host) -> None:
        host.create_dsq(SHARED_DSQ, True)

    def _on_select_cpu(self, host: Host, task: SimTask, prev: int, flags: int) -> int:
        cpu, idle = host.default_cpu(task, prev, flags)
        if idle:
            self._place(task)
            self.counts["nr_direct"] += 1
            host.insert(task, DSQ_LOCAL, self.base_slice, None, 0)
        return cpu

    def _on_enqueue(self, host: Host, task: SimTask, flags: int) -> None:
        self.counts["nr_enqueued"] += 1
        self._place(task)
        host.insert(task, SHARED_DSQ, self.base_slice, task.vtime, 0)
        self._preempt_for(host, task)

    def _on_dispatch(self, host: Host, cpu: int) -> None:
        if host.move_to_local(SHARED_DSQ, cpu):
            self.counts["nr_dispatched"] += 1

    def _on_running(self, host: Host, task: SimTask) -> None:
        self.started[task.pid] = host.now()
        self.clock = max(self.clock, task.vtime)
        self.curr[task.cpu] = task

    def _on_stopping(self, host: Host, task: SimTask, runnable: bool) -> None:
        now = host.now()
        ran = now - self.started.pop(task.pid, now)
        task.vtime += ran * WEIGHT_NICE0 // max(1, task.weight)
        self.curr[task.cpu] = None

    def _place(self, task: SimTask) -> None:
        task.vtime = max(task.vtime, self.clock - self.base_slice)

    def _preempt_for(self, host: Host, task: SimTask) -> None:
        """Kick the CPU whose running task is furthest ahead in vtime, counting the time it
        has run so far, if that is more than a base slice ahead of the woken task."""
        now = host.now()
        victim, worst = -1, task.vtime + self.base_slice
        for cpu, running in enumerate(self.curr):
            if running is None:
                continue
            ran = now - self.started.get(running.pid, now)
            vtime = running.vtime + ran * WEIGHT_NICE0 // (running.weight or 1)
            if vtime > worst and task.may_run_on(cpu):
                victim, worst = cpu, vtime
        if victim >= 0:
            host.kick(victim, "preempt")

    def task_exit(self, task: SimTask) -> None:
        self.started.pop(task.pid, None)

    def stats(self) -> dict[str, int | list[int]]:
        return dict(self.counts)

"""Figures from one simulated run: latency, throughput, fairness, deadlines.

Everything is computed from what the machine recorded per thread (each wakeup's
runnable -> running latency in ns, CPU time, migrations, timer slack), so the figures mean
the same for every policy. Percentiles are nearest-rank over the exact samples (the VM only
has the policy's histogram buckets; here µs are real). Fairness is Jain's index of CPU time
per unit of weight over the threads: 1.0 when every thread got CPU in proportion to its
weight, 1/n when one thread got it all. It is only meaningful when every thread wants the
CPU all the time (hogs); for mixed workloads read the per-task rows.

An rt-app task is one process (its instances are the threads of one tgid), so the per-task
figures are per process too: each task's share of the CPU time granted, and `process_fairness`,
Jain's index over the processes of each one's CPU time per unit of its weight (the threads of
a task share one nice level). A per-thread fair scheduler gives a process with six busy
threads six times the CPU of a one-threaded one (fairness 1.0, process_fairness far below);
a per-process one the reverse. Like `fairness`, it means something only when every process
can use an equal share (each has at least CPUs / processes busy threads).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from schedlang.runtime.sim.machine import MachineResult, Thread


def percentile(sorted_values: list[int], p: float) -> int | None:
    """Nearest-rank percentile of already sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p * len(sorted_values)))
    return sorted_values[rank - 1]


def jain(values: list[float]) -> float | None:
    """Jain's fairness index (sum x)^2 / (n * sum x^2); None for no values or all zero."""
    squares = sum(v * v for v in values)
    if not values or squares == 0:
        return None
    return sum(values) ** 2 / (len(values) * squares)


def _us(ns: int | None) -> float | None:
    return None if ns is None else ns / 1000


@dataclass(frozen=True)
class TaskMetrics:
    """One rt-app task (all its instances together)."""

    task: str
    instances: int
    wakeups: int
    wakeup_p50_us: float | None
    wakeup_p99_us: float | None
    wakeup_max_us: float | None
    run_s: float
    migrations: int
    activations: int  # timer periods reached
    deadline_misses: int  # periods already over when the timer was reached (slack < 0)
    slack_min_us: float | None
    cpu_share: float  # this task's (process's) part of all the CPU time granted, 0..1


@dataclass(frozen=True)
class RunMetrics:
    policy: str
    workload: str
    cpus: int
    seed: int
    elapsed_s: float
    makespan_s: float | None  # when the last finite-loop thread ended; None if one never did
    work_s: float  # CPU time the threads got
    throughput: float  # work_s per second of elapsed time (CPUs' worth of useful work)
    utilisation: float  # busy CPU time / (cpus x elapsed)
    wakeups: int
    wakeup_p50_us: float | None
    wakeup_p99_us: float | None
    wakeup_max_us: float | None
    fairness: float | None  # Jain's index of CPU time per weight, over the threads
    process_fairness: float | None  # the same over the processes (rt-app tasks)
    migrations: int
    context_switches: int
    activations: int
    deadline_misses: int
    exit: dict[str, Any]
    policy_stats: dict[str, Any]
    ops_calls: int
    machine_events: int
    tasks: tuple[TaskMetrics, ...]
    host_s: float | None = None  # wall time the run took on this host (not simulated time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _task(name: str, threads: list[Thread], work: int) -> TaskMetrics:
    lat = sorted(v for th in threads for v in th.latencies)
    slack = [v for th in threads for v in th.slack_ns]
    return TaskMetrics(
        task=name,
        instances=len(threads),
        wakeups=len(lat),
        wakeup_p50_us=_us(percentile(lat, 0.50)),
        wakeup_p99_us=_us(percentile(lat, 0.99)),
        wakeup_max_us=_us(lat[-1] if lat else None),
        run_s=sum(th.run_ns for th in threads) / 1e9,
        migrations=sum(th.migrations for th in threads),
        activations=len(slack),
        deadline_misses=sum(th.misses for th in threads),
        slack_min_us=_us(min(slack) if slack else None),
        cpu_share=sum(th.run_ns for th in threads) / work if work else 0.0,
    )


def summarize(result: MachineResult, host_s: float | None = None) -> RunMetrics:
    threads = result.threads
    elapsed = max(result.end_ns, 1)
    lat = sorted(v for th in threads for v in th.latencies)
    ended = [th.ended_at for th in threads if th.spec.loop >= 0]
    by_task: dict[str, list[Thread]] = {}
    for th in threads:
        by_task.setdefault(th.spec.name, []).append(th)
    work = sum(th.run_ns for th in threads)
    exit_info = result.exit
    return RunMetrics(
        policy=result.policy,
        workload=result.workload,
        cpus=result.nr_cpus,
        seed=result.seed,
        elapsed_s=elapsed / 1e9,
        makespan_s=max(e for e in ended if e is not None) / 1e9
        if ended and all(e is not None for e in ended)
        else None,
        work_s=work / 1e9,
        throughput=work / elapsed,
        utilisation=sum(result.cpu_busy_ns) / (result.nr_cpus * elapsed),
        wakeups=len(lat),
        wakeup_p50_us=_us(percentile(lat, 0.50)),
        wakeup_p99_us=_us(percentile(lat, 0.99)),
        wakeup_max_us=_us(lat[-1] if lat else None),
        fairness=jain([th.run_ns / th.t.weight for th in threads]),
        process_fairness=jain(
            [sum(th.run_ns for th in group) / group[0].t.weight for group in by_task.values()]
        ),
        migrations=sum(th.migrations for th in threads),
        context_switches=sum(th.switches for th in threads),
        activations=sum(len(th.slack_ns) for th in threads),
        deadline_misses=sum(th.misses for th in threads),
        exit={
            "kind": exit_info.kind_name,
            "reason": exit_info.reason,
            "message": exit_info.message,
            "ejected": exit_info.ejected,
            "kernel_log": list(exit_info.kernel_log_lines),
        },
        policy_stats=dict(result.policy_stats),
        ops_calls=result.ops_calls,
        machine_events=result.machine_events,
        tasks=tuple(_task(name, group, work) for name, group in by_task.items()),
        host_s=host_s,
    )

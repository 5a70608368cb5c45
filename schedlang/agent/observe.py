"""Observe: trace a workload under the default scheduler and say what limits it.

`observe(workload)` traces one run (in the sandbox VM with perf, or in the simulator with
`sim=True`; both through `schedlang.trace`) and `profile(trace)` turns the trace into a
`WorkloadProfile`: per-thread distributions, per-CPU busy share, the bottleneck named by the
first rule below that holds, candidate SLOs for that bottleneck, and an rt-app model the
simulator replays. Every threshold is a named constant here and in docs/agent.md
("Observe"); none is tuned to a particular workload.

Bottleneck rules, in order (threads are grouped by comm; a group *sleeps* when most of its
switch-outs were blocking, and *hogs* when most were preemptions and it ran at least
`HOG_SHARE` of the traced time on some CPU):

1. wakeup-latency: a sleeping group with `MIN_WAKEUPS` wakeups or more shares the machine with
   a hog group, its p99 wakeup latency is at least `LATENCY_OVER_BURST` times its median run
   burst (it waits longer for a CPU than it then uses it), and its wakeup latencies add up
   to at least `TIME_GAIN` of the traced time; of several such groups, the one woken most
   often is named.
   The last condition is what makes the latency a bottleneck rather than a symptom. Serving
   every one of the group's wakeups at once can give the run back at most the sum of its
   latencies (Amdahl: only the waits themselves go away, and only if all of them were on the
   run's critical path), so when that sum is under the gain a time SLO asks for
   (`TIME_GAIN`, the "5% sooner" below), cutting the latency cannot be what the workload
   needs: the helper a batch job drags along (`wc` counting a pipeline's output, the `sh`
   running the script, gcc's driver waiting for cc1) waits long for its few ms of CPU,
   behind the very workers whose time is the workload's, and that wait is under 5% of the
   run. Threads that do the workload's work while they wait (hackbench's senders beside
   memory hogs, whose waits add up to several times the traced time) pass it; a pipe's
   round trips beside hogs, whose waits are a few % of the run, do not, and are then named by
   rule 2 for what limits them: the hand-off.
2. ping-pong: at least `PINGPONG_SHARE` of the wakeups whose waker is known happen inside
   mutual pairs (a woke b and b woke a, each at least `MIN_PAIR_WAKEUPS` times).
3. cpu-saturated: the CPUs were at least `SATURATED_BUSY` busy and the workload's threads
   waited runnable at least `SATURATED_WAIT` of the time they ran.
4. migrations: at least `MIGRATION_SHARE` of the workload's switches follow a migration.
5. none.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schedlang.agent.profile import (
    Bottleneck,
    Counts,
    CpuProfile,
    Dist,
    Slo,
    SloMetric,
    ThreadProfile,
    WorkloadProfile,
)

if TYPE_CHECKING:
    from schedlang import SchedTrace

MIN_WAKEUPS = 20
LATENCY_OVER_BURST = 4.0
TIME_GAIN = 0.05  # what a time SLO asks (5% sooner), and the least a latency must be able to give
HOG_SHARE = 0.10
PINGPONG_SHARE = 0.5
MIN_PAIR_WAKEUPS = 10
EXCLUSIVE_PAIR = 0.8  # a pair is modelled as a hand-off when each wakes the other this often
SATURATED_BUSY = 0.9
SATURATED_WAIT = 0.25
MIGRATION_SHARE = 0.25
MODEL_MIN_SHARE = 0.01  # groups with less of the CPU time and of the wakeups are left out
MODEL_MAX_BURSTS = 5000  # the model replays at most this many bursts (simulation cost)

Progress = Callable[[str], None]


def observe(
    workload: str,
    *,
    sim: bool = False,
    cpus: int = 2,
    seed: int = 0,
    progress: Progress = lambda line: None,
    keep_timehist: str | None = None,
) -> WorkloadProfile:
    """Trace `workload` under the default scheduler and profile it. In the VM (default) the
    name is one of `schedlang run`'s workloads; with `sim=True` it is an rt-app model (a
    shipped name or a .json path) run on the simulated machine. Raises what
    `schedlang.trace` raises (an unknown workload, a sandbox or trace failure)."""
    import schedlang

    trace = schedlang.trace(
        workload, sim=sim, cpus=cpus, seed=seed, progress=progress, keep_timehist=keep_timehist
    )
    progress(f"profiling {len(trace.stretches)} CPU stretches, {len(trace.wakeups)} wakeups ...")
    return profile(trace)


# --- per thread ----------------------------------------------------------------------------


@dataclass
class _Acc:
    """What one thread's stretches add up to (the profile's inputs, before percentiles)."""

    comm: str = ""
    tgid: int = 0
    runs: list[float] | None = None
    sleeps: list[float] | None = None
    latencies: list[float] | None = None
    waits: list[float] | None = None
    demands: list[float] | None = None  # CPU time between blockings (preemptions joined)
    pending: float = 0.0
    switches: int = 0
    preemptions: int = 0
    first_us: float = math.inf

    def add(self, s: Any) -> None:
        if self.runs is None:
            self.runs, self.sleeps, self.latencies, self.waits, self.demands = [], [], [], [], []
        assert self.sleeps is not None and self.latencies is not None
        assert self.waits is not None and self.demands is not None
        self.comm, self.tgid = s.comm, s.tgid
        self.first_us = min(self.first_us, s.start_us)
        self.runs.append(s.run_us)
        if s.woken and s.sleep_us is not None:
            self.sleeps.append(s.sleep_us)
        if s.woken and s.wait_us is not None:
            self.latencies.append(s.wait_us)
        if s.wait_us is not None:
            self.waits.append(s.wait_us)
        self.switches += 1
        self.pending += s.run_us
        if s.preempted:
            self.preemptions += 1
        else:
            self.demands.append(self.pending)
            self.pending = 0.0

    def finish(self) -> None:
        if self.pending and self.demands is not None:
            self.demands.append(self.pending)
            self.pending = 0.0


def _threads(trace: SchedTrace) -> dict[int, _Acc]:
    acc: dict[int, _Acc] = defaultdict(_Acc)
    for s in sorted(trace.stretches, key=lambda s: s.start_us):
        if trace.belongs(s.tid):
            acc[s.tid].add(s)
    for a in acc.values():
        a.finish()
    return dict(acc)


def _window(trace: SchedTrace) -> tuple[float, float]:
    mine = [s for s in trace.stretches if trace.belongs(s.tid)]
    if not mine:
        raise ValueError(f"the trace of {trace.workload!r} has no thread of the workload")
    return min(s.start_us for s in mine), max(s.end_us for s in mine)


def _busy(trace: SchedTrace, start: float, end: float) -> tuple[CpuProfile, ...]:
    """Each CPU's share of the window spent running any thread but the idle task."""
    span = max(end - start, 1e-9)
    busy = [0.0] * trace.cpus
    for s in trace.stretches:
        if s.tid != 0 and s.cpu < trace.cpus:
            busy[s.cpu] += max(0.0, min(s.end_us, end) - max(s.start_us, start))
    return tuple(CpuProfile(cpu, round(min(1.0, b / span), 4)) for cpu, b in enumerate(busy))


# --- wakeup pairs --------------------------------------------------------------------------


def _pairs(trace: SchedTrace) -> tuple[Counter[tuple[int, int]], int]:
    """Wakeups between workload threads by (waker, wakee), and how many wakeups of workload
    threads had a known waker."""
    edges: Counter[tuple[int, int]] = Counter()
    known = 0
    for w in trace.wakeups:
        if trace.belongs(w.tid) and w.waker != 0:
            known += 1
            if trace.belongs(w.waker) and w.waker != w.tid:
                edges[(w.waker, w.tid)] += 1
    return edges, known


def _mutual(edges: Counter[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted(
        (a, b)
        for (a, b), n in edges.items()
        if a < b and n >= MIN_PAIR_WAKEUPS and edges[(b, a)] >= MIN_PAIR_WAKEUPS
    )


def _exclusive(
    edges: Counter[tuple[int, int]], pairs: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Mutual pairs where each is woken by the other at least EXCLUSIVE_PAIR of the time:
    a hand-off (a pipe's two ends), which the model replays as rt-app `sync`."""
    woken: Counter[int] = Counter()
    for (_, b), n in edges.items():
        woken[b] += n
    used: set[int] = set()
    found = []
    for a, b in sorted(pairs, key=lambda p: -(edges[p] + edges[(p[1], p[0])])):
        if a in used or b in used:
            continue
        if (
            edges[(b, a)] >= EXCLUSIVE_PAIR * woken[a]
            and edges[(a, b)] >= EXCLUSIVE_PAIR * woken[b]
        ):
            found.append((a, b))
            used.update((a, b))
    return found


# --- the profile ---------------------------------------------------------------------------


def profile(trace: SchedTrace) -> WorkloadProfile:
    """The WorkloadProfile of a trace (module docstring: the rules)."""
    start, end = _window(trace)
    duration_us = max(end - start, 1e-9)
    acc = _threads(trace)
    wakeups = Counter(w.tid for w in trace.wakeups if trace.belongs(w.tid))
    migrations = Counter(m.tid for m in trace.migrations if trace.belongs(m.tid))
    threads = tuple(
        ThreadProfile(
            comm=a.comm,
            tid=tid,
            tgid=a.tgid,
            run=Dist.of(a.runs or []),
            sleep=Dist.of(a.sleeps or []),
            wakeup_latency=Dist.of(a.latencies or []),
            rq_wait=Dist.of(a.waits or []),
            switches=a.switches,
            wakeups=wakeups[tid],
            migrations=migrations[tid],
            preemptions=a.preemptions,
        )
        for tid, a in sorted(acc.items())
    )
    cpu_busy = _busy(trace, start, end)
    counts = Counts(
        threads=len(threads),
        processes=len({t.tgid for t in threads}),
        switches=sum(t.switches for t in threads),
        wakeups=sum(wakeups.values()),
        migrations=sum(migrations.values()),
    )
    edges, known = _pairs(trace)
    view = _View(trace, threads, acc, cpu_busy, duration_us, edges, known)
    bottleneck, why = view.bottleneck()
    rtapp, model_notes = view.model(start)
    return WorkloadProfile(
        workload=trace.workload,
        source="sim" if trace.source == "sim" else "vm",
        tool=trace.tool,
        cpus=trace.cpus,
        duration_s=round(duration_us / 1e6, 6),
        threads=threads,
        cpu_busy=cpu_busy,
        counts=counts,
        bottleneck=bottleneck,
        bottleneck_why=why,
        slos=view.slos(bottleneck),
        rtapp=rtapp,
        notes=(*trace.notes, *model_notes),
        metrics=dict(trace.metrics),
        wakeup_latency=Dist.of([v for a in acc.values() for v in a.latencies or []]),
        run=Dist.of([v for a in acc.values() for v in a.runs or []]),
    )


@dataclass(frozen=True)
class _Group:
    comm: str
    threads: tuple[ThreadProfile, ...]
    run_us: float  # CPU time of the group
    sleeps: int  # blocking switch-outs
    preemptions: int
    latency: Dist
    burst: Dist

    @property
    def waited_us(self) -> float:
        """The group's wakeup latencies added up: the most serving them at once could save."""
        return sum(t.wakeup_latency.total_us for t in self.threads)

    @property
    def sleeping(self) -> bool:
        return self.sleeps > self.preemptions

    def hogs(self, duration_us: float) -> bool:
        most = max(t.run.total_us for t in self.threads)
        return self.preemptions > self.sleeps and most >= HOG_SHARE * duration_us

    @property
    def wakeups(self) -> int:
        return sum(t.wakeups for t in self.threads)


class _View:
    """The profile's inputs held together while the rules read them."""

    def __init__(
        self,
        trace: SchedTrace,
        threads: tuple[ThreadProfile, ...],
        acc: dict[int, _Acc],
        cpu_busy: tuple[CpuProfile, ...],
        duration_us: float,
        edges: Counter[tuple[int, int]],
        known: int,
    ) -> None:
        self.trace, self.threads, self.acc = trace, threads, acc
        self.duration_us, self.edges, self.known = duration_us, edges, known
        self.busy = sum(c.busy for c in cpu_busy) / len(cpu_busy) if cpu_busy else 0.0
        self.run_us = sum(t.run.total_us for t in threads)
        self.wakeups = sum(t.wakeups for t in threads)
        self.wait_us = sum(t.rq_wait.total_us for t in threads)
        self.groups = self._groups(threads)

    def _groups(self, threads: Iterable[ThreadProfile]) -> list[_Group]:
        by_comm: dict[str, list[ThreadProfile]] = defaultdict(list)
        for t in threads:
            by_comm[t.comm].append(t)
        groups = []
        for comm, members in by_comm.items():
            runs = [r for t in members for r in self.acc[t.tid].runs or []]
            lats = [v for t in members for v in self.acc[t.tid].latencies or []]
            switches = sum(t.switches for t in members)
            preempt = sum(t.preemptions for t in members)
            groups.append(
                _Group(comm, tuple(members), sum(runs), switches - preempt, preempt,
                       Dist.of(lats), Dist.of(runs))
            )  # fmt: skip
        return sorted(groups, key=lambda g: -g.run_us)

    def workload_p99(self) -> float | None:
        lats = [v for a in self.acc.values() for v in a.latencies or []]
        return Dist.of(lats).p99_us

    def latency_victim(self) -> _Group | None:
        """Rule 1's group: sleeping, woken at least MIN_WAKEUPS times, beside a hog group,
        waiting p99 at least LATENCY_OVER_BURST times its median burst, its latencies adding
        up to at least TIME_GAIN of the traced time (module docstring: why); of several, the
        one woken most often (the most latency-bound activity, not a shell that waits once)."""
        if not any(g.hogs(self.duration_us) for g in self.groups):
            return None
        found = [
            g
            for g in self.groups
            if g.sleeping
            and not g.hogs(self.duration_us)
            and g.wakeups >= MIN_WAKEUPS
            and g.latency.p99_us is not None
            and g.burst.p50_us
            and g.latency.p99_us >= LATENCY_OVER_BURST * g.burst.p50_us
            and g.waited_us >= TIME_GAIN * self.duration_us
        ]
        return max(found, key=lambda g: (g.wakeups, g.comm), default=None)

    def bottleneck(self) -> tuple[Bottleneck, str]:
        victim = self.latency_victim()
        if victim is not None:
            names = ", ".join(h.comm for h in self.groups if h.hogs(self.duration_us))
            return Bottleneck.WAKEUP_LATENCY, (
                f"wakeup latency of short-sleeping threads: {victim.comm} "
                f"({len(victim.threads)} threads, {victim.wakeups} wakeups) waits p99 "
                f"{victim.latency.p99_us:.0f} us for a CPU to run bursts of p50 "
                f"{victim.burst.p50_us:.0f} us, behind CPU-bound {names}; its waits add up to "
                f"{victim.waited_us / 1e3:.0f} ms, {100 * victim.waited_us / self.duration_us:.0f}% "
                "of the traced time"
            )
        pairs = _mutual(self.edges)
        inside = sum(self.edges[(a, b)] + self.edges[(b, a)] for a, b in pairs)
        if self.known and inside >= PINGPONG_SHARE * self.known:
            comms = Counter(
                " <-> ".join(sorted((self.acc[a].comm, self.acc[b].comm))) for a, b in pairs
            )
            shown = ", ".join(f"{name} x{n}" for name, n in comms.most_common(3))
            return Bottleneck.PING_PONG, (
                f"message passing ping-pong: {100 * inside / self.known:.0f}% of the "
                f"{self.known} wakeups go back and forth within {len(pairs)} "
                f"pair{'' if len(pairs) == 1 else 's'} of threads ({shown})"
            )
        if self.busy >= SATURATED_BUSY and self.wait_us >= SATURATED_WAIT * self.run_us:
            return Bottleneck.CPU_SATURATED, (
                f"CPU saturated: the CPUs were {100 * self.busy:.0f}% busy and the threads "
                f"waited {self.wait_us / 1e3:.0f} ms runnable for {self.run_us / 1e3:.0f} ms "
                "of running"
            )
        switches = sum(t.switches for t in self.threads)
        moved = sum(t.migrations for t in self.threads)
        if switches and moved >= MIGRATION_SHARE * switches:
            return Bottleneck.MIGRATIONS, (
                f"migrations: {100 * moved / switches:.0f}% of the {switches} switches "
                "follow a move to another CPU"
            )
        p99 = self.workload_p99()
        shown = f"p99 {p99:.0f} us" if p99 is not None else "no wakeups"
        return Bottleneck.NONE, (
            f"nothing stands out: the CPUs were {100 * self.busy:.0f}% busy, wakeups {shown}"
        )

    def slos(self, bottleneck: Bottleneck) -> tuple[Slo, ...]:
        """Candidate SLOs for the bottleneck (the table in docs/agent.md, "Observe").

        What to improve: for wakeup-latency, the waiting group's p99 halved; otherwise the
        workload's own time 5% lower (`wall_s` in the VM, `makespan_s` in the simulator),
        or, for a workload that runs for a fixed time, 5% more CPU time per second while
        the CPUs were not already saturated. What to keep (hard): the CPU-bound groups' CPU
        time within 95% when latency is the target, and otherwise the tail wakeup latency
        within twice what was observed."""
        victim = self.latency_victim()
        if bottleneck is Bottleneck.WAKEUP_LATENCY and victim is not None:
            slos = [
                Slo(SloMetric.WAKEUP_P99_US, "max", round((victim.latency.p99_us or 0) / 2, 1),
                    task=victim.comm, why="halve the tail wakeup latency of the sleeping threads")
            ]  # fmt: skip
            for h in self.groups:
                if h.hogs(self.duration_us):
                    slos.append(
                        Slo(SloMetric.THROUGHPUT, "min", round(0.95 * h.run_us / self.duration_us, 4),
                            task=h.comm, hard=True, why="keep 95% of the CPU-bound threads' CPU time")
                    )  # fmt: skip
            return tuple(slos)
        slos = []
        metrics = self.trace.metrics
        if "wall_s" in metrics:
            slos.append(Slo(SloMetric.WALL_S, "max", round((1 - TIME_GAIN) * metrics["wall_s"], 4),
                            why="finish 5% sooner"))  # fmt: skip
        elif "makespan_s" in metrics:
            slos.append(Slo(SloMetric.MAKESPAN_S, "max", round((1 - TIME_GAIN) * metrics["makespan_s"], 6),
                            why="finish 5% sooner"))  # fmt: skip
        elif self.busy < SATURATED_BUSY:
            throughput = round((1 + TIME_GAIN) * self.run_us / self.duration_us, 4)
            slos.append(Slo(SloMetric.THROUGHPUT, "min", throughput,
                            why="5% more useful CPU time per second"))  # fmt: skip
        p99 = self.workload_p99()
        if p99:
            slos.append(Slo(SloMetric.WAKEUP_P99_US, "max", round(2 * p99, 1), hard=True,
                            why="do not buy the gain with twice the tail latency"))  # fmt: skip
        return tuple(slos)

    # --- the rt-app model ----------------------------------------------------------------

    def model(self, start_us: float) -> tuple[dict[str, Any], tuple[str, ...]]:
        """An rt-app model of the workload in the simulator's subset (runtime/sim/rtapp.py).

        Exclusive wakeup pairs become hand-offs (`sync`, as pipe.json) of each side's median
        CPU demand (run time between blockings, preemptions joined): a hand-off is about its
        round trip, which a few long start-up stretches would distort in a mean. Every
        other comm group becomes `instance` threads that each repeat their mean CPU demand
        (the mean keeps the group's CPU time, which a median loses to a long tail) and
        their median sleep (robust to the long idle stretches before and after the work). Loop counts keep each group's
        observed number of bursts, scaled down together (delays too) so the model replays
        at most MODEL_MAX_BURSTS bursts."""
        pairs = _exclusive(self.edges, _mutual(self.edges))
        paired = {tid for pair in pairs for tid in pair}
        total_demands = sum(len(a.demands or []) for a in self.acc.values()) or 1
        scale = min(1.0, MODEL_MAX_BURSTS / total_demands)
        tasks: dict[str, Any] = {}
        left_out: list[str] = []

        def delay(tids: Iterable[int]) -> int:
            return int(statistics.median(self.acc[t].first_us - start_us for t in tids) * scale)

        for i, (a, b) in enumerate(pairs):
            hand_offs = min(len(self.acc[a].demands or []), len(self.acc[b].demands or []))
            for tid, side in ((a, "a"), (b, "b")):
                burst = _us(statistics.median(self.acc[tid].demands or [1.0]))
                phases = {
                    "pingpong": {
                        "loop": max(1, round(hand_offs * scale)),
                        "run": burst,
                        "sync": {"ref": f"pair{i}", "mutex": f"pair{i}m"},
                    },
                    "done": {"signal": f"pair{i}"},
                }
                tasks[_name(self.acc[tid].comm, f"{i}{side}", tasks)] = {
                    "loop": 1, "delay": delay([tid]), "phases": phases
                }  # fmt: skip
        for g in self.groups:
            members = [t.tid for t in g.threads if t.tid not in paired]
            if not members:
                continue
            cpu = sum(sum(self.acc[t].runs or []) for t in members)
            wakes = sum(t.wakeups for t in g.threads if t.tid not in paired)
            if cpu < MODEL_MIN_SHARE * self.run_us and wakes < MODEL_MIN_SHARE * self.wakeups:
                left_out.append(g.comm)
                continue
            demands = [d for t in members for d in self.acc[t].demands or []]
            sleeps = [v for t in members for v in self.acc[t].sleeps or []]
            bursts = len(demands) / len(members)  # the mean: keeps the group's CPU time
            task: dict[str, Any] = {"instance": len(members), "delay": delay(members)}
            if sleeps:
                task.update(
                    loop=max(1, round(bursts * scale)),
                    run=_us(statistics.fmean(demands)),
                    sleep=_us(statistics.median(sleeps)),
                )
            else:  # never blocked: one run of its whole CPU time
                task.update(loop=1, run=_us(cpu / len(members) * scale))
            tasks[_name(g.comm, "", tasks)] = task
        notes = []
        if left_out:
            notes.append(
                f"left out of the rt-app model (under {MODEL_MIN_SHARE:.0%} of the CPU time and "
                f"of the wakeups each): {', '.join(left_out)}"
            )
        if scale < 1.0:
            notes.append(
                f"the rt-app model replays {scale:.3f} of the observed bursts "
                f"(at most {MODEL_MAX_BURSTS}), delays scaled alike"
            )
        model = {
            "description": (
                f"rt-app model of '{self.trace.workload}' observed by schedlang analyze "
                f"({self.trace.source}, {len(self.threads)} threads, "
                f"{self.duration_us / 1e6:.3f} s traced)"
            ),
            "global": {"duration": max(1, math.ceil(2 * self.duration_us * scale / 1e6))},
            "tasks": tasks,
        }
        return model, tuple(notes)


def _us(value: float) -> int:
    """rt-app durations are whole µs, at least 1."""
    return max(1, round(value))


def _name(comm: str, suffix: str, taken: dict[str, Any]) -> str:
    """A distinct task name from a comm, in characters any JSON tool and shell take as is."""
    base = "".join(c if c.isalnum() or c in "-_" else "_" for c in comm) or "task"
    name = f"{base}-{suffix}" if suffix else base
    n = 1
    while name in taken:
        n += 1
        name = f"{base}-{suffix}{n}"
    return name

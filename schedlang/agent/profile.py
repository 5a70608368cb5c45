"""WorkloadProfile: what the Observe stage learned about a workload, as plain data and JSON.

The agent's later stages (retrieve, tune, keep, history) read a workload through this one
record, never through a trace: per-thread behaviour (run bursts, sleeps, wakeup latency,
run-queue waits, migrations), per-CPU utilisation, the bottleneck Observe names with the
sentence that justifies it, the SLOs it proposes, and an rt-app model the simulator can replay.

Times are microseconds (floats) as `perf sched timehist` and the simulator's metrics print
them; a distribution with no samples has `count == 0` and `None` percentiles, never a zero
that reads like a measurement. The JSON carries `version`; `from_json` refuses another
version rather than guess what changed (a history store written by an older schedlang must
be re-observed, not misread).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

# 2: Observe's rule 1 asks that a latency could matter to the run's time (agent/observe.py);
# a version-1 profile may name a helper process as the bottleneck, so it is observed again.
PROFILE_VERSION = 2


class ProfileError(ValueError):
    """A profile document that is not a WorkloadProfile of this version: what is wrong."""


class Bottleneck(StrEnum):
    """The one thing Observe sees limiting the workload under the default scheduler.

    The rules that pick one are in `schedlang.agent.observe` (docs/agent.md, "Observe")."""

    WAKEUP_LATENCY = "wakeup-latency"  # short-sleeping threads wait long to get a CPU
    CPU_SATURATED = "cpu-saturated"  # more runnable work than CPUs: batch fills the machine
    PING_PONG = "ping-pong"  # threads wake each other in turn (pipes, sockets, futexes)
    MIGRATIONS = "migrations"  # threads move between CPUs often, losing cache warmth
    NONE = "none"  # the CPUs are mostly idle and wakeups are served quickly


class SloMetric(StrEnum):
    """What an SLO bounds; the names are the simulator's metric names (RunMetrics/TaskMetrics)
    so an SLO can be checked on a simulated run without a translation table."""

    WAKEUP_P50_US = "wakeup_p50_us"
    WAKEUP_P99_US = "wakeup_p99_us"
    WAKEUP_MAX_US = "wakeup_max_us"
    THROUGHPUT = "throughput"  # CPUs' worth of useful work per second of elapsed time
    MAKESPAN_S = "makespan_s"  # when the last finite thread ended
    WALL_S = "wall_s"  # wall time of the VM workload's command


@dataclass(frozen=True)
class Dist:
    """A distribution of durations in µs: how many samples, median, p99 (nearest rank), max."""

    count: int = 0
    p50_us: float | None = None
    p99_us: float | None = None
    max_us: float | None = None
    total_us: float = 0.0

    @staticmethod
    def of(values_us: list[float]) -> Dist:
        """The distribution of the given samples (µs), in any order."""
        if not values_us:
            return Dist()
        ordered = sorted(values_us)

        def rank(p: float) -> float:
            return ordered[max(1, math.ceil(p * len(ordered))) - 1]

        return Dist(len(ordered), rank(0.50), rank(0.99), ordered[-1], float(sum(ordered)))


@dataclass(frozen=True)
class ThreadProfile:
    """One thread as the tracer saw it. `comm` is the name at the end of the trace; `tgid`
    groups threads into processes (0 when the tracer could not tell)."""

    comm: str
    tid: int
    tgid: int
    run: Dist  # on-CPU bursts: switch-in to switch-out
    sleep: Dist  # off-CPU and not runnable: switch-out to the next wakeup
    wakeup_latency: Dist  # woken to running
    rq_wait: Dist  # runnable but not running, every stretch (wakeups and preemptions)
    switches: int  # times it left a CPU
    wakeups: int
    migrations: int
    preemptions: int  # left the CPU while still runnable


@dataclass(frozen=True)
class CpuProfile:
    """One CPU's share of the traced time spent running some thread (not idle)."""

    cpu: int
    busy: float  # 0.0 .. 1.0


@dataclass(frozen=True)
class Counts:
    threads: int
    processes: int
    switches: int
    wakeups: int
    migrations: int


@dataclass(frozen=True)
class Slo:
    """A candidate service-level objective: `metric` of `task` (a comm or rt-app task name;
    "" for the whole workload) must be `bound` ("max": at most, "min": at least) `value`.
    `hard` SLOs are constraints a winner must keep; soft ones are what to improve."""

    metric: SloMetric
    bound: Literal["max", "min"]
    value: float
    task: str = ""
    hard: bool = False
    why: str = ""


@dataclass(frozen=True)
class WorkloadProfile:
    """Everything Observe reports about one workload (module docstring)."""

    workload: str  # the VM workload's name or the rt-app file it was simulated from
    source: Literal["vm", "sim"]  # traced in the sandbox VM, or profiled in the simulator
    tool: str  # what produced the events, e.g. "perf sched record + timehist"
    cpus: int
    duration_s: float  # traced time
    threads: tuple[ThreadProfile, ...]
    cpu_busy: tuple[CpuProfile, ...]
    counts: Counts
    bottleneck: Bottleneck
    bottleneck_why: str  # one sentence with the figures that decided it
    slos: tuple[Slo, ...]
    rtapp: dict[str, Any]  # an rt-app model in the simulator's subset (runtime/sim/rtapp.py)
    notes: tuple[str, ...] = ()  # what the profile could not see, said plainly
    # The traced run's own figures: the workload tool's output and `wall_s` in the VM, the
    # simulator's run metrics (makespan_s, utilisation, ...) in the simulator.
    metrics: dict[str, float] = field(default_factory=dict)
    # Every thread's samples pooled: the workload's wakeup latency and on-CPU bursts.
    wakeup_latency: Dist = field(default_factory=Dist)
    run: Dist = field(default_factory=Dist)
    version: int = field(default=PROFILE_VERSION)

    def thread(self, comm: str) -> tuple[ThreadProfile, ...]:
        """Every thread named `comm`."""
        return tuple(t for t in self.threads if t.comm == comm)

    @property
    def utilisation(self) -> float:
        """Mean busy share over the CPUs."""
        return sum(c.busy for c in self.cpu_busy) / len(self.cpu_busy) if self.cpu_busy else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["bottleneck"] = self.bottleneck.value
        for slo in data["slos"]:
            slo["metric"] = SloMetric(slo["metric"]).value
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> WorkloadProfile:
        """The profile a `to_dict` wrote; ProfileError naming the first thing that is wrong."""
        if not isinstance(data, dict):
            raise ProfileError("a workload profile is a JSON object")
        version = data.get("version")
        if version != PROFILE_VERSION:
            raise ProfileError(
                f"profile version {version!r}; this schedlang reads version {PROFILE_VERSION} "
                "(observe the workload again: `schedlang analyze --workload W`)"
            )
        try:
            return cls(
                workload=str(data["workload"]),
                source=_choice(data["source"], ("vm", "sim"), "source"),
                tool=str(data["tool"]),
                cpus=int(data["cpus"]),
                duration_s=float(data["duration_s"]),
                threads=tuple(_thread(t) for t in data["threads"]),
                cpu_busy=tuple(
                    CpuProfile(int(c["cpu"]), float(c["busy"])) for c in data["cpu_busy"]
                ),
                counts=Counts(**{k: int(v) for k, v in data["counts"].items()}),
                bottleneck=Bottleneck(data["bottleneck"]),
                bottleneck_why=str(data["bottleneck_why"]),
                slos=tuple(_slo(s) for s in data["slos"]),
                rtapp=dict(data["rtapp"]),
                notes=tuple(str(n) for n in data.get("notes", ())),
                metrics={str(k): float(v) for k, v in data.get("metrics", {}).items()},
                wakeup_latency=_dist(data["wakeup_latency"]),
                run=_dist(data["run"]),
                version=PROFILE_VERSION,
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ProfileError):
                raise
            what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ProfileError(f"not a workload profile: {what}") from None

    @classmethod
    def from_json(cls, text: str) -> WorkloadProfile:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileError(f"not JSON: {exc}") from None
        return cls.from_dict(data)


def _choice(value: Any, allowed: tuple[str, ...], what: str) -> Any:
    if value not in allowed:
        raise ProfileError(f"{what} is {value!r}; one of {', '.join(allowed)}")
    return value


def _dist(data: dict[str, Any]) -> Dist:
    def opt(key: str) -> float | None:
        value = data.get(key)
        return None if value is None else float(value)

    return Dist(
        count=int(data["count"]),
        p50_us=opt("p50_us"),
        p99_us=opt("p99_us"),
        max_us=opt("max_us"),
        total_us=float(data.get("total_us", 0.0)),
    )


def _thread(data: dict[str, Any]) -> ThreadProfile:
    return ThreadProfile(
        comm=str(data["comm"]),
        tid=int(data["tid"]),
        tgid=int(data["tgid"]),
        run=_dist(data["run"]),
        sleep=_dist(data["sleep"]),
        wakeup_latency=_dist(data["wakeup_latency"]),
        rq_wait=_dist(data["rq_wait"]),
        switches=int(data["switches"]),
        wakeups=int(data["wakeups"]),
        migrations=int(data["migrations"]),
        preemptions=int(data["preemptions"]),
    )


def _slo(data: dict[str, Any]) -> Slo:
    return Slo(
        metric=SloMetric(data["metric"]),
        bound=_choice(data["bound"], ("max", "min"), "an SLO's bound"),
        value=float(data["value"]),
        task=str(data.get("task", "")),
        hard=bool(data.get("hard", False)),
        why=str(data.get("why", "")),
    )

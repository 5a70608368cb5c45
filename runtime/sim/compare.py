"""A policy against the default model on one workload: the simulator's report.

Shaped like the VM's same-boot report (`runtime/report.py`): one row per metric with the
baseline and policy as median [min-max] over the runs, the ratio of medians and a verdict
that says "better"/"worse" only when the two ranges do not overlap. The runs of a side
differ by seed (start times and run lengths jitter), so the spread says how much a figure
depends on luck; the same seeds are used on both sides.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from schedlang.runtime.report import (
    MetricRow,
    PolicyEvent,
    Spread,
    Verdict,
    cell,
    columns,
    ratio_cell,
    spread,
    verdict,
)
from schedlang.runtime.sim.baseline import DefaultPolicy
from schedlang.runtime.sim.chrome_trace import chrome_trace
from schedlang.runtime.sim.machine import Machine, MachineResult
from schedlang.runtime.sim.metrics import RunMetrics, summarize
from schedlang.runtime.sim.rtapp import Workload
from schedlang.runtime.workloads import MetricSpec
from schedlang.sim_abi import SimPolicy
from schedlang.stats import SAME_WITHIN


class _Runs(Protocol):
    def run(self) -> MachineResult: ...


# Machine or native.NativeMachine: (policy, workload, cpus, *, seconds, seed, trace) -> a run.
MachineType = Callable[..., _Runs]

# The figures compared, in table order: (RunMetrics field, spec).
_RUN_METRICS = (
    ("makespan_s", MetricSpec("makespan_s", "s", "lower", "when the last thread ended")),
    ("throughput", MetricSpec("throughput", "CPUs", "higher", "CPU time granted per second")),
    ("wakeup_p50_us", MetricSpec("wakeup_p50_us", "us", "lower", "median wakeup latency")),
    ("wakeup_p99_us", MetricSpec("wakeup_p99_us", "us", "lower", "99th pct wakeup latency")),
    ("wakeup_max_us", MetricSpec("wakeup_max_us", "us", "lower", "worst wakeup latency")),
    ("fairness", MetricSpec("fairness", "jain", "higher", "CPU time per weight, Jain")),
    (
        "process_fairness",
        MetricSpec("process_fairness", "jain", "higher", "CPU time per process and weight"),
    ),
    ("deadline_misses", MetricSpec("deadline_misses", "periods", "lower", "timer overruns")),
    ("migrations", MetricSpec("migrations", "", "lower", "runs on another CPU than before")),
    ("context_switches", MetricSpec("context_switches", "", "lower", "times a task got a CPU")),
)
_TASK_METRICS = (
    ("wakeup_p99_us", MetricSpec("wakeup_p99_us", "us", "lower", "99th pct wakeup latency")),
)


@dataclass(frozen=True)
class SimReport:
    policy: str
    workload: str
    source: str
    cpus: int
    seconds: float
    seeds: tuple[int, ...]
    params: dict[str, int | str]
    rows: tuple[MetricRow, ...]
    policy_runs: tuple[RunMetrics, ...]
    baseline_runs: tuple[RunMetrics, ...]
    events: tuple[PolicyEvent, ...]  # the policy's ejections (stall, runtime error)
    # The first seed's policy run as Chrome trace-event JSON, when asked for (not in to_dict).
    trace: dict[str, Any] | None = field(default=None, repr=False)
    # With the trace, the first seed's raw runs (policy, default) for plots (not in to_dict).
    first_runs: tuple[MachineResult, MachineResult] | None = field(default=None, repr=False)

    @property
    def ejected(self) -> bool:
        return bool(self.events)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, trace=None, first_runs=None))  # raw runs: no deep copy
        del data["trace"], data["first_runs"]
        return data

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def format_text(self) -> str:
        return format_text(self)


def _value(run: RunMetrics, name: str, task: str | None) -> float | None:
    if task is None:
        value = getattr(run, name)
    else:
        found = next(t for t in run.tasks if t.task == task)
        value = getattr(found, name)
    return None if value is None else float(value)


def _rows(workload: str, base: list[RunMetrics], pol: list[RunMetrics]) -> list[MetricRow]:
    wanted: list[tuple[str, MetricSpec, str | None]] = [(f, s, None) for f, s in _RUN_METRICS]
    if len(base[0].tasks) > 1:  # per-task latency, when there is more than one kind
        wanted += [(f, s, t.task) for t in base[0].tasks for f, s in _TASK_METRICS]
    rows = []
    for name, spec, task in wanted:
        sides = []
        for runs in (base, pol):
            values = [v for v in (_value(r, name, task) for r in runs) if v is not None]
            sides.append(spread(values))
        b, p = sides
        if b is None and p is None:
            continue
        ratio = p.median / b.median if b and p and b.median != 0 else None
        metric = spec.name if task is None else f"{spec.name}[{task}]"
        rows.append(
            MetricRow(
                workload=workload,
                metric=metric,
                unit=spec.unit,
                better=spec.better,
                baseline=b,
                policy=p,
                ratio=ratio,
                verdict=_verdict(spec, b, p, ratio),
                noisy=False,
            )
        )
    return rows


def _verdict(spec: MetricSpec, b: Spread | None, p: Spread | None, ratio: float | None) -> Verdict:
    """The VM report's rule (better/worse only when the ranges do not overlap), except that
    medians within SAME_WITHIN of each other are "same": deterministic runs can have ranges
    a hair apart that the VM's noise would always cover."""
    if b is not None and p is not None:
        if b.median == p.median or (ratio is not None and abs(ratio - 1) < SAME_WITHIN):
            return "same"
    return verdict(spec, b, p)


def compare(
    make_policy: Callable[[], SimPolicy],
    workload: Workload,
    *,
    cpus: int,
    seconds: float | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    params: dict[str, int | str] | None = None,
    trace: bool = False,
    machine: MachineType = Machine,
) -> SimReport:
    """Run `workload` under a fresh policy and a fresh default model for each seed; `trace`
    keeps the first seed's policy run as a Chrome trace. `machine` runs the policy's side
    (native.NativeMachine for a policy compiled against it); the default model always runs
    on machine.py."""
    policy_runs, baseline_runs, events = [], [], []
    chrome = None
    first_runs = None
    for seed in seeds:
        base_result, base_run = _run(DefaultPolicy(cpus), workload, cpus, seconds, seed)
        baseline_runs.append(base_run)
        keep = trace and chrome is None
        result, run = _run(make_policy(), workload, cpus, seconds, seed, keep, machine)
        if keep and result.trace is not None:
            comms = {th.t.pid: th.t.comm for th in result.threads}
            chrome = chrome_trace(result.trace, comms, cpus)
            first_runs = (result, base_result)
        policy_runs.append(run)
        if result.exit.ejected:
            events.append(
                PolicyEvent(
                    kind="ejected",
                    workload=workload.name,
                    index=seed,
                    exit_kind=result.exit.kind_name,
                    reason=result.exit.reason,
                    message=result.exit.message,
                    kernel_log="\n".join(result.exit.kernel_log_lines),
                )
            )
    name = policy_runs[0].policy if policy_runs else "?"
    return SimReport(
        policy=name,
        workload=workload.name,
        source=workload.source,
        cpus=cpus,
        seconds=policy_runs[0].elapsed_s if policy_runs else 0.0,
        seeds=seeds,
        params=dict(params or {}),
        rows=tuple(_rows(workload.name, baseline_runs, policy_runs)),
        policy_runs=tuple(policy_runs),
        baseline_runs=tuple(baseline_runs),
        events=tuple(events),
        trace=chrome,
        first_runs=first_runs,
    )


def _run(
    policy: SimPolicy,
    workload: Workload,
    cpus: int,
    seconds: float | None,
    seed: int,
    trace: bool = False,
    machine: MachineType = Machine,
) -> tuple[MachineResult, RunMetrics]:
    started = time.perf_counter()
    result = machine(policy, workload, cpus, seconds=seconds, seed=seed, trace=trace).run()
    return result, summarize(result, host_s=time.perf_counter() - started)


def format_text(report: SimReport) -> str:
    seeds = report.seeds
    lines = [
        f"policy {report.policy} vs default model, simulated: workload {report.workload} "
        f"({report.source}), {report.cpus} CPUs",
        f"seeds {seeds[0]}..{seeds[-1]} ({len(seeds)} run{'s' if len(seeds) != 1 else ''} a "
        "side); cells: median [min-max]",
    ]
    if report.params:
        lines.append("params: " + ", ".join(f"{k}={v}" for k, v in report.params.items()))
    lines.append("")
    header = ("metric", "unit", "better", "default", "policy", "ratio", "verdict")
    table = [header]
    for row in report.rows:
        table.append(
            (
                row.metric,
                row.unit,
                row.better,
                cell(row.baseline),
                cell(row.policy),
                ratio_cell(row.ratio),
                row.verdict,
            )
        )
    lines.extend(columns(table))
    lines.append("")
    if report.policy_runs and report.baseline_runs and len(report.baseline_runs[0].tasks) > 1:
        base, pol = report.baseline_runs[0], report.policy_runs[0]
        share = {t.task: t.cpu_share for t in pol.tasks}
        lines.append(
            f"CPU share per process (seed {base.seed}, default / policy): "
            + ", ".join(f"{t.task} {t.cpu_share:.3f} / {share[t.task]:.3f}" for t in base.tasks)
        )
    if report.policy_runs:
        first = report.policy_runs[0]
        stats = {k: v for k, v in first.policy_stats.items() if isinstance(v, int) and v}
        host = f" in {first.host_s:.2f}s on this host" if first.host_s is not None else ""
        lines.append(
            f"policy ops run (seed {first.seed}): {first.ops_calls}; "
            f"simulated {first.elapsed_s:.3f}s{host}"
        )
        if stats:
            lines.append("policy stats: " + ", ".join(f"{k}={v}" for k, v in stats.items()))
    for event in report.events:
        lines.append(
            f"POLICY EJECTED (seed {event.index}): {event.exit_kind}: {event.reason}"
            + (f" ({event.message})" if event.message else "")
        )
        lines.extend("  kernel: " + line for line in event.kernel_log.splitlines())
    return "\n".join(lines)

"""The result of a same-boot comparison: raw runs in, medians, ratios and spread out.

Kept free of any I/O or VM knowledge so the arithmetic can be tested on constructed data and
the same code summarises a guest run and a host run. The guest-side runner writes `RunRecord`s
and `PolicyEvent`s (runtime/records.py) as JSON; `summarize` turns them (plus boot facts) into
a `Report`.

Medians, not means: one run disturbed by the host (TCG vCPU threads are ordinary host
threads) should not move the headline. Spread is shown as min-max (and IQR in JSON) so a
reader can see whether two sides overlap; a ratio whose ranges overlap is labelled as such.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from schedlang.runtime.records import PolicyEvent, RunRecord
from schedlang.runtime.workloads import WALL, MetricSpec, get, metric_specs


@dataclass(frozen=True)
class Spread:
    median: float
    min: float
    max: float
    q1: float
    q3: float
    n: int
    values: tuple[float, ...]


def spread(values: list[float]) -> Spread | None:
    import statistics  # with fractions and decimal: kept out of the guest runners' start

    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return Spread(
        median=statistics.median(ordered),
        min=ordered[0],
        max=ordered[-1],
        q1=q1,
        q3=q3,
        n=len(ordered),
        values=tuple(values),
    )


Verdict = Literal["better", "worse", "overlap", "few runs", "n/a", "same"]


def verdict(spec: MetricSpec, baseline: Spread | None, policy: Spread | None) -> Verdict:
    """'better'/'worse' only when the policy's whole range is past the baseline's whole range,
    with at least two runs a side (one run each never overlaps, and proves nothing)."""
    if baseline is None or policy is None:
        return "n/a"
    if baseline.n < 2 or policy.n < 2:
        return "few runs"
    if policy.max < baseline.min:
        return "better" if spec.better == "lower" else "worse"
    if policy.min > baseline.max:
        return "worse" if spec.better == "lower" else "better"
    return "overlap"


@dataclass(frozen=True)
class MetricRow:
    workload: str
    metric: str
    unit: str
    better: str
    baseline: Spread | None
    policy: Spread | None
    ratio: float | None  # policy median / baseline median (schedlang.stats.ratio_of_medians)
    verdict: Verdict
    noisy: bool  # the workload's absolute numbers mean little under TCG


@dataclass(frozen=True)
class WakeupSummary:
    """The policy's own runnable->running histogram, summed over all policy runs."""

    bounds_ns: tuple[int, ...]
    counts: tuple[int, ...]
    total: int
    p50_ns: int | None  # upper bound of the bucket holding the median; None = past last bound
    p99_ns: int | None


@dataclass(frozen=True)
class PolicyStatsSummary:
    loads: int
    load_s: Spread | None
    attach_s: Spread | None
    ops_seen: tuple[str, ...]
    totals: dict[str, int]  # u64 counters summed over policy runs (nr_enqueued, ...)
    wakeup: WakeupSummary | None


@dataclass(frozen=True)
class Report:
    policy: str
    workloads: tuple[str, ...]
    repeat: int
    order: str
    params: dict[str, int]
    rows: tuple[MetricRow, ...]
    policy_stats: PolicyStatsSummary
    events: tuple[PolicyEvent, ...]
    boot: dict[str, Any]
    representative: bool
    caveat: str
    guest: dict[str, Any]
    notes: tuple[str, ...]  # what went wrong around the measurement (incomplete run, crash)
    runs: tuple[RunRecord, ...] = field(repr=False)

    @property
    def policy_measured(self) -> bool:
        return any(r.policy is not None for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def format_text(self) -> str:
        return format_text(self)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# --- summarising -------------------------------------------------------------------------------


def _rows(workloads: tuple[str, ...], runs: tuple[RunRecord, ...]) -> tuple[MetricRow, ...]:
    from schedlang.stats import ratio_of_medians  # host side: the guest only writes RunRecords

    rows = []
    for name in workloads:
        workload = get(name)
        for spec in metric_specs(workload):
            sides: dict[str, Spread | None] = {}
            for side in ("baseline", "policy"):
                values = [
                    r.wall_s if spec is WALL else r.metrics[spec.name]
                    for r in runs
                    if r.workload == name
                    and r.side == side
                    and r.valid
                    and (spec is WALL or spec.name in r.metrics)
                ]
                sides[side] = spread(values)
            base, pol = sides["baseline"], sides["policy"]
            ratio = ratio_of_medians(pol.values, base.values) if base and pol else None
            rows.append(
                MetricRow(
                    workload=name,
                    metric=spec.name,
                    unit=spec.unit,
                    better=spec.better,
                    baseline=base,
                    policy=pol,
                    ratio=ratio,
                    verdict=verdict(spec, base, pol),
                    noisy=workload.noisy_under_tcg,
                )
            )
    return tuple(rows)


OPEN_BOUND = 1 << 63  # a bucket bound this large means "and everything above" (U64_MAX)


def _hist_percentile(bounds: tuple[int, ...], counts: tuple[int, ...], p: float) -> int | None:
    """Upper bound of the bucket holding the p-quantile; None if that bucket is open-ended."""
    total = sum(counts)
    if total == 0:
        return None
    seen = 0
    for i, n in enumerate(counts):
        seen += n
        if seen >= p * total:
            return bounds[i] if i < len(bounds) and bounds[i] < OPEN_BOUND else None
    return None


def _policy_stats(runs: tuple[RunRecord, ...], bounds: tuple[int, ...]) -> PolicyStatsSummary:
    # A run with a policy loaded: the first of a block has the load's times, the others of
    # the block (the policy stayed loaded, guest_job) only their stats, counted per run.
    policy_runs = [
        r for r in runs if r.side == "policy" and (r.load_s is not None or r.stats is not None)
    ]
    totals: dict[str, int] = {}
    hist: list[int] = []
    for run in policy_runs:
        for key, value in (run.stats or {}).items():
            if key == "wakeup_hist" and isinstance(value, list):
                hist = [a + b for a, b in zip(hist or [0] * len(value), value, strict=True)]
            elif key.startswith("nr_") and isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    wakeup = None
    if hist:
        counts = tuple(hist)
        wakeup = WakeupSummary(
            bounds_ns=bounds,
            counts=counts,
            total=sum(counts),
            p50_ns=_hist_percentile(bounds, counts, 0.50),
            p99_ns=_hist_percentile(bounds, counts, 0.99),
        )
    return PolicyStatsSummary(
        loads=sum(1 for r in policy_runs if r.load_s is not None),
        load_s=spread([r.load_s for r in policy_runs if r.load_s is not None]),
        attach_s=spread([r.attach_s for r in policy_runs if r.attach_s is not None]),
        ops_seen=tuple(sorted({r.ops for r in policy_runs if r.ops})),
        totals=totals,
        wakeup=wakeup,
    )


def _oversubscribed(boot: dict[str, Any]) -> tuple[str, ...]:
    vcpus, cores = boot.get("vcpus"), boot.get("host_cores")
    if isinstance(vcpus, int) and isinstance(cores, int) and vcpus > cores:
        return (
            f"{vcpus} vCPUs on {cores} host cores: the host deschedules vCPUs, which distorts "
            "wakeup-heavy results (EEVDF suffers most); use --vcpus <= host cores",
        )
    return ()


TCG_CAVEAT = (
    "timings not representative (TCG software emulation): compare baseline and policy "
    "throughput within this boot only; absolute times and microsecond latencies mean little"
)


def summarize(
    *,
    policy: str,
    job_result: dict[str, Any],
    boot: dict[str, Any],
) -> Report:
    """Turn the runner's JSON (see guest_job) and the boot facts into a Report."""
    runs = tuple(RunRecord.from_dict(r) for r in job_result.get("runs", []))
    events = tuple(PolicyEvent.from_dict(e) for e in job_result.get("events", []))
    workloads = tuple(job_result.get("workloads", []))
    accelerator = str(boot.get("accelerator", "unknown"))
    representative = bool(boot.get("representative_timing", accelerator not in ("tcg",)))
    caveat = "" if representative else TCG_CAVEAT
    return Report(
        policy=policy,
        workloads=workloads,
        repeat=int(job_result.get("repeat", 0)),
        order=str(job_result.get("order", "")),
        params=dict(job_result.get("params", {})),
        rows=_rows(workloads, runs),
        policy_stats=_policy_stats(runs, tuple(job_result.get("wakeup_hist_bounds_ns", []))),
        events=events,
        boot=boot,
        representative=representative,
        caveat=caveat,
        guest=dict(job_result.get("guest", {})),
        notes=tuple(job_result.get("notes", [])) + _oversubscribed(boot),
        runs=runs,
    )


# --- the text table ---------------------------------------------------------------------------


def _num(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def cell(s: Spread | None) -> str:
    if s is None:
        return "-"
    return f"{_num(s.median)} [{_num(s.min)}-{_num(s.max)}]"


def ratio_cell(ratio: float | None) -> str:
    return f"{ratio:.3f}" if ratio is not None else "-"


def columns(table: Sequence[Sequence[str]]) -> list[str]:
    """`table`'s rows as lines of left-aligned columns two spaces apart: the VM report, the
    simulator's and `schedlang history` lay their tables out alike."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    ]


def _duration(ns: int) -> str:
    return f"{ns / 1e6:g}ms" if ns >= 1_000_000 else f"{ns / 1000:g}us"


def _ns(value: int | None, bounds: tuple[int, ...]) -> str:
    if value is not None:
        return f"<={_duration(value)}"
    finite = [b for b in bounds if b < OPEN_BOUND]
    return f">{_duration(finite[-1])}" if finite else "?"


def _has_own_metrics(report: Report, workload: str) -> bool:
    return any(r.workload == workload and r.metric != WALL.name for r in report.rows)


def _event_lines(event: PolicyEvent) -> list[str]:
    where = f"{event.workload} run {event.index + 1}"
    if event.kind == "ejected":
        detail = f" ({event.message})" if event.message else ""
        lines = [f"POLICY EJECTED during {where}: {event.exit_kind}: {event.reason}{detail}"]
        log = [line for line in event.kernel_log.splitlines() if "sched_ext" in line]
        lines.extend("  kernel: " + line for line in log[:4])
        return lines
    if event.kind == "error":
        return [f"RUNNER ERROR during {where}: {event.reason}: {event.message}"]
    lines = [f"POLICY LOAD FAILED before {where}: {event.message}"]
    pos = event.position
    if pos:
        dsl = f"DSL line {pos['dsl_line']}:{pos['dsl_col']}, " if pos.get("dsl_line") else ""
        col = f":{pos['c_col']}" if pos.get("c_col") else ""
        lines.append(
            f"  verifier: {pos.get('message', '')} at {dsl}{pos['c_file']}:{pos['c_line']}{col}"
            + (f": {pos['c_text']}" if pos.get("c_text") else "")
        )
    elif event.verifier_log:
        tail = [t for t in event.verifier_log.strip().splitlines() if t.strip()][-6:]
        lines.extend("  | " + t for t in tail)
    return lines


def _boot_retries(boot: dict[str, Any]) -> str:
    """ ", after 1 reboot (REASON)" when boots died before the job (sandbox.BootRetry)."""
    retries = boot.get("retries") or []
    if not retries:
        return ""
    word = "reboot" if len(retries) == 1 else "reboots"
    reasons = "; ".join(str(r.get("reason", "?")) for r in retries)
    return f", after {len(retries)} {word} ({reasons}), TCG threads {boot.get('tcg_threading')}"


def format_text(report: Report) -> str:
    lines = [f"policy {report.policy} vs kernel default, same boot"]
    boot = report.boot
    if boot:
        lines.append(
            "boot: {acc}, {v} vCPUs on {h} host cores, qemu {q}, kernel {k}, booted in {b}".format(
                acc=boot.get("accelerator", "?"),
                v=boot.get("vcpus", "?"),
                h=boot.get("host_cores", "?"),
                q=boot.get("qemu_version", "?"),
                k=boot.get("kernel_release", "?"),
                b=f"{boot['boot_s']:.2f}s" if "boot_s" in boot else "?",
            )
            + _boot_retries(boot)
        )
    lines.append(
        f"repeats: {report.repeat} per side, order {report.order}; cells: median [min-max]"
    )
    if report.params:
        lines.append("params: " + ", ".join(f"{k}={v}" for k, v in report.params.items()))
    lines.append("")
    header = ("workload", "metric", "unit", "better", "baseline", "policy", "ratio", "verdict", "n")
    table = [header]
    for row in report.rows:
        if row.metric == WALL.name and _has_own_metrics(report, row.workload):
            continue  # in the JSON; the tool's own numbers are the ones to read
        n = f"{row.baseline.n if row.baseline else 0}/{row.policy.n if row.policy else 0}"
        table.append(
            (
                row.workload + (" *" if row.noisy else ""),
                row.metric,
                row.unit,
                row.better,
                cell(row.baseline),
                cell(row.policy),
                ratio_cell(row.ratio),
                row.verdict,
                n,
            )
        )
    lines.extend(columns(table))
    if any(row.noisy for row in report.rows):
        lines.append("* latency in microseconds under TCG: noise, recorded for completeness")
    lines.append("")
    stats = report.policy_stats
    if stats.loads:
        load = f"{stats.load_s.median:.3f}s" if stats.load_s else "?"
        attach = f"{stats.attach_s.median:.3f}s" if stats.attach_s else "?"
        lines.append(
            f"policy: loaded {stats.loads}x (median load {load}, attach {attach}), "
            f"ops={','.join(stats.ops_seen) or '?'}"
        )
        if stats.totals:
            lines.append(
                "policy stats (sum over runs): "
                + ", ".join(f"{k}={v}" for k, v in stats.totals.items())
            )
        wake = stats.wakeup
        if wake and wake.total and wake.bounds_ns:
            lines.append(
                f"policy wakeup latency, runnable->running ({wake.total} samples): "
                f"p50 {_ns(wake.p50_ns, wake.bounds_ns)}, p99 {_ns(wake.p99_ns, wake.bounds_ns)}"
            )
    for event in report.events:
        lines.extend(_event_lines(event))
    lines.extend(f"NOTE: {note}" for note in report.notes)
    if report.caveat:
        lines.append(f"NOTE: {report.caveat}")
    return "\n".join(lines)

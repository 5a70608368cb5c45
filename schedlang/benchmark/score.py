"""The benchmark's score, exactly the proposal's formula, on `schedlang.stats`.

For each workload w and scored metric m, `I_{w,m}` is the ratio of medians of the agent's
runs to the default's, oriented so that above 1 is better (`stats.oriented`: baseline/agent
for lower-is-better, agent/baseline for higher-is-better), with its bootstrap interval. Then

    Score = sum_w [ (sum_m alpha_m * I_{w,m}) * 1[hard SLOs of w met] ] - lambda * BudgetOveruse

summed over the workloads the agent was tuned on; held-out workloads are summed the same way
into a separate score. A missing I (the policy was not loaded, was ejected, or a metric was
not read) counts as 0 and fails the hard SLOs: a broken policy scores nothing, it is not
skipped. An interval whose high/low ratio exceeds WIDE_RATIO marks the metric `wide`; the
runner re-runs such a workload once and keeps the mark if it stays wide, so a score that
rests on a noisy figure says so. BudgetOveruse is the sum over the budget's dimensions
(wall seconds, VM runs, tokens) of how far the agent went past each, as a fraction of it.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from schedlang.benchmark.suite import Slo, WorkloadSpec
from schedlang.stats import Better, oriented, ratio_interval, ratio_of_medians

WIDE_RATIO = 1.5  # an interval whose high is more than 1.5x its low cannot rank agents
LAMBDA = 1.0


@dataclass(frozen=True)
class MetricScore:
    name: str
    unit: str
    direction: str
    alpha: float
    baseline: tuple[float, ...]
    agent: tuple[float, ...]
    I: float | None  # noqa: E741 - the proposal's name
    interval: tuple[float, float] | None  # of I, oriented
    wide: bool
    # The default proposed (no policy): I is 1 by construction, and what the two sides'
    # ratio came out as, with its interval, is kept here: the comparison's noise floor.
    noise: tuple[float | None, float | None, float | None] | None = None


@dataclass(frozen=True)
class SloResult:
    metric: str
    bound: float
    relative: bool
    value: float | None  # the ratio agent/default (relative) or the agent's median
    met: bool
    hard: bool


@dataclass(frozen=True)
class WorkloadScore:
    spec: WorkloadSpec
    policy: str | None
    params: dict[str, Any]
    metrics: tuple[MetricScore, ...]
    slos: tuple[SloResult, ...]

    @property
    def slos_met(self) -> bool:
        return all(s.met for s in self.slos if s.hard) and all(
            m.I is not None for m in self.metrics
        )

    @property
    def weighted(self) -> float:
        """(sum_m alpha_m * I_m) * 1[hard SLOs met]; a missing I counts 0."""
        if not self.slos_met:
            return 0.0
        return sum(m.alpha * (m.I or 0.0) for m in self.metrics)

    @property
    def wide(self) -> bool:
        return any(m.wide for m in self.metrics)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "category": self.spec.category,
            "held_out": self.spec.held_out,
            "policy": self.policy,
            "params": dict(self.params),
            "slos": [asdict(s) for s in self.slos],
            "slos_met": self.slos_met,
            "metrics": [
                {
                    **asdict(m),
                    "baseline": list(m.baseline),
                    "agent": list(m.agent),
                    "interval": list(m.interval) if m.interval else None,
                }
                for m in self.metrics
            ],  # fmt: skip
            "weighted": self.weighted,
        }


def improvement(
    baseline: Sequence[float], agent: Sequence[float], direction: str, seed: int = 0
) -> tuple[float | None, tuple[float, float] | None]:
    """I and its interval from the two samples (module docstring)."""
    better: Better = "higher" if direction == "higher" else "lower"
    i = oriented(ratio_of_medians(agent, baseline), better)
    low, high = ratio_interval(agent, baseline, seed=seed)
    if low is None or high is None:
        return i, None
    a, b = oriented(low, better), oriented(high, better)
    if a is None or b is None:
        return i, None
    return i, (min(a, b), max(a, b))


def is_wide(interval: tuple[float, float] | None) -> bool:
    """Too wide to rank with, or missing (fewer than 2 runs a side)."""
    return interval is None or interval[0] <= 0 or interval[1] / interval[0] > WIDE_RATIO


def slo_result(
    slo: Slo, direction: str, baseline: Sequence[float], agent: Sequence[float]
) -> SloResult:
    if not agent:
        value = None
    elif slo.relative:
        value = ratio_of_medians(agent, baseline)
    else:
        value = statistics.median(agent)
    met = value is not None and (value <= slo.bound if direction == "lower" else value >= slo.bound)
    return SloResult(slo.metric, slo.bound, slo.relative, value, met, slo.hard)


def score_workload(
    spec: WorkloadSpec,
    policy: str | None,
    params: dict[str, Any],
    runs: Mapping[str, tuple[Sequence[float], Sequence[float]]],
) -> WorkloadScore:
    """`runs` maps a metric name to (baseline runs, agent runs). `policy` None: the agent
    proposed the default scheduler, both sides ran it, so I is 1 by construction (when the
    runs exist) and the measured ratio is reported as `noise`, not scored."""
    metrics = []
    for m in spec.metrics:
        base, agent = runs.get(m.name, ((), ()))
        i, interval = improvement(base, agent, m.direction)
        if policy is None and agent:
            noise = (i, *(interval or (None, None)))
            metrics.append(
                MetricScore(m.name, m.unit, m.direction, m.alpha, tuple(base), tuple(agent), 1.0,
                            (1.0, 1.0), False, noise)
            )  # fmt: skip
            continue
        metrics.append(
            MetricScore(m.name, m.unit, m.direction, m.alpha, tuple(base), tuple(agent), i,
                        interval, is_wide(interval))
        )  # fmt: skip
    slos = []
    for slo in spec.slos:
        base, agent = runs.get(slo.metric, ((), ()))
        result = slo_result(slo, spec.direction(slo.metric), base, agent)
        if policy is None and agent and slo.relative:  # the default against itself: 1
            result = slo_result(slo, spec.direction(slo.metric), [1.0], [1.0])
        slos.append(result)
    return WorkloadScore(spec, policy, params, tuple(metrics), tuple(slos))


@dataclass(frozen=True)
class BudgetUse:
    wall_s: float
    vm_runs: int
    tokens: int
    limit_wall_s: float
    limit_vm_runs: int
    limit_tokens: int
    lam: float = LAMBDA

    @property
    def overuse(self) -> float:
        """Sum over the dimensions with a limit of max(0, used/limit - 1); a dimension with
        limit 0 counts any use as 1 per unit, so it cannot be spent for free."""
        total = 0.0
        for used, limit in ((self.wall_s, self.limit_wall_s), (self.vm_runs, self.limit_vm_runs),
                            (self.tokens, self.limit_tokens)):  # fmt: skip
            if limit > 0:
                total += max(0.0, used / limit - 1.0)
            else:
                total += float(used)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "wall_s": self.wall_s, "vm_runs": self.vm_runs, "tokens": self.tokens,
            "limits": {"wall_s": self.limit_wall_s, "vm_runs": self.limit_vm_runs,
                       "tokens": self.limit_tokens},
            "overuse": self.overuse, "lambda": self.lam,
        }  # fmt: skip


def total(workloads: Sequence[WorkloadScore], budget: BudgetUse, held_out: bool) -> float:
    """The formula over the tuned (held_out=False) or the held-out workloads; the budget
    penalty applies to both, as it is one agent's spending."""
    chosen = [w for w in workloads if w.spec.held_out == held_out]
    return sum(w.weighted for w in chosen) - budget.lam * budget.overuse

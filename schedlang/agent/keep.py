"""Stage 6's decision: keep a measured candidate only on a significant same-boot win.

A candidate's runs come from one boot, interleaved with the kernel's default scheduler
(`schedlang.run_each`). `judge` decides from them, and from the current best's runs in the
same boot, whether the candidate is kept:

* **insufficient** when any sample it rests on has fewer than `MIN_RUNS` runs: five a side is
  the least for which a rank test can reach p < 0.05 at all (2/252 two-sided), so fewer is
  never a win, however large the difference looks;
* **win** only when, on the goal's metric, the candidate beats the default AND the current
  best (if there is one) each with significance (`stats.Comparison.improves`: the bootstrap
  interval of the ratio of medians lies wholly on the good side of 1 and the Mann-Whitney p is
  below alpha), and every hard SLO holds: the SLO metric's ratio of medians against the
  default, oriented so above 1 is better, is at least the SLO's floor ("throughput >= 95 % of
  the default's" is a floor of 0.95). An SLO is judged on the medians, not on its interval: an
  unchanged figure has an interval straddling 1 and would fail any floor near 1;
* **no win** otherwise, with the reasons in the verdict's sentence.

The statistics themselves are `schedlang.stats`, shared with the measurement report and the
benchmark, so a verdict quotes the same ratio the report prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from schedlang.agent.goal import Slo
from schedlang.stats import (
    ALPHA,
    CONFIDENCE,
    Better,
    Comparison,
    compare,
    oriented,
    ratio_of_medians,
)

MIN_RUNS = 5

Outcome = Literal["win", "no win", "insufficient"]


@dataclass(frozen=True)
class Samples:
    """One metric's runs from one same-boot interleaved measurement: the candidate's and the
    default scheduler's, and which way the metric is better."""

    metric: str
    better: Better
    candidate: tuple[float, ...]
    default: tuple[float, ...]


class _Spread(Protocol):
    values: tuple[float, ...]


class _Row(Protocol):
    metric: str
    better: str
    policy: _Spread | None
    baseline: _Spread | None


class _Report(Protocol):
    @property
    def rows(self) -> Iterable[_Row]: ...


def samples(report: _Report, metric: str) -> Samples | None:
    """`metric`'s valid runs in a measurement `Report` (`schedlang.run`/`run_each`), or None
    when the report has no such row."""
    for row in report.rows:
        if row.metric == metric:
            better: Better = "higher" if row.better == "higher" else "lower"
            return Samples(
                metric,
                better,
                tuple(row.policy.values) if row.policy else (),
                tuple(row.baseline.values) if row.baseline else (),
            )
    return None


@dataclass(frozen=True)
class SloCheck:
    """A hard SLO checked on one measurement: the SLO metric's ratio of medians against the
    default, oriented so above 1 is better (None: no figure), against the SLO's floor."""

    slo: Slo
    metric: str  # the measured figure standing for the SLO's metric
    ratio: float | None
    n: tuple[int, int]  # runs (candidate, default)

    @property
    def held(self) -> bool:
        return self.ratio is not None and self.ratio >= self.slo.floor

    def describe(self) -> str:
        shown = "no figure" if self.ratio is None else f"{self.ratio:.3f}"
        state = "held" if self.held else "broken"
        return f"{self.slo.describe()}: {self.metric} at {shown} of the default's, {state}"


@dataclass(frozen=True)
class Verdict:
    """Whether to keep `candidate`, the tests' names and numbers, and one sentence saying so."""

    candidate: str
    outcome: Outcome
    metric: str
    vs_default: Comparison | None  # None only when a side has no runs at all
    vs_best: Comparison | None  # None when there is no best yet (or no runs to compare)
    best: str | None
    slos: tuple[SloCheck, ...]
    min_runs: int
    sentence: str

    @property
    def win(self) -> bool:
        return self.outcome == "win"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        def comparison(value: dict[str, Any] | None) -> Comparison | None:
            return Comparison.from_dict(value) if value is not None else None

        return cls(
            candidate=data["candidate"],
            outcome=data["outcome"],
            metric=data["metric"],
            vs_default=comparison(data["vs_default"]),
            vs_best=comparison(data["vs_best"]),
            best=data["best"],
            slos=tuple(
                SloCheck(Slo(**s["slo"]), s["metric"], s["ratio"], tuple(s["n"]))
                for s in data["slos"]
            ),
            min_runs=data["min_runs"],
            sentence=data["sentence"],
        )


def judge(
    candidate: str,
    goal: Samples,
    *,
    slos: Sequence[tuple[Slo, Samples]] = (),
    best: tuple[str, Sequence[float]] | None = None,
    alpha: float = ALPHA,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Verdict:
    """The verdict on `candidate` (module docstring).

    `goal` is the goal metric's runs; `slos` pairs each hard SLO with its metric's runs from
    the same measurement; `best` is the current best's name and its runs of the goal metric in
    the same boot (None before anything has won). Deterministic for a given `seed`."""
    counts = [len(goal.candidate), len(goal.default)]
    counts += [n for _, s in slos for n in (len(s.candidate), len(s.default))]
    if best is not None:
        counts.append(len(best[1]))

    def against(other: Sequence[float], name: str) -> Comparison | None:
        if not goal.candidate or not other:
            return None
        return compare(
            goal.candidate,
            other,
            metric=goal.metric,
            better=goal.better,
            against=name,
            alpha=alpha,
            confidence=confidence,
            seed=seed,
        )

    vs_default = against(goal.default, "default")
    vs_best = against(best[1], best[0]) if best is not None else None
    checks = tuple(
        SloCheck(
            slo,
            s.metric,
            oriented(ratio_of_medians(s.candidate, s.default), s.better),
            (len(s.candidate), len(s.default)),
        )
        for slo, s in slos
    )
    if min(counts) < MIN_RUNS:
        outcome: Outcome = "insufficient"
    elif (
        vs_default is not None
        and vs_default.improves
        and (best is None or (vs_best is not None and vs_best.improves))
        and all(c.held for c in checks)
    ):
        outcome = "win"
    else:
        outcome = "no win"
    return Verdict(
        candidate=candidate,
        outcome=outcome,
        metric=goal.metric,
        vs_default=vs_default,
        vs_best=vs_best,
        best=best[0] if best is not None else None,
        slos=checks,
        min_runs=MIN_RUNS,
        sentence=_sentence(candidate, outcome, goal, vs_default, vs_best, best, checks),
    )


def _sentence(
    candidate: str,
    outcome: Outcome,
    goal: Samples,
    vs_default: Comparison | None,
    vs_best: Comparison | None,
    best: tuple[str, Sequence[float]] | None,
    checks: tuple[SloCheck, ...],
) -> str:
    """One line for a report: the outcome, then the figures and the reasons behind it."""
    head = f"{outcome} for {candidate} on {goal.metric}"
    if outcome == "insufficient":
        sides = [
            f"{len(goal.candidate)} runs of the candidate",
            f"{len(goal.default)} of the default",
        ]
        if best is not None:
            sides.append(f"{len(best[1])} of {best[0]}")
        sides += [
            f"{c.n[0]}/{c.n[1]} on SLO metric {c.metric}" for c in checks if min(c.n) < MIN_RUNS
        ]
        return (
            f"{head}: {', '.join(sides)}; at least {MIN_RUNS} runs a side are needed to claim a win"
        )
    parts = [c.describe() for c in (vs_default, vs_best) if c is not None]
    if outcome == "win":
        held = "; ".join(c.describe() for c in checks)
        return f"{head}: " + " and ".join(parts) + (f"; {held}" if held else "")
    reasons = []
    for comparison in (vs_default, vs_best):
        if comparison is None or comparison.improves:
            continue
        who = "the default" if comparison.against == "default" else comparison.against
        if comparison.worsens:
            reasons.append(f"worse than {who} with significance")
            continue
        if not comparison.interval_excludes_one:
            reasons.append(f"the interval against {who} does not exclude 1 on the good side")
        if comparison.p >= comparison.alpha:
            reasons.append(f"p={comparison.p:.2g} against {who} is not below {comparison.alpha:g}")
    reasons += [c.describe() for c in checks if not c.held]
    return f"{head}: " + " and ".join(parts) + "; " + "; ".join(reasons)

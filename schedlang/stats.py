"""Two samples of runs compared: the ratio of their medians, its bootstrap interval, a rank test.

Every "is A faster than B" in schedlang is this comparison: the measurement report's ratio
column (`runtime/report.py`), the agent's keep-or-drop verdict (`agent/keep.py`) and the
benchmark's per-workload improvement `I` (issue 11). One implementation, so a ratio printed
in a report is the ratio a verdict was decided on.

* **Ratio of medians** (`candidate / other`, unoriented: below 1 means the candidate's
  figure is smaller). Medians, not means, because one run disturbed by the host should not
  move the headline.
* **Percentile bootstrap interval** of that ratio: each side resampled on its own (the runs
  are not paired), `n_resamples` times, from a seeded generator, so the same numbers give the
  same interval. Percentile rather than BCa: the BCa correction comes from a jackknife, and
  the jackknife of a median of five runs is too coarse to estimate an acceleration from.
* **Mann-Whitney U**, two-sided, exact (the permutation distribution of U, ties included)
  while both sides are small enough to enumerate, asymptotic with a tie correction beyond.
  It is what the interval is not: free of any resampling, and honest about how little five
  runs can show (the smallest two-sided p for 5 against 5 is 2/252 = 0.0079).

scipy is imported by the functions that use it, not by this module: the guest-side runner
imports `runtime/report.py`, which needs only `ratio_of_medians`, and importing scipy.stats
takes seconds even on the host, far longer under TCG.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

Better = Literal["lower", "higher"]

CONFIDENCE = 0.95
ALPHA = 0.05
RESAMPLES = 9999
SAME_WITHIN = 0.01  # simulated medians closer than 1% are "same": a model's rounding, not a finding
EXACT_LIMIT = 50  # runs on both sides together up to which U's p value is exact


def ratio_of_medians(candidate: Sequence[float], other: Sequence[float]) -> float | None:
    """median(candidate) / median(other); None when a side is empty or its median is 0."""
    if not candidate or not other:
        return None
    denominator = statistics.median(other)
    if denominator == 0:
        return None
    return statistics.median(candidate) / denominator


def oriented(ratio: float | None, better: Better) -> float | None:
    """A candidate/other ratio turned so that above 1 is better: as is for a higher-is-better
    figure (throughput), inverted for a lower-is-better one (a time, a latency). This is the
    benchmark's improvement `I`. None for a ratio that is missing, zero or not finite."""
    if ratio is None or ratio <= 0 or not math.isfinite(ratio):
        return None
    return ratio if better == "higher" else 1 / ratio


@dataclass(frozen=True)
class Comparison:
    """A candidate's runs against another side's runs on one metric (module docstring).

    `ratio`, `low` and `high` are candidate/other, unoriented; `low`/`high` are None when the
    interval is undefined (a resampled median of the other side was 0). `improves` says
    whether the candidate is better with significance: the interval lies wholly on the good
    side of 1 and p < alpha."""

    metric: str
    better: Better
    against: str  # what the candidate was compared with: "default", or the best's name
    n: tuple[int, int]  # runs (candidate, other)
    ratio: float | None
    low: float | None
    high: float | None
    confidence: float
    u: float  # Mann-Whitney U of the candidate's sample
    p: float  # two-sided
    alpha: float
    test: str  # the rank test as run, e.g. "Mann-Whitney U (two-sided, exact)"
    interval: str  # how the interval was made, e.g. "percentile bootstrap, 9999 resamples, seed 0"

    @property
    def interval_excludes_one(self) -> bool:
        """The interval lies wholly on the good side of 1."""
        if self.low is None or self.high is None:
            return False
        return self.high < 1 if self.better == "lower" else self.low > 1

    @property
    def improves(self) -> bool:
        return self.interval_excludes_one and self.p < self.alpha

    @property
    def worsens(self) -> bool:
        """Worse with significance: the interval lies wholly on the bad side and p < alpha."""
        if self.low is None or self.high is None or self.p >= self.alpha:
            return False
        return self.low > 1 if self.better == "lower" else self.high < 1

    def oriented(self) -> tuple[float | None, float | None, float | None]:
        """(ratio, low, high) turned so that above 1 is better (see `oriented`)."""
        if self.better == "higher":
            return self.ratio, self.low, self.high
        return (
            oriented(self.ratio, "lower"),
            oriented(self.high, "lower"),
            oriented(self.low, "lower"),
        )

    def describe(self) -> str:
        """`0.812x the default's median (95% interval 0.770-0.861; Mann-Whitney U=0, p=0.0079;
        n=5/5)`: the figures a reader needs to judge the claim."""
        ratio = "no ratio" if self.ratio is None else f"{self.ratio:.3f}x"
        if self.low is None or self.high is None:
            interval = f"{self.confidence:.0%} interval undefined"
        else:
            interval = f"{self.confidence:.0%} interval {self.low:.3f}-{self.high:.3f}"
        whose = "the default's" if self.against == "default" else f"{self.against}'s"
        return (
            f"{ratio} {whose} median ({interval}; Mann-Whitney U={self.u:g}, p={self.p:.2g}; "
            f"n={self.n[0]}/{self.n[1]})"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        return cls(**{**data, "n": tuple(data["n"])})


def mann_whitney(candidate: Sequence[float], other: Sequence[float]) -> tuple[float, float, str]:
    """(U of `candidate`, two-sided p, the test's name as run)."""
    from scipy.stats import mannwhitneyu

    method = "exact" if len(candidate) + len(other) <= EXACT_LIMIT else "asymptotic"
    result = mannwhitneyu(candidate, other, alternative="two-sided", method=method)
    return float(result.statistic), float(result.pvalue), f"Mann-Whitney U (two-sided, {method})"


def ratio_interval(
    candidate: Sequence[float],
    other: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float | None, float | None]:
    """The percentile bootstrap interval of median(candidate)/median(other), each side
    resampled on its own from a generator seeded with `seed`; (None, None) when it is not
    defined (a side has fewer than 2 runs, or a resampled median of `other` is 0)."""
    if len(candidate) < 2 or len(other) < 2:
        return None, None
    import numpy as np
    from scipy.stats import bootstrap

    def statistic(c: Any, o: Any, axis: int) -> Any:
        return np.median(c, axis=axis) / np.median(o, axis=axis)

    # A zero median on the other side gives inf or nan, which is tested for below.
    with np.errstate(divide="ignore", invalid="ignore"):
        result = bootstrap(
            (np.asarray(candidate, dtype=float), np.asarray(other, dtype=float)),
            statistic,
            n_resamples=resamples,
            confidence_level=confidence,
            method="percentile",
            vectorized=True,
            rng=np.random.default_rng(seed),
        )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None, None
    return low, high


def compare(
    candidate: Sequence[float],
    other: Sequence[float],
    *,
    metric: str,
    better: Better,
    against: str,
    alpha: float = ALPHA,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Comparison:
    """The candidate's runs against `other`'s on `metric` (module docstring); deterministic:
    the same runs and seed give the same Comparison."""
    u, p, test = mann_whitney(candidate, other)
    low, high = ratio_interval(
        candidate, other, confidence=confidence, resamples=resamples, seed=seed
    )
    return Comparison(
        metric=metric,
        better=better,
        against=against,
        n=(len(candidate), len(other)),
        ratio=ratio_of_medians(candidate, other),
        low=low,
        high=high,
        confidence=confidence,
        u=u,
        p=p,
        alpha=alpha,
        test=test,
        interval=f"percentile bootstrap of the ratio of medians, {resamples} resamples, seed {seed}",
    )

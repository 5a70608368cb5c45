"""A candidate's params, searched in the simulator before anything reaches the VM.

Each policy declares its tunables with a range (`param slice: duration = 5ms in 500us..50ms`);
the search draws values inside those ranges (a log scale for ranges spanning 16x or more,
as durations do) with optuna's TPE sampler, seeded, one simulated run per trial, so the same
seed and budget give the same trials. The first trial is always the declared defaults: the
policy as written is a point of comparison, and a search that finds nothing better says so.

A trial's score is the goal's figure against the default model, oriented so that above 1
is better (default/policy for a time or a latency, policy/default for throughput); a trial
that breaks a hard SLO in the simulator, or whose policy is ejected, ranks below every one
that does not.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import optuna

import schedlang
from schedlang.agent.goal import METRICS, Goal, sim_metric
from schedlang.errors import SchedlangError

LOG_SCALE_SPAN = 16  # a range with hi/lo at least this wide is searched on a log scale
INFEASIBLE = -1.0  # added to the score of a trial that breaks an SLO or is ejected


@dataclass(frozen=True)
class Range:
    name: str
    type: str  # the param's declared type ("duration", "u64", "bool", ...)
    default: int
    lo: int
    hi: int

    @property
    def log(self) -> bool:
        return self.lo > 0 and self.hi / self.lo >= LOG_SCALE_SPAN


@dataclass(frozen=True)
class Trial:
    number: int
    params: dict[str, int]
    score: float | None  # oriented ratio of the goal's figure vs the default model; None: failed
    feasible: bool  # every hard SLO held and the policy was not ejected
    slos: dict[str, float]  # SLO metric -> oriented ratio vs the default model
    seconds: float  # wall time of this trial on this host
    error: str | None = None  # why it has no score (an ejection, a rejected param)


@dataclass(frozen=True)
class Tuned:
    """One candidate's search: every trial, the best, and what it all cost."""

    candidate: str
    ranges: tuple[Range, ...]
    trials: tuple[Trial, ...]
    best: Trial
    seconds: float
    sim_metric: str


class TuneError(ValueError):
    """The candidate cannot be tuned at all (it does not check)."""


def ranges(source: str) -> tuple[Range, ...]:
    """The declared tunables of a policy and their ranges; TuneError if it does not check."""
    result = schedlang.check_program(source)
    if result.program is None:
        raise TuneError(f"the policy does not check ({len(result.diagnostics)} diagnostics)")
    return tuple(
        Range(p.name, str(p.type), p.default, p.lo, p.hi) for p in result.program.program.params
    )


def readable(r: Range, value: int) -> int:
    """`value` to two significant digits (a duration to 2 digits of its unit: 300us, not
    302846ns), kept inside the range: the winner's file is read by people."""
    if value < 100:
        return value
    digits = 10 ** (len(str(value)) - 2)
    return min(max(round(value / digits) * digits, r.lo), r.hi)


def oriented(metric_better: str, ratio: float | None) -> float | None:
    """A policy/default ratio turned so that above 1 is better."""
    if ratio is None or ratio <= 0 or not math.isfinite(ratio):
        return None
    return ratio if metric_better == "higher" else 1 / ratio


def _row_ratio(report: Any, metric: str, target: str | None) -> float | None:
    """The oriented ratio of the goal metric in a simulator report. A time or a throughput
    of a workload with a fixed amount of work is its makespan; of one bound by a duration,
    the CPU time it got per second."""
    tasks = tuple(t.task for t in report.baseline_runs[0].tasks) if report.baseline_runs else ()
    name = sim_metric(metric, target, tasks)
    if metric in ("time", "throughput"):
        finite = bool(report.baseline_runs) and report.baseline_runs[0].makespan_s is not None
        name = "makespan_s" if finite else "throughput"
    row = next((r for r in report.rows if r.metric == name), None)
    if row is None:
        return None
    return oriented(row.better, row.ratio)


def evaluate(
    source: str, goal: Goal, sim_workload: str, params: dict[str, int], seed: int = 0
) -> tuple[float | None, bool, dict[str, float], str | None]:
    """One simulated run of the policy with `params`: (score, feasible, SLO ratios, error)."""
    try:
        report = schedlang.simulate(source, sim_workload, seeds=(seed,), params=params)
    except SchedlangError as exc:
        return None, False, {}, f"rejected: {exc}".splitlines()[0]
    if report.ejected:
        event = report.events[0]
        return None, False, {}, f"ejected in the simulator: {event.exit_kind}: {event.reason}"
    score = _row_ratio(report, goal.metric, goal.target)
    slos = {}
    feasible = score is not None
    for slo in goal.slos:
        ratio = _row_ratio(report, slo.metric, slo.subject)
        if ratio is not None:
            slos[slo.metric] = ratio
            feasible = feasible and ratio >= slo.floor
    return score, feasible, slos, None


def tune(
    name: str,
    source: str,
    goal: Goal,
    sim_workload: str,
    *,
    trials: int,
    seed: int = 0,
    deadline: float | None = None,
    start: dict[str, int] | None = None,
) -> Tuned:
    """Search `source`'s params for `goal` on the simulated `sim_workload`: at most `trials`
    runs, fewer if `deadline` (a time.monotonic() value) passes. The first trial is `start`
    (the params a past winner won with) when given, then the declared defaults.
    Deterministic for a given seed and trial count."""
    declared = ranges(source)
    started = time.monotonic()
    done: list[Trial] = []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    if declared and start:
        study.enqueue_trial({r.name: start.get(r.name, r.default) for r in declared})
    if declared:
        study.enqueue_trial({r.name: r.default for r in declared})

    def objective(trial: optuna.Trial) -> float:
        params = {
            r.name: readable(r, trial.suggest_int(r.name, r.lo, r.hi, log=r.log)) for r in declared
        }
        t0 = time.monotonic()
        score, feasible, slos, error = evaluate(source, goal, sim_workload, params, seed)
        done.append(Trial(len(done), params, score, feasible, slos, time.monotonic() - t0, error))
        if score is None:
            return 2 * INFEASIBLE
        return score + (0.0 if feasible else INFEASIBLE)

    count = trials if declared else min(trials, 1)
    for _ in range(count):
        if deadline is not None and done and time.monotonic() >= deadline:
            break
        study.optimize(objective, n_trials=1)
    best = max(done, key=_rank_key)
    return Tuned(
        name,
        declared,
        tuple(done),
        best,
        time.monotonic() - started,
        METRICS[goal.metric][1],
    )


def _rank_key(trial: Trial) -> tuple[bool, float, int]:
    """Feasible first, then the score; the earlier trial wins a tie (the defaults first)."""
    return (trial.feasible, trial.score if trial.score is not None else -math.inf, -trial.number)

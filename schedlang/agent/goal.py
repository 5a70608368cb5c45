"""What a synthesis is for: a typed `Goal`, and the common written forms of one, read offline.

A goal is one figure to move (a metric and a direction, optionally of one thread) on one
workload, plus hard SLOs: floors the rest of the workload must keep relative to the default
scheduler ("keep the build >= 95 % as fast"). Without a model the text is read with a small
grammar (`goal.lark`); with one, the model fills in the same `Goal`. Either way the goal is
then tied to figures the simulator and the VM actually report (`sim_metric`, `vm_metric`),
and a goal that cannot be judged on its workload is refused here, before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from lark import Lark, Token, Transformer, UnexpectedInput, v_args

Direction = Literal["lower", "higher"]

# Goal metric -> (the direction in which it is better, what it is).
METRICS: dict[str, tuple[Direction, str]] = {
    "wakeup_p50": ("lower", "median wakeup latency"),
    "wakeup_p99": ("lower", "99th percentile wakeup latency"),
    "wakeup_max": ("lower", "worst wakeup latency"),
    "throughput": ("higher", "work done per second"),
    "time": ("lower", "time to finish the work"),
    "fairness": ("higher", "CPU time per weight (Jain's index)"),
    "deadline_misses": ("lower", "timer periods overrun"),
}

# The simulator's report row for each goal metric (runtime/sim/compare.py).
_SIM_ROWS = {
    "wakeup_p50": "wakeup_p50_us",
    "wakeup_p99": "wakeup_p99_us",
    "wakeup_max": "wakeup_max_us",
    "throughput": "throughput",
    "time": "makespan_s",
    "fairness": "fairness",
    "deadline_misses": "deadline_misses",
}

# The VM report's metric standing for a goal metric on each workload (runtime/workloads.py):
# the workload's own figure of that kind. A latency goal on pipe or mix is the round trip;
# "throughput" and "time" of a fixed amount of work are the same figure seen from two sides.
_LATENCY = ("wakeup_p50", "wakeup_p99", "wakeup_max")
_VM_METRICS: dict[str, dict[str, str]] = {
    "hackbench": {"time": "time_s", "throughput": "time_s"},
    "messaging": {"time": "time_s", "throughput": "time_s"},
    "pipe": {**dict.fromkeys(_LATENCY, "usecs_per_op"), "throughput": "ops_per_s"},
    "stress-cpu": {"throughput": "bogo_ops_per_s"},
    "cyclictest": {"wakeup_p50": "p50_us", "wakeup_p99": "p99_us", "wakeup_max": "max_us"},
    "build": {"time": "wall_s", "throughput": "wall_s"},
    "mix": {**dict.fromkeys(_LATENCY, "usecs_per_op"), "throughput": "bogo_ops_per_s"},
}
WORKLOADS = tuple(_VM_METRICS)

EXAMPLES = (
    "cut p99 wakeup latency of the game thread, keep the build >= 95% as fast",
    "maximize throughput of hackbench",
    "make the build faster",
    "reduce latency on mix without losing more than 5% of throughput",
)


@dataclass(frozen=True)
class Slo:
    """A hard floor: `metric` must stay at >= `floor` of the default scheduler's performance
    (the ratio taken so that higher is better: policy/default for throughput, default/policy
    for a time or a latency). `subject` is what the text named ("build"), if anything."""

    metric: str
    floor: float
    subject: str | None = None

    def describe(self) -> str:
        what = self.subject or self.metric
        return f"{what} ({self.metric}) >= {self.floor:.0%} of the default's"


@dataclass(frozen=True)
class Goal:
    metric: str  # a key of METRICS
    direction: Direction
    workload: str | None = None  # a VM workload name (WORKLOADS), or None: given separately
    target: str | None = None  # one thread or task the goal is about ("game"), if any
    slos: tuple[Slo, ...] = ()
    text: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise GoalError(f"unknown metric {self.metric!r} (known: {', '.join(METRICS)})")
        better = METRICS[self.metric][0]
        if self.direction != better:
            raise GoalError(
                f"{METRICS[self.metric][1]} ({self.metric}) is better {better}, "
                f"so it cannot be pushed {self.direction}"
            )

    def with_workload(self, workload: str | None) -> Goal:
        """This goal on `workload`; GoalError when the text named a different one."""
        if workload is None:
            if self.workload is None:
                raise GoalError(
                    "the goal names no workload: give one (--workload W, one of "
                    f"{', '.join(WORKLOADS)})"
                )
            return self
        if self.workload is not None and self.workload != workload:
            raise GoalError(f"the goal is about {self.workload} but the workload is {workload}")
        if workload not in WORKLOADS:
            raise GoalError(f"unknown workload {workload!r} (known: {', '.join(WORKLOADS)})")
        return Goal(self.metric, self.direction, workload, self.target, self.slos, self.text)

    def describe(self) -> str:
        what = METRICS[self.metric][1] + (f" of {self.target}" if self.target else "")
        verb = "cut" if self.direction == "lower" else "raise"
        slos = "".join(f"; keep {s.describe()}" for s in self.slos)
        return f"{verb} {what} on {self.workload or '?'}{slos}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Goal:
        slos = tuple(Slo(**s) for s in data.get("slos", ()))
        return cls(
            data["metric"],
            data["direction"],
            data.get("workload"),
            data.get("target"),
            slos,
            data.get("text", ""),
        )


class GoalError(ValueError):
    """A goal that cannot be read or cannot be judged: what, where, and forms that work."""

    def __init__(self, message: str, text: str = "", column: int | None = None) -> None:
        self.message, self.text, self.column = message, text, column
        lines = [message]
        if column is not None and text:
            lines += ["  " + text, "  " + " " * (column - 1) + "^"]
        lines.append("goals that are understood look like:")
        lines += [f"  {e}" for e in EXAMPLES]
        super().__init__("\n".join(lines))


# --- the figures a goal is judged by ------------------------------------------------------------


def sim_metric(metric: str, target: str | None = None, tasks: tuple[str, ...] = ()) -> str:
    """The simulator report's row for `metric`; per task when `target` is one of `tasks`
    (the rt-app task names of the simulated workload), else for the whole run."""
    row = _SIM_ROWS[metric]
    if target is not None and row == "wakeup_p99_us" and target in tasks:
        return f"{row}[{target}]"
    return row


def vm_metric(metric: str, workload: str) -> str:
    """The VM report's metric for `metric` on `workload`; GoalError when the workload reports
    no figure of that kind (the goal could not be judged there)."""
    table = _VM_METRICS.get(workload)
    if table is None:
        raise GoalError(f"unknown workload {workload!r} (known: {', '.join(WORKLOADS)})")
    if metric not in table:
        fits = [w for w, t in _VM_METRICS.items() if metric in t]
        raise GoalError(
            f"{workload} reports no {METRICS[metric][1]} in the VM (it reports "
            f"{', '.join(sorted(set(table.values())))}); that goal fits "
            + (", ".join(fits) if fits else "no workload")
        )
    return table[metric]


# --- reading the text ---------------------------------------------------------------------------

_NAME_NOISE = {"thread", "threads", "task", "tasks", "process", "processes", "workload"}
_SUBJECT_METRICS = {
    "throughput": "throughput",
    "speed": "throughput",
    "latency": "wakeup_p99",
    "time": "time",
    "makespan": "time",
    "fairness": "fairness",
}
_PCTL = {
    "p50": "wakeup_p50",
    "median": "wakeup_p50",
    "p90": "wakeup_p99",
    "p99": "wakeup_p99",
    "tail": "wakeup_p99",
    "p99.9": "wakeup_max",
    "p999": "wakeup_max",
    "max": "wakeup_max",
    "maximum": "wakeup_max",
    "worst": "wakeup_max",
    "worst-case": "wakeup_max",
}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files("schedlang.agent").joinpath("goal.lark").read_text()
    return Lark(grammar, parser="earley", lexer="dynamic", ambiguity="resolve")


def _percent(token: Token) -> float:
    return float(str(token).rstrip("%")) / 100


@v_args(inline=True)
class _Build(Transformer[Token, Any]):
    def name(self, *words: Token) -> str:
        kept = [str(w) for w in words if str(w) not in _NAME_NOISE]
        return " ".join(kept or [str(w) for w in words])

    def verb(self, token: Token) -> Token:
        return token  # its type is LOWER, RAISE or NEUTRAL

    def latency(self, *parts: Token) -> str:
        pctl = [str(p) for p in parts if p.type == "PCTL"]
        return _PCTL[pctl[0]] if pctl else "wakeup_p99"

    def throughput(self, _tok: Token) -> str:
        return "throughput"

    def time(self, _tok: Token) -> str:
        return "time"

    def fairness(self) -> str:
        return "fairness"

    def deadline_misses(self, _tok: Token) -> str:
        return "deadline_misses"

    def scope(self, name: str) -> str:
        return name

    def objective(self, verb: Token, metric: str, *scopes: str) -> dict[str, Any]:
        better = METRICS[metric][0]
        if verb.type == "NEUTRAL":
            direction = better
        else:
            direction = "lower" if verb.type == "LOWER" else "higher"
        if direction != better:
            word = "cut" if better == "lower" else "raise"
            raise _Refused(
                f"{METRICS[metric][1]} is better {better}: '{verb}' would make it worse; "
                f"say '{word}' or 'improve'"
            )
        return {"metric": metric, "direction": direction, "scopes": list(scopes)}

    def faster(self, name: str) -> dict[str, Any]:
        return {"metric": "time", "direction": "lower", "scopes": [name]}

    def _slo(self, subject: str | None, floor: float) -> Slo:
        if floor <= 0 or floor > 1:
            raise _Refused(f"a floor of {floor:.0%} is not a share of the default's performance")
        metric = _SUBJECT_METRICS.get(subject or "", "throughput")
        return Slo(metric, round(floor, 6), None if subject in _SUBJECT_METRICS else subject)

    def as_fast(self, *parts: Any) -> Slo:
        subjects = [p for p in parts if not isinstance(p, Token)]  # KEEP, AT_LEAST are tokens
        return self._slo(subjects[0] if subjects else None, _percent(parts[-1]))

    def within(self, _keep: Token, subject: str, pct: Token) -> Slo:
        return self._slo(subject, 1 - _percent(pct))

    def share(self, _keep: Token, subject: str, pct: Token) -> Slo:
        return self._slo(subject, _percent(pct))

    def losing(self, pct: Token, subject: str | None = None) -> Slo:
        return self._slo(subject, 1 - _percent(pct))

    def start(self, objective: dict[str, Any], *slos: Slo) -> dict[str, Any]:
        return {**objective, "slos": slos}


class _Refused(Exception):
    """The text parsed but says something impossible; becomes a GoalError."""


def _normalise(text: str) -> str:
    text = text.lower().replace("≥", ">=").replace("’", "'")
    text = re.sub(r"(\d)\s+%", r"\1%", text)
    return re.sub(r"\s+", " ", text).strip()


def parse_goal(text: str, workload: str | None = None) -> Goal:
    """The `Goal` a sentence states. A scope naming a known workload ("of hackbench") sets
    the workload; any other scope names the target thread ("of the game thread" -> "game").
    `workload` (the command line's) must agree with the text's. GoalError says what was not
    understood, where, and shows forms that are."""
    norm = _normalise(text)
    if not norm:
        raise GoalError("the goal is empty", text)
    try:
        tree = _parser().parse(norm)
    except UnexpectedInput as exc:
        col = exc.column if isinstance(exc.column, int) and exc.column > 0 else len(norm) + 1
        rest = norm[col - 1 :].split(" ")[0] if col <= len(norm) else ""
        what = f"did not understand {rest!r}" if rest else "the goal stops too early"
        raise GoalError(f"goal:1:{col}: {what}", norm, col) from None
    try:
        parts = _Build().transform(tree)
    except Exception as exc:  # lark wraps what a transformer method raises
        cause = getattr(exc, "orig_exc", exc)
        if isinstance(cause, _Refused):
            raise GoalError(str(cause), norm) from None
        raise
    target = None
    named = None
    for scope in parts["scopes"]:
        if scope in WORKLOADS:
            named = scope
        else:
            target = scope
    goal = Goal(parts["metric"], parts["direction"], named, target, tuple(parts["slos"]), text)
    if workload is not None or named is not None:
        goal = goal.with_workload(workload)
    return goal

"""Which policies to start from: the library's and past winners, ranked against the goal.

Every library policy's header says what it is for (`Idea:`, `Workloads:`; stdlib/README.md),
so ranking reads those words: each goal metric and each workload has a short list of the
phrases a header uses for it, a phrase in `Workloads:` counts three, one in the summary or
`Idea:` counts one. A profile's bottleneck adds its own words. A past winner for the same
workload and metric comes first, by how much it won. Ties break by name, so the ranking is
the same on every run: no model, no randomness.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import schedlang.stdlib
from schedlang.agent.goal import Goal
from schedlang.agent.profile import WorkloadProfile

# Phrases a header uses for a goal metric (matched lower-case, as whole-word prefixes).
_METRIC_WORDS: dict[str, tuple[str, ...]] = {
    "wakeup_p50": ("latency", "interactive", "short burst", "short-burst", "request", "rpc"),
    "wakeup_p99": ("latency", "interactive", "short burst", "short-burst", "audio", "gaming"),
    "wakeup_max": ("latency", "audio", "control loop", "gaming", "jump the queue"),
    "throughput": ("throughput", "batch", "context switch", "message"),
    "time": ("makespan", "batch", "throughput", "finish"),
    "fairness": ("fair", "weight", "share", "niced"),
    "deadline_misses": ("control loop", "audio", "latency", "timer"),
}
# Phrases a header uses for the kind of load a workload is; the workload's own name first
# where a header would use it (not "mix": "a mix of" says nothing).
_WORKLOAD_WORDS: dict[str, tuple[str, ...]] = {
    "hackbench": ("hackbench", "message", "wake each other"),
    "messaging": ("messaging", "hackbench", "message", "wake each other"),
    "pipe": ("pipe", "wake each other", "rpc", "request"),
    "mix": ("background", "batch", "interactive", "cpu hog"),
    "build": ("build", "compile", "make -j", "makespan"),
    "cyclictest": ("control loop", "audio", "timer", "latency"),
    "stress-cpu": ("number crunching", "batch", "throughput", "cpu hog"),
}


# Phrases a header uses for what Observe saw limiting the workload (profile.Bottleneck).
BOTTLENECK_WORDS: dict[str, tuple[str, ...]] = {
    "wakeup-latency": ("latency", "short burst", "interactive"),
    "cpu-saturated": ("batch", "throughput", "cpu hog"),
    "ping-pong": ("wake each other", "pipeline", "message"),
    "migrations": ("cache", "previous cpu", "locality"),
}


@dataclass(frozen=True)
class Candidate:
    """A policy to tune and measure: its source, where it came from, why it ranks where it
    does, and (for a past winner) the params it won with."""

    name: str
    source: str
    origin: str  # "stdlib" or "history"
    score: float
    reasons: tuple[str, ...]
    params: dict[str, int] = field(default_factory=dict)
    distance: float | None = None  # a past winner's: between its profile and this one


@dataclass(frozen=True)
class Header:
    summary: str
    idea: str
    workloads: str


def read_header(source: str) -> Header:
    """The summary line, `Idea:` and `Workloads:` parts of a library header comment."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[2:].strip())
    summary = lines[0].split(":", 1)[-1].strip() if lines else ""
    parts: dict[str, list[str]] = {}
    current = None
    for line in lines[1:]:
        head = re.match(r"([A-Z][a-z ]+):\s*(.*)", line)
        if head:
            current = head.group(1)
            parts[current] = [head.group(2)]
        elif current is not None:
            parts[current].append(line)
    text = {k: " ".join(v).lower() for k, v in parts.items()}
    return Header(summary.lower(), text.get("Idea", ""), text.get("Workloads", ""))


# A sentence with one of these says what the policy is bad at ("interactive latency suffers
# under load"), so its phrases do not count for it.
_AGAINST = re.compile(r"\b(no|not|never|suffers?|poor|bad|hurts?)\b")


def _hits(text: str, phrases: Iterable[str]) -> list[str]:
    kept = " . ".join(s for s in re.split(r"[.;]", text) if not _AGAINST.search(s))
    return [p for p in phrases if re.search(r"\b" + re.escape(p), kept)]


def score(
    goal: Goal, source: str, bottleneck_words: Sequence[str] = ()
) -> tuple[float, tuple[str, ...]]:
    """How well a policy's header fits the goal, and the phrases that made it fit."""
    header = read_header(source)
    phrases = list(_METRIC_WORDS[goal.metric])
    if goal.workload is not None:
        phrases += [p for p in _WORKLOAD_WORDS.get(goal.workload, ()) if p not in phrases]
    phrases += [w.lower() for w in bottleneck_words if w.lower() not in phrases]
    in_workloads = _hits(header.workloads, phrases)
    in_idea = [
        p for p in _hits(header.summary + " " + header.idea, phrases) if p not in in_workloads
    ]
    reasons = tuple(f"'{p}' in Workloads" for p in in_workloads) + tuple(
        f"'{p}' in Idea" for p in in_idea
    )
    return 3.0 * len(in_workloads) + len(in_idea), reasons


def rank(
    goal: Goal,
    past: Sequence[Candidate] = (),
    bottleneck_words: Sequence[str] = (),
    limit: int | None = None,
) -> list[Candidate]:
    """Library policies and `past` winners, best first. A past winner's `score` is taken as
    given (the loop sets it from the winner's measured gain) and ranks above any library
    policy; a library policy already among the winners is not listed twice."""
    ranked = sorted(past, key=lambda c: (-c.score, c.name))
    seen = {c.name for c in ranked}
    library = []
    for name in schedlang.stdlib.names():
        if name in seen:
            continue
        source = schedlang.stdlib.source(name)
        points, reasons = score(goal, source, bottleneck_words)
        library.append(Candidate(name, source, "stdlib", points, reasons))
    library.sort(key=lambda c: (-c.score, c.name))
    out = ranked + library
    return out if limit is None else out[:limit]


def wants_placement(profile: WorkloadProfile | None) -> bool:
    """Whether where tasks run looks like it matters: the profile saw a migrations
    bottleneck, more threads than CPUs, or at least one migration per ten wakeups. No
    profile, no combinations (the rule needs something seen, not guessed)."""
    if profile is None:
        return False
    c = profile.counts
    return (
        str(profile.bottleneck) == "migrations"
        or c.threads > profile.cpus
        or (c.wakeups > 0 and c.migrations * 10 >= c.wakeups)
    )


def combine(
    ranked: Sequence[Candidate], profile: WorkloadProfile | None, top: int = 2
) -> tuple[list[Candidate], list[str]]:
    """Combinations `compose(P, ordering)` of each library policy P that offers `place`
    with the `top` library candidates, when `wants_placement(profile)`; each scores just
    under its ordering part, so it ranks after its parts. A combination the checker rejects
    is not a candidate: its name and first diagnostic come back as the second list."""
    if not wants_placement(profile):
        return [], []
    from schedlang.composition import PLACE, compose

    places = [n for n in schedlang.stdlib.names() if _offers_place(n)]
    out: list[Candidate] = []
    rejected: list[str] = []
    orderings = [c for c in ranked if c.origin == "stdlib"][:top]
    for cand in orderings:
        for p in places:
            if p == cand.name:
                continue
            try:
                made = compose(p, cand.name)
            except Exception as exc:  # a composition error is a report line, never a crash
                rejected.append(f"{p}+{cand.name}: {exc}")
                continue
            if not made.ok:
                first = made.diagnostics[0].message if made.diagnostics else "rejected"
                rejected.append(f"{made.name}: {first}")
                continue
            why = (f"the placement of {p} (`{PLACE}`) with the ordering of {cand.name}",)
            out.append(Candidate(made.name, made.text, "compose", cand.score - 0.5, why))
    return out, rejected


def _offers_place(name: str) -> bool:
    return re.search(r"^\s*fn place\(", schedlang.stdlib.source(name), re.M) is not None

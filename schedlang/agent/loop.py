"""`synthesize(goal)`: the offline loop, from a goal to a measured winner or an honest "none".

Stages, in order (docs/agent.md): **plan** (the goal read and tied to figures the simulator
and the VM report), **retrieve** (library policies and past winners ranked against it),
**tune** (each candidate's params searched in the simulator), **verify** (the best few
checked and compiled; loading is part of the measurement, where a refusal or an ejection is
a recorded result), **measure** (one sandbox boot: every VM candidate in turn, each
interleaved with the kernel's default scheduler) and **keep** (a candidate wins only if it
beats the default and the best so far with significance, and every hard SLO holds).

Every stage appends an `Iteration` with what it cost, so a caller sees where the budget went;
`progress` gets an event per step for a live display. Nothing a candidate does (failing to
check, to compile, to load, being ejected) stops the loop: it is the candidate's result.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import schedlang
from schedlang.agent import keep
from schedlang.agent.goal import METRICS, Goal, GoalError, parse_goal, vm_metric
from schedlang.agent.history import History, HistoryError
from schedlang.agent.observe import observe
from schedlang.agent.profile import WorkloadProfile
from schedlang.agent.retrieve import BOTTLENECK_WORDS, Candidate, combine, rank
from schedlang.agent.tune import Tuned, tune
from schedlang.agent.verify import Verified, verify
from schedlang.agent.winner import literal, winner_file

# The simulator's model standing for each VM workload (runtime/sim/workloads/).
SIM_MODELS = {
    "hackbench": "hackbench",
    "messaging": "hackbench",  # perf's messaging is hackbench's pattern
    "pipe": "pipe",
    "mix": "mix",
    "build": "build",
    "cyclictest": "cyclictest",
    "stress-cpu": "stress-cpu",
}
SIM_TRIAL_S = 1.0  # planned wall time of one simulated trial (docs/agent.md measures it)
MAX_TRIALS = 24  # per candidate: TPE's 10 random start-up trials, then 14 guided ones
MIN_REPEAT = keep.MIN_RUNS  # runs a side before any significance is claimed


@dataclass(frozen=True)
class Budget:
    """What one synthesis may spend: wall time, policy-side runs in the VM (each paired with
    a run of the default), and model tokens (0: offline)."""

    wall_s: float = 600.0
    vm_runs: int = 20
    tokens: int = 0

    @classmethod
    def parse(cls, text: str) -> Budget:
        """`wall=600,vm=20,tokens=0` (any subset); ValueError says which part is wrong."""
        values: dict[str, float] = {}
        keys = {"wall": "wall_s", "vm": "vm_runs", "tokens": "tokens"}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in keys:
                raise ValueError(
                    f"budget part {part!r}: expected wall=SECONDS, vm=RUNS or tokens=N"
                )
            try:
                number = float(value.rstrip("s"))
            except ValueError:
                raise ValueError(f"budget part {part!r}: {value!r} is not a number") from None
            if number < 0:
                raise ValueError(f"budget part {part!r}: must not be negative")
            values[keys[key.strip()]] = number
        return cls(
            wall_s=values.get("wall_s", cls.wall_s),
            vm_runs=int(values.get("vm_runs", cls.vm_runs)),
            tokens=int(values.get("tokens", cls.tokens)),
        )


@dataclass(frozen=True)
class Iteration:
    """One step of the loop and what it cost."""

    stage: str  # plan, retrieve, tune, verify, measure, keep
    candidate: str | None
    outcome: str  # one line: what came of it
    seconds: float
    vm_runs: int = 0
    tokens: int = 0
    params: dict[str, int] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Winner:
    name: str
    origin: str
    params: dict[str, int]
    source: str  # the winner's `.sched` text, params baked in, header on top
    verdict: keep.Verdict  # the tests that kept it, with their numbers


@dataclass(frozen=True)
class Synthesis:
    goal: Goal
    winner: Winner | None
    verdict: str  # one paragraph: what won and by how much, or why nothing did
    iterations: tuple[Iteration, ...]
    seconds: float
    vm_runs: int
    tokens: int
    simulated_best: dict[str, Any] | None  # the simulator's best candidate and its score

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return json.loads(json.dumps(data, default=str))

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def format_text(self) -> str:
        lines = [f"goal: {self.goal.describe()}"]
        for it in self.iterations:
            who = f" {it.candidate}" if it.candidate else ""
            cost = f"{it.seconds:.1f}s" + (f", {it.vm_runs} VM runs" if it.vm_runs else "")
            lines.append(f"  {it.stage}{who}: {it.outcome} ({cost})")
        lines.append(f"spent: {self.seconds:.1f}s, {self.vm_runs} VM runs, {self.tokens} tokens")
        lines.append(self.verdict)
        return "\n".join(lines)


@dataclass(frozen=True)
class Progress:
    """What a live display shows: the stage, the candidate, the best so far, budget left."""

    stage: str
    candidate: str | None
    best: str | None
    wall_left_s: float
    vm_left: int
    message: str


# --- the loop ------------------------------------------------------------------------------------


class _Clock:
    def __init__(self, budget: Budget, progress: Callable[[Progress], None] | None) -> None:
        self.budget = budget
        self.start = time.monotonic()
        self.vm_used = 0
        self.best: str | None = None
        self.iterations: list[Iteration] = []
        self.progress = progress

    @property
    def left_s(self) -> float:
        return self.budget.wall_s - (time.monotonic() - self.start)

    def say(self, stage: str, candidate: str | None, message: str) -> None:
        if self.progress is not None:
            left = self.budget.vm_runs - self.vm_used
            self.progress(Progress(stage, candidate, self.best, self.left_s, left, message))

    def record(self, it: Iteration) -> None:
        self.iterations.append(it)
        self.vm_used += it.vm_runs
        self.say(it.stage, it.candidate, it.outcome)


def synthesize(
    goal: Goal | str,
    workload: str | None = None,
    budget: Budget | None = None,
    offline: bool | None = None,
    *,
    candidates: int = 3,
    vm_candidates: int = 2,
    repeat: int = MIN_REPEAT,
    trials: int | None = None,
    seed: int = 0,
    progress: Callable[[Progress], None] | None = None,
    history: Path | str | bool = True,
    observe_in: str = "sim",
    remeasure: bool = False,
) -> Synthesis:
    """Turn `goal` into the best policy this budget can find and prove.

    `goal` is text in one of the common forms (goal.EXAMPLES) or a `Goal`; `workload` a VM
    workload name (or the goal names it). `candidates` policies are tuned in the simulator
    (`trials` runs each; by default as many as the wall budget allows, at most MAX_TRIALS),
    the best `vm_candidates` of them measured in the VM, `repeat` runs a side each, within
    `budget.vm_runs` policy-side runs. With `budget.vm_runs == 0` nothing is measured and no
    winner is kept: the report gives the simulator's best and says it is unproven.
    `offline`: True never asks a model; None asks one when `ANTHROPIC_API_KEY` is set and
    `budget.tokens` > 0; False insists (ValueError saying what is missing). With a model,
    stage 4 (agent/generate.py) writes one policy from the top retrieved candidate, which is
    tuned, verified and measured like the others. GoalError for a goal that cannot be read
    or judged.

    `observe_in` profiles the workload under the default scheduler in the simulator ("sim",
    its shipped model; about a second), the VM ("vm", a boot) or not at all (None): the
    bottleneck it sees steers retrieval, and the profile keys the history. `history` is the
    store past winners come from and this run is written to: True the user's
    (`history.default_path()`), a path another, False none. A past winner on the same profile
    for the same figure is tried first with the params it won with; when it won on this very
    profile, on the kernel the VM boots now, that verdict stands: the policy is checked and
    compiled again (so it still builds here) but neither searched nor measured, and the report
    says it was recalled. `remeasure=True` measures such a recalled winner in the VM again."""
    budget = budget or Budget()
    client = _model_client(offline, budget)  # None: offline, stage 4 does not run
    clock = _Clock(budget, progress)

    # plan
    t0 = time.monotonic()
    if isinstance(goal, str):
        goal = parse_goal(goal, workload)
    else:
        goal = goal.with_workload(workload)
    assert goal.workload is not None
    vm_name = vm_metric(goal.metric, goal.workload) if budget.vm_runs else None
    slo_metrics = [vm_metric(s.metric, goal.workload) for s in goal.slos] if budget.vm_runs else []
    sim_model = SIM_MODELS[goal.workload]
    clock.record(
        Iteration(
            "plan",
            None,
            goal.describe(),
            time.monotonic() - t0,
            detail={"goal": goal.to_dict(), "sim_model": sim_model, "vm_metric": vm_name},
        )
    )

    # observe
    profile = _observe(clock, goal, observe_in)
    memory = _Memory.open(history, profile)

    # retrieve: past winners for this figure on a similar profile, then the library
    t0 = time.monotonic()
    past = memory.past(goal, vm_name, vm_candidates) if memory else []
    recall = [c for c in past if c.distance == 0.0]
    words = BOTTLENECK_WORDS.get(str(profile.bottleneck), ()) if profile else ()
    ranked = recall or rank(goal, past=past, bottleneck_words=words, limit=candidates)
    if recall and trials is None:
        trials = 1  # the same profile: what won is measured again, not searched for again
    combos: list[Candidate] = []
    rejected: list[str] = []
    if not recall:
        combos, rejected = combine(ranked, profile)
    # One list under the caller's `candidates`: a combination competes with the library's
    # candidates on its score, just under its ordering part's (sorted is stable: parts first).
    ranked = sorted(ranked + combos, key=lambda c: -c.score)[: max(candidates, len(recall))]
    for why in rejected:
        clock.record(Iteration("retrieve", None, f"combination rejected: {why}", 0.0))
    clock.record(
        Iteration(
            "retrieve",
            None,
            ", ".join(f"{c.name} ({c.score:g})" for c in ranked),
            time.monotonic() - t0,
            detail={"candidates": [{"name": c.name, "origin": c.origin, "score": c.score,
                                    "reasons": list(c.reasons), "params": c.params}
                                   for c in ranked], "recalled": bool(recall)},
        )
    )  # fmt: skip
    if recall and not remeasure and memory is not None and budget.vm_runs:
        kept = memory.kept_here(goal, vm_name)
        if kept is not None:
            return _recalled(clock, memory, goal, kept)

    # generate: only with a model
    if client is not None:
        ranked = ranked + _generate(clock, goal, profile, ranked, client)

    # tune: the wall budget left after the VM's share is split between the candidates
    vm_share = _vm_seconds(budget, vm_candidates, repeat)
    tuned: list[tuple[Candidate, Tuned]] = []
    for i, cand in enumerate(ranked):
        share = (clock.left_s - vm_share) / (len(ranked) - i)
        count = trials if trials is not None else max(1, min(MAX_TRIALS, int(share / SIM_TRIAL_S)))
        t0 = time.monotonic()
        clock.say("tune", cand.name, f"{count} simulated trials")
        result = tune(
            cand.name, cand.source, goal, sim_model, trials=count, seed=seed,
            deadline=None if trials is not None else t0 + max(share, SIM_TRIAL_S),
            start=cand.params or None,
        )  # fmt: skip
        best = result.best
        outcome = (
            f"best {best.score:.3f}x the default model in {len(result.trials)} trials"
            if best.score is not None
            else f"no trial ran: {best.error}"
        ) + ("" if best.feasible else " (breaks an SLO or was ejected)")
        clock.record(
            Iteration(
                "tune",
                cand.name,
                outcome,
                time.monotonic() - t0,
                params=best.params,
                detail={"trials": [asdict(t) for t in result.trials],
                        "per_trial_s": result.seconds / max(1, len(result.trials))},
            )
        )  # fmt: skip
        tuned.append((cand, result))
    order = sorted(tuned, key=lambda ct: _sim_key(ct[1]), reverse=True)
    sim_best = None
    if order:
        top = order[0][1]
        sim_best = {"candidate": top.candidate, "score": top.best.score,
                    "feasible": top.best.feasible, "params": top.best.params,
                    "params_text": _params_text(top)}  # fmt: skip
        clock.best = f"{top.candidate} (sim {top.best.score or 0:.3f}x)"

    if budget.vm_runs == 0 or vm_name is None:
        return _finish(clock, memory, goal, None, _sim_only_verdict(sim_best), sim_best)

    # verify and measure the best few, within the VM budget
    per = max(repeat, MIN_REPEAT)
    fits = min(vm_candidates, budget.vm_runs // per)
    chosen = [ct for ct in order if ct[1].best.score is not None and ct[1].best.feasible][:fits]
    if not chosen:
        why = (
            f"the VM budget ({budget.vm_runs} runs) is less than {per} runs a side"
            if fits == 0
            else "no candidate ran feasibly in the simulator"
        )
        return _finish(clock, memory, goal, None, f"nothing was kept: {why}.", sim_best)
    verified: list[tuple[Candidate, Tuned, Verified]] = []
    outdir = Path(tempfile.mkdtemp(prefix="schedlang-synth-"))
    for cand, result in chosen:
        t0 = time.monotonic()
        v = verify(cand.name, cand.source, result.best.params, outdir / cand.name)
        clock.record(
            Iteration("verify", cand.name, v.outcome, time.monotonic() - t0,
                      params=result.best.params, detail={"diagnostics": v.diagnostics})
        )  # fmt: skip
        if v.artifact is not None:
            verified.append((cand, result, v))
    if not verified:
        return _finish(
            clock, memory, goal, None, "nothing was kept: no candidate compiled.", sim_best
        )

    t0 = time.monotonic()
    clock.say("measure", None, f"{len(verified)} candidates, {per} runs a side, one boot")
    try:
        # In rounds (the default once, then each candidate; reversed every other round): every
        # candidate is compared with the same default runs, and with the others round by round.
        reports = schedlang.run_each(
            [(v.artifact, dict(r.best.params)) for _, r, v in verified if v.artifact is not None],
            workloads=[goal.workload],
            repeat=per,
            progress=lambda line: clock.say("measure", None, line),
            shared_default=True,
        )
    except schedlang.MeasureError as exc:  # the sandbox failed: a result, not a crash
        clock.record(Iteration("measure", None, f"the VM measurement failed: {exc}",
                               time.monotonic() - t0))  # fmt: skip
        return _finish(clock, memory, goal, None, f"nothing was kept: the VM measurement failed ({exc}).",
                       sim_best)  # fmt: skip
    spent = time.monotonic() - t0
    for (cand, result, _), report in zip(verified, reports, strict=True):
        clock.record(
            Iteration("measure", cand.name, _measured(report, vm_name), spent / len(verified),
                      vm_runs=per, params=result.best.params,
                      detail={"report": report.to_dict(), "boot_s": report.boot.get("boot_s"),
                              "measure_s": spent, "measured_together": len(verified)})
        )  # fmt: skip

    # keep
    winner, verdict = _keep(clock, memory, goal, vm_name, slo_metrics, verified, reports, sim_best)
    return _finish(clock, memory, goal, winner, verdict, sim_best)


def _observe(clock: _Clock, goal: Goal, where: str | None) -> WorkloadProfile | None:
    """Stage 1: the workload under the default scheduler, profiled (agent/observe.py). A
    failure is recorded and the loop goes on without a profile."""
    if where is None:
        return None
    t0 = time.monotonic()
    assert goal.workload is not None
    name = SIM_MODELS[goal.workload] if where == "sim" else goal.workload
    clock.say("observe", None, f"{name} under the default scheduler ({where})")
    try:
        found = observe(name, sim=where == "sim")
    except Exception as exc:  # a trace that failed is this stage's result, not the loop's end
        clock.record(Iteration("observe", None, f"no profile: {exc}", time.monotonic() - t0))
        return None
    clock.record(
        Iteration("observe", None, f"{found.bottleneck}: {found.bottleneck_why}",
                  time.monotonic() - t0, detail={"profile": found.to_dict()})
    )  # fmt: skip
    return found


class _Memory:
    """Stage 7 for one synthesis: past winners in, this run's measurements and verdicts out
    (agent/history.py)."""

    def __init__(self, store: History, profile: WorkloadProfile | None) -> None:
        self.store = store
        self.profile = profile
        self.profile_id = store.record_profile(profile) if profile is not None else None
        self.verdicts: list[int] = []
        self.winner: int | None = None

    @classmethod
    def open(cls, where: Path | str | bool, profile: WorkloadProfile | None) -> _Memory | None:
        if where is False:
            return None
        try:
            store = History.open(None if where is True else Path(str(where)))
        except HistoryError:
            return None
        return cls(store, profile)

    def past(self, goal: Goal, metric: str | None, k: int) -> list[Candidate]:
        """Past winners on the nearest profiles for the same VM figure, as candidates."""
        if self.profile is None or metric is None:
            return []
        found: list[Candidate] = []
        seen: set[tuple[str, str]] = set()  # a policy that won twice with the same params is one
        for w in self.store.similar(self.profile, k=4 * k):
            if len(found) == k:
                break
            e = w.entry
            key = (e.policy, json.dumps(e.params, sort_keys=True))
            if e.metric != metric or e.workload != goal.workload or key in seen:
                continue
            seen.add(key)
            why = f"won {e.gain or 0:.3f}x (history #{e.id}), profile distance {w.distance:.3g}"
            score = 100.0 + (e.gain or 0.0) - w.distance
            found.append(Candidate(e.candidate, w.source, "history", score, (why,), e.params,
                                   w.distance))  # fmt: skip
        return found

    def kept_here(self, goal: Goal, metric: str | None) -> dict[str, Any] | None:
        """The most recent winner kept on this very profile for the same figure, measured on
        the kernel the VM boots now (`History.show`'s record), or None."""
        if self.profile is None or metric is None:
            return None
        release = schedlang.kernel_version()
        found = []
        for w in self.store.similar(self.profile, k=20):
            e = w.entry
            if w.distance != 0.0 or e.metric != metric or e.workload != goal.workload:
                continue
            record = self.store.show(e.id)
            made_on = str(record["measurement"]["boot"].get("kernel_release", ""))
            if made_on == release or made_on.startswith(release + "-"):
                found.append(record)
        return max(found, key=lambda r: r["entry"]["id"]) if found else None

    def remember(
        self, cand: Candidate, params: dict[str, int], workload: str, report: Any, v: Any
    ) -> None:
        digest = self.store.record_policy(cand.source, cand.name)
        runs = [s for s in (keep.samples(report, r.metric) for r in report.rows) if s]
        measured = self.store.record_measurement(
            digest, params, workload, runs, profile=self.profile_id, boot=report.boot
        )
        verdict = self.store.record_verdict(v, measured)
        self.verdicts.append(verdict)
        if v.win:
            self.winner = verdict

    def close(self, goal: Goal, summary: str, seconds: float, vm_runs: int) -> None:
        self.store.record_synthesis(
            goal, summary, verdicts=self.verdicts, winner=self.winner,
            profile=self.profile_id, seconds=seconds, vm_runs=vm_runs,
        )  # fmt: skip
        self.store.close()


def _model_client(offline: bool | None, budget: Budget) -> Any | None:
    """The model's client, or None to run offline: `offline` True, no token budget, or (with
    `offline` None) no API key. The SDK is imported only when a model may be used."""
    if offline is True:
        return None
    from schedlang.agent.conversation import API_KEY_ENV, client_from_env

    client = client_from_env() if budget.tokens > 0 else None
    if client is None and offline is False:
        missing = (
            f"set {API_KEY_ENV}" if budget.tokens > 0 else "give it tokens (--budget tokens=N)"
        )
        raise ValueError(f"synthesis with a model needs an API key and a token budget: {missing}")
    return client


def _generate(
    clock: _Clock,
    goal: Goal,
    profile: WorkloadProfile | None,
    ranked: list[Candidate],
    client: Any,
) -> list[Candidate]:
    """Stage 4: the model writes a policy starting from the top candidate, within the token
    budget. What it wrote that checked joins the candidates (renamed if its name is taken, so
    each candidate keeps its own files); every call is in the iteration's detail."""
    from schedlang.agent.generate import generate
    from schedlang.agent.prompts import PromptError

    t0 = time.monotonic()
    clock.say("generate", None, "asking the model for a policy")
    try:
        result = generate(
            goal,
            profile,
            ranked[0] if ranked else None,
            client,
            max_tokens_total=clock.budget.tokens,
        )
    except PromptError as exc:
        clock.record(Iteration("generate", None, f"skipped: {exc}", time.monotonic() - t0))
        return []
    cost = "no price for this model" if result.cost_usd is None else f"${result.cost_usd:.4f}"
    taken = {c.name for c in ranked}
    written = []
    for cand in result.candidates:
        name = cand.name if cand.name not in taken else f"{cand.name}-{cand.origin}"
        taken.add(name)
        written.append(dataclasses.replace(cand, name=name))
    clock.record(
        Iteration(
            "generate",
            ", ".join(c.name for c in written) or None,
            f"{result.stopped}: {len(result.attempts)} calls, {result.usage.tokens} tokens, {cost}",
            time.monotonic() - t0,
            tokens=result.usage.tokens,
            detail={"model": result.model, "usage": asdict(result.usage),
                    "cost_usd": result.cost_usd,
                    "attempts": [asdict(a) for a in result.attempts]},
        )
    )  # fmt: skip
    return written


def _vm_seconds(budget: Budget, vm_candidates: int, repeat: int) -> float:
    """Wall time to hold back for the VM: a boot, then per candidate its runs and its share
    of the default's (docs/agent.md: 21 s a candidate on hackbench at load 4-5, 30-50 s at
    load 5-8; the simulated search is capped by MAX_TRIALS long before then)."""
    if budget.vm_runs == 0:
        return 0.0
    count = min(vm_candidates, budget.vm_runs // max(repeat, MIN_REPEAT))
    return 20.0 + 15.0 * count * max(repeat, MIN_REPEAT) / MIN_REPEAT


def _params_text(t: Tuned) -> str:
    return ", ".join(f"{r.name}={literal(r.type, t.best.params[r.name])}" for r in t.ranges)


def _sim_key(t: Tuned) -> tuple[bool, float]:
    score = t.best.score
    return (t.best.feasible and score is not None, score if score is not None else -math.inf)


def _sim_only_verdict(sim_best: dict[str, Any] | None) -> str:
    if sim_best is None:
        return "nothing was kept: no candidate was tuned."
    params = sim_best["params_text"] or "no params"
    return (
        "nothing was kept: the budget has no VM runs, so no candidate was measured against "
        f"the kernel's default. The simulator's best was {sim_best['candidate']} ({params}) at "
        f"{sim_best['score'] or 0:.3f}x the default model: unproven."
    )


def _row(report: Any, metric: str) -> Any:
    return next((r for r in report.rows if r.metric == metric), None)


def _measured(report: Any, metric: str) -> str:
    if report.events:
        e = report.events[0]
        return f"{e.kind.replace('_', ' ')}: {e.reason}"
    row = _row(report, metric)
    if row is None or row.policy is None or row.baseline is None:
        return f"no {metric} figures"
    return (
        f"{metric} median {row.policy.median:.4g} vs default {row.baseline.median:.4g} "
        f"(ratio {row.ratio:.3f})"
    )


def _recalled(clock: _Clock, memory: _Memory, goal: Goal, record: dict[str, Any]) -> Synthesis:
    """A winner this store kept on the same profile, figure and kernel, returned as its
    verdict stands after a fresh check and compile (verify): the measurement it rests on was
    same-boot and significant, and measuring it again is `remeasure`'s choice, not a
    default that costs a boot and ten runs for the same answer."""
    entry = record["entry"]
    params = dict(entry["params"])
    name = entry["candidate"]
    t0 = time.monotonic()
    outdir = Path(tempfile.mkdtemp(prefix="schedlang-synth-"))
    v = verify(name, record["source"], params, outdir / name)
    clock.record(
        Iteration("verify", name, v.outcome, time.monotonic() - t0, params=params,
                  detail={"diagnostics": v.diagnostics, "recalled": entry["id"]})
    )  # fmt: skip
    if v.artifact is None:
        verdict = (
            f"nothing was kept: {name}, kept before on this profile (history #{entry['id']}), "
            f"no longer compiles: {v.outcome}. Run again with remeasure to search afresh."
        )
        return _finish(clock, memory, goal, None, verdict, None)
    kept = keep.Verdict.from_dict(record["verdict"])
    boot = record["measurement"]["boot"]
    header = [
        f"Synthesized by schedlang {schedlang.__version__} for: {goal.text or goal.describe()}",
        f"Recalled from history #{entry['id']} ({entry['recorded']}): kept on this workload "
        f"profile, not measured again",
        *(f"  {c.describe()}" for c in (kept.vs_default, kept.vs_best) if c is not None),
        f"Measured then: same boot; boot {boot.get('accelerator')}, kernel "
        f"{boot.get('kernel_release')}",
        *(f"Hard SLO {check.describe()}" for check in kept.slos),
    ]
    winner = Winner(name, "history", params, winner_file(record["source"], params, header), kept)
    clock.best = f"{name} (recalled)"
    memory.winner = entry["id"]  # this run ended on that stored verdict; nothing new to write
    verdict = (
        f"kept {name}, recalled from history #{entry['id']} (measured {entry['recorded']} on "
        f"this profile and kernel): {kept.sentence} Not measured again; remeasure to do so."
    )
    return _finish(clock, memory, goal, winner, verdict, None)


def _keep(
    clock: _Clock,
    memory: _Memory | None,
    goal: Goal,
    metric: str,
    slo_metrics: list[str],
    verified: list[tuple[Candidate, Tuned, Verified]],
    reports: Sequence[Any],
    sim_best: dict[str, Any] | None,
) -> tuple[Winner | None, str]:
    """Each measured candidate in order against the default, the hard SLOs and the best so
    far (`keep.judge`); the last one kept is the winner."""
    best: tuple[Candidate, Tuned, Any, keep.Verdict] | None = None
    seen: dict[str, float | None] = {}  # oriented median ratio to the default, per candidate
    reasons: list[str] = []
    for (cand, result, _), report in zip(verified, reports, strict=True):
        t0 = time.monotonic()
        runs = keep.samples(report, metric)
        if report.events or runs is None:
            why = _measured(report, metric)
            reasons.append(f"{cand.name}: {why}")
            clock.record(Iteration("keep", cand.name, f"not kept: {why}", time.monotonic() - t0))
            continue
        slos = []
        for slo, slo_metric in zip(goal.slos, slo_metrics, strict=True):
            found = keep.samples(report, slo_metric)
            slos.append((slo, found or keep.Samples(slo_metric, "higher", (), ())))
        rival = None
        if best is not None:
            theirs = keep.samples(best[2], metric)
            rival = (best[0].name, theirs.candidate if theirs else ())
        verdict = keep.judge(cand.name, runs, slos=slos, best=rival)
        if verdict.vs_default is not None:
            seen[cand.name] = verdict.vs_default.oriented()[0]
        if memory is not None:
            memory.remember(cand, result.best.params, goal.workload or "", report, verdict)
        if verdict.win:
            best = (cand, result, report, verdict)
            ratio = verdict.vs_default.oriented()[0] if verdict.vs_default else None
            clock.best = f"{cand.name} ({ratio or 0:.3f}x)"
        else:
            reasons.append(verdict.sentence)
        clock.record(
            Iteration("keep", cand.name, verdict.sentence, time.monotonic() - t0,
                      detail={"verdict": verdict.to_dict()})
        )  # fmt: skip
    if best is None:
        sim = ""
        if sim_best is not None and (sim_best["score"] or 0) > 1:
            name = sim_best["candidate"]
            vm = seen.get(name)
            sim = f" The simulator ranked {name} {sim_best['score']:.3f}x better than its default model; "
            if vm is not None and vm > 1:
                sim += (
                    f"the VM's medians lean the same way ({vm:.3f}x) but its runs were too "
                    "spread for significance."
                )
            else:
                sim += "that ranking did not hold in the VM."
        return None, "nothing was kept: no candidate beat the default with significance. " + (
            " ".join(reasons) + sim
        )
    cand, result, report, verdict = best
    header = _header(goal, cand, result, report, verdict, metric)
    source = winner_file(cand.source, result.best.params, header)
    winner = Winner(cand.name, cand.origin, result.best.params, source, verdict)
    return winner, f"kept {cand.name}: {verdict.sentence}"


def _header(
    goal: Goal,
    cand: Candidate,
    result: Tuned,
    report: Any,
    verdict: keep.Verdict,
    metric: str,
) -> list[str]:
    row = _row(report, metric)
    boot = report.boot
    params = _params_text(result)
    lines = [
        f"Synthesized by schedlang {schedlang.__version__} for: {goal.text or goal.describe()}",
        f"Won on {goal.workload}: {metric} median {row.policy.median:.4g} {row.unit} vs the "
        f"default's {row.baseline.median:.4g} ({METRICS[goal.metric][1]})",
    ]
    lines += [f"  {c.describe()}" for c in (verdict.vs_default, verdict.vs_best) if c is not None]
    lines.append(
        f"Measured: same boot, order {report.order}, {report.repeat} runs a side; boot "
        f"{boot.get('accelerator')}, kernel {boot.get('kernel_release')}"
    )
    lines += [f"Hard SLO {check.describe()}" for check in verdict.slos]
    lines.append(
        f"Started from {cand.origin} policy {cand.name}; params tuned in the simulator "
        f"({len(result.trials)} trials): {params or 'none declared'}"
    )
    return lines


def _finish(
    clock: _Clock,
    memory: _Memory | None,
    goal: Goal,
    winner: Winner | None,
    verdict: str,
    sim_best: dict[str, Any] | None,
) -> Synthesis:
    clock.say("done", winner.name if winner else None, verdict)
    if memory is not None:
        memory.close(goal, verdict, time.monotonic() - clock.start, clock.vm_used)
    return Synthesis(
        goal=goal,
        winner=winner,
        verdict=verdict,
        iterations=tuple(clock.iterations),
        seconds=time.monotonic() - clock.start,
        vm_runs=clock.vm_used,
        tokens=sum(it.tokens for it in clock.iterations),
        simulated_best=sim_best,
    )


__all__ = ["Budget", "Goal", "GoalError", "Iteration", "Progress", "Synthesis", "synthesize"]

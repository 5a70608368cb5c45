"""`schedlang bench run`: phase 1, the agent states a goal per workload from its profile
(graded by benchmark/goals.py); phase 2, it proposes a policy per workload, the VM measures
it against the default scheduler, and the score is written as
DIR/scores.json (schema 2, docs/benchmark.md) with every raw output in DIR/raw/, every
profile shown in DIR/profiles/ and every policy in DIR/policies/.

The profile is the workload's own command traced in the VM (`schedlang analyze --workload
RUNNER`), the simulator's of its `sim_proxy` model only when asked (`--profiles sim`) or when
the trace fails, saying so (benchmark/profiles.py). `--goals-only` runs phase 1 alone and
writes DIR/goals.json instead of scores.json.

Each workload is measured in a boot of its own (`schedlang.run`, runs interleaved ABBA), one
executor task (schedlang.benchmark.executor: here, or on a Ray cluster), so a workload's
figures never depend on which others the agent gave the same policy, and the bundle is the
same whichever executor ran it. Each distinct proposal is compiled once, here; its task gets
the object's bytes. The default agent's boot loads no policy at all (`measure.run_default`).
A workload whose I interval is too wide (score.WIDE_RATIO) is measured once more and its
runs pooled; if still wide it is marked, never silently scored. Skipped workloads (programs
not installed) are listed with their reason. A proposal that does not compile (source that
does not check, C the gate refuses) boots nothing: every I is missing, so it scores 0, as a
policy that fails to load does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schedlang.benchmark import executor as executors
from schedlang.benchmark import goals, profiles, score, suite
from schedlang.benchmark.agents import (
    TRACKS,
    Agent,
    AgentError,
    Budget,
    GoalQuestion,
    Proposal,
)
from schedlang.benchmark.plugin import make

MIN_RUNS = 5  # a side, for a full run (the floor)
QUICK_RUNS = 2
QUICK_WORKLOADS = ("hackbench", "pipe", "xz")
SCHEMA = 2  # 2: phase 1 (goal, goal_score, goal_score_held_out); 1 had phase 2 only

Say = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    track: str = "T1"
    quick: bool = False
    workloads: tuple[str, ...] = ()
    budget: Budget = Budget()
    rerun_wide: bool = True
    profile_source: profiles.Source = "vm"  # phase 1's profiles: traced in the VM, or simulated
    reuse_profiles: Path | None = None  # an earlier bundle whose profiles are shown again
    goals_only: bool = False  # phase 1 alone: goals.json, nothing measured

    @property
    def repeat(self) -> int:
        return QUICK_RUNS if self.quick else MIN_RUNS


def _policy_label(proposal: Proposal) -> str | None:
    """A stdlib policy's name; `generated-HASH` (`generated-c-HASH` for C) for source an agent
    wrote, so two workloads' different sources keep files of their own in DIR/policies/."""
    if proposal.policy is None:
        return None
    if not proposal.is_source:
        return proposal.policy
    digest = hashlib.sha256(proposal.policy.encode()).hexdigest()[:8]
    return f"generated-c-{digest}" if proposal.language == "c" else f"generated-{digest}"


def _compile(proposal: Proposal, outdir: Path) -> Any:
    """The proposal's artifact, its source saved beside it in DIR/policies/ (C goes the one
    C route, `schedlang.compile` on a .bpf.c: the verify-c gate, then clang)."""
    import schedlang
    from schedlang.stdlib import source as stdlib_source

    assert proposal.policy is not None
    text = proposal.policy if proposal.is_source else stdlib_source(proposal.policy)
    name = _policy_label(proposal)
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / (f"{name}.bpf.c" if proposal.language == "c" else f"{name}.sched")
    path.write_text(text)
    return schedlang.compile(path, params=proposal.params or None, outdir=outdir)


def _samples(report: Any, workload: str) -> dict[str, tuple[list[float], list[float]]]:
    """metric -> (baseline runs, agent runs) of one workload, valid runs only."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for run in report.runs:
        if run.workload != workload or not run.valid:
            continue
        values = {**run.metrics, "wall_s": run.wall_s}
        for metric, value in values.items():
            base, agent = out.setdefault(metric, ([], []))
            (base if run.side == "baseline" else agent).append(float(value))
    return out


@dataclass(frozen=True)
class Boot:
    """One task: a workload measured against the default in one boot, under `policy` (None:
    the default against itself). `files` are the compiled policy's (name -> bytes: object,
    manifest, C), so the task needs neither clang nor the result directory."""

    label: str  # for progress lines: "boot 2/5 hackbench"
    runner: str
    repeat: int
    policy: str | None = None
    params: dict[str, Any] | None = None
    files: dict[str, bytes] | None = None


@dataclass(frozen=True)
class Measured:
    """What a Boot task returns: the report (raw/*.json), the boot's facts, the samples."""

    report_json: str
    boot: dict[str, Any]
    samples: dict[str, tuple[list[float], list[float]]]


def _measure(job: Boot, say: Say) -> Any:
    """The VM measurement of one Boot: a `Report`."""
    import schedlang

    if job.files is None:
        return schedlang.run_default([job.runner], repeat=job.repeat, progress=say)
    with tempfile.TemporaryDirectory(prefix="schedlang-bench-") as tmp:
        for name, data in job.files.items():
            (Path(tmp) / name).write_bytes(data)
        (obj,) = (name for name in job.files if name.endswith(".bpf.o"))  # manifest beside it
        return schedlang.run(Path(tmp) / obj, workloads=[job.runner], repeat=job.repeat,
                             params=job.params or None, progress=say)  # fmt: skip


def measure_task(job: Boot, say: Say) -> Measured:
    """An executor task (runs here or on a Ray worker): measure, keep what the caller needs."""
    report = _measure(job, lambda line: say(f"[{job.label}] {line}"))
    boot = dict(getattr(report, "boot", {}))  # accelerator, guest kernel, vCPUs, host cores
    return Measured(report.to_json(), boot, _samples(report, job.runner))


def _policy_files(
    proposal: Proposal, outdir: Path, compiled: dict[str, dict[str, bytes]]
) -> dict[str, bytes] | None:
    """The proposal's compiled files, compiled into DIR/policies/ the first time it is seen."""
    if proposal.policy is None:
        return None
    key = json.dumps([proposal.policy, sorted(proposal.params.items())])
    if key not in compiled:
        artifact = _compile(proposal, outdir)
        paths = [artifact.object_path, artifact.manifest_path, artifact.c_path]
        compiled[key] = {p.name: p.read_bytes() for p in paths if p is not None}
    return compiled[key]


def _compile_all(
    specs: list[suite.WorkloadSpec], proposals: dict[str, Proposal], outdir: Path, say: Say
) -> dict[str, dict[str, bytes] | None]:
    """Each workload's compiled files (None: the default, nothing to load); a workload whose
    proposal does not compile (DSL that does not check, C the gate or clang refuses) is left
    out, saying why: it is scored as a failed proposal."""
    from schedlang import SchedlangError

    compiled: dict[str, dict[str, bytes]] = {}
    files: dict[str, dict[str, bytes] | None] = {}
    for spec in specs:
        try:
            files[spec.name] = _policy_files(proposals[spec.name], outdir, compiled)
        except SchedlangError as exc:
            errors = [d for d in exc.diagnostics if d.severity == "error"] or exc.diagnostics
            why = f"{errors[0].line}:{errors[0].col}: {errors[0].message}" if errors else str(exc)
            say(f"{spec.name}: {_policy_label(proposals[spec.name])} does not compile ({why}): "
                "nothing to load, scored as a failed proposal")  # fmt: skip
    return files


class _Eta:
    """Time left, from the guest runner's finished-step lines (`[3/22] side name run 2: ...`)
    and the mean time a step has taken so far."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.done = 0
        self.t0 = time.monotonic()

    def left(self, line: str) -> str:
        if re.search(r"\[\d+/\d+\] .*: ", line):
            self.done += 1
        if self.done == 0:
            return f"step 0/{self.steps}"
        per = (time.monotonic() - self.t0) / self.done
        return f"step {self.done}/{self.steps}, ~{per * (self.steps - self.done):.0f}s left"


def _measure_all(
    run_on: executors.Executor, jobs: list[Boot], repeat: int, say: Say
) -> list[Measured]:
    """Every Boot on the executor, each guest step's line said with the steps done and the
    time left (the first measurement's and the re-runs' alike)."""
    eta = _Eta(len(jobs) * (2 * repeat + 1))

    def progress(line: Any) -> None:
        say(f"  [{eta.left(line)}] {line}")

    return executors.run_all(run_on, measure_task, jobs, progress, cpus=executors.VM_CPUS)


def _spent(proposal: Proposal) -> dict[str, Any]:
    """What the agent spent proposing for one workload (the budget's share of it)."""
    return {"wall_s": proposal.wall_s, "vm_runs": proposal.vm_runs, "tokens": proposal.tokens}


def _machine() -> dict[str, Any]:
    return {
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def run_suite(
    agent: Agent,
    settings: Settings,
    out: Path,
    say: Say = print,
    executor: executors.Executor | None = None,
) -> dict[str, Any]:
    """Run the suite (or `settings.workloads`) for `agent`, its boots on `executor` (local
    when None); write and return scores.json."""
    from schedlang.version import __version__

    if settings.track not in TRACKS:
        raise suite.SuiteError(
            f"track '{settings.track}' is not runnable (runnable: {', '.join(TRACKS)}; "
            "T3, scheduling with I/O or DVFS, is designed in docs/benchmark.md, not built)"
        )
    specs = suite.load()
    wanted = list(settings.workloads) or (list(QUICK_WORKLOADS) if settings.quick else [])
    chosen = suite.select(specs, wanted)
    out.mkdir(parents=True, exist_ok=True)
    (out / "raw").mkdir(exist_ok=True)
    t_start = time.monotonic()

    skipped = []
    runnable = []
    for spec in chosen:
        reason = spec.skip_reason()
        if reason:
            say(f"skip {spec.name}: {reason}")
            skipped.append({"name": spec.name, "reason": reason})
        else:
            runnable.append(spec)

    reuse = {} if settings.reuse_profiles is None else profiles.reusable(settings.reuse_profiles)
    shown = profiles.gather(runnable, settings.profile_source, out, say, reuse=reuse,
                            reused_from=str(settings.reuse_profiles))  # fmt: skip
    graded = _phase1(agent, runnable, shown, say)
    if settings.goals_only:
        return _goals_only(agent, settings, runnable, shown, graded, skipped, out, say, t_start)

    # propose: the agent sees each workload's file; held-out ones last, so an agent that
    # learns from the tuned ones can carry it over (agents.OfflineAgent)
    proposals: dict[str, Proposal] = {}
    for spec in sorted(runnable, key=lambda s: s.held_out):  # tuned ones first
        say(f"propose {spec.name} ({spec.category}{', held out' if spec.held_out else ''})")
        profile = shown[spec.name].profile
        proposals[spec.name] = agent.propose(
            spec, None if profile is None else profile.to_dict(), settings.budget
        )
        p = proposals[spec.name]
        say(f"  {spec.name}: {_policy_label(p) or 'the default'} {p.params or ''} {p.note}")

    # measure: one boot (one executor task) per workload, compiled once per distinct proposal;
    # a proposal that does not compile has nothing to load: no boot, every I missing (0)
    run_on = executor or executors.LocalExecutor()
    files = _compile_all(runnable, proposals, out / "policies", say)
    booted = [spec for spec in runnable if spec.name in files]
    jobs = [
        Boot(
            label=f"boot {n}/{len(booted)} {spec.name}",
            runner=spec.runner,
            repeat=settings.repeat,
            policy=_policy_label(proposals[spec.name]),
            params=proposals[spec.name].params,
            files=files[spec.name],
        )
        for n, spec in enumerate(booted, 1)
    ]
    say(f"measure {len(jobs)} workloads, {settings.repeat} runs a side, one boot each, "
        f"on {run_on.name}")  # fmt: skip
    samples: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    boot: dict[str, Any] = {}
    boots_s: dict[str, list[Any]] = {}  # each boot's wall clock (None: not reported)
    results = _measure_all(run_on, jobs, settings.repeat, say)
    for n, (spec, measured) in enumerate(zip(booted, results, strict=True), 1):
        (out / "raw" / f"boot{n}.json").write_text(measured.report_json)
        samples[spec.name] = measured.samples
        boot = measured.boot
        boots_s[spec.name] = [boot.get("wall_s")]

    first = {spec.name: score.score_workload(spec, _policy_label(proposals[spec.name]),
                                             proposals[spec.name].params,
                                             samples.get(spec.name, {}))
             for spec in runnable}  # fmt: skip
    rerun = settings.rerun_wide and not settings.quick
    again = [spec for spec in booted if rerun and first[spec.name].wide]
    for spec in again:
        say(f"{spec.name}: interval too wide, measuring once more")
    by_name = {spec.name: job for spec, job in zip(booted, jobs, strict=True)}
    rerun_jobs = [replace(by_name[s.name], label=f"rerun {n}/{len(again)} {s.name}")
                  for n, s in enumerate(again, 1)]  # fmt: skip
    reruns = _measure_all(run_on, rerun_jobs, settings.repeat, say)
    remeasured = dict(zip((s.name for s in again), reruns, strict=True))
    scored: list[score.WorkloadScore] = []
    for spec in runnable:
        p = proposals[spec.name]
        ws = first[spec.name]
        if spec.name in remeasured:
            (out / "raw" / f"{spec.name}-rerun.json").write_text(remeasured[spec.name].report_json)
            boots_s[spec.name].append(remeasured[spec.name].boot.get("wall_s"))
            more = remeasured[spec.name].samples
            pooled = {
                m: (samples[spec.name].get(m, ([], []))[0] + b, samples[spec.name].get(m, ([], []))[1] + a)
                for m, (b, a) in more.items()
            }  # fmt: skip
            ws = score.score_workload(spec, _policy_label(p), p.params, pooled)
        scored.append(ws)
        say(f"{spec.name}: weighted {ws.weighted:.3f}" + (" (WIDE)" if ws.wide else "")
            + ("" if ws.slos_met else " (hard SLO missed)"))  # fmt: skip

    used = score.BudgetUse(
        wall_s=sum(p.wall_s for p in proposals.values()),
        vm_runs=sum(p.vm_runs for p in proposals.values()),
        tokens=sum(p.tokens for p in proposals.values()),
        limit_wall_s=settings.budget.wall_s,
        limit_vm_runs=settings.budget.vm_runs,
        limit_tokens=settings.budget.tokens,
    )

    result = {
        "schema": SCHEMA,
        "track": settings.track,
        "agent": agent.name,
        "quick": settings.quick,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "score": score.total(scored, used, held_out=False),
        # null, not 0, when no held-out workload ran: nothing generalised or failed to
        "score_held_out": (
            score.total(scored, used, held_out=True)
            if any(w.spec.held_out for w in scored)
            else None
        ),
        "budget": {
            "wall_s": used.wall_s,
            "vm_runs": used.vm_runs,
            "tokens": used.tokens,
            "overuse": used.overuse,
            "lambda": used.lam,
            "limits": used.to_dict()["limits"],
        },
        "goal_score": _phase1_score(runnable, graded, held_out=False),
        "goal_score_held_out": _phase1_score(runnable, graded, held_out=True),
        "runs_a_side": settings.repeat,
        "workloads": [
            {
                **w.to_dict(),
                "goal": g.to_dict() if (g := graded.get(w.spec.name)) else None,
                "profile": shown[w.spec.name].to_dict(),
                "spent": _spent(proposals[w.spec.name]),
                "boots_s": boots_s.get(w.spec.name, []),  # none: it did not compile
            }
            for w in scored
        ],
        "skipped": skipped,
        "machine": {**_machine(), "sandbox": boot},
        "versions": {"schedlang": __version__},
        "seconds": time.monotonic() - t_start,
    }
    (out / "scores.json").write_text(json.dumps(result, indent=2))
    _seal(out, say)
    return result


def _phase1(
    agent: Agent, specs: list[suite.WorkloadSpec], shown: dict[str, profiles.Shown], say: Say
) -> dict[str, goals.GoalGrade]:
    """Phase 1: the agent's goal per workload, graded; empty when it states none at all."""
    state_goal = getattr(agent, "state_goal", None)
    if state_goal is None:
        say(f"phase 1: agent {agent.name} does not state goals, not graded")
        return {}
    graded = {}
    for spec in specs:
        question = GoalQuestion(spec.name, spec.description, spec.category,
                                shown[spec.name].profile)  # fmt: skip
        graded[spec.name] = g = goals.grade(state_goal(question), spec.goal)
        say(f"goal {spec.name}: {goals.describe(g.stated)} (grade {g.grade:.2f})")
    return graded


def _phase1_score(
    specs: list[suite.WorkloadSpec], graded: dict[str, goals.GoalGrade], *, held_out: bool
) -> float | None:
    """Phase 1's score over the tuned (or the held-out) workloads that have a graded goal."""
    return goals.phase_score(
        [g for s in specs if s.held_out == held_out and (g := graded.get(s.name))]
    )


GOALS_SCHEMA = 1


def _goals_only(
    agent: Agent,
    settings: Settings,
    specs: list[suite.WorkloadSpec],
    shown: dict[str, profiles.Shown],
    graded: dict[str, goals.GoalGrade],
    skipped: list[dict[str, str]],
    out: Path,
    say: Say,
    t_start: float,
) -> dict[str, Any]:
    """Phase 1 alone: DIR/goals.json (the profiles shown, each goal graded), sealed."""
    from schedlang.version import __version__

    result = {
        "schema": GOALS_SCHEMA,
        "track": settings.track,
        "agent": agent.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "profiles": settings.profile_source,
        "reused_from": None if settings.reuse_profiles is None else str(settings.reuse_profiles),
        "goal_score": _phase1_score(specs, graded, held_out=False),
        "goal_score_held_out": _phase1_score(specs, graded, held_out=True),
        "workloads": [
            {
                "name": s.name,
                "category": s.category,
                "held_out": s.held_out,
                "profile": shown[s.name].to_dict(),
                "goal": g.to_dict() if (g := graded.get(s.name)) else None,
            }
            for s in specs
        ],  # fmt: skip
        "skipped": skipped,
        "machine": _machine(),
        "versions": {"schedlang": __version__},
        "seconds": time.monotonic() - t_start,
    }
    (out / "goals.json").write_text(json.dumps(result, indent=2))
    _seal(out, say)
    return result


def _seal(out: Path, say: Say) -> None:
    try:
        from schedlang.benchmark import bundle  # written in parallel (issue 11, bundle)
    except ImportError:
        say("not sealed: schedlang.benchmark.bundle is not in this build yet")
        return
    bundle.seal(out)
    say(f"sealed {out}")


# --- `schedlang bench run` (commands/bench.py delegates its options and body here) ------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--track", default="T1", help="T1 config-only (default), T2 code-gen")
    p.add_argument("--agent", default="default",
                   help="default, rules, offline; model, naive (T2, need ANTHROPIC_API_KEY); "
                   "an outside agent: module.path:attr, file.py:Name or proposals:FILE.json "
                   "(`schedlang bench agents`)")  # fmt: skip
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK_RUNS} runs a side and {', '.join(QUICK_WORKLOADS)} unless "
                   "--workloads says otherwise (marked quick in scores.json)")  # fmt: skip
    p.add_argument("--workloads", metavar="a,b", help="only these suite workloads")
    p.add_argument("--budget", default="wall=600,vm=0,tokens=0", metavar="wall=S,vm=N,tokens=T",
                   help="what the agent may spend (default wall=600,vm=0,tokens=0)")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="the result directory")
    p.add_argument("--profiles", choices=profiles.SOURCES, default="vm",
                   help="phase 1's profiles: traced in the VM (default; `schedlang analyze "
                   "--workload RUNNER`) or the simulator's model (no VM time)")  # fmt: skip
    p.add_argument("--reuse-profiles", type=Path, metavar="BUNDLE",
                   help="show the profiles an earlier bundle holds (it must verify) instead of "
                   "tracing again: two agents graded on the same traces")  # fmt: skip
    p.add_argument("--goals-only", action="store_true",
                   help="phase 1 alone: profile, state and grade the goals, measure nothing "
                   "(DIR/goals.json)")  # fmt: skip
    p.add_argument("--executor", default="local", metavar="local|ray[:ADDRESS]",
                   help=executors.HELP + "; one task per workload, each its own boot")  # fmt: skip


def _budget(text: str) -> Budget:
    fields = {"wall": "wall_s", "vm": "vm_runs", "tokens": "tokens"}
    values: dict[str, Any] = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key not in fields or not value:
            raise ValueError(f"--budget: '{part}' is not wall=S, vm=N or tokens=T")
        values[fields[key]] = float(value) if key == "wall" else int(value)
    return Budget(**values)


def run(args: argparse.Namespace) -> int:
    """Exit codes: 0 the suite ran and scores.json is written, 2 an unusable request."""
    from schedlang import MeasureError

    try:
        settings = Settings(
            track=args.track,
            quick=args.quick,
            workloads=tuple(w for w in (args.workloads or "").split(",") if w),
            budget=_budget(args.budget),
            profile_source=getattr(args, "profiles", "vm"),
            reuse_profiles=getattr(args, "reuse_profiles", None),
            goals_only=getattr(args, "goals_only", False),
        )
        agent = make(args.agent, args.track)
        executor = executors.make(getattr(args, "executor", None))
    except (ValueError, AgentError, executors.ExecutorError) as exc:
        print(f"schedlang bench run: {exc}", file=sys.stderr)
        return 2
    try:
        result = run_suite(agent, settings, args.out, say=lambda line: print(line, flush=True),
                           executor=executor)  # fmt: skip
    except (suite.SuiteError, AgentError, MeasureError, executors.ExecutorError,
            profiles.ProfilesError) as exc:  # fmt: skip
        print(f"schedlang bench run: {exc}", file=sys.stderr)
        return 2
    finally:
        executor.close()
    print(format_goals(result) if settings.goals_only else format_table(result))
    return 0


def format_table(result: dict[str, Any]) -> str:
    """The scores as a plain table: one row per scored metric."""
    lines = [
        f"track {result['track']}, agent {result['agent']}"
        + (f", QUICK ({result['runs_a_side']} runs a side)" if result["quick"] else
           f", {result['runs_a_side']} runs a side"),
        f"{'workload':<14}{'policy':<16}{'metric':<18}{'I':>7}  {'95% interval':<17}"
        f"{'SLOs':<6}{'weighted':>9}  {'goal':>5}",
    ]  # fmt: skip
    for w in result["workloads"]:
        for k, m in enumerate(w["metrics"]):
            i = "-" if m["I"] is None else f"{m['I']:.3f}"
            iv = "-" if not m["interval"] else f"{m['interval'][0]:.2f}-{m['interval'][1]:.2f}"
            iv += " wide" if m["wide"] else ""
            if m.get("noise") and m["noise"][0] is not None:  # the default against itself
                iv = f"(self {m['noise'][0]:.2f})"
            iv = f"{iv} "
            first = k == 0
            goal = w.get("goal")
            grade = "-" if goal is None else f"{goal['grade']:.2f}"
            name = w["name"] + ("*" if w["held_out"] else "") if first else ""
            lines.append(
                f"{name:<14}{(w['policy'] or 'default') if first else '':<16}{m['name']:<18}"
                f"{i:>7}  {iv:<17}{('met' if w['slos_met'] else 'MISS') if first else '':<6}"
                f"{format(w['weighted'], '.3f') if first else '':>9}"
                f"  {grade if first else '':>5}".rstrip()
            )
    for s in result.get("skipped", []):
        lines.append(f"{s['name']:<14}skipped: {s['reason']}")
    held = result["score_held_out"]
    lines.append(
        f"score {result['score']:.3f}; held-out score "
        + ("- (no held-out workload ran)" if held is None else f"{held:.3f} (* held out)")
    )
    lines.append(_phase1_line(result))
    return "\n".join(lines)


def _phase1_line(result: dict[str, Any]) -> str:
    scores = (result.get("goal_score"), result.get("goal_score_held_out"))
    if scores == (None, None):
        return "goal inference (phase 1): not graded"
    shown = "; held-out ".join("-" if v is None else f"{v:.2f}" for v in scores)
    return f"goal inference (phase 1): {shown} (mean grade, 0-1)"


def format_goals(result: dict[str, Any]) -> str:
    """Phase 1 alone (goals.json) as a plain table: the profile each goal was stated from."""
    lines = [
        f"phase 1 (goal inference), agent {result['agent']}, profiles {result['profiles']}"
        + (f" reused from {result['reused_from']}" if result.get("reused_from") else ""),
        f"{'workload':<14}{'profile':<22}{'stated':<42}{'reference':<42}{'grade':>5}",
    ]
    for w in result["workloads"]:
        p, g = w["profile"], w["goal"]
        seen = "none" if p["source"] is None else f"{p['source']} {p['bottleneck']}"
        stated = "not graded" if g is None else g["stated"]["text"] if g["stated"] else "no goal"
        reference = "-" if g is None else g["reference"]["text"]
        grade = "-" if g is None else f"{g['grade']:.2f}"
        name = w["name"] + ("*" if w["held_out"] else "")
        lines.append(f"{name:<14}{seen:<22}{stated:<42}{reference:<42}{grade:>5}".rstrip())
    for s in result.get("skipped", []):
        lines.append(f"{s['name']:<14}skipped: {s['reason']}")
    lines.append(_phase1_line(result))
    return "\n".join(lines)

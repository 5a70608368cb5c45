"""The runner that executes one same-boot comparison where the sched_ext kernel is.

`python3 -m schedlang.runtime.guest_job JOB.json` runs inside the sandbox guest (or on a
sched_ext host in `--host` mode). It alternates the kernel's default scheduler (nothing
loaded) and the policy (loaded, workload, stats read, detached) in one boot, so both sides
share the same host noise, caches and clock. Progress goes to stdout one line per step (the
sandbox streams it to the user); the full results go to the JSON file the job names.

Whatever the policy does (fails to load, is ejected by the watchdog, raises in the loader),
the runner records it, makes sure the default scheduler is back, and carries on with the
baseline runs: a broken policy must still yield a report that says how it broke.

A job may name further policies (`shared`): then each round runs the default once and every
policy once, so all of them are compared with the same default runs (the agent's candidates:
one default run per round instead of one per policy per round). A policy whose runs follow
each other stays loaded between them: one load per block of runs, not per run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from schedlang.runtime import loader
from schedlang.runtime.loader import scx_ops, scx_state
from schedlang.runtime.records import PolicyEvent, RunRecord, Side
from schedlang.runtime.workloads import Workload, WorkloadOutputError, get

OUTPUT_LIMIT = 256 * 1024  # bytes of each run's output kept in the results

Order = Literal["ABBA", "ABAB"]


@dataclass(frozen=True)
class Arm:
    """One policy of a job: its object, manifest and param overrides ("" object: none, the
    default runs on the policy's side too)."""

    object_path: str
    manifest_path: str
    params: dict[str, int]


@dataclass(frozen=True)
class Job:
    """What the host asks the runner to do (written by measure.py as JSON)."""

    object_path: str
    manifest_path: str
    workloads: tuple[str, ...]
    repeat: int
    results_path: str
    params: dict[str, int]
    order: Order = "ABBA"
    warmup: bool = True
    run_timeout_s: float = 180.0
    shared: tuple[Arm, ...] = ()  # further policies measured against the same default runs

    @property
    def arms(self) -> tuple[Arm, ...]:
        return (Arm(self.object_path, self.manifest_path, self.params), *self.shared)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        data = dict(data)
        data["workloads"] = tuple(data["workloads"])
        data["shared"] = tuple(Arm(**a) for a in data.get("shared", ()))
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Step:
    workload: str
    side: Side
    index: int  # -1: warm-up (runs the binaries once so page cache misses hit neither side)
    arm: int = 0  # which of the job's policies (policy side only)


def plan(
    workloads: tuple[str, ...], repeat: int, order: Order, warmup: bool, arms: int = 1
) -> list[Step]:
    """Interleave the sides per workload so slow drift (host load, guest page cache, thermal
    state) lands on all of them. A round runs the default, then each policy; ABBA reverses
    every other round (B P1 P2 | P2 P1 B), which cancels a linear drift over each pair of
    rounds for every side, and for one policy is the classic ABBA."""
    steps: list[Step] = []
    policies: list[tuple[Side, int]] = [("policy", a) for a in range(arms)]
    sides: list[tuple[Side, int]] = [("baseline", 0), *policies]
    for name in workloads:
        if warmup:
            steps.append(Step(name, "baseline", -1))
        for i in range(repeat):
            turn = sides[::-1] if order == "ABBA" and i % 2 == 1 else sides
            steps.extend(Step(name, side, i, arm if side == "policy" else 0) for side, arm in turn)
    return steps


@dataclass(frozen=True)
class Outcome:
    rc: int
    wall_s: float
    output: str
    metrics: dict[str, float]
    error: str | None
    pid: int = 0  # of the process started (the `prefix` program when one was given)


def run_workload(
    workload: Workload, scratch: Path, timeout_s: float, prefix: tuple[str, ...] = ()
) -> Outcome:
    """Run one workload's command in `scratch` and parse its output; never raises.
    `prefix` runs the command under another program (a tracer: `perf record ... --`)."""
    missing = [tool for tool in workload.tools if shutil.which(tool) is None]
    if missing:
        return Outcome(127, 0.0, "", {}, f"not installed: {', '.join(missing)}")
    try:
        if workload.prepare is not None:
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            workload.prepare(scratch)
        start = time.monotonic()
        proc = subprocess.Popen(
            [*prefix, "sh", "-c", workload.command],
            cwd=scratch,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: a timeout kills only its children
        )
    except OSError as exc:
        return Outcome(-1, 0.0, "", {}, f"could not start: {exc}")
    try:
        raw, _ = proc.communicate(timeout=timeout_s)
        error = None
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raw, _ = proc.communicate()
        error = f"timed out after {timeout_s:.0f}s"
    wall = time.monotonic() - start
    output = raw.decode(errors="replace")
    metrics: dict[str, float] = {}
    if error is None and proc.returncode != 0:
        error = f"exit code {proc.returncode}"
    if error is None:
        try:
            metrics = workload.parse(output)
        except WorkloadOutputError as exc:
            error = f"could not read the output: {exc}"
    if workload.condense is not None:
        output = workload.condense(output)
    if len(output) > OUTPUT_LIMIT:
        half = OUTPUT_LIMIT // 2
        output = output[:half] + "\n[... output cut ...]\n" + output[-half:]
    return Outcome(proc.returncode, wall, output, metrics, error, proc.pid)


class _Progress:
    def __init__(self, total: int, emit: Callable[[str], None], names: list[str]) -> None:
        self.total = total
        self.emit = emit
        self.n = 0
        self.names = names  # each policy's, when there are several

    def step(self, step: Step) -> str:
        self.n += 1
        what = "warm-up" if step.index < 0 else f"run {step.index + 1}"
        who = f" ({self.names[step.arm]})" if len(self.names) > 1 and step.side == "policy" else ""
        prefix = f"[{self.n}/{self.total}] {step.side}{who} {step.workload} {what}"
        self.emit(prefix + " ...")
        return prefix


def _summary(outcome: Outcome) -> str:
    if outcome.error:
        return f"FAILED ({outcome.error})"
    shown = ", ".join(f"{k}={v:g}" for k, v in outcome.metrics.items())
    return f"{shown + ', ' if shown else ''}wall {outcome.wall_s:.2f}s"


class _ArmState:
    """One policy's side of the job: its runs, its events, and whether it is loaded now."""

    def __init__(self, arm: Arm) -> None:
        self.arm = arm
        # No policy (`object_path` ""): both sides run under the default scheduler, which is
        # how the benchmark measures the default against itself (its noise floor).
        self.manifest: dict[str, Any] = (
            json.loads(Path(arm.manifest_path).read_text()) if arm.object_path else {}
        )
        self.runs: list[RunRecord] = []
        self.events: list[PolicyEvent] = []
        self.out: str | None = None  # why policy runs stopped
        self.loaded: loader.LoadedPolicy | None = None
        self.counted: dict[str, Any] = {}  # the stats as read after the last run of this load


def _since(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """Counters (ints, lists of ints) as counted since `before`, read earlier in the same
    load; the exit record and anything else as read now."""
    out: dict[str, Any] = {}
    for key, value in now.items():
        old = before.get(key)
        if key.startswith("exit_") or old is None:
            out[key] = value
        elif isinstance(value, int) and isinstance(old, int):
            out[key] = value - old
        elif isinstance(value, list) and isinstance(old, list) and len(value) == len(old):
            out[key] = [a - b for a, b in zip(value, old, strict=True)]
        else:
            out[key] = value
    return out


class _Runner:
    """The state across steps: the shared default runs and, per policy, whether it may still
    be (or still is) loaded."""

    def __init__(self, job: Job, scratch: Path, emit: Callable[[str], None]) -> None:
        self.job = job
        self.scratch = scratch
        self.emit = emit
        self.arms = [_ArmState(arm) for arm in job.arms]
        self.baselines: list[RunRecord] = []  # shared by every arm
        self.order: list[tuple[int | None, RunRecord]] = []  # (arm or None: default, run)

    def baseline(self, step: Step, prefix: str, side: Side = "baseline") -> None:
        state = scx_state()
        outcome = run_workload(get(step.workload), self.scratch, self.job.run_timeout_s)
        error = outcome.error
        if error is None and state == "enabled":
            error = f"a sched_ext scheduler ({scx_ops()}) was loaded during the baseline run"
        record = RunRecord(step.workload, side, step.index, outcome.rc, outcome.wall_s,
                           outcome.metrics, outcome.output, error)  # fmt: skip
        if side == "baseline":
            self.baselines.append(record)
            self.order.append((None, record))
        else:
            self.arms[step.arm].runs.append(record)
            self.order.append((step.arm, record))
        self.emit(f"{prefix}: {_summary(outcome)}")

    def policy(self, step: Step, prefix: str, stay: bool) -> None:
        """One run of `step.arm`'s policy: loaded first unless its previous run left it
        loaded; detached after unless `stay` (its next run follows at once) and it is still
        the scheduler."""
        arm = self.arms[step.arm]
        if not arm.arm.object_path:
            self.baseline(step, prefix, side="policy")
            return
        if arm.out is not None:
            self.emit(f"{prefix}: skipped ({arm.out})")
            return
        if arm.loaded is not None and arm.loaded.ejected():  # between the runs of a block
            gone = arm.loaded.detach()
            arm.loaded = None
            self._stop(arm, step, "ejected", gone.kind_name, gone.reason, gone.message,
                       kernel_log="\n".join(gone.kernel_log_lines))  # fmt: skip
            self.emit(f"{prefix}: EJECTED before the run: {gone.kind_name}: {gone.reason}")
            return
        fresh = arm.loaded is None
        if arm.loaded is None:
            try:
                arm.loaded = loader.load(Path(arm.arm.object_path), arm.manifest, arm.arm.params)
            except loader.LoadError as exc:
                where = _position_text(exc.position)
                self._stop(
                    arm, step, "load_failed", None, f"load failed at the {exc.stage} stage",
                    str(exc), verifier_log=exc.verifier_log,
                    position=asdict(exc.position) if exc.position else None,
                )  # fmt: skip
                self.emit(f"{prefix}: LOAD FAILED: {exc}{where}")
                return
            arm.counted = {}
        loaded = arm.loaded
        ops = scx_ops()
        stats: dict[str, Any] | None = None
        info: loader.ExitInfo | None = None
        ejected = False
        try:
            outcome = run_workload(get(step.workload), self.scratch, self.job.run_timeout_s)
            ejected = loaded.ejected()
            read = loaded.stats()
            stats = _since(read, arm.counted)
            arm.counted = read
        except Exception as exc:  # the loader failed mid-run: record it, still detach below
            outcome = Outcome(-1, 0.0, "", {}, f"runner error: {exc}")
            stay = False
            self._stop(arm, step, "error", None, "the runner failed while the policy ran",
                       str(exc))  # fmt: skip
        finally:
            if not stay or ejected or arm.out is not None:
                info = loaded.detach()
                arm.loaded = None
        error = outcome.error
        shown = _summary(outcome)
        if info is not None and (ejected or info.is_error):  # an ejection always detaches
            error = f"policy ejected during the run: {info.kind_name}"
            shown = f"EJECTED: {info.kind_name}: {info.reason}"
            self._stop(
                arm, step, "ejected", info.kind_name, info.reason, info.message,
                kernel_log="\n".join(info.kernel_log_lines),
            )  # fmt: skip
        record = RunRecord(
            step.workload, "policy", step.index, outcome.rc, outcome.wall_s,
            outcome.metrics, outcome.output, error,
            load_s=loaded.load_s if fresh else None,
            attach_s=loaded.attach_s if fresh else None,
            ops=ops, stats=stats, exit=asdict(info) if info is not None else None,
        )  # fmt: skip
        arm.runs.append(record)
        self.order.append((step.arm, record))
        self.emit(f"{prefix}: {shown}")

    def release(self) -> None:
        """Detach whatever is still loaded (a job that stopped between the runs of a block)."""
        for arm in self.arms:
            if arm.loaded is not None:
                arm.loaded.detach()
                arm.loaded = None

    def _stop(
        self,
        arm: _ArmState,
        step: Step,
        kind: Literal["load_failed", "ejected", "error"],
        exit_kind: str | None,
        reason: str,
        message: str,
        verifier_log: str = "",
        kernel_log: str = "",
        position: dict[str, Any] | None = None,
    ) -> None:
        arm.events.append(
            PolicyEvent(kind, step.workload, step.index, exit_kind, reason, message,
                        verifier_log, kernel_log, position)
        )  # fmt: skip
        arm.out = f"policy {kind.replace('_', ' ')} earlier" + (
            f" ({exit_kind})" if exit_kind else ""
        )

    def runs_of(self, index: int) -> list[RunRecord]:
        """Arm `index`'s runs and the default's, in the order they ran."""
        return [run for arm, run in self.order if arm is None or arm == index]


def _position_text(position: Any) -> str:
    """' at DSL line 8:9 (C line 43)', or '' when the verifier log named no line."""
    if position is None:
        return ""
    c_part = f"{position.c_file}:{position.c_line}" + (
        f":{position.c_col}" if position.c_col else ""
    )
    if position.dsl_line is not None:
        return f" at DSL line {position.dsl_line}:{position.dsl_col} ({c_part})"
    return f" at {c_part}"


def run_job(
    job: Job, emit: Callable[[str], None], save: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Run every step of the job. `save` gets the results so far after every step, so a guest
    that dies half-way (oops, host timeout) still leaves the runs it finished. The results are
    the first policy's; each further policy's (`job.shared`) are in their `shared` list, in
    the same form, with the same default runs."""
    arms = job.arms
    steps = plan(job.workloads, job.repeat, job.order, job.warmup, len(arms))
    started = time.time()
    scratch = Path(tempfile.mkdtemp(prefix="schedlang-job-"))
    runner = _Runner(job, scratch, emit)
    names = [str(state.manifest.get("policy", "default")) for state in runner.arms]
    progress = _Progress(len(steps), emit, names)
    common: dict[str, Any] = {
        "job": job.to_dict(),
        "workloads": list(job.workloads),
        "repeat": job.repeat,
        "order": job.order,
        "guest": {
            "kernel_release": os.uname().release,
            "nproc": os.cpu_count(),
            "sched_ext_state_at_start": scx_state(),
        },
        "started": started,
        "complete": False,
    }

    def one(index: int, complete: bool) -> dict[str, Any]:
        state = runner.arms[index]
        return {
            **common,
            "params": arms[index].params,
            "wakeup_hist_bounds_ns": state.manifest.get("stats", {}).get(
                "wakeup_hist_bounds_ns", []
            ),
            "seconds": time.time() - started,
            "complete": complete,
            "steps_done": progress.n,
            "steps_planned": len(steps),
            "runs": [asdict(r) for r in runner.runs_of(index)],
            "events": [asdict(e) for e in state.events],
        }

    def snapshot(complete: bool) -> dict[str, Any]:
        results = one(0, complete)
        if job.shared:
            results["shared"] = [one(i, complete) for i in range(1, len(arms))]
        return results

    try:
        for n, step in enumerate(steps):
            prefix = progress.step(step)
            if step.side == "baseline":
                runner.baseline(step, prefix)
            else:
                after = steps[n + 1] if n + 1 < len(steps) else None
                stay = after is not None and after.side == "policy" and after.arm == step.arm
                runner.policy(step, prefix, stay)
            save(snapshot(complete=False))
    finally:
        runner.release()
        shutil.rmtree(scratch, ignore_errors=True)
    results = snapshot(complete=True)
    save(results)
    return results


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` atomically, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _raise_on_signal(signum: int, _frame: Any) -> None:
    # Turn SIGTERM/SIGHUP into an exception so the `finally: detach()` above runs (host mode).
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python3 -m schedlang.runtime.guest_job JOB.json", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_on_signal)
    job = Job.from_dict(json.loads(Path(args[0]).read_text()))

    def emit(line: str) -> None:
        print(line, flush=True)

    out = Path(job.results_path)
    run_job(job, emit, lambda results: write_json(out, results))
    emit(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

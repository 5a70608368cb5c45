"""Measure a compiled policy against the kernel's default scheduler: plan, run, summarise.

The host side of `schedlang run` and of the Python API `schedlang.run(...)`. It validates the
request before anything boots (a typo in a workload name should cost nothing), writes a job
for the guest-side runner (`guest_job`), runs it in ONE sandbox boot (or, with an explicit
`host=True`, on a host kernel that has sched_ext) and turns the results into a `Report`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from schedlang.backends.artifact import Artifact, param_value
from schedlang.literals import LiteralError
from schedlang.runtime.guest_job import Arm, Job, Order
from schedlang.runtime.report import Report, summarize
from schedlang.runtime.workloads import WORKLOADS, get

SCX_STATE = Path("/sys/kernel/sched_ext/state")
GUEST_JOB_MODULE = "schedlang.runtime.guest_job"
BOOT_ALLOWANCE_S = 120.0  # boot, imports and load under TCG, with a wide margin
PER_RUN_ALLOWANCE_S = 60.0  # one workload run (1-3 s under TCG) plus a possible stall ejection

Progress = Callable[[str], None]


class MeasureError(Exception):
    """The request cannot be measured; the message says what to change."""


class HostModeRefused(MeasureError):
    pass


class UnusableInput(MeasureError):
    """What was asked for cannot be used as given: a file that is missing or unreadable, a
    tunable the policy does not have. The command line must change, not the policy (the
    CLI's exit 2, docs/cli.md)."""


def check_params(artifact: Artifact, params: dict[str, Any] | None) -> dict[str, int]:
    """Tunable overrides checked against the manifest's declared names and bounds."""
    declared = {p["name"]: p for p in artifact.manifest.get("params", [])}
    checked: dict[str, int] = {}
    for name, raw in (params or {}).items():
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise UnusableInput(
                f"policy '{artifact.name}' has no parameter '{name}' (its parameters: {known})"
            )
        try:
            checked[name] = param_value(declared[name], raw)
        except LiteralError as exc:  # malformed: the command line must change
            raise UnusableInput(str(exc)) from None
        except ValueError as exc:  # out of the declared range
            raise MeasureError(str(exc)) from None
    return checked


def host_mode_refusal() -> str | None:
    """Why `--host` cannot run here, or None when it can."""
    if not SCX_STATE.exists():
        return (
            f"--host refused: this host's kernel ({os.uname().release}) has no sched_ext "
            f"({SCX_STATE} does not exist); drop --host to measure in the VM sandbox"
        )
    if os.geteuid() != 0:
        return "--host refused: loading a scheduler into the host kernel needs root"
    return None


def _write_job(
    workdir: Path,
    guest_workdir: str,
    policies: Sequence[tuple[Artifact | None, dict[str, int]]],
    workloads: tuple[str, ...],
    repeat: int,
    order: Order,
) -> Path:
    """Copy each policy next to the job, so the runner reads it from the results share
    whatever host directory it came from. No artifact: both sides run the default. A second
    and further policy share the first one's rounds and default runs (guest_job)."""
    workdir.mkdir(parents=True, exist_ok=True)
    arms = []
    for i, (artifact, params) in enumerate(policies):
        if artifact is None:
            arms.append(Arm("", "", params))
            continue
        sub = "policy" if len(policies) == 1 else f"policy/{i}"
        policy_dir = workdir / sub
        policy_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(artifact.object_path, policy_dir / artifact.object_path.name)
        shutil.copy2(artifact.manifest_path, policy_dir / artifact.manifest_path.name)
        arms.append(
            Arm(
                f"{guest_workdir}/{sub}/{artifact.object_path.name}",
                f"{guest_workdir}/{sub}/{artifact.manifest_path.name}",
                params,
            )
        )
    first = arms[0]
    job = Job(
        object_path=first.object_path,
        manifest_path=first.manifest_path,
        workloads=workloads,
        repeat=repeat,
        results_path=f"{guest_workdir}/results.json",
        params=first.params,
        order=order,
        shared=tuple(arms[1:]),
    )
    path = workdir / "job.json"
    path.write_text(json.dumps(job.to_dict(), indent=2))
    return path


def _read_results(workdir: Path, rc: int, output: str) -> dict[str, Any]:
    results = workdir / "results.json"
    if not results.exists():
        tail = "\n".join(output.strip().splitlines()[-25:])
        raise MeasureError(
            f"the job runner wrote no results (exit code {rc}); its last output:\n{tail}"
        )
    data: dict[str, Any] = json.loads(results.read_text())
    if not data.get("complete"):
        data.setdefault("notes", []).append(
            f"incomplete: the runner stopped after {data.get('steps_done')} of "
            f"{data.get('steps_planned')} steps (exit code {rc})"
        )
    return data


def _split(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A job's results, one per policy: the first's, then those it shared its rounds with."""
    shared = data.pop("shared", [])
    for other in shared:
        other["notes"] = list(data.get("notes", []))
    return [data, *shared]


def _in_guest(
    workdir: Path,
    policies: Sequence[tuple[Artifact | None, dict[str, int]]],
    workloads: tuple[str, ...],
    repeat: int,
    order: Order,
    vcpus: int,
    kernel: Path | None,
    progress: Progress,
    shared_default: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the policies in ONE boot: one job per policy, one after another, each in its own
    subdirectory (`p0`, `p1`, ...; the only one, `.`, for a single policy); or, with
    `shared_default`, one job whose rounds run the default once and every policy once."""
    from schedlang.runtime import provision, sandbox

    if shared_default or len(policies) == 1:
        jobs = [list(policies)]
        subdirs = ["."]
    else:
        jobs = [[p] for p in policies]
        subdirs = [f"p{i}" for i in range(len(policies))]
    commands = []
    for sub, job in zip(subdirs, jobs, strict=True):
        guest_dir = f"{sandbox.GUEST_OUTDIR}/{sub}".removesuffix("/.")
        job_path = _write_job(workdir / sub, guest_dir, job, workloads, repeat, order)
        commands.append(f"{sandbox.GUEST_PYTHON} -m {GUEST_JOB_MODULE} {guest_dir}/{job_path.name}")
    steps = sum(len(workloads) * (len(job) * repeat + repeat + 1) for job in jobs)
    try:
        result = sandbox.run_in_guest(
            "; ".join(commands),
            vcpus=vcpus,
            kernel=kernel,
            outdir=workdir,
            timeout_s=BOOT_ALLOWANCE_S + PER_RUN_ALLOWANCE_S * steps,
            on_line=progress,
        )
    except (sandbox.GuestTimeout, sandbox.GuestCrash) as exc:
        # The runner saves after every step: report what it finished, and say what happened.
        if not (workdir / subdirs[0] / "results.json").exists():
            raise MeasureError(f"the sandbox failed: {exc}") from None
        note = f"the sandbox failed: {str(exc).splitlines()[0]}"
        found = []
        for sub in subdirs:
            if not (workdir / sub / "results.json").exists():
                break
            data = _read_results(workdir / sub, exc.result.rc, exc.result.output)
            data.setdefault("notes", []).append(note)
            found.extend(_split(data))
        return found, asdict(exc.result.boot)
    except (sandbox.SandboxError, provision.ProvisionError) as exc:
        raise MeasureError(f"the sandbox could not run the job: {exc}") from None
    results = [
        r for sub in subdirs for r in _split(_read_results(workdir / sub, result.rc, result.output))
    ]
    return results, asdict(result.boot)


def _on_host(
    workdir: Path,
    artifact: Artifact,
    workloads: tuple[str, ...],
    repeat: int,
    params: dict[str, int],
    order: Order,
    progress: Progress,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the same runner as a child process; on Ctrl-C or any error it gets SIGTERM and
    detaches (and the kernel drops a struct_ops link whose owner exits, even on SIGKILL)."""
    job_path = _write_job(workdir, str(workdir), [(artifact, params)], workloads, repeat, order)
    proc = subprocess.Popen(
        [sys.executable, "-m", GUEST_JOB_MODULE, str(job_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            progress(lines[-1])
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    boot = {
        "accelerator": "host",
        "kernel_release": os.uname().release,
        "vcpus": os.cpu_count(),
        "host_cores": os.cpu_count(),
        "representative_timing": True,
    }
    return _read_results(workdir, proc.returncode, "\n".join(lines)), boot


def _resolved(workloads: Iterable[str]) -> tuple[str, ...]:
    """The workloads' canonical names (an rt-app file's absolute path: the guest starts
    elsewhere); UnknownWorkloadError says "did you mean" before anything boots."""
    names = tuple(get(name).name for name in workloads)
    if not names:
        raise MeasureError(f"no workload given (known: {', '.join(WORKLOADS)})")
    return names


def run(
    artifact: Artifact | str | Path,
    workloads: Iterable[str] = ("hackbench",),
    repeat: int = 5,
    params: dict[str, Any] | None = None,
    vcpus: int = 2,
    kernel: str | Path | None = None,
    host: bool = False,
    progress: Progress | None = None,
    order: Order = "ABBA",
) -> Report:
    """Measure `artifact` against the kernel's default scheduler in one boot.

    `artifact` is an `Artifact` or the path of a `.bpf.o` with its `.json` manifest beside it.
    Raises MeasureError (with a message meant for the user) when the request is invalid or
    nothing could be measured; a policy that fails to load or is ejected is NOT an error:
    the report says so, with the baseline numbers.
    """
    if not isinstance(artifact, Artifact):
        artifact = open_artifact(Path(artifact))
    names = _resolved(workloads)
    if repeat < 1:
        raise MeasureError(f"repeat must be at least 1 (got {repeat})")
    if order not in ("ABBA", "ABAB"):
        raise MeasureError(f"order must be ABBA or ABAB (got {order!r})")
    checked = check_params(artifact, params)
    emit: Progress = progress or (lambda _line: None)
    workdir = Path(tempfile.mkdtemp(prefix="schedlang-run-"))
    try:
        if host:
            refusal = host_mode_refusal()
            if refusal:
                raise HostModeRefused(refusal)
            results, boot = _on_host(workdir, artifact, names, repeat, checked, order, emit)
        else:
            kernel_path = Path(kernel) if kernel is not None else None
            found, boot = _in_guest(
                workdir, [(artifact, checked)], names, repeat, order, vcpus, kernel_path, emit
            )
            results = found[0]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return summarize(policy=artifact.name, job_result=results, boot=boot)


def run_each(
    policies: Iterable[tuple[Artifact, dict[str, Any] | None]],
    workloads: Iterable[str] = ("hackbench",),
    repeat: int = 5,
    vcpus: int = 2,
    kernel: str | Path | None = None,
    progress: Progress | None = None,
    order: Order = "ABBA",
    shared_default: bool = False,
) -> list[Report]:
    """Measure several policies in ONE sandbox boot, so their reports can be compared with
    each other (the same boot, host noise and kernel). By default each in turn, interleaved
    with the default scheduler as `run` does. With `shared_default`, in rounds: each round
    runs the default once and every policy once (reversed every other round for ABBA), so
    every report has the same default runs and each policy's runs sit beside the others' in
    every round; `repeat` runs a side still, for (policies + 1) x repeat runs instead of
    2 x policies x repeat. A report per policy, in order; if the sandbox dies half-way, the
    policies it finished (MeasureError when it finished none)."""
    listed = [(a if isinstance(a, Artifact) else open_artifact(Path(a)), p) for a, p in policies]
    if not listed:
        raise MeasureError("no policy given")
    names = _resolved(workloads)
    if repeat < 1:
        raise MeasureError(f"repeat must be at least 1 (got {repeat})")
    checked = [(a, check_params(a, p)) for a, p in listed]
    emit: Progress = progress or (lambda _line: None)
    workdir = Path(tempfile.mkdtemp(prefix="schedlang-run-"))
    try:
        kernel_path = Path(kernel) if kernel is not None else None
        found, boot = _in_guest(
            workdir, checked, names, repeat, order, vcpus, kernel_path, emit, shared_default
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return [
        summarize(policy=a.name, job_result=r, boot=boot)
        for (a, _), r in zip(checked, found, strict=False)
    ]


def run_default(
    workloads: Iterable[str],
    repeat: int = 5,
    vcpus: int = 2,
    kernel: str | Path | None = None,
    progress: Progress | None = None,
    order: Order = "ABBA",
) -> Report:
    """The default scheduler against itself in one boot, interleaved exactly as `run` does
    (no policy is loaded on either side): the noise floor of a comparison, and the
    benchmark's `default` agent, whose improvement is 1 by construction."""
    names = tuple(workloads)
    if not names:
        raise MeasureError(f"no workload given (known: {', '.join(WORKLOADS)})")
    for name in names:
        get(name)
    if repeat < 1:
        raise MeasureError(f"repeat must be at least 1 (got {repeat})")
    emit: Progress = progress or (lambda _line: None)
    workdir = Path(tempfile.mkdtemp(prefix="schedlang-run-"))
    try:
        kernel_path = Path(kernel) if kernel is not None else None
        found, boot = _in_guest(
            workdir, [(None, {})], names, repeat, order, vcpus, kernel_path, emit
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return summarize(policy="default", job_result=found[0], boot=boot)


def open_artifact(object_path: Path) -> Artifact:
    """An Artifact from `X.bpf.o` + `X.json`, with a clear error when either is missing."""
    if not object_path.exists():
        raise UnusableInput(f"{object_path}: no such file")
    if not object_path.name.endswith(".o"):
        raise UnusableInput(f"{object_path}: expected a compiled policy object (NAME.bpf.o)")
    stem = object_path.name.removesuffix(".o").removesuffix(".bpf")
    manifest = object_path.with_name(stem + ".json")
    if not manifest.exists():
        raise UnusableInput(
            f"{object_path}: its manifest {manifest.name} is not beside it "
            "(`schedlang compile` writes both)"
        )
    try:
        return Artifact.from_object(object_path)
    except (ValueError, KeyError, OSError) as exc:
        raise UnusableInput(f"{manifest}: not a valid policy manifest ({exc})") from None

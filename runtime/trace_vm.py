"""The host side of `schedlang analyze`: trace a workload in the sandbox, read the record.

One boot runs the guest side (`trace_guest`: the workload under the default scheduler, inside
`perf record`); the record comes back through the results share and the host's
`perf sched timehist -w -M --state` turns it into text that `sched_trace.parse_timehist`
reads. The guest and the host run the same perf binary (the guest's root is the host's), so
the record's format is never a surprise.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from schedlang.runtime.sched_trace import SchedTrace, TraceParseError, parse_timehist
from schedlang.runtime.trace_guest import TraceJob
from schedlang.runtime.workloads import get

BOOT_ALLOWANCE_S = 120.0
RUN_ALLOWANCE_S = 300.0  # a traced workload under TCG on a loaded host (hackbench: 10-25 s)
TIMEHIST = ("sched", "timehist", "-w", "-M", "--state")

Progress = Callable[[str], None]


class TraceError(Exception):
    """The workload could not be traced; the message says why and what to do."""


def timehist(record: Path, perf: str = "perf") -> str:
    """`perf sched timehist -w -M --state` of a record, as text."""
    try:
        done = subprocess.run(
            [perf, *TIMEHIST, "-i", str(record)], capture_output=True, text=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TraceError(f"perf sched timehist failed: {exc}") from None
    if done.returncode != 0:
        raise TraceError(f"perf sched timehist exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def trace(
    workload: str,
    *,
    vcpus: int = 2,
    progress: Progress = lambda line: None,
    keep_timehist: Path | None = None,
) -> SchedTrace:
    """Trace one run of the named VM workload (runtime/workloads.py) under the kernel's default
    scheduler in the sandbox. `keep_timehist` saves the timehist text (how the test data in
    tests/runtime/data was captured)."""
    from schedlang.runtime import provision, sandbox

    get(workload)  # an unknown name fails before anything boots
    perf = shutil.which("perf")
    if perf is None:
        raise TraceError("perf is not installed (Debian: apt install linux-perf)")
    with tempfile.TemporaryDirectory(prefix="schedlang-analyze-") as tmp:
        workdir = Path(tmp)
        job = TraceJob(
            workload=workload,
            record_path=f"{sandbox.GUEST_OUTDIR}/perf.data",
            results_path=f"{sandbox.GUEST_OUTDIR}/results.json",
        )
        (workdir / "job.json").write_text(json.dumps(job.__dict__))
        progress(f"booting the sandbox to trace {workload} ...")
        try:
            result = sandbox.run_in_guest(
                f"{sandbox.GUEST_PYTHON} -m schedlang.runtime.trace_guest {sandbox.GUEST_OUTDIR}/job.json",
                vcpus=vcpus,
                outdir=workdir,
                timeout_s=BOOT_ALLOWANCE_S + RUN_ALLOWANCE_S,
                on_line=progress,
            )
        except (sandbox.SandboxError, provision.ProvisionError) as exc:
            raise TraceError(f"the sandbox could not trace {workload}: {exc}") from None
        results_path = workdir / "results.json"
        if not results_path.exists():
            tail = "\n".join(result.output.strip().splitlines()[-15:])
            raise TraceError(f"the guest wrote no results (exit code {result.rc}):\n{tail}")
        results = json.loads(results_path.read_text())
        outcome = results["outcome"]
        if outcome["error"]:
            raise TraceError(f"{workload} failed under the tracer: {outcome['error']}")
        progress("reading the record (perf sched timehist) ...")
        text = timehist(workdir / "perf.data", perf)
    if keep_timehist is not None:
        keep_timehist.write_text(text)
    try:
        parsed = parse_timehist(text, workload=workload, cpus=int(results["nproc"]))
    except TraceParseError as exc:
        raise TraceError(f"could not read perf's output: {exc}") from None
    others, tracer_pid = set(results["not_workload_tids"]), results["tracer_pid"]
    mine = frozenset(
        s.tid
        for s in parsed.stretches
        if s.tid != 0 and s.tid not in others and s.tgid != tracer_pid  # perf's own threads
    )
    tracer = sum(s.run_us for s in parsed.stretches if s.tgid == tracer_pid)
    return replace(
        parsed,
        workload_tids=mine,
        metrics={**outcome["metrics"], "wall_s": outcome["wall_s"]},
        notes=(
            f"traced in the sandbox (kernel {results['kernel_release']}, TCG, "
            f"{results['nproc']} vCPUs); the tracer itself ran {tracer / 1e3:.0f} ms",
        ),
    )

"""The guest side of `schedlang analyze`: run one workload under the default scheduler, traced.

`python3 -m schedlang.runtime.trace_guest JOB.json` runs inside the sandbox guest. It records
the scheduler's tracepoints system-wide with `perf record` (the host's perf 6.1, which the
guest runs from the shared root) around the workload's command, and writes what the host
needs to make sense of the record: which threads were not the workload's. Reading the record
(`perf sched timehist`) is left to the host, where it is ~50x faster than under TCG.

Which threads are the workload's is decided by elimination, because the record is
system-wide (it has to be: a wakeup from an interrupt or a kernel thread is only seen from
their side): every thread alive before the run starts (init, this runner, kernel threads),
every kernel thread alive after it (children of kthreadd, pid 2: workers come and go), and
the tracer itself are not the workload. What remains was created for the run.

Only these tracepoints are recorded: sched_switch, sched_wakeup, sched_wakeup_new and
sched_migrate_task (what `perf sched timehist -w -M` reads). `perf sched record` adds
sched_stat_runtime, which fires on every accounting update and slowed hackbench by a further
~15% under TCG in one same-boot comparison here.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from schedlang.runtime.guest_job import run_workload, write_json
from schedlang.runtime.loader import scx_state
from schedlang.runtime.workloads import get

EVENTS = ("sched:sched_switch", "sched:sched_wakeup", "sched:sched_wakeup_new",
          "sched:sched_migrate_task")  # fmt: skip


@dataclass(frozen=True)
class TraceJob:
    """What the host asks for (written by runtime/trace_vm.py as JSON)."""

    workload: str
    record_path: str  # perf.data, on the writable share
    results_path: str
    run_timeout_s: float = 300.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceJob:
        return cls(**data)


def perf_argv(record_path: str) -> tuple[str, ...]:
    """`perf record` for the tracepoints above, every CPU, one sample per event (`-c 1`),
    raw samples (`-R`), and a 4 MiB buffer per CPU so a burst of switches is not dropped."""
    events = [arg for name in EVENTS for arg in ("-e", name)]
    return ("perf", "record", "-a", "-R", "-c", "1", "-m", "1024", *events, "-o", record_path,
            "--")  # fmt: skip


def live_tids() -> set[int]:
    """Every thread of every process alive now."""
    tids: set[int] = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                tids.update(int(t.name) for t in (proc / "task").iterdir())
            except OSError:  # exited meanwhile
                continue
    return tids


def kernel_tids() -> set[int]:
    """kthreadd (pid 2) and its children: the kernel's threads."""
    found = {2}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            # /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and ')'
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == 2:
            found.add(int(proc.name))
    return found


def run(job: TraceJob) -> dict[str, Any]:
    before = live_tids()
    scratch = Path(tempfile.mkdtemp(prefix="schedlang-trace-"))
    try:
        print(f"tracing {job.workload} under the default scheduler ...", flush=True)
        outcome = run_workload(
            get(job.workload), scratch, job.run_timeout_s, perf_argv(job.record_path)
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    shown = ", ".join(f"{k}={v:g}" for k, v in outcome.metrics.items())
    print(f"traced: {outcome.error or shown or 'done'}; wall {outcome.wall_s:.2f}s", flush=True)
    return {
        "workload": job.workload,
        "outcome": asdict(outcome),
        "tracer_pid": outcome.pid,
        "not_workload_tids": sorted(before | kernel_tids() | {outcome.pid}),
        "nproc": os.cpu_count(),
        "kernel_release": os.uname().release,
        "sched_ext_state": scx_state(),
        "perf": shutil.which("perf"),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python3 -m schedlang.runtime.trace_guest JOB.json", file=sys.stderr)
        return 2
    job = TraceJob.from_dict(json.loads(Path(args[0]).read_text()))
    results = run(job)
    write_json(Path(job.results_path), results)
    return 0 if results["outcome"]["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())

"""The guest side of `schedlang analyze`: the perf command line and who is not the workload
(the job itself runs in the VM test of tests/cli/test_analyze_command.py)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from schedlang.runtime.trace_guest import kernel_tids, live_tids, perf_argv


def test_perf_records_the_four_tracepoints_system_wide() -> None:
    assert perf_argv("/mnt/out/perf.data") == (
        "perf", "record", "-a", "-R", "-c", "1", "-m", "1024",
        "-e", "sched:sched_switch", "-e", "sched:sched_wakeup",
        "-e", "sched:sched_wakeup_new", "-e", "sched:sched_migrate_task",
        "-o", "/mnt/out/perf.data", "--",
    )  # fmt: skip


def test_live_threads_include_every_thread_of_this_process() -> None:
    seen: set[int] = set()
    ready, done = threading.Event(), threading.Event()

    def worker() -> None:
        seen.add(threading.get_native_id())
        ready.set()
        done.wait()

    t = threading.Thread(target=worker)
    t.start()
    ready.wait()
    try:
        tids = live_tids()
    finally:
        done.set()
        t.join()
    assert {os.getpid(), *seen} <= tids


def test_kernel_threads_are_kthreadd_and_its_children() -> None:
    found = kernel_tids()
    assert os.getpid() not in found and 1 not in found and 2 in found
    for tid in found - {2}:  # each is a child of kthreadd (or a worker that has exited since)
        assert _ppid(Path(f"/proc/{tid}")) in (2, None)
    if Path("/proc/2/comm").exists() and Path("/proc/2/comm").read_text().strip() == "kthreadd":
        assert len(found) > 1  # a real kernel has kernel threads besides kthreadd


def _ppid(proc: Path) -> int | None:
    try:
        return int(proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None

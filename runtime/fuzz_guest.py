"""The guest half of `schedlang fuzz --vm`: many policies, one after another, in one boot.

`python3 -m schedlang.runtime.fuzz_guest JOB.json` runs in the sandbox guest. For each object
in the job it loads the policy (the kernel's verifier runs here), runs a short workload while
the policy schedules every task, reads its stats, detaches, and prints one result line. With
`stress` a low-intensity `stress-ng` runs in the background for the whole batch, so every
policy also schedules CPU hogs that it must not starve.

Results are streamed, not saved at the end: each policy's line (`@@FUZZ {json}`) is on the
host before the next policy loads, so a guest that dies mid-batch (a policy livelocks the
machine, the host kills the VM) loses nothing it finished, and the host knows from the
`start` line which policy was running when it died.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from schedlang.runtime import loader
from schedlang.runtime.guest_job import run_workload
from schedlang.runtime.workloads import Workload

MARK = "@@FUZZ "
LOG_TAIL = 4000  # characters of a verifier or kernel log kept per policy
# Short on purpose: ~0.3 s under TCG on a quiet host, and still 16 tasks waking each other
# hundreds of times.
HACKBENCH = Workload(
    name="fuzz-hackbench",
    description="hackbench: 2 groups x 4 fds x 10 loops",
    command="hackbench -g 2 -f 4 -l 10",
    metrics=(),
    parse=lambda output: {},
    tools=("hackbench",),
)
# Two CPU hogs at 20 % load: tasks that run, sleep and wake on a timer, for the whole batch.
STRESS_COMMAND = ["stress-ng", "--cpu", "2", "--cpu-load", "20", "--timeout", "0", "--quiet"]


@dataclass(frozen=True)
class Job:
    """What the host asks for: `objects` maps a seed to its `.bpf.o` (manifest beside it)."""

    objects: dict[str, str]
    stress: bool
    run_timeout_s: float = 30.0


def emit(event: str, **fields: Any) -> None:
    print(MARK + json.dumps({"event": event, **fields}), flush=True)


def _tail(text: str) -> str:
    return text if len(text) <= LOG_TAIL else "..." + text[-LOG_TAIL:]


def run_one(seed: str, obj: str, timeout_s: float) -> dict[str, Any]:
    """Load, exercise and unload one policy; never raises (the result says what happened)."""
    r: dict[str, Any] = {"seed": int(seed), "state_before": loader.scx_state()}
    started = time.monotonic()
    try:
        policy = loader.load(Path(obj))
    except loader.LoadError as exc:
        r.update(
            verifier="rejected" if exc.stage == "load" else f"failed at {exc.stage}",
            error=str(exc)[:LOG_TAIL],
            verifier_log=_tail(exc.verifier_log),
            position=asdict(exc.position) if exc.position else None,
            enabled=False,
        )
        r["state_after"] = loader.scx_state()
        return r
    r.update(verifier="ok", enabled=policy.state() == "enabled", load_s=round(policy.load_s, 3))
    try:
        outcome = run_workload(HACKBENCH, Path("/run/tmp"), timeout_s)
        r["workload"] = {"rc": outcome.rc, "wall_s": round(outcome.wall_s, 3),
                         "error": outcome.error}  # fmt: skip
        if outcome.error:
            r["workload"]["output"] = _tail(outcome.output)
        r["stats"] = policy.stats() if not policy.ejected() else None
    except Exception as exc:  # noqa: BLE001 - the loader failed mid-run: record, still detach
        r["workload"] = {"rc": -1, "error": f"runner error: {exc}"}
    finally:
        info = policy.detach()
    r["exit"] = {"kind": info.kind_name, "ejected": info.ejected, "reason": info.reason,
                 "message": _tail(info.message)}  # fmt: skip
    if info.is_error or info.ejected:
        r["kernel_log"] = _tail("\n".join(info.kernel_log_lines))
    r["state_after"] = loader.scx_state()
    r["seconds"] = round(time.monotonic() - started, 3)
    return r


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python3 -m schedlang.runtime.fuzz_guest JOB.json", file=sys.stderr)
        return 2
    job = Job(**json.loads(Path(args[0]).read_text()))
    Path("/run/tmp").mkdir(parents=True, exist_ok=True)
    stress = None
    if job.stress:
        stress = subprocess.Popen(STRESS_COMMAND, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        time.sleep(0.5)  # let the hogs start before the first policy takes them over
    try:
        for seed, obj in job.objects.items():
            emit("start", seed=int(seed))
            emit("done", **run_one(seed, obj, job.run_timeout_s))
    finally:
        if stress is not None:
            os.killpg(stress.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())

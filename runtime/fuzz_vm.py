"""The host half of `schedlang fuzz --vm`: boot the sandbox once per batch of compiled policies.

The guest (`fuzz_guest`) streams a `start` line before each policy and a `done` line with its
result after it; this side turns those into results as they arrive. When the guest dies or
stops printing part-way (a policy livelocked the machine, the VM was killed), the results it
finished are kept, the policy that was running is retried once in a fresh boot, and the
policies after it, never started, go back in the queue. A policy that takes the guest down
twice is a hang.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schedlang.runtime import sandbox
from schedlang.runtime.fuzz_guest import MARK

BOOT_BUDGET_S = 90.0  # boot + python start + imports, under TCG on a busy host
POLICY_BUDGET_S = 120.0  # worst legitimate case: enable wait + workload timeout + detach wait
QUIET_S = 90.0  # no line for this long: the policy running has stopped the guest
RUN_TIMEOUT_S = 20.0  # the workload's own limit in the guest
TRIES = 2  # a policy that takes the guest down this many times is recorded as a hang
CONSOLE_TAIL = 3000


@dataclass
class BatchOutcome:
    """What one boot produced: finished results by seed, and the seed running at the end."""

    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    running: int | None = None
    failure: str | None = None  # why the guest ended early ("" / None: it finished)
    console_tail: str = ""
    conditions: str = ""  # how the guest ran: TCG threading, reboots after early deaths


def run_batch(
    objects: dict[int, Path],
    *,
    stress: bool,
    on_done: Callable[[int, dict[str, Any]], None],
    vcpus: int = 2,
) -> BatchOutcome:
    """Load `objects` one after another in one boot; `on_done(seed, result)` gets each result
    as it arrives. Raises SandboxError when the sandbox cannot run at all (not provisioned)."""
    out = BatchOutcome()

    def on_line(line: str) -> None:
        if not line.startswith(MARK):
            return
        event = json.loads(line[len(MARK) :])
        if event.pop("event") == "start":
            out.running = int(event["seed"])
        else:
            out.results[int(event["seed"])] = event
            out.running = None
            on_done(int(event["seed"]), event)

    with tempfile.TemporaryDirectory(prefix="schedlang-fuzz-") as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(
            json.dumps(
                {
                    "objects": {str(s): str(p) for s, p in objects.items()},
                    "stress": stress,
                    "run_timeout_s": RUN_TIMEOUT_S,
                }
            )
        )
        try:
            result = sandbox.run_in_guest(
                f"{sandbox.GUEST_PYTHON} -m schedlang.runtime.fuzz_guest {job}",
                vcpus=vcpus,
                timeout_s=BOOT_BUDGET_S + POLICY_BUDGET_S * len(objects),
                quiet_timeout_s=QUIET_S,
                outdir=Path(tmp) / "out",
                on_line=on_line,
            )
            if result.rc != 0:
                out.failure = f"the guest program exited with {result.rc}"
                out.console_tail = result.output[-CONSOLE_TAIL:]
        except (sandbox.GuestTimeout, sandbox.GuestCrash) as exc:
            out.failure = str(exc).splitlines()[0]
            out.console_tail = exc.result.console[-CONSOLE_TAIL:]
            result = exc.result
    out.conditions = _conditions(result.boot)
    return out


def _conditions(boot: sandbox.BootInfo) -> str:
    """A single-threaded TCG guest (the sandbox's reboot after an early death) runs both vCPUs
    on one host thread: much slower, so timeouts in it are not the policies' fault."""
    text = f"{boot.accelerator}"
    if boot.tcg_threading:
        text += f" thread={boot.tcg_threading}"
    if boot.retries:
        text += f", rebooted {len(boot.retries)}x after an early death ({boot.retries[-1].reason})"
    return f"{text}, boot {boot.boot_s:.0f} s, wall {boot.wall_s:.0f} s"


def run_all(
    objects: dict[int, Path],
    *,
    batch: int,
    stress: bool,
    on_result: Callable[[int, dict[str, Any], int], None],
    on_boot: Callable[[int, list[int]], None] = lambda n, seeds: None,
    on_boot_done: Callable[[int, BatchOutcome], None] = lambda n, outcome: None,
    boot: Callable[..., BatchOutcome] = run_batch,
) -> None:
    """Run every object, `batch` per boot; `on_result(seed, guest_result, boot_number)` gets
    each finished policy as it finishes. A hang's result is `{"seed": S, "hang": why,
    "console": tail}`."""
    queue: list[int] = list(objects)
    tries: dict[int, int] = {}
    boots = 0
    while queue:
        seeds, queue = queue[:batch], queue[batch:]
        boots += 1
        on_boot(boots, seeds)
        n = boots
        outcome = boot(
            {s: objects[s] for s in seeds},
            stress=stress,
            on_done=lambda seed, r, n=n: on_result(seed, r, n),
        )
        on_boot_done(n, outcome)
        unfinished = [s for s in seeds if s not in outcome.results]
        if not unfinished:
            continue
        # The guest died: blame the policy it was running (or, if none had started, the
        # first one, so a guest that cannot get going still ends).
        culprit = outcome.running if outcome.running in unfinished else unfinished[0]
        tries[culprit] = tries.get(culprit, 0) + 1
        if tries[culprit] >= TRIES:
            unfinished.remove(culprit)
            hang = {"seed": culprit, "hang": outcome.failure or "the guest stopped",
                    "console": outcome.console_tail}  # fmt: skip
            on_result(culprit, hang, boots)
        queue = unfinished + queue

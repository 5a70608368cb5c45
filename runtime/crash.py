"""Read a dead guest's kernel console: when did it die, and is a reboot the right answer?

A guest can die for two very different reasons. Before the job starts, nothing of ours has
run: a panic there is the emulator's or the kernel's bad luck (multi-threaded TCG races with
the kernel's live text patching, see docs/sandbox.md §9), and booting again is the fix. Once a
sched_ext policy is loaded, a crash is a finding about the policy (or the kernel under it):
it must reach the user with the kernel's own words, never be retried away.

The console is the serial log. It runs `quiet`, but the kernel turns printing fully on for
an oops or panic (`console_verbose()`), so the crash report is always there, and while a
sched_ext scheduler is loaded every oops header names it (`Sched_ext: NAME (enabled+all)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BOOT = "boot"  # died before the job started: nothing of the caller's ran; rebooting helps
JOB = "job"  # died while the job ran, with no sched_ext policy loaded
POLICY = "policy"  # died while a sched_ext policy was loaded

# The first line of a kernel crash report, after the `[ time]` prefix.
_CRASH_START = re.compile(
    r"^(Oops: |BUG: |kernel BUG at |general protection fault|Kernel panic - not syncing)"
)
_TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
_RIP = re.compile(r"RIP: 0010:(\S+)")  # kernel code only (0033 is user space)
_PANIC = re.compile(r"Kernel panic - not syncing: (.*)")
# Printed in every oops header while a scheduler is loaded (kernel/sched/ext.c,
# print_scx_info), and when one is enabled (visible in dmesg, and on a verbose console).
_SCX_IN_OOPS = re.compile(r"Sched_ext: (\S+) \(enabled")
_SCX_ENABLED = re.compile(r'sched_ext: BPF scheduler "([^"]+)" enabled')
_SCX_DISABLED = re.compile(r'sched_ext: BPF scheduler "([^"]+)" disabled')
_CODE = re.compile(r"Code: ((?:<?[0-9a-f]{2}>? ?)+)")
_NOP5 = ["0f", "1f", "44", "00", "00"]  # the kernel's 5-byte NOP, a disabled jump label
LOG_LINES = 60  # how much of the crash report a Crash keeps


@dataclass(frozen=True)
class Crash:
    """How a guest died, from its console."""

    stage: str  # BOOT, JOB or POLICY
    summary: str  # one line: the first crash line, where it hit, and the panic reason
    policy: str | None  # the sched_ext policy that was loaded, when the console names it
    log: str  # the crash report: from its first line, at most LOG_LINES lines
    patched_site: bool = False  # trapped on a live-patchable site (see `on_patched_site`)

    @property
    def retryable(self) -> bool:
        """A death the sandbox fixes by booting again: one before the job, or one during the
        job with no policy loaded that trapped on a live-patched site (multi-threaded TCG's
        race, docs/sandbox.md §9: nothing the job did can cause it, so the job runs again).
        A death with a policy loaded is never retried: it is reported against the policy."""
        return self.stage == BOOT or (self.stage == JOB and self.patched_site)


def _strip(line: str) -> str:
    return _TIMESTAMP.sub("", line.strip())


def loaded_policy(lines: list[str]) -> str | None:
    """The sched_ext policy loaded at the end of `lines` (an oops header or the enable
    message names it), or None."""
    loaded: str | None = None
    for line in lines:
        text = _strip(line)
        if match := _SCX_ENABLED.search(text) or _SCX_IN_OOPS.search(text):
            loaded = match.group(1)
        elif (match := _SCX_DISABLED.search(text)) and match.group(1) == loaded:
            loaded = None
    return loaded


def on_patched_site(report: list[str]) -> bool:
    """Whether the kernel trapped (`int3`, `invalid opcode`) on a jump-label site: a 5-byte NOP
    or jump in the code dump right at, or just after, the trapping address.

    That is the signature of a vCPU that ran a stale copy of kernel text another vCPU had just
    live-patched, which multi-threaded TCG does (docs/sandbox.md §9): the memory holds the
    finished instruction, the vCPU executed the int3 or a torn one.
    """
    if not re.search(r"Oops: (int3|invalid opcode)", _strip(report[0])):
        return False
    for i, line in enumerate(report):
        if _RIP.search(line) and i + 1 < len(report) and (code := _CODE.search(report[i + 1])):
            words = code.group(1).split()
            at = next((j for j, w in enumerate(words) if w.startswith("<")), None)
            if at is None:
                return False
            words = [w.strip("<>") for w in words]
            for start in (at - 1, at):  # int3 reports the byte after it; #UD the byte itself
                site = words[start : start + 5]
                if site == _NOP5 or (len(site) == 5 and site[0] == "e9"):
                    return True
            return False
    return False


def classify(console: str, *, job_started: bool) -> Crash | None:
    """The crash in `console`, or None when it shows none.

    `job_started`: whether the job's start marker arrived (it comes on another serial port,
    so the console alone cannot tell). Without a crash report in the console a guest that
    stopped is still a death; the caller says so from what qemu did (`silent_death`).
    """
    lines = console.splitlines()
    first = next((i for i, line in enumerate(lines) if _CRASH_START.match(_strip(line))), None)
    if first is None:
        return None
    report = lines[first:]
    summary = _strip(report[0])
    if rip := next((m.group(1) for line in report if (m := _RIP.search(line))), None):
        summary += f" at {rip}"
    panic = next((m.group(1) for line in report if (m := _PANIC.search(_strip(line)))), None)
    if panic and not summary.startswith("Kernel panic"):
        summary += f"; panic: {panic.strip()}"
    policy = loaded_policy(lines)
    stage = BOOT if not job_started else POLICY if policy else JOB
    return Crash(stage, summary, policy, "\n".join(report[:LOG_LINES]), on_patched_site(report))


def silent_death(console: str, *, job_started: bool, qemu_status: int | None) -> Crash:
    """A guest that stopped without a crash report (qemu exited, or boot never finished)."""
    how = "qemu exited" if qemu_status is not None else "the guest hung"
    status = f" (status {qemu_status})" if qemu_status else ""
    where = "during the job" if job_started else "before the job started"
    tail = "\n".join(console.splitlines()[-LOG_LINES:])
    return Crash(
        BOOT if not job_started else JOB, f"{how}{status} {where}, no crash report", None, tail
    )

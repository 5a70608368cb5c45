"""How a sched_ext policy ended: the kernel's exit info by name, plus the kernel's own words.

The kernel tells a policy why it is being disabled through `ops.exit(struct scx_exit_info *)`;
every policy that follows the stats contract copies kind, code, reason and message into its
stats (docs/internals.md), so the loader can report them after the fact, whether the policy was
unloaded by us or ejected by the kernel (watchdog stall, runtime error). The kernel also logs
the ending, with a backtrace, to the kernel log; `KernelLog` collects what was logged while the
policy was loaded, and `from_kernel_log` reads kind, reason and message back from those lines
for a hand-written C policy that keeps no such record.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

# enum scx_exit_kind (include/linux/sched/ext.h; values checked against the 7.x kernel BTF).
EXIT_KIND_NAMES: dict[int, str] = {
    0: "NONE",
    1: "DONE",
    64: "UNREG",
    65: "UNREG_BPF",
    66: "UNREG_KERN",
    67: "SYSRQ",
    68: "PARENT",
    1024: "ERROR",
    1025: "ERROR_BPF",
    1026: "ERROR_STALL",
}
# The reason text the kernel gives each kind (scx_exit_reason() in kernel/sched/ext.c), as it
# appears in `sched_ext: BPF scheduler "NAME" disabled (REASON)`.
REASON_KINDS: dict[str, int] = {
    "unregistered from user space": 64,
    "unregistered from BPF": 65,
    "unregistered from the main kernel": 66,
    "disabled by sysrq-S": 67,
    "runtime error": 1024,
    "scx_bpf_error": 1025,
    "runnable task stall": 1026,
}
ERROR_KIND_MIN = 1024  # SCX_EXIT_ERROR and above: the policy failed
KMSG = "/dev/kmsg"
KEPT_LOG_LINES = 200


def kind_name(kind: int) -> str:
    return EXIT_KIND_NAMES.get(kind, f"UNKNOWN_{kind}")


@dataclass(frozen=True)
class ExitInfo:
    """Why the policy stopped. `ejected`: the kernel disabled it before we detached."""

    kind: int
    kind_name: str
    code: int
    reason: str
    message: str
    ejected: bool
    kernel_log_lines: tuple[str, ...]

    @property
    def is_error(self) -> bool:
        return self.kind >= ERROR_KIND_MIN


_DISABLED = re.compile(r'sched_ext: BPF scheduler "(?P<name>[^"]*)" disabled \((?P<reason>[^)]*)\)')


def from_kernel_log(lines: Sequence[str], name: str) -> tuple[int, str, str] | None:
    """(kind, reason, message) of policy `name`'s last "disabled" record in `lines`, or None.

    The message is the kernel's next line `sched_ext: NAME: MESSAGE`, when there is one. A
    reason this table does not know keeps its text with kind 0 (NONE): never a guessed kind.
    """
    for i in range(len(lines) - 1, -1, -1):
        found = _DISABLED.search(lines[i])
        if found is None or found["name"] != name:
            continue
        reason = found["reason"]
        prefix = f"sched_ext: {name}: "
        message = ""
        for later in lines[i + 1 : i + 3]:
            at = later.find(prefix)
            if at >= 0:
                message = later[at + len(prefix) :].strip()
                break
        return REASON_KINDS.get(reason, 0), reason, message
    return None


class KernelLog:
    """Kernel log records written after construction (reads /dev/kmsg, never blocks).

    Missing or unreadable /dev/kmsg (not root, no devtmpfs) just yields no lines: the log is
    supporting evidence, the exit info itself comes from the policy.
    """

    def __init__(self) -> None:
        self._fd: int | None = None
        try:
            self._fd = os.open(KMSG, os.O_RDONLY | os.O_NONBLOCK)
            os.lseek(self._fd, 0, os.SEEK_END)
        except OSError:
            self.close()
        self._lines: list[str] = []

    def read(self) -> list[str]:
        """All messages since construction (cumulative), newest last, at most KEPT_LOG_LINES."""
        while self._fd is not None:
            try:
                record = os.read(self._fd, 8192)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == 32:  # EPIPE: records were overwritten; carry on with the next
                    continue
                break
            if not record:
                break
            header, _, text = record.decode(errors="replace").partition(";")
            fields = header.split(",")
            stamp = (
                f"[{int(fields[2]) / 1e6:12.6f}] "
                if len(fields) > 2 and fields[2].isdigit()
                else ""
            )
            # Continuation lines (" KEY=value") are metadata; keep the message line itself.
            self._lines.append(stamp + text.split("\n", 1)[0])
        del self._lines[:-KEPT_LOG_LINES]
        return list(self._lines)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

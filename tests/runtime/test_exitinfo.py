"""Reading a policy's exit from the kernel log (for hand-written C without an exit record).

The lines are as the 7.3.4 sandbox kernel logged them for a stalled policy and for a normal
unload."""

from __future__ import annotations

from schedlang.runtime.exitinfo import from_kernel_log, kind_name

STALL = [
    "[   28.678009] sched_ext: lose_c: watchdog timeout 2000ms <= rescue overload threshold 4096ms",
    '[   28.747657] sched_ext: BPF scheduler "lose_c" enabled',
    '[   31.021906] sched_ext: BPF scheduler "lose_c" disabled (runnable task stall)',
    "[   31.021984] sched_ext: lose_c: watchdog failed to check in for 2.004s",
    "[   31.022075]    scx_vexit+0x6d/0xa0",
]


def test_stall_is_read_back_with_reason_and_message() -> None:
    kind, reason, message = from_kernel_log(STALL, "lose_c") or (None, "", "")
    assert kind is not None and kind_name(kind) == "ERROR_STALL"
    assert (reason, message) == ("runnable task stall", "watchdog failed to check in for 2.004s")


def test_normal_unload_and_other_policies() -> None:
    lines = [
        '[ 40.1] sched_ext: BPF scheduler "other" disabled (runnable task stall)',
        '[ 41.2] sched_ext: BPF scheduler "simple_c" enabled',
        '[ 45.3] sched_ext: BPF scheduler "simple_c" disabled (unregistered from user space)',
    ]
    assert from_kernel_log(lines, "simple_c") == (64, "unregistered from user space", "")
    assert from_kernel_log(lines[1:], "other") is None


def test_an_unknown_reason_is_kept_but_not_given_a_kind() -> None:
    lines = ['sched_ext: BPF scheduler "x" disabled (a reason from a future kernel)']
    assert from_kernel_log(lines, "x") == (0, "a reason from a future kernel", "")

"""How a dead guest is read: a panic before the job is the sandbox's to retry, a crash with
a policy loaded is a finding, a clean log is no crash.

The consoles in data/console/ were captured from the sandbox VM (kernel 7.3.4, qemu 10.0.2):
boot-panic.txt is the serial console of a boot killed by the test hook (sysrq crash from
init.sh before the job marker), policy-panic.txt that of a job that loaded fifo_c with the
loader and crashed the kernel under it, clean-dmesg.txt the kernel log of a clean
load + hackbench + unload run, mttcg-int3-oops.txt that of a guest that toggled a static key
under multi-threaded TCG until a vCPU ran a stale int3 (docs/sandbox.md §9).
"""

from __future__ import annotations

from pathlib import Path

from schedlang.runtime import crash

DATA = Path(__file__).parent / "data" / "console"


def _console(name: str) -> str:
    return (DATA / name).read_text()


def test_panic_before_the_job_is_a_retryable_boot_death() -> None:
    found = crash.classify(_console("boot-panic.txt"), job_started=False)
    assert found is not None
    assert found.stage == crash.BOOT and found.retryable
    assert found.summary == "Kernel panic - not syncing: sysrq triggered crash"
    assert found.policy is None
    assert found.log.splitlines()[0].endswith("Kernel panic - not syncing: sysrq triggered crash")
    assert "Comm: init.sh" in found.log


def test_same_panic_after_the_job_started_is_not_retried() -> None:
    found = crash.classify(_console("boot-panic.txt"), job_started=True)
    assert found is not None
    assert found.stage == crash.JOB and not found.retryable


def test_crash_with_a_policy_loaded_names_the_policy() -> None:
    found = crash.classify(_console("policy-panic.txt"), job_started=True)
    assert found is not None
    assert found.stage == crash.POLICY and not found.retryable
    assert found.policy == "fifo_c"
    assert "Sched_ext: fifo_c (enabled+all)" in found.log
    # The user-space RIP (0033) of the writing process is not where the kernel died.
    assert found.summary == "Kernel panic - not syncing: sysrq triggered crash"


def test_clean_kernel_log_is_no_crash() -> None:
    assert crash.classify(_console("clean-dmesg.txt"), job_started=True) is None
    assert crash.classify(_console("clean-dmesg.txt"), job_started=False) is None


def test_policy_tracking_follows_enable_and_disable() -> None:
    lines = _console("clean-dmesg.txt").splitlines()
    enabled_at = next(i for i, line in enumerate(lines) if '"fifo_c" enabled' in line)
    assert crash.loaded_policy(lines[: enabled_at + 1]) == "fifo_c"
    assert crash.loaded_policy(lines) is None  # disabled again at the end
    assert crash.loaded_policy(lines[:enabled_at]) is None


def test_mttcg_oops_on_a_patched_jump_label_is_recognised() -> None:
    # Captured under qemu 10.0.2 -accel tcg,thread=multi while the job toggled
    # kernel.sched_schedstats (a static key) with hackbench running on the other vCPU.
    console = _console("mttcg-int3-oops.txt")
    found = crash.classify(console, job_started=True)
    assert found is not None
    assert found.stage == crash.JOB and found.policy is None
    assert found.summary == (
        "Oops: int3: 0000 [#1] SMP NOPTI at put_prev_task_fair+0xf0/0x330; "
        "panic: Fatal exception in interrupt"
    )
    assert found.patched_site  # `0f <1f> 44 00 00`: the int3 was where the NOP now starts
    assert found.retryable  # TCG's race with no policy loaded: the job runs again
    before = crash.classify(console, job_started=False)
    assert before is not None and before.stage == crash.BOOT and before.retryable


def test_a_trap_away_from_a_patch_site_is_not_blamed_on_tcg() -> None:
    lines = _console("mttcg-int3-oops.txt").splitlines()
    # The same report with the trapping code replaced by ordinary instructions.
    code = next(i for i, line in enumerate(lines) if "Code:" in line)
    lines[code] = lines[code].split("Code:")[0] + "Code: 48 89 ef e8 4b <fd> ff ff 80 7b 68"
    found = crash.classify("\n".join(lines), job_started=True)
    assert found is not None and not found.patched_site and not found.retryable
    for name in ("boot-panic.txt", "policy-panic.txt"):  # panics, not traps
        found = crash.classify(_console(name), job_started=True)
        assert found is not None and not found.patched_site


def test_silent_death_says_what_qemu_did() -> None:
    before = crash.silent_death("", job_started=False, qemu_status=0)
    assert before.stage == crash.BOOT and before.retryable
    assert before.summary == "qemu exited before the job started, no crash report"
    hung = crash.silent_death("[ 1.0] x", job_started=False, qemu_status=None)
    assert hung.summary == "the guest hung before the job started, no crash report"
    during = crash.silent_death("", job_started=True, qemu_status=1)
    assert during.stage == crash.JOB and not during.retryable
    assert during.summary == "qemu exited (status 1) during the job, no crash report"


def test_the_same_trap_with_a_policy_loaded_is_reported_not_retried() -> None:
    lines = _console("mttcg-int3-oops.txt").splitlines()
    oops = next(i for i, line in enumerate(lines) if "Oops: int3" in line)
    enabled = '[    5.000000] sched_ext: BPF scheduler "fifo_c" enabled'
    found = crash.classify("\n".join([*lines[:oops], enabled, *lines[oops:]]), job_started=True)
    assert found is not None and found.patched_site
    assert found.stage == crash.POLICY and found.policy == "fifo_c" and not found.retryable

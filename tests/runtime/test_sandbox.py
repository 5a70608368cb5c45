"""The VM sandbox: a command runs as root in a sched_ext guest that sees the host root
read-only and a writable results share; output streams line by line; the exit code comes back;
a timeout kills the VM and nothing else; another kernel image can be booted."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from c_fixtures import build

from schedlang.runtime import crash, provision, sandbox

pytestmark = pytest.mark.vm

GUEST_COMMAND = """
echo first
sleep 1
echo second
echo "state=$(cat /sys/kernel/sched_ext/state)"
echo "nproc=$(nproc)"
if touch /schedlang-write-probe 2>/dev/null; then echo root=writable; else echo root=read-only; fi
echo written-in-guest > from-guest.txt
echo "var=$SCHEDLANG_TEST_VAR"
python3 -c "import schedlang; print('schedlang=' + schedlang.__file__)"
for tool in hackbench stress-ng perf bpftool; do command -v $tool >/dev/null && echo "have=$tool"; done
printf "no final newline"
exit 7
"""


@dataclass(frozen=True)
class Run:
    result: sandbox.GuestResult
    arrivals: dict[str, float]  # line -> host clock when on_line saw it
    returned_at: float


def _provisioned() -> provision.Toolchain:
    try:
        return provision.ensure()
    except provision.ProvisionError as exc:
        pytest.skip(f"sandbox cannot be provisioned: {exc}")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    _provisioned()
    arrivals: dict[str, float] = {}
    result = sandbox.run_in_guest(
        GUEST_COMMAND,
        vcpus=1,
        outdir=tmp_path_factory.mktemp("out"),
        env={"SCHEDLANG_TEST_VAR": "two words"},
        on_line=lambda line: arrivals.setdefault(line, time.monotonic()),
        timeout_s=120,
    )
    return Run(result, arrivals, time.monotonic())


def test_exit_code_and_output_come_back(run: Run) -> None:
    assert run.result.rc == 7
    lines = run.result.output.splitlines()
    assert lines[:2] == ["first", "second"]
    assert "var=two words" in lines
    assert lines[-1] == "no final newline"


def test_kernel_log_stays_out_of_the_output(run: Run) -> None:
    assert "Linux version" in run.result.console
    assert "Linux version" not in run.result.output


def test_guest_has_sched_ext_and_the_requested_vcpus(run: Run) -> None:
    lines = run.result.output.splitlines()
    assert "state=disabled" in lines
    assert "nproc=1" in lines
    assert run.result.boot.vcpus == 1


def test_host_root_is_read_only_and_results_share_writable(run: Run) -> None:
    assert "root=read-only" in run.result.output.splitlines()
    assert not Path("/schedlang-write-probe").exists()
    assert (run.result.outdir / "from-guest.txt").read_text() == "written-in-guest\n"
    assert sorted(p.name for p in run.result.outdir.iterdir()) == ["from-guest.txt"]


def test_guest_runs_this_schedlang_and_the_host_tools(run: Run) -> None:
    import schedlang

    lines = run.result.output.splitlines()
    assert f"schedlang={schedlang.__file__}" in lines
    for tool in ("hackbench", "bpftool"):
        assert f"have={tool}" in lines


def test_output_is_streamed_while_the_guest_runs(run: Run) -> None:
    # "first" reached on_line while the guest was still sleeping, not in a batch at the end.
    assert run.arrivals["first"] < run.arrivals["second"]
    assert run.arrivals["first"] < run.returned_at - 0.5


def test_boot_info_describes_the_conditions(run: Run) -> None:
    boot = run.result.boot
    toolchain = _provisioned()
    assert boot.kernel_release.startswith(toolchain.kernel_version)
    assert boot.qemu_version.startswith("10.")
    assert boot.host_cores == os.cpu_count()
    assert 0 < boot.boot_s <= boot.wall_s
    assert boot.retries == ()
    if boot.accelerator == "tcg":
        assert boot.tcg_threading == "multi" and not boot.representative_timing
    else:
        assert boot.accelerator == "kvm" and boot.representative_timing


def test_guest_clock_runs_at_the_hosts_tsc_rate(run: Run) -> None:
    """Under TCG the guest is told the host's TSC rate instead of calibrating it against the
    PIT (which a busy host gets wrong, runtime/tsc.py); its own HPET check agrees within 1%."""
    boot = run.result.boot
    if boot.accelerator != "tcg" or boot.tsc_khz is None:
        pytest.skip("the host TSC rate is only given to TCG guests on x86-64 with constant TSC")
    console = run.result.console
    # The kernel prints the rate as "MHz processor" when its own fast PIT calibration of the
    # CPU clock agrees, and the CPU and TSC rates on two lines ("MHz TSC") when it does not.
    rate = f"{boot.tsc_khz / 1000:.3f}"
    assert re.search(rf"tsc: Detected {re.escape(rate)} MHz (processor|TSC)\n", console)
    assert "tsc: Refined TSC clocksource calibration" in console
    assert "Using PIT calibration value" not in console


def _our_children() -> list[str]:
    """Names of this process's live child processes."""
    names = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if len(fields) == 2 and int(fields[1].split()[1]) == os.getpid():
            names.append(fields[0].split("(", 1)[1])
    return names


def test_timeout_kills_only_our_vm(tmp_path: Path) -> None:
    _provisioned()
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        with pytest.raises(sandbox.GuestTimeout) as err:
            sandbox.run_in_guest("echo started; sleep 600", timeout_s=10, outdir=tmp_path)
        assert "did not finish within 10 s" in str(err.value)
        assert bystander.poll() is None, "a process the sandbox did not start was killed"
        assert _our_children() == ["sleep"], "qemu or virtiofsd outlived the timeout"
    finally:
        bystander.kill()
        bystander.wait()


def test_another_kernel_image_boots(tmp_path: Path) -> None:
    """--kernel: the packaged bzImage (vmlinuz) instead of the extracted vmlinux."""
    toolchain = _provisioned()
    vmlinuz = toolchain.kernel_config.with_name("vmlinuz")
    result = sandbox.run_in_guest(
        "cat /sys/kernel/sched_ext/state", kernel=vmlinuz, outdir=tmp_path, timeout_s=120
    )
    assert result.rc == 0 and result.output.strip() == "disabled"
    assert result.boot.kernel == str(vmlinuz)


def test_missing_kernel_image_is_a_clear_error(tmp_path: Path) -> None:
    _provisioned()
    with pytest.raises(sandbox.SandboxError, match="does not exist"):
        sandbox.run_in_guest("true", kernel=tmp_path / "no-such-vmlinux")


def test_unbootable_image_is_a_crash_with_qemus_words(tmp_path: Path) -> None:
    """An ELF without a PVH note: qemu refuses it, and the error quotes qemu."""
    _provisioned()
    with pytest.raises(sandbox.GuestCrash, match="without PVH ELF Note") as err:
        sandbox.run_in_guest("true", kernel=Path("/bin/true"), outdir=tmp_path, timeout_s=60)
    assert err.value.result.rc == -1


SYSRQ_PANIC = "Kernel panic - not syncing: sysrq triggered crash"


def test_a_boot_that_dies_before_the_job_is_rebooted_and_reported(tmp_path: Path) -> None:
    """The test hook panics the first boot just before the job marker: the sandbox boots
    again (single-threaded TCG), the job runs once, and BootInfo says what happened."""
    _provisioned()
    seen: list[str] = []
    result = sandbox.run_in_guest(
        "echo ran", crash_boots=1, outdir=tmp_path, timeout_s=300, on_line=seen.append
    )
    assert result.rc == 0 and seen == ["ran"]
    (retry,) = result.boot.retries
    assert retry.attempt == 1 and retry.reason == SYSRQ_PANIC
    assert "Comm: init.sh" in retry.kernel_log and retry.seconds > 0
    if result.boot.accelerator == "tcg":
        assert retry.tcg_threading == "multi" and result.boot.tcg_threading == "single"


def test_boot_retries_are_bounded(tmp_path: Path) -> None:
    _provisioned()
    with pytest.raises(sandbox.GuestCrash) as err:
        sandbox.run_in_guest("echo ran", crash_boots=2, boot_retries=1, outdir=tmp_path)
    assert err.value.crash is not None and err.value.crash.stage == crash.BOOT
    assert str(err.value).startswith(
        f"the guest died before the command started, in 2 boot(s): {SYSRQ_PANIC}"
    )
    assert [r.reason for r in err.value.result.boot.retries] == [SYSRQ_PANIC]
    assert err.value.result.output == ""


@pytest.mark.usefixtures("vm_ready")
def test_a_crash_with_a_policy_loaded_is_reported_not_retried(tmp_path: Path) -> None:
    artifact = build("fifo_c", tmp_path / "obj")
    command = (
        f"python3 -m schedlang.runtime.loader {artifact.object_path} "
        "--run 'echo c > /proc/sysrq-trigger'"
    )
    with pytest.raises(sandbox.GuestCrash) as err:
        sandbox.run_in_guest(command, outdir=tmp_path / "out", timeout_s=300)
    found = err.value.crash
    assert found is not None and found.stage == crash.POLICY and found.policy == "fifo_c"
    assert str(err.value).startswith(
        f'the guest kernel crashed while the sched_ext policy "fifo_c" was loaded: {SYSRQ_PANIC}'
    )
    assert "Sched_ext: fifo_c (enabled+all)" in str(err.value)
    assert err.value.result.boot.retries == ()

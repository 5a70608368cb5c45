"""Run one shell command as root inside a qemu VM booted on a sched_ext kernel.

The host kernel has no sched_ext, so anything that loads a policy runs in a guest: qemu boots
the provisioned cloud kernel (PVH `vmlinux`, qboot firmware) with the host's root shared
read-only over virtiofs, so the guest sees the same python, workloads and compiled objects at
the same paths. A second, writable virtiofs share is the results directory (`GUEST_OUTDIR`).
`guest/init.sh` is PID 1: it mounts proc/sys/dev/bpffs, runs the job, and powers off. The
command's output arrives on the second serial port, framed by markers that carry the exit code,
so the kernel log on the first port never mixes with it. The console runs `quiet`; the whole
kernel log (`GuestResult.console`) is dmesg, handed over through the results share at the end.

Only processes this module started are ever killed: qemu and each virtiofsd run in their own
process group, and a timeout or error kills exactly those groups.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from schedlang.runtime import accel as accel_probe
from schedlang.runtime import crash as crashes
from schedlang.runtime import provision, tsc

GUEST_OUTDIR = "/mnt/out"
INIT_SCRIPT = Path(__file__).resolve().with_name("guest") / "init.sh"
BEGIN_MARK = "@@SCHEDLANG-BEGIN"
END_MARK = "@@SCHEDLANG-END rc="
GUEST_BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KERNEL_ARGS = (
    "console=ttyS0 root=root rootfstype=virtiofs ro panic=-1 oops=panic quiet "
    "mitigations=off tsc=reliable no_timer_check i8042.noaux i8042.nokbd i8042.nopnp"
)
KERNEL_LOG_FILE = ".schedlang-kernel.log"  # init.sh writes dmesg here, in the results share
SOCKET_WAIT_S = 10.0
BOOT_RETRIES = 2  # reboots after a guest died before the job started (docs/sandbox.md §9)
BOOT_DEADLINE_S = 240.0  # no job start by then: the boot hung (66 s is the slowest seen, load 21)
TCG_THREADING = ("multi", "single")
CRASH_HOOK = "schedlang_test_crash=before-job"  # init.sh crashes the kernel before the job
VIRTIOFS_CACHE = "always"  # the shared trees do not change under a running guest
# How the guest starts the runners: the host's python read over virtiofs under TCG, where
# `site` (site-packages' .pth files, the editable install's finder) took 5.1 s of a 5.7 s
# `python3 -c pass` at host load 6.5 (-S: 0.6 s). The runners need nothing from
# site-packages (PYTHONPATH names the repo; ctypes and json are the standard library's).
GUEST_PYTHON = "python3 -S"


class SandboxError(RuntimeError):
    """The VM could not run the command; the message says why and what to do."""


class GuestTimeout(SandboxError):
    """The command did not finish in time; `result` holds what was seen until then."""

    def __init__(self, message: str, result: GuestResult) -> None:
        super().__init__(message)
        self.result = result


class GuestCrash(SandboxError):
    """The guest stopped without reporting an exit code (panic, oops, early init failure).

    `crash` says when (before the job, during it, with a policy loaded) and quotes the
    kernel's crash report; it is None when qemu itself refused to run.
    """

    def __init__(self, message: str, result: GuestResult, crash: crashes.Crash | None) -> None:
        super().__init__(message)
        self.result = result
        self.crash = crash


@dataclass(frozen=True)
class BootRetry:
    """One boot that died before the job started, and was therefore booted again."""

    attempt: int  # 1 = the first boot
    tcg_threading: str | None  # what that boot used
    reason: str  # the crash's one-line summary
    seconds: float  # host clock: qemu start -> qemu gone
    kernel_log: str  # the crash report from the console


@dataclass(frozen=True)
class BootInfo:
    """Facts every result carries, so a number is never read without its conditions."""

    accelerator: str  # "tcg" or "kvm"
    accelerator_reason: str  # why that accelerator (the KVM probe's verdict)
    qemu_version: str
    kernel: str  # the image booted
    kernel_release: str  # `uname -r` in the guest
    vcpus: int
    host_cores: int
    tcg_threading: str | None  # "multi" / "single" under TCG, None under KVM
    boot_s: float  # host clock: qemu start -> the command starts
    wall_s: float  # host clock: qemu start -> qemu gone
    representative_timing: bool  # False under TCG: only same-boot relative numbers mean much
    retries: tuple[BootRetry, ...] = ()  # boots that died before the job, in order
    tsc_khz: int | None = None  # the TSC rate given to the guest kernel (runtime/tsc.py)


@dataclass(frozen=True)
class GuestResult:
    rc: int
    output: str  # the command's own stdout and stderr
    console: str  # the whole kernel log (dmesg at the end; the quiet serial log if cut short)
    outdir: Path  # host directory that was GUEST_OUTDIR in the guest
    boot: BootInfo


@dataclass
class _Stream:
    """What the reader threads collect (mutable while the guest runs)."""

    output: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    begun_at: float | None = None
    last_line_at: float | None = None  # when the command last printed (for quiet_timeout_s)
    release: str = ""
    rc: int | None = None
    callback_error: Exception | None = None  # raised by on_line; re-raised after the run


def repo_root() -> Path:
    """The directory holding the `schedlang` package that is running, for the guest's PYTHONPATH.

    This module is schedlang/runtime/sandbox.py; the path is taken as imported, not resolved,
    since in a checkout schedlang/runtime is a link to the top-level runtime/."""
    return Path(__file__).absolute().parents[2].resolve()


def trial_kvm_boot() -> tuple[bool, str]:
    """Boot `true` once under KVM: the evidence accel.py's probe caches."""
    try:
        result = run_in_guest(
            "true", accel="kvm", timeout_s=accel_probe.PROBE_TIMEOUT_S, vcpus=1, boot_retries=0
        )
    except SandboxError as exc:
        return False, f"trial KVM boot failed: {str(exc).splitlines()[0]}"
    return result.rc == 0, f"trial KVM boot took {result.boot.boot_s:.1f} s"


def guest_env(toolchain: provision.Toolchain, extra: dict[str, str] | None) -> dict[str, str]:
    """Environment of the guest command: same schedlang, same python, host tools on PATH."""
    python_dir = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{python_dir}:{toolchain.bpftool.parent}:{GUEST_BASE_PATH}",
        "PYTHONPATH": str(repo_root()),
        "PYTHONDONTWRITEBYTECODE": "1",
        "SCHEDLANG_LIBBPF": str(toolchain.libbpf),
        "SCHEDLANG_BPFTOOL": str(toolchain.bpftool),
        "SCHEDLANG_GUEST": "1",
        "TMPDIR": "/run/tmp",
        "HOME": "/run/home",
    }
    env.update(extra or {})
    return env


def _job_script(command: str, env: dict[str, str]) -> str:
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    return f"{exports}cd {GUEST_OUTDIR}\n{command}\n"


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL when the process that started us dies.

    Our children lead their own process groups (so a terminal's Ctrl-C reaches only us, and we
    clean up); this makes sure they cannot outlive us either, even if we are SIGKILLed.
    """
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class _Children:
    """The processes this sandbox started, each leading its own process group."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(  # type: ignore[call-overload]
            argv, start_new_session=True, preexec_fn=_die_with_parent, **kwargs
        )
        self.procs.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()


def _start_virtiofsd(
    children: _Children, toolchain: provision.Toolchain, shared: Path, socket: Path, readonly: bool
) -> subprocess.Popen[bytes]:
    argv = [*toolchain.virtiofsd, f"--socket-path={socket}", f"--shared-dir={shared}"]
    argv += ["--sandbox=none", f"--cache={VIRTIOFS_CACHE}"] + (["--readonly"] if readonly else [])
    log = (socket.parent / f"{socket.stem}-virtiofsd.log").open("wb")
    return children.start(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


def _wait_for_sockets(daemons: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    deadline = time.monotonic() + SOCKET_WAIT_S
    for proc, socket in daemons:
        while not socket.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                log = socket.parent / f"{socket.stem}-virtiofsd.log"
                text = log.read_text(errors="replace").strip() if log.exists() else ""
                raise SandboxError(f"virtiofsd did not start (socket {socket}):\n{text}")
            time.sleep(0.005)


def _qemu_argv(
    toolchain: provision.Toolchain,
    kernel: Path,
    accel: str,
    tcg_threading: str | None,
    tsc_khz: int | None,
    vcpus: int,
    memory_mb: int,
    run_dir: Path,
    job: Path,
    crash_before_job: bool,
) -> list[str]:
    if accel == "kvm":
        cpu = ["-accel", "kvm", "-cpu", "host"]
    else:
        cpu = ["-accel", f"tcg,thread={tcg_threading}"]
    cmdline = f"{KERNEL_ARGS} init={INIT_SCRIPT} schedlang_job={job}"
    if tsc_khz is not None:
        cmdline += f" tsc_early_khz={tsc_khz}"  # no calibration to get wrong (runtime/tsc.py)
    if crash_before_job:
        cmdline += f" {CRASH_HOOK}"
    return [
        str(toolchain.qemu), "-M", "q35", *cpu, "-smp", str(vcpus), "-m", f"{memory_mb}M",
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-L", str(toolchain.qemu_data), "-bios", str(toolchain.qboot), "-kernel", str(kernel),
        "-object", f"memory-backend-memfd,id=mem,size={memory_mb}M,share=on",
        "-numa", "node,memdev=mem",
        "-chardev", f"socket,id=root,path={run_dir / 'root.sock'}",
        "-device", "vhost-user-fs-pci,chardev=root,tag=root",
        "-chardev", f"socket,id=out,path={run_dir / 'out.sock'}",
        "-device", "vhost-user-fs-pci,chardev=out,tag=out",
        "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
        "-chardev", f"pipe,id=job,path={run_dir / 'ttyS1'}", "-serial", "chardev:job",
        "-append", cmdline,
    ]  # fmt: skip


def _read_lines(fd: int, stop: threading.Event, sink: Callable[[str], None]) -> None:
    """Feed complete lines from `fd` to `sink` until EOF, or until `stop` and nothing is left."""
    pending = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            if stop.is_set():
                break
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            sink(line.decode(errors="replace").rstrip("\r"))
    if pending:
        sink(pending.decode(errors="replace").rstrip("\r"))


def _job_sink(stream: _Stream, on_line: Callable[[str], None] | None) -> Callable[[str], None]:
    def sink(line: str) -> None:
        if line.startswith(BEGIN_MARK):
            stream.begun_at = time.monotonic()
            match = re.search(r"release=(\S+)", line)
            stream.release = match.group(1) if match else ""
        elif END_MARK in line and stream.begun_at is not None:
            # Output without a final newline shares its line with the marker.
            before, _, code = line.partition(END_MARK)
            if before:
                sink(before)
            stream.rc = int(code.strip())
        elif stream.begun_at is not None and stream.rc is None:
            stream.output.append(line)
            stream.last_line_at = time.monotonic()
            if on_line is not None and stream.callback_error is None:
                try:
                    on_line(line)
                except Exception as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    stream.callback_error = exc

    return sink


def run_in_guest(
    command: str,
    *,
    vcpus: int = 2,
    memory_mb: int = 2048,
    timeout_s: float = 300,
    kernel: Path | None = None,
    accel: str = "auto",
    tcg_threading: str = "multi",
    boot_retries: int = BOOT_RETRIES,
    outdir: Path | None = None,
    env: dict[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    crash_boots: int = 0,
    quiet_timeout_s: float | None = None,
) -> GuestResult:
    """Boot, run `command` (sh syntax) as root in the guest, power off; see the module doc.

    `on_line` gets each line of the command's output as it arrives (from a reader thread; if
    it raises, it is not called again and its exception is re-raised after the run).
    A guest that dies before the command starts, or while it runs with no policy loaded on
    a live-patched site (the multi-threaded TCG race, docs/sandbox.md §9), is booted again
    and the command run from the start, at most `boot_retries` times, under TCG with
    `thread=single` (immune to that race); each such boot is in `BootInfo.retries`, and
    `on_line` sees the retried command's lines again. Any other death after the command
    started is never retried. `crash_boots` is a test hook: the first that many boots
    crash the kernel just before the command would start.
    Raises SandboxError when the sandbox cannot be provisioned or the VM cannot start,
    GuestTimeout after `timeout_s`, or once the command has started and then printed nothing
    for `quiet_timeout_s` (the VM is killed either way), GuestCrash when the guest dies without
    an exit code (`.crash` says when and quotes the kernel), ValueError for impossible sizes.
    """
    if vcpus < 1 or memory_mb < 256 or timeout_s <= 0 or boot_retries < 0:
        raise ValueError(
            f"vcpus={vcpus}, memory_mb={memory_mb}, timeout_s={timeout_s}, boot_retries="
            f"{boot_retries}: need >= 1, >= 256, > 0, >= 0"
        )
    if tcg_threading not in TCG_THREADING:
        raise ValueError(f"tcg_threading={tcg_threading!r}: use one of {', '.join(TCG_THREADING)}")
    try:
        toolchain = provision.ensure(log=lambda line: print(f"schedlang: {line}", file=sys.stderr))
    except provision.ProvisionError as exc:
        raise SandboxError(f"the sandbox cannot be provisioned: {exc}") from exc
    kernel = Path(kernel) if kernel is not None else toolchain.vmlinux
    if not kernel.is_file():
        raise SandboxError(f"kernel image {kernel} does not exist")
    chosen, reason = accel_probe.choose(accel, toolchain, trial_kvm_boot)
    threading_mode = tcg_threading if chosen == "tcg" else None
    tsc_khz = tsc.host_tsc_khz() if chosen == "tcg" else None  # KVM guests get kvmclock
    retries: list[BootRetry] = []
    while True:
        run_dir = Path(tempfile.mkdtemp(prefix="schedlang-guest-"))
        try:
            boot = _Boot(
                chosen, reason, threading_mode, tsc_khz, tuple(retries),
                len(retries) < crash_boots,
            )  # fmt: skip
            attempt = _boot_and_run(
                run_dir, toolchain, command, kernel, boot, vcpus, memory_mb, timeout_s,
                outdir, env, on_line, quiet_timeout_s,
            )  # fmt: skip
        finally:
            _cleanup(run_dir, keep=outdir is None)
        crash = attempt.crash
        if crash is None or not crash.retryable or len(retries) >= boot_retries:
            return attempt.outcome()
        retries.append(
            BootRetry(
                len(retries) + 1, threading_mode, crash.summary, attempt.result.boot.wall_s,
                crash.log,
            )
        )  # fmt: skip
        if outdir is None:
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing ran: no results to keep
        if chosen == "tcg":
            threading_mode = "single"


@dataclass(frozen=True)
class _Boot:
    """How one boot is made: accelerator, TCG threading, the guest's TSC rate, the boots
    before it, the test hook."""

    accelerator: str
    reason: str
    tcg_threading: str | None
    tsc_khz: int | None
    retries: tuple[BootRetry, ...]
    crash_before_job: bool


@dataclass(frozen=True)
class _Attempt:
    """One boot's result, and what went wrong with it (the caller decides about retrying)."""

    result: GuestResult
    crash: crashes.Crash | None
    failure: SandboxError | None  # what to raise if this attempt is the last
    callback_error: Exception | None

    def outcome(self) -> GuestResult:
        if self.callback_error is not None:
            raise self.callback_error
        if self.failure is not None:
            raise self.failure
        return self.result


def _boot_and_run(
    run_dir: Path,
    toolchain: provision.Toolchain,
    command: str,
    kernel: Path,
    boot_how: _Boot,
    vcpus: int,
    memory_mb: int,
    timeout_s: float,
    outdir: Path | None,
    env: dict[str, str] | None,
    on_line: Callable[[str], None] | None,
    quiet_timeout_s: float | None = None,
) -> _Attempt:
    out = Path(outdir) if outdir is not None else run_dir / "out"
    out.mkdir(parents=True, exist_ok=True)
    job = run_dir / "job.sh"
    job.write_text(_job_script(command, guest_env(toolchain, env)))
    os.mkfifo(run_dir / "ttyS1.in")
    os.mkfifo(run_dir / "ttyS1.out")

    children = _Children()
    stream = _Stream()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    started = time.monotonic()
    timed_out = boot_hung = False
    qemu_status: int | None = None
    try:
        daemons = [
            (_start_virtiofsd(children, toolchain, Path("/"), run_dir / "root.sock", True), run_dir / "root.sock"),
            (_start_virtiofsd(children, toolchain, out, run_dir / "out.sock", False), run_dir / "out.sock"),
        ]  # fmt: skip
        _wait_for_sockets(daemons)
        # O_RDWR: opening a FIFO this way never blocks, whether or not qemu gets to open it.
        job_fd = os.open(run_dir / "ttyS1.out", os.O_RDWR)
        argv = _qemu_argv(
            toolchain, kernel, boot_how.accelerator, boot_how.tcg_threading, boot_how.tsc_khz,
            vcpus, memory_mb, run_dir, job, boot_how.crash_before_job,
        )  # fmt: skip
        qemu_log = (run_dir / "qemu-stderr.log").open("wb")
        qemu = children.start(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=qemu_log
        )
        assert qemu.stdout is not None
        threads = [
            threading.Thread(target=_read_lines, args=(qemu.stdout.fileno(), stop, stream.console.append), daemon=True),
            threading.Thread(target=_read_lines, args=(job_fd, stop, _job_sink(stream, on_line)), daemon=True),
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        qemu_status, timed_out, boot_hung = _wait(qemu, stream, started, timeout_s, quiet_timeout_s)
    finally:
        children.kill_all()
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
    wall = time.monotonic() - started

    boot = BootInfo(
        accelerator=boot_how.accelerator,
        accelerator_reason=boot_how.reason,
        qemu_version=accel_probe.qemu_version(toolchain.qemu),
        kernel=str(kernel),
        kernel_release=stream.release,
        vcpus=vcpus,
        host_cores=os.cpu_count() or 1,
        tcg_threading=boot_how.tcg_threading,
        boot_s=round((stream.begun_at - started) if stream.begun_at else wall, 3),
        wall_s=round(wall, 3),
        representative_timing=boot_how.accelerator == "kvm",
        retries=boot_how.retries,
        tsc_khz=boot_how.tsc_khz,
    )
    serial = "\n".join(stream.console)
    result = GuestResult(
        rc=stream.rc if stream.rc is not None else -1,
        output="\n".join(stream.output),
        console=_kernel_log(out) or serial,
        outdir=out,
        boot=boot,
    )
    if stream.rc is not None:
        return _Attempt(result, None, None, stream.callback_error)
    job_started = stream.begun_at is not None
    crash = crashes.classify(serial, job_started=job_started)
    if crash is None and (boot_hung or (qemu_status == 0 and not timed_out)):
        # qemu exits 0 when the guest reboots (a panic, with -no-reboot) or powers off early.
        crash = crashes.silent_death(
            serial, job_started=job_started, qemu_status=None if boot_hung else qemu_status
        )
    if timed_out and wall < timeout_s:
        failure: SandboxError = GuestTimeout(
            f"the guest command printed nothing for {quiet_timeout_s:g} s (VM killed)", result
        )
    elif timed_out:
        failure = GuestTimeout(
            f"the guest command did not finish within {timeout_s:g} s (VM killed)", result
        )
    else:
        failure = GuestCrash(_crash_message(crash, boot, run_dir, serial), result, crash)
    return _Attempt(result, crash, failure, stream.callback_error)


def _wait(
    qemu: subprocess.Popen[bytes],
    stream: _Stream,
    started: float,
    timeout_s: float,
    quiet_s: float | None = None,
) -> tuple[int | None, bool, bool]:
    """Wait for qemu: (its exit status or None, timed out, boot hung). Timed out: past
    `timeout_s`, or the command started and has printed nothing for `quiet_s`."""
    boot_deadline = started + min(BOOT_DEADLINE_S, timeout_s)
    while True:
        try:
            return qemu.wait(timeout=0.1), False, False
        except subprocess.TimeoutExpired:
            now = time.monotonic()
            if now - started > timeout_s:
                return None, True, False
            last = stream.last_line_at or stream.begun_at
            if quiet_s is not None and last is not None and now - last > quiet_s:
                return None, True, False
            if stream.begun_at is None and now > boot_deadline and timeout_s > BOOT_DEADLINE_S:
                return None, False, True


def _crash_message(crash: crashes.Crash | None, boot: BootInfo, run_dir: Path, serial: str) -> str:
    """What GuestCrash says: when the guest died, the kernel's words, the boots before."""
    if crash is None:
        qemu_err = (run_dir / "qemu-stderr.log").read_text(errors="replace").strip()
        tail = "\n".join(serial.splitlines()[-25:])
        return (
            "the guest stopped without reporting an exit code.\n"
            f"qemu: {qemu_err or '(nothing on stderr)'}\nlast console lines:\n{tail}"
        )
    if crash.stage == crashes.POLICY:
        head = f'the guest kernel crashed while the sched_ext policy "{crash.policy}" was loaded'
    elif crash.stage == crashes.JOB:
        head = "the guest kernel died while the command ran (no sched_ext policy loaded)"
    else:
        head = f"the guest died before the command started, in {len(boot.retries) + 1} boot(s)"
    if crash.patched_site and boot.tcg_threading == "multi":
        head += (
            " (it trapped on a live-patched jump-label site: the signature of multi-threaded"
            " TCG running stale kernel text, docs/sandbox.md §9; rerun with"
            " tcg_threading='single' to tell the emulator from the policy)"
        )
    return f"{head}: {crash.summary}\nkernel log:\n{crash.log}"


def _kernel_log(outdir: Path) -> str:
    """The guest's whole kernel log (dmesg, written by init.sh at the end), taken out of the
    results share; empty when the guest did not get that far (the serial log is used then)."""
    path = outdir / KERNEL_LOG_FILE
    try:
        text = path.read_text(errors="replace").rstrip("\n")
        path.unlink()
    except OSError:
        return ""
    return text


def _cleanup(run_dir: Path, keep: bool) -> None:
    """Remove the run directory (sockets, FIFOs, job, logs: errors have quoted the logs
    already); keep it when it holds the default results share."""
    for path in run_dir.iterdir():
        if path.is_file() or path.is_fifo() or path.is_socket():
            path.unlink()
    if not keep:
        run_dir.rmdir()

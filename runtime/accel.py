"""Choose the sandbox's accelerator: KVM only when it is shown to boot, TCG otherwise.

A `/dev/kvm` is not proof of working virtualisation: on our development machines it belongs to
`kvm_pvm`, a software module that cannot run an ordinary guest kernel (it dies on an emulation
failure, or crawls). So the cheap facts are checked first (no /dev/kvm, kvm_pvm loaded, no
vmx/svm CPU flag: TCG), and only a host that passes them pays for one trial KVM boot, whose
verdict is cached per host kernel and qemu. The trial boot is the sandbox's
(`sandbox.trial_kvm_boot`), passed in by the caller: the sandbox asks this module which
accelerator to boot with, so this module does not import the sandbox.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from schedlang.runtime import provision

PROBE_TIMEOUT_S = 30.0
ACCELERATORS = ("auto", "tcg", "kvm")

# Boots the guest once under KVM and says (booted, how it went).
TrialBoot = Callable[[], tuple[bool, str]]


@functools.cache
def qemu_version(qemu: Path) -> str:
    proc = subprocess.run([str(qemu), "--version"], capture_output=True, text=True)
    match = re.search(r"version (\S+)", proc.stdout)
    return match.group(1) if match else "unknown"


def cheap_kvm_verdict() -> tuple[bool, str]:
    """(plausible, why) from facts that need no boot."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "no usable /dev/kvm"
    if Path("/sys/module/kvm_pvm").exists():
        return False, "/dev/kvm is kvm_pvm (software PVM), which cannot boot this guest"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    if not re.search(r"^flags\s*:.*\b(vmx|svm)\b", flags, re.M):
        return False, "the CPU has no vmx/svm flag"
    return True, "/dev/kvm with hardware virtualisation"


def _probe_file(toolchain: provision.Toolchain) -> Path:
    return toolchain.cache_dir / "kvm-probe.json"


def kvm_verdict(toolchain: provision.Toolchain, trial_boot: TrialBoot) -> tuple[bool, str]:
    """Whether KVM really boots the guest here (`trial_boot` once, then cached)."""
    plausible, why = cheap_kvm_verdict()
    if not plausible:
        return False, why
    key = f"{platform.release()} {qemu_version(toolchain.qemu)} {toolchain.kernel_version}"
    cache = _probe_file(toolchain)
    try:
        recorded = json.loads(cache.read_text())
        if recorded.get("key") == key:
            return bool(recorded["ok"]), str(recorded["why"])
    except (OSError, ValueError, KeyError):
        pass
    ok, why = trial_boot()
    cache.write_text(json.dumps({"key": key, "ok": ok, "why": why}) + "\n")
    return ok, why


def choose(
    requested: str, toolchain: provision.Toolchain, trial_boot: TrialBoot
) -> tuple[str, str]:
    """("kvm" | "tcg", reason) for a request of "auto", "kvm" or "tcg"."""
    if requested not in ACCELERATORS:
        raise ValueError(f"accelerator {requested!r}: use one of {', '.join(ACCELERATORS)}")
    if requested == "tcg":
        return "tcg", "TCG requested"
    if requested == "kvm":
        return "kvm", "KVM requested"
    ok, why = kvm_verdict(toolchain, trial_boot)
    return ("kvm", why) if ok else ("tcg", why)

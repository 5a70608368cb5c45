"""`schedlang doctor`: what is present, what is missing, and the exact command to get it.

Lists each sandbox component (guest kernel, qemu, virtiofsd, libbpf, bpftool, host tools) with
version and path, then the host facts that decide how policies can run here: does the host
kernel itself have sched_ext (host mode), is /dev/kvm real hardware virtualisation or only
kvm_pvm (the sandbox then uses TCG), which clang compiles the BPF.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass

HELP = "say what is present, what is missing and how to get it"


@dataclass(frozen=True)
class HostFact:
    name: str
    value: str
    note: str


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _clang_version() -> str:
    path = shutil.which("clang-19") or shutil.which("clang")
    if path is None:
        return "missing"
    out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"clang version (\S+)", out)
    return f"{match.group(1) if match else 'unknown'} ({path})"


def host_facts() -> list[HostFact]:
    from schedlang.runtime import accel, provision, sandbox

    scx = "/sys/kernel/sched_ext/state"
    has_scx = os.path.exists(scx)
    plausible, why = accel.cheap_kvm_verdict()
    toolchain = provision.cached_toolchain()
    kvm_note = "the sandbox uses TCG (slow; timings only comparable within one boot)"
    if plausible and toolchain is not None:
        ok, why = accel.kvm_verdict(toolchain, sandbox.trial_kvm_boot)
        kvm_note = "the sandbox uses KVM" if ok else kvm_note
    elif plausible:
        kvm_note = "looks usable; a trial boot decides (after `schedlang sandbox fetch`)"
    return [
        HostFact("host kernel", platform.release(), ""),
        HostFact(
            "host sched_ext",
            "yes" if has_scx else "no",
            "host mode possible (run --host, as root)"
            if has_scx
            else "policies run in the VM sandbox",
        ),
        HostFact("kvm", why, kvm_note),
        HostFact("host cores", str(os.cpu_count()), "vCPUs beyond this distort comparisons"),
        HostFact(
            "clang",
            _clang_version(),
            "" if shutil.which("clang-19") else "apt-get install clang-19",
        ),
        HostFact(
            "root", "yes" if os.geteuid() == 0 else "no", "loading into the host kernel needs root"
        ),
    ]


def run(args: argparse.Namespace) -> int:
    from schedlang.runtime import provision

    components = provision.status()
    facts = host_facts()
    if args.json:
        data = {"components": [asdict(c) for c in components], "host": [asdict(f) for f in facts]}
        print(json.dumps(data, default=str, indent=2))
    else:
        print(f"cache: {provision.cache_dir()}")
        for c in components:
            mark = "ok" if c.present else "MISSING"
            where = str(c.path) if c.path else f"get it: {c.fix}" if c.fix else ""
            print(f"  {mark:8} {c.name:10} {c.version:12} {where}")
            if c.detail and not c.present:
                print(f"  {'':8} {'':10} {c.detail}")
        print("host:")
        for f in facts:
            print(f"  {f.name:15} {f.value}" + (f"  -- {f.note}" if f.note else ""))
    return 0 if all(c.present for c in components) else 1

"""`schedlang sandbox fetch|status|run`: provision the VM sandbox, or run one command in it.

`fetch` downloads and verifies the pinned guest kernel, qemu, virtiofsd, libbpf and bpftool into
the cache (idempotent: a warm cache returns at once). `run` boots the guest, runs a shell
command as root, streams its output, and exits with its exit code, which is how to poke at a
sched_ext kernel by hand (`schedlang sandbox run -- cat /sys/kernel/sched_ext/state`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

HELP = "fetch or inspect the VM sandbox (kernel, qemu, libbpf)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    fetch = sub.add_parser("fetch", help="download, verify and unpack what the sandbox needs")
    fetch.add_argument(
        "--kernel-version",
        help="guest kernel (default: the pinned one, or $SCHEDLANG_KERNEL_VERSION)",
    )
    fetch.add_argument(
        "--list-kernels", action="store_true", help="list cloud kernels the archive offers now"
    )
    status = sub.add_parser("status", help="what is in the cache")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    run = sub.add_parser("run", help="boot the guest and run one shell command as root")
    run.add_argument("--vcpus", type=int, default=2)
    run.add_argument("--memory", type=int, default=2048, metavar="MB")
    run.add_argument("--timeout", type=float, default=300, metavar="SECONDS")
    run.add_argument(
        "--kernel", type=Path, help="another sched_ext kernel image (vmlinux or bzImage)"
    )
    run.add_argument("--accel", choices=("auto", "tcg", "kvm"), default="auto")
    run.add_argument(
        "--outdir", type=Path, help="host directory shared writable at the guest's results path"
    )
    run.add_argument(
        "--json", action="store_true", help="print the result (without console) as JSON at the end"
    )
    run.add_argument(
        "guest_command", nargs=argparse.REMAINDER, metavar="COMMAND", help="the command (after --)"
    )


def _err(message: str) -> None:
    print(f"schedlang sandbox: {message}", file=sys.stderr)


def _fetch(args: argparse.Namespace) -> int:
    from schedlang.runtime import provision

    try:
        if args.list_kernels:
            for version in provision.list_kernels(log=_err):
                print(version)
            return 0
        toolchain = provision.ensure(args.kernel_version, log=_err)
    except provision.ProvisionError as exc:
        _err(str(exc))
        return 1
    for name, value in asdict(toolchain).items():
        shown = " ".join(value) if isinstance(value, tuple) else value
        print(f"{name:15} {shown}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from schedlang.runtime import provision

    components = provision.status()
    if args.json:
        print(json.dumps([asdict(c) for c in components], default=str, indent=2))
    else:
        for c in components:
            mark = "ok  " if c.present else "MISSING"
            print(f"{mark:8} {c.name:10} {c.version:12} {c.path or c.fix}")
    return 0 if all(c.present for c in components) else 1


def _run(args: argparse.Namespace) -> int:
    from schedlang.runtime import provision, sandbox

    words = args.guest_command[1:] if args.guest_command[:1] == ["--"] else args.guest_command
    if not words:
        _err("no command given; usage: schedlang sandbox run [OPTIONS] -- COMMAND")
        return 2
    command = " ".join(words)
    try:
        result = sandbox.run_in_guest(
            command, vcpus=args.vcpus, memory_mb=args.memory, timeout_s=args.timeout,
            kernel=args.kernel, accel=args.accel, outdir=args.outdir,
            on_line=lambda line: print(line, flush=True),
        )  # fmt: skip
    except (provision.ProvisionError, sandbox.SandboxError) as exc:
        _err(str(exc))
        return 1
    boot = result.boot
    _err(
        f"{boot.accelerator} ({boot.accelerator_reason}), qemu {boot.qemu_version}, kernel "
        f"{boot.kernel_release}, {boot.vcpus} vCPUs on {boot.host_cores} host cores; boot "
        f"{boot.boot_s:.2f} s, total {boot.wall_s:.2f} s; rc {result.rc}; results in {result.outdir}"
    )
    for retry in boot.retries:
        _err(
            f"boot {retry.attempt} (TCG threads {retry.tcg_threading}) died before the command "
            f"started, so the guest was booted again: {retry.reason}"
        )
    if args.json:
        data = asdict(result)
        data.pop("console")
        print(json.dumps(data, default=str, indent=2))
    return result.rc


def run(args: argparse.Namespace) -> int:
    actions = {"fetch": _fetch, "status": _status, "run": _run}
    if args.action not in actions:
        _err("choose an action: fetch, status or run (see --help)")
        return 2
    return actions[args.action](args)

"""`schedlang run POLICY`: load a policy into a sched_ext kernel and measure it.

Progress (one line per step, streamed from the guest) goes to stderr so that stdout carries
only the final table; `--json OUT` writes the full report for programs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from schedlang.commands import param_option
from schedlang.runtime.workloads import WORKLOADS

if TYPE_CHECKING:
    from schedlang.backends.artifact import Artifact

HELP = "load a policy in a sched_ext kernel and measure it against the default scheduler"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "policy",
        help="a .sched file, hand-written sched_ext C (.bpf.c), or a .bpf.o with its .json "
        "manifest beside it",
    )
    parser.add_argument(
        "--workload",
        "-w",
        action="append",
        metavar="NAME",
        help=f"workload to run (repeatable; default hackbench): {', '.join(WORKLOADS)}, "
        "or rt-app:FILE.json / rt-app:MODEL (a simulator workload run by the real rt-app)",
    )
    parser.add_argument("--repeat", "-n", type=int, default=5, help="runs per side (default 5)")
    parser.add_argument(
        "--baseline",
        choices=["default"],
        default="default",
        help="what to compare against: the kernel's default scheduler (nothing loaded)",
    )
    param_option.add_argument(parser)
    parser.add_argument("--vcpus", type=int, default=2, help="guest vCPUs (keep <= host cores)")
    parser.add_argument("--kernel", metavar="PATH", help="another sched_ext kernel image to boot")
    parser.add_argument(
        "--host",
        action="store_true",
        help="run on this machine's kernel instead of the VM (needs sched_ext and root)",
    )
    parser.add_argument("--json", metavar="OUT", help="write the full report as JSON to OUT")


def _artifact(policy: Path) -> Artifact:
    """The compiled policy: a .sched or .c file goes through the compiler (the C through the
    `verify-c` gate), an object is opened.

    Raises MeasureError for anything the user must fix; the compiler's diagnostics are in
    its message, rendered as `schedlang check` would show them. UnusableInput (exit 2) is
    for what the policy cannot fix: a missing or unreadable file, no usable clang.
    """
    from schedlang.runtime.measure import MeasureError, UnusableInput, open_artifact

    if policy.suffix not in (".sched", ".c"):
        return open_artifact(policy)
    if not policy.exists():
        raise UnusableInput(f"{policy}: no such file")
    from schedlang.backends.bpf.build import GeneratedCRejected
    from schedlang.compiler import compile_policy
    from schedlang.errors import SchedlangError

    try:
        compiled = compile_policy(policy)
    except GeneratedCRejected:
        raise  # a bug in schedlang, not the input: the CLI's internal error (exit 3)
    except (RuntimeError, OSError) as exc:  # clang missing, unreadable file: says how to fix
        raise UnusableInput(f"{policy}: compiling failed: {exc}") from None
    if compiled.artifact is None:
        shown = SchedlangError(compiled.source, compiled.diagnostics)  # rendered as `check` does
        raise MeasureError(f"{policy} does not compile:\n{shown}")
    return compiled.artifact


def _plain_progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def _live_progress() -> Callable[[str], None]:
    """On a terminal, a step's "... " line is replaced in place by its result line."""
    pending = False

    def show(line: str) -> None:
        nonlocal pending
        if pending:
            sys.stderr.write("\r\033[K")
        pending = line.endswith(" ...")
        sys.stderr.write(f"  {line}" + ("" if pending else "\n"))
        sys.stderr.flush()

    return show


def run(args: argparse.Namespace) -> int:
    from schedlang.runtime import measure
    from schedlang.runtime.workloads import UnknownWorkloadError, get

    try:
        params = param_option.parse(args.param)
    except ValueError as exc:
        print(f"schedlang run: {exc}", file=sys.stderr)
        return 2
    if args.repeat < 1 or args.vcpus < 1:
        print("schedlang run: --repeat and --vcpus must be at least 1", file=sys.stderr)
        return 2
    workloads = args.workload or ["hackbench"]
    try:
        for name in workloads:
            get(name)
    except UnknownWorkloadError as exc:
        print(f"schedlang run: {exc}", file=sys.stderr)
        return 2
    if args.kernel and not Path(args.kernel).exists():
        print(f"schedlang run: --kernel {args.kernel}: no such file", file=sys.stderr)
        return 2

    progress = _live_progress() if sys.stderr.isatty() else _plain_progress

    try:
        artifact = _artifact(Path(args.policy))
        measure.check_params(artifact, params)  # before the announcement, not after a boot
        where = "this host" if args.host else f"a {args.vcpus}-vCPU sandbox VM"
        print(f"schedlang run: measuring {artifact.name} in {where} ...", file=sys.stderr)
        report = measure.run(
            artifact,
            workloads=workloads,
            repeat=args.repeat,
            params=params,
            vcpus=args.vcpus,
            kernel=args.kernel,
            host=args.host,
            progress=progress,
        )
    except measure.UnusableInput as exc:
        print(f"schedlang run: {exc}", file=sys.stderr)
        return 2
    except measure.MeasureError as exc:
        print(f"schedlang run: {exc}", file=sys.stderr)
        return 1
    print(report.format_text())
    if args.json:
        Path(args.json).write_text(report.to_json() + "\n")
        print(f"schedlang run: full report written to {args.json}", file=sys.stderr)
    return 0 if report.policy_measured and not report.events else 1

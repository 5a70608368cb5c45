"""`schedlang verify-c FILE.bpf.c`: the gate hand-written sched_ext C must pass before it is
compiled or loaded. Exit 0 clean, 1 findings (including "not analysed"), 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys

HELP = "check hand-written sched_ext C before it is loaded"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE.bpf.c", help="C files to check")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument(
        "-I",
        dest="include_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="extra include directory for the preprocessor (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    from schedlang.cgate import render, verify

    missing = [f for f in args.files if not os.path.isfile(f)]
    if missing:
        print(f"schedlang verify-c: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    findings = []
    for path in args.files:
        findings += verify(os.fspath(path), include_dirs=tuple(args.include_dirs))
    if args.format == "json":
        print(render.as_json(findings))
    elif findings:
        print(render.text(findings))
        errors = sum(f.severity == "error" for f in findings)
        print(
            f"\n{len(findings)} finding(s): {errors} error(s), {len(findings) - errors} not analysed"
        )
    else:
        print(f"ok: {len(args.files)} file(s) pass the gate")
    return 1 if findings else 0

"""`schedlang verify-c FILE.bpf.c`: the gate hand-written sched_ext C must pass before it is
compiled or loaded. Exit 0 clean, 1 findings (including "not analysed"), 2 usage error.
Findings print as `schedlang check` prints diagnostics, text or the JSON document of
docs/cli.md.
"""

from __future__ import annotations

import argparse
import os
import sys

from schedlang.diagnostics import render_all, render_json
from schedlang.source import SourceFile

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
    from schedlang.verify_c import verify

    missing = [f for f in args.files if not os.path.isfile(f)]
    if missing:
        print(f"schedlang verify-c: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    found = {
        path: verify(os.fspath(path), include_dirs=tuple(args.include_dirs)) for path in args.files
    }
    findings = [f for per_file in found.values() for f in per_file]
    if args.format == "json":
        files = [
            {"file": path, "status": "diagnostics" if f else "ok", "diagnostics": f}
            for path, f in found.items()
        ]
        print(render_json({"status": "diagnostics" if findings else "ok", "files": files}))
    elif findings:
        print(render_all(findings, _sources({f.file for f in findings})))
        errors = sum(f.severity == "error" for f in findings)
        print(
            f"\n{len(findings)} finding(s): {errors} error(s), {len(findings) - errors} not analysed"
        )
    else:
        print(f"ok: {len(args.files)} file(s) pass the gate")
    return 1 if findings else 0


def _sources(paths: set[str]) -> dict[str, SourceFile]:
    """The text of each file a finding points into (headers too), to show its lines."""
    out = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace", newline="") as fh:
                out[path] = SourceFile(path, fh.read())
        except OSError:
            pass  # shown without its line
    return out

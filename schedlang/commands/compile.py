"""`schedlang compile FILE`: check a policy and write NAME.bpf.c, NAME.bpf.o and NAME.json.

FILE may also be hand-written sched_ext C (`STEM.bpf.c`): it goes through the `verify-c`
gate and clang, and STEM.bpf.o and STEM.json are written. Both kinds go through
`schedlang.compiler.compile_policy`, as `schedlang run` and `schedlang.compile` do.
Diagnostics look exactly like `schedlang check`'s (text for people, `--format json` for
agents: one document with `status`, `ok`, `diagnostics`, the checker's `facts` and the files
written). Exit codes: 0 compiled, 1 the policy (or a `--param`) has problems, 2 usage or
environment error (unreadable file, no usable clang), 3 internal error (a bug).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from schedlang.commands import internal_error, param_option
from schedlang.commands.check import EXIT, FileResult, Status, print_diagnostics, unreadable
from schedlang.diagnostics import render_json

if TYPE_CHECKING:
    from schedlang.backends.artifact import Artifact

HELP = "compile a policy to sched_ext BPF C and an object"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from schedlang.backends.bpf.compat import DEFAULT_KERNEL_API, KERNEL_APIS
    from schedlang.backends.bpf.pipeline import EMIT_CHOICES
    from schedlang.backends.semantics import DEFAULT_TIMEOUT_MS

    p.add_argument("file", metavar="FILE", help="policy source (.sched), or sched_ext C (.bpf.c)")
    p.add_argument(
        "-o", "--output", metavar="OUT", default=".", help="output directory (default .)"
    )
    p.add_argument(
        "--emit", choices=EMIT_CHOICES, default="all", help="what to write (default all)"
    )
    param_option.add_argument(p)
    levels = ", ".join(f"{name} ({api.doc})" for name, api in KERNEL_APIS.items())
    p.add_argument(
        "--kernel-api",
        choices=list(KERNEL_APIS),
        default=DEFAULT_KERNEL_API,
        metavar="LEVEL",
        help=f"kfunc API to target: {levels}",
    )
    p.add_argument(
        "--timeout-ms",
        type=int,
        default=DEFAULT_TIMEOUT_MS,
        help=f"watchdog: a task runnable this long without running ejects the policy (default {DEFAULT_TIMEOUT_MS})",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument(
        "-I",
        dest="include_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="C policies: extra include directory (repeatable)",
    )


def _usage(message: str) -> int:
    print(f"schedlang compile: {message}", file=sys.stderr)
    return 2


def _output_problem(output: str) -> str | None:
    """What is wrong with `-o OUT`, checked before any work: it must be a directory (made if
    missing); the errno of a failed mkdir would tell the user less than this does."""
    for where in (Path(output), *Path(output).parents):
        if where.exists():
            if where.is_dir():
                return None
            blocked = "" if where == Path(output) else f" ({where} is a file)"
            return (
                f"-o {output}: not a directory{blocked}; -o names the directory that receives "
                "NAME.bpf.c, NAME.bpf.o and NAME.json"
            )
    return None


def run(args: argparse.Namespace) -> int:
    from schedlang.backends.bpf.build import ClangError, GeneratedCRejected
    from schedlang.backends.bpf.compat import DEFAULT_KERNEL_API
    from schedlang.backends.semantics import DEFAULT_TIMEOUT_MS
    from schedlang.compiler import compile_policy, is_c_policy

    try:
        params = param_option.parse(args.param)
    except ValueError as exc:
        return _usage(str(exc))
    problem = _output_problem(args.output)
    if problem:
        return _usage(problem)
    is_c = is_c_policy(args.file)
    if is_c and args.emit == "c":
        return _usage("--emit c: a C policy is already C; use --emit obj or all")
    if is_c and (args.kernel_api != DEFAULT_KERNEL_API or args.timeout_ms != DEFAULT_TIMEOUT_MS):
        return _usage(
            "--kernel-api and --timeout-ms apply to .sched policies; a C policy picks its "
            "kfuncs and sets `.timeout_ms` in its own ops table"
        )
    try:
        compiled = compile_policy(
            args.file,
            params,
            Path(args.output),
            emit=args.emit,
            kernel_api=args.kernel_api,
            timeout_ms=args.timeout_ms,
            include_dirs=tuple(args.include_dirs),
        )
    except OSError as err:
        result = FileResult(args.file, "unreadable", error=unreadable(err))
    except (ValueError, ClangError) as exc:
        if isinstance(exc, GeneratedCRejected):  # the checker accepted it: schedlang's bug
            return _internal_error(args, exc)
        return _usage(str(exc))
    except Exception as exc:  # a bug in the checker, the gate or the backend: exit 3, never 1
        return _internal_error(args, exc)
    else:
        status: Status = "ok" if compiled.artifact is not None else "diagnostics"
        result = FileResult(
            args.file,
            status,
            compiled.checked,
            compiled.diagnostics,
            compiled.source,
            imported=compiled.imported,
        )
    artifact = compiled.artifact if result.status != "unreadable" else None
    if args.format == "json":
        out = {"ok": artifact is not None, **result.to_dict()}
        if artifact is not None:
            out.update(
                policy=artifact.name,
                c=str(artifact.c_path) if artifact.c_path else None,
                object=str(artifact.object_path) if args.emit != "c" else None,
                manifest=str(artifact.manifest_path),
                kernel_api=None if is_c else artifact.manifest["kernel_api"],
            )
        print(render_json(out))
    else:
        print_diagnostics(result)
    if result.status == "unreadable" and result.error:
        print(
            f"schedlang compile: cannot read {args.file}: {result.error['message']}",
            file=sys.stderr,
        )
    if artifact is not None and args.format == "text":
        print(f"{args.file}: compiled {_summary(artifact, is_c)}")
    return EXIT[result.status]


def _summary(artifact: Artifact, is_c: bool) -> str:
    """What was built and where: `NAME (kernel API ...) -> files` (a C policy: its ops,
    tunables and stats, read from the object)."""
    written = [p for p in (artifact.c_path, artifact.object_path) if p and p.exists()]
    if is_c:  # the C file is the source, not an output
        written = [artifact.object_path]
    files = ", ".join(str(p) for p in (*written, artifact.manifest_path))
    m = artifact.manifest
    if not is_c:
        return f"{artifact.name} (kernel API {m['kernel_api']}) -> {files}"
    tunables = ", ".join(f"{p['name']}={p['value']}" for p in m["params"])
    stats = "yes" if m.get("stats") else "none"
    return (
        f"{artifact.name} (ops {m['ops_map']}; tunables: {tunables or 'none'}; stats: {stats})"
        f" -> {files}"
    )


def _internal_error(args: argparse.Namespace, exc: Exception) -> int:
    internal_error.report(exc, "compile", f"while compiling {args.file}", debug=args.debug)
    if args.format == "json":
        result = FileResult(args.file, "internal-error", error=internal_error.record(exc))
        print(render_json({"ok": False, **result.to_dict()}))
    return internal_error.EXIT_CODE

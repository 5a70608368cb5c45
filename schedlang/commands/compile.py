"""`schedlang compile FILE`: check a policy and write NAME.bpf.c, NAME.bpf.o and NAME.json.

FILE may also be hand-written sched_ext C (`STEM.bpf.c`): it goes through the `verify-c`
gate and clang, and STEM.bpf.o and STEM.json are written (backends/bpf/cpolicy.py).
Diagnostics look exactly like `schedlang check`'s (text for people, `--format json` for
agents: one document with `status`, `ok`, `diagnostics`, the checker's `facts` and the files
written). Exit codes: 0 compiled, 1 the policy (or a `--param`) has problems, 2 usage or
environment error (unreadable file, no usable clang), 3 internal error (a bug).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from schedlang.commands import internal_error
from schedlang.commands.check import EXIT, check_file
from schedlang.diagnostics import render_json, render_text

HELP = "compile a policy to sched_ext BPF C and an object"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from schedlang.backends.bpf.compat import DEFAULT_KERNEL_API, KERNEL_APIS
    from schedlang.backends.bpf.compile import EMIT_CHOICES
    from schedlang.backends.bpf.emit import DEFAULT_TIMEOUT_MS

    p.add_argument("file", metavar="FILE", help="policy source (.sched), or sched_ext C (.bpf.c)")
    p.add_argument(
        "-o", "--output", metavar="OUT", default=".", help="output directory (default .)"
    )
    p.add_argument(
        "--emit", choices=EMIT_CHOICES, default="all", help="what to write (default all)"
    )
    p.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a tunable, written as in a policy (slice=3ms, mask=0xff, on=true); repeatable",
    )
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


def _params(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"--param {item!r}: expected NAME=VALUE, e.g. --param slice=3ms")
        out[name.strip()] = value.strip()
    return out


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
    from schedlang.backends.bpf.compile import compile_checked
    from schedlang.errors import SchedlangError

    try:
        params = _params(args.param)
    except ValueError as exc:
        return _usage(str(exc))
    problem = _output_problem(args.output)
    if problem:
        return _usage(problem)
    if args.file.endswith(".c"):
        return _run_c(args, params)
    result = check_file(args.file)
    artifact = None
    if result.checked is not None:
        try:
            artifact = compile_checked(
                result.checked,
                Path(args.output),
                params=params,
                emit=args.emit,
                kernel_api=args.kernel_api,
                timeout_ms=args.timeout_ms,
                source_text=result.source.text if result.source else None,
            )
        except SchedlangError as exc:
            result.diagnostics += exc.diagnostics
            result.status = "diagnostics"
        except GeneratedCRejected as exc:  # the checker accepted it: the C is schedlang's bug
            internal_error.report(exc, "compile", f"while compiling {args.file}", debug=args.debug)
            if args.format == "json":
                print(
                    render_json({"status": "internal-error", "error": internal_error.record(exc)})
                )
            return internal_error.EXIT_CODE
        except (ValueError, ClangError, OSError) as exc:
            return _usage(str(exc))
    if args.format == "json":
        out = {"ok": artifact is not None, **result.to_dict()}
        if artifact is not None:
            out.update(
                c=str(artifact.c_path) if artifact.c_path else None,
                object=str(artifact.object_path) if args.emit != "c" else None,
                manifest=str(artifact.manifest_path),
                kernel_api=artifact.manifest["kernel_api"],
            )
        print(render_json(out))
    else:
        for d in result.diagnostics:
            print(render_text(d, result.source))
    if result.status == "unreadable" and result.error:
        print(
            f"schedlang compile: cannot read {args.file}: {result.error['message']}",
            file=sys.stderr,
        )
    if result.exception is not None:
        internal_error.report(
            result.exception, "compile", f"while checking {args.file}", debug=args.debug
        )
    if artifact is not None and args.format == "text":
        written = [p for p in (artifact.c_path, artifact.object_path) if p and p.exists()]
        written.append(artifact.manifest_path)
        print(
            f"{args.file}: compiled {artifact.name} (kernel API {artifact.manifest['kernel_api']})"
            f" -> {', '.join(str(p) for p in written)}"
        )
    return EXIT[result.status]


def _run_c(args: argparse.Namespace, params: dict[str, str]) -> int:
    """Hand-written C: gate, clang, manifest from the object; the same output shape."""
    from schedlang.backends.bpf.build import ClangError
    from schedlang.backends.bpf.compat import DEFAULT_KERNEL_API
    from schedlang.backends.bpf.cpolicy import compile_c_policy
    from schedlang.backends.bpf.emit import DEFAULT_TIMEOUT_MS
    from schedlang.diagnostics import Diagnostic
    from schedlang.errors import SchedlangError

    if args.emit == "c":
        return _usage("--emit c: a C policy is already C; use --emit obj or all")
    if args.kernel_api != DEFAULT_KERNEL_API or args.timeout_ms != DEFAULT_TIMEOUT_MS:
        return _usage(
            "--kernel-api and --timeout-ms apply to .sched policies; a C policy picks its "
            "kfuncs and sets `.timeout_ms` in its own ops table"
        )
    found: list[Diagnostic] = []
    text = ""
    artifact = None
    try:
        artifact = compile_c_policy(
            args.file, params, Path(args.output), include_dirs=tuple(args.include_dirs)
        )
    except OSError as err:
        return _usage(f"cannot read {args.file}: {err.strerror or err}")
    except ClangError as exc:
        return _usage(str(exc))
    except SchedlangError as exc:
        found, text = exc.diagnostics, str(exc)
    except Exception as exc:  # a bug in the gate, the reader or here: exit 3, never 1
        internal_error.report(exc, "compile", f"while compiling {args.file}", debug=args.debug)
        if args.format == "json":
            print(render_json({"status": "internal-error", "error": internal_error.record(exc)}))
        return internal_error.EXIT_CODE
    if args.format == "json":
        out: dict[str, object] = {
            "status": "ok" if artifact is not None else "diagnostics",
            "ok": artifact is not None,
            "file": args.file,
            "diagnostics": found,
        }
        if artifact is not None:
            out.update(
                policy=artifact.name,
                c=str(artifact.c_path),
                object=str(artifact.object_path),
                manifest=str(artifact.manifest_path),
                kernel_api=None,
            )
        print(render_json(out))
    elif artifact is None:
        print(text)
    else:
        tunables = ", ".join(f"{p['name']}={p['value']}" for p in artifact.manifest["params"])
        print(
            f"{args.file}: compiled {artifact.name} (ops {artifact.manifest['ops_map']}; "
            f"tunables: {tunables or 'none'}; "
            f"stats: {'yes' if artifact.manifest.get('stats') else 'none'})"
            f" -> {artifact.object_path}, {artifact.manifest_path}"
        )
    return 0 if artifact is not None else 1

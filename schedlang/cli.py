"""The `schedlang` command: a table of subcommands, each a module under schedlang.commands.

Each subcommand module exposes `HELP: str`, `add_arguments(parser)` and `run(args) -> int`.
Modules are imported only when their subcommand runs, so `schedlang check` never pays for
the runtime's or the backend's imports (cold start matters to agents calling us in a loop).
Exit codes everywhere (docs/cli.md): 0 success, 1 the input has problems (diagnostics),
2 usage error or unreadable input, 3 internal error (a bug in schedlang: an exception nothing
expected, which must not pass for "the input has problems"; see commands/internal_error.py).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from typing import Any

from schedlang.commands import internal_error
from schedlang.diagnostics import render_json

# subcommand -> (module, one-line help). Order is the order `--help` lists them.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "check": ("schedlang.commands.check", "type-check and prove a policy safe"),
    "fmt": ("schedlang.commands.fmt", "print a policy in canonical form"),
    "compile": ("schedlang.commands.compile", "compile a policy to sched_ext BPF C and an object"),
    "verify-c": (
        "schedlang.commands.verify_c",
        "check hand-written sched_ext C before it is loaded",
    ),
    "run": ("schedlang.commands.run", "load a policy in a sched_ext kernel and measure it"),
    "sim": (
        "schedlang.commands.sim",
        "run a policy on a simulated sched_ext machine against a model of the default",
    ),
    "analyze": (
        "schedlang.commands.analyze",
        "trace a workload under the default scheduler: its profile, bottleneck and rt-app model",
    ),
    "synthesize": (
        "schedlang.commands.synthesize",
        "turn a goal into a policy that beats the default scheduler, measured in the VM",
    ),
    "fuzz": (
        "schedlang.commands.fuzz",
        "run generated policies through the checker, the compiler and (--vm) the kernel",
    ),
    "mcp": ("schedlang.commands.mcp", "serve schedlang's tools to an agent over MCP"),
    "history": (
        "schedlang.commands.history",
        "show what the agent's history store remembers: verdicts, winners, their runs",
    ),
    "stdlib": (
        "schedlang.commands.stdlib",
        "measure the policy library's header claims (sim, VM) and regenerate their blocks",
    ),
    "bench": (
        "schedlang.commands.bench",
        "run the scheduling benchmark, verify a signed result bundle, write its HTML report",
    ),
    "sandbox": (
        "schedlang.commands.sandbox",
        "fetch or inspect the VM sandbox (kernel, qemu, libbpf)",
    ),
    "doctor": (
        "schedlang.commands.doctor",
        "say what is present, what is missing and how to get it",
    ),
}


def build_parser(selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="schedlang",
        description="Write sched_ext scheduling policies in a checked language, compile, load, measure.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            _load(module_name).add_arguments(sp)
        sp.add_argument(
            "--debug",
            action="store_true",
            help=f"on an internal error, print the traceback (also: {internal_error.DEBUG_ENV}=1)",
        )
    return parser


def _load(module_name: str) -> Any:
    """Import a subcommand's module; a missing dependency is a message, not a traceback."""
    try:
        return importlib.import_module(module_name)
    except ImportError as err:
        print(
            f"schedlang: this command is unavailable: {err}\n"
            "  install what is missing with: scripts/setup --deps",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if not a.startswith("-")), None)
    if selected not in SUBCOMMANDS:
        selected = None
    try:
        parser = build_parser(selected)
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    module = _load(SUBCOMMANDS[args.command][0])
    try:
        code = int(module.run(args))
        sys.stdout.flush()  # a reader gone is found here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        print("schedlang: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if getattr(args, "format", None) == "json":
            print(render_json({"status": "internal-error", "error": internal_error.record(exc)}))
        internal_error.report(exc, args.command, debug=args.debug)
        return internal_error.EXIT_CODE


def _reader_gone() -> int:
    """stdout's reader went away (`schedlang check ... | head -1`): not a bug, and nothing
    left to say. Exit as a process killed by SIGPIPE reports itself to the shell (141), the
    way `yes | head` ends; stdout points at /dev/null so the exit's flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file descriptor (embedded, captured)
        pass
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())

"""`schedlang bench run|verify|report`: run the benchmark, check a result bundle, show results.

`run` executes the suite and writes a signed bundle: schedlang.benchmark.runner supplies its
options (`add_arguments(parser)`) and its body (`run(args) -> int`); it is imported only when
`bench` runs, and `run` says it is not available while the module is missing. `seal DIR`
(re)signs a result directory with the user's key (`--tar`: also DIR.tar.gz). `verify BUNDLE` checks a bundle (a directory or a .tar.gz) against its
manifest and ed25519 signature and names every file that was changed, removed or added.
`report BUNDLE... -o FILE` writes one static HTML page for people. `agents` lists the shipped
agents with their track, and why one is skipped here (a T2 agent without an API key), and the
forms `--agent` takes for an outside agent. Exit codes (docs/cli.md):
`verify` 0 intact, 1 tampered, 2 unreadable; `report` 0 written, 2 a bundle cannot be read.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

HELP = "run the scheduling benchmark, verify a signed result bundle, write its HTML report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    run = sub.add_parser("run", help="run the workload suite and write a signed result bundle")
    runner = _runner()
    if runner is not None:
        runner.add_arguments(run)
    seal = sub.add_parser("seal", help="(re)seal a result directory with your signing key")
    seal.add_argument("directory", type=Path, metavar="DIR")
    seal.add_argument("--tar", action="store_true", help="also write DIR.tar.gz")
    verify = sub.add_parser("verify", help="check a bundle's manifest and signature")
    verify.add_argument("bundle", type=Path, metavar="BUNDLE", help="a bundle directory or .tar.gz")
    verify.add_argument(
        "--key",
        type=Path,
        metavar="PUB",
        help="require this public key (the PUBLIC_KEY file of a trusted bundle)",
    )
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    sub.add_parser("agents", help="the shipped agents, their track, and whether they run here")
    report = sub.add_parser("report", help="write one static HTML page from result bundles")
    report.add_argument("bundles", type=Path, nargs="+", metavar="BUNDLE")
    report.add_argument("-o", "--output", type=Path, default=Path("report.html"), metavar="FILE")


def _runner() -> ModuleType | None:
    """The runner module, or None while it is not part of this installation."""
    try:
        return importlib.import_module("schedlang.benchmark.runner")
    except ModuleNotFoundError as exc:
        if exc.name != "schedlang.benchmark.runner":
            raise
        return None


def _err(message: str) -> None:
    print(f"schedlang bench: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if args.action == "verify":
        return _verify(args)
    if args.action == "seal":
        return _seal(args)
    if args.action == "report":
        return _report(args)
    if args.action == "agents":
        from schedlang.benchmark.agents import listing
        from schedlang.benchmark.plugin import FORMS

        for name, track, state in listing():
            print(f"{name:<9}{track:<4}{state}")
        print(
            '\nan outside agent, without touching schedlang (docs/benchmark.md, "Tracks and '
            'agents"):'
        )
        for form, what in FORMS:
            print(f"  --agent {form:<22}{what}")
        print(
            "  its object has `name`, `propose(spec, profile, budget) -> Proposal`, optionally\n"
            "  `state_goal(question) -> Goal | None` and `track` ('T1', the default, or 'T2' when\n"
            "  it writes code; a T2 agent is refused in track T1)"
        )
        return 0
    if args.action == "run":
        runner = _runner()
        if runner is None:
            _err("`bench run` is not available yet (schedlang.benchmark.runner is missing)")
            return 2
        return int(runner.run(args))
    _err("say what to do: `schedlang bench run|verify|report` (see --help)")
    return 2


def _verify(args: argparse.Namespace) -> int:
    from schedlang.benchmark.bundle import BundleError, verify

    try:
        result = verify(args.bundle, key=args.key)
    except BundleError as exc:
        _err(str(exc))
        return 2
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(result.describe())
    return 0 if result.ok else 1


def _seal(args: argparse.Namespace) -> int:
    from schedlang.benchmark.bundle import BundleError, seal

    try:
        print(seal(args.directory, tar=args.tar))
    except BundleError as exc:
        _err(str(exc))
        return 2
    return 0


def _report(args: argparse.Namespace) -> int:
    from schedlang.benchmark.bundle import BundleError
    from schedlang.benchmark.report import write_report

    try:
        write_report(args.bundles, args.output)
    except BundleError as exc:
        _err(str(exc))
        return 2
    print(f"wrote {args.output}")
    return 0

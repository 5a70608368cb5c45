"""`schedlang check FILE...`: prove policies safe, or say precisely why not."""

from __future__ import annotations

import argparse
import json
import pprint
import sys

from schedlang.checker import PASS_NAMES, check_path
from schedlang.diagnostics import Diagnostic, render_text

HELP = "type-check and prove a policy safe"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="policy source (.sched)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="diagnostic format")
    p.add_argument(
        "--dump-after",
        choices=PASS_NAMES,
        metavar="PASS",
        help=f"print the output of a pass ({', '.join(PASS_NAMES)}) to stderr",
    )


def run(args: argparse.Namespace) -> int:
    everything: list[Diagnostic] = []
    texts: list[str] = []
    usage_error = False

    def dump(name: str, output: object) -> None:
        if name == args.dump_after:
            print(pprint.pformat(output, width=100), file=sys.stderr)

    for path in args.files:
        try:
            checked, diags = check_path(path, dump=dump)
        except OSError as err:
            print(f"schedlang check: cannot read {path}: {err.strerror}", file=sys.stderr)
            usage_error = True
            continue
        everything += list(diags)
        texts += [render_text(d, diags.source) for d in diags]
        if checked is not None and args.format == "text":
            facts = checked.facts
            texts.append(f"{path}: ok ({checked.program.name})" + (f" {facts}" if facts else ""))
    if args.format == "json":
        print(json.dumps([d.to_dict() for d in everything], indent=2))
    else:
        print("\n".join(texts))
    if usage_error:
        return 2
    return 1 if any(d.severity == "error" for d in everything) else 0

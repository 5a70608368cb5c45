"""`schedlang fmt FILE`: print a policy in canonical form (or rewrite it with --write)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from schedlang.diagnostics import Diagnostics, render_text
from schedlang.fmt import format_program
from schedlang.parse import parse_source
from schedlang.source import SourceFile

HELP = "print a policy in canonical form"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("--write", action="store_true", help="rewrite the file in place")


def run(args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        print(f"schedlang fmt: cannot read {args.file}: {err}", file=sys.stderr)
        return 2
    source = SourceFile(args.file, text)
    diags = Diagnostics(source)
    tree = parse_source(source, diags)
    if tree is None:
        print("\n".join(render_text(d, source) for d in diags))
        return 1
    out = format_program(tree)
    if args.write:
        Path(args.file).write_text(out, encoding="utf-8")
    else:
        sys.stdout.write(out)
    return 0

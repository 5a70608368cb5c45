"""`schedlang fmt FILE`: print a policy in canonical form (or rewrite it with --write)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from schedlang import ast
from schedlang.diagnostics import Diagnostics, render_text
from schedlang.fmt import Comments, format_program
from schedlang.source import SourceFile
from schedlang.syntax import comments, parse_source

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
    out = format_program(tree, Comments(comments(text)))
    lost = _what_would_be_lost(tree, text, out)
    if lost:  # a bug in fmt: say so and leave the file as it is
        raise AssertionError(f"fmt would {lost}; {args.file} is left unchanged")
    if args.write:
        Path(args.file).write_text(out, encoding="utf-8")
    else:
        sys.stdout.write(out)
    return 0


def _what_would_be_lost(tree: ast.Scheduler, text: str, out: str) -> str | None:
    """What `out` fails to keep of `text`: the program, or a comment's text. Checked before
    anything is written, because bad input (or a bug here) must never lose the user's text."""
    source = SourceFile("<fmt output>", out)
    if not ast.same(parse_source(source, Diagnostics(source)), tree):
        return "change the program"
    words = Counter(tuple(c.split()) for _, c in comments(text))
    words.subtract(tuple(c.split()) for _, c in comments(out))
    missing = sum(n for n in words.values() if n > 0)
    return f"drop or change {missing} comment(s)" if missing else None

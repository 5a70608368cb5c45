"""Findings as text for people (location, source line, caret, help) or JSON for agents.

Why the shape: a finding is the prompt of an agent's next repair, so it says where (the
same `file:line:col: error[CODE]: what` form as the DSL checker), shows the line, and ends
with how to fix it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from schedlang.cgate.findings import Finding


def text(findings: Sequence[Finding], sources: dict[str, str] | None = None) -> str:
    """Human-readable report; `sources` maps file names to their text (read from disk otherwise)."""
    cache: dict[str, list[str] | None] = {}
    blocks = []
    for f in findings:
        block = [f"{f.file}:{f.line}:{f.col}: {f.severity}[{f.code}]: {f.message}"]
        line = _line(f.file, f.line, sources or {}, cache)
        if line is not None:
            gutter = str(f.line)
            caret = len(line[: f.col - 1].expandtabs(8))  # columns count a tab as one
            block.append(f" {gutter} | {line.expandtabs(8)}")
            block.append(f" {' ' * len(gutter)} | {' ' * caret}^")
        block.append(f"help: {f.hint}")
        blocks.append("\n".join(block))
    return "\n\n".join(blocks)


def as_json(findings: Sequence[Finding]) -> str:
    return json.dumps([f.as_json() for f in findings], indent=2)


def _line(
    file: str, line: int, sources: dict[str, str], cache: dict[str, list[str] | None]
) -> str | None:
    if file not in cache:
        if file in sources:
            cache[file] = sources[file].split("\n")
        elif os.path.isfile(file):
            try:
                with open(file, encoding="utf-8", errors="replace") as fh:
                    cache[file] = fh.read().split("\n")
            except OSError:
                cache[file] = None
        else:
            cache[file] = None
    lines = cache[file]
    if lines is None or not 1 <= line <= len(lines):
        return None
    return lines[line - 1]

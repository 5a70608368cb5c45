"""Diagnostics: what passes report instead of printing or raising.

A diagnostic is the prompt of an agent's next repair attempt, so each carries a stable code,
a span, a one-line message and hints that say how to fix it. Passes only append to a
`Diagnostics` sink; rendering (text for people, JSON for agents) happens in one place here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from schedlang.source import SourceFile, Span

Severity = Literal["error", "warning", "note"]
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    path: str
    span: Span
    message: str
    hints: tuple[str, ...] = ()

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.path,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "message": self.message,
            "hints": list(self.hints),
        }


@dataclass
class Diagnostics:
    """The sink every pass writes to; one per source file."""

    source: SourceFile
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, span: Span, message: str, *hints: str) -> None:
        self.items.append(Diagnostic(code, "error", self.source.path, span, message, hints))

    def warning(self, code: str, span: Span, message: str, *hints: str) -> None:
        self.items.append(Diagnostic(code, "warning", self.source.path, span, message, hints))

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(sorted(self.items, key=lambda d: (d.span.line, d.span.col, d.code)))

    def __len__(self) -> int:
        return len(self.items)


def render_text(diag: Diagnostic, source: SourceFile | None = None) -> str:
    """`file:line:col: error[CODE]: message`, the source line with a caret, then the hints."""
    out = [f"{diag.path}:{diag.line}:{diag.col}: {diag.severity}[{diag.code}]: {diag.message}"]
    if source is not None:
        # One character for one column: a tab and a (zero-width) byte-order mark show as a
        # space, a lone surrogate (no output can encode it; `not-text` points at one) as U+FFFD.
        text = source.line_text(diag.line).replace("\t", " ").replace("\ufeff", " ")
        text = _SURROGATE.sub("\ufffd", text)
        if text or diag.line <= source.line_count:
            gutter = f"{diag.line:>4} | "
            out.append(gutter + text)
            width = 1
            if diag.span.end_line == diag.line and diag.span.end_col > diag.col:
                width = diag.span.end_col - diag.col
            width = max(1, min(width, max(1, len(text) - diag.col + 1)))
            out.append(" " * (len(gutter) - 2) + "| " + " " * (diag.col - 1) + "^" * width)
    for hint in diag.hints:
        out.append(f"  help: {hint}")
    return "\n".join(out)


def render_json(data: object) -> str:
    """JSON for agents: a list of diagnostics, or a command's result document holding them.

    Diagnostics anywhere inside `data` become objects with `code`, `severity`, `file`,
    `line`, `col`, `end_line`, `end_col`, `message` and `hints`; other iterables (a
    `Diagnostics` sink, a generator) become arrays. The one place that fixes the JSON form.
    """
    return json.dumps(data, indent=2, default=_jsonable)


def _jsonable(value: object) -> object:
    if isinstance(value, Diagnostic):
        return value.to_dict()
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

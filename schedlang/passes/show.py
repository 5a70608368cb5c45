"""How the safety passes quote the author's code in messages and hints.

A diagnostic that says "`busy[i % 8]`" is easier to act on than one that describes the
expression, so passes quote the source text under a span. IR built by hand (in tests) has no
text behind its spans; then a fallback description is used.
"""

from __future__ import annotations

from schedlang.diagnostics import Diagnostics
from schedlang.source import Span


def code(diags: Diagnostics, span: Span, fallback: str = "this expression") -> str:
    """The source text under span, in backticks, on one line; else the fallback."""
    text = diags.source.text[span.start : span.end] if span.end > span.start else ""
    text = " ".join(text.split())
    if not text:
        return fallback
    if len(text) > 60:
        text = text[:57] + "..."
    return f"`{text}`"


def closing_brace(span: Span) -> Span:
    """The last character of a declaration's span: the `}` that ends its body."""
    col = max(1, span.end_col - 1)
    return Span(span.end_line, col, span.end_line, col + 1, max(0, span.end - 1), span.end)

"""How the safety passes quote the author's code in messages and hints.

A diagnostic that says "`busy[i % 8]`" is easier to act on than one that describes the
expression, so passes quote the source text under a span. IR built by hand (in tests) has no
text behind its spans; then a fallback description is used.
"""

from __future__ import annotations

from collections.abc import Callable

from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.source import Span


def code(diags: Diagnostics, span: Span, fallback: str = "this expression") -> str:
    """The source text under span, in backticks, on one line; else the fallback."""
    text = diags.text_at(span)
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


def range_fixes(
    expr: ir.Expr, text: str, limit: int, negative: bool, use: Callable[[str], str]
) -> list[str]:
    """The two hints that bring the value `expr` (source `text`) into 0..limit-1 where it is
    used (`use(x)` writes the use of `x`: `hist[x]`, `x as cpu`): a guard, and a wrap.

    A value that may be negative needs both ends guarded (`i < 8` alone is the guard it
    already passed) and a conversion to u64 before the wrap: `i % 8` of a negative `i` is
    negative, while `(i as u64) % 8` is in range. Only a local can be guarded in place; any
    other value may change between the test and the use (other CPUs), so it is copied first.
    """
    operand = f"({text})" if isinstance(expr, ir.Binary) else text
    if negative:
        wrap = f"({operand} as u64) % {limit}"
    else:
        wrap = f"{operand} % {limit}"

    def test(name: str) -> str:
        return f"{name} >= 0 and {name} < {limit}" if negative else f"{name} < {limit}"

    if isinstance(expr, ir.Local):
        guard = f"guard it: `if {test(text)} {{ ... {use(text)} ... }}`"
    else:
        guard = (
            "copy it into a local and guard that (other CPUs may change anything else "
            f"meanwhile): `let i = {text}` then `if {test('i')} {{ ... {use('i')} ... }}`"
        )
    return [guard, f"or wrap it: `{use(wrap)}`"]

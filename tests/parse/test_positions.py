"""Positions: every line end the lexer knows counts as one, and nothing else does.

A line ends at `\\n`, `\\r\\n` or a lone `\\r`. Diagnostics give line and column that way and
show that line, so a file saved with old Mac line ends, or with a U+2028 in a comment, still
points at the right place.
"""

from __future__ import annotations

import pytest

from schedlang.checker import check_source
from schedlang.diagnostics import render_text
from schedlang.source import SourceFile

# The same three-line policy; `zz` (line 3, col 16) is unknown.
BODY = ['scheduler p "d" {', "  // a comment", "  var x: u64 = zz", "}"]


def _diags(text: str) -> list[tuple[str, int, int, str]]:
    source = SourceFile("p.sched", text)
    checked, diags = check_source(source)
    assert checked is None
    return [(d.code, d.line, d.col, render_text(d, source).splitlines()[1]) for d in diags]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_every_line_end_counts(eol: str) -> None:
    assert _diags(eol.join(BODY)) == [("unknown-name", 3, 16, "   3 |   var x: u64 = zz")]


def test_mixed_line_ends() -> None:
    text = 'scheduler p "d" {\r\n  // one\r  // two\n\r  var x: u64 = zz\r}'
    assert _diags(text) == [("unknown-name", 5, 16, "   5 |   var x: u64 = zz")]


def test_a_comment_ends_at_a_lone_cr() -> None:
    """Before, `//` ran to the next \\n, swallowing the rest of a CR-only file."""
    text = 'scheduler p "d" {\r  // note\r  var x: u64 = zz\r}'
    assert _diags(text) == [("unknown-name", 3, 16, "   3 |   var x: u64 = zz")]


@pytest.mark.parametrize(
    "sep", ["\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85"]
)
def test_other_line_separators_are_ordinary_characters(sep: str) -> None:
    lines = list(BODY)
    lines[1] = f"  // a{sep}comment"
    assert _diags("\n".join(lines)) == [("unknown-name", 3, 16, "   3 |   var x: u64 = zz")]


def test_a_syntax_error_after_lone_crs() -> None:
    text = 'scheduler p "d" {\r\r  @\r}'
    assert _diags(text) == [("syntax", 3, 3, "   3 |   @")]


def test_span_at_and_line_text_agree_with_the_lexer() -> None:
    source = SourceFile("p", "a\r\nb\rc\u2028d\ne")
    assert [source.line_text(n) for n in range(1, 6)] == ["a", "b", "c\u2028d", "e", ""]
    assert source.line_count == 4
    offsets = {"b": 3, "c": 5, "d": 7, "e": 9}
    assert {ch: (source.span_at(o).line, source.span_at(o).col) for ch, o in offsets.items()} == {
        "b": (2, 1),
        "c": (3, 1),
        "d": (3, 3),
        "e": (4, 1),
    }

"""Keywords are whole words: a keyword glued to the next word is not read as two words."""

from __future__ import annotations

import pytest

from schedlang.checker import check_source
from schedlang.errors import SchedlangError
from schedlang.source import SourceFile
from schedlang.syntax import parse


@pytest.mark.parametrize(
    ("text", "word", "col", "fix"),
    [
        ('schedulerlex "d" { }', "schedulerlex", 1, "scheduler lex"),
        ('scheduler p "d" { onenqueue(t, flags) { } }', "onenqueue", 19, "on enqueue"),
        ('scheduler p "d" { task varx: u64 = 0 }', "varx", 24, "var x"),
        ('scheduler p "d" { on init() { for i in0..4 { } } }', "in0", 37, "in 0"),
        ('scheduler p "d" { queue q: fifox }', "fifox", 28, "fifo x"),
    ],
)
def test_a_glued_keyword_is_a_syntax_error(text: str, word: str, col: int, fix: str) -> None:
    with pytest.raises(SchedlangError) as info:
        parse(text)
    (diag,) = info.value.diagnostics
    assert (diag.code, diag.line, diag.col) == ("syntax", 1, col)
    assert (diag.span.end_line, diag.span.end_col) == (1, col + len(word))
    assert diag.message.startswith(f"unexpected `{word}`: a keyword is a whole word")
    assert diag.hints == (f"write `{fix}`",)


def test_the_same_programs_with_spaces_check_clean() -> None:
    text = (
        'scheduler lex "d" {\n'
        "  task var x: u64 = 0\n"
        "  queue q: fifo\n"
        "  on enqueue(t, flags) { for i in 0..4 { } insert t into q }\n"
        "  on dispatch(c) { move_to_local(q) }\n"
        "}\n"
    )
    checked, diags = check_source(SourceFile("lex.sched", text))
    assert [(d.code, d.message) for d in diags] == []
    assert checked is not None


def test_a_name_that_starts_with_a_keyword_is_still_a_name() -> None:
    tree = parse('scheduler p "d" { var only: u64 = 0 var into_x: u64 = only }')
    assert [d.name for d in tree.decls] == ["only", "into_x"]

"""The parser: the normative examples parse; malformed input becomes one clear diagnostic."""

from __future__ import annotations

from pathlib import Path

import pytest

from schedlang import ast
from schedlang.checker import check_path, check_source
from schedlang.diagnostics import render_text
from schedlang.errors import SchedlangError
from schedlang.source import SourceFile
from schedlang.syntax import parse

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.sched"))


def test_five_normative_examples_exist() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"fifo", "fair", "latency_first", "partition", "spread"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_check_clean(path: Path) -> None:
    checked, diags = check_path(path)
    assert [render_text(d, diags.source) for d in diags] == []
    assert checked is not None and checked.program.name == path.stem


def test_tree_shape_of_fair() -> None:
    tree = parse((ROOT / "examples" / "fair.sched").read_text())
    assert tree.name == "fair"
    kinds = [type(d).__name__ for d in tree.decls]
    assert kinds[:3] == ["Param", "Queue", "Var"]
    enqueue = next(d for d in tree.decls if isinstance(d, ast.Callback) and d.name == "enqueue")
    insert = enqueue.body.stmts[-1]
    assert isinstance(insert, ast.Insert)
    assert (insert.queue, insert.slice, insert.vtime) == (
        "shared",
        ast.Name(insert.span, "slice"),
        ast.Name(insert.span, "v"),
    )
    # the span points at the source: line 13 col 9 in the normative text
    assert (insert.span.line, insert.span.col) == (13, 9)


def test_operator_precedence() -> None:
    tree = parse('scheduler p "d" { on init() { let x = 1 + 2 * 3 << 1 == 14 and not false } }')
    cb = tree.decls[0]
    assert isinstance(cb, ast.Callback)
    let = cb.body.stmts[0]
    assert isinstance(let, ast.Let) and isinstance(let.value, ast.Binary)
    assert let.value.op == "and"
    cmp = let.value.left
    assert isinstance(cmp, ast.Binary) and cmp.op == "=="
    shift = cmp.left
    assert isinstance(shift, ast.Binary) and shift.op == "<<"
    assert isinstance(shift.left, ast.Binary) and shift.left.op == "+"


def test_keywords_are_contextual() -> None:
    # `slice` and `vtime` are a param name and a field name as well as insert keywords
    tree = parse(
        'scheduler p "d" { param slice: duration = 1ms in 1ms..2ms queue q: vtime\n'
        "on enqueue(t, f) { insert t into q slice slice vtime t.vtime } }"
    )
    assert tree.decls[0].name == "slice"


@pytest.mark.parametrize(
    ("text", "line", "col", "fragment"),
    [
        (
            'scheduler p "d" {\n  on init() {\n    let x = 1;\n  }\n}',
            3,
            14,
            "not terminated by `;`",
        ),
        ('scheduler p "d" {\n  on init() { if a && b { } }\n}', 2, 21, "`and`, `or`, `not`"),
        ('scheduler p "d" {\n  var x = 0\n}', 2, 9, "explicit type"),
        ("scheduler p {\n}", 1, 13, "description"),
        ('scheduler p "d" {\n  on init() {\n', 2, 13, "not closed"),
        ('scheduler p "d" {\n  param s: duration = 5 ms in 1ms..2ms\n}', 2, 25, "duration literal"),
        ('scheduler p "d" {\n  on enqueue(t: task, f) { }\n}', 2, 15, "write only the names"),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, line: int, col: int, fragment: str) -> None:
    with pytest.raises(SchedlangError) as info:
        parse(text, "bad.sched")
    (diag,) = info.value.diagnostics
    assert diag.code == "syntax"
    assert (diag.line, diag.col) == (line, col), render_text(diag, info.value.source)
    assert fragment in diag.message
    assert diag.hints, "a syntax error always says how to fix it"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty-file"),
        ("   \n\n", "empty-file"),
        ("\x00\x01\x02binary", "not-text"),
        ("(" * 5000, "too-deep"),
        ('scheduler p "d" { }' + " " * 1_100_000, "file-too-large"),
    ],
)
def test_malformed_input_is_a_diagnostic(text: str, code: str) -> None:
    checked, diags = check_source(SourceFile("bad.sched", text))
    assert checked is None
    assert [d.code for d in diags] == [code]


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.sched"
    path.write_bytes(b'scheduler p "caf\xe9" { }')
    checked, diags = check_path(path)
    assert checked is None
    assert [(d.code, d.line, d.col) for d in diags] == [("not-text", 1, 17)]


def test_ten_megabyte_file(tmp_path: Path) -> None:
    path = tmp_path / "big.sched"
    path.write_text("// filler\n" * 1_000_000)
    checked, diags = check_path(path)
    assert checked is None and [d.code for d in diags] == ["file-too-large"]


def test_long_operator_chain_is_a_diagnostic_not_a_recursion_error() -> None:
    text = 'scheduler p "d" {\n on init() {\n  let x = ' + " + ".join(["1"] * 600) + "\n }\n}"
    checked, diags = check_source(SourceFile("chain.sched", text))
    assert checked is None
    assert [(d.code, d.line) for d in diags] == [("too-deep", 3)]

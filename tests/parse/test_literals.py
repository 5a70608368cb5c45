"""Number literals: a malformed one is a syntax error at the number, saying how to write it."""

from __future__ import annotations

import pytest

from schedlang import ast
from schedlang.checker import check_source
from schedlang.source import SourceFile
from schedlang.syntax import parse

U64_MAX = 18446744073709551615
FORMS = (
    "a number is decimal (`42`, `1_000`) or hex (`0xff`); "
    "a duration is one followed by ns, us, ms or s (`5ms`)"
)
TOO_LARGE = f"the largest integer is {U64_MAX} (0xffff_ffff_ffff_ffff)"


def _const(literal: str) -> str:
    return f'scheduler p "d" {{\n  const x: u64 = {literal}\n}}\n'


def _diags(text: str) -> list[tuple[str, int, int, int, str, tuple[str, ...]]]:
    checked, diags = check_source(SourceFile("p.sched", text))
    return [(d.code, d.line, d.col, d.span.end_col, d.message, d.hints) for d in diags]


@pytest.mark.parametrize(
    ("literal", "message", "hint"),
    [
        ("007", "`007`: leading zeros are not allowed", "write `7`"),
        ("0_0", "`0_0`: leading zeros are not allowed", "write `0`"),
        ("5sec", "`5sec` is not a number", FORMS),
        ("1e3", "`1e3` is not a number", FORMS),
        ("0x", "`0x` is not a number", FORMS),
        ("0xfg", "`0xfg` is not a number", FORMS),
        ("5msx", "`5msx` is not a number", FORMS),
        (str(U64_MAX + 1), f"`{U64_MAX + 1}` does not fit in 64 bits", TOO_LARGE),
        ("0x1_0000_0000_0000_0000", "`0x1_0000_0000_0000_0000` does not fit in 64 bits", TOO_LARGE),
    ],
)
def test_a_malformed_integer_is_reported_where_it_is(literal: str, message: str, hint: str) -> None:
    assert _diags(_const(literal)) == [("syntax", 2, 18, 18 + len(literal), message, (hint,))]


def test_a_number_glued_to_a_keyword_is_one_word() -> None:
    """`1and 2` is the word `1and`, reported as such, not `1 and 2` nor an error at `2`."""
    (diag,) = _diags(_const("1and 2"))
    assert diag[:5] == ("syntax", 2, 18, 22, "`1and` is not a number")


@pytest.mark.parametrize(
    ("literal", "message", "hint"),
    [
        ("007ms", "`007ms`: leading zeros are not allowed", "write `7ms`"),
        ("1" * 30 + "s", f"`{'1' * 20}... (31 characters)` does not fit in 64 bits", TOO_LARGE),
    ],
)
def test_a_malformed_duration(literal: str, message: str, hint: str) -> None:
    text = f'scheduler p "d" {{\n  param s: duration = {literal} in 1ms..2ms\n}}\n'
    assert _diags(text) == [("syntax", 2, 23, 23 + len(literal), message, (hint,))]


@pytest.mark.parametrize("digits", [4301, 100_000])
def test_a_literal_past_pythons_int_str_limit(digits: int) -> None:
    """Python refuses int() and str() of more than 4,300 digits; neither is ever tried."""
    literal = "9" * digits
    ((code, line, col, end_col, message, hints),) = _diags(_const(literal))
    assert (code, line, col, end_col) == ("syntax", 2, 18, 18 + digits)
    assert message == f"`{'9' * 20}... ({digits} characters)` does not fit in 64 bits"
    assert hints == (TOO_LARGE,)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("1_000", 1000),
        ("0xff", 255),
        ("0x_ff", 255),
        ("0x0000_ffff_ffff_ffff_ffff", U64_MAX),
        (str(U64_MAX), U64_MAX),
    ],
)
def test_well_formed_integers(literal: str, value: int) -> None:
    const = parse(_const(literal)).decls[0]
    assert isinstance(const, ast.Const) and const.value == ast.IntLit(const.span, value)


def test_well_formed_durations() -> None:
    tree = parse('scheduler p "d" { param s: duration = 1_500us in 0ns..1s }')
    param = tree.decls[0]
    assert isinstance(param, ast.Param)
    assert [(d.amount, d.unit) for d in (param.default, param.lo, param.hi)] == [  # type: ignore[attr-defined]
        (1500, "us"),
        (0, "ns"),
        (1, "s"),
    ]


@pytest.mark.parametrize(
    ("literal", "escape", "offset"),
    [(r'"\x41"', "x", 1), (r'"kworker\/"', "/", 8), (r'"a\0b"', "0", 2), (r'"\\\q"', "q", 3)],
)
def test_an_unknown_string_escape_is_reported_at_the_backslash(
    literal: str, escape: str, offset: int
) -> None:
    text = f'scheduler p "d" {{\n  on running(t) {{ if t.comm == {literal} {{ }} }}\n}}\n'
    col = len("  on running(t) { if t.comm == ") + 1 + offset
    hint = 'the escapes are \\" \\\\ \\n \\r \\t; write a backslash as \\\\'
    assert _diags(text) == [
        ("syntax", 2, col, col + 2, f"unknown escape `\\{escape}` in a string", (hint,))
    ]


def test_string_escapes() -> None:
    tree = parse(r'scheduler p "q\"b\\s\nn\rr\tt" { }')
    assert tree.description == 'q"b\\s\nn\rr\tt'


def test_a_leading_byte_order_mark_is_skipped() -> None:
    """An editor's "UTF-8 with BOM": the mark is not text, and columns still count it."""
    text = '\ufeffscheduler p "d" {\n  var x: u64 = zz\n}\n'
    assert _diags(text) == [
        ("unknown-name", 2, 16, 18, "unknown name `zz`", ("declare it, or check the spelling",))
    ]
    assert _diags('\ufeffscheduler p "d" { var x: u64 = zz }')[0][:4] == ("unknown-name", 1, 33, 35)


def test_a_byte_order_mark_elsewhere_is_named() -> None:
    (diag,) = _diags('scheduler p "d" {\n  \ufeff\n}\n')
    assert diag[:4] == ("syntax", 2, 3, 4)
    assert diag[4].startswith("unexpected character `U+FEFF`")

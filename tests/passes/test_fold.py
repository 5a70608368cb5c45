"""Constant folding computes what C computes: exact integers, the type's wrap rules.

The reference below is written independently of schedlang/passes/fold.py: ctypes does the
wrapping to a machine width and `fractions.Fraction` the truncating division, so a fold
that went through a float (53 bits) or floored instead of truncating disagrees with it.
tests/backends/test_fold_c.py checks the same against clang-compiled generated C.
"""

from __future__ import annotations

import ctypes
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from schedlang import ast, ir
from schedlang.checker import check_source
from schedlang.diagnostics import Diagnostics
from schedlang.passes import typecheck
from schedlang.passes.exprs import ExprChecker, Scope
from schedlang.source import NOWHERE, SourceFile
from schedlang.syntax import parse_source
from schedlang.types import RANGE, SIGNED, Type

C_TYPES = {
    Type.U32: ctypes.c_uint32,
    Type.U64: ctypes.c_uint64,
    Type.I32: ctypes.c_int32,
    Type.I64: ctypes.c_int64,
}
ARITH = ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>")
COMPARE = ("==", "!=", "<", "<=", ">", ">=")


def typed(body: str, decls: str = "") -> tuple[ir.Program | None, Diagnostics]:
    text = f'scheduler p "d" {{\n{decls}\n on enqueue(t, flags) {{\n{body}\n insert t into global\n }}\n}}'
    source = SourceFile("t.sched", text)
    diags = Diagnostics(source)
    tree = parse_source(source, diags)
    assert tree is not None, list(diags)
    return typecheck.run(tree, diags, path="t.sched", max_cpus=64), diags


def reference(op: str, a: int, b: int, t: Type) -> int:
    """What C (with -fwrapv, and schedlang's saturating unsigned `-`) gives for `a op b`."""
    machine = C_TYPES[t]
    wrap = lambda v: machine(v).value  # noqa: E731
    if op in COMPARE:
        return int(eval(f"a {op} b"))  # a and b are ints drawn by the test
    if op == "-" and t not in SIGNED:
        return a - b if a >= b else 0
    if op == "/":
        return wrap(int(Fraction(a, b)))  # int() of a Fraction truncates toward zero
    if op == "%":
        return wrap(a - b * int(Fraction(a, b)))
    return wrap(eval(f"a {op} b"))


def folded(op: str, a: int, b: int, t: Type) -> ir.Expr:
    """`A op B` for two consts of type t (the shift amount is a u32), as the checker types it."""
    right = Type.U32 if op in ("<<", ">>") else t
    prog, diags = typed(f"let v = A {op} B", f"const A: {t} = {a}\nconst B: {right} = {b}")
    assert prog is not None, [d.message for d in diags]
    cb = prog.callback("enqueue")
    assert cb is not None and isinstance(cb.body[0], ir.Let)
    return cb.body[0].value


def _case(types: tuple[Type, ...]) -> st.SearchStrategy[tuple[str, int, int, Type]]:
    @st.composite
    def draw(draw: st.DrawFn) -> tuple[str, int, int, Type]:
        t = draw(st.sampled_from(types))
        op = draw(st.sampled_from(ARITH + COMPARE))
        lo, hi = RANGE[t]
        edges = st.sampled_from([lo, lo + 1, -1 if lo else 0, 0, 1, 2, 3, hi - 1, hi])
        a = draw(st.one_of(edges, st.integers(lo, hi)).filter(lambda v: lo <= v <= hi))
        if op in ("<<", ">>"):
            b = draw(st.integers(0, 31 if t in (Type.U32, Type.I32) else 63))
        else:
            b = draw(st.one_of(edges, st.integers(lo, hi)).filter(lambda v: lo <= v <= hi))
        return op, a, b, t

    return draw()


@settings(max_examples=400, deadline=None)
@given(_case((Type.U32, Type.U64, Type.I32, Type.I64)))
def test_folding_matches_c(case: tuple[str, int, int, Type]) -> None:
    op, a, b, t = case
    assume(not (op in ("/", "%") and b == 0))  # not folded: the div-by-zero rule reports it
    e = folded(op, a, b, t)
    assert isinstance(e, ir.Lit), e
    assert e.value == reference(op, a, b, t), (op, a, b, t)
    assert e.type is (Type.BOOL if op in COMPARE else t)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["/", "%"]),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-1000, 1000).filter(bool),
)
def test_division_of_large_values_matches_c(op: str, a: int, b: int) -> None:
    """Quotients past 2**53 are where a float fold goes wrong; draw them on purpose."""
    e = folded(op, a, b, Type.I64)
    assert isinstance(e, ir.Lit) and e.value == reference(op, a, b, Type.I64), (op, a, b)


def test_signed_division_is_exact_far_beyond_53_bits() -> None:
    # Through a float this was -3074457345618258432: 170 off.
    e = folded("/", -9223372036854775807, 3, Type.I64)
    assert isinstance(e, ir.Lit) and e.value == -3074457345618258602
    e = folded("%", -9223372036854775807, 3, Type.I64)
    assert isinstance(e, ir.Lit) and e.value == -1


def test_an_index_computed_from_a_large_constant_is_not_proven_by_a_rounded_fold() -> None:
    # exactly: -9223372036854775807 / 3 + 3074457345618258432 = -170, converted to u64 it is
    # 2**64 - 170, far past the array; a float fold said 0, "proven", and emitted arr[0]
    text = (
        'scheduler p "d" {\n array arr: [u64; 8]\n on enqueue(t, f) {\n'
        "  arr[(-9223372036854775807 / 3 + 3074457345618258432) as u64] += 1\n"
        "  insert t into global\n }\n}"
    )
    checked, diags = check_source(SourceFile("t.sched", text))
    assert checked is None
    assert [(d.code, d.line) for d in diags] == [("index-unproven", 4)]


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("-7 / 2", -3),  # toward zero, not floor (-4)
        ("-7 % 2", -1),  # the dividend's sign
        ("7 % -2", 1),
        ("18446744073709551615 / 3", 6148914691236517205),  # untyped: exact
        ("-9223372036854775808 / 7", -1317624576693539401),
    ],
)
def test_untyped_constants_are_exact(expr: str, want: int) -> None:
    prog, diags = typed(f"let v: i64 = 0\nlet w = {expr}")
    assert prog is not None, [d.message for d in diags]
    cb = prog.callback("enqueue")
    assert cb is not None and isinstance(cb.body[1], ir.Let)
    assert isinstance(cb.body[1].value, ir.Lit) and cb.body[1].value.value == want


@pytest.mark.parametrize(
    ("expr", "code", "message"),
    [
        ("18446744073709551615 * 2", "type-mismatch", "does not fit in 64 bits"),
        ("-(18446744073709551615)", "type-mismatch", "does not fit in 64 bits"),
        ("t.pid << 32", "bad-operand", "not below the 32 bits of a u32"),
        ("t.weight >> 64", "bad-operand", "not below the 64 bits of a u64"),
    ],
)
def test_constants_beyond_the_machine_are_diagnosed(expr: str, code: str, message: str) -> None:
    prog, diags = typed(f"let w = {expr}")
    assert prog is None
    assert [(d.code, d.line) for d in diags] == [(code, 4)]
    assert message in diags.items[0].message


def test_a_literal_past_64_bits_is_refused_at_the_front_and_never_crashes_the_folding() -> None:
    # the parser refuses it first (a syntax diagnostic)...
    text = (
        'scheduler p "d" {\n on enqueue(t, f) {\n  insert t into global\n  let w = 1'
        + "0" * 310
        + " / 3\n }\n}"
    )
    _, diags = check_source(SourceFile("t.sched", text))
    assert [(d.code, d.line) for d in diags] == [("syntax", 4)]
    assert "does not fit in 64 bits" in diags.items[0].message
    # ...and the folding, handed one anyway (an AST built by a program), reports it too
    source = SourceFile("t.sched", "x")
    folding = Diagnostics(source)
    huge = ast.Binary(NOWHERE, "/", ast.IntLit(NOWHERE, 10**310), ast.IntLit(NOWHERE, 3))
    e = ExprChecker(folding, Scope({}, "enqueue"), {}).check(huge)
    assert e.type is Type.VOID
    assert [d.code for d in folding] == ["type-mismatch"]
    assert "a 311-digit number" in folding.items[0].message

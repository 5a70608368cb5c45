"""Properties: printing then parsing is the identity, and no text makes the checker raise."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlang import ast
from schedlang.checker import check_source
from schedlang.fmt import format_program
from schedlang.source import NOWHERE, SourceFile
from schedlang.syntax import parse

S = NOWHERE
# String literals: anything but NUL (the parser rejects NUL bytes as not-text on purpose)
chars = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
ROOT = Path(__file__).resolve().parents[2]
# Identifiers that are never keywords in any position.
names = st.sampled_from(["a", "b", "x", "t", "busy", "vnow", "pick", "local", "global", "f2"])
fields = st.sampled_from(["vtime", "slice", "pid", "cpu", "idle", "weight", "started"])
types = st.sampled_from(["u32", "u64", "i64", "duration", "time", "bool", "cpu", "task"]).map(
    lambda n: ast.TypeName(S, n)
)
ops = st.sampled_from(
    [
        "or",
        "and",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "|",
        "^",
        "&",
        "<<",
        ">>",
        "+",
        "-",
        "*",
        "/",
        "%",
    ]
)

leaves = st.one_of(
    st.integers(0, 2**64 - 1).map(lambda v: ast.IntLit(S, v)),
    st.builds(
        lambda a, u: ast.DurationLit(S, a, u),
        st.integers(0, 10**6),
        st.sampled_from(["ns", "us", "ms", "s"]),
    ),
    st.booleans().map(lambda v: ast.BoolLit(S, v)),
    st.text(chars, max_size=6).map(lambda v: ast.StrLit(S, v)),
    names.map(lambda n: ast.Name(S, n)),
)


def _compound(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    return st.one_of(
        st.builds(lambda o, f: ast.Field(S, o, f, S), children, fields),
        st.builds(lambda b, i: ast.Index(S, b, i), children, children),
        st.builds(lambda f, a: ast.Call(S, f, tuple(a), S), names, st.lists(children, max_size=3)),
        st.builds(lambda o, x: ast.Unary(S, o, x), st.sampled_from(["-", "not"]), children),
        st.builds(lambda o, a, b: ast.Binary(S, o, a, b), ops, children, children),
        st.builds(lambda x, t: ast.Cast(S, x, t), children, types),
    )


exprs = st.recursive(leaves, _compound, max_leaves=12)

# Assignment targets: the grammar allows only name(.field | [index])*
targets = st.recursive(
    names.map(lambda n: ast.Name(S, n)),
    lambda inner: st.one_of(
        st.builds(lambda o, f: ast.Field(S, o, f, S), inner, fields),
        st.builds(lambda b, i: ast.Index(S, b, i), inner, exprs),
    ),
    max_leaves=3,
)


def _blocks(stmts: st.SearchStrategy[ast.Stmt]) -> st.SearchStrategy[ast.Block]:
    ret = st.one_of(st.none(), st.builds(lambda v: ast.Return(S, v), st.one_of(st.none(), exprs)))
    return st.builds(
        lambda body, r: ast.Block(S, tuple(body) + ((r,) if r else ())),
        st.lists(stmts, max_size=3),
        ret,
    )


simple_stmts = st.one_of(
    st.builds(lambda n, t, v: ast.Let(S, n, t, v), names, st.one_of(st.none(), types), exprs),
    st.builds(
        lambda t, o, v: ast.Assign(S, t, o, v),
        targets,
        st.sampled_from(["=", "+=", "-=", "*=", "/="]),
        exprs,
    ),
    st.builds(
        lambda t, q, on, sl, vt: ast.Insert(S, t, q, S, on, sl, vt),
        exprs,
        names,
        st.one_of(st.none(), exprs),
        st.one_of(st.none(), exprs),
        st.one_of(st.none(), exprs),
    ),
    st.builds(lambda c, m: ast.Kick(S, c, m), exprs, st.sampled_from([None, "preempt", "idle"])),
    st.builds(
        lambda f, a: ast.ExprStmt(S, ast.Call(S, f, tuple(a), S)),
        names,
        st.lists(exprs, max_size=2),
    ),
)


def _nested(inner: st.SearchStrategy[ast.Stmt]) -> st.SearchStrategy[ast.Stmt]:
    blocks = _blocks(inner)
    return st.one_of(
        st.builds(lambda c, t, e: ast.If(S, c, t, e), exprs, blocks, st.one_of(st.none(), blocks)),
        st.builds(lambda v, lo, hi, b: ast.ForRange(S, v, lo, hi, b), names, exprs, exprs, blocks),
        st.builds(lambda v, b: ast.ForCpus(S, v, b), names, blocks),
    )


stmts = st.recursive(simple_stmts, _nested, max_leaves=6)
blocks = _blocks(stmts)

decls = st.one_of(
    st.builds(
        lambda n, t, d, lo, hi: ast.Param(S, n, S, t, d, lo, hi), names, types, exprs, exprs, exprs
    ),
    st.builds(lambda n, t, v: ast.Const(S, n, S, t, v), names, types, exprs),
    st.builds(lambda n, k: ast.Queue(S, n, S, k), names, st.sampled_from(["fifo", "vtime"])),
    st.builds(lambda n, t, v: ast.Var(S, n, S, t, v), names, types, exprs),
    st.builds(lambda n, t, v: ast.TaskVar(S, n, S, t, v), names, types, exprs),
    st.builds(
        lambda n, t, sz: ast.Array(S, n, S, t, sz), names, types, st.one_of(st.none(), exprs)
    ),
    st.builds(
        lambda n, k, v, d, c: ast.MapDecl(S, n, S, k, v, d, c), names, types, types, exprs, exprs
    ),
    st.builds(
        lambda n, ps, r, b: ast.Fn(S, n, S, tuple(ast.FnParam(S, p, t) for p, t in ps), r, b),
        names,
        st.lists(st.tuples(names, types), max_size=3),
        st.one_of(st.none(), types),
        blocks,
    ),
    st.builds(
        lambda n, ps, r, b: ast.Callback(S, n, S, tuple(ast.CallbackParam(S, p) for p in ps), r, b),
        names,
        st.lists(names, max_size=3),
        st.one_of(st.none(), types),
        blocks,
    ),
)

programs = st.builds(
    lambda n, d, ds: ast.Scheduler(S, n, d, tuple(ds), S),
    names,
    st.text(chars, max_size=20),
    st.lists(decls, max_size=5),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_print_then_parse_is_identity(tree: ast.Scheduler) -> None:
    text = format_program(tree)
    assert parse(text) == tree, text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    checked, diags = check_source(SourceFile("fuzz.sched", text))
    assert checked is None or not diags.has_errors


EXAMPLE_TEXTS = [p.read_text() for p in sorted((ROOT / "examples").glob("*.sched"))]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(EXAMPLE_TEXTS),
    st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 8), st.text(max_size=4)), max_size=4),
)
def test_mutated_examples_never_raise(text: str, edits: list[tuple[int, int, str]]) -> None:
    """Near-miss programs (the kind an agent writes) exercise the checker, not just the parser."""
    for pos, cut, insert in edits:
        pos %= len(text) + 1
        text = text[:pos] + insert + text[pos + cut :]
    checked, diags = check_source(SourceFile("mutant.sched", text))
    assert (checked is None) == diags.has_errors

"""The typecheck pass: names, unit-typed arithmetic, contexts. Each case is a whole program."""

from __future__ import annotations

import pytest

from schedlang import ir
from schedlang.checker import check_source
from schedlang.diagnostics import Diagnostics
from schedlang.passes import typecheck
from schedlang.source import SourceFile
from schedlang.syntax import parse_source
from schedlang.types import Type


def typed(body: str, decls: str = "") -> tuple[ir.Program | None, Diagnostics]:
    text = f'scheduler p "d" {{\n{decls}\n on enqueue(t, flags) {{\n{body}\n insert t into global\n }}\n}}'
    source = SourceFile("t.sched", text)
    diags = Diagnostics(source)
    tree = parse_source(source, diags)
    assert tree is not None, list(diags)
    return typecheck.run(tree, diags, path="t.sched", max_cpus=64), diags


def let_type(expr: str, decls: str = "") -> Type:
    prog, diags = typed(f"let v = {expr}", decls)
    assert prog is not None, [d.message for d in diags]
    enqueue = prog.callback("enqueue")
    assert enqueue is not None
    let = enqueue.body[0]
    assert isinstance(let, ir.Let)
    return let.type


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("now() - now()", Type.DURATION),
        ("now() + 5ms", Type.TIME),
        ("now() - 5ms", Type.TIME),
        ("5ms * 3", Type.DURATION),
        ("3 * 5ms", Type.DURATION),
        ("5ms / 2", Type.DURATION),
        ("10ms / 5ms", Type.U64),
        ("t.weight * 2", Type.U64),
        ("t.vtime < 1ms", Type.BOOL),
        ("7", Type.U64),
        ("-7", Type.I64),
        ("t.pid as i64", Type.I64),
        ("t.cpu + 1", Type.U32),
        ("max(t.vtime, 1ms)", Type.DURATION),
        ('startswith(t.comm, "cc")', Type.BOOL),
        ('t.comm == "make"', Type.BOOL),
        ("queued(global)", Type.U64),
        ("nr_cpus", Type.U32),
    ],
)
def test_expression_types(expr: str, want: Type) -> None:
    assert let_type(expr) is want


def test_unsigned_subtraction_saturates_in_the_ir() -> None:
    prog, _ = typed("let a = t.vtime - 1ms\nlet b = (t.pid as i64) - 1")
    assert prog is not None
    cb = prog.callback("enqueue")
    assert cb is not None
    a, b = cb.body[0], cb.body[1]
    assert isinstance(a, ir.Let) and isinstance(a.value, ir.Binary) and a.value.op == "sat-"
    assert isinstance(b, ir.Let) and isinstance(b.value, ir.Binary) and b.value.op == "-"


def test_constants_fold() -> None:
    prog, _ = typed("let a = K * 2 - 1", "const K: u64 = 10")
    assert prog is not None
    cb = prog.callback("enqueue")
    assert cb is not None and isinstance(cb.body[0], ir.Let)
    assert cb.body[0].value == ir.Lit(Type.U64, cb.body[0].span, 19)


def test_compound_assignment_expands() -> None:
    prog, _ = typed("t.vtime += 1ms")
    assert prog is not None
    cb = prog.callback("enqueue")
    assert cb is not None
    stmt = cb.body[0]
    assert isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Binary)
    assert stmt.value.op == "+" and isinstance(stmt.target, ir.TaskField)


@pytest.mark.parametrize(
    ("body", "decls", "code", "line", "hint"),
    [
        ("let x = t.vtime + 5", "", "needs-unit", 4, "unit"),
        ("let x: duration = 5", "", "needs-unit", 4, "5us"),
        ("let x = t.wieght", "", "unknown-field", 4, "weight"),
        ("let x = slce", "param slice: duration = 1ms in 1ms..2ms", "unknown-name", 4, "slice"),
        ("let x = (t.pid as i64) + t.weight", "", "sign-mix", 4, "as"),
        ("t.pid = 3", "", "read-only", 4, "writable"),
        ("slice = 2ms", "param slice: duration = 1ms in 1ms..2ms", "read-only", 4, "var"),
        ("let x = move_to_local(q)", "queue q: fifo", "wrong-callback", 4, "kernel"),
        ("let x = frob(1)", "", "unknown-function", 4, ""),
        ("let x = now() * 2", "", "bad-operand", 4, "time"),
        ("let x = -t.weight", "", "bad-operand", 4, "i64"),
        ("let x = not t.pid", "", "bad-operand", 4, "compare"),
        ("let x: u32 = 5000000000", "", "type-mismatch", 4, "wider"),
        ("let x = started", "task var started: time = 0", "unknown-name", 4, "t.started"),
        ("insert t into shard", "queue shared: fifo", "unknown-name", 4, "shared"),
    ],
)
def test_rejected(body: str, decls: str, code: str, line: int, hint: str) -> None:
    prog, diags = typed(body, decls)
    assert prog is None
    found = [(d.code, d.line) for d in diags]
    assert (code, line) in found, [(d.code, d.line, d.message) for d in diags]
    diag = next(d for d in diags if d.code == code)
    assert hint in " ".join(diag.hints), diag


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("on enqeue(t, f) { }", "unknown-callback"),
        ("on enqueue(t) { }", "bad-callback"),
        ("on select_cpu(t, p, f) { }", "bad-callback"),
        ("on running(t) { insert t into global }", "wrong-callback"),
        ("var x: u64 = 0\nvar x: u64 = 1", "duplicate-name"),
        ("var now: u64 = 0", "duplicate-name"),
        ("var x: float = 0", "unknown-type"),
        ("param p: u64 = q in 0..9", "unknown-name"),
        ("var v: u64 = 0\nparam p: u64 = v in 0..9", "not-constant"),
        ("on init() { return 1 }", "bad-return"),
    ],
)
def test_rejected_declarations(text: str, code: str) -> None:
    checked, diags = check_source(SourceFile("t.sched", f'scheduler p "d" {{\n{text}\n}}'))
    assert checked is None
    assert code in [d.code for d in diags], [(d.code, d.message) for d in diags]


def test_all_errors_of_a_file_are_reported() -> None:
    text = 'scheduler p "d" {\n on enqueue(t, f) {\n  let a = t.x\n  let b = 1 + 2ms\n  insert t into nowhere\n }\n}'
    _, diags = check_source(SourceFile("t.sched", text))
    assert [(d.code, d.line) for d in diags] == [
        ("unknown-field", 3),
        ("needs-unit", 4),
        ("unknown-name", 5),
    ]


@pytest.mark.parametrize(
    ("body", "decls"),
    [
        ("let x = t.weight << 3", ""),
        ("let n: u32 = 4\nlet x = t.cpu >= n", ""),
        ("let x = t.cpu < nr_cpus", ""),
        ("let x = 1 << t.nr_cpus_allowed", ""),
    ],
)
def test_accepted(body: str, decls: str) -> None:
    prog, diags = typed(body, decls)
    assert prog is not None, [(d.code, d.message) for d in diags]


def test_compound_assignment_with_a_bad_right_side_reports_once() -> None:
    prog, diags = typed("t.vtime += nowhere")
    assert prog is None
    assert [d.code for d in diags] == ["unknown-name"]


def test_unfolded_literal_division_still_reaches_the_divzero_rule() -> None:
    text = 'scheduler p "d" {\n var y: u64 = 0\n on init() {\n  let x = min(1 / 0, y)\n }\n}'
    _, diags = check_source(SourceFile("t.sched", text))
    assert [(d.code, d.line) for d in diags] == [("div-by-zero", 4)]


@pytest.mark.parametrize(
    "text",
    [
        "on tick(true) { }",
        "on enqueue(t, t) { insert t into global }",
        "fn f(nr_cpus: u64) -> u64 { return nr_cpus }",
        "fn f(a: u64, a: u64) -> u64 { return a }",
    ],
)
def test_parameter_names_are_new_names(text: str) -> None:
    checked, diags = check_source(SourceFile("t.sched", f'scheduler p "d" {{\n{text}\n}}'))
    assert checked is None
    assert [(d.code, d.line) for d in diags] == [("duplicate-name", 2)]


@pytest.mark.parametrize("decl", ["const K: u64 = 5", "const K: u32 = 5"])
def test_a_const_converts_to_a_duration_whatever_its_width(decl: str) -> None:
    assert let_type("K as duration", decl) is Type.DURATION

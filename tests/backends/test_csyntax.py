"""The C printer: parentheses, declarations first, line width, kernel-style `if`."""

from __future__ import annotations

from pathlib import Path

import pytest

from schedlang.backends.bpf import compat, emit, render
from schedlang.backends.bpf import csyntax as c
from schedlang.checker import check_source
from schedlang.source import SourceFile, Span

ROOT = Path(__file__).resolve().parents[2]
a, b, x = c.Atom("a"), c.Atom("b"), c.Atom("x")


@pytest.mark.parametrize(
    ("tree", "text"),
    [
        (c.Binary("-", c.Binary("-", a, b), x), "a - b - x"),
        (c.Binary("-", a, c.Binary("-", b, x)), "a - (b - x)"),
        (c.Binary("+", a, c.Binary("*", b, x)), "a + b * x"),
        (c.Binary("*", c.Binary("+", a, b), x), "(a + b) * x"),
        (c.Binary("/", c.Binary("*", a, b), x), "a * b / x"),
        # what a reader (and clang's -Wparentheses) wants spelled out
        (c.Binary("&", c.Binary("+", a, b), x), "(a + b) & x"),
        (c.Binary("|", c.Binary("<<", a, b), x), "(a << b) | x"),
        (c.Binary("<<", c.Binary(">>", a, b), x), "(a >> b) << x"),
        (c.Binary("&", c.Binary("&", a, b), x), "a & b & x"),
        (c.Binary("||", a, c.Binary("&&", b, x)), "a || (b && x)"),
        (c.Binary("&&", c.Binary("&&", a, b), x), "a && b && x"),
        (c.Binary("==", c.Binary("<", a, b), x), "(a < b) == x"),
        (c.Binary("&&", c.Binary("<", a, b), x), "a < b && x"),
        (c.Binary("!=", c.Binary("&", a, b), c.Atom("0")), "(a & b) != 0"),
        # unary operators, casts, postfix
        (c.Unary("-", c.Unary("-", x)), "-(-x)"),
        (c.Unary("-", c.number("-5")), "-(-5)"),
        (c.Unary("!", c.Binary("&&", a, b)), "!(a && b)"),
        (c.Cast("u64", c.Binary("+", a, b)), "(u64)(a + b)"),
        (c.Binary("<<", c.Cast("u64", c.Member(x, "w", arrow=True)), b), "(u64)x->w << b"),
        (c.Member(c.Unary("*", x), "f"), "(*x).f"),
        (c.Unary("*", c.Call("at", (c.Binary("%", a, b),))), "*at(a % b)"),
        (c.Binary("-", a, c.number("-5")), "a - -5"),
    ],
)
def test_parentheses_only_where_needed(tree: c.Expr, text: str) -> None:
    assert c.expr(tree) == text


def _printer() -> c.Printer:
    return c.Printer(lambda span: len(f" /* p.sched:{span.line} */"))


def test_declarations_come_before_statements() -> None:
    block = c.Block()
    block.add(c.ExprStmt(c.Call("f")))
    block.declare(c.Decl("u64", "v", c.Atom("1")))
    block.declare(c.Decl("struct task_struct *", "p"))
    assert _printer().block(block, 1) == ["\tu64 v = 1;", "\tstruct task_struct *p;", "", "\tf();"]


def test_if_drops_braces_only_when_every_branch_is_one_simple_statement() -> None:
    one, two = c.Block(), c.Block()
    one.add(c.Return(a))
    two.add(c.Assign(x, a, "+="))
    two.add(c.Return(x))
    printer = _printer()
    assert printer.stmt(c.If(((a, one, None),), one), None, 1) == [
        "\tif (a)",
        "\t\treturn a;",
        "\telse",
        "\t\treturn a;",
    ]
    assert printer.stmt(c.If(((a, one, None), (b, two, None))), None, 0) == [
        "if (a) {",
        "\treturn a;",
        "} else if (b) {",
        "\tx += a;",
        "\treturn x;",
        "}",
    ]


def test_a_long_condition_breaks_after_its_outermost_and_lines_up_under_the_parenthesis() -> None:
    tests = [c.Binary("==", c.Atom(f"task_ctx(t)->field_{i}"), c.Atom(str(i))) for i in range(5)]
    body = c.Block()
    body.add(c.Return(c.Atom("0")))
    lines = _printer().stmt(c.If(((c.conj("&&", tests), body, Span(12, 5, 12, 9)),)), None, 1)
    assert lines == [
        "\tif (task_ctx(t)->field_0 == 0 && task_ctx(t)->field_1 == 1 && /*@@12:5@@*/",
        "\t    task_ctx(t)->field_2 == 2 && task_ctx(t)->field_3 == 3 && task_ctx(t)->field_4 == 4)",
        "\t\treturn 0;",
    ]
    assert all(c.width(line.replace("/*@@12:5@@*/", "/* p.sched:12 */")) <= 100 for line in lines)


def _policies() -> list[Path]:
    return sorted([*ROOT.glob("examples/*.sched"), *ROOT.glob("stdlib/*.sched")])


@pytest.mark.parametrize("path", _policies(), ids=lambda p: p.stem)
def test_lowered_code_fits_in_100_columns(path: Path) -> None:
    source = SourceFile(str(path.relative_to(ROOT)), path.read_text())
    checked, diags = check_source(source)
    assert checked is not None, [d.message for d in diags]
    options = emit.Options(params={}, kernel_api=compat.KERNEL_APIS[compat.DEFAULT_KERNEL_API])
    text = render.render(emit.build_context(checked, options)).text
    inside, long = False, []
    for line in text.splitlines():  # the callbacks and the fns: what the printer wrote
        if line.startswith('SEC("struct_ops') or (
            line.startswith("static") and "__fn(" in line and not line.endswith(";")
        ):
            inside = True
        elif line == "}":
            inside = False
        elif inside and c.width(line) > c.MAX_WIDTH:
            long.append(line)
    assert not long


LOOPS = """scheduler loops "two scans and a shadowing let" {
    array load: [u64; cpus]
    on select_cpu(t, prev, flags) -> cpu {
        let best = prev
        for c in cpus {
            if load[c] < load[best] { best = c }
        }
        for c in cpus {
            load[c] += 1
        }
        let n: u64 = 3
        if n > 2 {
            let m = n + 1
            load[0] = m
            let n: u64 = 7
            load[1] = n
        }
        return best
    }
    on enqueue(t, flags) {
        let v = 5ms
        insert t into global slice v
    }
}
"""


def test_declarations_are_hoisted_unless_that_changes_what_a_name_means() -> None:
    checked, diags = check_source(SourceFile("loops.sched", LOOPS))
    assert checked is not None, [d.message for d in diags]
    options = emit.Options(params={}, kernel_api=compat.KERNEL_APIS[compat.DEFAULT_KERNEL_API])
    text = render.render(emit.build_context(checked, options)).text
    select = _body(text, "loops__select_cpu")
    # the leading let keeps its value; both scans share one `c`; `n` is assigned in place
    assert "\ts32 best = prev; /* loops.sched:4 */\n\ts32 c;\n\tu64 n;\n\n\tsl_for(c" in select
    assert select.count("sl_for(c, 0, MAX_CPUS) {") == 2
    assert "\tn = 3; /* loops.sched:11 */" in select
    # the inner `n` shadows the outer one after the block read it: declared where it binds
    assert "\t\tu64 m = n + 1; /* loops.sched:13 */\n\n\t\t*load__at(0) = m;" in select
    assert "\t\tu64 n = 7; /* loops.sched:15 */" in select
    # enqueue counts itself before the policy's first statement runs
    enqueue = _body(text, "loops__enqueue")
    assert "\tu64 v;\n\n\tsl_count(nr_enqueued);\n\n\tv = 5000000;" in enqueue


def _body(text: str, c_name: str) -> str:
    """The body of the callback `c_name`, between its braces."""
    start = text.index("\n{\n", text.index(c_name + ","))
    return text[start : text.index("\n}\n", start)]

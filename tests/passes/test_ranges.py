"""The value-range analysis shared by bounds, divzero and params, on IR built by hand."""

from __future__ import annotations

from schedlang import ir
from schedlang.passes.facts import facts
from schedlang.passes.ranges import EMPTY, TOP, Env, Range, Ranges, join, walk_body
from schedlang.source import NOWHERE as S
from schedlang.types import Type

U32, U64, I64, CPU, BOOL = Type.U32, Type.U64, Type.I64, Type.CPU, Type.BOOL


def program(params: tuple[ir.ParamDecl, ...] = (), max_cpus: int = 64) -> ir.Program:
    return ir.Program("p", "d", "p.sched", params, (), (), (), (), (), (), (), max_cpus, S)


def lit(v: int, t: Type = U32) -> ir.Lit:
    return ir.Lit(t, S, v)


def local(name: str, t: Type = U32) -> ir.Local:
    return ir.Local(t, S, name)


def binary(op: str, a: ir.Expr, b: ir.Expr, t: Type = U32) -> ir.Binary:
    return ir.Binary(BOOL if op in ir.COMPARE_OPS | ir.LOGIC_OPS else t, S, op, a, b)


R = Ranges(program((ir.ParamDecl("p", U64, 4, 2, 9, S), ir.ParamDecl("z", U64, 4, 0, 9, S))))


def test_range_algebra() -> None:
    a, b = Range(0, 10), Range(5, 20)
    assert a.meet(b) == Range(5, 10)
    assert a.hull(b) == Range(0, 20)
    assert Range(None, 5).hull(Range(0, 3)) == Range(None, 5)
    assert Range(0, 10).meet(Range(None, None, nonzero=True)) == Range(1, 10, True)
    assert Range(-5, 1).meet(Range(None, None, nonzero=True)) == Range(-5, 0, True)
    assert Range(0, 8).within(8) and not Range(0, 9).within(8) and not Range(-1, 3).within(8)
    assert (
        Range(1, 5).excludes_zero and Range(-4, 0).excludes_zero and not Range(0, 5).excludes_zero
    )
    a, b = facts({"x": Range(0, 4), "y": Range(1, 2)}), facts({"x": Range(3, 9)})
    assert join(a, b) == facts({"x": Range(0, 9)})


def test_leaves() -> None:
    env: Env = facts({"i": Range(2, 5)})
    assert R.of(lit(7), env) == Range(7, 8)
    assert R.of(local("i"), env) == Range(2, 5)
    assert R.of(local("j"), env) == Range(0, 2**32)
    assert R.of(local("c", CPU), env) == Range(0, 64)
    assert R.of(ir.ParamRef(U64, S, "p"), env) == Range(2, 10)
    assert R.of(ir.TaskField(U64, S, local("t", Type.TASK), "weight"), env) == Range(1, 10_001)
    assert R.of(ir.NrCpus(U32, S), env).excludes_zero


def test_operators() -> None:
    env: Env = facts({"i": Range(0, 100), "d": Range(3, 5)})
    i, d = local("i"), local("d")
    assert R.of(binary("%", i, lit(8)), env) == Range(0, 8)
    assert R.of(binary("%", lit(5), lit(8)), env).hi == 6
    assert R.of(binary("&", i, lit(7)), env) == Range(0, 8)
    assert R.of(binary("/", i, d), env) == Range(0, 34)
    assert R.of(binary("+", i, d), env) == Range(3, 104)
    assert R.of(binary("*", i, d), env) == Range(0, 397)
    assert R.of(binary("sat-", i, d), env) == Range(0, 97)
    assert R.of(binary(">>", i, lit(2)), env) == Range(0, 25)
    assert R.of(binary("%", i, ir.ParamRef(U64, S, "z")), env) == R.of_type(U32)  # may be % 0


def test_overflow_falls_back_to_the_type() -> None:
    big = facts({"x": Range(0, 2**32)})
    assert R.of(binary("+", local("x"), lit(1)), big) == R.of_type(U32)
    assert R.of(binary("*", local("x"), lit(2)), big) == R.of_type(U32)


def test_builtins_and_casts() -> None:
    env: Env = facts({"i": Range(0, 100)})
    i = local("i")
    assert R.of(ir.Builtin(U32, S, "min", (i, lit(7))), env) == Range(0, 8)
    assert R.of(ir.Builtin(U32, S, "max", (i, lit(1))), env) == Range(1, 100)
    assert R.of(ir.Builtin(U32, S, "clamp", (i, lit(2), lit(9))), env) == Range(2, 10)
    # `as cpu` does not make a value a valid CPU: its range is computed, not assumed
    assert R.of(ir.Cast(CPU, S, lit(5000)), env) == Range(5000, 5001)
    # a cpu is an s32 in C: a u64 past 2**31 - 1 converts to a negative number
    assert R.of(ir.Cast(CPU, S, local("x", U64)), env) == Range(-(2**31), 2**31)
    assert R.of(ir.Cast(U64, S, i), env) == Range(0, 100)


def test_refine_comparisons_and_logic() -> None:
    i, n = local("i"), local("n")
    env: Env = facts({"n": Range(0, 9)})
    assert R.refine(env, binary("<", i, lit(8)), True)["i"] == Range(0, 8)
    assert R.refine(env, binary("<", i, lit(8)), False)["i"] == Range(8, 2**32)
    assert R.refine(env, binary(">", lit(8), i), True)["i"] == Range(0, 8)
    assert R.refine(env, binary("<", i, n), True)["i"] == Range(0, 8)
    assert R.refine(env, binary("!=", i, lit(0)), True)["i"].excludes_zero
    assert R.refine(env, binary("==", i, lit(0)), False)["i"].excludes_zero
    both = binary("and", binary(">=", i, lit(2)), binary("<", i, lit(8)))
    assert R.refine(env, both, True)["i"] == Range(2, 8)
    assert R.refine(env, both, False).get("i", R.of_type(U32)) == R.of_type(U32)
    either = binary("or", binary("<", i, lit(4)), binary("<", i, lit(6)))
    assert R.refine(env, either, True)["i"] == Range(0, 6)
    assert R.refine(env, ir.Unary(BOOL, S, "not", binary(">=", i, lit(8))), True)["i"] == Range(
        0, 8
    )
    flag = local("flag", BOOL)  # a bool local is known on each side of `if flag`
    assert R.refine(env, flag, True) == env.set("flag", Range(1, 2))
    assert R.refine(env, ir.Unary(BOOL, S, "not", flag), True) == env.set("flag", Range(0, 1))


def test_walk_follows_paths() -> None:
    """`if i >= 8 { return }` guards what follows; a loop forgets what its body assigns."""
    i = local("i")
    use_a = ir.ExprStmt(S, ir.Builtin(U32, S, "abs", (i,)))
    body = (
        ir.Let(S, "i", U32, local("cursor")),
        ir.If(S, binary(">=", i, lit(8)), (ir.Return(S, None),), ()),
        use_a,
        ir.ForRange(S, "k", U32, lit(0), lit(3), (use_a, ir.Assign(S, i, binary("+", i, lit(1))))),
        use_a,
    )
    seen: list[Range] = []

    def on_expr(e: ir.Expr, env: Env) -> None:
        if isinstance(e, ir.Builtin) and e.name == "abs":
            seen.append(R.of(e.args[0], env))

    walk_body(R, body, on_expr)
    assert seen[0] == Range(0, 8)
    assert seen[1] == R.of_type(U32)  # assigned in the loop: forgotten at the loop's entry
    assert seen[2] == R.of_type(U32)


def test_walk_short_circuit_and_loop_variable() -> None:
    i = local("i")
    probe = ir.Builtin(U32, S, "abs", (i,))
    guarded = ir.ExprStmt(S, binary("and", binary("<", i, lit(4)), binary("==", probe, lit(1))))
    loop = ir.ForRange(
        S, "j", U32, lit(2), lit(6), (ir.ExprStmt(S, ir.Builtin(U32, S, "abs", (local("j"),))),)
    )
    seen: list[Range] = []

    def on_expr(e: ir.Expr, env: Env) -> None:
        if isinstance(e, ir.Builtin) and e.name == "abs":
            seen.append(R.of(e.args[0], env))

    walk_body(R, (guarded, loop), on_expr)
    assert seen == [Range(0, 4), Range(2, 6)]
    assert TOP == Range(None, None)


# ---------------------------------------------------------------------------- soundness
# Random expressions over one local `x` (with a random range) and a param `p` (2..9): for
# every concrete value the expression really takes, the computed range must contain it.
# The concrete semantics are the machine's: u64 arithmetic wraps, BPF division by 0 gives 0
# and modulo by 0 leaves the dividend, `as u32` truncates.
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MASK = 2**64 - 1
P = ir.ParamRef(U64, S, "p")


def _eval(e: ir.Expr, x: int, p: int, clamp_first_max: bool) -> int:
    def ev(y: ir.Expr) -> int:
        return _eval(y, x, p, clamp_first_max)

    match e:
        case ir.Lit(value=v):
            return v
        case ir.Local():
            return x
        case ir.ParamRef():
            return p
        case ir.Cast(expr=y):
            return ev(y) & (2**32 - 1) if e.type is U32 else ev(y)
        case ir.Builtin(name="min", args=(a, b)):
            return min(ev(a), ev(b))
        case ir.Builtin(name="max", args=(a, b)):
            return max(ev(a), ev(b))
        case ir.Builtin(name="clamp", args=(v, lo, hi)):
            if clamp_first_max:
                return min(max(ev(v), ev(lo)), ev(hi))
            return max(min(ev(v), ev(hi)), ev(lo))
        case ir.Binary(op=op, left=a, right=b):
            lv, r = ev(a), ev(b)
            return {
                "+": lambda: (lv + r) & MASK,
                "sat-": lambda: max(0, lv - r),
                "*": lambda: (lv * r) & MASK,
                "/": lambda: 0 if r == 0 else lv // r,
                "%": lambda: lv if r == 0 else lv % r,
                "&": lambda: lv & r,
                ">>": lambda: lv >> r,
            }[op]()
    raise AssertionError(e)


def _exprs() -> st.SearchStrategy[ir.Expr]:
    leaves = st.one_of(
        st.integers(0, 2**64 - 1).map(lambda v: lit(v, U64)),
        st.integers(0, 20).map(lambda v: lit(v, U64)),
        st.just(local("x", U64)),
        st.just(P),
    )

    def extend(sub: st.SearchStrategy[ir.Expr]) -> st.SearchStrategy[ir.Expr]:
        return st.one_of(
            st.tuples(st.sampled_from(["+", "sat-", "*", "/", "%", "&"]), sub, sub).map(
                lambda t: binary(t[0], t[1], t[2], U64)
            ),
            st.tuples(sub, st.integers(0, 63)).map(
                lambda t: binary(">>", t[0], lit(t[1], U64), U64)
            ),
            st.tuples(st.sampled_from(["min", "max"]), sub, sub).map(
                lambda t: ir.Builtin(U64, S, t[0], (t[1], t[2]))
            ),
            st.tuples(sub, sub, sub).map(lambda t: ir.Builtin(U64, S, "clamp", t)),
            sub.map(lambda y: ir.Cast(U64, S, ir.Cast(U32, S, y))),
        )

    return st.recursive(leaves, extend, max_leaves=8)


@st.composite
def _x_range(draw: st.DrawFn) -> tuple[int, int, int]:
    lo = draw(st.one_of(st.integers(0, 50), st.integers(0, 2**64 - 1)))
    hi = draw(st.integers(lo + 1, min(2**64, lo + draw(st.sampled_from([1, 10, 1000, 2**64])))))
    x = draw(st.integers(lo, hi - 1))
    return lo, hi, x


@settings(max_examples=200, deadline=None)
@given(_exprs(), _x_range(), st.integers(2, 9), st.booleans())
def test_value_ranges_contain_every_value(
    e: ir.Expr, xr: tuple[int, int, int], p: int, order: bool
) -> None:
    lo, hi, x = xr
    found = R.of(e, facts({"x": Range(lo, hi)}))
    value = _eval(e, x, p, order)
    assert found.lo is None or found.lo <= value, (found, value)
    assert found.hi is None or value < found.hi, (found, value)
    if found.excludes_zero:
        assert value != 0


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(ir.COMPARE_OPS)),
    _exprs(),
    _x_range(),
    st.integers(2, 9),
    st.booleans(),
    st.booleans(),
)
def test_refined_ranges_contain_every_value(
    op: str, other: ir.Expr, xr: tuple[int, int, int], p: int, truth: bool, x_left: bool
) -> None:
    lo, hi, x = xr
    x_expr = local("x", U64)
    cond = binary(op, x_expr, other) if x_left else binary(op, other, x_expr)
    env: Env = facts({"x": Range(lo, hi)})
    left, right = (x, _eval(other, x, p, True)) if x_left else (_eval(other, x, p, True), x)
    holds = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}.get(
        op, left == right if op == "==" else left != right
    )
    if holds != truth:
        return
    found = R.refine(env, cond, truth).get("x", Range(lo, hi))
    assert (found.lo is None or found.lo <= x) and (found.hi is None or x < found.hi), (found, x)
    if found.excludes_zero:
        assert x != 0


def test_deeply_alternating_conditions_are_walked_once() -> None:
    """`((a or b) and c) or d ...` 40 deep: each node is visited once (this used to double per
    level); the facts still come out: here the innermost guard `x < 2` survives no level."""
    x = local("x")
    cond: ir.Expr = binary(">", x, lit(1))
    for i in range(40):
        cond = binary("and" if i % 2 else "or", cond, binary("<", x, lit(i + 2)))
    visits = 0

    def on_expr(e: ir.Expr, env: Env) -> None:
        nonlocal visits
        visits += 1

    walk_body(R, (ir.If(S, cond, (), ()),), on_expr)
    assert visits < 10 * 40
    when_true = R.refine(EMPTY, binary("and", cond, binary("<", x, lit(8))), True)
    assert when_true["x"].hi == 8


def test_an_empty_divisor_range_on_an_unreachable_path_does_not_crash() -> None:
    """Contradictory guards leave a divisor range like [1, 1); the analysis must not divide by
    its width (fuzz seeds 27, 61, 104 and 287 crashed here)."""
    from schedlang.checker import check_source
    from schedlang.source import SourceFile

    text = (
        'scheduler p "d" {\n on enqueue(t, flags) {\n  let d = t.weight\n'
        "  if d < 1 {\n   let x = (100 / d) / d\n  }\n  insert t into global\n }\n}"
    )
    checked, diags = check_source(SourceFile("empty.sched", text))
    assert not diags.has_errors and checked is not None

"""The cpu rule: every value stored as a `cpu` names a CPU below the CPU limit.

The bounds rule lets any `cpu` value index a `[T; cpus]` array without a further proof.
That is only sound if the type keeps its promise. The kernel's CPUs (`t.cpu`, `prev`,
`default_cpu(...).cpu`, `c` of `for c in cpus`) keep it; the ways around it are a literal
and a conversion (`i as cpu`). So wherever a value is *stored* under the `cpu` type — a
`let`, an assignment to a cpu-typed local, `var`, array slot, map slot or task var, an
argument to an fn's `cpu` parameter, an fn's `cpu` result, an initial value — it must be
proven below the CPU limit, with the same evidence as an index (ranges.py). A conversion
used directly (`kick i`, `allowed(t, i)`, `insert ... on i`, `default_cpu(t, i, f)`,
select_cpu's `return i`) needs nothing here: below the CPU limit is not the same as
existing on this machine, so the generated code checks those CPUs at run time instead (the
kernel would eject the policy for a CPU that does not exist; docs/verifier.md §5).
"""

from __future__ import annotations

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import show
from schedlang.passes.ranges import Env, Range, Ranges, walk_body
from schedlang.types import Type


def run(prog: ir.Program, diags: Diagnostics) -> dict[str, object]:
    ranges = Ranges.shared(prog)
    limit = prog.max_cpus
    inits = [(v.name, v.init, v.span) for v in prog.vars if v.type is Type.CPU]
    inits += [(v.name, v.init, v.span) for v in prog.task_vars if v.type is Type.CPU]
    inits += [(m.name, m.default, m.span) for m in prog.maps if m.value is Type.CPU]
    for name, value, span in inits:
        if not 0 <= value < limit:
            diags.error(C.INITIAL_CPU_OUT_OF_RANGE, span, value=value, name=name, limit=limit)
    fn_params = {f.name: f.params for f in prog.fns}
    proven = 0

    def check(e: ir.Expr, env: Env) -> None:
        nonlocal proven
        found = ranges.of(e, env)
        if found.within(limit):
            proven += 1
        else:
            _report(e, found, ranges, env, limit, diags)

    def walk(body: tuple[ir.Stmt, ...], returns_cpu: bool) -> None:
        def on_stmt(s: ir.Stmt, env: Env) -> None:
            match s:
                case (
                    ir.Let(type=Type.CPU, value=v)
                    | ir.Assign(target=ir.Expr(type=Type.CPU), value=v)
                ):
                    check(v, env)
                case ir.Return(value=ir.Expr() as v) if returns_cpu:
                    check(v, env)

        def on_expr(e: ir.Expr, env: Env) -> None:
            if isinstance(e, ir.FnCall):
                for (_, t), arg in zip(fn_params.get(e.name, ()), e.args, strict=False):
                    if t is Type.CPU:
                        check(arg, env)

        walk_body(ranges, body, on_expr, on_stmt)

    for f in prog.fns:
        walk(f.body, f.ret is Type.CPU)
    for cb in prog.callbacks:
        walk(cb.body, False)  # select_cpu's result is checked at run time (sl_checked_cpu)
    return {"cpu_values_proven": proven}


def _report(
    e: ir.Expr, found: Range, ranges: Ranges, env: Env, limit: int, diags: Diagnostics
) -> None:
    """`found` is the range of the `cpu` (an s32 in C: a u64 past 2**31 wraps negative); the
    hints are about the value converted, which is negative only if it is itself."""
    text = show.code(diags, e.span, "this value")
    inner = e.expr if isinstance(e, ir.Cast) else e
    inner_lo = ranges.of(inner, env).lo
    bare = show.code(diags, inner.span, "i").strip("`")
    message, largest = C.CPU_UNBOUNDED, None
    if found.lo is None or found.lo < 0:
        message = C.CPU_MAY_BE_NEGATIVE
    elif found.hi is not None and found.hi < 2**31:
        message, largest = C.CPU_MAY_BE_LARGE, found.hi - 1
    diags.error(
        message,
        e.span,
        suggest=show.range_fixes(inner, bare, limit, inner_lo is None or inner_lo < 0, _as_cpu),
        value=text,
        largest=largest,
        limit=limit,
    )


def _as_cpu(value: str) -> str:
    return f"({value}) as cpu" if " " in value else f"{value} as cpu"

"""The division rule: no `/` or `%` may divide by zero.

BPF does not trap on a zero divisor — it silently yields 0 (or leaves the dividend for
`%`) — so a policy that divides by a value that can be 0 computes nonsense without any
sign. Each divisor must be proven non-zero: a non-zero constant, a param whose range
excludes 0, `t.weight` (never 0), `max(d, 1)`, or a local guarded by `if d != 0`,
`if d > 0`, or an early `if d == 0 { return }` (facts flow as described in ranges.py).
"""

from __future__ import annotations

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import show
from schedlang.passes.ranges import Env, Ranges, walk_body
from schedlang.types import Type


def run(prog: ir.Program, diags: Diagnostics) -> dict[str, object]:
    ranges = Ranges.shared(prog)
    proven = 0

    def on_expr(e: ir.Expr, env: Env) -> None:
        nonlocal proven
        if isinstance(e, ir.Binary) and e.op in ("/", "%"):
            if ranges.of(e.right, env).excludes_zero:
                proven += 1
            else:
                _report(prog, e, diags)

    for body in [f.body for f in prog.fns] + [c.body for c in prog.callbacks]:
        walk_body(ranges, body, on_expr)
    return {"divisions_proven": proven}


def _report(prog: ir.Program, e: ir.Binary, diags: Diagnostics) -> None:
    d = e.right
    text = show.code(diags, d.span, "the divisor")
    bare = text.strip("`") if text.startswith("`") else "d"
    one = "1ns" if d.type is Type.DURATION else "1"
    zero = "0ns" if d.type is Type.DURATION else "0"
    op = "`%`" if e.op == "%" else "`/`"
    if isinstance(d, ir.Lit):
        diags.error(C.DIVIDE_BY_CONSTANT_ZERO, d.span, op=op)
        return
    param = prog.param(d.name) if isinstance(d, ir.ParamRef) else None
    if param is not None:
        message = C.ZERO_DIVISOR_PARAM
    elif isinstance(d, ir.Local):
        message = C.ZERO_DIVISOR_LOCAL
    elif isinstance(d, ir.Binary | ir.Builtin):
        message = C.ZERO_DIVISOR
    else:
        message = C.ZERO_DIVISOR_SHARED
    diags.error(
        message,
        d.span,
        divisor=text,
        op=op,
        bare=bare,
        one=one,
        zero=zero,
        param=param.name if param else None,
        lo=param.lo if param else None,
    )

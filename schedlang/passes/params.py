"""The params rule: tunables have sane ranges, and every slice given to `insert` is above 0.

A param can be changed at load time, but only inside its declared range, so the range is
the contract later rules rely on (a divisor param whose range excludes 0 needs no guard).
An empty range or a default outside it breaks that contract. A zero slice makes the kernel
preempt the task at once, on every insert: the policy would thrash, so a slice must be
proven positive — a literal above 0, a param whose range excludes 0, or anything the value
ranges prove (e.g. `max(s, 100us)`, or a local guarded by `if s > 0ns`).
"""

from __future__ import annotations

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import show
from schedlang.passes.ranges import Env, Ranges, walk_body
from schedlang.types import Type
from schedlang.units import UNIT_NS


def run(prog: ir.Program, diags: Diagnostics) -> dict[str, object]:
    for p in prog.params:
        _check_decl(p, diags)
    ranges = Ranges(prog)
    smallest: list[int] = []

    def on_stmt(s: ir.Stmt, env: Env) -> None:
        if isinstance(s, ir.Insert) and s.slice is not None:
            lo = ranges.of(s.slice, env).lo
            if lo is not None and lo >= 1:
                smallest.append(lo)
            else:
                _report_slice(prog, s.slice, diags)

    for cb in prog.callbacks:  # fns cannot insert (typecheck), so only callbacks hold slices
        walk_body(ranges, cb.body, lambda e, env: None, on_stmt)
    return {"min_slice_ns": min(smallest)} if smallest else {}


def _show_value(p: ir.ParamDecl, v: int) -> str:
    return _duration(v) if p.type is Type.DURATION else str(v)


def _duration(ns: int) -> str:
    """A duration as the author would write it: the largest unit that divides it."""
    for unit in ("s", "ms", "us"):
        if ns and ns % UNIT_NS[unit] == 0:
            return f"{ns // UNIT_NS[unit]}{unit}"
    return f"{ns}ns"


def _check_decl(p: ir.ParamDecl, diags: Diagnostics) -> None:
    lo, hi, default = (_show_value(p, v) for v in (p.lo, p.hi, p.default))
    if p.lo > p.hi:
        diags.error(
            C.PARAM_RANGE,
            p.span,
            f"param `{p.name}` has an empty range {lo}..{hi}: the lower bound is above the upper",
            f"write the smaller bound first: `in {hi}..{lo}`",
        )
    elif not p.lo <= p.default <= p.hi:
        diags.error(
            C.PARAM_RANGE,
            p.span,
            f"the default {default} of param `{p.name}` is outside its range {lo}..{hi}",
            f"pick a default between {lo} and {hi}, or widen the range",
        )


def _report_slice(prog: ir.Program, e: ir.Expr, diags: Diagnostics) -> None:
    text = show.code(diags, e.span, "this slice")
    bare = text.strip("`") if text.startswith("`") else "E"
    hint = f"give it a floor: `slice max({bare}, 100us)`, or use a literal such as `5ms`"
    if isinstance(e, ir.ParamRef) and (p := prog.param(e.name)) is not None:
        low = _duration(max(p.hi // 100, 1000))
        hint = (
            f"raise the lower bound of `{p.name}` above 0, e.g. `in {low}..{_show_value(p, p.hi)}`"
        )
    elif isinstance(e, ir.Local):
        hint = f"guard it: `if {bare} > 0ns {{ insert ... }}`, or write `max({bare}, 100us)`"
    what = "is 0" if isinstance(e, ir.Lit) else "may be 0"
    diags.error(
        C.PARAM_RANGE, e.span, f"the slice {text} {what}: the task would be preempted at once", hint
    )

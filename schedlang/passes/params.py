"""The params rule: tunables have sane ranges, and every slice given to `insert` is above 0.

A param can be changed at load time, but only inside its declared range, so the range is
the contract later rules rely on (a divisor param whose range excludes 0 needs no guard).
An empty range or a default outside it breaks that contract. A zero slice makes the kernel
preempt the task at once, on every insert: the policy would thrash, so a slice must be
proven positive — a literal above 0, a param whose range excludes 0, or anything the value
ranges prove (e.g. `max(s, 100us)`, or a local guarded by `if s > 0ns`).

A write to `t.slice` replaces the slice the task runs with, so it is held to the same
proof where it would undo the insert's: in `select_cpu` and `enqueue` after an insert (on
some path), and in `running`, where the task starts with the slice it was inserted with.
Elsewhere a zero is meaningful: in `tick`, `t.slice = 0ns` is how a task yields, and a
write before the insert is overwritten by it.
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
    ranges = Ranges.shared(prog)
    smallest: list[int] = []

    # the `t.slice = E` statements that set the slice a task runs with (by id: IR nodes
    # compare by value), and where they stand, for the message
    binding: dict[int, str] = {}

    def on_stmt(s: ir.Stmt, env: Env) -> None:
        if isinstance(s, ir.Insert) and s.slice is not None:
            lo = ranges.of(s.slice, env).lo
            if lo is not None and lo >= 1:
                smallest.append(lo)
            else:
                _report_slice(prog, s.slice, diags)
        elif isinstance(s, ir.Assign) and id(s) in binding:
            lo = ranges.of(s.value, env).lo
            if lo is not None and lo >= 1:
                smallest.append(lo)
            else:
                _report_slice_write(s, binding[id(s)], diags)

    for cb in prog.callbacks:  # fns cannot insert (typecheck), so only callbacks hold slices
        if cb.op == "running":
            binding |= {
                id(s): "in `on running`" for s in ir.walk_stmts(cb.body) if _writes_slice(s)
            }
        elif cb.op in ("select_cpu", "enqueue"):
            after: set[int] = set()
            _after_insert(cb.body, False, after)
            binding |= dict.fromkeys(after, "after the `insert`")
        walk_body(ranges, cb.body, lambda e, env: None, on_stmt)
    return {"min_slice_ns": min(smallest)} if smallest else {}


def _writes_slice(s: ir.Stmt) -> bool:
    return (
        isinstance(s, ir.Assign)
        and isinstance(s.target, ir.TaskField)
        and s.target.field == "slice"
    )


def _after_insert(stmts: tuple[ir.Stmt, ...], inserted: bool, found: set[int]) -> bool:
    """Collect the slice writes that may run after an insert; returns whether the end of
    `stmts` may be reached after one (a may-analysis: one path suffices)."""
    for s in stmts:
        match s:
            case ir.Insert():
                inserted = True
            case ir.Assign() if inserted and _writes_slice(s):
                found.add(id(s))
            case ir.If():
                links, last = ir.if_chain(s)
                ends = [_after_insert(link.then, inserted, found) for link in links]
                inserted = any(ends) | _after_insert(last, inserted, found)
            case ir.ForRange(body=body) | ir.ForCpus(body=body):
                # a second iteration runs after whatever the first inserted
                inserted = _after_insert(body, _after_insert(body, inserted, found), found)
    return inserted


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
        diags.error(C.EMPTY_PARAM_RANGE, p.span, name=p.name, lo=lo, hi=hi)
    elif not p.lo <= p.default <= p.hi:
        diags.error(C.DEFAULT_OUTSIDE_RANGE, p.span, default=default, name=p.name, lo=lo, hi=hi)


def _report_slice(prog: ir.Program, e: ir.Expr, diags: Diagnostics) -> None:
    text = show.code(diags, e.span, "this slice")
    bare = text.strip("`") if text.startswith("`") else "E"
    what = "is 0" if isinstance(e, ir.Lit) else "may be 0"
    if isinstance(e, ir.ParamRef) and (p := prog.param(e.name)) is not None:
        low = _duration(max(p.hi // 100, 1000))
        diags.error(
            C.ZERO_SLICE_PARAM,
            e.span,
            slice=text,
            what=what,
            name=p.name,
            low=low,
            hi=_show_value(p, p.hi),
        )
    else:
        message = C.ZERO_SLICE_LOCAL if isinstance(e, ir.Local) else C.ZERO_SLICE
        diags.error(message, e.span, slice=text, what=what, bare=bare)


def _report_slice_write(s: ir.Assign, where: str, diags: Diagnostics) -> None:
    stmt = show.code(diags, s.span, "this write")
    compound = s.value.span == s.span  # `t.slice -= d` arrives as `t.slice = t.slice sat- d`
    value = s.value
    if compound and isinstance(value, ir.Binary):
        value = value.right
    bare = show.code(diags, value.span, "E").strip("`")
    sign = ""
    if isinstance(s.value, ir.Lit):
        message = C.ZERO_SLICE_WRITE
    elif compound and isinstance(s.value, ir.Binary):
        message, sign = C.SLICE_WRITE_STEP, {"sat-": "-"}.get(s.value.op, s.value.op)
    else:
        message = C.SLICE_WRITE
    diags.error(message, s.span, write=stmt, where=where, op=sign, bare=bare)

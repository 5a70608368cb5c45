"""The C lowering of every built-in function, keyed by the name in `schedlang.builtins`.

One entry per built-in (a test checks the keys equal `schedlang.builtins.BUILTINS`), so the
checker's signatures and this backend cannot drift apart. Each entry turns a checked call into
a C expression (the shared header declares every helper it calls). The lowering it needs for the
arguments is the `ExprLowering` protocol, which lower.py's `Lowerer` implements, so this
module does not import lower.py (lower.py imports this table).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from schedlang import ir
from schedlang.arith import BITS
from schedlang.backends import semantics
from schedlang.backends.bpf import cnames
from schedlang.backends.bpf import csyntax as c


class ExprLowering(Protocol):
    """What a built-in's lowering may ask of the expression lowering."""

    def expr(self, e: ir.Expr) -> c.Expr: ...

    def kernel_cpu(self, task: c.Expr, e: ir.Expr) -> c.Expr: ...


Lowering = Callable[[ExprLowering, ir.Builtin], c.Expr]


def _call(lw: ExprLowering, helper: str, e: ir.Builtin) -> c.Expr:
    """`helper(args...)`, a helper taking the built-in's arguments as they are."""
    return c.Call(helper, tuple(lw.expr(a) for a in e.args))


def _default_cpu(lw: ExprLowering, e: ir.Builtin) -> c.Expr:
    task, prev, flags = e.args
    p = lw.expr(task)
    return c.Call("sl_default_cpu", (p, lw.kernel_cpu(p, prev), lw.expr(flags)))


def _allowed(lw: ExprLowering, e: ir.Builtin) -> c.Expr:
    return _call(lw, "sl_allowed", e)


def _suffix(e: ir.Builtin) -> str:
    return "s64" if cnames.is_signed(e.type) else "u64"


def _narrowed(e: ir.Builtin, call: c.Expr) -> c.Expr:
    """A 64-bit helper's result as a value of the built-in's type: cast to it when that type
    is 32 bits wide. Without the cast the operators applied to the result work at 64 bits
    (`min(x, y) * 2` would not wrap at 32 bits, a shift by 33 would not be taken modulo 32)
    and `abs(MIN)` of an i32 would be 2**31, not MIN (docs/semantics.md, "Arithmetic")."""
    return c.Cast(cnames.c_type(e.type), call) if BITS.get(e.type) == 32 else call


def _fold(name: str) -> Lowering:
    """min/max of any number of arguments: nested two-argument helpers, left to right."""

    def lower(lw: ExprLowering, e: ir.Builtin) -> c.Expr:
        helper = f"sl_{name}_{_suffix(e)}"
        out, *rest = (lw.expr(a) for a in e.args)
        for arg in rest:
            out = c.Call(helper, (out, arg))
        return _narrowed(e, out)

    return lower


def _clamp(lw: ExprLowering, e: ir.Builtin) -> c.Expr:
    """semantics.clamp: min(max(x, lo), hi)."""
    suffix = _suffix(e)
    x, lo, hi = (lw.expr(a) for a in e.args)
    return _narrowed(e, c.Call(f"sl_min_{suffix}", (c.Call(f"sl_max_{suffix}", (x, lo)), hi)))


def _abs(lw: ExprLowering, e: ir.Builtin) -> c.Expr:
    """semantics.abs_: the helper works in 64 bits, so abs(MIN) is MIN only once narrowed."""
    return _narrowed(e, _call(lw, "sl_abs", e))


def comm_test(lw: ExprLowering, task: ir.Expr, text: str, *, whole: bool) -> c.Expr:
    """`t.comm == text` (whole) or `startswith(t.comm, text)`, as semantics.comm_equals and
    comm_startswith say: an unrolled byte compare (the verifier needs no loop, no string
    map), the NUL included for a whole compare."""
    data = text.encode("utf-8")
    if whole:
        if len(data) >= semantics.COMM_LEN:
            return c.Atom("false")
        data += b"\0"
    data = data[: semantics.COMM_LEN]
    if not data:
        return c.Atom("true")
    comm = c.Member(lw.expr(task), "comm", arrow=True)
    return c.conj(
        "&&",
        [
            c.Binary("==", c.Index(comm, c.Atom(str(i))), c.Atom(cnames.char_lit(chr(b))))
            for i, b in enumerate(data)
        ],
    )


def _startswith(lw: ExprLowering, e: ir.Builtin) -> c.Expr:
    field_, prefix = e.args
    if not (isinstance(field_, ir.TaskField) and isinstance(prefix, ir.Str)):
        raise NotImplementedError("C backend: startswith() takes t.comm and a string literal")
    return comm_test(lw, field_.task, prefix.value, whole=False)


BUILTIN_C: dict[str, Lowering] = {
    "now": lambda lw, e: _call(lw, "sl_now", e),
    "default_cpu": _default_cpu,
    "move_to_local": lambda lw, e: _call(lw, "sl_consume", e),
    "queued": lambda lw, e: _call(lw, "sl_queued", e),
    "allowed": _allowed,
    "min": _fold("min"),
    "max": _fold("max"),
    "clamp": _clamp,
    "abs": _abs,
    "startswith": _startswith,
}

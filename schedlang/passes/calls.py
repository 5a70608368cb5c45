"""Typing of calls: built-ins (schedlang.builtins) and the policy's own `fn`s.

Part of the typecheck pass. Each built-in's argument rules are a small function registered
under the built-in's name, next to its signature in schedlang.builtins; a test checks that
every built-in has one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from schedlang import ast, ir
from schedlang import codes as C
from schedlang.builtins import BUILTINS
from schedlang.passes.exprs import ERROR, FnSig, poison
from schedlang.types import INTEGERS, SIGNED, Type

if TYPE_CHECKING:
    from schedlang.passes.exprs import ExprChecker

Rule = Callable[["ExprChecker", ast.Call, list[ir.Expr]], ir.Expr]


def _now(ck: ExprChecker, e: ast.Call, args: list[ir.Expr]) -> ir.Expr:
    return ir.Builtin(Type.TIME, e.span, "now", ())


def _default_cpu(ck: ExprChecker, e: ast.Call, args: list[ir.Expr]) -> ir.Expr:
    t = ck.coerce(args[0], Type.TASK, "the first argument of default_cpu")
    prev = ck.coerce(args[1], Type.CPU, "the second argument of default_cpu (the previous CPU)")
    flags = ck.coerce(args[2], Type.U64, "the third argument of default_cpu (the wake flags)")
    return ir.Builtin(Type.PICK, e.span, "default_cpu", (t, prev, flags))


def _queue_arg(ck: ExprChecker, e: ast.Call, args: list[ir.Expr]) -> ir.Expr:
    q = args[0]
    if q.type is not ERROR and not isinstance(q, ir.QueueRef):
        ck.diags.error(C.TAKES_A_QUEUE, q.span, func=e.func, type=q.type)
        return poison(e.span)
    result = Type.BOOL if e.func == "move_to_local" else Type.U64
    return ir.Builtin(result, e.span, e.func, (q,))


def _allowed(ck: ExprChecker, e: ast.Call, args: list[ir.Expr]) -> ir.Expr:
    t = ck.coerce(args[0], Type.TASK, "the first argument of allowed")
    c = args[1]
    if c.type in INTEGERS:
        c = ir.Cast(Type.CPU, c.span, c)
    c = ck.coerce(c, Type.CPU, "the second argument of allowed (a CPU)")
    return ir.Builtin(Type.BOOL, e.span, "allowed", (t, c))


def _common_type(types: Sequence[Type]) -> Type:
    """The type min/max/clamp convert their arguments to. Among integers the 64-bit one, so
    the implicit widenings apply as in `x + y` (u32 and u64 give u64, i32 and i64 give i64),
    and where signs mix, the hint to convert the others (`as i64`) never narrows a value."""
    wide = [t for t in types if t in (Type.U64, Type.I64)]
    return wide[0] if wide and all(t in INTEGERS for t in types) else types[0]


def _same_type(ck: ExprChecker, e: ast.Call, args: list[ir.Expr]) -> ir.Expr:
    """min, max, clamp: all arguments of one numeric type, which is the result's."""
    concrete = [a.type for a in args if a.type is not Type.INT]
    want = _common_type(concrete) if concrete else Type.INT
    numeric = INTEGERS | {Type.CPU, Type.DURATION, Type.TIME, Type.INT}
    if want not in numeric:
        ck.diags.error(C.TAKES_NUMBERS, e.span, func=e.func, type=want)
        return poison(e.span)
    if want is Type.INT:  # all literals: fold, so the result can still take any integer type
        values = [a.value for a in args if isinstance(a, ir.Lit)]
        folded = {"min": min(values), "max": max(values)}.get(e.func)
        if e.func == "clamp":
            folded = max(values[1], min(values[0], values[2]))
        assert folded is not None
        return ir.Lit(Type.INT, e.span, folded)
    typed = tuple(ck.coerce(a, want, f"each argument of {e.func}") for a in args)
    if any(a.type is ERROR for a in typed):
        return poison(e.span)
    return ir.Builtin(want, e.span, e.func, typed)


def _abs(ck: ExprChecker, e: ast.Call, args: list[ir.Expr]) -> ir.Expr:
    x = ck.settle(args[0])
    if x.type not in SIGNED:
        ck.diags.error(C.ABS_TYPE, x.span, type=x.type)
        return poison(e.span)
    return ir.Builtin(x.type, e.span, "abs", (x,))


def _startswith(ck: ExprChecker, e: ast.Call, args: list[ir.Expr]) -> ir.Expr:
    comm, prefix = args
    if comm.type is not Type.COMM or not isinstance(prefix, ir.Str):
        ck.diags.error(C.STARTSWITH_ARGS, e.span)
        return poison(e.span)
    return ir.Builtin(Type.BOOL, e.span, "startswith", (comm, prefix))


RULES: dict[str, Rule] = {
    "now": _now,
    "default_cpu": _default_cpu,
    "move_to_local": _queue_arg,
    "queued": _queue_arg,
    "allowed": _allowed,
    "min": _same_type,
    "max": _same_type,
    "clamp": _same_type,
    "abs": _abs,
    "startswith": _startswith,
}
assert set(RULES) == set(BUILTINS), "every built-in needs a typing rule"


def check_call(ck: ExprChecker, e: ast.Call) -> ir.Expr:
    sig = BUILTINS.get(e.func)
    if sig is not None:
        if sig.only_in and ck.scope.callback not in sig.only_in:
            where = ", ".join(f"`on {c}`" for c in sorted(sig.only_in))
            here = f"`on {ck.scope.callback}`" if ck.scope.callback else "an fn"
            ck.diags.error(C.BUILTIN_OUTSIDE, e.func_span, func=e.func, where=where, here=here)
            return poison(e.span)
        n = len(e.args)
        if (sig.arity is not None and n != sig.arity) or n < sig.min_args:
            ck.diags.error(C.BUILTIN_ARITY, e.span, signature=sig.signature)
            return poison(e.span)
        args = [ck.check(a) for a in e.args]
        if any(a.type is ERROR for a in args):
            return poison(e.span)
        return RULES[e.func](ck, e, args)
    sym = ck.scope.globals.get(e.func)
    if sym is None or sym.kind != "fn":
        names = sorted(BUILTINS) + sorted(n for n, s in ck.scope.globals.items() if s.kind == "fn")
        ck.diags.error(
            C.FUNCTION_NOT_DECLARED,
            e.func_span,
            suggest=C.did_you_mean(e.func, names),
            name=e.func,
        )
        return poison(e.span)
    assert isinstance(sym.detail, FnSig)
    param_types, ret = sym.detail.params, sym.detail.ret
    if len(e.args) != len(param_types):
        ck.diags.error(C.FN_ARITY, e.span, name=e.func, want=len(param_types), got=len(e.args))
        return poison(e.span)
    typed = tuple(
        ck.check_as(a, t, f"argument {i + 1} of `{e.func}`")
        for i, (a, t) in enumerate(zip(e.args, param_types, strict=True))
    )
    if any(a.type is ERROR for a in typed):
        return poison(e.span)
    return ir.FnCall(ret, e.span, e.func, typed)

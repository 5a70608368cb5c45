"""The C lowering of every built-in function, keyed by the name in `schedlang.builtins`.

One entry per built-in (a test checks the keys equal `schedlang.builtins.BUILTINS`), so the
checker's signatures and this backend cannot drift apart. Each entry turns a checked call into
a C expression and records the helpers/kfuncs it relies on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from schedlang import ir
from schedlang.backends.bpf import cnames

if TYPE_CHECKING:
    from schedlang.backends.bpf.lower import Lowerer

Lowering = Callable[["Lowerer", ir.Builtin], str]


def _args(lw: Lowerer, e: ir.Builtin) -> list[str]:
    return [lw.value(a) for a in e.args]


def _now(lw: Lowerer, e: ir.Builtin) -> str:
    lw.need("sl_now")
    return "sl_now()"


def _default_cpu(lw: Lowerer, e: ir.Builtin) -> str:
    lw.need("sl_default_cpu")
    task, prev, flags = e.args
    p = lw.value(task)
    return f"sl_default_cpu({p}, {lw.kernel_cpu(p, prev)}, {lw.value(flags)})"


def _move_to_local(lw: Lowerer, e: ir.Builtin) -> str:
    lw.need("sl_consume")
    return f"sl_consume({_args(lw, e)[0]})"


def _queued(lw: Lowerer, e: ir.Builtin) -> str:
    lw.need("sl_queued")
    return f"sl_queued({_args(lw, e)[0]})"


def _allowed(lw: Lowerer, e: ir.Builtin) -> str:
    lw.need("sl_allowed")
    lw.needs.task_fields.add("cpus_ptr")
    task, cpu = _args(lw, e)
    return f"sl_allowed({task}, {cpu})"


def _suffix(e: ir.Builtin) -> str:
    return "s64" if cnames.is_signed(e.type) else "u64"


def _fold(name: str) -> Lowering:
    """min/max of any number of arguments: nested two-argument helpers, left to right."""

    def lower(lw: Lowerer, e: ir.Builtin) -> str:
        helper = f"sl_{name}_{_suffix(e)}"
        lw.need(helper)
        args = _args(lw, e)
        text = args[0]
        for arg in args[1:]:
            text = f"{helper}({text}, {arg})"
        return text

    return lower


def _clamp(lw: Lowerer, e: ir.Builtin) -> str:
    suffix = _suffix(e)
    lw.need(f"sl_min_{suffix}", f"sl_max_{suffix}")
    x, lo, hi = _args(lw, e)
    return f"sl_min_{suffix}(sl_max_{suffix}({x}, {lo}), {hi})"


def _abs(lw: Lowerer, e: ir.Builtin) -> str:
    lw.need("sl_abs")
    return f"sl_abs({_args(lw, e)[0]})"


def _startswith(lw: Lowerer, e: ir.Builtin) -> str:
    from schedlang.backends.bpf.lower import comm_test

    field_, prefix = e.args
    if not (isinstance(field_, ir.TaskField) and isinstance(prefix, ir.Str)):
        raise NotImplementedError("C backend: startswith() takes t.comm and a string literal")
    return comm_test(lw, field_.task, prefix.value, whole=False)


BUILTIN_C: dict[str, Lowering] = {
    "now": _now,
    "default_cpu": _default_cpu,
    "move_to_local": _move_to_local,
    "queued": _queued,
    "allowed": _allowed,
    "min": _fold("min"),
    "max": _fold("max"),
    "clamp": _clamp,
    "abs": _abs,
    "startswith": _startswith,
}

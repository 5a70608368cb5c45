"""`--param name=value`: check a tunable override against the policy before it is compiled in.

An override becomes the initial value of `.rodata.params` and the manifest's `value`, so it
gets the same scrutiny as the declared default: a known name, a value written as a literal
of the param's type (schedlang.literals.tunable: durations take units, `3ms`; integers are
decimal or hex; bools `true`/`false`), inside the declared range. Problems are diagnostics
at the param's declaration, with the range in the hint.
"""

from __future__ import annotations

from collections.abc import Mapping

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.errors import SchedlangError
from schedlang.literals import LiteralError, tunable
from schedlang.source import NOWHERE, SourceFile
from schedlang.types import Type
from schedlang.units import format_duration


def _show(value: int, t: Type) -> str:
    return format_duration(value) if t is Type.DURATION else str(value)


def resolve(
    program: ir.Program, raw: Mapping[str, int | str], diags: Diagnostics
) -> dict[str, int]:
    """Checked override values by param name; problems go to `diags`."""
    out: dict[str, int] = {}
    for name, given in raw.items():
        decl = program.param(name)
        if decl is None:
            names = [p.name for p in program.params]
            diags.error(
                C.UNKNOWN_TUNABLE,
                NOWHERE,
                suggest=C.did_you_mean(name, names),
                name=name,
                policy=program.name,
                tunables=", ".join(names) or "none",
            )
            continue
        try:
            value = given if isinstance(given, int) else tunable(str(given), str(decl.type))
        except LiteralError as err:
            diags.error(
                C.BAD_PARAM_VALUE, decl.span, name=name, given=given, problem=err, fix=err.hint
            )
            continue
        if not decl.lo <= value <= decl.hi:
            diags.error(
                C.PARAM_OVERRIDE_OUT_OF_RANGE,
                decl.span,
                name=name,
                given=given,
                lo=_show(decl.lo, decl.type),
                hi=_show(decl.hi, decl.type),
            )
            continue
        out[name] = value
    return out


def resolve_for_sim(program: ir.Program, raw: Mapping[str, int | str] | None) -> dict[str, int]:
    """The overrides of a policy compiled for the simulator (interpreter or JIT), checked as
    `--param` is; SchedlangError with the diagnostics when one is wrong."""
    diags = Diagnostics(SourceFile(program.path, ""))
    values = resolve(program, raw or {}, diags)
    if diags.has_errors:
        raise SchedlangError(diags.source, list(diags))
    return values

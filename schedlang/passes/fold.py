"""Constant folding: the value the generated code would compute, in exact integers.

A folded operator becomes a literal in the C, and a literal is also evidence for the proof
passes (an index, a divisor, a slice), so a folded value must be exactly what the machine
computes — never a float approximation (a float has 53 bits: `-9223372036854775807 / 3`
through a float is 170 off). The rules, from docs/language.md (5.3, 5.4):

* typed operands compute at their type's width: `+`, `-` (signed), `*` and `<<` wrap
  around in two's complement; unsigned-like subtraction (`sat-`) stops at 0;
* `/` truncates toward zero and `%` takes the sign of the dividend (C99); the one signed
  overflow of division, `MIN / -1`, wraps to `MIN` (remainder 0), as the generated
  `sl_sdiv`/`sl_smod` compute it;
* `>>` of a signed value is arithmetic (what clang emits);
* literals that no context has typed yet (`Type.INT`) are exact, like Go's untyped
  constants: the result must later fit the type its context gives it.
A division by zero is not folded (the div-by-zero rule reports it with its span), nor is a
shift by the operand's width or more (the typecheck rejects that: C leaves it undefined).
"""

from __future__ import annotations

from collections.abc import Callable

from schedlang.types import SIGNED, Type

BITS: dict[Type, int] = {
    Type.U32: 32,
    Type.I32: 32,
    Type.CPU: 32,
    Type.U64: 64,
    Type.I64: 64,
    Type.DURATION: 64,
    Type.TIME: 64,
}

# What an untyped constant expression may reach at any step: a value some 64-bit type holds.
CONST_MIN, CONST_MAX = -(2**63), 2**64 - 1


def wrap(value: int, t: Type) -> int:
    """value reduced to t's width, as the machine stores it (two's complement if signed)."""
    bits = BITS.get(t)
    if bits is None:
        return value
    value &= (1 << bits) - 1
    if (t in SIGNED or t is Type.CPU) and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def _quotient(a: int, b: int) -> int:
    """a / b truncated toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


_OPS: dict[str, Callable[[int, int], int]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "sat-": lambda x, y: max(0, x - y),
    "*": lambda x, y: x * y,
    "/": _quotient,
    "%": lambda x, y: x - y * _quotient(x, y),
    "&": lambda x, y: x & y,
    "|": lambda x, y: x | y,
    "^": lambda x, y: x ^ y,
    "<<": lambda x, y: x << y,
    ">>": lambda x, y: x >> y,
    "==": lambda x, y: int(x == y),
    "!=": lambda x, y: int(x != y),
    "<": lambda x, y: int(x < y),
    "<=": lambda x, y: int(x <= y),
    ">": lambda x, y: int(x > y),
    ">=": lambda x, y: int(x >= y),
}


def fold(op: str, a: int, b: int, operands: Type) -> int | None:
    """`a op b` for two constants of type `operands` (the left one's, for a shift); None
    when it must not be folded (division by zero, a shift past the width)."""
    if op in ("/", "%") and b == 0:
        return None
    if op in ("<<", ">>") and not 0 <= b < BITS.get(operands, 64):
        return None
    return wrap(_OPS[op](a, b), operands)

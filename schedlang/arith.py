"""The value of each integer operator of the IR, in exact Python integers.

One definition for every consumer that computes a policy's arithmetic itself: the checker's
constant folding (`passes/fold.py`, whose literals are also proof evidence), the IR
interpreter and the tests that hold the JIT and the generated C to the same values. The
rules are those of docs/language.md (5.3, 5.4), i.e. what the generated C computes when
clang compiles it with `-fwrapv` (tests/backends/test_fold_c.py runs both and compares):

* a value of a typed integer is stored at its type's width (`BITS`): `+`, `-` (signed
  types only), `*` and `<<` wrap around in two's complement (`wrap`);
* `sat-` (what the checker makes of `-` on an unsigned-like type) stops at 0;
* `/` truncates toward zero and `%` takes the sign of the dividend (C99); the one signed
  overflow of division, `MIN / -1`, wraps to `MIN` and `MIN % -1` is 0;
* `>>` of a signed value is arithmetic (keeps the sign), of an unsigned one logical;
* comparisons give 0 or 1; `and`/`or` are not here: they short-circuit, so they are control
  flow, not an operator on two values;
* untyped literals (`Type.INT`) are exact until a context types them (`wrap` leaves them).

Two cases have no value here, and callers decide: a division by zero (the checker proves
every divisor non-zero before a backend runs, so only folding meets one) and a shift by the
operand's width or more (a constant one is rejected by the checker; a run-time one is
undefined in C, and `shift_amount` says what BPF executes).
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
    """value reduced to t's width, as the machine stores it (two's complement if signed;
    `cpu` is signed: the kernel's CPU ids are s32). Types without a width (bool, untyped
    literals) are returned as they are."""
    bits = BITS.get(t)
    if bits is None:
        return value
    value &= (1 << bits) - 1
    if (t in SIGNED or t is Type.CPU) and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def quotient(a: int, b: int) -> int:
    """a / b truncated toward zero (Python's // floors). b must not be 0."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def remainder(a: int, b: int) -> int:
    """a % b with the sign of a, so that a == quotient(a, b) * b + remainder(a, b)."""
    return a - b * quotient(a, b)


def shift_amount(amount: int, t: Type) -> int:
    """The shift amount BPF executes for a run-time shift of a `t`: the low bits of the
    amount, modulo the width (the kernel's interpreter and JITs mask it: `SRC & 63`, `& 31`
    for 32-bit operations). C calls a shift by the width or more undefined; a constant one
    never reaches a backend."""
    return amount & (BITS.get(t, 64) - 1)


_OPS: dict[str, Callable[[int, int], int]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "sat-": lambda x, y: max(0, x - y),
    "*": lambda x, y: x * y,
    "/": quotient,
    "%": remainder,
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
OPERATORS = frozenset(_OPS)


def binary(op: str, a: int, b: int, operands: Type) -> int:
    """`a op b` for two values of type `operands` (both sides have it after checking; for a
    shift it is the left side's), wrapped to that type. A comparison gives 0 or 1. The
    caller has excluded b == 0 for `/` and `%` and put a shift amount in 0..width-1."""
    return wrap(_OPS[op](a, b), operands)


def negate(a: int, t: Type) -> int:
    """Unary minus (signed types): `-MIN` wraps to MIN."""
    return wrap(-a, t)


def convert(value: int, to: Type) -> int:
    """`x as T`: narrowing keeps the low bits, signed <-> unsigned reinterprets them, a bool
    is 0 or 1 (docs/language.md 5.2)."""
    return wrap(int(value), to)

"""Constant folding: the value the generated code would compute, in exact integers.

A folded operator becomes a literal in the C, and a literal is also evidence for the proof
passes (an index, a divisor, a slice), so a folded value must be exactly what the machine
computes — never a float approximation (a float has 53 bits: `-9223372036854775807 / 3`
through a float is 170 off). The operators' values, with each type's wrap rules, are
`schedlang.arith` (docs/language.md 5.3, 5.4), shared with the interpreter and the tests of
the backends; this module decides only what may be folded. Literals that no context has
typed yet (`Type.INT`) stay exact, like Go's untyped constants: the result must later fit the
type its context gives it. A division by zero is not folded (the div-by-zero rule reports it
with its span), nor is a shift by the operand's width or more (the typecheck rejects that: C
leaves it undefined).
"""

from __future__ import annotations

from schedlang.arith import BITS as BITS
from schedlang.arith import CONST_MAX as CONST_MAX
from schedlang.arith import CONST_MIN as CONST_MIN
from schedlang.arith import binary
from schedlang.types import Type


def fold(op: str, a: int, b: int, operands: Type) -> int | None:
    """`a op b` for two constants of type `operands` (the left one's, for a shift); None
    when it must not be folded (division by zero, a shift past the width)."""
    if op in ("/", "%") and b == 0:
        return None
    if op in ("<<", ">>") and not 0 <= b < BITS.get(operands, 64):
        return None
    return binary(op, a, b, operands)

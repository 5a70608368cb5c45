"""The types of schedlang values.

Units are types: `duration` (ns) and `time` (a timestamp, ns) only combine in ways that keep
their meaning (`time - time` is a duration, `time + duration` a time), and a bare number is
never a duration. `cpu` is an integer that is known to name a CPU, which is what lets a `cpu`
index a `[T; cpus]` array without a further bounds proof.
"""

from __future__ import annotations

from enum import Enum


class Type(Enum):
    BOOL = "bool"
    U32 = "u32"
    U64 = "u64"
    I32 = "i32"
    I64 = "i64"
    DURATION = "duration"
    TIME = "time"
    CPU = "cpu"
    TASK = "task"
    # internal types: never written in source
    INT = "integer literal"  # an integer literal before it takes the type its context wants
    STR = "string"
    COMM = "comm"  # t.comm: compared with == or startswith only
    PICK = "default_cpu result"  # has .cpu and .idle
    QUEUE = "queue"
    VOID = "nothing"

    def __str__(self) -> str:
        return self.value


# The types a declaration may name.
DECLARABLE: dict[str, Type] = {
    t.value: t
    for t in (
        Type.BOOL,
        Type.U32,
        Type.U64,
        Type.I32,
        Type.I64,
        Type.DURATION,
        Type.TIME,
        Type.CPU,
        Type.TASK,
    )
}

# Types that may be stored in var/task var/array/map (a `task` cannot be stored).
STORABLE = frozenset(DECLARABLE.values()) - {Type.TASK}

INTEGERS = frozenset({Type.U32, Type.U64, Type.I32, Type.I64})
SIGNED = frozenset({Type.I32, Type.I64})
UNSIGNED = frozenset({Type.U32, Type.U64})
# Types whose subtraction saturates at zero instead of wrapping (documented in language.md).
SATURATING = frozenset({Type.U32, Type.U64, Type.DURATION, Type.TIME, Type.CPU})

WIDTH: dict[Type, int] = {
    Type.BOOL: 1,
    Type.U32: 4,
    Type.I32: 4,
    Type.CPU: 4,
    Type.U64: 8,
    Type.I64: 8,
    Type.DURATION: 8,
    Type.TIME: 8,
}

# Value ranges, used to check literals and param ranges.
RANGE: dict[Type, tuple[int, int]] = {
    Type.U32: (0, 2**32 - 1),
    Type.U64: (0, 2**64 - 1),
    Type.I32: (-(2**31), 2**31 - 1),
    Type.I64: (-(2**63), 2**63 - 1),
    Type.DURATION: (0, 2**64 - 1),
    Type.TIME: (0, 2**64 - 1),
    Type.CPU: (0, 2**31 - 1),
    Type.BOOL: (0, 1),
}


def is_integer(t: Type) -> bool:
    return t in INTEGERS or t is Type.INT


def is_unsigned_like(t: Type) -> bool:
    """Types that behave as unsigned machine words (saturating subtraction, no sign)."""
    return t in SATURATING

"""Every diagnostic code, with the one-line summary that docs/errors.md expands.

Codes are stable: agents match on them. Each has a wrong and a right example in
docs/errors.md, and a rejected test program under tests/cases/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Code:
    """A stable diagnostic code: its one-line summary, its how-to-fix, its severity."""

    name: str
    summary: str
    fix: str
    severity: Severity = "error"


# syntax and input
SYNTAX = "syntax"
EMPTY_FILE = "empty-file"
NOT_TEXT = "not-text"
FILE_TOO_LARGE = "file-too-large"
TOO_DEEP = "too-deep"
# names
UNKNOWN_NAME = "unknown-name"
UNKNOWN_FIELD = "unknown-field"
UNKNOWN_TYPE = "unknown-type"
UNKNOWN_CALLBACK = "unknown-callback"
UNKNOWN_FUNCTION = "unknown-function"
DUPLICATE_NAME = "duplicate-name"
NAME_TOO_LONG = "name-too-long"
# types
TYPE_MISMATCH = "type-mismatch"
NEEDS_UNIT = "needs-unit"
SIGN_MIX = "sign-mix"
BAD_OPERAND = "bad-operand"
BAD_CALL = "bad-call"
BAD_TARGET = "bad-target"
READ_ONLY = "read-only"
BAD_RETURN = "bad-return"
BAD_CALLBACK = "bad-callback"
NOT_CONSTANT = "not-constant"
WRONG_CALLBACK = "wrong-callback"
# safety rules
UNBOUNDED_LOOP = "unbounded-loop"
RECURSION = "recursion"
TOO_COMPLEX = "too-complex"
INDEX_UNPROVEN = "index-unproven"
MEMORY_BUDGET = "memory-budget"
DIV_BY_ZERO = "div-by-zero"
LOST_TASK = "lost-task"
STARVING_QUEUE = "starving-queue"
QUEUE_KIND = "queue-kind"
PARAM_RANGE = "param-range"
MISSING_RETURN = "missing-return"
DOUBLE_INSERT = "double-insert"
BAD_SIZE = "bad-size"
CPU_RANGE = "cpu-range"

SUMMARY: dict[str, str] = {
    SYNTAX: "the text does not follow the grammar",
    EMPTY_FILE: "the file has no policy in it",
    NOT_TEXT: "the file is not text",
    FILE_TOO_LARGE: "the file is larger than any policy should be",
    TOO_DEEP: "brackets nest too deeply",
    UNKNOWN_NAME: "a name that is not declared",
    UNKNOWN_FIELD: "a field that the value does not have",
    UNKNOWN_TYPE: "a type name that does not exist",
    UNKNOWN_CALLBACK: "`on NAME` where NAME is not a sched_ext operation",
    UNKNOWN_FUNCTION: "a call to something that is neither a built-in nor an `fn`",
    DUPLICATE_NAME: "two declarations with one name",
    NAME_TOO_LONG: "a scheduler name longer than the kernel keeps",
    TYPE_MISMATCH: "a value of the wrong type",
    NEEDS_UNIT: "a bare number where a duration is needed",
    SIGN_MIX: "signed and unsigned mixed without `as`",
    BAD_OPERAND: "an operator applied to types it does not take",
    BAD_CALL: "a call with the wrong number or kind of arguments",
    BAD_TARGET: "an assignment to something that cannot be assigned",
    READ_ONLY: "an assignment to a read-only value",
    BAD_RETURN: "a `return` whose value does not fit the callback or fn",
    BAD_CALLBACK: "a callback with the wrong parameters or result",
    NOT_CONSTANT: "a value that must be known at compile time is not",
    WRONG_CALLBACK: "a statement or built-in used where the kernel does not allow it",
    UNBOUNDED_LOOP: "a loop whose bound is not a compile-time constant",
    RECURSION: "an `fn` that calls itself, directly or through others",
    TOO_COMPLEX: "a callback whose estimated size exceeds the instruction budget",
    INDEX_UNPROVEN: "an array index not proven in range",
    MEMORY_BUDGET: "maps and arrays together exceed the memory budget",
    DIV_BY_ZERO: "a divisor that may be zero",
    LOST_TASK: "a path through `enqueue` that does not insert the task",
    STARVING_QUEUE: "a queue that `dispatch` never moves from",
    QUEUE_KIND: "vtime used with a FIFO or built-in queue, or a vtime queue filled FIFO",
    PARAM_RANGE: "a param whose range is empty, whose default is outside it, or a zero slice",
    MISSING_RETURN: "a path through `select_cpu` or an `fn` that returns no value",
    DOUBLE_INSERT: "a path that inserts the task more than once",
    BAD_SIZE: "an array or map with no slots, or more slots than one object may have",
    CPU_RANGE: "a value stored as a `cpu` that is not proven below the CPU limit",
}

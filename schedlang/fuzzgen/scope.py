"""What the generator knows while it writes a policy: the declared globals and, inside a body,
the locals in scope with the facts the checker will be able to prove about them.

The generator is valid by construction only because it tracks what the checker tracks: the
type of every name, which names may be assigned, the value range of loop variables and of
locals it guarded itself (so an index or divisor built from them is provable), and which
callback it is in (inserts, `default_cpu`, `move_to_local` are allowed only in some).
"""

from __future__ import annotations

from dataclasses import dataclass, field

INTS = ("u32", "u64", "i32", "i64")
UNSIGNED = ("u32", "u64")
SIGNED = ("i32", "i64")
# Every type an expression can be generated for (`pick` is the result of default_cpu).
VALUE_TYPES = ("u64", "u32", "bool", "duration", "time", "cpu", "i64", "i32")
WIDTH_BITS = {"u32": 32, "i32": 32, "u64": 64, "i64": 64}


@dataclass(frozen=True)
class ParamInfo:
    type: str
    lo: int  # ns for durations, 0/1 for bools
    hi: int


@dataclass(frozen=True)
class FnInfo:
    params: tuple[tuple[str, str], ...]  # (name, type)
    ret: str | None
    # Whether its body changes state (assigns a var, an element, a task var or field, inserts,
    # kicks, calls such an fn): the order rule (passes/order.py) then rejects a call of it
    # beside operands that use that state, so expressions call only fns that do not.
    changes_state: bool = False


@dataclass
class Globals:
    """The policy's declarations, by kind; names never collide (each kind has a prefix)."""

    params: dict[str, ParamInfo] = field(default_factory=dict)
    consts: dict[str, tuple[str, int]] = field(default_factory=dict)  # type, value
    queues: dict[str, str] = field(default_factory=dict)  # fifo | vtime
    vars: dict[str, str] = field(default_factory=dict)
    task_vars: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # None: [T; cpus]
    maps: dict[str, tuple[str, str]] = field(default_factory=dict)  # key, value
    fns: dict[str, FnInfo] = field(default_factory=dict)  # in declaration order


@dataclass
class Local:
    type: str
    mutable: bool
    # A range [lo, hi] the checker proves for this name (loop variables, guarded locals).
    lo: int | None = None
    hi: int | None = None


@dataclass
class Body:
    """The scope of one fn or callback body while its statements are generated."""

    callback: str | None  # the sched_ext op, None inside an fn
    task: str | None  # the name of a task in scope, if any
    callable_fns: tuple[str, ...]  # fns this body may call (earlier ones: no recursion)
    void: bool  # a bare `return` is allowed
    ret: str | None = None  # the result type of an fn (select_cpu's `cpu` is handled apart)
    frames: list[dict[str, Local]] = field(default_factory=lambda: [{}])
    loop_depth: int = 0
    counter: list[int] = field(default_factory=lambda: [0])  # fresh local names, per body

    def fresh(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}{self.counter[0]}"

    def locals(self) -> dict[str, Local]:
        out: dict[str, Local] = {}
        for frame in self.frames:
            out.update(frame)
        return out

    def declare(self, name: str, local: Local) -> None:
        self.frames[-1][name] = local

    def push(self) -> None:
        self.frames.append({})

    def pop(self) -> None:
        self.frames.pop()

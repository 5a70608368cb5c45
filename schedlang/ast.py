"""The syntax tree: frozen dataclasses, one per construct, each with its source span.

Spans are excluded from equality (`compare=False`), so two trees are equal when they say the
same thing wherever it was written: that is what the pretty-printer round trip asserts.
The tree is the parser's output and the type checker's input; nothing here knows types.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from schedlang.source import Span
from schedlang.units import UNIT_NS


@dataclass(frozen=True)
class Node:
    span: Span = field(compare=False, repr=False)


# ----------------------------------------------------------------------------- types
@dataclass(frozen=True)
class TypeName(Node):
    """A scalar type written in the source: `u64`, `duration`, `task`, ..."""

    name: str


# ----------------------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Expr(Node):
    pass


@dataclass(frozen=True)
class IntLit(Expr):
    value: int


@dataclass(frozen=True)
class DurationLit(Expr):
    """`5ms`: `amount` in `unit`; the value in nanoseconds is `nanoseconds`."""

    amount: int
    unit: str

    @property
    def nanoseconds(self) -> int:
        return self.amount * UNIT_NS[self.unit]


@dataclass(frozen=True)
class BoolLit(Expr):
    value: bool


@dataclass(frozen=True)
class StrLit(Expr):
    value: str


@dataclass(frozen=True)
class Name(Expr):
    ident: str


@dataclass(frozen=True)
class Field(Expr):
    obj: Expr
    name: str
    name_span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class Index(Expr):
    base: Expr
    index: Expr


@dataclass(frozen=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...]
    func_span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # "-" or "not"
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # arithmetic, comparison, bitwise, "and", "or"
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Cast(Expr):
    expr: Expr
    to: TypeName


# ----------------------------------------------------------------------------- statements
@dataclass(frozen=True)
class Stmt(Node):
    pass


@dataclass(frozen=True)
class Block(Node):
    stmts: tuple[Stmt, ...]


@dataclass(frozen=True)
class Let(Stmt):
    name: str
    type: TypeName | None
    value: Expr


@dataclass(frozen=True)
class Assign(Stmt):
    target: Expr  # Name, Field or Index
    op: str  # "=", "+=", "-=", "*=", "/="
    value: Expr


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: Block
    orelse: Block | If | None  # `else if` chains nest in orelse


@dataclass(frozen=True)
class ForRange(Stmt):
    """`for i in LO..HI { }`: HI must be a compile-time constant (termination)."""

    var: str
    lo: Expr
    hi: Expr
    body: Block


@dataclass(frozen=True)
class ForCpus(Stmt):
    """`for c in cpus { }`: bounded by the compile-time CPU limit."""

    var: str
    body: Block


@dataclass(frozen=True)
class Return(Stmt):
    value: Expr | None


@dataclass(frozen=True)
class Insert(Stmt):
    """`insert t into Q [on C] [slice E] [vtime E]`."""

    task: Expr
    queue: str
    queue_span: Span = field(compare=False, repr=False)
    on_cpu: Expr | None = None
    slice: Expr | None = None
    vtime: Expr | None = None


@dataclass(frozen=True)
class Kick(Stmt):
    cpu: Expr
    mode: str | None  # None, "preempt" or "idle"


@dataclass(frozen=True)
class ExprStmt(Stmt):
    expr: Expr


# ----------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class Decl(Node):
    name: str
    name_span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class Param(Decl):
    type: TypeName
    default: Expr
    lo: Expr
    hi: Expr


@dataclass(frozen=True)
class Const(Decl):
    type: TypeName
    value: Expr


@dataclass(frozen=True)
class Queue(Decl):
    kind: str  # "fifo" or "vtime"


@dataclass(frozen=True)
class Var(Decl):
    type: TypeName
    init: Expr


@dataclass(frozen=True)
class TaskVar(Decl):
    type: TypeName
    init: Expr


@dataclass(frozen=True)
class Array(Decl):
    elem: TypeName
    size: Expr | None  # None means `cpus`


@dataclass(frozen=True)
class MapDecl(Decl):
    key: TypeName
    value: TypeName
    default: Expr
    capacity: Expr


@dataclass(frozen=True)
class FnParam(Node):
    name: str
    type: TypeName


@dataclass(frozen=True)
class Fn(Decl):
    params: tuple[FnParam, ...]
    ret: TypeName | None
    body: Block


@dataclass(frozen=True)
class CallbackParam(Node):
    name: str


@dataclass(frozen=True)
class Callback(Decl):
    """`on NAME(params) [-> T] { }`; `name` is the sched_ext operation."""

    params: tuple[CallbackParam, ...]
    ret: TypeName | None
    body: Block


@dataclass(frozen=True)
class ImportName(Node):
    """One name of an `import`: `score`, or `score as ll_score` (alias set)."""

    name: str
    alias: str | None
    alias_span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def local(self) -> str:
        """The name the importing policy knows it by."""
        return self.alias or self.name


@dataclass(frozen=True)
class Import(Decl):
    """`import LIB { a, b as c }`: `name` is the library (a stdlib policy's name, or a path
    when `path` is true, written as a string); `schedlang.imports` replaces it with the
    declarations it names before the type checker runs."""

    path: bool
    names: tuple[ImportName, ...]


@dataclass(frozen=True)
class Scheduler(Node):
    name: str
    description: str
    decls: tuple[Decl, ...]
    name_span: Span = field(compare=False, repr=False)


def same(a: object, b: object) -> bool:
    """`a == b` for trees (spans ignored, as `==` does), walked in a loop: the generated `==`
    recurses once per `else if` link, and a chain may be longer than the recursion limit."""
    todo: list[tuple[object, object]] = [(a, b)]
    while todo:
        x, y = todo.pop()
        if isinstance(x, Node):
            if type(x) is not type(y):
                return False
            todo += [(getattr(x, f.name), getattr(y, f.name)) for f in fields(x) if f.compare]
        elif isinstance(x, tuple):
            if not isinstance(y, tuple) or len(x) != len(y):
                return False
            todo += zip(x, y, strict=True)
        elif x != y:
            return False
    return True

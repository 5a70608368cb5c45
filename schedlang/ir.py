"""The checked IR: what every backend (C, interpreter, llvmlite) reads.

It is the syntax tree after name resolution and type checking: every expression carries its
type, every name says what it refers to (a local, a tunable, a global, a task field, ...),
`const`s are folded into literals, durations are nanoseconds, compound assignments are
expanded, and unsigned subtraction is the explicit operator `sat-`. Nothing in it refers to
a backend. A `CheckedProgram` wraps a `Program` only after every checker pass has accepted it
(see `schedlang.checker`), so a backend that takes a `CheckedProgram` cannot skip the checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from schedlang.source import SourceFile, Span
from schedlang.types import Type

# Binary operators in the IR. "sat-" is subtraction that stops at 0 (unsigned types);
# "-" is plain two's-complement subtraction (signed types only).
ARITH_OPS = frozenset({"+", "-", "sat-", "*", "/", "%", "&", "|", "^", "<<", ">>"})
COMPARE_OPS = frozenset({"==", "!=", "<", "<=", ">", ">="})
LOGIC_OPS = frozenset({"and", "or"})


@dataclass(frozen=True)
class Expr:
    type: Type
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class Lit(Expr):
    """An integer, bool, duration or time known at compile time (durations in ns)."""

    value: int


@dataclass(frozen=True)
class Str(Expr):
    value: str


@dataclass(frozen=True)
class Local(Expr):
    """A `let`, a loop variable, an `fn` argument or a callback parameter."""

    name: str


@dataclass(frozen=True)
class ParamRef(Expr):
    """A tunable: read at run time from the tunables section (overridable at load)."""

    name: str


@dataclass(frozen=True)
class GlobalRef(Expr):
    """A `var`."""

    name: str


@dataclass(frozen=True)
class NrCpus(Expr):
    """`nr_cpus`: the number of possible CPUs, at run time."""


# Built-in task fields: name -> (type, writable).
TASK_FIELDS: dict[str, tuple[Type, bool]] = {
    "pid": (Type.U32, False),
    "tgid": (Type.U32, False),
    "comm": (Type.COMM, False),
    "weight": (Type.U64, False),
    "vtime": (Type.DURATION, True),
    "slice": (Type.DURATION, True),
    "cpu": (Type.CPU, False),
    "nr_cpus_allowed": (Type.U32, False),
    "is_kthread": (Type.BOOL, False),
}


@dataclass(frozen=True)
class TaskField(Expr):
    """A built-in field of a task (see TASK_FIELDS)."""

    task: Expr
    field: str


@dataclass(frozen=True)
class TaskVarRef(Expr):
    """A `task var` of a task (task-local storage)."""

    task: Expr
    name: str


@dataclass(frozen=True)
class ArrayElem(Expr):
    array: str
    index: Expr


@dataclass(frozen=True)
class MapElem(Expr):
    """`m[k]`: reads the map's default when the key is missing."""

    map: str
    key: Expr


@dataclass(frozen=True)
class PickField(Expr):
    """`.cpu` or `.idle` of a `default_cpu(...)` result."""

    pick: Expr
    field: str


@dataclass(frozen=True)
class QueueRef(Expr):
    """A queue named in `insert`, `move_to_local` or `queued`.

    kind is "fifo" or "vtime" for declared queues, "local" or "global" for built-ins."""

    name: str
    kind: str


@dataclass(frozen=True)
class Builtin(Expr):
    """A call of a built-in function (see schedlang.builtins)."""

    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class FnCall(Expr):
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # "neg" or "not"
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # ARITH_OPS | COMPARE_OPS | LOGIC_OPS
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Cast(Expr):
    expr: Expr


# ----------------------------------------------------------------------------- statements
@dataclass(frozen=True)
class Stmt:
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class Let(Stmt):
    name: str
    type: Type
    value: Expr


@dataclass(frozen=True)
class Assign(Stmt):
    """`target = value`; compound assignments arrive expanded (`x += e` is `x = x + e`)."""

    target: Expr  # Local, GlobalRef, TaskField (writable), TaskVarRef, ArrayElem, MapElem
    value: Expr


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]


@dataclass(frozen=True)
class ForRange(Stmt):
    """`for var in lo..hi`; the termination pass proves lo and hi are `Lit`s."""

    var: str
    var_type: Type
    lo: Expr
    hi: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class ForCpus(Stmt):
    """`for var in cpus`: var runs over 0 .. min(nr_cpus, max_cpus) - 1."""

    var: str
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Return(Stmt):
    value: Expr | None


@dataclass(frozen=True)
class Insert(Stmt):
    """Insert the task into a queue; slice None means the kernel default slice."""

    task: Expr
    queue: QueueRef
    on_cpu: Expr | None
    slice: Expr | None
    vtime: Expr | None


@dataclass(frozen=True)
class Kick(Stmt):
    cpu: Expr
    mode: str | None  # None, "preempt" or "idle"


@dataclass(frozen=True)
class ExprStmt(Stmt):
    expr: Expr


# ----------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class ParamDecl:
    name: str
    type: Type
    default: int
    lo: int
    hi: int
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class QueueDecl:
    name: str
    kind: str  # "fifo" or "vtime"
    dsq_id: int
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class VarDecl:
    name: str
    type: Type
    init: int
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class TaskVarDecl:
    name: str
    type: Type
    init: int
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class ArrayDecl:
    name: str
    elem: Type
    size: int | None  # None: one slot per CPU (`cpus`), i.e. Program.max_cpus slots
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class MapDecl:
    name: str
    key: Type
    value: Type
    default: int
    capacity: int
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class FnDecl:
    name: str
    params: tuple[tuple[str, Type], ...]
    ret: Type  # VOID when the fn returns nothing
    body: tuple[Stmt, ...]
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class CallbackDecl:
    """`on op(...)`: params carry the author's names with the operation's types."""

    op: str
    params: tuple[tuple[str, Type], ...]
    ret: Type
    body: tuple[Stmt, ...]
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True)
class Imported:
    """A file whose declarations an `import` brought into the program (their spans name it
    in `Span.file`), and the program's own `import` that brought it: generated code shows
    the file's lines, and maps them to that import in the program's own file."""

    file: str
    via: Span
    sha256: str  # of the file's text, for the manifest


@dataclass(frozen=True)
class Program:
    name: str
    description: str
    path: str
    params: tuple[ParamDecl, ...]
    queues: tuple[QueueDecl, ...]
    vars: tuple[VarDecl, ...]
    task_vars: tuple[TaskVarDecl, ...]
    arrays: tuple[ArrayDecl, ...]
    maps: tuple[MapDecl, ...]
    fns: tuple[FnDecl, ...]
    callbacks: tuple[CallbackDecl, ...]
    max_cpus: int
    # Where the scheduler's name is written: generated code for a callback the policy leaves
    # out points here, and so does a diagnostic about the whole policy.
    name_span: Span
    imported: tuple[Imported, ...] = ()

    def imported_via(self, span: Span) -> Span:
        """The position in the program's own file that `span` stands for: itself, or for
        imported code, the `import` that brought it."""
        if not span.file:
            return span
        return next((i.via for i in self.imported if i.file == span.file), self.name_span)

    def callback(self, op: str) -> CallbackDecl | None:
        return next((c for c in self.callbacks if c.op == op), None)

    def param(self, name: str) -> ParamDecl | None:
        return next((p for p in self.params if p.name == name), None)


_SEAL = object()


@dataclass(frozen=True)
class CheckedProgram:
    """A Program every checker pass accepted. Build it only through `schedlang.checker`."""

    program: Program
    # Facts the checker proved, for the generated code's header comment and the manifest:
    # e.g. {"instructions": {"enqueue": 120, ...}, "memory_bytes": 4096}.
    facts: dict[str, object]
    # The text the program was checked from: a backend hashes it into the manifest and shows
    # it in a diagnostic (a bad `--param`) without reading the file again.
    source: SourceFile
    _seal: object = field(repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self._seal is not _SEAL:
            raise TypeError("CheckedProgram is built only by schedlang.checker.check_program")


def seal(program: Program, facts: dict[str, object], source: SourceFile) -> CheckedProgram:
    """The one way to build a CheckedProgram; called by the checker after all passes pass."""
    return CheckedProgram(program, facts, source, _SEAL)


def if_chain(s: If) -> tuple[list[If], tuple[Stmt, ...]]:
    """The links of an `else if` chain starting at `s`, and the final `else` block (empty if
    none). A chain may be far longer than the recursion limit (the parser counts a link as
    no extra depth), so a pass that follows `orelse` walks these in a loop instead."""
    links = [s]
    while len(links[-1].orelse) == 1 and isinstance(links[-1].orelse[0], If):
        links.append(links[-1].orelse[0])
    return links, links[-1].orelse


def walk_stmts(stmts: tuple[Stmt, ...]) -> list[Stmt]:
    """All statements, nested ones included, in source order. Iterative: an `else if` chain
    nests one level per link, and a long one must not exhaust the stack."""
    out: list[Stmt] = []
    todo: list[Stmt] = list(reversed(stmts))
    while todo:
        s = todo.pop()
        out.append(s)
        if isinstance(s, If):
            todo += reversed(s.then + s.orelse)
        elif isinstance(s, ForRange | ForCpus):
            todo += reversed(s.body)
    return out


def stmt_exprs(s: Stmt) -> list[Expr]:
    """The expressions directly inside one statement (not those of nested statements)."""
    match s:
        case Let(value=v) | ExprStmt(expr=v) | Return(value=v):
            return [v] if v is not None else []
        case Assign(target=t, value=v):
            return [t, v]
        case If(cond=c):
            return [c]
        case ForRange(lo=lo, hi=hi):
            return [lo, hi]
        case Insert(task=t, queue=q, on_cpu=on, slice=sl, vtime=vt):
            return [e for e in (t, q, on, sl, vt) if e is not None]
        case Kick(cpu=c):
            return [c]
    return []


def subexprs(e: Expr) -> list[Expr]:
    """e and every expression inside it, parents first (left operand before right). With a
    stack, not recursion, and the children found by the node's exact type: the passes call
    this for every expression they look at, and a `match` on ten class patterns cost ~1 us
    per node (a leaf tried all ten)."""
    out: list[Expr] = []
    todo = [e]
    while todo:
        x = todo.pop()
        out.append(x)
        children = CHILDREN.get(type(x))
        if children is not None:
            todo += children(x)
    return out


# The direct subexpressions of each kind of expression, last first (so a stack pops them in
# order); a kind not here has none. tests/test_ir.py checks this against every Expr class.
CHILDREN: dict[type[Expr], Callable[[Any], Sequence[Expr]]] = {
    TaskField: lambda x: (x.task,),
    TaskVarRef: lambda x: (x.task,),
    PickField: lambda x: (x.pick,),
    Unary: lambda x: (x.operand,),
    Cast: lambda x: (x.expr,),
    ArrayElem: lambda x: (x.index,),
    MapElem: lambda x: (x.key,),
    Builtin: lambda x: x.args[::-1],
    FnCall: lambda x: x.args[::-1],
    Binary: lambda x: (x.right, x.left),
}

"""Lower checked-IR expressions and statements to C syntax (csyntax.py), through tables.

Each IR node class maps to one small function; an unknown node raises (a backend must never
silently drop what it cannot express). Statements carry their span into the C syntax, whose
printer ends each statement's first line with a position marker that `render.py` turns into
the `/* file.sched:LINE */` comment and a `line_map` row, so the mapping from C back to the
policy is recorded at the moment each line is made.

What the IR means beyond its statements (the guards, the counters) is
`backends/semantics.py`; this module says how the C spells it. The helpers, kernel fields
and kfuncs the C calls are all declared by the shared header (templates/schedlang.bpf.h.j2),
so lowering tracks none of them.

Declarations come first in every C block, as a person writes C: a `let` is declared at the
top of its block (with its value when nothing runs before it), a loop variable at the top of
the loop's enclosing block. Where that would change which binding a name means (a `let`
shadowing an outer local that the block used before it, a loop variable whose name the
block uses outside the loop), the declaration stays where it was, in a block of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from schedlang import ir
from schedlang.backends import semantics
from schedlang.backends.bpf import cnames
from schedlang.backends.bpf import csyntax as c
from schedlang.backends.bpf.builtins_c import BUILTIN_C, comm_test
from schedlang.source import Span
from schedlang.types import Type

mark = c.mark


@dataclass(frozen=True)
class Scope:
    """Facts about the function being lowered that change how statements read."""

    op: str | None  # callback op, or None inside an `fn`
    bare_return: c.Stmt  # what `return` with no value becomes
    enq_flags: str  # C expression passed as enq_flags by `insert` ("0" outside enqueue)
    task: str | None = None  # the C name of the callback's task, if it has one
    # Whether generated code runs before the policy's first statement (emit.py's
    # prologues): a `let`'s value is then computed after it, as the policy's order says.
    prologue: bool = False


def _locals(stmts: tuple[ir.Stmt, ...] | list[ir.Stmt]) -> set[str]:
    """The local names statements mention (read, write or bind), nested ones included."""
    out: set[str] = set()
    for s in ir.walk_stmts(tuple(stmts)):
        match s:
            case ir.Let(name=name) | ir.ForRange(var=name) | ir.ForCpus(var=name):
                out.add(name)
        for e in ir.stmt_exprs(s):
            out.update(x.name for x in ir.subexprs(e) if isinstance(x, ir.Local))
    return out


class Lowerer:
    """Turns IR into C for one program."""

    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.queue_index = {q.name: i for i, q in enumerate(program.queues)}
        # locals of the callback being lowered that always hold a CPU the kernel handed out
        # (semantics.kernel_given_cpus): see kernel_cpu()
        self.trusted_cpus: frozenset[str] = frozenset()

        def comment_width(span: Span) -> int:  # of the `/* file.sched:LINE */` render adds
            file = (span.file or program.path).rsplit("/", 1)[-1]
            return len(f" /* {cnames.comment(file)}:{span.line} */")

        self.printer = c.Printer(comment_width)

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> c.Expr:
        handler = _EXPR.get(type(e))
        if handler is None:
            raise NotImplementedError(f"C backend: no lowering for expression {type(e).__name__}")
        return handler(self, e)

    def kernel_cpu(self, task: c.Expr, e: ir.Expr) -> c.Expr:
        """A CPU number about to be handed to the kernel, which ejects the policy for one
        that does not exist: as it is when the kernel gave it out, else through the
        run-time check `sl_checked_cpu` (semantics.checked_cpu)."""
        if semantics.is_kernel_cpu(e, self.trusted_cpus):
            return self.expr(e)
        return c.Call("sl_checked_cpu", (task, self.expr(e)))

    def task_field(self, task: ir.Expr, path: str) -> c.Expr:
        return c.Member(self.expr(task), path, arrow=True)

    def queue_id(self, q: ir.QueueRef) -> c.Expr:
        if q.kind == "local":
            return c.Atom("SCX_DSQ_LOCAL")
        if q.kind == "global":
            return c.Atom("SCX_DSQ_GLOBAL")
        return c.Atom(cnames.queue_const(q.name))

    # ------------------------------------------------------------------ statements
    def body(self, stmts: tuple[ir.Stmt, ...], scope: Scope) -> tuple[list[str], list[str]]:
        """A function body at one tab: (its declaration lines, its statement lines), for the
        caller to put its own declarations and prologue between."""
        block = self.block(stmts, scope, top=True)
        decls = self.printer.block(c.Block(decls=block.decls), 1)
        return decls, self.printer.block(c.Block(stmts=block.stmts), 1)

    def block(self, stmts: tuple[ir.Stmt, ...], scope: Scope, top: bool = False) -> c.Block:
        out = _BlockLowering(self, scope, stmts, top)
        for i, s in enumerate(stmts):
            handler = _STMT.get(type(s))
            if handler is None:
                raise NotImplementedError(
                    f"C backend: no lowering for statement {type(s).__name__}"
                )
            out.at = i
            handler(self, s, out)
        return out.block


class _BlockLowering:
    """One C block being filled: where each declaration may go (see the module docstring)."""

    def __init__(self, lw: Lowerer, scope: Scope, stmts: tuple[ir.Stmt, ...], top: bool) -> None:
        self.lw, self.scope, self.stmts, self.top = lw, scope, stmts, top
        self.block = c.Block()
        self.at = 0  # index in stmts of the statement being lowered
        self.declared: set[str] = set()  # C names declared at the top of this block
        self.loop_vars: dict[str, str] = {}  # of those, loop variables -> their C type
        self.slots: dict[str, str] = {}  # sl_slot pointers declared here -> element C type

    def add(self, s: c.Stmt, span: Span | None = None) -> None:
        self.block.add(s, span)

    def hoistable(self, name: str, outside: list[ir.Stmt]) -> bool:
        """Whether the policy's local `name` may be declared at the top of this block: not
        declared here yet, and not mentioned by `outside`, the statements of this block that
        must keep seeing an outer binding of that name."""
        return cnames.ident(name) not in self.declared and name not in _locals(outside)

    def declare(self, ctype: str, name: str, init: c.Expr | None, span: Span | None) -> None:
        self.declared.add(name)
        self.block.declare(c.Decl(ctype, name, init), span)

    def slot(self, ctype: str) -> str:
        """A pointer local of this block for an element updated in place: `sl_slot`, or
        `sl_slot2`, ... when the block already has one of another type."""
        for name, t in self.slots.items():
            if t == ctype:
                return name
        name = "sl_slot" if not self.slots else f"sl_slot{len(self.slots) + 1}"
        self.slots[name] = ctype
        self.declare(ctype + " *", name, None, None)
        return name


# ---------------------------------------------------------------------- expression table
def _lit(lw: Lowerer, e: ir.Lit) -> c.Expr:
    return c.number(cnames.int_lit(e.value, e.type))


def _str(lw: Lowerer, e: ir.Str) -> c.Expr:
    raise NotImplementedError("C backend: a string is only valid compared with t.comm")


def _local(lw: Lowerer, e: ir.Local) -> c.Expr:
    return c.Atom(cnames.ident(e.name))


def _param(lw: Lowerer, e: ir.ParamRef) -> c.Expr:
    # Every tunable is stored in 8 bytes; narrower types read back through a cast.
    ctype = cnames.c_type(e.type)
    member = c.Member(c.Atom("params"), cnames.ident(e.name))
    return member if ctype in ("u64", "s64") else c.Cast(ctype, member)


def _global(lw: Lowerer, e: ir.GlobalRef) -> c.Expr:
    return c.Member(c.Atom("vars"), cnames.ident(e.name))


def _nr_cpus(lw: Lowerer, e: ir.NrCpus) -> c.Expr:
    return c.Call("sl_nr_cpus")


# Task fields: the kernel member each reads (see ir.TASK_FIELDS).
_TASK_MEMBER = {
    "pid": "pid",
    "tgid": "tgid",
    "weight": "scx.weight",
    "vtime": "scx.dsq_vtime",
    "slice": "scx.slice",
    "nr_cpus_allowed": "nr_cpus_allowed",
}


# Members the kernel declares with another type than the language's, read through a cast to
# the language's: signed ones (pid_t, int) typed unsigned, or `t.pid % 8` would be a signed
# remainder (which BPF v3 cannot even do); `scx.weight`, a u32 typed u64, or `t.weight << 51`
# would shift 32 bits by 51, which C leaves undefined and clang compiled into a program that
# falls off its end (fuzz seed 49: "last insn is not an exit or jmp").
_CAST_READ = frozenset({"pid", "tgid", "nr_cpus_allowed", "weight"})


def _task_field(lw: Lowerer, e: ir.TaskField) -> c.Expr:
    if e.field in _CAST_READ:
        return c.Cast(cnames.c_type(e.type), lw.task_field(e.task, _TASK_MEMBER[e.field]))
    if e.field in _TASK_MEMBER:
        return lw.task_field(e.task, _TASK_MEMBER[e.field])
    if e.field == "cpu":
        return c.Call("scx_bpf_task_cpu", (lw.expr(e.task),))
    if e.field == "is_kthread":
        flags = c.Binary("&", lw.task_field(e.task, "flags"), c.Atom("PF_KTHREAD"))
        return c.Binary("!=", flags, c.Atom("0"))
    raise NotImplementedError(
        f"C backend: task field {e.field} is only valid compared with a string"
    )


def _task_var(lw: Lowerer, e: ir.TaskVarRef) -> c.Expr:
    ctx = c.Call("task_ctx", (lw.expr(e.task),))
    return c.Member(ctx, cnames.ident(e.name), arrow=True)


def _array_elem(lw: Lowerer, e: ir.ArrayElem) -> c.Expr:
    return c.Unary("*", c.Call(cnames.derived(e.array, "at"), (lw.expr(e.index),)))


def _map_elem(lw: Lowerer, e: ir.MapElem) -> c.Expr:
    return c.Call(cnames.derived(e.map, "get"), (lw.expr(e.key),))


def _pick_field(lw: Lowerer, e: ir.PickField) -> c.Expr:
    return c.Member(lw.expr(e.pick), e.field)


def _queue(lw: Lowerer, e: ir.QueueRef) -> c.Expr:
    return lw.queue_id(e)


def _builtin(lw: Lowerer, e: ir.Builtin) -> c.Expr:
    lowering = BUILTIN_C.get(e.name)
    if lowering is None:
        raise NotImplementedError(f"C backend: no lowering for built-in {e.name}()")
    return lowering(lw, e)


def _fn_call(lw: Lowerer, e: ir.FnCall) -> c.Expr:
    return c.Call(cnames.derived(e.name, "fn"), tuple(lw.expr(a) for a in e.args))


def _unary(lw: Lowerer, e: ir.Unary) -> c.Expr:
    return c.Unary({"neg": "-", "not": "!"}[e.op], lw.expr(e.operand))


def _comm_compare(lw: Lowerer, e: ir.Binary) -> c.Expr:
    """`t.comm == "ld"`: an unrolled byte compare (the verifier needs no loop, no string map)."""
    field_, text = (e.left, e.right) if isinstance(e.left, ir.TaskField) else (e.right, e.left)
    assert isinstance(field_, ir.TaskField) and isinstance(text, ir.Str)
    test = comm_test(lw, field_.task, text.value, whole=True)
    return test if e.op == "==" else c.Unary("!", test)


_C_OP = {"and": "&&", "or": "||"}


def _binary(lw: Lowerer, e: ir.Binary) -> c.Expr:
    if Type.COMM in (e.left.type, e.right.type) or Type.STR in (e.left.type, e.right.type):
        return _comm_compare(lw, e)
    a = lw.expr(e.left)
    if e.op in ("<<", ">>") and isinstance(e.left, ir.Lit):
        # a shift has the type of its left side: `1 << n` would shift an int, not a u64
        a = c.Cast(cnames.c_type(e.type), a)
    return _operator(lw, e.op, e.type, a, lw.expr(e.right))


def _operator(lw: Lowerer, op: str, t: Type, a: c.Expr, b: c.Expr) -> c.Expr:
    """`a op b` in C, for operands already lowered, with a result of type t."""
    if op == "sat-":
        return c.Call("sl_sat_sub", (a, b))
    if op in ("/", "%") and cnames.is_signed(t):
        # BPF before ISA v4 has no signed division: do it on magnitudes. The helpers work
        # in 64 bits; an i32 result is narrowed so `MIN / -1` wraps as it does in 32 bits.
        helper = "sl_sdiv" if op == "/" else "sl_smod"
        call = c.Call(helper, (a, b))
        return c.Cast("s32", call) if t is Type.I32 else call
    return c.Binary(_C_OP.get(op, op), a, b)


def _cast(lw: Lowerer, e: ir.Cast) -> c.Expr:
    return c.Cast(cnames.c_type(e.type), lw.expr(e.expr))


_EXPR: dict[type, Callable[..., c.Expr]] = {
    ir.Lit: _lit,
    ir.Str: _str,
    ir.Local: _local,
    ir.ParamRef: _param,
    ir.GlobalRef: _global,
    ir.NrCpus: _nr_cpus,
    ir.TaskField: _task_field,
    ir.TaskVarRef: _task_var,
    ir.ArrayElem: _array_elem,
    ir.MapElem: _map_elem,
    ir.PickField: _pick_field,
    ir.QueueRef: _queue,
    ir.Builtin: _builtin,
    ir.FnCall: _fn_call,
    ir.Unary: _unary,
    ir.Binary: _binary,
    ir.Cast: _cast,
}


# ---------------------------------------------------------------------- statement table
def _let(lw: Lowerer, s: ir.Let, out: _BlockLowering) -> None:
    ctype, name, value = cnames.c_type(s.type), cnames.ident(s.name), lw.expr(s.value)
    if not out.hoistable(s.name, list(out.stmts[: out.at])):
        # it shadows an outer local this block used before it: declared where it binds
        out.declared.add(name)
        out.add(c.Decl(ctype, name, value), s.span)
        return
    if not out.block.stmts and not (out.top and out.scope.prologue):
        out.declare(ctype, name, value, s.span)
    else:
        out.declare(ctype, name, None, None)
        out.add(c.Assign(c.Atom(name), value), s.span)


_SETTER = {"vtime": "sl_set_vtime", "slice": "sl_set_slice"}
# IR operators a C compound assignment computes identically (`x op= y` is `x = x op y`):
# not `sat-` (a helper), and `/`, `%` only where the C operator is the IR's (unsigned).
_COMPOUND = frozenset({"+", "-", "*", "&", "|", "^", "<<", ">>"})


def _assign(lw: Lowerer, s: ir.Assign, out: _BlockLowering) -> None:
    t = s.target
    if isinstance(t, ir.TaskField):
        setter = _SETTER[t.field]
        value = lw.expr(s.value)
        if t.field == "slice":  # semantics.clamp_slice / tick_slice
            clamp = "sl_tick_slice" if out.scope.op == "tick" else "sl_slice"
            value = c.Call(clamp, (value,))
        out.add(c.ExprStmt(c.Call(setter, (lw.expr(t.task), value))), s.span)
        return
    if isinstance(t, ir.MapElem):
        setter = cnames.derived(t.map, "set")
        out.add(c.ExprStmt(c.Call(setter, (lw.expr(t.key), lw.expr(s.value)))), s.span)
        return
    if not isinstance(t, ir.Local | ir.GlobalRef | ir.TaskVarRef | ir.ArrayElem):
        raise NotImplementedError(f"C backend: cannot assign to {type(t).__name__}")
    v = s.value
    update = semantics.in_place_update(s)
    if update is None and isinstance(t, ir.Local | ir.GlobalRef):
        update = v if isinstance(v, ir.Binary) and v.left == t else None
    if update is not None:
        # `x = x op y`, a compound assignment the checker expanded: the place computed once
        op = update.op
        if op in _COMPOUND or (op in ("/", "%") and not cnames.is_signed(update.type)):
            out.add(c.Assign(lw.expr(t), lw.expr(update.right), op + "="), s.span)
            return
        if isinstance(t, ir.ArrayElem | ir.TaskVarRef):  # an operator C has no `op=` for
            place = lw.expr(t)
            pointer = place.operand if isinstance(place, c.Unary) else c.Unary("&", place)
            slot = out.slot(cnames.c_type(t.type))
            out.add(c.Assign(c.Atom(slot), pointer), s.span)
            deref = c.Unary("*", c.Atom(slot))
            out.add(c.Assign(deref, _operator(lw, op, update.type, deref, lw.expr(update.right))))
            return
    out.add(c.Assign(lw.expr(t), lw.expr(v)), s.span)


def _if(lw: Lowerer, s: ir.If, out: _BlockLowering) -> None:
    (first, *rest), orelse = ir.if_chain(s)
    arms = tuple(
        (lw.expr(link.cond), lw.block(link.then, out.scope), link.span) for link in [first, *rest]
    )
    out.add(c.If(arms, lw.block(orelse, out.scope) if orelse else None))


def _loop(
    lw: Lowerer, out: _BlockLowering, var: str, ctype: str, head: c.Call, body: c.Block, span: Span
) -> None:
    """A loop whose variable is declared at the top of the enclosing block (once for every
    loop of the block with that variable and type), unless the block mentions that name
    outside those loops: then in a block of its own, as C's `for (T v ...)` scopes it."""
    name = cnames.ident(var)
    sharing = [
        i
        for i, x in enumerate(out.stmts)
        if isinstance(x, ir.ForRange | ir.ForCpus) and x.var == var and _loop_type(x) == ctype
    ]
    others = [x for i, x in enumerate(out.stmts) if i not in sharing]
    if out.loop_vars.get(name) == ctype or out.hoistable(var, others):
        if name not in out.loop_vars:
            out.loop_vars[name] = ctype
            out.declare(ctype, name, None, None)
        out.add(c.Loop(head, body), span)
        return
    inner = c.Block(decls=[(c.Decl(ctype, name), None)])
    inner.add(c.Loop(head, body), span)
    out.add(c.Compound(inner))


def _loop_type(s: ir.ForRange | ir.ForCpus) -> str:
    return cnames.c_type(s.var_type) if isinstance(s, ir.ForRange) else "s32"


def _for_range(lw: Lowerer, s: ir.ForRange, out: _BlockLowering) -> None:
    v = c.Atom(cnames.ident(s.var))
    head = c.Call("sl_for", (v, lw.expr(s.lo), lw.expr(s.hi)))
    _loop(lw, out, s.var, _loop_type(s), head, lw.block(s.body, out.scope), s.span)


def _for_cpus(lw: Lowerer, s: ir.ForCpus, out: _BlockLowering) -> None:
    # The constant bound is what the verifier needs; the run-time CPU count ends it early.
    v = c.Atom(cnames.ident(s.var))
    body = lw.block(s.body, out.scope)
    end = c.Binary(">=", v, c.Cast("s32", c.Call("sl_nr_cpus")))
    stop = c.Block()
    stop.add(c.Jump("break"))
    body.stmts.insert(0, (c.If(((end, stop, None),)), None))
    head = c.Call("sl_for", (v, c.Atom("0"), c.Atom("MAX_CPUS")))
    _loop(lw, out, s.var, _loop_type(s), head, body, s.span)


def _return(lw: Lowerer, s: ir.Return, out: _BlockLowering) -> None:
    scope = out.scope
    if s.value is None:
        out.add(scope.bare_return, s.span)
    elif scope.op == "select_cpu" and scope.task is not None:
        out.add(c.Return(lw.kernel_cpu(c.Atom(scope.task), s.value)), s.span)
    else:
        out.add(c.Return(lw.expr(s.value)), s.span)


def _count(field: c.Expr) -> c.Stmt:
    """`sl_count(field)`: one more in a field of the stats (the header's macro)."""
    return c.ExprStmt(c.Call("sl_count", (field,)))


def _insert(lw: Lowerer, s: ir.Insert, out: _BlockLowering) -> None:
    task = lw.expr(s.task)
    dsq = lw.queue_id(s.queue)
    if s.on_cpu is not None:
        dsq = c.Call("sl_local_on", (task, lw.expr(s.on_cpu)))
    slice_: c.Expr = c.Atom("SCX_SLICE_DFL")
    if s.slice is not None:
        slice_ = c.Call("sl_slice", (lw.expr(s.slice),))
    flags = c.Atom(out.scope.enq_flags)
    if s.vtime is not None:
        call = c.Call("sl_insert_vtime", (task, dsq, slice_, lw.expr(s.vtime), flags))
    else:
        call = c.Call("sl_insert", (task, dsq, slice_, flags))
    out.add(c.ExprStmt(call), s.span)
    # the counters of semantics.stats_fields
    if s.queue.kind == "local" and out.scope.op == "select_cpu":
        out.add(_count(c.Atom(semantics.NR_DIRECT)))
    if s.queue.name in lw.queue_index and s.queue.kind in ("fifo", "vtime"):
        slot = c.Atom(cnames.queue_slot(s.queue.name))
        out.add(_count(c.Index(c.Atom(semantics.QUEUE_INSERTS), slot)))


_KICK_FLAGS = {None: "0", "preempt": "SCX_KICK_PREEMPT", "idle": "SCX_KICK_IDLE"}


def _kick(lw: Lowerer, s: ir.Kick, out: _BlockLowering) -> None:
    call = c.Call("sl_kick", (lw.expr(s.cpu), c.Atom(_KICK_FLAGS[s.mode])))
    out.add(c.ExprStmt(call), s.span)


def _expr_stmt(lw: Lowerer, s: ir.ExprStmt, out: _BlockLowering) -> None:
    out.add(c.ExprStmt(lw.expr(s.expr)), s.span)


_STMT: dict[type, Callable[..., None]] = {
    ir.Let: _let,
    ir.Assign: _assign,
    ir.If: _if,
    ir.ForRange: _for_range,
    ir.ForCpus: _for_cpus,
    ir.Return: _return,
    ir.Insert: _insert,
    ir.Kick: _kick,
    ir.ExprStmt: _expr_stmt,
}

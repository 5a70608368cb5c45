"""Lower checked-IR expressions and statements to C text, through dispatch tables.

Each IR node class maps to one small function; an unknown node raises (a backend must never
silently drop what it cannot express). Statement lines end with a position marker that
`render.py` turns into the `/* file.sched:LINE */` comment and a `line_map` row, so the
mapping from C back to the policy is recorded at the moment each line is made.

What the lowering needs beyond text — which helpers, kernel fields and kfuncs the C must
declare — is collected in `Needs`, so the prelude holds only what the policy uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from schedlang import ir
from schedlang.backends import semantics
from schedlang.backends.bpf import cnames
from schedlang.backends.bpf.builtins_c import BUILTIN_C
from schedlang.source import Span
from schedlang.types import Type

MARK = "/*@@{line}:{col}@@*/"


def mark(span: Span) -> str:
    return MARK.format(line=span.line, col=span.col)


@dataclass
class Needs:
    """What the generated prelude must provide for the code lowered so far."""

    helpers: set[str] = field(default_factory=set)  # names of helper blocks (see helpers.py)
    task_fields: set[str] = field(default_factory=set)  # e.g. "scx.dsq_vtime", "comm"
    kfuncs: set[str] = field(default_factory=set)  # kernel names called directly


@dataclass(frozen=True)
class Scope:
    """Facts about the function being lowered that change how statements read."""

    op: str | None  # callback op, or None inside an `fn`
    bare_return: str  # what `return` with no value becomes ("return;" or "return 0;")
    enq_flags: str  # C expression passed as enq_flags by `insert` ("0" outside enqueue)
    task: str | None = None  # the C name of the callback's task, if it has one


class Lowerer:
    """Turns IR into C for one program; `needs` accumulates across all callbacks."""

    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.needs = Needs()
        self.queue_index = {q.name: i for i, q in enumerate(program.queues)}
        # locals of the callback being lowered that always hold a CPU the kernel handed out
        # (semantics.kernel_given_cpus): see kernel_cpu()
        self.trusted_cpus: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> str:
        handler = _EXPR.get(type(e))
        if handler is None:
            raise NotImplementedError(f"C backend: no lowering for expression {type(e).__name__}")
        return handler(self, e)

    def value(self, e: ir.Expr) -> str:
        """An expression in a position where its outermost parentheses are noise."""
        return _strip_parens(self.expr(e))

    def kernel_cpu(self, task: str, e: ir.Expr) -> str:
        """A CPU number about to be handed to the kernel, which ejects the policy for one
        that does not exist: as it is when the kernel gave it out (`prev`, `t.cpu`,
        `default_cpu(...).cpu`), else through the run-time check `sl_checked_cpu`."""
        if semantics.is_kernel_cpu(e, self.trusted_cpus):
            return self.value(e)
        self.need("sl_checked_cpu")
        return f"sl_checked_cpu({task}, {self.value(e)})"

    def need(self, *helpers: str) -> None:
        self.needs.helpers.update(helpers)

    def task_field(self, task: ir.Expr, path: str) -> str:
        self.needs.task_fields.add(path)
        return f"{self.expr(task)}->{path}"

    def queue_id(self, q: ir.QueueRef) -> str:
        if q.kind == "local":
            return "SCX_DSQ_LOCAL"
        if q.kind == "global":
            return "SCX_DSQ_GLOBAL"
        return cnames.queue_const(q.name)

    # ------------------------------------------------------------------ statements
    def block(self, stmts: tuple[ir.Stmt, ...], scope: Scope, depth: int) -> list[str]:
        out: list[str] = []
        for s in stmts:
            handler = _STMT.get(type(s))
            if handler is None:
                raise NotImplementedError(
                    f"C backend: no lowering for statement {type(s).__name__}"
                )
            out += handler(self, s, scope, depth)
        return out


def _strip_parens(text: str) -> str:
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i != len(text) - 1:
            return text
    return text[1:-1]


def _line(depth: int, text: str, span: Span) -> str:
    return "\t" * depth + text + " " + mark(span)


# ---------------------------------------------------------------------- expression table
def _lit(lw: Lowerer, e: ir.Lit) -> str:
    return cnames.int_lit(e.value, e.type)


def _str(lw: Lowerer, e: ir.Str) -> str:
    raise NotImplementedError("C backend: a string is only valid compared with t.comm")


def _local(lw: Lowerer, e: ir.Local) -> str:
    return cnames.ident(e.name)


def _param(lw: Lowerer, e: ir.ParamRef) -> str:
    # Every tunable is stored in 8 bytes; narrower types read back through a cast.
    ctype = cnames.c_type(e.type)
    field_ = cnames.ident(e.name)
    return f"params.{field_}" if ctype in ("u64", "s64") else f"(({ctype})params.{field_})"


def _global(lw: Lowerer, e: ir.GlobalRef) -> str:
    return f"vars.{cnames.ident(e.name)}"


def _nr_cpus(lw: Lowerer, e: ir.NrCpus) -> str:
    lw.need("sl_nr_cpus")
    return "sl_nr_cpus()"


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


def _task_field(lw: Lowerer, e: ir.TaskField) -> str:
    if e.field in _CAST_READ:
        return f"(({cnames.c_type(e.type)}){lw.task_field(e.task, _TASK_MEMBER[e.field])})"
    if e.field in _TASK_MEMBER:
        return lw.task_field(e.task, _TASK_MEMBER[e.field])
    if e.field == "cpu":
        lw.needs.kfuncs.add("scx_bpf_task_cpu")
        return f"scx_bpf_task_cpu({lw.value(e.task)})"
    if e.field == "is_kthread":
        return f"(({lw.task_field(e.task, 'flags')} & PF_KTHREAD) != 0)"
    raise NotImplementedError(
        f"C backend: task field {e.field} is only valid compared with a string"
    )


def _task_var(lw: Lowerer, e: ir.TaskVarRef) -> str:
    return f"task_ctx({lw.value(e.task)})->{cnames.ident(e.name)}"


def _array_elem(lw: Lowerer, e: ir.ArrayElem) -> str:
    return f"*{cnames.derived(e.array, 'at')}({lw.value(e.index)})"


def _map_elem(lw: Lowerer, e: ir.MapElem) -> str:
    return f"{cnames.derived(e.map, 'get')}({lw.value(e.key)})"


def _pick_field(lw: Lowerer, e: ir.PickField) -> str:
    return f"{lw.expr(e.pick)}.{e.field}"


def _queue(lw: Lowerer, e: ir.QueueRef) -> str:
    return lw.queue_id(e)


def _builtin(lw: Lowerer, e: ir.Builtin) -> str:
    lowering = BUILTIN_C.get(e.name)
    if lowering is None:
        raise NotImplementedError(f"C backend: no lowering for built-in {e.name}()")
    return lowering(lw, e)


def _fn_call(lw: Lowerer, e: ir.FnCall) -> str:
    return f"{cnames.derived(e.name, 'fn')}({', '.join(lw.value(a) for a in e.args)})"


def _unary(lw: Lowerer, e: ir.Unary) -> str:
    op = {"neg": "-", "not": "!"}[e.op]
    operand = lw.expr(e.operand)
    if operand.startswith(("-", "!")):  # `- -72` must not become the decrement `--72`
        operand = f"({operand})"
    return f"({op}{operand})"


def _comm_compare(lw: Lowerer, e: ir.Binary) -> str:
    """`t.comm == "ld"`: an unrolled byte compare (the verifier needs no loop, no string map)."""
    field_, text = (e.left, e.right) if isinstance(e.left, ir.TaskField) else (e.right, e.left)
    assert isinstance(field_, ir.TaskField) and isinstance(text, ir.Str)
    test = comm_test(lw, field_.task, text.value, whole=True)
    return test if e.op == "==" else f"(!{test})"


def comm_test(lw: Lowerer, task: ir.Expr, text: str, *, whole: bool) -> str:
    """Compare a task's comm with `text` (whole string, or as a prefix), byte by byte."""
    data = text.encode("utf-8")
    if whole:
        if len(data) >= 16:  # comm holds at most 15 bytes and a NUL
            return "false"
        data += b"\0"
    data = data[:16]
    if not data:
        return "true"
    comm = lw.task_field(task, "comm")
    tests = [f"{comm}[{i}] == {cnames.char_lit(chr(b))}" for i, b in enumerate(data)]
    return "(" + " && ".join(tests) + ")"


_C_OP = {"and": "&&", "or": "||"}


def _binary(lw: Lowerer, e: ir.Binary) -> str:
    if Type.COMM in (e.left.type, e.right.type) or Type.STR in (e.left.type, e.right.type):
        return _comm_compare(lw, e)
    a, b = lw.expr(e.left), lw.expr(e.right)
    if e.op == "sat-":
        lw.need("sl_sat_sub")
        return f"sl_sat_sub({_strip_parens(a)}, {_strip_parens(b)})"
    if e.op in ("/", "%") and cnames.is_signed(e.type):
        # BPF before ISA v4 has no signed division: do it on magnitudes. The helpers work
        # in 64 bits; an i32 result is narrowed so `MIN / -1` wraps as it does in 32 bits.
        helper = "sl_sdiv" if e.op == "/" else "sl_smod"
        lw.need(helper)
        call = f"{helper}({_strip_parens(a)}, {_strip_parens(b)})"
        return f"((s32){call})" if e.type is Type.I32 else call
    if e.op in ("<<", ">>") and isinstance(e.left, ir.Lit):
        # a shift has the type of its left side: `1 << n` would shift an int, not a u64
        a = f"(({cnames.c_type(e.type)}){a})"
    return f"({a} {_C_OP.get(e.op, e.op)} {b})"


def _cast(lw: Lowerer, e: ir.Cast) -> str:
    return f"(({cnames.c_type(e.type)}){lw.expr(e.expr)})"


_EXPR: dict[type, Callable[..., str]] = {
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
def _let(lw: Lowerer, s: ir.Let, scope: Scope, depth: int) -> list[str]:
    decl = f"{cnames.c_type(s.type)} {cnames.ident(s.name)}"
    if decl.endswith("* " + cnames.ident(s.name)):
        decl = decl.replace("* ", "*")
    return [_line(depth, f"{decl} = {lw.value(s.value)};", s.span)]


_SETTER = {"vtime": "sl_set_vtime", "slice": "sl_set_slice"}


def _assign(lw: Lowerer, s: ir.Assign, scope: Scope, depth: int) -> list[str]:
    t, value = s.target, lw.value(s.value)
    if isinstance(t, ir.TaskField):
        setter = _SETTER[t.field]
        lw.need(setter)
        if t.field == "slice":  # only tick may write 0: a yield at this tick (sl_tick_slice)
            clamp = "sl_tick_slice" if scope.op == "tick" else "sl_slice"
            lw.need(clamp)
            value = f"{clamp}({value})"
        return [_line(depth, f"{setter}({lw.value(t.task)}, {value});", s.span)]
    if isinstance(t, ir.MapElem):
        setter = cnames.derived(t.map, "set")
        return [_line(depth, f"{setter}({lw.value(t.key)}, {value});", s.span)]
    if isinstance(t, ir.Local | ir.GlobalRef | ir.TaskVarRef | ir.ArrayElem):
        return [_line(depth, f"{lw.expr(t)} = {value};", s.span)]
    raise NotImplementedError(f"C backend: cannot assign to {type(t).__name__}")


def _if(lw: Lowerer, s: ir.If, scope: Scope, depth: int) -> list[str]:
    pad = "\t" * depth
    (first, *rest), orelse = ir.if_chain(s)
    out = [_line(depth, f"if ({lw.value(first.cond)}) {{", first.span)]
    out += lw.block(first.then, scope, depth + 1)
    for link in rest:
        out.append(f"{pad}}} else if ({lw.value(link.cond)}) {{ {mark(link.span)}")
        out += lw.block(link.then, scope, depth + 1)
    if orelse:
        out.append(pad + "} else {")
        out += lw.block(orelse, scope, depth + 1)
    out.append(pad + "}")
    return out


def _for_range(lw: Lowerer, s: ir.ForRange, scope: Scope, depth: int) -> list[str]:
    lw.need("sl_for")
    v, pad = cnames.ident(s.var), "\t" * depth
    head = f"sl_for({v}, {lw.value(s.lo)}, {lw.value(s.hi)}) {{"
    return [
        pad + "{",
        f"{pad}\t{cnames.c_type(s.var_type)} {v};",
        "",
        _line(depth + 1, head, s.span),
        *lw.block(s.body, scope, depth + 2),
        pad + "\t}",
        pad + "}",
    ]


def _for_cpus(lw: Lowerer, s: ir.ForCpus, scope: Scope, depth: int) -> list[str]:
    # The constant bound is what the verifier needs; the run-time CPU count ends it early.
    lw.need("sl_for", "sl_nr_cpus")
    v, pad = cnames.ident(s.var), "\t" * depth
    return [
        pad + "{",
        f"{pad}\ts32 {v};",
        "",
        _line(depth + 1, f"sl_for({v}, 0, MAX_CPUS) {{", s.span),
        f"{pad}\t\tif ({v} >= (s32)sl_nr_cpus())",
        f"{pad}\t\t\tbreak;",
        *lw.block(s.body, scope, depth + 2),
        pad + "\t}",
        pad + "}",
    ]


def _return(lw: Lowerer, s: ir.Return, scope: Scope, depth: int) -> list[str]:
    if s.value is None:
        return [_line(depth, scope.bare_return, s.span)]
    if scope.op == "select_cpu" and scope.task is not None:
        return [_line(depth, f"return {lw.kernel_cpu(scope.task, s.value)};", s.span)]
    return [_line(depth, f"return {lw.value(s.value)};", s.span)]


def _insert(lw: Lowerer, s: ir.Insert, scope: Scope, depth: int) -> list[str]:
    task = lw.value(s.task)
    dsq = lw.queue_id(s.queue)
    if s.on_cpu is not None:
        lw.need("sl_local_on")
        dsq = f"sl_local_on({task}, {lw.value(s.on_cpu)})"
    slice_ = "SCX_SLICE_DFL"
    if s.slice is not None:
        lw.need("sl_slice")
        slice_ = f"sl_slice({lw.value(s.slice)})"
    flags = scope.enq_flags
    if s.vtime is not None:
        lw.need("sl_insert_vtime")
        call = f"sl_insert_vtime({task}, {dsq}, {slice_}, {lw.value(s.vtime)}, {flags});"
    else:
        lw.need("sl_insert")
        call = f"sl_insert({task}, {dsq}, {slice_}, {flags});"
    out = [_line(depth, call, s.span)]
    pad = "\t" * depth
    if s.queue.kind == "local" and scope.op == "select_cpu":
        out.append(f"{pad}__sync_fetch_and_add(&stats.nr_direct, 1);")
    if s.queue.name in lw.queue_index and s.queue.kind in ("fifo", "vtime"):
        out.append(
            f"{pad}__sync_fetch_and_add(&stats.queue_inserts[{cnames.queue_slot(s.queue.name)}], 1);"
        )
    return out


_KICK_FLAGS = {None: "0", "preempt": "SCX_KICK_PREEMPT", "idle": "SCX_KICK_IDLE"}


def _kick(lw: Lowerer, s: ir.Kick, scope: Scope, depth: int) -> list[str]:
    lw.need("sl_kick")
    return [_line(depth, f"sl_kick({lw.value(s.cpu)}, {_KICK_FLAGS[s.mode]});", s.span)]


def _expr_stmt(lw: Lowerer, s: ir.ExprStmt, scope: Scope, depth: int) -> list[str]:
    return [_line(depth, f"{lw.value(s.expr)};", s.span)]


_STMT: dict[type, Callable[..., list[str]]] = {
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

"""Checked IR -> Python closures: each expression and statement becomes one small function.

Walking the IR tree at every call would look each node's class up again and again; turning
the tree into nested closures once does that work at compile time (names to frame slots,
operators to the function of their type's width, tunables and literals to constants), so a
call is only Python function calls on plain ints. The semantics of every node are those of
docs/semantics.md; the run-time guards are `state.State`'s methods, which apply the rules of
`backends/semantics.py`.

A closure takes the frame: a list whose slot 0 is the call's `Ctx` and whose other slots
hold the locals of the running callback or fn. Names are resolved to slots here, block by
block, so an inner `let` shadows an outer one only inside its block, as in the C. A
statement returns None, or `(value,)` when a `return` ran (the tuple carries a bare return's
None too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schedlang import arith, ir, sim_abi
from schedlang.backends import semantics as sem
from schedlang.backends.interp.state import State, converter, same, wrapper
from schedlang.types import SIGNED, Type

Frame = list[Any]
Eval = Callable[[Frame], Any]
Exec = Callable[[Frame], "tuple[Any] | None"]

_KIND_DSQ = {"local": sim_abi.DSQ_LOCAL, "global": sim_abi.DSQ_GLOBAL}


@dataclass(slots=True)
class Ctx:
    """What one call of the policy runs with (slot 0 of every frame in the call)."""

    host: sim_abi.Host
    enq_flags: int = 0  # the flags the kernel passed to enqueue (0 in other operations)
    cpu: int = -1  # the dispatching CPU, for move_to_local


@dataclass
class Routine:
    """A compiled callback or fn: the number of frame slots and the body."""

    name: str
    nslots: int
    body: Exec


class _Scope:
    """Local names -> frame slots, one dict per open block."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, int]] = [{}]
        self.nslots = 1  # slot 0 is the Ctx

    def bind(self, name: str) -> int:
        slot = self.nslots
        self.nslots += 1
        self.blocks[-1][name] = slot
        return slot

    def lookup(self, name: str) -> int:
        for block in reversed(self.blocks):
            if name in block:
                return block[name]
        raise KeyError(f"interpreter: local {name!r} is not bound (the checker should say so)")


class Compiler:
    """Compiles the routines of one program against its memory (`state`, which the closures
    hold directly); fns are looked up by name at call time, so an fn may call one defined
    after it."""

    def __init__(self, program: ir.Program, state: State) -> None:
        self.program = program
        self.state = state
        # closures that ignore the frame and always give one value (literals, tunables)
        self.consts: dict[Eval, Any] = {}
        self.fns: dict[str, Routine] = {}
        self.queue_index = {q.name: i for i, q in enumerate(program.queues)}
        self.queue_dsq = {q.name: q.dsq_id for q in program.queues}
        # per routine being compiled
        self.scope = _Scope()
        self.op: str | None = None
        self.task_slot: int | None = None  # the callback's task parameter
        self.trusted: frozenset[str] = frozenset()
        self.ret = Type.VOID

    def compile_all(self) -> dict[str, Routine]:
        for f in self.program.fns:
            self.fns[f.name] = self.routine(f.name, f.params, f.ret, f.body, None, frozenset())
        return {
            cb.op: self.routine(cb.op, cb.params, cb.ret, cb.body, cb.op, sem.kernel_given_cpus(cb))
            for cb in self.program.callbacks
        }

    def routine(
        self,
        name: str,
        params: tuple[tuple[str, Type], ...],
        ret: Type,
        body: tuple[ir.Stmt, ...],
        op: str | None,
        trusted: frozenset[str],
    ) -> Routine:
        self.scope, self.op, self.trusted, self.ret = _Scope(), op, trusted, ret
        slots = [self.scope.bind(p) for p, _ in params]
        self.task_slot = slots[0] if params and params[0][1] is Type.TASK else None
        code = self.block(body)
        return Routine(name, self.scope.nslots, code)

    # ------------------------------------------------------------------ statements
    def block(self, stmts: tuple[ir.Stmt, ...]) -> Exec:
        self.scope.blocks.append({})
        code = tuple(self.stmt(s) for s in stmts)
        self.scope.blocks.pop()
        if len(code) == 1:
            return code[0]

        def run(fr: Frame) -> tuple[Any] | None:
            for s in code:
                r = s(fr)
                if r is not None:
                    return r
            return None

        return run

    def stmt(self, s: ir.Stmt) -> Exec:
        handler = _STMT.get(type(s))
        if handler is None:
            raise NotImplementedError(f"interpreter: no rule for statement {type(s).__name__}")
        return handler(self, s)

    def _let(self, s: ir.Let) -> Exec:
        value = self.converted(s.value, s.type)
        slot = self.scope.bind(s.name)  # after the value: `let x = x + 1` reads the outer x

        def run(fr: Frame) -> None:
            fr[slot] = value(fr)

        return run

    def _assign(self, s: ir.Assign) -> Exec:
        update = sem.in_place_update(s)
        if update is not None:
            return self._update_in_place(s.target, update)
        t, value = s.target, self.converted(s.value, s.target.type)
        st = self.state
        match t:
            case ir.Local(name=name):
                slot = self.scope.lookup(name)

                def local(fr: Frame) -> None:
                    fr[slot] = value(fr)

                return local
            case ir.GlobalRef(name=name):
                vars_ = self.state.vars

                def global_(fr: Frame) -> None:
                    vars_[name] = value(fr)

                return global_
            case ir.TaskField(task=task_e, field="vtime"):
                task = self.expr(task_e)

                def vtime(fr: Frame) -> None:
                    p = task(fr)
                    p.vtime = value(fr)  # a duration: already a u64

                return vtime
            case ir.TaskField(task=task_e, field="slice"):
                task = self.expr(task_e)
                in_tick = self.op == "tick"

                def slice_(fr: Frame) -> None:
                    p = task(fr)
                    v = value(fr)
                    p.slice = st.slice(v, in_tick)

                return slice_
            case ir.TaskVarRef(task=task_e, name=name):
                task = self.expr(task_e)

                def task_var(fr: Frame) -> None:
                    rec = st.task(task(fr).pid)
                    rec[name] = value(fr)

                return task_var
            case ir.ArrayElem(array=array, index=index_e):
                index, slots = self.expr(index_e), st.arrays[array].slots

                def elem(fr: Frame) -> None:
                    at = st.array_slot(array, index(fr))
                    v = value(fr)
                    if at >= 0:
                        slots[at] = v

                return elem
            case ir.MapElem(map=map_, key=key_e):
                key, wk = self.expr(key_e), converter(key_e.type, self._map(map_).key)

                def entry(fr: Frame) -> None:
                    k = wk(key(fr))
                    st.map_set(map_, k, value(fr))

                return entry
        raise NotImplementedError(f"interpreter: cannot assign to {type(t).__name__}")

    def _update_in_place(self, t: ir.Expr, update: ir.Binary) -> Exec:
        """`a[i] = a[i] op e` (a task var likewise), `semantics.in_place_update`: the place
        computed once (one `nr_index_out_of_range` out of range, where a read gives 0 and
        the write goes nowhere), read, `op e` computed on the value read, stored back."""
        st = self.state
        self.scope.blocks.append({})
        held = self.scope.bind(sem.HELD)
        value = self.converted(sem.held_update(update), t.type)
        self.scope.blocks.pop()
        match t:
            case ir.ArrayElem(array=array, index=index_e):
                index, slots = self.expr(index_e), st.arrays[array].slots

                def elem(fr: Frame) -> None:
                    at = st.array_slot(array, index(fr))
                    fr[held] = slots[at] if at >= 0 else 0
                    v = value(fr)
                    if at >= 0:
                        slots[at] = v

                return elem
            case ir.TaskVarRef(task=task_e, name=name):
                task = self.expr(task_e)

                def task_var(fr: Frame) -> None:
                    rec = st.task(task(fr).pid)
                    fr[held] = rec[name]
                    rec[name] = value(fr)

                return task_var
        raise NotImplementedError(f"interpreter: no in-place update of {type(t).__name__}")

    def _if(self, s: ir.If) -> Exec:
        links, orelse = ir.if_chain(s)
        arms = tuple((self.expr(link.cond), self.block(link.then)) for link in links)
        last = self.block(orelse) if orelse else None

        def run(fr: Frame) -> tuple[Any] | None:
            for cond, then in arms:
                if cond(fr):
                    return then(fr)
            return last(fr) if last is not None else None

        return run

    def _for_range(self, s: ir.ForRange) -> Exec:
        lo, hi = self.expr(s.lo), self.expr(s.hi)
        self.scope.blocks.append({})
        slot = self.scope.bind(s.var)
        body = self.block(s.body)
        self.scope.blocks.pop()

        def run(fr: Frame) -> tuple[Any] | None:
            for i in range(lo(fr), hi(fr)):
                fr[slot] = i
                r = body(fr)
                if r is not None:
                    return r
            return None

        return run

    def _for_cpus(self, s: ir.ForCpus) -> Exec:
        max_cpus = self.program.max_cpus
        self.scope.blocks.append({})
        slot = self.scope.bind(s.var)
        body = self.block(s.body)
        self.scope.blocks.pop()

        def run(fr: Frame) -> tuple[Any] | None:
            for c in range(min(fr[0].host.nr_cpus, max_cpus)):
                fr[slot] = c
                r = body(fr)
                if r is not None:
                    return r
            return None

        return run

    def _return(self, s: ir.Return) -> Exec:
        if s.value is None:
            return lambda fr: (None,)
        if self.op == "select_cpu" and self.task_slot is not None:
            slot = self.task_slot
            value = self.kernel_cpu(lambda fr: fr[slot], s.value)
        else:
            value = self.converted(s.value, self.ret)  # as C's `return` converts
        return lambda fr: (value(fr),)

    def _insert(self, s: ir.Insert) -> Exec:
        task = self.expr(s.task)
        on_cpu = self.expr(s.on_cpu) if s.on_cpu is not None else None
        slice_ = self.expr(s.slice) if s.slice is not None else None
        vtime = self.expr(s.vtime) if s.vtime is not None else None
        dsq_id = self.queue_id(s.queue)
        op = self.op or ""  # an fn passes no flags
        direct = s.queue.kind == "local" and self.op == "select_cpu"
        slot = self.queue_index.get(s.queue.name) if s.queue.kind in ("fifo", "vtime") else None
        st = self.state

        def run(fr: Frame) -> None:
            cx: Ctx = fr[0]
            p = task(fr)
            dsq = st.local_on(cx.host, p, on_cpu(fr)) if on_cpu is not None else dsq_id
            sl = st.slice(slice_(fr), False) if slice_ is not None else sem.DEFAULT_SLICE_NS
            vt = vtime(fr) if vtime is not None else None
            if not cx.host.insert(p, dsq, sl, vt, sem.enq_flags(op, cx.enq_flags)):
                st.counters[sem.NR_INSERT_REFUSED] += 1
            if direct:
                st.counters[sem.NR_DIRECT] += 1
            if slot is not None:
                st.queue_inserts[slot] += 1

        return run

    def _kick(self, s: ir.Kick) -> Exec:
        cpu, mode, st = self.expr(s.cpu), s.mode, self.state

        def run(fr: Frame) -> None:
            st.kick(fr[0].host, cpu(fr), mode)

        return run

    def _expr_stmt(self, s: ir.ExprStmt) -> Exec:
        value = self.expr(s.expr)

        def run(fr: Frame) -> None:
            value(fr)

        return run

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> Eval:
        handler = _EXPR.get(type(e))
        if handler is None:
            raise NotImplementedError(f"interpreter: no rule for expression {type(e).__name__}")
        return handler(self, e)

    def converted(self, e: ir.Expr, target: Type) -> Eval:
        """`e` evaluated and stored as a `target` (state.converter)."""
        value, w = self.expr(e), converter(e.type, target)
        if w is same:
            return value
        if value in self.consts:
            return self.const(w(self.consts[value]))
        return lambda fr: w(value(fr))

    def const(self, v: Any) -> Eval:
        """A closure for a value known at compile time, registered as one."""
        f = lambda fr: v  # noqa: E731
        self.consts[f] = v
        return f

    def kernel_cpu(self, task: Eval, e: ir.Expr) -> Eval:
        """A CPU on its way to the kernel: as it is when the kernel handed it out (the
        parameter, `t.cpu`, `default_cpu(...).cpu`, a local only ever holding those), else
        through State.checked_cpu (semantics.is_kernel_cpu decides)."""
        value, st = self.expr(e), self.state
        if sem.is_kernel_cpu(e, self.trusted):
            return value
        return lambda fr: st.checked_cpu(fr[0].host, task(fr), value(fr))

    def queue_id(self, q: ir.QueueRef) -> int:
        return _KIND_DSQ[q.kind] if q.kind in _KIND_DSQ else self.queue_dsq[q.name]

    def _map(self, name: str) -> ir.MapDecl:
        return next(m for m in self.program.maps if m.name == name)

    def _lit(self, e: ir.Lit) -> Eval:
        return self.const(bool(e.value) if e.type is Type.BOOL else e.value)

    def _str(self, e: ir.Str) -> Eval:
        raise NotImplementedError("interpreter: a string is only valid compared with t.comm")

    def _local(self, e: ir.Local) -> Eval:
        slot = self.scope.lookup(e.name)
        return lambda fr: fr[slot]

    def _param(self, e: ir.ParamRef) -> Eval:
        # tunables are read-only once loaded (.rodata): a constant of this compilation
        return self.const(self.state.params[e.name])

    def _global(self, e: ir.GlobalRef) -> Eval:
        name, vars_ = e.name, self.state.vars
        return lambda fr: vars_[name]

    def _nr_cpus(self, e: ir.NrCpus) -> Eval:
        return lambda fr: fr[0].host.nr_cpus

    def _task_field(self, e: ir.TaskField) -> Eval:
        task = self.expr(e.task)
        match e.field:
            case "pid":
                return lambda fr: task(fr).pid & 0xFFFFFFFF
            case "tgid":
                return lambda fr: task(fr).tgid & 0xFFFFFFFF
            case "weight":
                return lambda fr: task(fr).weight
            case "vtime":
                return lambda fr: task(fr).vtime
            case "slice":
                return lambda fr: task(fr).slice
            case "cpu":
                return lambda fr: task(fr).cpu
            case "nr_cpus_allowed":
                return lambda fr: task(fr).nr_cpus_allowed(fr[0].host.nr_cpus)
            case "is_kthread":
                return lambda fr: task(fr).is_kthread
        raise NotImplementedError(f"interpreter: task field {e.field} is only compared")

    def _task_var(self, e: ir.TaskVarRef) -> Eval:
        task, name, st = self.expr(e.task), e.name, self.state
        return lambda fr: st.task(task(fr).pid)[name]

    def _array_elem(self, e: ir.ArrayElem) -> Eval:
        index, name, st = self.expr(e.index), e.array, self.state
        slots = st.arrays[name].slots

        def read(fr: Frame) -> int:
            at = st.array_slot(name, index(fr))
            return slots[at] if at >= 0 else 0

        return read

    def _map_elem(self, e: ir.MapElem) -> Eval:
        key, name = self.expr(e.key), e.map
        wk, default = converter(e.key.type, self._map(name).key), self._map(name).default
        entries = self.state.maps[name].entries

        def read(fr: Frame) -> int:
            return entries.get(wk(key(fr)), default)

        return read

    def _pick_field(self, e: ir.PickField) -> Eval:
        pick = self.expr(e.pick)
        i = 0 if e.field == "cpu" else 1
        return lambda fr: pick(fr)[i]

    def _queue(self, e: ir.QueueRef) -> Eval:
        return self.const(self.queue_id(e))

    def _builtin(self, e: ir.Builtin) -> Eval:
        make = _BUILTINS.get(e.name)
        if make is None:
            raise NotImplementedError(f"interpreter: no rule for built-in {e.name}()")
        return make(self, e)

    def _fn_call(self, e: ir.FnCall) -> Eval:
        decl = next(f for f in self.program.fns if f.name == e.name)
        # each argument converted to its parameter's type, as a C call does
        args = tuple(self.converted(a, t) for a, (_, t) in zip(e.args, decl.params, strict=True))
        fns, name = self.fns, e.name

        def call(fr: Frame) -> Any:
            f = fns[name]
            inner: Frame = [fr[0]] + [None] * (f.nslots - 1)
            for i, a in enumerate(args, 1):
                inner[i] = a(fr)
            r = f.body(inner)
            return r[0] if r is not None else None

        return call

    def _unary(self, e: ir.Unary) -> Eval:
        operand = self.expr(e.operand)
        if e.op == "not":
            return lambda fr: not operand(fr)
        w = wrapper(e.type)
        return lambda fr: w(-operand(fr))

    def _binary(self, e: ir.Binary) -> Eval:
        if Type.COMM in (e.left.type, e.right.type) or Type.STR in (e.left.type, e.right.type):
            return self._comm_compare(e)
        a, b = self.expr(e.left), self.expr(e.right)
        if e.op == "and":
            return lambda fr: bool(a(fr)) and bool(b(fr))
        if e.op == "or":
            return lambda fr: bool(a(fr)) or bool(b(fr))
        f = _binary_op(e.op, e.type, a, b)
        if a in self.consts and b in self.consts:  # e.g. a tunable times a literal
            return self.const(f([]))  # a constant operand reads no frame slot
        if b in self.consts:
            return _with_constant(e.op, e.type, a, self.consts[b]) or f
        return f

    def _comm_compare(self, e: ir.Binary) -> Eval:
        field_, text = (e.left, e.right) if isinstance(e.left, ir.TaskField) else (e.right, e.left)
        assert isinstance(field_, ir.TaskField) and isinstance(text, ir.Str)
        test = comm_test(self.expr(field_.task), text.value, whole=True)
        return test if e.op == "==" else (lambda fr: not test(fr))

    def _cast(self, e: ir.Cast) -> Eval:
        return self.converted(e.expr, e.type)


def comm_test(task: Eval, text: str, *, whole: bool) -> Eval:
    """`t.comm == "x"` (whole) or `startswith(t.comm, "x")` (semantics.comm_*)."""
    rule = sem.comm_equals if whole else sem.comm_startswith
    return lambda fr: rule(sem.comm_buffer(task(fr).comm), text)


def _binary_op(op: str, t: Type, a: Eval, b: Eval) -> Eval:
    """An operator on two values (both sides already evaluated left to right): arithmetic
    at the result type's width (docs/semantics.md, "Arithmetic"), comparisons exact."""
    w = wrapper(t)
    signed = t in SIGNED
    match op:
        case "+":
            return lambda fr: w(a(fr) + b(fr))
        case "-":
            return lambda fr: w(a(fr) - b(fr))
        case "sat-":
            return lambda fr: max(0, a(fr) - b(fr))
        case "*":
            return lambda fr: w(a(fr) * b(fr))
        case "/":
            return lambda fr: _div(a(fr), b(fr), signed, w)
        case "%":
            return lambda fr: _mod(a(fr), b(fr), signed, w)
        case "&":
            return lambda fr: w(a(fr) & b(fr))
        case "|":
            return lambda fr: w(a(fr) | b(fr))
        case "^":
            return lambda fr: w(a(fr) ^ b(fr))
        case "<<":
            return lambda fr: w(a(fr) << arith.shift_amount(b(fr), t))
        case ">>":
            return lambda fr: w(a(fr) >> arith.shift_amount(b(fr), t))
        case "==":
            return lambda fr: a(fr) == b(fr)
        case "!=":
            return lambda fr: a(fr) != b(fr)
        case "<":
            return lambda fr: a(fr) < b(fr)
        case "<=":
            return lambda fr: a(fr) <= b(fr)
        case ">":
            return lambda fr: a(fr) > b(fr)
        case ">=":
            return lambda fr: a(fr) >= b(fr)
    raise NotImplementedError(f"interpreter: no rule for operator {op!r}")


def _with_constant(op: str, t: Type, a: Eval, c: int) -> Eval | None:
    """The commonest operators with a constant right side (`x + 1`, `n > 0`, `d * 100`)
    without calling for that side; None for the others (the general closure does)."""
    w = wrapper(t)
    match op:
        case "+":
            return lambda fr: w(a(fr) + c)
        case "*":
            return lambda fr: w(a(fr) * c)
        case "sat-":
            return lambda fr: max(0, a(fr) - c)
        case "==":
            return lambda fr: a(fr) == c
        case "!=":
            return lambda fr: a(fr) != c
        case "<":
            return lambda fr: a(fr) < c
        case ">":
            return lambda fr: a(fr) > c
    return None


def _div(x: int, y: int, signed: bool, w: Callable[[int], int]) -> int:
    """`/` as BPF executes it: by zero gives 0 (the checker proves that never happens)."""
    if y == 0:
        return 0
    return w(arith.quotient(x, y)) if signed else x // y


def _mod(x: int, y: int, signed: bool, w: Callable[[int], int]) -> int:
    """`%` as BPF executes it: by zero gives the dividend (never happens, as for `/`)."""
    if y == 0:
        return x
    return w(arith.remainder(x, y)) if signed else x % y


# ---------------------------------------------------------------------- built-ins
def _now(c: Compiler, e: ir.Builtin) -> Eval:
    return lambda fr: fr[0].host.now()


def _default_cpu(c: Compiler, e: ir.Builtin) -> Eval:
    task_e, prev_e, flags_e = e.args
    # The C reads the task argument once more for the CPU check: a task is only ever a
    # parameter (the checker sees to that), so reading it twice has no effect of its own.
    task = c.expr(task_e)
    prev = c.kernel_cpu(task, prev_e)
    flags = c.expr(flags_e)

    def pick(fr: Frame) -> tuple[int, bool]:
        p = task(fr)
        return fr[0].host.default_cpu(p, prev(fr), flags(fr))

    return pick


def _move_to_local(c: Compiler, e: ir.Builtin) -> Eval:
    queue, counters = c.expr(e.args[0]), c.state.counters

    def move(fr: Frame) -> bool:
        cx: Ctx = fr[0]
        if not cx.host.move_to_local(queue(fr), cx.cpu):
            return False
        counters[sem.NR_DISPATCHED] += 1
        return True

    return move


def _queued(c: Compiler, e: ir.Builtin) -> Eval:
    queue = c.expr(e.args[0])
    return lambda fr: sem.queued(fr[0].host.queued(queue(fr)))


def _allowed(c: Compiler, e: ir.Builtin) -> Eval:
    task, cpu = (c.expr(a) for a in e.args)
    st = c.state

    def test(fr: Frame) -> bool:
        p = task(fr)
        return st.allowed(fr[0].host, p, cpu(fr))

    return test


def _min(c: Compiler, e: ir.Builtin) -> Eval:
    args = tuple(c.expr(a) for a in e.args)
    if len(args) == 2:
        a, b = args
        return lambda fr: min(a(fr), b(fr))
    return lambda fr: min([a(fr) for a in args])


def _max(c: Compiler, e: ir.Builtin) -> Eval:
    args = tuple(c.expr(a) for a in e.args)
    if len(args) == 2:
        a, b = args
        return lambda fr: max(a(fr), b(fr))
    return lambda fr: max([a(fr) for a in args])


def _clamp(c: Compiler, e: ir.Builtin) -> Eval:
    x, lo, hi = (c.expr(a) for a in e.args)
    return lambda fr: sem.clamp(x(fr), lo(fr), hi(fr))


def _abs(c: Compiler, e: ir.Builtin) -> Eval:
    x, t = c.expr(e.args[0]), e.type
    return lambda fr: sem.abs_(x(fr), t)


def _startswith(c: Compiler, e: ir.Builtin) -> Eval:
    field_, prefix = e.args
    if not (isinstance(field_, ir.TaskField) and isinstance(prefix, ir.Str)):
        raise NotImplementedError("interpreter: startswith() takes t.comm and a string literal")
    return comm_test(c.expr(field_.task), prefix.value, whole=False)


_BUILTINS: dict[str, Callable[[Compiler, ir.Builtin], Eval]] = {
    "now": _now,
    "default_cpu": _default_cpu,
    "move_to_local": _move_to_local,
    "queued": _queued,
    "allowed": _allowed,
    "min": _min,
    "max": _max,
    "clamp": _clamp,
    "abs": _abs,
    "startswith": _startswith,
}

_EXPR: dict[type, Callable[..., Eval]] = {
    ir.Lit: Compiler._lit,
    ir.Str: Compiler._str,
    ir.Local: Compiler._local,
    ir.ParamRef: Compiler._param,
    ir.GlobalRef: Compiler._global,
    ir.NrCpus: Compiler._nr_cpus,
    ir.TaskField: Compiler._task_field,
    ir.TaskVarRef: Compiler._task_var,
    ir.ArrayElem: Compiler._array_elem,
    ir.MapElem: Compiler._map_elem,
    ir.PickField: Compiler._pick_field,
    ir.QueueRef: Compiler._queue,
    ir.Builtin: Compiler._builtin,
    ir.FnCall: Compiler._fn_call,
    ir.Unary: Compiler._unary,
    ir.Binary: Compiler._binary,
    ir.Cast: Compiler._cast,
}

_STMT: dict[type, Callable[..., Exec]] = {
    ir.Let: Compiler._let,
    ir.Assign: Compiler._assign,
    ir.If: Compiler._if,
    ir.ForRange: Compiler._for_range,
    ir.ForCpus: Compiler._for_cpus,
    ir.Return: Compiler._return,
    ir.Insert: Compiler._insert,
    ir.Kick: Compiler._kick,
    ir.ExprStmt: Compiler._expr_stmt,
}

"""Checked IR → an LLVM module (llvmlite's IR builder): one function per callback and `fn`.

The code computes what docs/semantics.md says (the BPF backend's C, and the interpreter the
tests hold it to):

* a value is held at its type's width (native.py) and an operator computes at the width of
  its result type, each operand widened or narrowed to it by its own signedness, so `+ - *
  <<` wrap there and `sat-` stops at 0; comparisons are exact (a signed with an unsigned
  side compare in 65 bits); `>>` shifts the left side's value, arithmetically if signed;
* `/` and `%` truncate toward zero, `MIN / -1` is `MIN` and `MIN % -1` 0 — without the trap
  x86's `idiv` gives those; a division by zero, which the checker rules out, gives 0 and
  `x % 0` gives `x` (BPF's answers) rather than killing the process;
* a shift amount is taken modulo the width (`arith.shift_amount`; LLVM would make a shift
  past the width poison);
* `and`/`or` short-circuit; operands run left to right, an assignment's target parts before
  its value;
* what runs around the policy's code (the prologues of enqueue/runnable/running/init, the
  dispatch fallback) and the guards (guards.py), counting in the stats where the C does.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir as ll

from schedlang import ir
from schedlang.backends import semantics as sem
from schedlang.backends.llvm import guards
from schedlang.backends.llvm.memory import FIELD_OFFSET, STORAGE_OFFSET, Storage
from schedlang.backends.llvm.native import (
    I1,
    I8,
    I32,
    I64,
    KICK_FLAGS,
    PICK,
    VOID,
    Module,
    bits,
    convert,
    from_slot,
    lltype,
    native_arg,
    signed,
    to_slot,
)
from schedlang.callbacks import CALLBACKS
from schedlang.sim_abi import DSQ_GLOBAL, DSQ_LOCAL, SLICE_DFL_NS
from schedlang.types import Type


def callback_ops(program: ir.Program) -> tuple[str, ...]:
    """The operations compiled: those written, and the ones every policy has
    (`semantics.ALWAYS_OPS`; `exit` is the kernel's business, not the simulator's)."""
    return tuple(op for op in CALLBACKS if op in sem.ALWAYS_OPS or program.callback(op) is not None)


class ModuleGen(Module):
    """Builds the module for one program against one Storage and one set of host calls."""

    def __init__(
        self, program: ir.Program, storage: Storage, host: dict[str, int], timeout_ms: int
    ) -> None:
        super().__init__(program, storage, host, timeout_ms)
        self.queue_index = {q.name: i for i, q in enumerate(program.queues)}
        self.queue_ids = {q.name: q.dsq_id for q in program.queues}
        # declared first: an `fn` may call one defined after it (never itself: the checker)
        self.fns = {
            f.name: self.internal(
                f"fn.{f.name}",
                VOID if f.ret is Type.VOID else lltype(f.ret),
                [lltype(t) for _, t in f.params],
            )
            for f in program.fns
        }

    def build(self) -> ll.Module:
        for f in self.program.fns:
            Routine(self, self.fns[f.name], None, f.params, f.ret).emit(f.body)
        for op in callback_ops(self.program):
            sig = CALLBACKS[op]
            decl = self.program.callback(op)
            names = (
                [n for n, _ in decl.params] if decl else [f"arg{i}" for i in range(len(sig.params))]
            )
            ret = I32 if op == "select_cpu" else VOID
            fn = ll.Function(
                self.module, ll.FunctionType(ret, [native_arg(t) for t in sig.params]), f"on.{op}"
            )
            params = tuple(zip(names, sig.params, strict=True))
            Routine(self, fn, op, params, sig.ret).emit(decl.body if decl else ())
        return self.module


class Routine:
    """One native function: a callback (op set) or an `fn` (op None)."""

    def __init__(
        self,
        gen: ModuleGen,
        fn: ll.Function,
        op: str | None,
        params: tuple[tuple[str, Type], ...],
        ret: Type,
    ) -> None:
        self.gen, self.fn, self.op, self.ret = gen, fn, op, ret
        # Locals live in allocas gathered in the entry block, which then jumps to the body
        # (LLVM promotes them to registers).
        self.allocas = ll.IRBuilder(fn.append_basic_block("entry"))
        self.body = fn.append_basic_block("body")
        self.b = ll.IRBuilder(self.body)
        self.scopes: list[dict[str, tuple[ll.Value, Type]]] = [{}]
        self.task: ll.Value | None = None
        self.enq_flags: ll.Value = ll.Constant(I64, 0)
        self.cpu: ll.Value | None = None  # dispatch's CPU, for move_to_local
        for (name, t), arg in zip(params, fn.args, strict=True):
            if t is Type.TASK:
                self.scopes[0][name] = (arg, t)
                self.task = self.task or arg
                continue
            value = (
                self.b.icmp_unsigned("!=", arg, ll.Constant(I32, 0))
                if op and t is Type.BOOL
                else arg
            )
            self.bind(name, t, value)
        if op == "enqueue":
            self.enq_flags = fn.args[1]
        if op == "dispatch":
            self.cpu = fn.args[0]
        # dispatch of a policy with queues ends in the fallback, whichever way it returns
        self.fallback = (
            fn.append_basic_block("fallback")
            if op == "dispatch" and sem.has_dispatch_fallback(gen.program)
            else None
        )
        decl = gen.program.callback(op) if op else None
        self.trusted = sem.kernel_given_cpus(decl) if decl else frozenset()

    # ------------------------------------------------------------------ locals
    def bind(self, name: str, t: Type, value: ll.Value) -> None:
        slot = self.allocas.alloca(lltype(t), name=name)
        self.b.store(value, slot)
        self.scopes[-1][name] = (slot, t)

    def lookup(self, name: str) -> tuple[ll.Value, Type]:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise KeyError(f"LLVM backend: no local named {name}")

    # ------------------------------------------------------------------ body
    def emit(self, body: tuple[ir.Stmt, ...]) -> None:
        b, g = self.b, self.gen
        if self.op == "enqueue":
            g.stat_add(b, sem.NR_ENQUEUED)
        elif self.op == "runnable":
            b.store(g.host(b, "now"), self.storage_ptr(self.task_ptr(), 0))
        elif self.op == "running":
            self.record_wakeup()
        elif self.op == "init":
            for q in g.program.queues:
                g.host(
                    b,
                    "create_dsq",
                    ll.Constant(I64, q.dsq_id),
                    ll.Constant(I32, int(q.kind == "vtime")),
                )
        self.block(body)
        if not b.block.is_terminated:
            self.leave(None)
        if self.fallback is not None:
            b.position_at_end(self.fallback)
            self.dispatch_fallback()
        self.allocas.branch(self.body)

    def leave(self, value: ll.Value | None) -> None:
        """`return` (or the end of the body)."""
        b = self.b
        if self.fallback is not None:
            b.branch(self.fallback)
        elif value is not None:
            b.ret(value)
        elif self.fn.function_type.return_type is VOID:
            b.ret_void()
        else:  # the checker proved a result on every path: this end is never reached
            b.unreachable()

    def block(self, stmts: tuple[ir.Stmt, ...]) -> None:
        self.scopes.append({})
        for s in stmts:
            if self.b.block.is_terminated:
                break
            handler = _STMT.get(type(s))
            if handler is None:
                raise NotImplementedError(
                    f"LLVM backend: no lowering for statement {type(s).__name__}"
                )
            handler(self, s)
        self.scopes.pop()

    # ------------------------------------------------------------------ task records
    def task_ptr(self, e: ir.Expr | None = None) -> ll.Value:
        if e is not None:
            return self.expr(e)
        assert self.task is not None
        return self.task

    def field_ptr(self, task: ll.Value, name: str) -> ll.Value:
        return self.b.gep(task, [ll.Constant(I64, FIELD_OFFSET[name])], source_etype=I8)

    def storage_ptr(self, task: ll.Value, slot: int) -> ll.Value:
        return self.b.gep(task, [ll.Constant(I64, STORAGE_OFFSET + 8 * slot)], source_etype=I8)

    def record_wakeup(self) -> None:
        """The running prologue: a first run since runnable counts its wait, once."""
        b, g = self.b, self.gen
        slot = self.storage_ptr(self.task_ptr(), 0)
        at = b.load(slot, typ=I64)
        count, done = self.fn.append_basic_block("wakeup"), self.fn.append_basic_block("body")
        b.cbranch(b.icmp_unsigned("!=", at, ll.Constant(I64, 0)), count, done)
        b.position_at_end(count)
        b.store(ll.Constant(I64, 0), slot)
        wait = b.sub(g.host(b, "now"), at)
        bucket: ll.Value = ll.Constant(I64, 0)
        for bound in sem.wakeup_hist_bounds()[:-1]:
            above = b.icmp_unsigned(">", wait, ll.Constant(I64, bound))
            bucket = b.add(bucket, b.zext(above, I64))
        at_slot = b.add(bucket, ll.Constant(I64, g.storage.stat_slot[sem.WAKEUP_HIST]))
        ptr = g.slot_ptr(b, g.storage.stats, at_slot)
        b.store(b.add(b.load(ptr, typ=I64), ll.Constant(I64, 1)), ptr)
        b.branch(done)
        b.position_at_end(done)

    def dispatch_fallback(self) -> None:
        """sl_dispatch_fallback: a CPU that dispatch left without work takes a task from the
        first declared queue, in declaration order, that has one it may run."""
        b, g, fn = self.b, self.gen, self.fn
        assert self.cpu is not None
        give, done = fn.append_basic_block("give"), fn.append_basic_block("done")
        local = g.host(b, "queued", ll.Constant(I64, DSQ_LOCAL))
        first = fn.append_basic_block("take")
        b.cbranch(b.icmp_signed(">", local, ll.Constant(I64, 0)), done, first)
        b.position_at_end(first)
        for q in sem.dispatch_fallback_order(g.program):
            moved = g.host(b, "move_to_local", ll.Constant(I64, q.dsq_id), self.cpu)
            nxt = fn.append_basic_block("next")
            b.cbranch(b.icmp_unsigned("!=", moved, ll.Constant(I32, 0)), give, nxt)
            b.position_at_end(nxt)
        b.branch(done)
        b.position_at_end(give)
        g.stat_add(b, sem.NR_DISPATCH_FALLBACK)
        b.branch(done)
        b.position_at_end(done)
        b.ret_void()

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> ll.Value:
        handler = _EXPR.get(type(e))
        if handler is None:
            raise NotImplementedError(
                f"LLVM backend: no lowering for expression {type(e).__name__}"
            )
        return handler(self, e)

    def typed(self, e: ir.Expr, want: Type) -> ll.Value:
        return convert(self.b, self.expr(e), e.type, want)

    def cpu_arg(self, e: ir.Expr) -> ll.Value:
        """A CPU handed to a guard helper: its `s32` parameter (the low 32 bits)."""
        return convert(self.b, self.expr(e), e.type, Type.CPU)

    def checked_cpu(self, task: ll.Value, e: ir.Expr) -> ll.Value:
        """A CPU on its way to the kernel: as it is when the kernel gave it out
        (`semantics.is_kernel_cpu`), else through `checked_cpu`."""
        if sem.is_kernel_cpu(e, self.trusted):
            return self.cpu_arg(e)
        return self.b.call(guards.helper(self.gen, "checked_cpu"), [task, self.cpu_arg(e)])

    def queue_id(self, q: ir.QueueRef) -> ll.Value:
        if q.kind == "local":
            return ll.Constant(I64, DSQ_LOCAL)
        if q.kind == "global":
            return ll.Constant(I64, DSQ_GLOBAL)
        return ll.Constant(I64, self.gen.queue_ids[q.name])

    def array_slot(self, e: ir.ArrayElem) -> ll.Value:
        """The element's slot, or the scratch slot when the index is outside the array
        (counted); a negative index is a huge one, as in `sl_i` (u64)."""
        b, g = self.b, self.gen
        buf = g.storage.arrays[e.array]
        index = to_slot(b, self.expr(e.index), e.index.type)
        ok = b.icmp_unsigned("<", index, ll.Constant(I64, len(buf)))
        g.stat_add(b, sem.NR_INDEX_OUT_OF_RANGE, b.zext(b.not_(ok), I64))
        scratch = g.const_ptr(b, Storage.address(g.storage.scratch))
        return b.select(ok, g.slot_ptr(b, buf, b.select(ok, index, ll.Constant(I64, 0))), scratch)

    def comm_test(self, task: ir.Expr, text: str, whole: bool) -> ll.Value:
        data = text.encode("utf-8")
        if whole:
            if len(data) >= sem.COMM_LEN:
                return ll.Constant(I1, 0)
            data += b"\0"
        data = data[: sem.COMM_LEN]
        result: ll.Value = ll.Constant(I1, 1)
        ptr = self.task_ptr(task)
        for i, byte in enumerate(data):
            at = self.b.gep(ptr, [ll.Constant(I64, FIELD_OFFSET["comm"] + i)], source_etype=I8)
            same = self.b.icmp_unsigned("==", self.b.load(at, typ=I8), ll.Constant(I8, byte))
            result = self.b.and_(result, same)
        return result

    def short_circuit(self, e: ir.Binary) -> ll.Value:
        b = self.b
        left = self.expr(e.left)
        start = b.block
        rhs, done = self.fn.append_basic_block("rhs"), self.fn.append_basic_block("sc")
        if e.op == "and":
            b.cbranch(left, rhs, done)
        else:
            b.cbranch(left, done, rhs)
        b.position_at_end(rhs)
        right = self.expr(e.right)
        rhs_end = b.block
        b.branch(done)
        b.position_at_end(done)
        phi = b.phi(I1)
        phi.add_incoming(ll.Constant(I1, int(e.op == "or")), start)
        phi.add_incoming(right, rhs_end)
        return phi

    def arith(self, op: str, t: Type, a: ll.Value, c: ll.Value) -> ll.Value:
        """`a op c`, both already at the width of t, computed at that width."""
        b = self.b
        width = lltype(t)
        is_signed = signed(t)
        simple = {"+": b.add, "-": b.sub, "*": b.mul, "&": b.and_, "|": b.or_, "^": b.xor}
        if op in simple:
            return simple[op](a, c)
        if op == "<<":  # the amount modulo the width: arith.shift_amount
            return b.shl(a, b.and_(c, ll.Constant(width, width.width - 1)))
        zero, one = ll.Constant(width, 0), ll.Constant(width, 1)
        by_zero = b.icmp_unsigned("==", c, zero)
        if not is_signed:
            safe = b.select(by_zero, one, c)
            if op == "/":
                return b.select(by_zero, zero, b.udiv(a, safe))
            return b.select(by_zero, a, b.urem(a, safe))
        minus_one = ll.Constant(width, (1 << width.width) - 1)
        by_minus_one = b.icmp_unsigned("==", c, minus_one)
        safe = b.select(b.or_(by_zero, by_minus_one), one, c)
        if op == "/":
            q = b.select(by_minus_one, b.sub(zero, a), b.sdiv(a, safe))
            return b.select(by_zero, zero, q)
        r = b.select(by_minus_one, zero, b.srem(a, safe))
        return b.select(by_zero, a, r)


# ---------------------------------------------------------------------- expression table
def _lit(r: Routine, e: ir.Lit) -> ll.Value:
    ty = lltype(e.type)
    return ll.Constant(ty, e.value & ((1 << ty.width) - 1))


def _str(r: Routine, e: ir.Str) -> ll.Value:
    raise NotImplementedError("LLVM backend: a string is only valid compared with t.comm")


def _local(r: Routine, e: ir.Local) -> ll.Value:
    slot, t = r.lookup(e.name)
    if t is Type.TASK:
        return slot
    return r.b.load(slot, typ=lltype(t))


def _param(r: Routine, e: ir.ParamRef) -> ll.Value:
    g = r.gen
    ptr = g.slot_ptr(r.b, g.storage.params, g.storage.param_slot[e.name])
    return from_slot(r.b, r.b.load(ptr, typ=I64), e.type)


def _global(r: Routine, e: ir.GlobalRef) -> ll.Value:
    g = r.gen
    ptr = g.slot_ptr(r.b, g.storage.vars, g.storage.var_slot[e.name])
    return from_slot(r.b, r.b.load(ptr, typ=I64), e.type)


def _nr_cpus(r: Routine, e: ir.NrCpus) -> ll.Value:
    return convert(r.b, r.gen.nr_cpus(r.b), Type.U32, e.type)


_FIELD_TYPE = {
    "pid": I32,
    "tgid": I32,
    "cpu": I32,
    "nr_cpus_allowed": I32,
    "weight": I64,
    "vtime": I64,
    "slice": I64,
}


def _task_field(r: Routine, e: ir.TaskField) -> ll.Value:
    ptr = r.field_ptr(r.task_ptr(e.task), e.field)
    if e.field == "is_kthread":
        return r.b.icmp_unsigned("!=", r.b.load(ptr, typ=I8), ll.Constant(I8, 0))
    if e.field not in _FIELD_TYPE:
        raise NotImplementedError(
            f"LLVM backend: task field {e.field} is only valid compared with a string"
        )
    return r.b.load(ptr, typ=_FIELD_TYPE[e.field])


def _task_var(r: Routine, e: ir.TaskVarRef) -> ll.Value:
    slot = r.gen.storage.task_var_slot[e.name]
    return from_slot(r.b, r.b.load(r.storage_ptr(r.task_ptr(e.task), slot), typ=I64), e.type)


def _array_elem(r: Routine, e: ir.ArrayElem) -> ll.Value:
    g = r.gen
    r.b.store(ll.Constant(I64, 0), g.const_ptr(r.b, Storage.address(g.storage.scratch)))
    return from_slot(r.b, r.b.load(r.array_slot(e), typ=I64), e.type)


def _map_decl(r: Routine, name: str) -> ir.MapDecl:
    return r.gen.storage.maps[name].decl


def _map_elem(r: Routine, e: ir.MapElem) -> ll.Value:
    decl = _map_decl(r, e.map)
    key = to_slot(r.b, r.typed(e.key, decl.key), decl.key)
    return from_slot(r.b, r.b.call(guards.map_get(r.gen, decl), [key]), e.type)


def _pick_field(r: Routine, e: ir.PickField) -> ll.Value:
    return r.b.extract_value(r.expr(e.pick), 0 if e.field == "cpu" else 1)


def _queue(r: Routine, e: ir.QueueRef) -> ll.Value:
    return r.queue_id(e)


def _fn_call(r: Routine, e: ir.FnCall) -> ll.Value:
    decl = next(f for f in r.gen.program.fns if f.name == e.name)
    args = [r.typed(a, t) for a, (_, t) in zip(e.args, decl.params, strict=True)]
    return r.b.call(r.gen.fns[e.name], args)


def _unary(r: Routine, e: ir.Unary) -> ll.Value:
    v = r.typed(e.operand, e.type)
    if e.op == "not":
        return r.b.not_(v)
    return r.b.sub(ll.Constant(v.type, 0), v)


def _binary(r: Routine, e: ir.Binary) -> ll.Value:
    b = r.b
    if {e.left.type, e.right.type} & {Type.COMM, Type.STR}:
        field_, text = (e.left, e.right) if isinstance(e.left, ir.TaskField) else (e.right, e.left)
        assert isinstance(field_, ir.TaskField) and isinstance(text, ir.Str)
        test = r.comm_test(field_.task, text.value, whole=True)
        return test if e.op == "==" else b.not_(test)
    if e.op in ir.LOGIC_OPS:
        return r.short_circuit(e)
    if e.op in ir.COMPARE_OPS:
        return _compare(r, e)
    if e.op == "sat-":
        a, c = r.typed(e.left, e.type), r.typed(e.right, e.type)
        return b.select(b.icmp_unsigned(">", a, c), b.sub(a, c), ll.Constant(a.type, 0))
    if e.op == ">>":
        # The left side's value shifted (arithmetically if its type is signed), then stored
        # at the result type's width: `arith.binary` on exact values.
        wide = Type.I64 if signed(e.left.type) else Type.U64
        a = r.typed(e.left, wide)
        amount = convert(b, r.typed(e.right, e.type), e.type, Type.U64)
        amount = b.and_(amount, ll.Constant(I64, bits(e.type) - 1))
        shifted = b.ashr(a, amount) if signed(e.left.type) else b.lshr(a, amount)
        return convert(b, shifted, wide, e.type)
    a = r.typed(e.left, e.type)
    c = r.typed(e.right, e.type)  # a shift amount too: arith() takes it modulo the width
    return r.arith(e.op, e.type, a, c)


def _compare(r: Routine, e: ir.Binary) -> ll.Value:
    """A comparison of the two values as numbers: sides of one signedness compare at the
    wider width; a signed with an unsigned side (a `cpu` with a `u32`) compare exactly, in
    65 bits, so -1 stays below 0 as in `arith.binary`."""
    b, lt, rt = r.b, e.left.type, e.right.type
    a, c = r.expr(e.left), r.expr(e.right)
    if a.type is I1:
        return b.icmp_unsigned(e.op, a, c)
    if signed(lt) != signed(rt):
        wide = ll.IntType(65)
        a = b.sext(a, wide) if signed(lt) else b.zext(a, wide)
        c = b.sext(c, wide) if signed(rt) else b.zext(c, wide)
        return b.icmp_signed(e.op, a, c)
    common = Type.I64 if max(bits(lt), bits(rt)) == 64 else Type.I32
    a, c = convert(b, a, lt, common), convert(b, c, rt, common)
    return b.icmp_signed(e.op, a, c) if signed(lt) else b.icmp_unsigned(e.op, a, c)


def _cast(r: Routine, e: ir.Cast) -> ll.Value:
    return r.typed(e.expr, e.type)


def _builtin(r: Routine, e: ir.Builtin) -> ll.Value:
    return BUILTIN_LLVM[e.name](r, e)


def _now(r: Routine, e: ir.Builtin) -> ll.Value:
    return r.gen.host(r.b, "now")


def _default_cpu(r: Routine, e: ir.Builtin) -> ll.Value:
    b = r.b
    task, prev, flags = e.args
    p = r.task_ptr(task)
    prev_v = r.checked_cpu(p, prev)
    flags_v = r.typed(flags, Type.U64)
    idle = r.allocas.alloca(I8, name="idle")
    b.store(ll.Constant(I8, 0), idle)
    cpu = r.gen.host(b, "default_cpu", p, prev_v, flags_v, idle)
    pick = b.insert_value(ll.Constant(PICK, None), cpu, 0)
    return b.insert_value(pick, b.icmp_unsigned("!=", b.load(idle, typ=I8), ll.Constant(I8, 0)), 1)


def _move_to_local(r: Routine, e: ir.Builtin) -> ll.Value:
    b = r.b
    (q,) = e.args
    assert isinstance(q, ir.QueueRef) and r.cpu is not None
    moved = b.icmp_unsigned(
        "!=", r.gen.host(b, "move_to_local", r.queue_id(q), r.cpu), ll.Constant(I32, 0)
    )
    r.gen.stat_add(b, sem.NR_DISPATCHED, b.zext(moved, I64))
    return moved


def _queued(r: Routine, e: ir.Builtin) -> ll.Value:
    (q,) = e.args
    assert isinstance(q, ir.QueueRef)
    return convert(r.b, r.gen.host(r.b, "queued", r.queue_id(q)), Type.U64, e.type)


def _allowed(r: Routine, e: ir.Builtin) -> ll.Value:
    task, cpu = e.args
    return r.b.call(guards.helper(r.gen, "allowed"), [r.task_ptr(task), r.cpu_arg(cpu)])


def _pick(r: Routine, e: ir.Builtin, op: str, values: list[ll.Value]) -> ll.Value:
    b = r.b
    acc = values[0]
    for v in values[1:]:
        less = b.icmp_signed("<", v, acc) if signed(e.type) else b.icmp_unsigned("<", v, acc)
        acc = b.select(less, v, acc) if op == "min" else b.select(less, acc, v)
    return acc


def _min(r: Routine, e: ir.Builtin) -> ll.Value:
    return _pick(r, e, "min", [r.typed(a, e.type) for a in e.args])


def _max(r: Routine, e: ir.Builtin) -> ll.Value:
    return _pick(r, e, "max", [r.typed(a, e.type) for a in e.args])


def _clamp(r: Routine, e: ir.Builtin) -> ll.Value:
    x, lo, hi = (r.typed(a, e.type) for a in e.args)
    return _pick(r, e, "min", [_pick(r, e, "max", [x, lo]), hi])


def _abs(r: Routine, e: ir.Builtin) -> ll.Value:
    b = r.b
    v = r.typed(e.args[0], e.type)
    zero = ll.Constant(v.type, 0)
    return b.select(b.icmp_signed("<", v, zero), b.sub(zero, v), v)


def _startswith(r: Routine, e: ir.Builtin) -> ll.Value:
    field_, prefix = e.args
    assert isinstance(field_, ir.TaskField) and isinstance(prefix, ir.Str)
    return r.comm_test(field_.task, prefix.value, whole=False)


BUILTIN_LLVM: dict[str, Callable[[Routine, ir.Builtin], ll.Value]] = {
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

_EXPR: dict[type, Callable[..., ll.Value]] = {
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
def _let(r: Routine, s: ir.Let) -> None:
    r.bind(s.name, s.type, r.typed(s.value, s.type))


def _assign(r: Routine, s: ir.Assign) -> None:
    """The target's own parts (task, index, key) first, then the value (docs/semantics.md)."""
    b, g, t = r.b, r.gen, s.target
    update = sem.in_place_update(s)
    if update is not None:
        _update_in_place(r, s.target, update)
        return
    match t:
        case ir.Local(name=name):
            slot, _ = r.lookup(name)
            b.store(r.typed(s.value, t.type), slot)
        case ir.GlobalRef(name=name):
            slot = g.slot_ptr(b, g.storage.vars, g.storage.var_slot[name])
            b.store(to_slot(b, r.typed(s.value, t.type), t.type), slot)
        case ir.TaskField(task=task, field="vtime"):
            slot = r.field_ptr(r.task_ptr(task), "vtime")
            b.store(r.typed(s.value, t.type), slot)
        case ir.TaskField(task=task, field="slice"):
            slot = r.field_ptr(r.task_ptr(task), "slice")
            clamp = guards.helper(g, "tick_slice" if r.op == "tick" else "slice")
            b.store(b.call(clamp, [r.typed(s.value, t.type)]), slot)
        case ir.TaskVarRef(task=task, name=name):
            slot = r.storage_ptr(r.task_ptr(task), g.storage.task_var_slot[name])
            b.store(to_slot(b, r.typed(s.value, t.type), t.type), slot)
        case ir.ArrayElem():
            slot = r.array_slot(t)
            b.store(to_slot(b, r.typed(s.value, t.type), t.type), slot)
        case ir.MapElem(map=name, key=key):
            decl = _map_decl(r, name)
            k = to_slot(b, r.typed(key, decl.key), decl.key)
            value = to_slot(b, r.typed(s.value, t.type), t.type)
            b.call(guards.map_set(g, decl), [k, value])
        case _:
            raise NotImplementedError(f"LLVM backend: cannot assign to {type(t).__name__}")


def _update_in_place(r: Routine, t: ir.Expr, update: ir.Binary) -> None:
    """`a[i] = a[i] op e` (a task var likewise), `semantics.in_place_update`: the place
    computed once (one `nr_index_out_of_range` out of range, where the scratch slot reads
    0), read, `op e` computed on the value read, the result stored back."""
    b, g = r.b, r.gen
    if isinstance(t, ir.ArrayElem):
        b.store(ll.Constant(I64, 0), g.const_ptr(b, Storage.address(g.storage.scratch)))
        slot = r.array_slot(t)
    else:
        assert isinstance(t, ir.TaskVarRef)
        slot = r.storage_ptr(r.task_ptr(t.task), g.storage.task_var_slot[t.name])
    r.scopes.append({})
    r.bind(sem.HELD, t.type, from_slot(b, b.load(slot, typ=I64), t.type))
    value = r.typed(sem.held_update(update), t.type)
    r.scopes.pop()
    b.store(to_slot(b, value, t.type), slot)


def _if(r: Routine, s: ir.If) -> None:
    b = r.b
    links, orelse = ir.if_chain(s)
    done = r.fn.append_basic_block("endif")
    reached = False
    for link in links:
        then, other = r.fn.append_basic_block("then"), r.fn.append_basic_block("else")
        b.cbranch(r.expr(link.cond), then, other)
        b.position_at_end(then)
        r.block(link.then)
        if not b.block.is_terminated:
            b.branch(done)
            reached = True
        b.position_at_end(other)
    r.block(orelse)
    if not b.block.is_terminated:
        b.branch(done)
        reached = True
    b.position_at_end(done)
    if not reached:  # every branch returned: nothing follows the `if`
        b.unreachable()


def _loop(
    r: Routine,
    var: str,
    var_type: Type,
    lo: ll.Value,
    hi: ll.Value,
    signed: bool,
    body: tuple[ir.Stmt, ...],
) -> None:
    b = r.b
    r.scopes.append({})
    r.bind(var, var_type, lo)
    slot, _ = r.lookup(var)
    head, loop, done = (r.fn.append_basic_block(n) for n in ("for", "body", "endfor"))
    b.branch(head)
    b.position_at_end(head)
    i = b.load(slot, typ=lo.type)
    more = b.icmp_signed("<", i, hi) if signed else b.icmp_unsigned("<", i, hi)
    b.cbranch(more, loop, done)
    b.position_at_end(loop)
    r.block(body)
    if not b.block.is_terminated:
        b.store(b.add(b.load(slot, typ=lo.type), ll.Constant(lo.type, 1)), slot)
        b.branch(head)
    b.position_at_end(done)
    r.scopes.pop()


def _for_range(r: Routine, s: ir.ForRange) -> None:
    lo, hi = r.typed(s.lo, s.var_type), r.typed(s.hi, s.var_type)
    _loop(r, s.var, s.var_type, lo, hi, signed(s.var_type), s.body)


def _for_cpus(r: Routine, s: ir.ForCpus) -> None:
    b = r.b
    n = r.gen.nr_cpus(b)
    limit = ll.Constant(I32, r.gen.program.max_cpus)
    hi = b.select(b.icmp_signed("<", n, limit), n, limit)
    _loop(r, s.var, Type.CPU, ll.Constant(I32, 0), hi, True, s.body)


def _return(r: Routine, s: ir.Return) -> None:
    if s.value is None:
        r.leave(None)
    elif r.op == "select_cpu":
        r.leave(r.checked_cpu(r.task_ptr(), s.value))
    else:
        r.leave(r.typed(s.value, r.ret))


def _insert(r: Routine, s: ir.Insert) -> None:
    b, g = r.b, r.gen
    task = r.task_ptr(s.task)
    if s.on_cpu is not None:
        dsq = b.call(guards.helper(g, "local_on"), [task, r.cpu_arg(s.on_cpu)])
    else:
        dsq = r.queue_id(s.queue)
    if s.slice is None:
        slice_: ll.Value = ll.Constant(I64, SLICE_DFL_NS)
    else:
        slice_ = b.call(guards.helper(g, "slice"), [r.typed(s.slice, Type.U64)])
    vtime = r.typed(s.vtime, Type.U64) if s.vtime is not None else ll.Constant(I64, 0)
    has_vtime = ll.Constant(I32, int(s.vtime is not None))
    done = g.host(b, "insert", task, dsq, slice_, vtime, has_vtime, r.enq_flags)
    g.stat_add(
        b, sem.NR_INSERT_REFUSED, b.zext(b.icmp_unsigned("==", done, ll.Constant(I32, 0)), I64)
    )
    if s.queue.kind == "local" and r.op == "select_cpu":
        g.stat_add(b, sem.NR_DIRECT)
    if s.queue.name in g.queue_index and s.queue.kind in ("fifo", "vtime"):
        g.stat_add(b, sem.QUEUE_INSERTS, at=g.queue_index[s.queue.name])


def _kick(r: Routine, s: ir.Kick) -> None:
    r.b.call(guards.helper(r.gen, "kick"), [r.cpu_arg(s.cpu), ll.Constant(I64, KICK_FLAGS[s.mode])])


def _expr_stmt(r: Routine, s: ir.ExprStmt) -> None:
    r.expr(s.expr)


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

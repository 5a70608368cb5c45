"""Checked IR → an LLVM module (llvmlite's IR builder): one function per callback and `fn`.

The code computes what the BPF backend's C computes, guards included (the C is the
reference; docs/semantics.md writes the rules down):

* every value is held at its type's width (`bool` i1, `u32`/`i32`/`cpu` i32, the rest i64)
  and every operator computes at the width of its result type, so `+ - * <<` wrap there;
  an operand is widened by its own signedness (`cpu` is a C `s32`, so it sign-extends);
* `sat-` stops at 0 (as `sl_sat_sub`, on operands widened to 64 bits); `/` and `%` truncate
  toward zero and `MIN / -1` is `MIN` (`MIN % -1` is 0), without the trap x86's `idiv` gives
  it; a division by zero — which the checker rules out — gives 0 and `x % 0` gives `x`
  rather than killing the process, as BPF defines them;
* a shift amount is taken modulo the width (BPF's and x86's shift instructions; C leaves a
  shift past the width undefined and LLVM makes it poison); `>>` is arithmetic for signed
  types;
* `and`/`or` short-circuit, and operands are evaluated left to right;
* the guards of the C helpers: array indexes (`nr_index_out_of_range`, scratch slot), map
  writes (`nr_map_full`), computed CPUs (`sl_checked_cpu`, `sl_local_on`, `sl_kick`:
  `nr_bad_cpu`), slices (`sl_slice`: `nr_slice_clamped`), preempting kicks
  (`nr_kick_limited`), the dispatch fallback (`nr_dispatch_fallback`), and the counters
  (`nr_enqueued`, `nr_dispatched`, `nr_direct`, `queue_inserts`, `wakeup_hist`).

State is reached through the `Storage` buffers' addresses; the machine through `HOST_CALLS`,
function pointers to ctypes callbacks whose addresses are compiled in as constants.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir as ll

from schedlang import ir
from schedlang.backends import semantics as sem
from schedlang.backends.llvm.memory import (
    FIELD_OFFSET,
    STORAGE_OFFSET,
    MapTable,
    Storage,
)
from schedlang.callbacks import CALLBACKS
from schedlang.sim_abi import DSQ_GLOBAL, DSQ_LOCAL, DSQ_LOCAL_ON, SLICE_DFL_NS
from schedlang.types import SIGNED, Type

I1, I8, I32, I64 = ll.IntType(1), ll.IntType(8), ll.IntType(32), ll.IntType(64)
PTR = ll.PointerType()
PICK = ll.LiteralStructType([I32, I1])
VOID = ll.VoidType()

# The calls into the machine: name -> (result, arguments), in the kinds "i64", "i32",
# "ptr" and "void" (policy.py maps the same kinds to ctypes). Bools cross as i32.
HOST_CALLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "now": ("i64", ()),
    "default_cpu": ("i32", ("ptr", "i32", "i64", "ptr")),  # task, prev, flags, &idle
    "insert": ("i32", ("ptr", "i64", "i64", "i64", "i32", "i64")),  # ..., vtime, has_vtime, flags
    "move_to_local": ("i32", ("i64", "i32")),  # dsq, the dispatching cpu
    "queued": ("i64", ("i64",)),
    "kick": ("void", ("i32", "i64")),  # cpu, SCX_KICK_* flags
    "cpu_allowed": ("i32", ("ptr", "i32")),
    "create_dsq": ("void", ("i64", "i32")),  # dsq, vtime-ordered
}
_KIND = {"i64": I64, "i32": I32, "ptr": PTR, "void": VOID}

KICK_IDLE, KICK_PREEMPT = 1, 2  # the kernel's SCX_KICK_* flags
KICK_FLAGS = {None: 0, "idle": KICK_IDLE, "preempt": KICK_PREEMPT}
SIGNED_LIKE = SIGNED | {Type.CPU, Type.INT}


def lltype(t: Type) -> ll.Type:
    if t is Type.BOOL:
        return I1
    if t in (Type.U32, Type.I32, Type.CPU):
        return I32
    if t is Type.PICK:
        return PICK
    if t is Type.TASK:
        return PTR
    return I64  # u64, i64, duration, time, integer literals


def bits(t: Type) -> int:
    return lltype(t).width


def native_arg(t: Type) -> ll.Type:
    """A callback argument as the machine passes it (bools as i32)."""
    return I32 if t is Type.BOOL else lltype(t)


def callback_ops(program: ir.Program) -> tuple[str, ...]:
    """The operations compiled: those written, and the ones every policy has
    (`semantics.ALWAYS_OPS`; `exit` is the kernel's business, not the simulator's)."""
    return tuple(op for op in CALLBACKS if op in sem.ALWAYS_OPS or program.callback(op) is not None)


class ModuleGen:
    """Builds the module for one program against one Storage and one set of host calls."""

    def __init__(
        self, program: ir.Program, storage: Storage, host: dict[str, int], timeout_ms: int
    ) -> None:
        self.program = program
        self.storage = storage
        self.module = ll.Module(name=program.name)
        self.host_addr = host
        self.slice_max_ns = sem.slice_max_ns(timeout_ms)
        self.queue_index = {q.name: i for i, q in enumerate(program.queues)}
        self.queue_ids = {q.name: q.dsq_id for q in program.queues}
        self.fns: dict[str, ll.Function] = {}
        self.helpers: dict[str, ll.Function] = {}
        for f in program.fns:
            ret = VOID if f.ret is Type.VOID else lltype(f.ret)
            fn = ll.Function(
                self.module, ll.FunctionType(ret, [lltype(t) for _, t in f.params]), f"fn.{f.name}"
            )
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")
            self.fns[f.name] = fn

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

    # ------------------------------------------------------------------ addresses
    @staticmethod
    def const_ptr(b: ll.IRBuilder, address: int) -> ll.Value:
        return b.inttoptr(ll.Constant(I64, address), PTR)

    def slot_ptr(self, b: ll.IRBuilder, buffer: object, index: ll.Value | int) -> ll.Value:
        base = self.const_ptr(b, Storage.address(buffer))  # type: ignore[arg-type]
        idx = index if isinstance(index, ll.Value) else ll.Constant(I64, index)
        return b.gep(base, [idx], source_etype=I64)

    def stat_add(self, b: ll.IRBuilder, name: str, amount: ll.Value | int = 1, at: int = 0) -> None:
        ptr = self.slot_ptr(b, self.storage.stats, self.storage.stat_slot[name] + at)
        if not isinstance(amount, ll.Value):
            amount = ll.Constant(I64, amount)
        b.store(b.add(b.load(ptr, typ=I64), amount), ptr)

    def host(self, b: ll.IRBuilder, name: str, *args: ll.Value) -> ll.Value:
        ret, kinds = HOST_CALLS[name]
        fty = ll.FunctionType(_KIND[ret], [_KIND[k] for k in kinds])
        fp = b.inttoptr(ll.Constant(I64, self.host_addr[name]), fty.as_pointer())
        return b.call(fp, list(args))

    def nr_cpus(self, b: ll.IRBuilder) -> ll.Value:
        return b.trunc(
            b.load(self.const_ptr(b, Storage.address(self.storage.nr_cpus)), typ=I64), I32
        )

    # ------------------------------------------------------------------ guard helpers
    def helper(self, name: str) -> ll.Function:
        """One of the C backend's guard helpers as an internal function (built once)."""
        if name not in self.helpers:
            build, ret, args = _HELPERS[name]
            fn = ll.Function(self.module, ll.FunctionType(ret, args), f"sl.{name}")
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")
            self.helpers[name] = fn
            b = ll.IRBuilder(fn.append_basic_block("entry"))
            build(self, fn, b)
        return self.helpers[name]

    def _checked_cpu(self, fn: ll.Function, b: ll.IRBuilder) -> None:
        """sl_checked_cpu: a computed CPU that does not exist becomes the task's own."""
        task, cpu = fn.args
        ok = b.and_(
            b.icmp_signed(">=", cpu, ll.Constant(I32, 0)),
            b.icmp_unsigned("<", cpu, self.nr_cpus(b)),
        )
        self.stat_add(b, sem.NR_BAD_CPU, b.zext(b.not_(ok), I64))
        own = b.load(b.gep(task, [ll.Constant(I64, FIELD_OFFSET["cpu"])], source_etype=I8), typ=I32)
        b.ret(b.select(ok, cpu, own))

    def _allowed(self, fn: ll.Function, b: ll.IRBuilder) -> ll.Value:
        """sl_allowed: false for a negative CPU, else the task's affinity."""
        task, cpu = fn.args
        ask, done = fn.append_basic_block("ask"), fn.append_basic_block("no")
        b.cbranch(b.icmp_signed(">=", cpu, ll.Constant(I32, 0)), ask, done)
        b.position_at_end(done)
        b.ret(ll.Constant(I1, 0))
        b.position_at_end(ask)
        b.ret(b.icmp_unsigned("!=", self.host(b, "cpu_allowed", task, cpu), ll.Constant(I32, 0)))

    def _local_on(self, fn: ll.Function, b: ll.IRBuilder) -> None:
        """sl_local_on: CPU c's local queue if c exists and the task may run there, else the
        global queue (counted in nr_bad_cpu)."""
        task, cpu = fn.args
        exists, yes, no = (fn.append_basic_block(n) for n in ("exists", "yes", "no"))
        ok = b.and_(
            b.icmp_signed(">=", cpu, ll.Constant(I32, 0)),
            b.icmp_unsigned("<", cpu, self.nr_cpus(b)),
        )
        b.cbranch(ok, exists, no)
        b.position_at_end(exists)
        b.cbranch(b.call(self.helper("allowed"), [task, cpu]), yes, no)
        b.position_at_end(yes)
        b.ret(b.or_(ll.Constant(I64, DSQ_LOCAL_ON), b.zext(cpu, I64)))
        b.position_at_end(no)
        self.stat_add(b, sem.NR_BAD_CPU)
        b.ret(ll.Constant(I64, DSQ_GLOBAL))

    def _slice(self, fn: ll.Function, b: ll.IRBuilder) -> None:
        """sl_slice: within [100us, timeout / 10], each clamp counted."""
        (s,) = fn.args
        lo, hi = ll.Constant(I64, sem.SLICE_MIN_NS), ll.Constant(I64, self.slice_max_ns)
        low, high = b.icmp_unsigned("<", s, lo), b.icmp_unsigned(">", s, hi)
        self.stat_add(b, sem.NR_SLICE_CLAMPED, b.zext(b.or_(low, high), I64))
        b.ret(b.select(low, lo, b.select(high, hi, s)))

    def _tick_slice(self, fn: ll.Function, b: ll.IRBuilder) -> None:
        """sl_tick_slice: 0 stays 0 (ends the slice at this tick), else sl_slice."""
        (s,) = fn.args
        zero, other = fn.append_basic_block("zero"), fn.append_basic_block("other")
        b.cbranch(b.icmp_unsigned("==", s, ll.Constant(I64, 0)), zero, other)
        b.position_at_end(zero)
        b.ret(s)
        b.position_at_end(other)
        b.ret(b.call(self.helper("slice"), [s]))

    def _kick(self, fn: ll.Function, b: ll.IRBuilder) -> None:
        """sl_kick: skip a CPU that does not exist (nr_bad_cpu); a CPU is preempted at most
        once per KICK_PREEMPT_GAP_NS, later preempting kicks are plain (nr_kick_limited)."""
        cpu, flags = fn.args
        bad, good, preempt, limit, record, send = (
            fn.append_basic_block(n) for n in ("bad", "good", "preempt", "limit", "record", "send")
        )
        ok = b.and_(
            b.icmp_signed(">=", cpu, ll.Constant(I32, 0)),
            b.icmp_unsigned("<", cpu, self.nr_cpus(b)),
        )
        b.cbranch(ok, good, bad)
        b.position_at_end(bad)
        self.stat_add(b, sem.NR_BAD_CPU)
        b.ret_void()
        b.position_at_end(good)
        is_preempt = b.icmp_unsigned(
            "!=", b.and_(flags, ll.Constant(I64, KICK_PREEMPT)), ll.Constant(I64, 0)
        )
        b.cbranch(is_preempt, preempt, send)
        b.position_at_end(preempt)
        last_slot = self.storage.program.max_cpus - 1
        at = b.zext(cpu, I64)
        at = b.select(
            b.icmp_unsigned(">", at, ll.Constant(I64, last_slot)), ll.Constant(I64, last_slot), at
        )
        slot = self.slot_ptr(b, self.storage.kick_preempted_at, at)
        last = b.load(slot, typ=I64)
        now = self.host(b, "now")
        recent = b.and_(
            b.icmp_unsigned("!=", last, ll.Constant(I64, 0)),
            b.icmp_unsigned("<", b.sub(now, last), ll.Constant(I64, sem.KICK_PREEMPT_GAP_NS)),
        )
        b.cbranch(recent, limit, record)
        b.position_at_end(limit)
        self.stat_add(b, sem.NR_KICK_LIMITED)
        plain = b.and_(flags, ll.Constant(I64, ~KICK_PREEMPT & (2**64 - 1)))
        b.branch(send)
        b.position_at_end(record)
        b.store(now, slot)
        b.branch(send)
        b.position_at_end(send)
        sent = b.phi(I64)
        sent.add_incoming(flags, good)
        sent.add_incoming(plain, limit)
        sent.add_incoming(flags, record)
        self.host(b, "kick", cpu, sent)
        b.ret_void()

    def _map_probe(
        self, b: ll.IRBuilder, fn: ll.Function, table: MapTable, key: ll.Value
    ) -> tuple[ll.Value, ll.Value]:
        """Linear probing from the key's hash, to the key or the first free slot: (the slot,
        whether it holds the key)."""
        mask = table.nr_slots - 1
        shift = 64 - (table.nr_slots.bit_length() - 1)
        start = b.lshr(b.mul(key, ll.Constant(I64, 0x9E3779B97F4A7C15)), ll.Constant(I64, shift))
        start = b.and_(start, ll.Constant(I64, mask))
        entry = b.block
        loop, step, out = (fn.append_basic_block(n) for n in ("probe", "step", "found"))
        b.branch(loop)
        b.position_at_end(loop)
        i = b.phi(I64)
        i.add_incoming(start, entry)
        used = b.load(
            b.gep(self.const_ptr(b, Storage.address(table.used)), [i], source_etype=I8), typ=I8
        )
        free = b.icmp_unsigned("==", used, ll.Constant(I8, 0))
        have = b.load(self.slot_ptr(b, table.keys, i), typ=I64)
        hit = b.icmp_unsigned("==", have, key)
        b.cbranch(b.or_(free, hit), out, step)
        b.position_at_end(step)
        nxt = b.and_(b.add(i, ll.Constant(I64, 1)), ll.Constant(I64, mask))
        i.add_incoming(nxt, step)
        b.branch(loop)
        b.position_at_end(out)
        return i, b.not_(free)

    def map_get(self, decl: ir.MapDecl) -> ll.Function:
        name = f"map.get.{decl.name}"
        if name not in self.helpers:
            fn = ll.Function(self.module, ll.FunctionType(I64, [I64]), f"sl.{name}")
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")
            self.helpers[name] = fn
            b = ll.IRBuilder(fn.append_basic_block("entry"))
            table = self.storage.maps[decl.name]
            i, found = self._map_probe(b, fn, table, fn.args[0])
            value = b.load(self.slot_ptr(b, table.values, i), typ=I64)
            b.ret(b.select(found, value, ll.Constant(I64, decl.default & (2**64 - 1))))
        return self.helpers[name]

    def map_set(self, decl: ir.MapDecl) -> ll.Function:
        name = f"map.set.{decl.name}"
        if name not in self.helpers:
            fn = ll.Function(self.module, ll.FunctionType(VOID, [I64, I64]), f"sl.{name}")
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")
            self.helpers[name] = fn
            b = ll.IRBuilder(fn.append_basic_block("entry"))
            table = self.storage.maps[decl.name]
            key, value = fn.args
            i, found = self._map_probe(b, fn, table, key)
            write, new, room, full = (
                fn.append_basic_block(n) for n in ("write", "new", "room", "full")
            )
            b.cbranch(found, write, new)
            b.position_at_end(new)
            count_ptr = self.const_ptr(b, Storage.address(table.count))
            count = b.load(count_ptr, typ=I64)
            b.cbranch(b.icmp_unsigned("<", count, ll.Constant(I64, decl.capacity)), room, full)
            b.position_at_end(full)
            self.stat_add(b, sem.NR_MAP_FULL)
            b.ret_void()
            b.position_at_end(room)
            b.store(b.add(count, ll.Constant(I64, 1)), count_ptr)
            b.store(
                ll.Constant(I8, 1),
                b.gep(self.const_ptr(b, Storage.address(table.used)), [i], source_etype=I8),
            )
            b.store(key, self.slot_ptr(b, table.keys, i))
            b.branch(write)
            b.position_at_end(write)
            b.store(value, self.slot_ptr(b, table.values, i))
            b.ret_void()
        return self.helpers[name]


_HELPERS: dict[
    str, tuple[Callable[[ModuleGen, ll.Function, ll.IRBuilder], object], ll.Type, list[ll.Type]]
] = {
    "checked_cpu": (ModuleGen._checked_cpu, I32, [PTR, I32]),
    "allowed": (ModuleGen._allowed, I1, [PTR, I32]),
    "local_on": (ModuleGen._local_on, I64, [PTR, I32]),
    "slice": (ModuleGen._slice, I64, [I64]),
    "tick_slice": (ModuleGen._tick_slice, I64, [I64]),
    "kick": (ModuleGen._kick, VOID, [I32, I64]),
}


def convert(b: ll.IRBuilder, v: ll.Value, have: Type, want: Type) -> ll.Value:
    """A machine conversion (`as`, and the implicit widenings): narrowing keeps the low
    bits, widening extends by the source's signedness, a bool becomes 0 or 1."""
    src, dst = lltype(have), lltype(want)
    if src == dst or want in (Type.PICK, Type.TASK):
        return v
    if dst is I1:  # only ever bool to bool in checked code; anything else tests non-zero
        return b.icmp_unsigned("!=", v, ll.Constant(src, 0))
    if src.width > dst.width:
        return b.trunc(v, dst)
    return b.sext(v, dst) if have in SIGNED_LIKE else b.zext(v, dst)


def to_slot(b: ll.IRBuilder, v: ll.Value, t: Type) -> ll.Value:
    """A value widened to its 8-byte slot (signed types sign-extend)."""
    return convert(b, v, t, Type.I64) if v.type != I64 else v


def from_slot(b: ll.IRBuilder, v: ll.Value, t: Type) -> ll.Value:
    return convert(b, v, Type.U64, t)


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
        return self.b.call(self.gen.helper("checked_cpu"), [task, self.cpu_arg(e)])

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
        signed = _signed(t)
        simple = {"+": b.add, "-": b.sub, "*": b.mul, "&": b.and_, "|": b.or_, "^": b.xor}
        if op in simple:
            return simple[op](a, c)
        if op == "<<":  # the amount modulo the width: arith.shift_amount
            return b.shl(a, b.and_(c, ll.Constant(width, width.width - 1)))
        zero, one = ll.Constant(width, 0), ll.Constant(width, 1)
        by_zero = b.icmp_unsigned("==", c, zero)
        if not signed:
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


def _signed(t: Type) -> bool:
    return t in SIGNED_LIKE


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
    return from_slot(r.b, r.b.call(r.gen.map_get(decl), [key]), e.type)


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
        wide = Type.I64 if _signed(e.left.type) else Type.U64
        a = r.typed(e.left, wide)
        amount = convert(b, r.typed(e.right, e.type), e.type, Type.U64)
        amount = b.and_(amount, ll.Constant(I64, bits(e.type) - 1))
        shifted = b.ashr(a, amount) if _signed(e.left.type) else b.lshr(a, amount)
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
    if _signed(lt) != _signed(rt):
        wide = ll.IntType(65)
        a = b.sext(a, wide) if _signed(lt) else b.zext(a, wide)
        c = b.sext(c, wide) if _signed(rt) else b.zext(c, wide)
        return b.icmp_signed(e.op, a, c)
    common = Type.I64 if max(bits(lt), bits(rt)) == 64 else Type.I32
    a, c = convert(b, a, lt, common), convert(b, c, rt, common)
    return b.icmp_signed(e.op, a, c) if _signed(lt) else b.icmp_unsigned(e.op, a, c)


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
    return r.b.call(r.gen.helper("allowed"), [r.task_ptr(task), r.cpu_arg(cpu)])


def _pick(r: Routine, e: ir.Builtin, op: str, values: list[ll.Value]) -> ll.Value:
    b = r.b
    acc = values[0]
    for v in values[1:]:
        less = b.icmp_signed("<", v, acc) if _signed(e.type) else b.icmp_unsigned("<", v, acc)
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
            clamp = g.helper("tick_slice" if r.op == "tick" else "slice")
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
            b.call(g.map_set(decl), [k, value])
        case _:
            raise NotImplementedError(f"LLVM backend: cannot assign to {type(t).__name__}")


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
    _loop(r, s.var, s.var_type, lo, hi, _signed(s.var_type), s.body)


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
        dsq = b.call(g.helper("local_on"), [task, r.cpu_arg(s.on_cpu)])
    else:
        dsq = r.queue_id(s.queue)
    if s.slice is None:
        slice_: ll.Value = ll.Constant(I64, SLICE_DFL_NS)
    else:
        slice_ = b.call(g.helper("slice"), [r.typed(s.slice, Type.U64)])
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
    r.b.call(r.gen.helper("kick"), [r.cpu_arg(s.cpu), ll.Constant(I64, KICK_FLAGS[s.mode])])


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

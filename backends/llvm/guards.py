"""The run-time guards of `backends/semantics.py` as LLVM functions, built once per module.

Each is the C backend's helper of the same name (`sl_checked_cpu`, `sl_allowed`,
`sl_local_on`, `sl_slice`, `sl_tick_slice`, `sl_kick`) or map accessor, calling the Host and
counting in the stats exactly where the C does, so a trace of the JIT lines up with the
interpreter's. `helper(m, name)` gives the function; LLVM inlines it (`Module.internal`).
A `map` is a `MapTable` (memory.py): linear probing over its slots.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir as ll

from schedlang import ir
from schedlang.backends import semantics as sem
from schedlang.backends.llvm.memory import FIELD_OFFSET, MapTable, Storage
from schedlang.backends.llvm.native import I1, I8, I32, I64, KICK_PREEMPT, PTR, VOID, Module
from schedlang.sim_abi import DSQ_GLOBAL, DSQ_LOCAL_ON


def helper(m: Module, name: str) -> ll.Function:
    """The guard `name` (a key of `_GUARDS`) in module m."""
    if name not in m.helpers:
        build, ret, args = _GUARDS[name]
        fn = m.helpers[name] = m.internal(f"sl.{name}", ret, args)
        build(m, fn, ll.IRBuilder(fn.append_basic_block("entry")))
    return m.helpers[name]


def _build_checked_cpu(m: Module, fn: ll.Function, b: ll.IRBuilder) -> None:
    """sl_checked_cpu: a computed CPU that does not exist becomes the task's own."""
    task, cpu = fn.args
    ok = b.and_(
        b.icmp_signed(">=", cpu, ll.Constant(I32, 0)),
        b.icmp_unsigned("<", cpu, m.nr_cpus(b)),
    )
    m.stat_add(b, sem.NR_BAD_CPU, b.zext(b.not_(ok), I64))
    own = b.load(b.gep(task, [ll.Constant(I64, FIELD_OFFSET["cpu"])], source_etype=I8), typ=I32)
    b.ret(b.select(ok, cpu, own))


def _build_allowed(m: Module, fn: ll.Function, b: ll.IRBuilder) -> ll.Value:
    """sl_allowed: false for a negative CPU, else the task's affinity."""
    task, cpu = fn.args
    ask, done = fn.append_basic_block("ask"), fn.append_basic_block("no")
    b.cbranch(b.icmp_signed(">=", cpu, ll.Constant(I32, 0)), ask, done)
    b.position_at_end(done)
    b.ret(ll.Constant(I1, 0))
    b.position_at_end(ask)
    b.ret(b.icmp_unsigned("!=", m.host(b, "cpu_allowed", task, cpu), ll.Constant(I32, 0)))


def _build_local_on(m: Module, fn: ll.Function, b: ll.IRBuilder) -> None:
    """sl_local_on: CPU c's local queue if c exists and the task may run there, else the
    global queue (counted in nr_bad_cpu)."""
    task, cpu = fn.args
    exists, yes, no = (fn.append_basic_block(n) for n in ("exists", "yes", "no"))
    ok = b.and_(
        b.icmp_signed(">=", cpu, ll.Constant(I32, 0)),
        b.icmp_unsigned("<", cpu, m.nr_cpus(b)),
    )
    b.cbranch(ok, exists, no)
    b.position_at_end(exists)
    b.cbranch(b.call(helper(m, "allowed"), [task, cpu]), yes, no)
    b.position_at_end(yes)
    b.ret(b.or_(ll.Constant(I64, DSQ_LOCAL_ON), b.zext(cpu, I64)))
    b.position_at_end(no)
    m.stat_add(b, sem.NR_BAD_CPU)
    b.ret(ll.Constant(I64, DSQ_GLOBAL))


def _build_slice(m: Module, fn: ll.Function, b: ll.IRBuilder) -> None:
    """sl_slice: within [100us, timeout / 10], each clamp counted."""
    (s,) = fn.args
    lo, hi = ll.Constant(I64, sem.SLICE_MIN_NS), ll.Constant(I64, m.slice_max_ns)
    low, high = b.icmp_unsigned("<", s, lo), b.icmp_unsigned(">", s, hi)
    m.stat_add(b, sem.NR_SLICE_CLAMPED, b.zext(b.or_(low, high), I64))
    b.ret(b.select(low, lo, b.select(high, hi, s)))


def _build_tick_slice(m: Module, fn: ll.Function, b: ll.IRBuilder) -> None:
    """sl_tick_slice: 0 stays 0 (ends the slice at this tick), else sl_slice."""
    (s,) = fn.args
    zero, other = fn.append_basic_block("zero"), fn.append_basic_block("other")
    b.cbranch(b.icmp_unsigned("==", s, ll.Constant(I64, 0)), zero, other)
    b.position_at_end(zero)
    b.ret(s)
    b.position_at_end(other)
    b.ret(b.call(helper(m, "slice"), [s]))


def _build_kick(m: Module, fn: ll.Function, b: ll.IRBuilder) -> None:
    """sl_kick: skip a CPU that does not exist (nr_bad_cpu); a CPU is preempted at most
    once per KICK_PREEMPT_GAP_NS, later preempting kicks are plain (nr_kick_limited)."""
    cpu, flags = fn.args
    bad, good, preempt, limit, record, send = (
        fn.append_basic_block(n) for n in ("bad", "good", "preempt", "limit", "record", "send")
    )
    ok = b.and_(
        b.icmp_signed(">=", cpu, ll.Constant(I32, 0)),
        b.icmp_unsigned("<", cpu, m.nr_cpus(b)),
    )
    b.cbranch(ok, good, bad)
    b.position_at_end(bad)
    m.stat_add(b, sem.NR_BAD_CPU)
    b.ret_void()
    b.position_at_end(good)
    is_preempt = b.icmp_unsigned(
        "!=", b.and_(flags, ll.Constant(I64, KICK_PREEMPT)), ll.Constant(I64, 0)
    )
    b.cbranch(is_preempt, preempt, send)
    b.position_at_end(preempt)
    last_slot = m.storage.program.max_cpus - 1
    at = b.zext(cpu, I64)
    at = b.select(
        b.icmp_unsigned(">", at, ll.Constant(I64, last_slot)), ll.Constant(I64, last_slot), at
    )
    slot = m.slot_ptr(b, m.storage.kick_preempted_at, at)
    last = b.load(slot, typ=I64)
    now = m.host(b, "now")
    recent = b.and_(
        b.icmp_unsigned("!=", last, ll.Constant(I64, 0)),
        b.icmp_unsigned("<", b.sub(now, last), ll.Constant(I64, sem.KICK_PREEMPT_GAP_NS)),
    )
    b.cbranch(recent, limit, record)
    b.position_at_end(limit)
    m.stat_add(b, sem.NR_KICK_LIMITED)
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
    m.host(b, "kick", cpu, sent)
    b.ret_void()


_GUARDS: dict[
    str, tuple[Callable[[Module, ll.Function, ll.IRBuilder], object], ll.Type, list[ll.Type]]
] = {
    "checked_cpu": (_build_checked_cpu, I32, [PTR, I32]),
    "allowed": (_build_allowed, I1, [PTR, I32]),
    "local_on": (_build_local_on, I64, [PTR, I32]),
    "slice": (_build_slice, I64, [I64]),
    "tick_slice": (_build_tick_slice, I64, [I64]),
    "kick": (_build_kick, VOID, [I32, I64]),
}


# ---------------------------------------------------------------------- maps
def _map_probe(
    m: Module, b: ll.IRBuilder, fn: ll.Function, table: MapTable, key: ll.Value
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
    used = b.load(b.gep(m.const_ptr(b, Storage.address(table.used)), [i], source_etype=I8), typ=I8)
    free = b.icmp_unsigned("==", used, ll.Constant(I8, 0))
    have = b.load(m.slot_ptr(b, table.keys, i), typ=I64)
    hit = b.icmp_unsigned("==", have, key)
    b.cbranch(b.or_(free, hit), out, step)
    b.position_at_end(step)
    nxt = b.and_(b.add(i, ll.Constant(I64, 1)), ll.Constant(I64, mask))
    i.add_incoming(nxt, step)
    b.branch(loop)
    b.position_at_end(out)
    return i, b.not_(free)


def map_get(m: Module, decl: ir.MapDecl) -> ll.Function:
    """`m[k]`: the value, or the map's declared default for a missing key."""
    name = f"map.get.{decl.name}"
    if name not in m.helpers:
        fn = m.helpers[name] = m.internal(f"sl.{name}", I64, [I64])
        b = ll.IRBuilder(fn.append_basic_block("entry"))
        table = m.storage.maps[decl.name]
        i, found = _map_probe(m, b, fn, table, fn.args[0])
        value = b.load(m.slot_ptr(b, table.values, i), typ=I64)
        b.ret(b.select(found, value, ll.Constant(I64, decl.default & (2**64 - 1))))
    return m.helpers[name]


def map_set(m: Module, decl: ir.MapDecl) -> ll.Function:
    """`m[k] = v`: stored unless k is new and the map full (`semantics.map_may_store`,
    counted in nr_map_full)."""
    name = f"map.set.{decl.name}"
    if name not in m.helpers:
        fn = m.helpers[name] = m.internal(f"sl.{name}", VOID, [I64, I64])
        b = ll.IRBuilder(fn.append_basic_block("entry"))
        table = m.storage.maps[decl.name]
        key, value = fn.args
        i, found = _map_probe(m, b, fn, table, key)
        write, new, room, full = (
            fn.append_basic_block(n) for n in ("write", "new", "room", "full")
        )
        b.cbranch(found, write, new)
        b.position_at_end(new)
        count_ptr = m.const_ptr(b, Storage.address(table.count))
        count = b.load(count_ptr, typ=I64)
        b.cbranch(b.icmp_unsigned("<", count, ll.Constant(I64, decl.capacity)), room, full)
        b.position_at_end(full)
        m.stat_add(b, sem.NR_MAP_FULL)
        b.ret_void()
        b.position_at_end(room)
        b.store(b.add(count, ll.Constant(I64, 1)), count_ptr)
        b.store(
            ll.Constant(I8, 1),
            b.gep(m.const_ptr(b, Storage.address(table.used)), [i], source_etype=I8),
        )
        b.store(key, m.slot_ptr(b, table.keys, i))
        b.branch(write)
        b.position_at_end(write)
        b.store(value, m.slot_ptr(b, table.values, i))
        b.ret_void()
    return m.helpers[name]

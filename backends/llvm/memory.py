"""The memory a JIT-compiled policy works on, allocated and owned by Python.

The generated code holds no state of its own: the tunables, `var`s, arrays, maps, stats and
each task's record live in ctypes buffers made here, and the code reaches them through
their addresses, compiled in as constants (so a load is one instruction, and Python reads the
stats and frees a task's storage without asking the native side). Every stored value takes
one 8-byte slot whatever its type — the code narrows on load and widens on store — so one
layout serves every type and a slot never straddles another.

A task's record mirrors `sim_abi.SimTask` in C layout (what the policy reads, plus the two
fields it writes), followed by its task-local storage: the time it last became runnable (for
`wakeup_hist`) and one slot per `task var`. Python copies the SimTask in before a call and
`vtime`/`slice` back after it; the record lives until `task_exit`.
"""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass

from schedlang import arith, ir
from schedlang.backends import semantics as sem
from schedlang.sim_abi import SimTask
from schedlang.types import Type


class TaskHead(ctypes.Structure):
    """The task fields of a record, as the generated code reads them (offsets below)."""

    _fields_ = [
        ("pid", ctypes.c_uint32),
        ("tgid", ctypes.c_uint32),
        ("cpu", ctypes.c_int32),
        ("nr_cpus_allowed", ctypes.c_uint32),
        ("weight", ctypes.c_uint64),
        ("vtime", ctypes.c_uint64),
        ("slice", ctypes.c_uint64),
        ("is_kthread", ctypes.c_uint8),
        ("comm", ctypes.c_char * sem.COMM_LEN),
    ]


# Offset of each task field in a record, and of its task-local storage (8-byte slots:
# slot 0 is runnable_at, slot 1 + i the i-th `task var`).
FIELD_OFFSET: dict[str, int] = {
    name: getattr(TaskHead, name).offset for name, *_ in TaskHead._fields_
}
STORAGE_OFFSET = (ctypes.sizeof(TaskHead) + 7) // 8 * 8
# The same head as one struct.pack: Python writes a task in one call, not nine.
HEAD = struct.Struct("<IIiIQQQB16s")
# The fields a policy writes, vtime then slice, read back (and written) together.
WRITABLE = struct.Struct("<QQ")
WRITABLE_OFFSET = FIELD_OFFSET["vtime"]
assert HEAD.size == FIELD_OFFSET["comm"] + sem.COMM_LEN
assert FIELD_OFFSET["slice"] == WRITABLE_OFFSET + 8


def record_type(nr_task_vars: int) -> type[ctypes.Structure]:
    class TaskRecord(ctypes.Structure):
        _fields_ = [("head", TaskHead), ("storage", ctypes.c_uint64 * (1 + nr_task_vars))]

    assert TaskRecord.storage.offset == STORAGE_OFFSET
    return TaskRecord


def u64(value: int) -> int:
    """A value as its 8-byte slot holds it (two's complement for negatives)."""
    return value & 0xFFFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class MapTable:
    """A `map` with capacity N as a fixed open-addressing table: 2^k >= 2N slots probed
    linearly, so a free slot always ends a probe; no key is ever removed (the language has no
    delete), and a write of a new key when N keys are in fails, as a full BPF hash map's does."""

    decl: ir.MapDecl
    nr_slots: int
    keys: ctypes.Array[ctypes.c_uint64]
    values: ctypes.Array[ctypes.c_uint64]
    used: ctypes.Array[ctypes.c_uint8]
    count: ctypes.c_uint64

    def items(self) -> dict[int, int]:
        d = self.decl
        return {
            _value(self.keys[i], d.key): _value(self.values[i], d.value)
            for i in range(self.nr_slots)
            if self.used[i]
        }

    @classmethod
    def make(cls, decl: ir.MapDecl) -> MapTable:
        slots = 1 << max(1, (2 * decl.capacity - 1).bit_length())
        return cls(
            decl,
            slots,
            (ctypes.c_uint64 * slots)(),
            (ctypes.c_uint64 * slots)(),
            (ctypes.c_uint8 * slots)(),
            ctypes.c_uint64(0),
        )


class Storage:
    """Every buffer of one compiled policy, with the addresses the code is compiled against."""

    def __init__(self, program: ir.Program, params: dict[str, int]) -> None:
        self.program = program
        self.params = (ctypes.c_uint64 * max(1, len(program.params)))(
            *(u64(params.get(p.name, p.default)) for p in program.params)
        )
        self.param_slot = {p.name: i for i, p in enumerate(program.params)}
        self.vars = (ctypes.c_uint64 * max(1, len(program.vars)))(
            *(u64(v.init) for v in program.vars)
        )
        self.var_slot = {v.name: i for i, v in enumerate(program.vars)}
        self.task_var_slot = {v.name: 1 + i for i, v in enumerate(program.task_vars)}
        self.task_var_init = [u64(v.init) for v in program.task_vars]
        self.arrays = {
            a.name: (ctypes.c_uint64 * (program.max_cpus if a.size is None else a.size))()
            for a in program.arrays
        }
        self.maps = {m.name: MapTable.make(m) for m in program.maps}
        # A slot out-of-range array accesses use instead (read as 0, written to nowhere).
        self.scratch = ctypes.c_uint64(0)
        self.nr_cpus = ctypes.c_uint64(0)  # the host's, written before each call
        self.kick_preempted_at = (ctypes.c_uint64 * program.max_cpus)()
        # The counters, the histogram and queue_inserts (the exit_* fields are the kernel's).
        self.stats_fields = tuple(
            f
            for f in sem.stats_fields(len(program.queues))
            if f.name in sem.COUNTERS or f.name in (sem.WAKEUP_HIST, sem.QUEUE_INSERTS)
        )
        self.stat_slot: dict[str, int] = {}
        slot = 0
        for f in self.stats_fields:
            self.stat_slot[f.name] = slot
            slot += f.count
        self.stats = (ctypes.c_uint64 * slot)()
        self.record = record_type(len(program.task_vars))

    @staticmethod
    def address(obj: ctypes._CData) -> int:
        return ctypes.addressof(obj)

    def new_record(self) -> ctypes.Structure:
        rec = self.record()
        for i, init in enumerate(self.task_var_init):
            rec.storage[1 + i] = init
        return rec

    @staticmethod
    def sync_in(rec: ctypes.Structure, task: SimTask, nr_cpus: int, comm: bytes) -> None:
        """Copy the task into its record (`comm` is `sem.comm_buffer(task.comm)`)."""
        HEAD.pack_into(
            rec,
            0,
            task.pid,
            task.tgid,
            task.cpu,
            task.nr_cpus_allowed(nr_cpus),
            task.weight,
            task.vtime,
            task.slice,
            task.is_kthread,
            comm,
        )

    def read_stats(self) -> dict[str, int | list[int]]:
        out: dict[str, int | list[int]] = {}
        for f in self.stats_fields:
            at = self.stat_slot[f.name]
            if f.name in (sem.WAKEUP_HIST, sem.QUEUE_INSERTS):
                out[f.name] = list(self.stats[at : at + f.count])
            else:
                out[f.name] = self.stats[at]
        return out

    def snapshot(self) -> dict[str, dict[str, object]]:
        """The policy's own state as values of their types: `vars`, `arrays` (lists) and
        `maps` (key -> value, keys as written), for tests and reports."""
        p = self.program
        return {
            "vars": {v.name: _value(self.vars[i], v.type) for i, v in enumerate(p.vars)},
            "arrays": {a.name: [_value(x, a.elem) for x in self.arrays[a.name]] for a in p.arrays},
            "maps": {m.name: self.maps[m.name].items() for m in p.maps},
        }


def _value(slot: int, t: Type) -> int:
    return arith.wrap(slot, t) if t is not Type.BOOL else int(slot != 0)

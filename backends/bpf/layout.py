"""Byte layouts the loader relies on: the tunables struct and the stats struct.

The generated C declares both structs from these lists and the manifest describes them from
the same lists, so the offsets cannot disagree; `build.py` then checks them against the BTF of
the compiled object. Every tunable is 8 bytes and every stats field is u64/s64 or a char array
whose length is a multiple of 8, so no field ever needs padding (docs/internals.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from schedlang import ir
from schedlang.types import SIGNED

WAKEUP_HIST_BUCKETS = 16
WAKEUP_HIST_FIRST_NS = 1000  # bucket i holds latencies <= 1000 << i ns; the last, the rest
U64_MAX = 2**64 - 1
EXIT_REASON_LEN = 128
EXIT_MSG_LEN = 1024

_SIZE = {"u64": 8, "s64": 8, "char": 1}
_ARRAYS = frozenset({"wakeup_hist", "queue_inserts"})  # arrays even with a single element


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # "u64", "s64" or "char"
    count: int
    offset: int
    doc: str

    @property
    def size(self) -> int:
        return _SIZE[self.type] * self.count

    def c_decl(self) -> str:
        if self.count > 1 or self.name in _ARRAYS:
            return f"{self.type} {self.name}[{self.count}];"
        return f"{self.type} {self.name};"

    def to_manifest(self) -> dict[str, object]:
        return {"name": self.name, "offset": self.offset, "type": self.type, "count": self.count}


# (name, type, count, doc): the always-present fields first, in the contract's order.
_STATS: tuple[tuple[str, str, int, str], ...] = (
    ("nr_enqueued", "u64", 1, "calls of enqueue"),
    ("nr_dispatched", "u64", 1, "successful move_to_local() in dispatch"),
    ("nr_direct", "u64", 1, "inserts into a local queue from select_cpu"),
    ("wakeup_hist", "u64", WAKEUP_HIST_BUCKETS, "runnable -> running latency, log2 buckets"),
    ("exit_kind", "u64", 1, "enum scx_exit_kind, filled by ops.exit"),
    ("exit_code", "s64", 1, "exit code, filled by ops.exit"),
    ("exit_reason", "char", EXIT_REASON_LEN, "exit reason, filled by ops.exit"),
    ("exit_msg", "char", EXIT_MSG_LEN, "exit message, filled by ops.exit"),
    ("nr_insert_refused", "u64", 1, "inserts the kernel refused (reported from 6.19 on)"),
    ("nr_task_ctx_missing", "u64", 1, "task storage unavailable: a scratch copy was used"),
    ("nr_index_out_of_range", "u64", 1, "array index outside the array: a scratch slot was used"),
    ("nr_map_full", "u64", 1, "map writes that failed (map full)"),
    ("nr_bad_cpu", "u64", 1, "a computed CPU that is absent, or not allowed for `insert ... on`"),
    ("nr_kick_limited", "u64", 1, "preempting kicks made plain: the CPU was preempted < 1ms ago"),
    ("nr_slice_clamped", "u64", 1, "slices raised to 100us or lowered to timeout/10"),
    ("nr_dispatch_fallback", "u64", 1, "dispatch left its CPU idle: a queue gave a task"),
)


def stats_fields(nr_queues: int) -> tuple[Field, ...]:
    """The stats struct; `queue_inserts` (one u64 per declared queue) ends it when present."""
    rows = list(_STATS)
    if nr_queues:
        rows.append(("queue_inserts", "u64", nr_queues, "inserts per declared queue"))
    out: list[Field] = []
    offset = 0
    for name, type_, count, doc in rows:
        field = Field(name, type_, count, offset, doc)
        out.append(field)
        offset += field.size
    return tuple(out)


def stats_size(fields: tuple[Field, ...]) -> int:
    return fields[-1].offset + fields[-1].size


def wakeup_hist_bounds() -> list[int]:
    """Upper bound (ns) of each histogram bucket; the last bucket is unbounded."""
    bounds = [WAKEUP_HIST_FIRST_NS << i for i in range(WAKEUP_HIST_BUCKETS - 1)]
    return bounds + [U64_MAX]


@dataclass(frozen=True)
class ParamSlot:
    decl: ir.ParamDecl
    value: int  # the initial value in .rodata.params (the default, or a --param override)
    offset: int

    @property
    def signed(self) -> bool:
        return self.decl.type in SIGNED

    @property
    def c_type(self) -> str:
        return "s64" if self.signed else "u64"

    def to_manifest(self) -> dict[str, object]:
        d = self.decl
        return {
            "name": d.name,
            "type": str(d.type),
            "default": d.default,
            "value": self.value,
            "min": d.lo,
            "max": d.hi,
            "offset": self.offset,
            "size": 8,
            "signed": self.signed,
        }


def param_slots(program: ir.Program, values: dict[str, int]) -> tuple[ParamSlot, ...]:
    """One 8-byte slot per tunable, in declaration order; `values` holds checked overrides."""
    return tuple(
        ParamSlot(p, values.get(p.name, p.default), 8 * i) for i, p in enumerate(program.params)
    )

"""Byte layouts the loader relies on: the tunables struct and the stats struct.

The generated C declares both structs from these lists and the manifest describes them from
the same lists, so the offsets cannot disagree; `build.py` then checks them against the BTF of
the compiled object. Every tunable is 8 bytes and every stats field is u64/s64 or a char array
whose length is a multiple of 8, so no field ever needs padding (docs/internals.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from schedlang import ir
from schedlang.backends import semantics
from schedlang.types import SIGNED

WAKEUP_HIST_BUCKETS = semantics.WAKEUP_HIST_BUCKETS
WAKEUP_HIST_FIRST_NS = semantics.WAKEUP_HIST_FIRST_NS

_SIZE = {"u64": 8, "s64": 8, "char": 1}
# arrays even with a single element
_ARRAYS = frozenset({semantics.WAKEUP_HIST, semantics.QUEUE_INSERTS})


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


def stats_fields(nr_queues: int) -> tuple[Field, ...]:
    """The stats struct: the fields of the stats contract (`semantics.stats_fields`), laid
    out one after the other."""
    out: list[Field] = []
    offset = 0
    for f in semantics.stats_fields(nr_queues):
        field = Field(f.name, f.type, f.count, offset, f.doc)
        out.append(field)
        offset += field.size
    return tuple(out)


def stats_size(fields: tuple[Field, ...]) -> int:
    return fields[-1].offset + fields[-1].size


wakeup_hist_bounds = semantics.wakeup_hist_bounds


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

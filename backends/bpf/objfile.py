"""Read what we need from a compiled BPF object: ELF sections and its BTF types.

Why our own reader: the manifest's offsets must match what clang actually laid out, the bench
wants per-program instruction counts, and a hand-written C policy's manifest is derived from
its object (the ops table, `const volatile` tunables and the stats struct are all described by
BTF: `cmanifest.py`). All of that needs only section headers and the BTF type section, which
are small fixed formats (ELF64 little-endian, BTF v1). No pyelftools needed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

BPF_INSN_SIZE = 8
_BTF_MAGIC = 0xEB9F
# BTF kinds (include/uapi/linux/btf.h).
INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF = 1, 2, 3, 4, 5, 6, 7, 8
VOLATILE, CONST, RESTRICT, FUNC, FUNC_PROTO, VAR, DATASEC = 9, 10, 11, 12, 13, 14, 15
FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = 16, 17, 18, 19
_TRANSPARENT = (TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG)
# Bytes that follow the 12-byte common header, by BTF kind: fixed, and per vlen entry.
_EXTRA_FIXED = {1: 4, 3: 12, 14: 4, 17: 4}
_EXTRA_PER_ENTRY = {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}


class ObjectFormatError(ValueError):
    """The file is not the ELF64 little-endian BPF object clang writes."""


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    offset: int
    size: int
    link: int = 0  # sh_link: for the symbol table, the index of its string table


@dataclass(frozen=True)
class Symbol:
    """An ELF symbol: `value` is its offset inside `section` (for a variable: where it is)."""

    name: str
    section: str
    value: int
    size: int


_SHT_SYMTAB = 2
_SHN_LORESERVE = 0xFF00


@dataclass(frozen=True)
class ObjectFile:
    data: bytes
    sections: dict[str, Section]
    order: tuple[str, ...] = ()  # section names by ELF section index

    @classmethod
    def read(cls, path: Path) -> ObjectFile:
        data = Path(path).read_bytes()
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise ObjectFormatError(f"{path}: not an ELF64 little-endian object")
        shoff = struct.unpack_from("<Q", data, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        names_at = raw[shstrndx][4]
        sections: dict[str, Section] = {}
        order = []
        for name_off, sh_type, _flags, _addr, offset, size, link, *_ in raw:
            end = data.index(b"\0", names_at + name_off)
            name = data[names_at + name_off : end].decode()
            sections[name] = Section(name, sh_type, offset, size, link)
            order.append(name)
        return cls(data, sections, tuple(order))

    def symbols(self) -> dict[tuple[str, str], Symbol]:
        """Symbols defined in a section, by (section, name).

        Why: in an object clang wrote, BTF's DATASEC entries all say offset 0 (libbpf fixes
        them up from these symbols at load), so where a global variable sits comes from here.
        """
        out = {}
        for name, shndx, value, size in self._symtab():
            if shndx == 0 or shndx >= _SHN_LORESERVE:
                continue
            section = self.order[shndx]
            out[(section, name)] = Symbol(name, section, value, size)
        return out

    def externs(self) -> frozenset[str]:
        """Names the object uses without defining them: the kfuncs libbpf resolves at load."""
        return frozenset(name for name, shndx, _value, _size in self._symtab() if shndx == 0)

    def _symtab(self) -> list[tuple[str, int, int, int]]:
        """(name, section index, value, size) of each named symbol."""
        table = next((s for s in self.sections.values() if s.type == _SHT_SYMTAB), None)
        if table is None:
            return []
        strings = self.sections[self.order[table.link]].offset
        out = []
        for pos in range(table.offset, table.offset + table.size, 24):
            name_off, _info, _other, shndx, value, size = struct.unpack_from(
                "<IBBHQQ", self.data, pos
            )
            if name_off:
                end = self.data.index(b"\0", strings + name_off)
                out.append((self.data[strings + name_off : end].decode(), shndx, value, size))
        return out

    def section_bytes(self, name: str) -> bytes:
        s = self.sections[name]
        return self.data[s.offset : s.offset + s.size]

    def program_sections(self) -> dict[str, int]:
        """Instruction count of each struct_ops program section (`struct_ops/NAME` → insns)."""
        return {
            name: s.size // BPF_INSN_SIZE
            for name, s in sorted(self.sections.items())
            if name.startswith(("struct_ops/", "struct_ops.s/"))
        }

    def variables(self, section: str, btf: Btf | None = None) -> list[DatasecVar]:
        """The global variables of data section `section`: typed by BTF, placed by the symbol
        table (the DATASEC offsets clang writes are placeholders)."""
        btf = btf or self.btf()
        symbols = self.symbols()
        out = []
        for var in btf.datasec(section):
            sym = symbols.get((section, var.name))
            offset = sym.value if sym is not None else var.offset
            out.append(DatasecVar(var.name, var.type_id, offset, var.size))
        return out

    def btf(self) -> Btf:
        """The object's `.BTF` type section, parsed (ObjectFormatError if absent or malformed)."""
        if ".BTF" not in self.sections:
            raise ObjectFormatError("the object has no .BTF section (compile with -g)")
        return Btf.parse(self.section_bytes(".BTF"))

    def struct_layout(self, struct_name: str) -> dict[str, int]:
        """Member name → byte offset of the BTF struct `struct_name` (KeyError if absent)."""
        btf = self.btf()
        found = btf.find(struct_name, (STRUCT, UNION))
        if found is None:
            raise KeyError(f"struct {struct_name} not in the object's BTF")
        return {m.name: m.offset for m in btf.members(found)}


@dataclass(frozen=True)
class BtfType:
    """One BTF type record. `ref` is the size (int, struct, datasec, ...) or the referenced
    type id (pointer, typedef, qualifiers, var, func), as the BTF header word says; `items`
    holds the kind's trailing words (members, array dims, datasec entries), undecoded."""

    kind: int
    name: str
    ref: int
    vlen: int
    kind_flag: int
    extra: tuple[int, ...]
    items: tuple[tuple[int, ...], ...]
    item_names: tuple[str, ...]  # member / enumerator / parameter names ("" for datasec)


@dataclass(frozen=True)
class Member:
    name: str
    type_id: int
    offset: int  # bytes
    bitfield: bool


@dataclass(frozen=True)
class DatasecVar:
    """A global variable placed in a data section: `name` at `offset`, `size` bytes."""

    name: str
    type_id: int  # the VAR's type (qualifiers included)
    offset: int
    size: int


@dataclass(frozen=True)
class IntInfo:
    size: int
    signed: bool
    char: bool
    bool_: bool


@dataclass(frozen=True)
class Btf:
    """The type graph of an object's `.BTF` section: type id → `BtfType` (id 0 is void)."""

    types: tuple[BtfType, ...]

    @classmethod
    def parse(cls, data: bytes) -> Btf:
        try:
            magic, _version, _flags, hdr_len, type_off, type_len, str_off, _str_len = (
                struct.unpack_from("<HBBIIIII", data, 0)
            )
        except struct.error as exc:
            raise ObjectFormatError(f"truncated BTF header: {exc}") from None
        if magic != _BTF_MAGIC:
            raise ObjectFormatError("bad BTF magic")
        strings = hdr_len + str_off

        def name_at(off: int) -> str:
            start = strings + off
            return data[start : data.index(b"\0", start)].decode()

        types = [BtfType(0, "", 0, 0, 0, (), (), ())]
        pos, end = hdr_len + type_off, hdr_len + type_off + type_len
        while pos < end:
            name_off, info, ref = struct.unpack_from("<III", data, pos)
            kind, vlen, kind_flag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
            pos += 12
            fixed = _EXTRA_FIXED.get(kind, 0)
            extra = struct.unpack_from(f"<{fixed // 4}I", data, pos)
            pos += fixed
            per = _EXTRA_PER_ENTRY.get(kind, 0)
            items = tuple(
                struct.unpack_from(f"<{per // 4}I", data, pos + per * i) for i in range(vlen)
            )
            pos += per * vlen
            # The first word of a member, enumerator or parameter is its name; a datasec
            # entry's is a type id.
            named = kind in (STRUCT, UNION, ENUM, ENUM64, FUNC_PROTO)
            names = tuple(name_at(item[0]) if named else "" for item in items)
            types.append(
                BtfType(kind, name_at(name_off), ref, vlen, kind_flag, extra, items, names)
            )
        return cls(tuple(types))

    def find(self, name: str, kinds: tuple[int, ...]) -> int | None:
        """Id of the first type called `name` of one of `kinds`, or None."""
        return next(
            (i for i, t in enumerate(self.types) if t.kind in kinds and t.name == name), None
        )

    def strip(self, type_id: int) -> tuple[int, frozenset[int]]:
        """Follow typedefs and qualifiers: the underlying type id and the qualifiers seen."""
        seen: set[int] = set()
        while self.types[type_id].kind in _TRANSPARENT:
            t = self.types[type_id]
            if t.kind in (CONST, VOLATILE):
                seen.add(t.kind)
            type_id = t.ref
        return type_id, frozenset(seen)

    def members(self, struct_id: int) -> list[Member]:
        t = self.types[struct_id]
        out = []
        for name, (_name_off, type_id, offset) in zip(t.item_names, t.items, strict=True):
            bits = offset & 0xFFFFFF if t.kind_flag else offset
            bitfield = bool(t.kind_flag and offset >> 24) or bits % 8 != 0
            out.append(Member(name, type_id, bits // 8, bitfield))
        return out

    def datasec(self, section: str) -> list[DatasecVar]:
        """The variables BTF places in data section `section` (empty if it has none)."""
        sec_id = self.find(section, (DATASEC,))
        if sec_id is None:
            return []
        out = []
        for var_id, offset, size in self.types[sec_id].items:
            var = self.types[var_id]
            if var.kind == VAR:
                out.append(DatasecVar(var.name, var.ref, offset, size))
        return out

    def size_of(self, type_id: int) -> int:
        type_id, _ = self.strip(type_id)
        t = self.types[type_id]
        if t.kind == ARRAY:
            elem, _index, count = t.extra
            return self.size_of(elem) * count
        if t.kind == PTR:
            return 8
        return t.ref if t.kind in (INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC) else 0

    def int_info(self, type_id: int) -> IntInfo | None:
        """Size and signedness of an integer (or enum) type, through typedefs; None otherwise."""
        type_id, _ = self.strip(type_id)
        t = self.types[type_id]
        if t.kind == INT:
            encoding = t.extra[0] >> 24
            return IntInfo(t.ref, bool(encoding & 1), bool(encoding & 2), bool(encoding & 4))
        if t.kind in (ENUM, ENUM64):
            return IntInfo(t.ref, bool(t.kind_flag), False, False)
        return None

    def array(self, type_id: int) -> tuple[int, int] | None:
        """(element type id, element count) of an array type, through typedefs; else None."""
        type_id, _ = self.strip(type_id)
        t = self.types[type_id]
        return (t.extra[0], t.extra[2]) if t.kind == ARRAY else None

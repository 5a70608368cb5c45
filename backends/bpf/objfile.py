"""Read what we need from a compiled BPF object: ELF sections and BTF struct layouts.

Why our own reader: the manifest's offsets must match what clang actually laid out, and the
bench wants per-program instruction counts; both need only section headers and the BTF type
section, which are small fixed formats (ELF64 little-endian, BTF v1). No pyelftools needed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

BPF_INSN_SIZE = 8
_BTF_MAGIC = 0xEB9F
_STRUCT, _UNION = 4, 5
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


@dataclass(frozen=True)
class ObjectFile:
    data: bytes
    sections: dict[str, Section]

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
        for name_off, sh_type, _flags, _addr, offset, size, *_ in raw:
            end = data.index(b"\0", names_at + name_off)
            name = data[names_at + name_off : end].decode()
            sections[name] = Section(name, sh_type, offset, size)
        return cls(data, sections)

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

    def struct_layout(self, struct_name: str) -> dict[str, int]:
        """Member name → byte offset of the BTF struct `struct_name` (KeyError if absent)."""
        btf = self.section_bytes(".BTF")
        magic, _version, _flags, hdr_len, type_off, type_len, str_off, _str_len = (
            struct.unpack_from("<HBBIIIII", btf, 0)
        )
        if magic != _BTF_MAGIC:
            raise ObjectFormatError("bad BTF magic")
        strings = hdr_len + str_off

        def name_at(off: int) -> str:
            start = strings + off
            return btf[start : btf.index(b"\0", start)].decode()

        pos, end = hdr_len + type_off, hdr_len + type_off + type_len
        while pos < end:
            name_off, info, _size = struct.unpack_from("<III", btf, pos)
            kind, vlen, kind_flag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
            pos += 12
            if kind in (_STRUCT, _UNION) and name_at(name_off) == struct_name:
                members = {}
                for i in range(vlen):
                    m_name, _m_type, m_off = struct.unpack_from("<III", btf, pos + 12 * i)
                    bits = m_off & 0xFFFFFF if kind_flag else m_off
                    members[name_at(m_name)] = bits // 8
                return members
            pos += _EXTRA_FIXED.get(kind, 0) + _EXTRA_PER_ENTRY.get(kind, 0) * vlen
        raise KeyError(f"struct {struct_name} not in the object's BTF")

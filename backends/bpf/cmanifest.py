"""The manifest of a hand-written C policy, read back from the object clang built from it.

Why from the object: for a DSL policy the backend knows the layout because it wrote the C; for
hand-written C the only truth is what clang laid out, and BTF describes all of it. What the
loader needs (docs/internals.md, "The artifact contract") is taken from there:

* the ops table: the `struct sched_ext_ops` variable in `.struct_ops.link` (or `.struct_ops`);
  its C name is the struct_ops map to attach, its `.name` the policy's name, its `timeout_ms`
  (when the local struct declares it) the watchdog;
* tunables: every `const volatile` global in `.rodata` or a `.rodata.*` section. An integer,
  bool or enum global is one parameter; a struct global (schedlang's `params` layout) gives one
  parameter per integer member. Each records its section, offset, size, signedness, default
  and the range its C type can hold;
* stats: only if the object has the `.data.stats` struct of the contract. Its `u64`/`s64`
  members and arrays and its `char` arrays become stats fields; anything else is left out. A
  policy without it still loads and is measured, just without policy stats, and its exit is
  read from the kernel log instead of `exit_kind`/`exit_reason`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schedlang.backends.bpf import layout
from schedlang.backends.bpf.manifest import SCHEMA, STATS_SECTION
from schedlang.backends.bpf.objfile import (
    CONST,
    STRUCT,
    VOLATILE,
    Btf,
    DatasecVar,
    IntInfo,
    ObjectFile,
)

OPS_SECTIONS = (".struct_ops.link", ".struct_ops")
OPS_STRUCT = "sched_ext_ops"


class ManifestError(ValueError):
    """The object lacks something the loader needs; the message says what and how to fix it.
    `symbol`: the C name the problem is about (to point at its declaration), if one."""

    def __init__(self, message: str, symbol: str | None = None) -> None:
        super().__init__(message)
        self.symbol = symbol


def derive(
    object_path: Path,
    *,
    source: str,
    hashes: dict[str, str | None],
    toolchain: dict[str, str],
) -> dict[str, Any]:
    """The manifest (docs/internals.md) of the compiled C policy at `object_path`."""
    obj = ObjectFile.read(object_path)
    btf = obj.btf()
    ops_map, name, timeout_ms = _ops(obj, btf)
    params = _params(obj, btf)
    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "policy": name,
        "description": f"hand-written sched_ext C ({Path(source).name})",
        "source": source,
        "language": "c",
        "ops_map": ops_map,
        "timeout_ms": timeout_ms,
        "kernel_api": None,
        "params_section": params[0]["section"] if params else ".rodata",
        "params": params,
        "queues": [],
        "line_map": [],
        "hashes": hashes,
        "toolchain": toolchain,
    }
    stats = _stats(obj, btf)
    if stats is not None:
        manifest["stats_section"] = STATS_SECTION
        manifest["stats"] = stats
    return manifest


def _ops(obj: ObjectFile, btf: Btf) -> tuple[str, str, int | None]:
    """(variable name, `.name`, `.timeout_ms` or None) of the one sched_ext_ops variable."""
    found: list[tuple[str, DatasecVar]] = []
    for section in OPS_SECTIONS:
        for var in obj.variables(section, btf):
            type_id, _ = btf.strip(var.type_id)
            t = btf.types[type_id]
            if t.kind == STRUCT and t.name == OPS_STRUCT:
                found.append((section, var))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise ManifestError(
            f"the object has {what} `struct sched_ext_ops` variable(s) in "
            f"{' or '.join(OPS_SECTIONS)}; define exactly one: "
            '`SEC(".struct_ops.link") struct sched_ext_ops NAME_ops = { ..., .name = "NAME" };`',
            found[-1][1].name if found else None,
        )
    section, var = found[0]
    data = obj.section_bytes(section)[var.offset : var.offset + var.size]
    members = {m.name: m for m in btf.members(btf.strip(var.type_id)[0])}
    if "name" not in members:
        raise ManifestError(
            "the local `struct sched_ext_ops` has no `char name[128]` member; declare it and "
            'set `.name = "NAME"` (the kernel names the scheduler by it)',
            var.name,
        )
    start = members["name"].offset
    name = data[start : start + 128].split(b"\0", 1)[0].decode(errors="replace")
    if not name:
        raise ManifestError(f'`{var.name}` has an empty `.name`; set `.name = "NAME"`', var.name)
    timeout_ms = None
    if "timeout_ms" in members:
        at = members["timeout_ms"].offset
        timeout_ms = int.from_bytes(data[at : at + 4], "little") or None
    return var.name, name, timeout_ms


def _is_rodata(section: str) -> bool:
    return section == ".rodata" or section.startswith(".rodata.")


def _params(obj: ObjectFile, btf: Btf) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for section in obj.sections:
        if not _is_rodata(section):
            continue
        data = obj.section_bytes(section)
        for var in obj.variables(section, btf):
            type_id, quals = btf.strip(var.type_id)
            if not {CONST, VOLATILE} <= quals:
                continue  # a plain `const` is folded by clang: not a tunable
            info = btf.int_info(type_id)
            if info is not None:
                out.append(_param(var.name, section, var.offset, info, data))
            elif btf.types[type_id].kind == STRUCT:
                for m in btf.members(type_id):
                    m_info = btf.int_info(m.type_id)
                    if m_info is not None and not m.bitfield:
                        out.append(_param(m.name, section, var.offset + m.offset, m_info, data))
    seen: set[str] = set()
    for p in out:
        if p["name"] in seen:
            raise ManifestError(
                f"two tunables are called `{p['name']}` (a global and a struct member); "
                "rename one so `--param NAME=VALUE` can tell them apart",
                p["name"],
            )
        seen.add(p["name"])
    return out


def _param(name: str, section: str, offset: int, info: IntInfo, data: bytes) -> dict[str, Any]:
    raw = data[offset : offset + info.size]
    value = int.from_bytes(raw, "little", signed=info.signed) if len(raw) == info.size else 0
    if info.bool_:
        ctype, low, high = "bool", 0, 1
    else:
        bits = info.size * 8
        ctype = f"{'s' if info.signed else 'u'}{bits}"
        low, high = (
            (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if info.signed else (0, (1 << bits) - 1)
        )
    return {
        "name": name,
        "type": ctype,
        "default": value,
        "value": value,
        "min": low,
        "max": high,
        "section": section,
        "offset": offset,
        "size": info.size,
        "signed": info.signed,
    }


def _stats(obj: ObjectFile, btf: Btf) -> dict[str, Any] | None:
    variables = obj.variables(STATS_SECTION, btf) if STATS_SECTION in obj.sections else []
    structs = [v for v in variables if btf.types[btf.strip(v.type_id)[0]].kind == STRUCT]
    if len(structs) != 1:
        return None
    var = structs[0]
    fields = []
    for m in btf.members(btf.strip(var.type_id)[0]):
        field = _stats_field(btf, m.type_id)
        if field is not None and not m.bitfield:
            kind, count = field
            fields.append(
                {"name": m.name, "offset": var.offset + m.offset, "type": kind, "count": count}
            )
    hist = next((f for f in fields if f["name"] == "wakeup_hist"), None)
    contract_bounds = layout.wakeup_hist_bounds()
    return {
        "size": btf.size_of(var.type_id),
        "fields": fields,
        # Bucket bounds are the contract's; a histogram of another shape is not interpreted.
        "wakeup_hist_bounds_ns": (
            contract_bounds if hist is not None and hist["count"] == len(contract_bounds) else []
        ),
    }


def _stats_field(btf: Btf, type_id: int) -> tuple[str, int] | None:
    """("u64" | "s64" | "char", count) for a member the loader can decode, else None."""
    count = 1
    array = btf.array(type_id)
    if array is not None:
        type_id, count = array
    info = btf.int_info(type_id)
    if info is None:
        return None
    if info.size == 1 and array is not None:
        return "char", count
    if info.size == 8:
        return ("s64" if info.signed else "u64"), count
    return None

"""The manifest (`NAME.json`): everything the loader needs besides the object.

Its shape is the artifact contract in docs/internals.md. Offsets come from layout.py (the same
lists the C was generated from) and are checked against the object's BTF by `check_layout`,
so a manifest never describes a struct the object does not have.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from schedlang import ir
from schedlang.backends.bpf import cnames, layout
from schedlang.backends.bpf.objfile import ObjectFile

SCHEMA = 1
PARAMS_SECTION = ".rodata.params"
STATS_SECTION = ".data.stats"
STATS_STRUCT = "sl_stats"  # declared by schedlang.bpf.h, the same for every policy


class LayoutMismatch(RuntimeError):
    """The compiled object's struct layout differs from what the manifest would say (a bug)."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(
    program: ir.Program,
    *,
    params: tuple[layout.ParamSlot, ...],
    kernel_api: str,
    timeout_ms: int,
    line_map: tuple[tuple[int, int, int], ...],
    hashes: dict[str, str | None],
    toolchain: dict[str, str],
) -> dict[str, Any]:
    fields = layout.stats_fields(len(program.queues))
    return {
        "schema": SCHEMA,
        "policy": program.name,
        "description": program.description,
        "source": program.path,
        "ops_map": cnames.derived(program.name, "ops"),
        "timeout_ms": timeout_ms,
        "kernel_api": kernel_api,
        "params_section": PARAMS_SECTION,
        "params": [p.to_manifest() for p in params],
        "queues": [{"name": q.name, "kind": q.kind, "dsq_id": q.dsq_id} for q in program.queues],
        "stats_section": STATS_SECTION,
        "stats": {
            "size": layout.stats_size(fields),
            "fields": [f.to_manifest() for f in fields],
            "wakeup_hist_bounds_ns": layout.wakeup_hist_bounds(),
        },
        "max_cpus": program.max_cpus,
        "line_map": [list(row) for row in line_map],
        "hashes": hashes,
        "toolchain": toolchain,
        # files `import`s brought code from: their lines map to the import in line_map
        **({"imports": [_imported(i) for i in program.imported]} if program.imported else {}),
    }


def _imported(i: ir.Imported) -> dict[str, Any]:
    return {"file": i.file, "sha256": i.sha256, "import_line": i.via.line}


def check_layout(manifest: dict[str, Any], object_path: Path) -> None:
    """Raise LayoutMismatch unless the object's BTF and sections match the manifest."""
    obj = ObjectFile.read(object_path)
    name = manifest["policy"]
    expected_stats = {f["name"]: f["offset"] for f in manifest["stats"]["fields"]}
    _compare(f"struct {STATS_STRUCT}", expected_stats, obj.struct_layout(STATS_STRUCT))
    if manifest["params"]:
        # A param named like a C keyword is a C field with a trailing underscore (cnames.ident).
        expected_params = {cnames.ident(p["name"]): p["offset"] for p in manifest["params"]}
        _compare(f"struct {name}_params", expected_params, obj.struct_layout(f"{name}_params"))
    for section, size in ((STATS_SECTION, manifest["stats"]["size"]),):
        actual = obj.sections[section].size if section in obj.sections else None
        if actual != size:
            raise LayoutMismatch(
                f"section {section}: {actual} bytes in the object, manifest says {size}"
            )
    for required in (".struct_ops.link", PARAMS_SECTION, ".BTF", "license"):
        if required not in obj.sections:
            raise LayoutMismatch(f"the object has no {required} section")


def _compare(what: str, expected: dict[str, int], actual: dict[str, int]) -> None:
    if expected != actual:
        raise LayoutMismatch(f"{what}: object has {actual}, manifest says {expected}")

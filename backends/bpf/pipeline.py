"""The BPF backend's pipeline after the checker: a CheckedProgram → an Artifact.

`compile_checked` resolves `--param` overrides, lowers to C (emit.py + render.py), compiles
with clang (build.py), writes the manifest, and checks the manifest's offsets against the
object. It starts from the checked IR alone (the program, the checker's facts and the source
text it was checked from); running the checker first is the api layer's job
(schedlang/compiler.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from schedlang import ir
from schedlang.backends import overrides, semantics
from schedlang.backends.artifact import Artifact
from schedlang.backends.bpf import build, compat, layout, manifest, render
from schedlang.backends.bpf import emit as lowering
from schedlang.diagnostics import Diagnostics
from schedlang.errors import SchedlangError
from schedlang.version import __version__

EMIT_CHOICES = ("c", "obj", "all")


def compile_checked(
    checked: ir.CheckedProgram,
    outdir: str | Path,
    *,
    params: Mapping[str, int | str] | None = None,
    emit: str = "all",
    kernel_api: str = compat.DEFAULT_KERNEL_API,
    timeout_ms: int = semantics.DEFAULT_TIMEOUT_MS,
) -> Artifact:
    """Write NAME.bpf.c with schedlang.bpf.h, NAME.bpf.o and NAME.json (per `emit`) into
    outdir; return the Artifact.

    Raises SchedlangError for bad `params`, ValueError for a bad option, build.ClangError when
    clang is missing or fails."""
    if emit not in EMIT_CHOICES:
        raise ValueError(f"emit must be one of {', '.join(EMIT_CHOICES)}, not {emit!r}")
    if kernel_api not in compat.KERNEL_APIS:
        raise ValueError(
            f"kernel_api must be one of {', '.join(compat.KERNEL_APIS)}, not {kernel_api!r}"
        )
    if not 0 < timeout_ms <= 30000:
        raise ValueError(f"timeout_ms must be in 1..30000 (the kernel's limit), not {timeout_ms}")
    program, source = checked.program, checked.source
    diags = Diagnostics(source)
    values = overrides.resolve(program, params or {}, diags)
    if diags.has_errors:
        raise SchedlangError(source, list(diags))

    api = compat.KERNEL_APIS[kernel_api]
    options = lowering.Options(
        params=values,
        kernel_api=api,
        timeout_ms=timeout_ms,
        version=__version__,
        header_line=program.name_span.line,
    )
    rendered = render.render(lowering.build_context(checked, options))

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    c_path = out / f"{program.name}.bpf.c"
    obj_path = out / f"{program.name}.bpf.o"
    manifest_path = out / f"{program.name}.json"
    c_path.write_text(rendered.text)
    header_path = out / render.HEADER
    header_was_there = header_path.exists()
    header_path.write_text(render.header(__version__))
    toolchain = {"schedlang": __version__}
    hashes: dict[str, str | None] = {
        "source_sha256": manifest.sha256_bytes(source.text.encode()) if source.text else None,
        "c_sha256": manifest.sha256_bytes(rendered.text.encode()),
        "object_sha256": None,
    }
    if emit in ("obj", "all"):
        clang = build.compile_c(c_path, obj_path, rendered.line_map)
        toolchain["clang"] = clang.version
        hashes["object_sha256"] = manifest.sha256_bytes(obj_path.read_bytes())
    data = manifest.build(
        program,
        params=layout.param_slots(program, values),
        kernel_api=api.label,
        timeout_ms=timeout_ms,
        line_map=rendered.line_map,
        hashes=hashes,
        toolchain=toolchain,
    )
    if emit in ("obj", "all"):
        manifest.check_layout(data, obj_path)
    if emit == "obj":
        c_path.unlink()
        if not header_was_there:  # another policy's C in `out` may include it
            header_path.unlink()
    manifest_path.write_text(manifest_json(data))
    return Artifact(
        name=program.name,
        c_path=c_path if emit != "obj" else None,
        object_path=obj_path,
        manifest_path=manifest_path,
        manifest=data,
    )


def manifest_json(data: dict[str, object]) -> str:
    """The manifest as written to NAME.json: indented, for people diffing two builds."""
    return json.dumps(data, indent=2) + "\n"

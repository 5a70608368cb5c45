"""The backend's public entry points: a checked program (or a policy file) → an Artifact.

`compile_checked` is the pipeline after the checker: resolve `--param` overrides, lower to C
(emit.py + render.py), compile with clang (build.py), write the manifest, and check the
manifest's offsets against the object. `compile_source` runs the checker first and raises
`SchedlangError` (carrying the diagnostics) for a policy with problems.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from schedlang import ir
from schedlang.backends.artifact import Artifact
from schedlang.backends.bpf import build, compat, layout, manifest, overrides, render
from schedlang.backends.bpf import emit as lowering
from schedlang.diagnostics import Diagnostics
from schedlang.errors import SchedlangError
from schedlang.source import SourceFile
from schedlang.version import __version__

EMIT_CHOICES = ("c", "obj", "all")


def _source_of(program: ir.Program, source_text: str | None) -> SourceFile:
    if source_text is None:
        try:
            source_text = Path(program.path).read_text()
        except OSError:
            source_text = ""
    return SourceFile(program.path, source_text)


def compile_checked(
    checked: ir.CheckedProgram,
    outdir: str | Path,
    *,
    params: Mapping[str, int | str] | None = None,
    emit: str = "all",
    kernel_api: str = compat.DEFAULT_KERNEL_API,
    timeout_ms: int = lowering.DEFAULT_TIMEOUT_MS,
    source_text: str | None = None,
) -> Artifact:
    """Write NAME.bpf.c / NAME.bpf.o / NAME.json (per `emit`) into outdir; return the Artifact.

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
    program = checked.program
    source = _source_of(program, source_text)
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
        header_line=_header_line(source.text, program.name),
    )
    rendered = render.render(lowering.build_context(checked, options))

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    c_path = out / f"{program.name}.bpf.c"
    obj_path = out / f"{program.name}.bpf.o"
    manifest_path = out / f"{program.name}.json"
    c_path.write_text(rendered.text)
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
    manifest_path.write_text(manifest_json(data))
    return Artifact(
        name=program.name,
        c_path=c_path if emit != "obj" else None,
        object_path=obj_path,
        manifest_path=manifest_path,
        manifest=data,
    )


def _header_line(text: str, name: str) -> int:
    """The line of `scheduler NAME` in the policy (1 when it cannot be found)."""
    found = re.search(rf"^\s*scheduler\s+{re.escape(name)}\b", text, re.M)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def manifest_json(data: dict[str, object]) -> str:
    """The manifest as written to NAME.json: indented, for people diffing two builds."""
    return json.dumps(data, indent=2) + "\n"


def load_source(source_or_path: str | Path | SourceFile) -> SourceFile:
    """A SourceFile from a SourceFile, a path, or policy text (text has a newline or a `{`)."""
    if isinstance(source_or_path, SourceFile):
        return source_or_path
    if isinstance(source_or_path, str) and ("\n" in source_or_path or "{" in source_or_path):
        return SourceFile("<string>", source_or_path)
    path = Path(source_or_path)
    return SourceFile(str(path), path.read_text(encoding="utf-8"))


def compile_source(
    source_or_path: str | Path | SourceFile,
    params: Mapping[str, int | str] | None = None,
    outdir: str | Path | None = None,
    *,
    emit: str = "all",
    kernel_api: str = compat.DEFAULT_KERNEL_API,
    timeout_ms: int = lowering.DEFAULT_TIMEOUT_MS,
) -> Artifact:
    """Check a policy, then compile it; SchedlangError (with diagnostics) if it has problems.

    Without `outdir` the files go to a fresh temporary directory (kept: the caller loads them).
    """
    from schedlang.checker import check_source

    source = load_source(source_or_path)
    checked, diags = check_source(source)
    if checked is None or diags.has_errors:
        raise SchedlangError(source, [d for d in diags if d.severity == "error"])
    out = Path(outdir) if outdir is not None else Path(tempfile.mkdtemp(prefix="schedlang-"))
    return compile_checked(
        checked,
        out,
        params=params,
        emit=emit,
        kernel_api=kernel_api,
        timeout_ms=timeout_ms,
        source_text=source.text,
    )

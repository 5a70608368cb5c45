"""Hand-written sched_ext C as a policy: gate → clang → manifest from the object → Artifact.

SchedCP's agents and every scx scheduler write C, so `schedlang compile/run FILE.bpf.c` take
it as they take a `.sched` file: the C must pass the `verify-c` gate (schedlang/cgate), is
compiled with the same clang and flags as generated C (build.py), and its manifest is read
from the object's BTF (cmanifest.py). From there the runtime cannot tell it from a compiled
DSL policy. Every problem is a diagnostic at `file:line:col` (codes C0xx, docs/verify-c.md),
raised as `SchedlangError`; only a missing clang is a `build.ClangError`.

`--param NAME=VALUE` at compile time rewrites the tunable's initial value in the object's
data section (the bytes libbpf loads), and the manifest records it as `value`.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from schedlang.backends.artifact import Artifact, param_value
from schedlang.backends.bpf import build, cmanifest
from schedlang.backends.bpf.compile import manifest_json
from schedlang.backends.bpf.manifest import sha256_bytes
from schedlang.backends.bpf.objfile import ObjectFile, ObjectFormatError
from schedlang.cgate import verify
from schedlang.cgate.findings import finding
from schedlang.diagnostics import Diagnostic
from schedlang.errors import SchedlangError
from schedlang.source import SourceFile
from schedlang.version import __version__


def is_c_policy(target: object) -> bool:
    """True for a path (str or Path) naming a C file, as opposed to DSL text or a `.sched`."""
    if isinstance(target, Path):
        return target.name.endswith(".c")
    return isinstance(target, str) and "\n" not in target and target.strip().endswith(".c")


def stem(c_path: Path) -> str:
    """`simple` for `simple.bpf.c` or `simple.c`: the name of the files compile writes."""
    return c_path.name.removesuffix(".c").removesuffix(".bpf")


def compile_c_policy(
    c_path: str | Path,
    params: Mapping[str, Any] | None = None,
    outdir: str | Path | None = None,
    *,
    include_dirs: tuple[str, ...] = (),
) -> Artifact:
    """Gate, compile and describe `c_path`; writes STEM.bpf.o and STEM.json into `outdir`
    (a fresh temporary directory when None). SchedlangError carries the diagnostics; OSError
    when the file cannot be read; build.ClangError when there is no usable clang."""
    path = Path(c_path)
    source = SourceFile(str(path), path.read_text(encoding="utf-8", errors="replace"))
    findings = verify(str(path), include_dirs=include_dirs)
    if findings:
        raise _error(source, findings)
    out = Path(outdir) if outdir is not None else Path(tempfile.mkdtemp(prefix="schedlang-"))
    out.mkdir(parents=True, exist_ok=True)
    obj_path = out / f"{stem(path)}.bpf.o"
    clang, cmd, proc = build.run_clang(path, obj_path, include_dirs)
    if proc.returncode != 0:
        raise _error(source, _clang_findings(path, proc.stderr, cmd))
    hashes: dict[str, str | None] = {
        "source_sha256": sha256_bytes(source.text.encode()),
        "c_sha256": sha256_bytes(source.text.encode()),
        "object_sha256": None,
    }
    toolchain = {"schedlang": __version__, "clang": clang.version}
    try:
        manifest = cmanifest.derive(obj_path, source=str(path), hashes=hashes, toolchain=toolchain)
        if params:
            _override(obj_path, manifest, params, source)
    except (cmanifest.ManifestError, ObjectFormatError) as exc:
        obj_path.unlink()  # an object without a manifest is not a policy: leave nothing
        symbol = getattr(exc, "symbol", None)
        line, col = _declaration(source.text, symbol) if symbol else (1, 1)
        raise _error(source, [finding("C011", str(path), line, col, str(exc))]) from None
    except SchedlangError:
        obj_path.unlink()
        raise
    hashes["object_sha256"] = sha256_bytes(obj_path.read_bytes())
    manifest_path = out / f"{stem(path)}.json"
    manifest_path.write_text(manifest_json(manifest))
    return Artifact(
        name=str(manifest["policy"]),
        c_path=path,
        object_path=obj_path,
        manifest_path=manifest_path,
        manifest=manifest,
    )


def _override(
    obj_path: Path, manifest: dict[str, Any], params: Mapping[str, Any], source: SourceFile
) -> None:
    """Write each override into the object's section bytes and the manifest's `value`."""
    specs = {p["name"]: p for p in manifest["params"]}
    problems = []
    for name, raw in params.items():
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(specs) or "none"
            problems.append(
                finding("C012", source.path, 1, 1, f"no tunable `{name}` (tunables: {known})")
            )
            continue
        try:
            spec["value"] = param_value(spec, raw)
        except ValueError as exc:
            line, col = _declaration(source.text, name)
            problems.append(finding("C012", source.path, line, col, str(exc)))
    if problems:
        raise _error(source, problems)
    obj = ObjectFile.read(obj_path)
    data = bytearray(obj.data)
    for name in params:
        spec = specs[name]
        at = obj.sections[spec["section"]].offset + spec["offset"]
        data[at : at + spec["size"]] = int(spec["value"]).to_bytes(
            spec["size"], "little", signed=spec["signed"]
        )
    obj_path.write_bytes(bytes(data))


def _declaration(text: str, name: str) -> tuple[int, int]:
    """Line and column of global `name`'s declaration: a `volatile` global or the ops table,
    else a struct member (1, 1 if neither is found)."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    member = re.compile(rf"\b{re.escape(name)}\s*;")
    lines = text.splitlines()
    for wanted in (
        lambda line: ("volatile" in line or "sched_ext_ops" in line) and word.search(line),
        member.search,
    ):
        for number, line in enumerate(lines, start=1):
            if wanted(line):
                found = word.search(line)
                assert found is not None
                return number, found.start() + 1
    return 1, 1


def _clang_findings(c_path: Path, stderr: str, cmd: list[str]) -> list[Diagnostic]:
    """clang's errors as C010 findings at their own file:line:col (headers included)."""
    out = []
    for text in stderr.splitlines():
        m = build.CLANG_DIAG.match(text)
        if m and m["sev"] == "error":
            file = m["file"] if Path(m["file"]).is_absolute() else str(c_path.parent / m["file"])
            if Path(file).resolve() == c_path.resolve():
                file = str(c_path)
            out.append(finding("C010", file, int(m["line"]), int(m["col"]), m["msg"]))
    if not out:  # e.g. a crash or a driver error with no position
        tail = stderr.strip().splitlines()[-3:]
        out.append(finding("C010", str(c_path), 1, 1, f"{' '.join(cmd)}: {' / '.join(tail)}"))
    return out


def _error(source: SourceFile, findings: list[Diagnostic]) -> SchedlangError:
    return SchedlangError(source, findings)

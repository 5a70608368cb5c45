"""Hand-written sched_ext C as a policy: clang → manifest from the object → Artifact.

SchedCP's agents and every scx scheduler write C, so `schedlang compile/run FILE.bpf.c` take
it as they take a `.sched` file: once the C has passed the `verify-c` gate (run before this,
by schedlang/compiler.py, as the checker is for a `.sched` file), it is compiled with the same
clang and flags as generated C (build.py), and its manifest is read from the object's BTF
(cmanifest.py). From there the runtime cannot tell it from a compiled DSL policy. Every
problem is a `Problem` at `file:line:col` with its gate code (C010-C012, docs/verify-c.md),
raised together as `Rejected`; only a missing clang is a `build.ClangError`.

`--param NAME=VALUE` at compile time rewrites the tunable's initial value in the object's
data section (the bytes libbpf loads), and the manifest records it as `value`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schedlang.backends.artifact import Artifact, param_value
from schedlang.backends.bpf import build, cmanifest
from schedlang.backends.bpf.manifest import sha256_bytes
from schedlang.backends.bpf.objfile import ObjectFile, ObjectFormatError
from schedlang.backends.bpf.pipeline import manifest_json
from schedlang.source import SourceFile
from schedlang.version import __version__


@dataclass(frozen=True)
class Problem:
    """Why the C could not become a policy, where, under which gate code (docs/verify-c.md)."""

    code: str  # C010 clang rejected it, C011 the object is not a policy, C012 a bad --param
    file: str
    line: int
    col: int
    message: str


class Rejected(Exception):
    """The C did not compile into a loadable policy; `problems` says why, each at its place."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def stem(c_path: Path) -> str:
    """`simple` for `simple.bpf.c` or `simple.c`: the name of the files compile writes."""
    return c_path.name.removesuffix(".c").removesuffix(".bpf")


def compile_c_policy(
    source: SourceFile,
    params: Mapping[str, Any] | None,
    outdir: Path,
    *,
    include_dirs: tuple[str, ...] = (),
) -> Artifact:
    """Compile and describe the C file `source` (its path and text; it passed the gate);
    writes STEM.bpf.o and STEM.json into `outdir`. Rejected says why it is not a policy;
    build.ClangError when there is no usable clang."""
    path = Path(source.path)
    out = outdir
    out.mkdir(parents=True, exist_ok=True)
    obj_path = out / f"{stem(path)}.bpf.o"
    clang, cmd, proc = build.run_clang(path, obj_path, include_dirs)
    if proc.returncode != 0:
        raise Rejected(_clang_problems(path, proc.stderr, cmd))
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
        raise Rejected([Problem("C011", str(path), line, col, str(exc))]) from None
    except Rejected:
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
                Problem("C012", source.path, 1, 1, f"no tunable `{name}` (tunables: {known})")
            )
            continue
        try:
            spec["value"] = param_value(spec, raw)
        except ValueError as exc:
            line, col = _declaration(source.text, name)
            problems.append(Problem("C012", source.path, line, col, str(exc)))
    if problems:
        raise Rejected(problems)
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


def _clang_problems(c_path: Path, stderr: str, cmd: list[str]) -> list[Problem]:
    """clang's errors as C010 problems at their own file:line:col (headers included)."""
    out = []
    for text in stderr.splitlines():
        m = build.CLANG_DIAG.match(text)
        if m and m["sev"] == "error":
            file = m["file"] if Path(m["file"]).is_absolute() else str(c_path.parent / m["file"])
            if Path(file).resolve() == c_path.resolve():
                file = str(c_path)
            out.append(Problem("C010", file, int(m["line"]), int(m["col"]), m["msg"]))
    if not out:  # e.g. a crash or a driver error with no position
        tail = stderr.strip().splitlines()[-3:]
        out.append(Problem("C010", str(c_path), 1, 1, f"{' '.join(cmd)}: {' / '.join(tail)}"))
    return out

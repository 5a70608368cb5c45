"""The one route from a policy to an Artifact: `schedlang compile`, `schedlang run` and
`schedlang.compile` all call `compile_policy`.

A `.sched` policy goes through the checker, then the backend (`backends/bpf/pipeline.py`); a
hand-written `.bpf.c` through the `verify-c` gate, then clang (`backends/bpf/cpolicy.py`).
The route lives in the api layer because it joins stages the backend must not know: the
backend starts from a CheckedProgram, or from C that already passed the gate, and imports
neither the checker nor the gate (docs/internals.md, "Layers").
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schedlang import ir
from schedlang.backends.artifact import Artifact
from schedlang.backends.bpf import compat, cpolicy
from schedlang.backends.bpf.pipeline import compile_checked
from schedlang.backends.semantics import DEFAULT_TIMEOUT_MS
from schedlang.checker import check_path, check_source
from schedlang.diagnostics import Diagnostic, Diagnostics
from schedlang.errors import SchedlangError
from schedlang.source import SourceFile
from schedlang.verify_c import verify
from schedlang.verify_c.findings import finding


@dataclass(frozen=True)
class Compiled:
    """What compiling one policy gave: the artifact when it compiled, and every diagnostic
    (the errors that stopped it, or the warnings it compiled with)."""

    source: SourceFile
    artifact: Artifact | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    checked: ir.CheckedProgram | None = None  # a `.sched` policy the checker accepted
    imported: dict[str, SourceFile] = field(default_factory=dict)  # files its imports read


def is_c_policy(target: object) -> bool:
    """True for a path (str or Path) naming a C file, as opposed to DSL text or a `.sched`."""
    if isinstance(target, Path):
        return target.name.endswith(".c")
    return isinstance(target, str) and "\n" not in target and target.strip().endswith(".c")


def compile_policy(
    policy: str | Path | SourceFile,
    params: Mapping[str, Any] | None = None,
    outdir: str | Path | None = None,
    *,
    emit: str = "all",
    kernel_api: str = compat.DEFAULT_KERNEL_API,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    include_dirs: tuple[str, ...] = (),
) -> Compiled:
    """Check (or gate) and compile `policy`: a `.sched` or `.bpf.c` path, policy text, or a
    SourceFile. Files go to `outdir` (a fresh, kept temporary directory when None).

    Problems with the policy or a `--param` come back as diagnostics with no artifact.
    Raises OSError when the file cannot be read, ValueError for a bad option (`emit`,
    `kernel_api`, `timeout_ms`, or `emit="c"` for C), build.ClangError when there is no usable
    clang, build.GeneratedCRejected when clang refuses generated C (a bug in schedlang)."""
    out = Path(outdir) if outdir is not None else Path(tempfile.mkdtemp(prefix="schedlang-"))
    if is_c_policy(policy):
        if emit == "c":
            raise ValueError("emit='c': a C policy is already C; emit 'obj' or 'all'")
        return _compile_c(Path(str(policy)), params, out, include_dirs)
    checked, diags = check(policy)
    if checked is None:
        return Compiled(diags.source, None, list(diags), imported=diags.imported)
    try:
        artifact = compile_checked(
            checked, out, params=params, emit=emit, kernel_api=kernel_api, timeout_ms=timeout_ms
        )
    except SchedlangError as exc:  # a bad --param
        return Compiled(diags.source, None, [*diags, *exc.diagnostics], checked)
    return Compiled(diags.source, artifact, list(diags), checked)


def check(policy: str | Path | SourceFile) -> tuple[ir.CheckedProgram | None, Diagnostics]:
    """Check a policy given as a path, as text, or as a SourceFile (`diags.source` is the
    text checked). A file that is not UTF-8 gets a `not-text` diagnostic; OSError when it
    cannot be read."""
    if isinstance(policy, SourceFile) or _is_text(policy):
        return check_source(_source(policy))
    return check_path(policy)


def _is_text(policy: str | Path) -> bool:
    """Policy text rather than a path: it has a newline or a `{`."""
    return isinstance(policy, str) and ("\n" in policy or "{" in policy)


def _source(policy: str | Path | SourceFile) -> SourceFile:
    return policy if isinstance(policy, SourceFile) else SourceFile("<string>", str(policy))


def _compile_c(
    path: Path, params: Mapping[str, Any] | None, out: Path, include_dirs: tuple[str, ...]
) -> Compiled:
    """The `verify-c` gate, then clang and the manifest; the gate's findings and the build's
    problems (C010-C012) alike become diagnostics."""
    source = SourceFile(str(path), path.read_text(encoding="utf-8", errors="replace"))
    findings = verify(str(path), include_dirs=include_dirs)
    if findings:
        return Compiled(source, None, findings)
    try:
        artifact = cpolicy.compile_c_policy(source, params, out, include_dirs=include_dirs)
    except cpolicy.Rejected as exc:
        problems = [finding(p.code, p.file, p.line, p.col, p.message) for p in exc.problems]
        return Compiled(source, None, problems)
    return Compiled(source, artifact)

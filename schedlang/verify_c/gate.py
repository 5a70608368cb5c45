"""The gate's driver: read → preprocess → blank extensions → parse → rules.

Why one function: the CLI, the Python API and the C backend's self-check all need the same
answer for the same file. Each stage either hands plain data to the next or returns
findings; a stage that fails stops the pipeline with a "not analysed" finding, never a
traceback.
"""

from __future__ import annotations

import os

from schedlang.diagnostics import Diagnostic
from schedlang.verify_c import extensions, preprocess, program
from schedlang.verify_c import findings as F
from schedlang.verify_c.parse import ParseFailure, parse
from schedlang.verify_c.rules import RULES
from schedlang.verify_c.source import Source, load


def verify(
    path_or_text: str | os.PathLike[str],
    *,
    name: str | None = None,
    include_dirs: tuple[str, ...] = (),
) -> list[Diagnostic]:
    """All findings for a C file (path) or C text; an empty list means the gate passes."""
    source = load(path_or_text, name)
    if isinstance(source, Diagnostic):
        return [source]
    pre = preprocess.run(source, include_dirs)
    if isinstance(pre, list):
        return pre
    try:
        findings = _analyse(source, pre)
    except Exception as exc:  # a gap in the gate is reported, never a traceback
        return [F.found(F.GATE_FAILED, source.name, 1, 1, exception=type(exc).__name__, error=exc)]
    return sorted(findings, key=lambda x: (x.file != source.name, x.file, x.line, x.col, x.code))


def _analyse(source: Source, pre: preprocess.Preprocessed) -> list[Diagnostic]:
    stripped = extensions.strip(pre.text)
    located = program.locator(source.name, source.text, stripped, pre.origins)
    findings = []
    for offset in stripped.asm_offsets:
        index, col = stripped.position(offset)
        origin = pre.origins[index] or (source.name, 1)
        findings.append(
            F.found(F.ASM_STATEMENT, origin[0], origin[1], located.column(*origin, col))
        )
    try:
        ast = parse(stripped, pre.origins, source.name)
    except ParseFailure as f:
        detail = f.message + (f"; likely cause: {f.cause}" if f.cause else "")
        col = located.column(f.file, f.line, f.col)
        return findings + [F.finding("C102", f.file, f.line, col, detail)]
    prog = program.build(source.name, stripped, pre.origins, ast, located)
    for rule in RULES:
        try:
            findings += rule(prog)
        except Exception as exc:  # a gap in a rule is reported, never a traceback
            where = rule.__module__.rsplit(".", 1)[-1]
            findings.append(
                F.found(
                    F.RULE_FAILED,
                    source.name,
                    1,
                    1,
                    rule=where,
                    exception=type(exc).__name__,
                    error=exc,
                )
            )
    return findings

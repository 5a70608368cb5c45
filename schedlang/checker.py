"""The checker: source → CheckedProgram, or diagnostics saying why not.

Order: parse, imports (each `import` replaced by the declarations it brings, so everything
after sees one program: schedlang/imports.py), typecheck (AST → IR; every rule needs types),
then every safety rule in `schedlang.passes.RULES`. All rules run even after one fails, so an agent sees all of a
file's problems at once; only a program every rule accepted is sealed as a CheckedProgram.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from schedlang import codes as C
from schedlang import imports, ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import RULES, typecheck
from schedlang.source import SourceFile
from schedlang.syntax import parse_source

# The compile-time CPU limit: `[T; cpus]` arrays have this many slots and `for c in cpus`
# visits at most this many CPUs.
DEFAULT_MAX_CPUS = 64

PASS_NAMES = ("parse", "imports", "typecheck", *(name for name, _ in RULES))

Dump = Callable[[str, object], None]


def check_source(
    source: SourceFile, *, max_cpus: int = DEFAULT_MAX_CPUS, dump: Dump | None = None
) -> tuple[ir.CheckedProgram | None, Diagnostics]:
    """Run every pass; `dump(pass_name, output)` sees each pass's output (--dump-after)."""
    diags = Diagnostics(source)
    tree = parse_source(source, diags)
    if dump:
        dump("parse", tree)
    if tree is None:
        return None, diags
    resolved = imports.run(tree, diags)
    if dump and resolved:
        dump("imports", resolved[0])
    if resolved is None:
        return None, diags
    tree, origins = resolved
    program = typecheck.run(tree, diags, path=source.path, max_cpus=max_cpus)
    if program is not None and origins:
        program = dataclasses.replace(program, imported=origins)
    if dump:
        dump("typecheck", program)
    if program is None:
        return None, diags
    facts: dict[str, object] = {}
    for name, rule in RULES:
        facts.update(rule(program, diags))
        if dump:
            dump(name, facts)
    if diags.has_errors:
        return None, diags
    return ir.seal(program, facts, source), diags


def check_path(
    path: str | Path, *, max_cpus: int = DEFAULT_MAX_CPUS, dump: Dump | None = None
) -> tuple[ir.CheckedProgram | None, Diagnostics]:
    """Check a policy file; bytes that are not UTF-8 text give a `not-text` diagnostic."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        diags = Diagnostics(SourceFile(str(path), data.decode("utf-8", errors="replace")))
        diags.error(C.NOT_UTF8, diags.source.span_at(len(data[: err.start].decode("utf-8"))))
        return None, diags
    return check_source(SourceFile(str(path), text), max_cpus=max_cpus, dump=dump)

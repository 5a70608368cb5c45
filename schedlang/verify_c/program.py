"""What every rule works on: the AST plus the facts the parse alone does not keep.

Why: rules should only look at C, not at cpp markers or blanked attributes. `Program` gives
them the defined functions, the ELF section of each top-level declaration, and `at()`, which
turns a pycparser node into a finding at the original file:line:col.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pycparser import c_ast

from schedlang.codes import Phrase
from schedlang.diagnostics import Diagnostic
from schedlang.verify_c.extensions import Stripped
from schedlang.verify_c.findings import found
from schedlang.verify_c.locate import Locator


@dataclass(frozen=True)
class Program:
    name: str
    ast: c_ast.FileAST
    functions: Mapping[str, c_ast.FuncDef]
    sections: Mapping[int, tuple[str, ...]]  # id(top-level node) -> its section attributes
    locator: Locator

    def section_of(self, node: c_ast.Node) -> tuple[str, ...]:
        return self.sections.get(id(node), ())

    def at(
        self,
        node: c_ast.Node | None,
        detail: Phrase,
        *,
        suggest: Sequence[str] = (),
        **fields: object,
    ) -> Diagnostic:
        """The diagnostic for `detail` (a wording of findings.py) at `node`'s original place."""
        coord = getattr(node, "coord", None)
        if coord is None or not coord.line:
            return found(detail, self.name, 1, 1, suggest=suggest, **fields)
        file, line = coord.file or self.name, coord.line
        col = self.locator.column(file, line, coord.column or 1)
        return found(detail, file, line, col, suggest=suggest, **fields)


def _index_of(origins: tuple[tuple[str, int] | None, ...]) -> dict[tuple[str, int], int]:
    """The first output line index for each original (file, line)."""
    index_of: dict[tuple[str, int], int] = {}
    for index, origin in enumerate(origins):
        if origin is not None:
            index_of.setdefault(origin, index)
    return index_of


def locator(
    name: str, text: str, stripped: Stripped, origins: tuple[tuple[str, int] | None, ...]
) -> Locator:
    pp_lines = stripped.text.split("\n")
    return Locator(name, text, {origin: pp_lines[i] for origin, i in _index_of(origins).items()})


def build(
    name: str,
    stripped: Stripped,
    origins: tuple[tuple[str, int] | None, ...],
    ast: c_ast.FileAST,
    located: Locator,
) -> Program:
    index_of = _index_of(origins)
    functions = {e.decl.name: e for e in ast.ext if isinstance(e, c_ast.FuncDef)}
    starts = [item.start for item in stripped.items]
    sections: dict[int, tuple[str, ...]] = {}
    for ext in ast.ext:
        coord = ext.coord
        index = index_of.get((coord.file, coord.line)) if coord else None
        if index is None or coord is None:
            continue
        offset = stripped.line_starts[index] + (coord.column or 1) - 1
        k = bisect.bisect_right(starts, offset) - 1
        if k >= 0 and offset < stripped.items[k].end:
            sections[id(ext)] = stripped.items[k].sections
    return Program(name, ast, functions, sections, located)

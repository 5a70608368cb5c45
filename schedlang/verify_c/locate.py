"""Map a position in the preprocessed text back to a column of the ORIGINAL source line.

Why: cpp keeps lines (through its markers) but not columns: it collapses whitespace and
expands macros. Both lines are tokenised and aligned (difflib); a token that came out of a
macro expansion maps to the macro's name in the original line, which is where a person
looks for it.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"?|\'(?:[^\'\\\n]|\\.)*\'?|[A-Za-z_]\w*|\.?\d(?:[eEpP][+-]|[\w.])*'
    r"|->|\+\+|--|<<=?|>>=?|[<>=!&|^+\-*/%]=|&&|\|\||\.\.\.|##|\S"
)
_BLOCK_COMMENT = re.compile(r"/\*.*?(\*/|$)")


def tokens(line: str) -> list[tuple[str, int]]:
    """(text, 1-based column) of each C token of one line, comments dropped."""
    cut = line.find("//")
    while cut >= 0 and line.count('"', 0, cut) % 2:  # '//' inside a string literal
        cut = line.find("//", cut + 2)
    if cut >= 0:
        line = line[:cut]
    line = _BLOCK_COMMENT.sub(lambda m: " " * len(m.group()), line)
    return [(m.group(), m.start() + 1) for m in _TOKEN.finditer(line)]


@dataclass
class Locator:
    """Original source lines by file, and the preprocessed line for each (file, line)."""

    main_name: str
    main_text: str
    pp_lines: dict[tuple[str, int], str]
    _files: dict[str, list[str] | None] = field(default_factory=dict)

    def source_line(self, file: str, line: int) -> str | None:
        lines = self._lines(file)
        if lines is None or not 1 <= line <= len(lines):
            return None
        return lines[line - 1]

    def column(self, file: str, line: int, pp_col: int) -> int:
        """The original column for column `pp_col` of the preprocessed text of file:line."""
        original = self.source_line(file, line)
        pp = self.pp_lines.get((file, line))
        if original is None or pp is None:
            return pp_col
        pp_toks, src_toks = tokens(pp), tokens(original)
        if not pp_toks or not src_toks:
            return pp_col
        index = next(
            (k for k, (text, col) in enumerate(pp_toks) if col + len(text) > pp_col),
            len(pp_toks) - 1,
        )
        matcher = difflib.SequenceMatcher(
            None, [t for t, _ in pp_toks], [t for t, _ in src_toks], autojunk=False
        )
        for tag, i1, i2, j1, _j2 in matcher.get_opcodes():
            if i1 <= index < i2:
                if tag == "equal":
                    return src_toks[j1 + index - i1][1]
                j = min(j1, len(src_toks) - 1)
                return src_toks[j][1]
        return pp_col

    def _lines(self, file: str) -> list[str] | None:
        if file not in self._files:
            if file == self.main_name:
                self._files[file] = self.main_text.split("\n")
            elif os.path.isfile(file):
                try:
                    with open(file, encoding="utf-8", errors="replace") as f:
                        self._files[file] = f.read().split("\n")
                except OSError:
                    self._files[file] = None
            else:
                self._files[file] = None
        return self._files[file]

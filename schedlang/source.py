"""Source text and positions.

Every diagnostic names a file:line:col and shows the line with a caret, so positions are kept
as both offsets (for slicing) and 1-based line/column (for people and agents).
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A half-open region [start, end) of one source file; line and col are 1-based.

    `file` is empty for the file being checked. A declaration brought in by an `import`
    keeps the spans of the file it was written in, with `file` naming that file, so a
    diagnostic about it points at its own lines (schedlang/imports.py). Spans compare
    without it: a tree is equal to itself wherever it was read from.
    """

    line: int
    col: int
    end_line: int
    end_col: int
    start: int = 0
    end: int = 0
    file: str = field(default="", compare=False)

    def to(self, other: Span) -> Span:
        """The span from the start of self to the end of other."""
        return Span(
            self.line, self.col, other.end_line, other.end_col, self.start, other.end, self.file
        )


NOWHERE = Span(1, 1, 1, 1, 0, 0)


# The line ends, here and in the lexer: `\n`, `\r\n` and a lone `\r`. str.splitlines() also
# splits at \v, \f, \x1c-\x1e, \x85, U+2028 and U+2029, which the lexer reads as ordinary
# characters, so using it would show the wrong source line after one of them in a comment.
LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str

    @functools.cached_property
    def _line_starts(self) -> list[int]:
        return [0, *(m.end() for m in LINE_END.finditer(self.text))]

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def line_text(self, line: int) -> str:
        """Line `line` (1-based) without its line end; "" past the end."""
        starts = self._line_starts
        if not 0 < line <= len(starts):
            return ""
        end = starts[line] if line < len(starts) else len(self.text)
        return self.text[starts[line - 1] : end].rstrip("\r\n")

    def span_at(self, offset: int) -> Span:
        """The one-character span at a character offset (used for lexer errors)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset)
        col = offset - self._line_starts[line - 1] + 1
        return Span(line, col, line, col + 1, offset, offset + 1)

"""Source text and positions.

Every diagnostic names a file:line:col and shows the line with a caret, so positions are kept
as both offsets (for slicing) and 1-based line/column (for people and agents).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A half-open region [start, end) of one source file; line and col are 1-based."""

    line: int
    col: int
    end_line: int
    end_col: int
    start: int = 0
    end: int = 0

    def to(self, other: Span) -> Span:
        """The span from the start of self to the end of other."""
        return Span(self.line, self.col, other.end_line, other.end_col, self.start, other.end)


NOWHERE = Span(1, 1, 1, 1, 0, 0)


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def span_at(self, offset: int) -> Span:
        """The one-character span at a byte offset (used for lexer errors)."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        col = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return Span(line, col, line, col + 1, offset, offset + 1)

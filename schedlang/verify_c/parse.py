"""Parse the cleaned, preprocessed text with pycparser; a failure becomes a C102 finding.

Why the bisection: pycparser 3 sometimes reports an error without a position ("Invalid
expression"). Parsing growing prefixes of the top-level items finds the first declaration
that does not parse, so the finding still points at a line of the original file.
"""

from __future__ import annotations

import re

from pycparser import c_ast, c_parser

from schedlang.verify_c.extensions import Stripped

_LOCATED = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$")
_UNLOCATED = re.compile(r"^(?P<file>.*?): (?P<msg>.*)$")

# Constructs the gate cannot parse, looked for in the failing text to make the hint precise.
_KNOWN_CAUSES = (
    (re.compile(r"\?\s*:"), "the GNU `a ?: b` operator: write `a ? a : b`"),
    (re.compile(r"\b__int128\b|\b_Float\d+\b"), "a compiler-specific type (__int128, _FloatN)"),
    (
        re.compile(r"\b__builtin_va_\w+|\b__builtin_types_compatible_p\b"),
        "a builtin that takes a type",
    ),
    (
        re.compile(r"\b[A-Z][A-Z0-9_]{2,}\s*\("),
        "a macro the gate could not see (is its header included?)",
    ),
)


class ParseFailure(Exception):
    """Where pycparser stopped: (file, line, col) in cpp-output coordinates, and why."""

    def __init__(self, file: str, line: int, col: int, message: str, cause: str) -> None:
        super().__init__(message)
        self.file, self.line, self.col, self.message, self.cause = file, line, col, message, cause


def parse(
    stripped: Stripped, origins: tuple[tuple[str, int] | None, ...], name: str
) -> c_ast.FileAST:
    """The AST, or raise ParseFailure with a position in the original file."""
    try:
        return c_parser.CParser().parse(stripped.text, name)
    except c_parser.ParseError as exc:
        message = str(exc)
    except Exception as exc:  # pycparser's own bugs on odd input must not become tracebacks
        message = f"{name}: the parser failed ({type(exc).__name__}: {exc})"
    located = _LOCATED.match(message)
    if located:
        line, col = int(located["line"]), int(located["col"])
        detail = located["msg"]
        text = _pp_line_for(stripped, origins, located["file"], line)
        raise ParseFailure(located["file"], line, col, detail, _cause(text))
    unlocated = _UNLOCATED.match(message)
    detail = unlocated["msg"] if unlocated else message
    start, end = _first_bad_item(stripped)
    cause, where = _cause_at(stripped.text, start, end)
    index, col = stripped.position(where if where is not None else start)
    origin = _origin_at(origins, index)
    raise ParseFailure(
        origin[0] if origin else name,
        origin[1] if origin else 1,
        col,
        detail,
        cause,
    )


def _first_bad_item(stripped: Stripped) -> tuple[int, int]:
    """Offsets of the first top-level item whose prefix stops parsing (binary search)."""
    items = stripped.items
    lo, hi = 0, len(items) - 1
    if hi < 0:
        return 0, len(stripped.text)
    while lo < hi:
        mid = (lo + hi) // 2
        try:
            c_parser.CParser().parse(stripped.text[: items[mid].end], "prefix")
            lo = mid + 1
        except Exception:  # any failure means the bad item is at or before mid
            hi = mid
    return items[lo].start, items[lo].end


def _origin_at(origins: tuple[tuple[str, int] | None, ...], index: int) -> tuple[str, int] | None:
    while index < len(origins) and origins[index] is None:
        index += 1
    return origins[index] if index < len(origins) else None


def _pp_line_for(
    stripped: Stripped, origins: tuple[tuple[str, int] | None, ...], file: str, line: int
) -> str:
    lines = stripped.text.split("\n")
    for index, origin in enumerate(origins):
        if origin == (file, line):
            return lines[index]
    return ""


def _cause(text: str) -> str:
    return _cause_at(text, 0, len(text))[0]


def _cause_at(text: str, start: int, end: int) -> tuple[str, int | None]:
    """The first known unparseable construct in text[start:end], and its offset."""
    for pattern, cause in _KNOWN_CAUSES:
        m = pattern.search(text, start, end)
        if m:
            return cause, m.start()
    return "", None

"""Blank out the compiler extensions pycparser cannot read, remembering what mattered.

Why after cpp and not with `#define`: `__attribute__((section("license")))` carries the
facts the gate checks (license and struct_ops sections), so it is read here, then replaced
by spaces of the same length so pycparser's columns stay those of the cpp output.
`asm` statements are blanked and reported (the gate cannot see into them); `typeof(T)`
loses its keyword and parentheses, which is exact when T is a type (the common
`__type(key, u32)` map idiom).

The same scan splits the file into top-level items (one declaration or function each), so a
section attribute can be tied to the declaration it belongs to.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_ATTRIBUTE = {"__attribute__", "__attribute"}
_ASM = {"asm", "__asm__", "__asm"}
_ASM_QUALIFIERS = {"volatile", "__volatile__", "goto", "inline", "__inline__"}
_TYPEOF = {"typeof", "__typeof__", "__typeof"}
_IDENT = re.compile(r"[A-Za-z_]\w*")
_NUMBER = re.compile(r"\.?\d(?:[eEpP][+-]|[\w.])*")
_SECTION = re.compile(r'\bsection\s*\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)')
_STRING_PIECE = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class TopItem:
    """A top-level declaration or function definition: [start, end) offsets, its sections."""

    start: int
    end: int
    sections: tuple[str, ...]


@dataclass(frozen=True)
class Stripped:
    text: str
    items: tuple[TopItem, ...]
    asm_offsets: tuple[int, ...]
    line_starts: tuple[int, ...]

    def position(self, offset: int) -> tuple[int, int]:
        """(0-based output line index, 1-based column) of an offset."""
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index, offset - self.line_starts[index] + 1


def strip(text: str) -> Stripped:
    chars = list(text)
    n = len(text)
    items: list[TopItem] = []
    asm: list[int] = []
    sections: list[str] = []
    depth = 0
    body_open = False
    prev = ""
    item_start: int | None = None

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if chars[k] != "\n":
                chars[k] = " "

    def close_item(end: int) -> None:
        nonlocal item_start, sections
        if item_start is not None:
            items.append(TopItem(item_start, end, tuple(sections)))
        item_start, sections = None, []

    i = 0
    while i < n:
        c = text[i]
        if c == "#":  # a marker or pragma line: cpp leaves no other '#' outside literals
            i = _line_end(text, i)
            continue
        if c.isspace():
            i += 1
            continue
        if item_start is None:
            item_start = i
        if c in "\"'":
            j = _literal_end(text, i)
            prev = text[i:j]
            i = j
            continue
        m = _IDENT.match(text, i)
        if m:
            word, j = m.group(), m.end()
            k = _skip_space(text, j)
            if word in _ATTRIBUTE and k < n and text[k] == "(":
                e = _paren_end(text, k)
                for sm in _SECTION.finditer(text, k, e):
                    sections.append("".join(_STRING_PIECE.findall(sm[1])))
                blank(i, e)
                i = e
                continue
            if word in _ASM:
                while True:
                    q = _IDENT.match(text, k)
                    if not q or q.group() not in _ASM_QUALIFIERS:
                        break
                    k = _skip_space(text, q.end())
                if k < n and text[k] == "(":
                    e = _paren_end(text, k)
                    blank(i, e)
                    asm.append(i)
                    i = e
                    continue
            if word in _TYPEOF and k < n and text[k] == "(":
                e = _paren_end(text, k)
                blank(i, k + 1)
                blank(e - 1, e)
                i = k  # scan on from the '(' (blanked in the output, counted for depth here)
                continue
            prev = word
            i = j
            continue
        m = _NUMBER.match(text, i)
        if m:
            prev = m.group()
            i = m.end()
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "{":
            if depth == 0:
                body_open = prev == ")"
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and body_open:
                body_open = False
                prev = c
                i += 1
                close_item(i)
                continue
        elif c == ";" and depth == 0:
            close_item(i + 1)
            prev = c
            i += 1
            continue
        prev = c
        i += 1
    close_item(n)
    starts = [0] + [k + 1 for k, ch in enumerate(text) if ch == "\n"]
    return Stripped("".join(chars), tuple(items), tuple(asm), tuple(starts))


def _line_end(text: str, i: int) -> int:
    j = text.find("\n", i)
    return len(text) if j < 0 else j


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _literal_end(text: str, i: int) -> int:
    quote, j = text[i], i + 1
    while j < len(text) and text[j] != quote and text[j] != "\n":
        j += 2 if text[j] == "\\" else 1
    return min(j + 1, len(text))


def _paren_end(text: str, i: int) -> int:
    """Offset just after the parenthesis matching the one at `i` (string-aware)."""
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c in "\"'":
            j = _literal_end(text, j)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(text)

"""JSON that remembers where each value was written.

A workload file is written by hand, so a wrong value must be reported at its line and
column, not as "bad value somewhere". Python's `json` gives positions only for syntax errors,
so this small reader (RFC 8259, nothing more) returns every object, array and scalar as a
`Node` with its 1-based line and column. Duplicate keys are an error here (`json` silently
keeps the last one; rt-app's own reader does too, which loses events without a word).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_WS = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True)
class Node:
    """A JSON value: `value` is a dict of str -> Node, a list of Node, or a scalar. A member
    of an object also knows where its key was written (`key_line`, `key_col`; else 0)."""

    value: Any
    line: int
    col: int
    key_line: int = 0
    key_col: int = 0

    @property
    def key_at(self) -> tuple[int, int]:
        """Where to point at this value's key (its own position for a non-member)."""
        return (self.key_line, self.key_col) if self.key_line else (self.line, self.col)

    def plain(self) -> Any:
        """The value with every Node unwrapped (for error messages and tests)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


class JsonPosError(ValueError):
    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        # Offsets where each line starts, to turn an offset into (line, col).
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self.line_starts[lo] + 1

    def fail(self, message: str, offset: int | None = None) -> JsonPosError:
        line, col = self.where(self.pos if offset is None else offset)
        return JsonPosError(message, line, col)

    def skip_ws(self) -> None:
        match = _WS.match(self.text, self.pos)
        assert match is not None  # the pattern matches the empty string
        self.pos = match.end()

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def value(self) -> Node:
        self.skip_ws()
        start = self.pos
        line, col = self.where(start)
        ch = self.peek()
        if ch == "{":
            return Node(self.obj(), line, col)
        if ch == "[":
            return Node(self.array(), line, col)
        if ch == '"':
            return Node(self.string(), line, col)
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, start):
                self.pos += len(word)
                return Node(val, line, col)
        match = _NUMBER.match(self.text, start)
        if match:
            self.pos = match.end()
            number = match.group(0)
            is_int = not any(c in number for c in ".eE")
            return Node(int(number) if is_int else float(number), line, col)
        if not ch:
            raise self.fail("the file ends where a value was expected")
        raise self.fail(f"unexpected {ch!r} where a value was expected")

    def string(self) -> str:
        try:
            text, end = json.decoder.scanstring(self.text, self.pos + 1)  # type: ignore[attr-defined]
        except json.JSONDecodeError as err:
            raise self.fail(err.msg, err.pos) from None
        self.pos = end
        return str(text)

    def expect(self, ch: str, what: str) -> None:
        self.skip_ws()
        if self.peek() != ch:
            found = repr(self.peek()) if self.peek() else "the end of the file"
            raise self.fail(f"expected {what}, found {found}")
        self.pos += 1

    def obj(self) -> dict[str, Node]:
        self.pos += 1
        members: dict[str, Node] = {}
        self.skip_ws()
        if self.peek() == "}":
            self.pos += 1
            return members
        while True:
            self.skip_ws()
            if self.peek() != '"':
                hint = " (JSON has no trailing commas)" if self.peek() == "}" else ""
                raise self.fail(f"expected a quoted key{hint}")
            key_at = self.pos
            key = self.string()
            if key in members:
                first = members[key]
                raise self.fail(
                    f"duplicate key '{key}' (first at line {first.line}); JSON keeps only "
                    "the last one, so number repeated events: run0, run1, ...",
                    key_at,
                )
            self.expect(":", "':' after the key")
            value = self.value()
            key_line, key_col = self.where(key_at)
            members[key] = replace(value, key_line=key_line, key_col=key_col)
            self.skip_ws()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("}", "',' or '}' after the value")
            return members

    def array(self) -> list[Node]:
        self.pos += 1
        items: list[Node] = []
        self.skip_ws()
        if self.peek() == "]":
            self.pos += 1
            return items
        while True:
            items.append(self.value())
            self.skip_ws()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]", "',' or ']' after the value")
            return items


def loads(text: str) -> Node:
    """Parse `text` as one JSON value; JsonPosError says where and what is wrong."""
    reader = _Reader(text)
    node = reader.value()
    reader.skip_ws()
    if reader.pos != len(text):
        raise reader.fail("unexpected text after the end of the JSON value")
    return node

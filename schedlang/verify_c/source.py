"""The input of the gate: a file path or C text, read once, checked to be text at all.

Why a module: "garbage in" (binary, empty, not UTF-8) must become a diagnostic, never a
traceback, and every later stage wants the same name and lines for its messages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from schedlang.diagnostics import Diagnostic
from schedlang.verify_c import findings as F


@dataclass(frozen=True)
class Source:
    """C source text with the name findings use; `path` is set when it came from a file."""

    name: str
    text: str
    path: str | None = None

    @property
    def directory(self) -> str | None:
        return os.path.dirname(os.path.abspath(self.path)) if self.path else None


def load(path_or_text: str | os.PathLike[str], name: str | None = None) -> Source | Diagnostic:
    """Read a path (if it names an existing file) or take the string as C text.

    A string containing a newline is always text; a one-line string that names no file is
    treated as text too, so `verify("int x;")` works.
    """
    if isinstance(path_or_text, os.PathLike) or (
        "\n" not in path_or_text and os.path.isfile(path_or_text)
    ):
        path = os.fspath(path_or_text)
        display = name or path
        try:
            raw = open(path, "rb").read()
        except OSError as exc:
            return F.found(F.CANNOT_READ, display, 1, 1, path=path, reason=exc.strerror)
        return _decode(raw, display, path)
    if _looks_like_path(path_or_text):
        return F.found(F.NO_SUCH_FILE, path_or_text, 1, 1, path=path_or_text)
    return _decode(path_or_text.encode("utf-8", "surrogatepass"), name or "<input>", None)


def _looks_like_path(text: str) -> bool:
    """A one-word string ending in .c or .h was meant as a file name, not as C text."""
    word = text.strip()
    return "\n" not in word and " " not in word and word.endswith((".c", ".h"))


def _decode(raw: bytes, name: str, path: str | None) -> Source | Diagnostic:
    if not raw.strip():
        return F.found(F.EMPTY_INPUT, name, 1, 1)
    nul = raw.find(b"\0")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        return F.found(F.NUL_BYTES, name, line, 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return F.found(F.NOT_UTF8, name, line, 1, offset=exc.start)
    return Source(name, text, path)

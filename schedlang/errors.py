"""The one exception the public API raises for bad input: it carries the diagnostics."""

from __future__ import annotations

from schedlang.diagnostics import Diagnostic, render_text
from schedlang.source import SourceFile


class SchedlangError(Exception):
    """Raised by `parse`/`compile` when the source has errors; `str()` is the rendered text."""

    def __init__(self, source: SourceFile, diagnostics: list[Diagnostic]) -> None:
        self.source = source
        self.diagnostics = diagnostics
        super().__init__("\n".join(render_text(d, source) for d in diagnostics))

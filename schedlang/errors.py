"""The one exception the public API raises for bad input: it carries the diagnostics."""

from __future__ import annotations

from schedlang.diagnostics import Diagnostic, render_all
from schedlang.source import SourceFile


class SchedlangError(Exception):
    """Raised by `parse`/`compile` when the source has errors; `str()` is the rendered text."""

    def __init__(self, source: SourceFile, diagnostics: list[Diagnostic]) -> None:
        self.source = source
        self.diagnostics = diagnostics
        # A diagnostic in another file (a header of a C policy) is shown without source text.
        super().__init__(render_all(diagnostics, {source.path: source}))

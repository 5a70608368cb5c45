"""The one exception the public API raises for bad input: it carries the diagnostics."""

from __future__ import annotations

from schedlang.diagnostics import Diagnostic, render_text
from schedlang.source import SourceFile


class SchedlangError(Exception):
    """Raised by `parse`/`compile` when the source has errors; `str()` is the rendered text."""

    def __init__(self, source: SourceFile, diagnostics: list[Diagnostic]) -> None:
        self.source = source
        self.diagnostics = diagnostics
        # A diagnostic in another file (a header of a C policy) is shown without source text.
        super().__init__(
            "\n".join(
                render_text(d, source if d.path == source.path else None) for d in diagnostics
            )
        )

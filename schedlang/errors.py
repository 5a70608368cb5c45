"""The one exception the public API raises for bad input: it carries the diagnostics."""

from __future__ import annotations

from schedlang.diagnostics import Diagnostic, render_all
from schedlang.source import SourceFile


class SchedlangError(Exception):
    """Raised by `parse`/`compile` when the source has errors; `str()` is the rendered text."""

    def __init__(
        self,
        source: SourceFile,
        diagnostics: list[Diagnostic],
        imported: dict[str, SourceFile] | None = None,
    ) -> None:
        self.source = source
        self.diagnostics = diagnostics
        # A diagnostic in another file is shown with its line when that file's text is known
        # (a file an `import` read), without it otherwise (a header of a C policy).
        super().__init__(render_all(diagnostics, {**(imported or {}), source.path: source}))

"""Diagnostics: what the checker and the C gate report instead of printing or raising.

A diagnostic is the prompt of an agent's next repair attempt, so each carries a stable code,
a span, a one-line message and hints that say how to fix it. The DSL checker, the syntax-error
table and the C gate (`verify-c`) all produce this one `Diagnostic`; passes append to a
`Diagnostics` sink, the gate returns a list. Rendering happens here and only here: one text
form for people (`render_text`), one JSON form for agents (`render_json`, schema in
docs/cli.md). The wording itself lives with the codes (codes.py, verify_c/findings.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from schedlang.codes import CODES, Message, Severity
from schedlang.source import SourceFile, Span

_SURROGATE = re.compile("[\ud800-\udfff]")
TAB_STOP = 8


@dataclass(frozen=True)
class Note:
    """A second place that explains the first (where a name was declared before, ...)."""

    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    """One problem at one place of one file (a .sched policy, a C file or one of its headers)."""

    code: str
    severity: Severity
    file: str
    span: Span
    message: str
    hints: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col

    def to_dict(self) -> dict[str, object]:
        """The JSON object of docs/cli.md ("Diagnostics")."""
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            **_position(self.span),
            "message": self.message,
            "hints": list(self.hints),
            "notes": [
                {"file": n.span.file or self.file, **_position(n.span), "message": n.message}
                for n in self.notes
            ],
        }


def _position(span: Span) -> dict[str, int]:
    return {"line": span.line, "col": span.col, "end_line": span.end_line, "end_col": span.end_col}


@dataclass
class Diagnostics:
    """The sink every pass writes to; one per policy checked.

    `source` is the policy's file; `imported` holds the files its `import`s read, by the
    name a span's `file` gives them, so a diagnostic inside an imported declaration is
    reported in (and rendered with the text of) the file it was written in.
    """

    source: SourceFile
    items: list[Diagnostic] = field(default_factory=list)
    imported: dict[str, SourceFile] = field(default_factory=dict)

    def text_at(self, span: Span) -> str:
        """The source text under `span`, from the file it is in ("" if unknown)."""
        source = self.imported.get(span.file) if span.file else self.source
        return source.text[span.start : span.end] if source and span.end > span.start else ""

    def sources(self) -> dict[str, SourceFile]:
        """Every file a diagnostic here may point into, by its name (for `render_all`)."""
        return {**self.imported, self.source.path: self.source}

    def error(
        self,
        what: Message,
        span: Span,
        /,
        *,
        suggest: Iterable[str] = (),
        notes: Iterable[Note] = (),
        **fields: object,
    ) -> None:
        """Report `what` (a wording from codes.py) at `span`, filled in with `fields`;
        `suggest` are hints computed for this case ("did you mean `x`?"), shown first."""
        self.report(what, span, fields, suggest, notes)

    def report(
        self,
        what: Message,
        span: Span,
        fields: Mapping[str, object],
        suggest: Iterable[str] = (),
        notes: Iterable[Note] = (),
    ) -> None:
        """`error` with the fields as one mapping (for fields gathered before the call)."""
        message, hints = what.format(fields, suggest)
        severity = CODES[what.code].severity
        main = self.source.path
        # a note may point into another file than its diagnostic: name each note's file
        placed = tuple(Note(replace(n.span, file=n.span.file or main), n.message) for n in notes)
        self.items.append(
            Diagnostic(what.code, severity, span.file or main, span, message, hints, placed)
        )

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def __iter__(self) -> Iterator[Diagnostic]:
        # the policy's own file first, then each imported file
        main = self.source.path
        return iter(
            sorted(self.items, key=lambda d: (d.file != main, d.file, d.line, d.col, d.code))
        )

    def __len__(self) -> int:
        return len(self.items)


def render_text(diag: Diagnostic, source: SourceFile | None = None) -> str:
    """`file:line:col: error[CODE]: message`, the source line with a caret under the span,
    then one `help:` line per hint and one `note:` per related place.

    `source` is the text of `diag.file`; without it (a header nobody read) the source line
    is left out. Tabs are expanded to every 8th column for display and the caret follows
    them, so kernel-style C lines up as in an editor; `col` itself counts a tab as one.
    """
    out = [f"{diag.file}:{diag.line}:{diag.col}: {diag.severity}[{diag.code}]: {diag.message}"]
    if source is not None:
        out += _excerpt(diag.span, source)
    out += [f"  help: {hint}" for hint in diag.hints]
    out += [
        f"  note: {n.span.file or diag.file}:{n.span.line}:{n.span.col}: {n.message}"
        for n in diag.notes
    ]
    return "\n".join(out)


def _excerpt(span: Span, source: SourceFile) -> list[str]:
    # One character for one column: a (zero-width) byte-order mark shows as a space, a lone
    # surrogate (no output can encode it; `not-text` points at one) as U+FFFD.
    text = source.line_text(span.line).replace("\ufeff", " ")
    text = _SURROGATE.sub("\ufffd", text)
    if not text and span.line > source.line_count:
        return []
    end = span.end_col if span.end_line == span.line and span.end_col > span.col else span.col + 1
    start_at = len(text[: span.col - 1].expandtabs(TAB_STOP))
    end_at = len(text[: end - 1].expandtabs(TAB_STOP))
    shown = text.expandtabs(TAB_STOP)
    width = max(1, min(end_at - start_at, len(shown) - start_at))
    gutter = f"{span.line:>4} | "
    return [gutter + shown, " " * (len(gutter) - 2) + "| " + " " * start_at + "^" * width]


def render_all(diags: Iterable[Diagnostic], sources: Mapping[str, SourceFile]) -> str:
    """Several diagnostics, each shown with the line of its own file when `sources` has it."""
    return "\n".join(render_text(d, sources.get(d.file)) for d in diags)


def render_json(data: object) -> str:
    """JSON for agents: a list of diagnostics, or a command's result document holding them.

    Diagnostics anywhere inside `data` become the objects of `Diagnostic.to_dict`; other
    iterables (a `Diagnostics` sink, a generator) become arrays. The one place that fixes
    the JSON form.
    """
    return json.dumps(data, indent=2, default=_jsonable)


def _jsonable(value: object) -> object:
    if isinstance(value, Diagnostic):
        return value.to_dict()
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

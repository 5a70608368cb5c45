"""The one text and one JSON rendering of a diagnostic, for a .sched policy and for C alike."""

from __future__ import annotations

import json

from schedlang.checker import check_source
from schedlang.diagnostics import Diagnostic, Note, render_all, render_json, render_text
from schedlang.source import SourceFile, Span
from schedlang.verify_c import verify

POLICY = """\
scheduler p "d" {
    var total: u64 = 0
\tvar total: u64 = 1
}
"""

C_TEXT = """\
#include "missing_header.h"
int x;
"""


def test_a_dsl_diagnostic_as_text() -> None:
    checked, diags = check_source(SourceFile("p.sched", POLICY))
    assert checked is None
    [d] = diags
    # The tab shows as 8 columns and the caret spans the name under it.
    assert render_text(d, diags.source) == "\n".join(
        [
            "p.sched:3:6: error[duplicate-name]: `total` is already declared (line 2)",
            "   3 |         var total: u64 = 1",
            "     |             ^^^^^",
            "  help: rename one of them",
            "  note: p.sched:2:5: `total` is first declared here",
        ]
    )


def test_a_dsl_diagnostic_as_json() -> None:
    _, diags = check_source(SourceFile("p.sched", POLICY))
    assert json.loads(render_json({"diagnostics": diags})) == {
        "diagnostics": [
            {
                "code": "duplicate-name",
                "severity": "error",
                "file": "p.sched",
                "line": 3,
                "col": 6,
                "end_line": 3,
                "end_col": 11,
                "message": "`total` is already declared (line 2)",
                "hints": ["rename one of them"],
                "notes": [
                    {
                        "file": "p.sched",
                        "line": 2,
                        "col": 5,
                        "end_line": 2,
                        "end_col": 23,
                        "message": "`total` is first declared here",
                    }
                ],
            }
        ]
    }


def test_a_c_finding_renders_as_a_dsl_diagnostic_does() -> None:
    [d] = verify(C_TEXT, name="x.bpf.c")
    assert isinstance(d, Diagnostic)
    source = SourceFile("x.bpf.c", C_TEXT)
    head, excerpt, caret, help_ = render_text(d, source).split("\n")
    assert head.startswith("x.bpf.c:1:10: warning[C101]: not analysed: preprocessing failed: ")
    assert "missing_header.h" in head
    assert excerpt == '   1 | #include "missing_header.h"'
    assert caret == "     |          ^"
    assert help_.startswith("  help: fix the preprocessor error at this line; ")
    assert d.to_dict() == {
        "code": "C101",
        "severity": "warning",
        "file": "x.bpf.c",
        "line": 1,
        "col": 10,
        "end_line": 1,
        "end_col": 11,
        "message": d.message,
        "hints": list(d.hints),
        "notes": [],
    }


def test_notes_and_a_file_without_text() -> None:
    d = Diagnostic(
        "duplicate-name",
        "error",
        "p.sched",
        Span(3, 5, 3, 10),
        "`total` is already declared",
        ("rename one of them",),
        (Note(Span(2, 9, 2, 14), "first declared here"),),
    )
    assert render_text(d) == "\n".join(
        [
            "p.sched:3:5: error[duplicate-name]: `total` is already declared",
            "  help: rename one of them",
            "  note: p.sched:2:9: first declared here",
        ]
    )
    assert d.to_dict()["notes"] == [
        {
            "file": "p.sched",
            "line": 2,
            "col": 9,
            "end_line": 2,
            "end_col": 14,
            "message": "first declared here",
        }
    ]
    # Several files: each diagnostic shows the line of its own file, if known.
    other = Diagnostic("C010", "error", "h.h", Span(1, 1, 1, 2), "clang rejected the file")
    known = {"p.sched": SourceFile("p.sched", "a\nb\n  var total: u64\n")}
    assert render_all([other, d], known).split("\n") == [
        "h.h:1:1: error[C010]: clang rejected the file",
        "p.sched:3:5: error[duplicate-name]: `total` is already declared",
        "   3 |   var total: u64",
        "     |     ^^^^^",
        "  help: rename one of them",
        "  note: p.sched:2:9: first declared here",
    ]

"""Text no policy can be: a lone surrogate, brackets nested too deep. Diagnostics, never raises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedlang
from schedlang import syntax
from schedlang.checker import check_source
from schedlang.diagnostics import render_text
from schedlang.errors import SchedlangError
from schedlang.source import SourceFile
from schedlang.syntax import parse

ROOT = Path(__file__).resolve().parents[2]
SURROGATE_MESSAGE = "the text contains a lone surrogate (U+D800): it is not Unicode text"


def test_a_lone_surrogate_through_the_api() -> None:
    (diag,) = schedlang.check('scheduler p "\ud800" {\n}')
    assert (diag.code, diag.line, diag.col, diag.message) == ("not-text", 1, 14, SURROGATE_MESSAGE)
    with pytest.raises(SchedlangError) as info:
        parse('scheduler p "d" {\n  // \udcff\n}')
    (diag,) = info.value.diagnostics
    assert (diag.code, diag.line, diag.col) == ("not-text", 2, 6)
    # the rendered text can be printed: the surrogate is shown as U+FFFD, in its column
    assert str(info.value).splitlines()[1:3] == ["   2 |   // \ufffd", "     |      ^"]
    str(info.value).encode("utf-8")


def test_a_lone_surrogate_through_check_source() -> None:
    source = SourceFile("p.sched", 'scheduler p "d" {\n  var x: u64 = 1 \ud800\n}')
    checked, diags = check_source(source)
    assert checked is None
    assert [(d.code, d.line, d.col) for d in diags] == [("not-text", 2, 18)]
    render_text(next(iter(diags)), source).encode("utf-8")


def test_a_surrogate_encoded_in_a_file_is_not_utf8(tmp_path: Path) -> None:
    """CESU-8 bytes for U+D800 are not UTF-8: the CLI reports the file, with no traceback."""
    path = tmp_path / "p.sched"
    path.write_bytes(b'scheduler p "\xed\xa0\x80" {\n}\n')
    out = subprocess.run(
        [sys.executable, "-m", "schedlang.cli", "check", str(path)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    assert (out.returncode, out.stderr) == (1, "")
    assert out.stdout.startswith(f"{path}:1:14: error[not-text]: file is not UTF-8 text\n")


def _deep(text: str) -> list[tuple[str, int, int]]:
    checked, diags = check_source(SourceFile("p.sched", text))
    return [(d.code, d.line, d.col) for d in diags]


@pytest.mark.parametrize(
    "hidden",
    [
        "// " + "(" * 5000,
        "/* " + "[" * 5000 + " */",
        "/* " + "{" * 100 + "\n" + ")" * 3 + " */",
    ],
    ids=["line-comment", "block-comment", "block-comment-lines"],
)
def test_brackets_in_comments_do_not_nest(hidden: str) -> None:
    text = f'scheduler p "d" {{\n  {hidden}\n  on init() {{ }}\n}}\n'
    assert _deep(text) == []


def test_brackets_in_a_string_do_not_nest() -> None:
    assert _deep('scheduler p "' + "(" * 100 + '" {\n}\n') == []


def test_brackets_after_a_comment_still_count() -> None:
    text = (
        'scheduler p "d" {\n  // ((((\n  on init() { let x = '
        + "(" * 70
        + "1"
        + ")" * 70
        + " }\n}\n"
    )
    # inside two braces, the 63rd `(` of the expression is the 65th level; it is on line 3
    # after `  on init() { let x = ` (22 characters)
    assert _deep(text) == [("too-deep", 3, 23 + 62)]


def test_an_unterminated_comment_is_a_syntax_error_not_too_deep() -> None:
    assert _deep('scheduler p "d" {\n  /* ' + "(" * 5000 + "\n}\n") == [("syntax", 2, 3)]


# Characters that have tripped positions or decoding: every line end and str.splitlines
# separator, lone surrogates, NUL, and the characters that make brackets, comments, strings.
AWKWARD = '\r\n\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85\ud800\udcff\x00\t ()[]{}"/*\\0x7_'
EXAMPLE = (ROOT / "examples" / "fair.sched").read_text()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(EXAMPLE)),
            st.integers(0, 6),
            st.text(st.one_of(st.sampled_from(AWKWARD), st.characters()), max_size=6),
        ),
        max_size=5,
    )
)
def test_awkward_text_gives_diagnostics_inside_the_text(edits: list[tuple[int, int, str]]) -> None:
    text = EXAMPLE
    for pos, cut, insert in edits:
        text = text[:pos] + insert + text[pos + cut :]
    source = SourceFile("awkward.sched", text)
    checked, diags = check_source(source)
    assert (checked is None) == diags.has_errors
    for d in diags:
        assert 1 <= d.line <= source.line_count, d
        assert 1 <= d.col <= len(source.line_text(d.line)) + 1, d
        render_text(d, source).encode("utf-8")


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        (
            'scheduler p "d" {\n  /* x\n  on init() { }\n}\n',
            2,
            3,
            "this `/*` comment is never closed",
        ),
        (
            'scheduler p "d" {\n  on init() { let x = 1 / /* \n}\n',
            2,
            27,
            "this `/*` comment is never closed",
        ),
        ('scheduler p "d {\n}\n', 1, 13, "this string is not closed on its line"),
    ],
)
def test_an_unclosed_comment_or_string_says_so(
    text: str, line: int, col: int, message: str
) -> None:
    checked, diags = check_source(SourceFile("p.sched", text))
    assert [(d.code, d.line, d.col, d.message) for d in diags] == [("syntax", line, col, message)]


def test_a_closed_string_where_none_belongs_is_not_called_unclosed() -> None:
    checked, diags = check_source(SourceFile("p.sched", 'scheduler "x" { }'))
    assert [(d.code, d.col, d.message) for d in diags] == [("syntax", 11, 'unexpected `"x"`')]


@pytest.mark.parametrize(("text", "code"), [("\ufeff \n", "empty-file"), ("\u2028", "syntax")])
def test_empty_means_only_the_lexers_whitespace(text: str, code: str) -> None:
    checked, diags = check_source(SourceFile("p.sched", text))
    assert [d.code for d in diags] == [code]


def _deepest_scan(text: str) -> int | None:
    """The bracket-nesting check done the slow, obvious way: every bracket outside comments
    and strings in turn, a closing bracket too many leaving the depth at 0."""
    depth = 0
    for m in syntax._BRACKETS.finditer(text):
        if m.lastgroup == "open":
            depth += 1
            if depth > syntax.MAX_NESTING:
                return m.start()
        elif m.lastgroup == "close":
            depth = max(0, depth - 1)
    return None


_PIECES = ["(", ")", "[", "]", "{", "}", "//", "/*", "*/", '"', "\\", "\n", "\r", "x", " "]


@settings(max_examples=400, deadline=None)
@given(
    st.integers(0, 3),
    st.integers(0, 70),
    st.lists(st.sampled_from(_PIECES), max_size=200),
)
def test_nesting_check_agrees_with_a_plain_scan(closes: int, opens: int, pieces: list[str]) -> None:
    text = ")" * closes + "(" * opens + "".join(pieces)
    assert syntax._nesting_too_deep(text) == _deepest_scan(text)

"""`fmt` keeps every comment (finding #23): by position, moved at most, never dropped."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from schedlang.cli import main
from schedlang.fmt import Comments, format_program
from schedlang.syntax import comments, parse, parser

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted(ROOT.glob("examples/*.sched")) + sorted(ROOT.glob("stdlib/*.sched"))


def fmt(text: str) -> str:
    return format_program(parse(text), Comments(comments(text)))


def comment_words(text: str) -> Counter[tuple[str, ...]]:
    return Counter(tuple(c.split()) for _, c in comments(text))


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fmt_keeps_comments_and_program_and_is_idempotent(path: Path) -> None:
    text = path.read_text()
    out = fmt(text)
    assert comment_words(out) == comment_words(text)
    assert parse(out) == parse(text)
    assert fmt(out) == out


@pytest.mark.parametrize("style", ["/* c{} */ ", "// c{}\n"])
def test_a_comment_before_any_token_survives(style: str) -> None:
    """A comment in front of every token of a policy (in conditions, argument lists,
    between `}` and `else`, ...): each one comes out, and the program is unchanged."""
    text = (ROOT / "stdlib/central.sched").read_text()
    starts = [t.start_pos for t in parser().parse_interactive(text).iter_parse()]
    for k, at in reversed(list(enumerate(starts))):
        text = text[:at] + style.format(k) + text[at:]
    out = fmt(text)
    assert comment_words(out) == comment_words(text)
    assert len(comment_words(out)) >= len(starts)
    assert parse(out) == parse(text)
    assert fmt(out) == out


def test_comments_go_above_beside_and_at_the_end_of_their_construct() -> None:
    text = """\
/* header */
scheduler c "commented" {   // after the brace
    queue q: fifo // beside q
    on enqueue(t, flags) {
        if /* in the condition */ t.weight > 100 {
            insert t into q slice 5ms   // one slice
        } // after then
        else {
            insert t into global slice 1ms
            // end of else
        }
        // end of body
    }
} // after the end
// footer
"""
    assert (
        fmt(text)
        == """\
/* header */
scheduler c "commented" {
    // after the brace
    queue q: fifo  // beside q

    on enqueue(t, flags) {
        /* in the condition */
        // after then
        if t.weight > 100 {
            insert t into q slice 5ms  // one slice
        } else {
            insert t into global slice 1ms
            // end of else
        }
        // end of body
    }
}  // after the end
// footer
"""
    )


def test_fmt_write_keeps_the_comments_of_a_stdlib_policy(tmp_path: Path) -> None:
    path = tmp_path / "central.sched"
    text = (ROOT / "stdlib/central.sched").read_text()
    path.write_text(text)
    assert main(["fmt", "--write", str(path)]) == 0
    assert comment_words(path.read_text()) == comment_words(text)


def test_fmt_that_would_drop_a_comment_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last guard: were the printer to lose a comment, the file stays as it was."""
    from schedlang.commands import fmt as fmt_command

    path = tmp_path / "c.sched"
    text = 'scheduler c "c" {\n    queue q: fifo // keep me\n}\n'
    path.write_text(text)
    monkeypatch.setattr(fmt_command, "format_program", lambda tree, _: format_program(tree))
    assert main(["fmt", "--write", str(path)]) == 3
    assert path.read_text() == text
    assert "fmt would drop or change 1 comment(s)" in capsys.readouterr().err

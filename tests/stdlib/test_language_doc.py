"""docs/language.md is normative: its complete example policies are checked here.

A fenced block whose info string is `sched right` must check clean; `sched wrong=CODE` (or
`wrong=CODE,CODE`) must be rejected with diagnostics of exactly those codes. So the reference cannot drift from what
the checker does: a claim that stops being true fails this test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schedlang import check

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"
FENCE = re.compile(r"^```sched (right|wrong=([a-z,-]+))\n(.*?)^```$", re.M | re.S)


def _examples() -> list[tuple[str, str | None, str]]:
    """(id, expected code or None for right, source) for every checked block."""
    text = DOC.read_text()
    out: list[tuple[str, str | None, str]] = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        code = m.group(2)
        out.append((f"line{line}-{code or 'right'}", code, m.group(3)))
    return out


EXAMPLES = _examples()


def test_the_reference_has_examples_for_every_guarantee() -> None:
    wrong = {c for _, code, _ in EXAMPLES if code for c in code.split(",")}
    rights = [1 for _, code, _ in EXAMPLES if code is None]
    assert {
        "needs-unit",
        "unbounded-loop",
        "recursion",
        "index-unproven",
        "div-by-zero",
        "lost-task",
        "starving-queue",
        "queue-kind",
        "param-range",
        "missing-return",
    } <= wrong
    assert len(rights) >= 10


@pytest.mark.parametrize(
    ("code", "source"), [e[1:] for e in EXAMPLES], ids=[e[0] for e in EXAMPLES]
)
def test_example_checks_as_documented(code: str | None, source: str) -> None:
    found = [(d.code, d.line, d.message) for d in check(source, "language.md")]
    if code is None:
        assert found == []
    else:
        assert found, f"expected {code}, but the example checks clean"
        assert {c for c, _, _ in found} == set(code.split(",")), found


# ---------------------------------------------------------------------------- prose claims
# The prose states errors too: "`5 as duration` is `needs-unit`", "`slice + 5` and `d > 0`
# are `needs-unit`", "`5 ms` is a syntax error". Each such claim is checked in a small body
# whose locals give the names the prose uses their usual meaning, so a sentence cannot say
# something is an error that the checker accepts (or name the wrong code).
CLAIM = re.compile(
    r"(?:`(?P<first>[^`\n]+)`\s+and\s+)?`(?P<snippet>[^`\n]+)`"
    r"(?:\s+on\s+an?\s+(?:`[^`]+`|[a-z]+))?"  # "`x << 32` on a `u32`": the harness agrees
    r"(?:\s+alone)?"
    r"\s+(?:is|are)\s+(?:`(?P<code>[a-z]+(?:-[a-z]+)*)`|a (?P<syntax>syntax) error)"
)
HARNESS = """scheduler claims "A statement from the prose of language.md" {{
    param slice: duration = 5ms in 1ms..10ms
    on enqueue(t, flags) {{
        let d = 1ms
        let x: u32 = 7
        let a: u64 = 3
        let s: i64 = -2
        if flags != 1 {{ // a block of its own, where a `let` may shadow those
        {statement}
        }}
        insert t into global slice slice
    }}
}}
"""
# A line of a plain code block followed by `// CODE` (or `// ok`): the same, in order.
COMMENTED = re.compile(r"^(?P<code>\S.*?)\s+//\s*(?P<verdict>ok\b|[a-z]+(?:-[a-z]+)*:)", re.M)


def _known_codes() -> set[str]:
    from schedlang import codes

    return set(codes.SUMMARY)


def _prose_claims() -> list[tuple[str, str, str]]:
    """(id, code, statement) for every "`SNIPPET` is `CODE`" outside the fenced examples."""
    text = DOC.read_text()
    prose = re.sub(r"^```.*?^```$", lambda m: "\n" * m.group().count("\n"), text, flags=re.M | re.S)
    known = _known_codes()
    out = []
    for m in CLAIM.finditer(prose):
        code = "syntax" if m.group("syntax") else m.group("code")
        if code not in known:
            continue  # "`-7 / 2` is `-3`": a value, not a diagnostic
        line = prose.count("\n", 0, m.start()) + 1
        for snippet in filter(None, (m.group("first"), m.group("snippet"))):
            as_statement = code == "syntax" or re.match(r"let |\w+ *[-+*/]?= ", snippet)
            statement = snippet if as_statement else f"let v = {snippet}"
            out.append((f"line{line}:{snippet}", code, statement))
    return out


def _commented_blocks() -> list[tuple[str, list[str], str, str | None]]:
    """(id, earlier good lines, line, code or None) for each line of a plain code block
    whose comments give verdicts (`// ok`, `// sign-mix: ...`)."""
    text = DOC.read_text()
    known = _known_codes()
    out = []
    for block in re.finditer(r"^```([^\n]*)\n(.*?)^```$", text, re.M | re.S):
        if block.group(1):
            continue  # `sched right`/`sched wrong`: whole policies, checked above
        verdicts = [m.group("verdict").rstrip(":") for m in COMMENTED.finditer(block.group(2))]
        if not verdicts or not all(v == "ok" or v in known for v in verdicts):
            continue  # no comments, or comments that explain rather than give verdicts
        first = text.count("\n", 0, block.start()) + 2
        good: list[str] = []
        for n, line in enumerate(block.group(2).splitlines()):
            m = COMMENTED.match(line)
            if m is None:  # a line without a verdict sets the scene
                good.append(line)
                continue
            verdict = m.group("verdict").rstrip(":")
            expect = None if verdict == "ok" else verdict
            out.append((f"line{first + n}:{m.group('code')}", list(good), m.group("code"), expect))
            if expect is None:
                good.append(m.group("code"))
    return out


CLAIMS = _prose_claims()
BLOCK_LINES = _commented_blocks()


def test_the_prose_claims_are_found() -> None:
    snippets = {statement for _, _, statement in CLAIMS}
    assert {
        "let v = 5 as duration",
        "let other = t",
        "let v = d > 0",
        "5 ms",
        "(now())",
    } <= snippets
    assert len(BLOCK_LINES) >= 4


@pytest.mark.parametrize(("code", "statement"), [c[1:] for c in CLAIMS], ids=[c[0] for c in CLAIMS])
def test_prose_claim_holds(code: str, statement: str) -> None:
    found = [(d.code, d.line, d.message) for d in check(HARNESS.format(statement=statement))]
    assert found and {c for c, _, _ in found} == {code}, found
    assert all(line == 9 for _, line, _ in found), found  # the claim's own line


@pytest.mark.parametrize(
    ("before", "line", "code"), [b[1:] for b in BLOCK_LINES], ids=[b[0] for b in BLOCK_LINES]
)
def test_commented_example_line_holds(before: list[str], line: str, code: str | None) -> None:
    body = "\n        ".join([*before, line])
    found = [(d.code, d.message) for d in check(HARNESS.format(statement=body))]
    if code is None:
        assert found == []
    else:
        assert found and {c for c, _ in found} == {code}, found

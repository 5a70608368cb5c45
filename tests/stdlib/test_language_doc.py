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

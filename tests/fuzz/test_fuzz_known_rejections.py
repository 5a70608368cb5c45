"""Generated policies the checker still refuses although they are safe (precision gaps found by
`schedlang fuzz`). Each is a strict xfail: it starts failing the suite, and so asks for its
marker to go, the day the checker accepts the policy."""

from __future__ import annotations

import pytest

from schedlang.checker import check_source
from schedlang.fuzzgen import generate_text
from schedlang.source import SourceFile


@pytest.mark.xfail(
    strict=True,
    reason="seed 143: move_to_local(q0) after a for loop is said to run only when `k3 < 16` "
    "(docs/fuzzing.md, the campaign on the finished tree)",
)
def test_seed_143_is_accepted() -> None:
    program, diags = check_source(SourceFile("fuzz_143.sched", generate_text(143)))
    assert program is not None, [d.message for d in diags]

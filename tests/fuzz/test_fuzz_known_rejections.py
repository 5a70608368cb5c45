"""Generated policies the checker once refused although they are safe (precision gaps found by
`schedlang fuzz`). Each stays accepted; a gap still open would be a strict xfail here, so the
suite asks for its marker to go the day the checker accepts the policy."""

from __future__ import annotations

from schedlang.checker import check_source
from schedlang.fuzzgen import generate_text
from schedlang.source import SourceFile


def test_seed_143_is_accepted() -> None:
    """Its `move_to_local(q0)` follows a `for` loop entered on two paths (an unknown before
    the loop went both ways); the queue rule once gave up on such a loop and called the move
    conditional on a test inside it (tests/cases/queues_loop_after_unknown_*.sched)."""
    program, diags = check_source(SourceFile("fuzz_143.sched", generate_text(143)))
    assert program is not None, [d.message for d in diags]
    assert program.facts["queues"] == {"q0": "fifo"}

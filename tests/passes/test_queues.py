"""The queue rules: no starving queue; vtime only with vtime queues; `on` only with local."""

from __future__ import annotations

from pathlib import Path

import pytest

from schedlang import codes, ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import paths, queues, typecheck
from schedlang.source import SourceFile
from schedlang.syntax import parse_source


def policy(enqueue: str, dispatch: str = "move_to_local(fifo_q)\n move_to_local(vt_q)") -> str:
    # enqueue's body is on line 5, dispatch's on line 8
    return (
        'scheduler p "d" {\n queue fifo_q: fifo\n queue vt_q: vtime\n'
        f" on enqueue(t, flags) {{\n{enqueue}\n }}\n on dispatch(c) {{\n{dispatch}\n }}\n}}\n"
    )


@pytest.mark.parametrize(
    "body",
    [
        "insert t into fifo_q",
        "insert t into vt_q vtime t.vtime",
        "insert t into vt_q slice 1ms vtime t.vtime + 1ms",
        "insert t into local on t.cpu",
        "insert t into global slice 1ms",
    ],
)
def test_accepted(check, body: str) -> None:
    facts, diags = check(queues.run, policy(body))
    assert diags == [], [d.message for d in diags]
    assert facts == {"queues": {"fifo_q": "fifo", "vt_q": "vtime"}}


@pytest.mark.parametrize(
    ("body", "col_text", "part"),
    [
        ("insert t into fifo_q vtime t.vtime", "t.vtime", "the fifo queue `fifo_q` is not one"),
        ("insert t into local vtime t.vtime", "t.vtime", "the built-in `local`"),
        ("insert t into global vtime t.vtime", "t.vtime", "the built-in `global`"),
        ("insert t into vt_q", "insert", "has no `vtime`"),
        ("insert t into vt_q slice 1ms", "insert", "has no `vtime`"),
        ("insert t into fifo_q on t.cpu", "t.cpu", "`on CPU` goes only with `local`"),
        ("insert t into global on 1", "1", "`on CPU` goes only with `local`"),
    ],
)
def test_queue_kind(check, body: str, col_text: str, part: str) -> None:
    text = policy(body)
    [d] = check(queues.run, text)[1]
    assert d.code == codes.QUEUE_KIND and d.line == 5
    assert part in d.message
    assert text.splitlines()[4][d.col - 1 :].startswith(col_text)


def test_hint_for_vtime_on_fifo_says_how_to_declare(check) -> None:
    [d] = check(queues.run, policy("insert t into fifo_q vtime t.vtime"))[1]
    assert d.hints == (
        "declare it `queue fifo_q: vtime` to order it by vtime, or drop `vtime ...`",
    )


@pytest.mark.parametrize("builtin", ["global", "local"])
def test_move_from_a_builtin_queue(check, builtin: str) -> None:
    dispatch = f"move_to_local({builtin})\n move_to_local(fifo_q)\n move_to_local(vt_q)"
    [d] = check(queues.run, policy("insert t into fifo_q", dispatch))[1]
    assert d.code == codes.QUEUE_KIND and d.line == 8
    assert f"move_to_local({builtin})" in d.message


def test_starving_queue_points_at_its_declaration(check) -> None:
    both = (
        "if t.is_kthread {\n insert t into fifo_q\n } else {\n insert t into vt_q vtime t.vtime\n }"
    )
    [d] = check(queues.run, policy(both, "move_to_local(fifo_q)"))[1]
    assert d.code == codes.STARVING_QUEUE and d.line == 3
    assert "never moved from" in d.message
    assert "`vt_q`" in d.message
    assert d.hints == (
        "call `move_to_local(vt_q)` in `on dispatch` (e.g. when the other queues are empty)",
    )


def test_moved_on_some_path_is_enough(check) -> None:
    dispatch = "if not move_to_local(fifo_q) {\n move_to_local(vt_q)\n }"
    assert check(queues.run, policy("insert t into fifo_q", dispatch))[1] == []


def test_no_dispatch_at_all(check) -> None:
    text = 'scheduler p "d" {\n queue q: fifo\n on enqueue(t, flags) {\n insert t into q\n }\n}\n'
    [d] = check(queues.run, text)[1]
    assert d.code == codes.STARVING_QUEUE and d.line == 2
    assert d.hints == ("add `on dispatch(c) { move_to_local(q) }`",)


def test_unused_queue_says_so(check) -> None:
    text = (
        'scheduler p "d" {\n queue spare: fifo\n on enqueue(t, flags) {\n insert t into global\n }\n'
        " on dispatch(c) {\n kick c\n }\n}\n"
    )
    [d] = check(queues.run, text)[1]
    assert d.code == codes.STARVING_QUEUE and "never used" in d.message
    assert d.hints[0].startswith(
        "remove `queue spare`, or insert into it and call `move_to_local(spare)`"
    )


@pytest.mark.parametrize(
    "dispatch",
    [
        # both sides of a guard the checker cannot evaluate move from vt_q
        "let due = (c as u64 & 1) * 2 == 1\n if due {\n move_to_local(vt_q)\n }"
        " else {\n move_to_local(vt_q)\n }\n move_to_local(fifo_q)",
        # a guard shown to go both ways
        "if c == 0 {\n move_to_local(fifo_q)\n } else {\n move_to_local(vt_q)\n }",
        "if queued(fifo_q) > 0 {\n move_to_local(fifo_q)\n } else {\n move_to_local(vt_q)\n }",
        # whatever the loop does, it is left, and the moves follow it
        "for k in cpus {\n if queued(fifo_q) > 3 {\n kick k\n }\n }\n"
        " move_to_local(fifo_q)\n move_to_local(vt_q)",
    ],
)
def test_moves_shown_reachable(check, dispatch: str) -> None:
    both = (
        "if t.is_kthread {\n insert t into fifo_q\n } else {\n insert t into vt_q vtime t.vtime\n }"
    )
    assert check(queues.run, policy(both, dispatch))[1] == []


@pytest.mark.parametrize(
    ("dispatch", "part"),
    [
        (
            "if (c as u64 & 1) * 2 == 1 {\n move_to_local(vt_q)\n }\n move_to_local(fifo_q)",
            "runs only when `(c as u64 & 1) * 2 == 1` (line 12) is true, and the checker cannot "
            "show that it ever is",
        ),
        (
            "move_to_local(fifo_q)\n for k in cpus {\n if queued(fifo_q) > 3 {\n return\n }\n }\n"
            " move_to_local(vt_q)",
            "only on some of the ways out of the loop at line 13",
        ),
        (
            "move_to_local(fifo_q)\n if nr_cpus < 1 {\n move_to_local(vt_q)\n }",
            "no value reaches `move_to_local(vt_q)` at line 14 (`nr_cpus < 1` at line 13 is "
            "never true there)",
        ),
    ],
)
def test_moves_not_shown_reachable(check, dispatch: str, part: str) -> None:
    both = (
        "if t.is_kthread {\n insert t into fifo_q\n } else {\n insert t into vt_q vtime t.vtime\n }"
    )
    diags = check(queues.run, policy(both, dispatch))[1]
    assert [(d.code, d.line) for d in diags] == [(codes.STARVING_QUEUE, 3)]
    assert part in diags[0].message, diags[0].message


def test_a_copy_does_not_outlive_a_test_of_its_original(check) -> None:
    """`b` is `a`; once `a == 0`, `b > 0` is impossible, so vt_q is not shown drained."""
    dispatch = (
        "let a = queued(fifo_q)\n let b = a\n if a == 0 {\n if b > 0 {\n move_to_local(vt_q)\n }\n }"
        "\n move_to_local(fifo_q)"
    )
    both = (
        "if t.is_kthread {\n insert t into fifo_q\n } else {\n insert t into vt_q vtime t.vtime\n }"
    )
    diags = check(queues.run, policy(both, dispatch))[1]
    assert [(d.code, d.line) for d in diags] == [(codes.STARVING_QUEUE, 3)]


def test_a_queue_nothing_fills_is_never_waiting(check) -> None:
    """fifo_q's only insert sits behind `if false`, so `queued(fifo_q) > 0` never holds."""
    enqueue = "if false {\n insert t into fifo_q\n }\n insert t into vt_q vtime t.vtime"
    dispatch = "if queued(fifo_q) > 0 {\n move_to_local(vt_q)\n }\n move_to_local(fifo_q)"
    diags = check(queues.run, policy(enqueue, dispatch))[1]
    assert [(d.code, d.line) for d in diags] == [(codes.STARVING_QUEUE, 3)]
    assert "runs only when `queued(fifo_q) > 0`" in diags[0].message


def _programs() -> list[ir.Program]:
    """Every typechecked program among the repository's policies and test cases."""
    root = Path(__file__).resolve().parents[2]
    out = []
    for folder in ("examples", "stdlib", "tests/cases"):
        for path in sorted((root / folder).glob("*.sched")):
            source = SourceFile(str(path), path.read_text())
            diags = Diagnostics(source)
            tree = parse_source(source, diags)
            program = (
                None if tree is None else typecheck.run(tree, diags, path=str(path), max_cpus=64)
            )
            if program is not None:
                out.append(program)
    return out


def test_filled_queues_asked_one_by_one_are_those_every_body_walked_gives() -> None:
    """`_Filled` walks a body only when asked about a queue it inserts into; the answers are
    those of walking every inserting body up front."""
    programs = _programs()
    assert len(programs) > 20
    for prog in programs:
        eager: set[str] = set()
        for decl in [*prog.callbacks, *prog.fns]:
            seen = paths.reached(prog, decl)
            eager |= {
                s.queue.name
                for s in ir.walk_stmts(decl.body)
                if isinstance(s, ir.Insert) and s.span in seen
            }
        names = {q.name for q in prog.queues} | {"local", "global"}
        filled = queues._Filled(prog)
        assert {q for q in names if q in filled} == eager & names, prog.name

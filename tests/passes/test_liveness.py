"""The liveness rule: enqueue inserts exactly once per path; results are always returned."""

from __future__ import annotations

import pytest

from schedlang import codes
from schedlang.passes import liveness


def enqueue(body: str, extra: str = "") -> str:
    # the body starts on line 3; the callback's closing brace follows the body
    return f'scheduler p "d" {{\n on enqueue(t, flags) {{\n{body}\n }}\n{extra}\n}}\n'


@pytest.mark.parametrize(
    "body",
    [
        "insert t into global",
        "if t.is_kthread {\n insert t into local\n } else {\n insert t into global\n }",
        "if t.is_kthread {\n insert t into local\n return\n }\n insert t into global",
        "if t.weight > 10 {\n insert t into local\n } else if t.weight > 5 {\n insert t into global\n } else {\n insert t into global\n }",
        "if true {\n insert t into global\n }",
        "for i in 0..1 {\n insert t into global\n }",
        "for i in 0..4 {\n kick t.cpu\n }\n insert t into global",
    ],
)
def test_inserts_exactly_once(check, body: str) -> None:
    facts, diags = check(liveness.run, enqueue(body))
    assert diags == [], [d.message for d in diags]
    paths = facts["paths"]
    assert isinstance(paths, dict) and paths["enqueue"] >= 1


def test_counts_paths(check) -> None:
    body = "if t.weight > 10 {\n insert t into local\n } else if t.weight > 5 {\n insert t into global\n } else {\n insert t into global\n }"
    assert check(liveness.run, enqueue(body))[0] == {"paths": {"enqueue": 3}}


def test_missing_else_points_at_the_end_and_names_the_branch(check) -> None:
    body = "if t.weight > 100 {\n insert t into global\n }"
    [d] = check(liveness.run, enqueue(body))[1]
    assert d.code == codes.LOST_TASK
    assert d.line == 6  # the closing brace of `on enqueue`
    assert "`t.weight > 100` is false (line 3)" in d.message
    assert d.hints == ("add an `else` branch to the `if` at line 3 that inserts `t`",)


def test_lost_on_an_else_branch_with_an_else(check) -> None:
    body = "if t.weight > 100 {\n insert t into global\n } else {\n kick t.cpu\n }"
    [d] = check(liveness.run, enqueue(body))[1]
    assert d.code == codes.LOST_TASK and "is false" in d.message
    assert "insert `t` on this path too" in d.hints[0]


def test_early_return_is_the_end_of_its_path(check) -> None:
    body = "if t.is_kthread {\n return\n }\n insert t into global"
    [d] = check(liveness.run, enqueue(body))[1]
    assert d.code == codes.LOST_TASK and d.line == 4
    assert "`t.is_kthread` is true (line 3)" in d.message


def test_never_inserts(check) -> None:
    [d] = check(liveness.run, enqueue("kick t.cpu"))[1]
    assert d.code == codes.LOST_TASK and "never inserts `t`" in d.message
    assert d.hints == ("insert it into a queue: `insert t into global`",)


def test_task_parameter_name_is_the_authors(check) -> None:
    text = 'scheduler p "d" {\n on enqueue(p, f) {\n kick p.cpu\n }\n}\n'
    [d] = check(liveness.run, text)[1]
    assert "`p`" in d.message


def test_double_insert_on_one_path(check) -> None:
    body = "if t.is_kthread {\n insert t into local\n }\n insert t into global"
    [d] = check(liveness.run, enqueue(body))[1]
    assert d.code == codes.DOUBLE_INSERT and d.line == 6
    assert "already inserted at line 4" in d.message


@pytest.mark.parametrize("loop", ["for i in 0..3", "for c in cpus"])
def test_insert_in_a_loop(check, loop: str) -> None:
    [d] = check(liveness.run, enqueue(f"{loop} {{\n insert t into global\n }}"))[1]
    assert d.code == codes.DOUBLE_INSERT and d.line == 4
    assert "inside a loop that runs" in d.message


def test_insert_then_return_inside_a_loop_is_once(check) -> None:
    body = "for c in cpus {\n if allowed(t, c) {\n insert t into local on c\n return\n }\n }\n insert t into global"
    facts, diags = check(liveness.run, enqueue(body))
    assert diags == []
    assert facts == {"paths": {"enqueue": 2}}


def test_insert_inside_a_loop_before_a_conditional_return(check) -> None:
    body = "for i in 0..2 {\n insert t into global\n if t.is_kthread {\n return\n }\n }"
    [d] = check(liveness.run, enqueue(body))[1]
    assert d.code == codes.DOUBLE_INSERT and d.line == 4


def test_select_cpu_may_skip_the_insert_but_must_return(check) -> None:
    ok = (
        'scheduler p "d" {\n on select_cpu(t, prev, flags) -> cpu {\n'
        " let pick = default_cpu(t, prev, flags)\n if pick.idle {\n insert t into local\n }\n"
        " return pick.cpu\n }\n}\n"
    )
    assert check(liveness.run, ok)[1] == []
    bad = ok.replace(" return pick.cpu\n", "")
    [d] = check(liveness.run, bad)[1]
    assert d.code == codes.MISSING_RETURN and d.line == 7
    assert "`on select_cpu` can reach its end without returning a cpu" in d.message


def test_fn_must_return_on_every_path(check) -> None:
    fn = "fn pick(x: u64) -> u64 {\n if x > 1 {\n return x\n } else if x == 0 {\n return 1\n }\n}"
    [d] = check(liveness.run, enqueue("insert t into global", fn))[1]
    assert d.code == codes.MISSING_RETURN and d.line == 11
    assert "fn `pick`" in d.message and "`x == 0` is false" in d.message


def test_void_fn_needs_no_return(check) -> None:
    fn = "fn nothing(x: u64) {\n kick 0\n}"
    assert check(liveness.run, enqueue("insert t into global", fn))[1] == []


def test_deeply_nested_loops_stay_cheap(check) -> None:
    """25 nested two-iteration loops around one insert: one report, not 2**25 walks."""
    body = "insert t into global\n"
    for i in range(25):
        body = f"for i{i} in 0..2 {{\n{body}}}\n"
    diags = check(liveness.run, enqueue(body))[1]
    assert [d.code for d in diags] == [codes.DOUBLE_INSERT]

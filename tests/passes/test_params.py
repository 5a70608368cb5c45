"""The params rule: param ranges and defaults, and slices proven above zero."""

from __future__ import annotations

import pytest

from schedlang import codes
from schedlang.passes import params


def policy(decls: str, enqueue: str) -> str:
    return f'scheduler p "d" {{\n{decls}\n on enqueue(t, flags) {{\n{enqueue}\n }}\n}}\n'


def test_accepts_sane_params_and_reports_the_smallest_slice(check) -> None:
    facts, diags = check(
        params.run,
        policy(
            "param slice: duration = 5ms in 100us..50ms",
            "if t.is_kthread { insert t into global slice 2ms } else { insert t into global slice slice }",
        ),
    )
    assert diags == []
    assert facts == {"min_slice_ns": 100_000}


def test_default_may_sit_on_either_bound(check) -> None:
    text = policy(
        "param a: u64 = 1 in 1..8\nparam b: u64 = 8 in 1..8\nparam c: u64 = 0 in 0..0",
        "insert t into global",
    )
    assert check(params.run, text)[1] == []


def test_empty_range_names_the_swap(check) -> None:
    _, diags = check(
        params.run, policy("param slice: duration = 5ms in 10ms..1ms", "insert t into global")
    )
    [d] = diags
    assert d.code == codes.PARAM_RANGE and d.line == 2
    assert "empty range 10ms..1ms" in d.message
    assert d.hints == ("write the smaller bound first: `in 1ms..10ms`",)


def test_default_outside_range(check) -> None:
    _, diags = check(params.run, policy("param n: u64 = 9 in 1..8", "insert t into global"))
    [d] = diags
    assert d.code == codes.PARAM_RANGE
    assert "default 9" in d.message and "1..8" in d.message


@pytest.mark.parametrize(
    ("decls", "slice", "hint_part"),
    [
        ("param s: duration = 1ms in 0ns..10ms", "s", "raise the lower bound of `s` above 0"),
        ("", "0ns", "give it a floor"),
        ("", "t.slice", "max(t.slice, 100us)"),
        ("var budget: duration = 0ns", "budget", "max(budget, 100us)"),
        ("", "t.slice - 1ms", "max(t.slice - 1ms, 100us)"),
        ("", "t.slice / 2", "max"),
        ("", "t.slice + 1ms", "max"),  # u64 addition may wrap to 0
        ("", "min(t.slice, 1ms)", "max"),
    ],
)
def test_slices_that_may_be_zero(check, decls: str, slice: str, hint_part: str) -> None:
    _, diags = check(params.run, policy(decls, f"insert t into global slice {slice}"))
    [d] = diags
    assert d.code == codes.PARAM_RANGE and d.line == 4
    assert f"`{slice}`" in d.message
    assert hint_part in d.hints[0]


@pytest.mark.parametrize(
    "body",
    [
        "insert t into global slice max(t.slice, 100us)",
        "insert t into global slice clamp(t.slice, 1ms, 5ms)",
        "insert t into global slice 2ms * 3",
        "let s = t.slice\n if s > 0ns { insert t into global slice s } else { insert t into global }",
        "let s = t.slice\n if s == 0ns { insert t into global\n return }\n insert t into global slice s",
        "let s = t.slice\n if not (s <= 0ns) { insert t into global slice s } else { insert t into global }",
        "insert t into global",
    ],
)
def test_slices_proven_positive(check, body: str) -> None:
    assert check(params.run, policy("", body))[1] == []


def test_guard_on_a_local_is_forgotten_after_reassignment(check) -> None:
    body = "let s = t.slice\n if s > 0ns { s = t.slice\n insert t into global slice s } else { insert t into global }"
    [d] = check(params.run, policy("", body))[1]
    assert d.code == codes.PARAM_RANGE
    assert "guard it" in d.hints[0]


def test_select_cpu_slices_are_checked_too(check) -> None:
    text = (
        'scheduler p "d" {\n on select_cpu(t, prev, flags) -> cpu {\n'
        " insert t into local slice 0ms\n return prev\n }\n}\n"
    )
    [d] = check(params.run, text)[1]
    assert d.line == 3 and "is 0" in d.message


def test_scaled_slices_keep_their_floor(check) -> None:
    decls = "param slice: duration = 5ms in 100us..50ms"
    body = "insert t into global slice slice * t.weight / 100"
    facts, diags = check(params.run, policy(decls, body))
    assert diags == []
    assert facts == {"min_slice_ns": 1000}  # 100us * weight 1 / 100


def _slice_writes(callback: str, body: str) -> str:
    return (
        'scheduler p "d" {\n param base: duration = 5ms in 1ms..10ms\n'
        " task var boost: duration = 0ns\n"
        f" {callback} {{\n{body}\n }}\n}}\n"
    )


@pytest.mark.parametrize(
    ("callback", "body", "line", "message", "hint"),
    [
        # the case that undid the proof: the insert's slice replaced by 0 right after it
        (
            "on enqueue(t, flags)",
            "insert t into global slice base\nt.slice = 0ns",
            6,
            "`t.slice = 0ns` after the `insert` replaces the slice the task runs with, and sets it to 0",
            "`t.slice = 100us`",
        ),
        (
            "on select_cpu(t, prev, flags) -> cpu",
            "let pick = default_cpu(t, prev, flags)\nif pick.idle {\ninsert t into local slice base\n}"
            "\nt.slice = t.boost\nreturn pick.cpu",
            9,
            "`t.slice = t.boost` after the `insert` replaces the slice the task runs with, and may set it to 0",
            "`t.slice = max(t.boost, 100us)`",
        ),
        (
            "on running(t)",
            "t.slice -= 1ms",
            5,
            "`t.slice -= 1ms` in `on running` replaces the slice the task runs with",
            "`t.slice = max(t.slice - 1ms, 100us)`",
        ),
    ],
)
def test_slice_writes_that_undo_the_insert(check, callback, body, line, message, hint) -> None:
    _, diags = check(params.run, _slice_writes(callback, body))
    assert [(d.code, d.line) for d in diags] == [(codes.PARAM_RANGE, line)]
    assert message in diags[0].message
    assert hint in diags[0].hints[0]


@pytest.mark.parametrize(
    ("callback", "body"),
    [
        # before the insert: the insert sets the slice the task runs with
        ("on enqueue(t, flags)", "t.slice = 0ns\ninsert t into global slice base"),
        # after it, proven above 0
        ("on enqueue(t, flags)", "insert t into global slice base\nt.slice = max(t.boost, 1ms)"),
        ("on running(t)", "t.slice = base / 2"),
        # yielding from tick is what a zero slice is for
        ("on tick(t)", "t.slice = 0ns"),
        ("on stopping(t, runnable)", "t.slice = 0ns"),
    ],
)
def test_slice_writes_that_keep_the_proof(check, callback: str, body: str) -> None:
    facts, diags = check(params.run, _slice_writes(callback, body))
    assert diags == []


def test_a_loop_body_runs_after_its_own_insert(check) -> None:
    body = (
        "let done = false\nfor i in 0..2 {\nif not done {\nt.slice = t.boost\n"
        "insert t into global slice base\ndone = true\n}\n}"
    )
    _, diags = check(params.run, _slice_writes("on enqueue(t, flags)", body))
    # the checker does not follow `done`: on the second iteration the write may come after
    assert [(d.code, d.line) for d in diags] == [(codes.PARAM_RANGE, 8)]

"""The division rule: every divisor proven non-zero."""

from __future__ import annotations

import pytest

from schedlang import codes
from schedlang.passes import divzero

DECLS = (
    "param scale: u64 = 4 in 1..16\nparam maybe: u64 = 4 in 0..16\n"
    "var runs: u64 = 0\nvar signed_runs: i64 = 0\ntask var ran: duration = 0ns"
)


def policy(body: str) -> str:
    # the body starts on line 8
    return f'scheduler p "d" {{\n{DECLS}\n on stopping(t, runnable) {{\n{body}\n }}\n}}\n'


@pytest.mark.parametrize(
    "body",
    [
        "t.ran = t.ran / 2",
        "t.ran = t.ran / scale",
        "t.ran /= scale",
        "t.vtime += t.ran * 100 / t.weight",
        "runs = runs % 7",
        "t.ran = t.ran / max(runs, 1)",
        "t.ran = t.ran / clamp(runs, 1, 10)",
        "t.ran = t.ran / (runs as u32 as u64 + 1)",
        "let n = runs\n if n != 0 { t.ran = t.ran / n }",
        "let n = runs\n if n > 0 { t.ran = t.ran / n }",
        "let n = runs\n if n >= 1 { t.ran = t.ran / n }",
        "let n = runs\n if 0 < n { t.ran = t.ran / n }",
        "let n = runs\n if n == 0 { return }\n t.ran = t.ran / n",
        "let n = runs\n if n == 0 or t.ran / n > 1ms { t.ran = 0ns }",
        "let n = runs\n if n > 0 and t.ran / n > 1ms { t.ran = 0ns }",
        "let n = signed_runs\n if n != 0 { signed_runs = 100 / n }",
        "let n = signed_runs\n if n < 0 { signed_runs = 100 / n }",
        "let d = t.ran\n if d > 0ns { runs = 1s / d }",
        "let n = max(runs, 1)\n for i in 0..3 { runs = runs / n }",
    ],
)
def test_proven(check, body: str) -> None:
    facts, diags = check(divzero.run, policy(body))
    assert diags == [], [d.message for d in diags]
    assert isinstance(facts["divisions_proven"], int) and facts["divisions_proven"] >= 1


@pytest.mark.parametrize(
    ("body", "hint_part"),
    [
        ("t.ran = t.ran / runs", "let d = runs"),
        ("t.ran = t.ran / maybe", "make the range of `maybe` exclude 0"),
        ("let n = runs\n t.ran = t.ran / n", "guard it: `if n != 0 { ... }`"),
        ("let n = runs\n if n != 0 { n = runs\n t.ran = t.ran / n }", "guard it"),
        ("let n = runs\n if n != 0 { t.ran = 0ns }\n t.ran = t.ran / n", "guard it"),
        ("let n = runs\n if n != 0 or t.weight > 1 { t.ran = t.ran / n }", "guard it"),
        ("if runs > 0 { t.ran = t.ran / runs }", "let d = runs"),
        ("let d = t.ran\n runs = 1s / d", "if d != 0ns"),
        ("runs = 10 % (runs - 1)", "max(runs - 1, 1)"),
        ("let n = signed_runs\n if n >= 0 { signed_runs = 100 / n }", "guard it"),
        ("let n = max(runs, 1)\n for i in 0..3 { runs = runs / n\n n = runs }", "guard it"),
    ],
)
def test_may_be_zero(check, body: str, hint_part: str) -> None:
    _, diags = check(divzero.run, policy(body))
    [d] = diags
    assert d.code == codes.DIV_BY_ZERO and d.line >= 8
    assert "may be 0" in d.message
    assert any(hint_part in h for h in d.hints), d.hints


def test_constant_zero(check) -> None:
    [d] = check(divzero.run, policy("runs = runs / 0"))[1]
    assert d.code == codes.DIV_BY_ZERO and "constant 0" in d.message and d.line == 8


def test_a_guard_on_a_param_holds(check) -> None:
    assert check(divzero.run, policy("if maybe > 0 {\n runs = runs / maybe\n }"))[1] == []
    assert check(divzero.run, policy("if maybe == 0 {\n return\n }\n runs = runs % maybe"))[1] == []


def test_a_local_named_like_a_param_does_not_take_its_guard(check) -> None:
    body = "if maybe > 0 {\n let maybe = runs\n runs = runs / maybe\n }"
    [d] = check(divzero.run, policy(body))[1]
    assert d.code == codes.DIV_BY_ZERO

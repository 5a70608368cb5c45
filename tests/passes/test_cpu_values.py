"""The cpu rule: values kept as a `cpu` are proven below the CPU limit."""

from __future__ import annotations

import pytest

from schedlang import codes
from schedlang.passes import cpu_values

DECLS = "var turn: u32 = 0\nvar last: cpu = 0\narray owner: [cpu; 4]\ntask var home: cpu = 0"


def policy(body: str, decls: str = DECLS) -> str:
    # the body is on line 7
    return f'scheduler p "d" {{\n{decls}\n on running(t) {{\n{body}\n }}\n}}\n'


@pytest.mark.parametrize(
    "body",
    [
        "last = t.cpu",
        "let c = t.cpu\n last = c",
        "for c in cpus { last = c }",
        "let c: cpu = 3",
        "let c = (turn % 64) as cpu",
        "let c = (turn & 15) as cpu",
        "let n = turn\n if n < 64 { last = n as cpu }",
        "let n = turn\n if n >= 64 { return }\n t.home = n as cpu",
        "owner[turn % 4] = min(t.cpu, last)",
        "kick turn",
    ],
)
def test_proven(check, body: str) -> None:
    facts, diags = check(cpu_values.run, policy(body))
    assert diags == [], [d.message for d in diags]
    assert isinstance(facts["cpu_values_proven"], int)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("last = turn as cpu", "it may be negative"),  # a cpu is an s32: past 2**31 it wraps
        ("let c = (turn % 65) as cpu", "it can be as large as 64"),
        ("let c: cpu = 64", "it can be as large as 64"),
        ("let n = turn\n if n <= 64 { last = n as cpu }", "it can be as large as 64"),
        ("t.home = t.pid as cpu", "it may be negative"),
        ("owner[0] = (turn % 100) as cpu", "it can be as large as 99"),
    ],
)
def test_unproven(check, body: str, why: str) -> None:
    [d] = check(cpu_values.run, policy(body))[1]
    assert d.code == codes.CPU_RANGE and d.line in (7, 8)
    assert why in d.message and "CPU limit (64)" in d.message


def test_limit_follows_max_cpus(check) -> None:
    body = "let c = (turn % 100) as cpu"
    assert check(cpu_values.run, policy(body), max_cpus=64)[1] != []
    assert check(cpu_values.run, policy(body), max_cpus=128)[1] == []


def test_fn_arguments_and_results(check) -> None:
    decls = (
        DECLS
        + "\nfn twin(c: cpu) -> cpu {\n return c\n}\nfn forge(x: u32) -> cpu {\n return x as cpu\n}"
    )
    # line 10: forge's result is not proven; line 13: the argument for twin's `cpu` parameter
    diags = check(cpu_values.run, policy("last = twin(turn as cpu)", decls))[1]
    assert [(d.code, d.line) for d in diags] == [(codes.CPU_RANGE, 10), (codes.CPU_RANGE, 13)]
    diags = check(cpu_values.run, policy("last = twin(t.cpu)", decls))[1]
    assert [(d.code, d.line) for d in diags] == [(codes.CPU_RANGE, 10)]


def test_initial_values(check) -> None:
    decls = "var last: cpu = 64\nmap owner: u32 -> cpu = 99 capacity 8"
    diags = check(cpu_values.run, policy("", decls))[1]
    assert [(d.code, d.line) for d in diags] == [(codes.CPU_RANGE, 2), (codes.CPU_RANGE, 3)]


def test_select_cpu_result_is_left_to_the_kernel(check) -> None:
    text = 'scheduler p "d" {\n var turn: u32 = 0\n on select_cpu(t, prev, flags) -> cpu {\n return turn as cpu\n }\n}\n'
    assert check(cpu_values.run, text)[1] == []

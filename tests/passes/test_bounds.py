"""The bounds rule: proven indices, map and array sizes, the memory budget."""

from __future__ import annotations

import pytest

from schedlang import codes
from schedlang.passes import bounds

DECLS = "array hist: [u64; 8]\narray busy: [duration; cpus]\nvar cursor: u32 = 0\nvar sc: i32 = 0"


def policy(body: str, decls: str = DECLS) -> str:
    # the body is on line 7
    return f'scheduler p "d" {{\n{decls}\n on running(t) {{\n{body}\n }}\n}}\n'


@pytest.mark.parametrize(
    "body",
    [
        "hist[0] += 1\n hist[7] += 1",
        "busy[t.cpu] += 1ms",
        "for c in cpus { busy[c] += 1ms }",
        "for i in 0..8 { hist[i] += 1 }",
        "for i in 3..8 { hist[i - 3] += 1 }",
        "hist[t.pid % 8] += 1",
        "hist[t.pid % 4] += 1",
        "hist[t.pid & 7] += 1",
        "hist[min(cursor, 7)] += 1",
        "hist[clamp(cursor, 0, 7)] += 1",
        "hist[cursor / 1000000000] += 1",
        "let i = cursor\n if i < 8 { hist[i] += 1 }",
        "let i = cursor\n if 8 > i { hist[i] += 1 }",
        "let i = cursor\n if i <= 7 and t.weight > 1 { hist[i] += 1 }",
        "let i = cursor\n if i < 8 and hist[i] > 0 { hist[i] = 0 }",
        "let i = cursor\n if i >= 8 or hist[i] > 0 { hist[0] = 0 }",
        "let i = cursor\n if i >= 8 { return }\n hist[i] += 1",
        "let i = cursor\n if not (i >= 8) { hist[i] += 1 }",
        "let i = cursor\n if i > 7 { i = 0 }\n hist[i] += 1",
        "let i = cursor % 8\n hist[i] += 1",
        "let i = cursor % 8\n for k in 0..3 { hist[i] += 1 }",
        "let i = sc\n if i >= 0 and i < 8 { hist[i] += 1 }",
        "let c = t.cpu\n busy[c] += 1ms",
        "let n: u32 = 4\n let i = cursor\n if i < n { hist[i] += 1 }",
        "let n: u64 = 4\n let i = cursor\n if i < n { hist[i] += 1 }",
        "let c = t.cpu\n if c < 8 { hist[c] += 1 }",
    ],
)
def test_proven(check, body: str) -> None:
    facts, diags = check(bounds.run, policy(body))
    assert diags == [], [d.message for d in diags]
    assert isinstance(facts["indices_proven"], int) and facts["indices_proven"] >= 1


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("hist[8] += 1", "index 8 is past the last slot (7)"),
        ("hist[t.pid % 9] += 1", "can be as large as 8"),
        ("hist[cursor] += 1", "nothing here keeps `cursor` below 8"),
        ("if cursor < 8 { hist[cursor] += 1 }", "nothing here keeps"),
        ("let i = cursor\n if i <= 8 { hist[i] += 1 }", "can be as large as 8"),
        ("let i = cursor\n if i < 8 { i = cursor\n hist[i] += 1 }", "nothing here keeps"),
        ("let i = cursor\n if i < 8 or t.weight > 1 { hist[i] += 1 }", "nothing here keeps"),
        ("let i = cursor\n if i < 8 { hist[0] = 0 }\n hist[i] += 1", "nothing here keeps"),
        ("let i = sc\n if i < 8 { hist[i] += 1 }", "may be negative"),
        ("for i in 0..9 { hist[i] += 1 }", "can be as large as 8"),
        ("let i = cursor % 8\n for k in 0..3 { hist[i] += 1\n i = i + 1 }", "nothing here keeps"),
        ("busy[t.pid] += 1ms", "nothing here keeps `t.pid` below 64"),
        ("busy[t.cpu + 1] += 1ms", "can be as large as 64"),
    ],
)
def test_unproven(check, body: str, why: str) -> None:
    _, diags = check(bounds.run, policy(body))
    assert diags, "expected a diagnostic"
    d = diags[0]
    assert d.code == codes.INDEX_UNPROVEN
    assert why in d.message, d.message
    assert {x.line for x in diags} <= set(range(7, 10))


def test_compound_assignment_reports_once(check) -> None:
    _, diags = check(bounds.run, policy("hist[cursor] += 1"))
    assert len(diags) == 1


def test_hints_show_the_fix(check) -> None:
    [d] = check(bounds.run, policy("let i = cursor\n hist[i] += 1"))[1]
    assert d.hints == (
        "guard it: `if i < 8 { ... hist[i] ... }`",
        "or wrap it: `hist[i % 8]`",
    )
    [d] = check(bounds.run, policy("hist[cursor + 1] += 1"))[1]
    assert "`let i = cursor + 1` then `if i < 8 { ... hist[i] ... }`" in d.hints[0]
    assert d.hints[1] == "or wrap it: `hist[(cursor + 1) % 8]`"
    [d] = check(bounds.run, policy("busy[t.pid] += 1ms"))[1]
    assert "with a `cpu` value" in d.hints[0]


def test_per_cpu_array_size_follows_the_cpu_limit(check) -> None:
    body = "let i = cursor\n if i < 100 { busy[i] += 1ms }"
    assert check(bounds.run, policy(body), max_cpus=64)[1] != []
    assert check(bounds.run, policy(body), max_cpus=128)[1] == []


def test_indices_in_fns(check) -> None:
    decls = DECLS + "\nfn at(i: u32) -> u64 {\n return hist[i]\n}"
    [d] = check(bounds.run, policy("let x = at(1)", decls))[1]
    assert d.code == codes.INDEX_UNPROVEN and d.line == 7


@pytest.mark.parametrize(
    ("decl", "code", "part"),
    [
        ("array none: [u64; 0]", codes.BAD_SIZE, "size 0"),
        ("map m: u32 -> u64 = 0 capacity 0", codes.BAD_SIZE, "capacity 0"),
        ("map m: u32 -> u32 = 0 capacity 1048577", codes.BAD_SIZE, "above the limit"),
        ("map m: u64 -> u64 = 0 capacity 1000000", codes.MEMORY_BUDGET, "map `m`"),
        (
            "\n".join(f"array a{i}: [u64; 1000000]" for i in range(9)),
            codes.MEMORY_BUDGET,
            "the largest is array `a0` with 8000000 bytes",
        ),
    ],
)
def test_sizes_and_budget(check, decl: str, code: str, part: str) -> None:
    _, diags = check(bounds.run, policy("", decl))
    d = diags[0]
    assert d.code == code and part in d.message
    assert d.line == 2


def test_memory_fact(check) -> None:
    facts, _ = check(
        bounds.run,
        policy("", "array a: [u64; 8]\narray b: [u32; cpus]\nmap m: u32 -> u64 = 0 capacity 10"),
    )
    assert facts["memory_bytes"] == 8 * 8 + 64 * 4 + 10 * (4 + 8 + bounds.MAP_ENTRY_OVERHEAD)


def test_fn_results_carry_their_range(check) -> None:
    fn = "\nfn bucket(x: u64) -> u64 {\n if x > 100 {\n return 7\n }\n return min(x, 6)\n}"
    assert check(bounds.run, policy("hist[bucket(t.weight)] += 1", DECLS + fn))[1] == []
    wide = "\nfn bucket(x: u64) -> u64 {\n if x > 100 {\n return 8\n }\n return min(x, 6)\n}"
    [d] = check(bounds.run, policy("hist[bucket(t.weight)] += 1", DECLS + wide))[1]
    assert "can be as large as 8" in d.message


def test_recursive_fn_result_is_just_its_type(check) -> None:
    fn = "\nfn f(x: u64) -> u64 {\n return f(x) % 4\n}"
    assert check(bounds.run, policy("hist[f(1)] += 1", DECLS + fn))[1] == []


def test_one_report_per_access_and_line(check) -> None:
    _, diags = check(bounds.run, policy("hist[cursor] = hist[cursor] + 1"))
    assert len(diags) == 1


def test_a_constant_false_branch_never_runs(check) -> None:
    decls = DECLS + "\nconst DEBUG: bool = false"
    assert check(bounds.run, policy("if DEBUG {\n hist[99] += 1\n }", decls))[1] == []
    [d] = check(bounds.run, policy("if not DEBUG {\n hist[99] += 1\n }", decls))[1]
    assert d.code == codes.INDEX_UNPROVEN

"""Regression tests for the adversarial findings about the checker and `schedlang check`
(docs/adversarial-findings.md; the backend ones are in
tests/backends/test_adversarial_backend.py).

Attacks the checker already stops live in tests/cases/adversarial_*.sched. The tests here are
for bugs not fixed yet: each is `xfail(strict=True)` naming its finding, so it turns into a
failure the day the bug is fixed and whoever fixed it removes the mark.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schedlang import codes
from schedlang.checker import check_path, check_source
from schedlang.source import SourceFile

ROOT = Path(__file__).resolve().parents[2]
FINDINGS = "docs/adversarial-findings.md"


def diagnose(text: str) -> list[tuple[int, str]]:
    _, diags = check_source(SourceFile("case.sched", text))
    return [(d.line, d.code) for d in diags]


def hints_for(text: str, code: str) -> list[str]:
    _, diags = check_source(SourceFile("case.sched", text))
    return [h for d in diags if d.code == code for h in d.hints]


@pytest.mark.parametrize("drain", ["true or move_to_local(q)", "false and move_to_local(q)"])
def test_a_move_that_short_circuit_never_evaluates_starves_the_queue(drain: str) -> None:
    """The VM ejected the `or` form: `ksoftirqd/0 failed to run for 7.232s` (docs/adversarial-findings.md #6,
    fixed: the path walk evaluates `and` / `or` as the branches they are)."""
    text = (
        'scheduler st "short circuit" {\n'
        "    queue q: fifo\n"
        "    on enqueue(t, flags) {\n"
        "        insert t into q slice 5ms\n"
        "    }\n"
        "    on dispatch(c) {\n"
        f"        let z = {drain}\n"
        "    }\n"
        "}\n"
    )
    assert (2, codes.STARVING_QUEUE) in diagnose(text)


SIGNED_GUARD = """\
scheduler neg "signed guard index" {
    array hist: [u64; 8]
    var k: i64 = -3
    on running(t) {
        let i = k
        if i < 8 {
            hist[i] += 1
        }
    }
}
"""


def test_a_negative_index_is_rejected() -> None:
    assert diagnose(SIGNED_GUARD) == [(7, codes.INDEX_UNPROVEN)]


def test_hints_for_a_maybe_negative_index_are_fixes() -> None:
    """The guard `if i < 8` is already there, and `i % 8` of a negative i is negative: a hint
    must name something that makes the index non-negative (finding #4, fixed)."""
    hints = hints_for(SIGNED_GUARD, codes.INDEX_UNPROVEN)
    assert hints
    assert not any("if i < 8 {" in h or "hist[i % 8]" in h for h in hints), hints
    assert any(">= 0" in h or "as u64" in h for h in hints), hints


NEGATIVE_USES = """\
scheduler negs "values that may be negative, where a range is needed" {
    array hist: [u64; 8]
    var k: i64 = -3
    var u: u64 = 3
    var keep: cpu = 0
    on running(t) {
        let n = k
        USE
    }
}
"""
# How a hint's use (`hist[x]`, `x as cpu`) becomes a statement.
AS_STATEMENT = {codes.INDEX_UNPROVEN: "{} += 1", codes.CPU_RANGE: "keep = {}"}


@pytest.mark.parametrize(
    ("use", "code", "negative"),
    [
        ("hist[n]", codes.INDEX_UNPROVEN, True),
        ("hist[k % 8]", codes.INDEX_UNPROVEN, True),
        ("hist[abs(k)]", codes.INDEX_UNPROVEN, True),  # abs of the minimum is negative
        ("hist[u + 1]", codes.INDEX_UNPROVEN, False),  # unsigned: only the top is missing
        ("n as cpu", codes.CPU_RANGE, True),
        ("(k % 64) as cpu", codes.CPU_RANGE, True),
        ("abs(k) as cpu", codes.CPU_RANGE, True),
        ("u as cpu", codes.CPU_RANGE, False),
    ],
)
def test_each_range_hint_is_a_fix_the_checker_accepts(use: str, code: str, negative: bool) -> None:
    """Finding #4: apply each hint as written (the wrap in place of the use, the guard
    around it) and the program checks; a hint that does not is worse than none."""
    statement = AS_STATEMENT[code]
    hints = hints_for(NEGATIVE_USES.replace("USE", statement.format(use)), code)
    guard = next(h for h in hints if h.startswith(("guard it: ", "copy it into a local")))
    wrap = next(h for h in hints if h.startswith("or wrap it: "))
    *copy, test = re.findall(r"`([^`]*)`", guard)  # [`let i = X`], `if C { ... USE ... }`
    condition, guarded = re.fullmatch(r"(if .*) \{ \.\.\. (.*) \.\.\. \}", test).groups()  # type: ignore[union-attr]
    by_guard = "\n".join([*copy, f"{condition} {{ {statement.format(guarded)} }}"])
    by_wrap = statement.format(re.findall(r"`([^`]*)`", wrap)[0])
    for fixed in (by_guard, by_wrap):
        assert diagnose(NEGATIVE_USES.replace("USE", fixed)) == [], (fixed, hints)
    assert (">= 0 and" in guard and "as u64) %" in wrap) == negative, hints


MIN_MIXED = """\
scheduler mm "min of a u32 and a u64" {
    var out: u64 = 0
    on running(t) {
        let x: u32 = 5
        let y: u64 = 6
        out = min(x, y) + max(x, y)
    }
}
"""


def test_min_and_max_widen_like_the_operators() -> None:
    """language.md 5.2: u32 -> u64 is implicit (`x + y` is a u64), so min(x, y) is too."""
    assert diagnose(MIN_MIXED) == []


def test_a_mixed_min_never_hints_a_narrowing() -> None:
    """Whatever the rule, no hint may propose `y as u32`, which drops the high bits."""
    _, diags = check_source(SourceFile("case.sched", MIN_MIXED))
    assert not any("as u32" in h for d in diags for h in d.hints)


def _min_case(body: str) -> str:
    return (
        'scheduler mw "min and max widen" {\n'
        "    array hist: [u64; 8]\n"
        "    var a: u32 = 3\n"
        "    var b: u64 = 5\n"
        "    var s: i32 = -2\n"
        "    var w: i64 = 7\n"
        "    var out: u64 = 0\n"
        "    var sout: i64 = 0\n"
        "    on running(t) {\n"
        f"        {body}\n"
        "    }\n"
        "}\n"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("out = max(b, a) + min(a, b, 1)", []),  # finding #5: u32 widens to u64, any order
        ("sout = clamp(s, w, 100) + min(w, s)", []),  # and i32 to i64
        ("hist[min(a, b)] += 1", [(10, codes.INDEX_UNPROVEN)]),  # still a u64: not proven < 8
        ("hist[min(a, b, 7)] += 1", []),  # the widened min keeps its bound
        ("let n: u32 = min(a, b)\n out = n as u64", [(10, codes.TYPE_MISMATCH)]),  # a u64
        ("sout = min(a, w)", [(10, codes.SIGN_MIX)]),  # signs never mix, even inside min
    ],
)
def test_min_and_max_take_the_64_bit_type_of_their_arguments(
    body: str, expected: list[tuple[int, str]]
) -> None:
    assert diagnose(_min_case(body)) == expected


def test_a_sign_mixed_min_hints_the_conversion_that_keeps_the_value() -> None:
    """`min(a, w)` of a u32 and an i64: `a as i64` keeps every u32; `w as u32` would not."""
    hints = hints_for(_min_case("sout = min(a, w)"), codes.SIGN_MIX)
    assert hints == ["convert explicitly: `(...) as i64`"], hints


def test_boolean_operators_fold_in_constants() -> None:
    """Finding #10, fixed: `and`/`or` of literals fold like `not` and comparisons."""
    text = (
        'scheduler c "consts" {\n'
        "    const L: bool = (true or false) and false\n"
        "    var b: bool = false\n"
        "    on running(t) {\n"
        "        b = L\n"
        "    }\n"
        "}\n"
    )
    assert diagnose(text) == []


@pytest.mark.parametrize("literal", [r'"\x41"', r'"kworker\/"', r'"a\0b"'])
def test_an_unknown_string_escape_is_a_diagnostic(literal: str) -> None:
    """Finding #11, fixed: an unknown escape is a syntax error at the backslash."""
    text = (
        'scheduler se "escapes" {\n'
        "    var hit: u64 = 0\n"
        "    on running(t) {\n"
        f"        if t.comm == {literal} {{\n"
        "            hit += 1\n"
        "        }\n"
        "    }\n"
        "}\n"
    )
    assert [line for line, _ in diagnose(text)] == [4]


def test_a_byte_order_mark_is_not_an_invisible_syntax_error(tmp_path: Path) -> None:
    """Finding #8, fixed: a leading byte-order mark is skipped like whitespace."""
    path = tmp_path / "bom.sched"
    path.write_bytes(
        b'\xef\xbb\xbfscheduler b "saved with a BOM" {\n'
        b"    on enqueue(t, f) { insert t into global }\n}\n"
    )
    _, diags = check_path(path)
    assert all("byte-order mark" in d.message or "BOM" in d.message for d in diags), [
        d.message for d in diags
    ]


def test_a_queue_drained_only_on_one_cpu_is_accepted_and_guarded_at_run_time() -> None:
    """Finding #15, fixed in the backend: the VM ejected this policy (`kworker/1:0 failed to
    run for 7.160s`, pinned to CPU 1). A checker rule would also reject intended per-CPU
    choices (examples/partition.sched), so the checker accepts it and the generated dispatch
    ends in sl_dispatch_fallback (tests/backends/test_runtime_guards.py; the VM run of
    tests/backends/data/cpu0_drain.sched is in tests/backends/test_bpf_vm.py)."""
    text = (
        'scheduler cpu0 "only CPU 0 drains the queue" {\n'
        "    queue q: fifo\n"
        "    on enqueue(t, flags) {\n"
        "        insert t into q slice 5ms\n"
        "    }\n"
        "    on dispatch(c) {\n"
        "        if c == 0 {\n"
        "            move_to_local(q)\n"
        "        }\n"
        "    }\n"
        "}\n"
    )
    assert diagnose(text) == []


RATE_LIMITED = """\
scheduler strict "a rate-limited drain" {
    queue q: fifo
    var last: time = 0
    array budget: [u64; cpus]
    fn busy(c: cpu) -> bool {
        return budget[c] > 3
    }
    on enqueue(t, flags) {
        budget[t.cpu] += 1
        insert t into q slice 5ms
    }
    on dispatch(c) {
        DRAIN
    }
}
"""


@pytest.mark.parametrize(
    "drain",
    [
        "let at = now()\n if at - last >= 10ms {\n last = at\n move_to_local(q)\n }",
        "if busy(c) {\n move_to_local(q)\n }",
    ],
    ids=["time-guard", "fn-guard"],
)
def test_a_move_behind_a_satisfiable_guard_drains_the_queue(drain: str) -> None:
    assert diagnose(RATE_LIMITED.replace("DRAIN", drain)) == []


def test_a_const_with_a_bad_value_is_reported_once() -> None:
    """Finding #21, fixed: the const is declared, poisoned, so its uses add nothing."""
    text = (
        'scheduler cc "a const whose value is rejected" {\n'
        "    const LIMIT: u32 = 5000000000\n"
        "    var out: u64 = 0\n"
        "    on running(t) {\n"
        "        out = LIMIT as u64\n"
        "    }\n"
        "}\n"
    )
    assert diagnose(text) == [(2, codes.TYPE_MISMATCH)]


@pytest.mark.parametrize(
    ("decl", "code"),
    [
        ("const SHIFT: u64 = 5 - 7", codes.TYPE_MISMATCH),
        ("const SHIFT: u64 = undefined_thing", codes.UNKNOWN_NAME),
        ("const SHIFT: u65 = 3", codes.UNKNOWN_TYPE),
        ("const SHIFT: u64 = 1 / 0", codes.NOT_CONSTANT),
    ],
    ids=["negative", "unknown-name", "unknown-type", "div-zero"],
)
def test_uses_of_a_rejected_const_add_no_diagnostics(decl: str, code: str) -> None:
    """A const used in a type-sensitive place (index, divisor, slice, another const): only
    its own declaration is reported, whatever was wrong with it."""
    text = (
        'scheduler pc "uses of a rejected const" {\n'
        f"    {decl}\n"
        "    const DERIVED: u64 = SHIFT * 2\n"
        "    array hist: [u64; 8]\n"
        "    var out: u64 = 0\n"
        "    on enqueue(t, f) {\n"
        "        hist[SHIFT] += 1\n"
        "        out = out / SHIFT + DERIVED\n"
        "        insert t into global slice 1ms * SHIFT\n"
        "    }\n"
        "}\n"
    )
    assert diagnose(text) == [(2, code)]

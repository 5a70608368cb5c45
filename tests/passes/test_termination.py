"""The termination rule: constant loop bounds, no recursion, an instruction budget."""

from __future__ import annotations

from schedlang import codes
from schedlang.passes import termination


def policy(decls: str, enqueue: str, extra: str = "") -> str:
    return (
        f'scheduler p "d" {{\n{decls}\n on enqueue(t, flags) {{\n{enqueue}\n insert t into global\n }}\n'
        f"{extra}\n}}\n"
    )


def test_estimates_every_callback(check) -> None:
    facts, diags = check(termination.run, policy("var n: u64 = 0", "n += 1"))
    assert diags == []
    assert facts["instruction_budget"] == termination.INSTRUCTION_BUDGET
    instructions = facts["instructions"]
    assert isinstance(instructions, dict) and set(instructions) == {"enqueue"}
    assert 20 < instructions["enqueue"] < 200


def test_loops_multiply_and_cpu_loops_use_the_cpu_limit(check) -> None:
    def cost(body: str, max_cpus: int = 64) -> int:
        facts, diags = check(termination.run, policy("var n: u64 = 0", body), max_cpus=max_cpus)
        assert diags == []
        instructions = facts["instructions"]
        assert isinstance(instructions, dict)
        return int(instructions["enqueue"])

    base = cost("")
    ten, hundred = (
        cost("for i in 0..10 { n += 1 }") - base,
        cost("for i in 0..100 { n += 1 }") - base,
    )
    assert hundred > 9 * ten
    assert (
        cost("for c in cpus { n += 1 }", max_cpus=512)
        > 7 * cost("for c in cpus { n += 1 }", max_cpus=64) - 7 * base
    )


def test_fn_bodies_are_inlined_into_the_estimate(check) -> None:
    fn = "fn spin(x: u64) -> u64 {\n let r = x\n for i in 0..50 { r = r + 1 }\n return r\n}"
    once = check(termination.run, policy(f"var n: u64 = 0\n{fn}", "n = spin(n)"))[0]["instructions"]
    twice = check(termination.run, policy(f"var n: u64 = 0\n{fn}", "n = spin(spin(n))"))[0][
        "instructions"
    ]
    assert isinstance(once, dict) and isinstance(twice, dict)
    assert twice["enqueue"] - once["enqueue"] > 150


def test_param_bound_is_unbounded(check) -> None:
    _, diags = check(
        termination.run,
        policy("param n: u32 = 4 in 1..8\nvar x: u64 = 0", "for i in 0..n { x += 1 }"),
    )
    [d] = diags
    assert d.code == codes.UNBOUNDED_LOOP and d.line == 5
    assert "`n`" in d.message
    assert any("const" in h for h in d.hints) and any("for c in cpus" in h for h in d.hints)


def test_const_bound_is_fine(check) -> None:
    assert (
        check(
            termination.run, policy("const N: u32 = 4\nvar x: u64 = 0", "for i in 2..N { x += 1 }")
        )[1]
        == []
    )


def test_direct_recursion(check) -> None:
    fn = "fn f(x: u64) -> u64 {\n return f(x)\n}"
    [d] = check(termination.run, policy(fn, ""))[1]
    assert d.code == codes.RECURSION and d.line == 3
    assert "fn `f` calls itself" in d.message


def test_mutual_recursion_names_the_cycle_once(check) -> None:
    fns = "fn a(x: u64) -> u64 {\n return b(x)\n}\nfn b(x: u64) -> u64 {\n return c(x)\n}\nfn c(x: u64) -> u64 {\n return a(x)\n}"
    [d] = check(termination.run, policy(fns, "let y = a(1)"))[1]
    assert d.code == codes.RECURSION and d.line == 9
    assert "`a` -> `b` -> `c` -> `a`" in d.message


def test_diamond_of_calls_is_not_recursion(check) -> None:
    fns = (
        "fn leaf(x: u64) -> u64 {\n return x + 1\n}\nfn l(x: u64) -> u64 {\n return leaf(x)\n}\n"
        "fn r(x: u64) -> u64 {\n return leaf(x)\n}\nfn top(x: u64) -> u64 {\n return l(x) + r(x)\n}"
    )
    assert check(termination.run, policy(fns, "let y = top(1)"))[1] == []


def test_too_complex_points_at_the_dominant_loop(check) -> None:
    body = "for c in cpus {\n for i in 0..1000 {\n x += 1\n }\n }"
    facts, diags = check(termination.run, policy("var x: u64 = 0", body), max_cpus=512)
    [d] = diags
    assert d.code == codes.TOO_COMPLEX and d.line == 4
    assert "the loop at line 4 (512 iterations" in d.message
    instructions = facts["instructions"]
    assert (
        isinstance(instructions, dict) and instructions["enqueue"] > termination.INSTRUCTION_BUDGET
    )


def test_too_complex_through_a_fn_points_at_the_call(check) -> None:
    fn = "fn heavy(x: u64) -> u64 {\n let r = x\n for i in 0..40000 { r = r + 1 }\n return r\n}"
    [d] = check(termination.run, policy(f"var n: u64 = 0\n{fn}", "n = heavy(n)"))[1]
    assert d.code == codes.TOO_COMPLEX and d.line == 9
    assert "the call of `heavy`" in d.message


def test_recursive_fns_do_not_hang_the_estimate(check) -> None:
    fns = "fn a(x: u64) -> u64 {\n return a(x) + a(x)\n}"
    facts, diags = check(termination.run, policy(fns, "let y = a(1)"))
    assert [d.code for d in diags] == [codes.RECURSION, codes.RECURSION]
    assert isinstance(facts["instructions"], dict)


def _branchy(n: int, use_later: bool) -> str:
    """n independent `if`s, each setting its own local (finding #17's probe)."""
    lets = "\n".join(f" let a{i}: u64 = 0" for i in range(n))
    ifs = "\n".join(
        f" if t.pid & {1 << (i % 32)} != 0 {{ a{i} = 1  stamp = now() as u64 }}" for i in range(n)
    )
    uses = "\n".join(f" hist[a{i}] += 1" for i in range(n)) if use_later else ""
    return policy(
        "array hist: [u64; 2]\nvar stamp: u64 = 0",
        f"{lets}\n{ifs}\n{uses}",
    )


def _estimate(check, text: str) -> int:
    facts, diags = check(termination.run, text)
    assert diags == []
    instructions = facts["instructions"]
    assert isinstance(instructions, dict)
    return int(instructions["enqueue"])


def test_ifs_whose_locals_are_read_later_multiply_the_paths(check) -> None:
    """The verifier cannot merge states that differ in a local still to be read: each such
    `if` doubles the states checked after it (finding #17)."""
    four, eight = _estimate(check, _branchy(4, True)), _estimate(check, _branchy(8, True))
    assert eight > 12 * four


def test_ifs_whose_locals_are_dead_or_in_memory_add_up(check) -> None:
    """A local not read after the `if`, or a `var`, does not keep states apart: the
    estimate stays linear in the number of `if`s."""
    ten, forty = _estimate(check, _branchy(10, False)), _estimate(check, _branchy(40, False))
    assert forty < 5 * ten


def test_too_many_path_combinations_are_too_complex(check) -> None:
    _, diags = check(termination.run, _branchy(12, True))
    [d] = diags
    assert d.code == codes.TOO_COMPLEX and d.line == 4  # the callback
    assert "the 12 `if`s at lines 17, 18, 19, 20, 21, 22, ... each leave a local" in d.message
    assert "keep what the branches decide in a `var` or an array" in d.hints[0]


def test_fn_results_kept_in_live_locals_multiply_the_paths(check) -> None:
    """An inlined fn with two `return`s leaves two states in the local that keeps its
    result: 12 such locals read later are 4096 combinations."""
    fn = "fn bit(x: u32, b: u32) -> u64 {\n if x & b != 0 { return 1 }\n return 0\n}"
    lets = "\n".join(f" let a{i} = bit(t.pid, {1 << i})" for i in range(12))
    uses = "\n".join(f" hist[a{i}] += 1" for i in range(12))
    _, diags = check(termination.run, policy(f"array hist: [u64; 2]\n{fn}", f"{lets}\n{uses}"))
    assert [d.code for d in diags] == [codes.TOO_COMPLEX]


def _flag_chain(n: int, nested: bool) -> str:
    """n `if`s that each may set the same flag, read by the next: the placed-flag idiom
    (finding #22's probe). nested: each sits inside an `if` of its own."""
    ifs = "\n".join(
        f" if t.pid & {1 << (i % 32)} != 0 and not placed {{ placed = true  stamp = {i} }}"
        for i in range(n)
    )
    if nested:
        ifs = "\n".join(
            f" if t.tgid > {i} {{\n{line}\n }}" for i, line in enumerate(ifs.split("\n"))
        )
    return policy("var stamp: u64 = 0", f" let placed = false\n{ifs}\n if placed {{ stamp += 1 }}")


def test_a_flag_set_by_many_ifs_splits_the_states_once(check) -> None:
    """After the first `if` that sets `placed`, the states hold both of its values; setting
    it again makes no state the verifier has not seen, so 200 such `if`s stay linear."""
    ten = _estimate(check, _flag_chain(10, False))
    two_hundred = _estimate(check, _flag_chain(200, False))
    assert two_hundred < 25 * ten


def test_a_flag_set_inside_other_branches_still_multiplies(check) -> None:
    """Inside another `if` a flag's split doubles only some of the states: later `if`s
    setting it can still make new ones, so the estimate keeps counting them."""
    three, six = _estimate(check, _flag_chain(3, True)), _estimate(check, _flag_chain(6, True))
    assert six > 3 * three
    assert six > 3 * _estimate(check, _flag_chain(6, False))

"""The interpreter computes what the generated C computes, on random typed expressions.

A seeded generator writes expressions over locals holding each type's edge values (wrapping
`+ - *`, `sat-`, signed and unsigned `/ %` with provably non-zero divisors, shifts by any
run-time amount, casts between every integer type, `cpu` and `bool`, `min max clamp abs`,
unary minus, literal operands, comparisons as integers). The checker types them (inserting its casts); the
interpreter runs them; the BPF backend's own lowering turns the same checked expressions
into C, which the host's clang compiles with the backend's flags (-O2 -fwrapv) and runs.
Every value must agree: docs/semantics.md is what both compute. Shifts by the width or more
are undefined in C but executed by BPF (and x86) with the amount masked, which is the rule.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from hostc import host_program
from simhost import ToyHost

from schedlang import ir
from schedlang.backends.bpf import build, cnames, csyntax
from schedlang.backends.bpf.lower import Lowerer, Scope
from schedlang.backends.interp import compile_for_sim
from schedlang.backends.interp.policy import InterpPolicy
from schedlang.checker import check_source
from schedlang.source import SourceFile
from schedlang.types import RANGE, Type

INTS = ("u32", "u64", "i32", "i64")
SAMPLES = 400

# Locals of each type, with the values at the edges of the type and a few ordinary ones.
LOCALS: dict[str, list[int]] = {
    "u32": [0, 1, 7, 2**31, 2**32 - 1, 123456789],
    "u64": [0, 1, 9, 2**63, 2**64 - 1, 2**32 + 5],
    "i32": [0, -1, 5, -(2**31), 2**31 - 1, -77],
    "i64": [0, -1, 3, -(2**63), 2**63 - 1, -(2**40)],
}
SHIFTS = [0, 1, 31, 32, 33, 63, 64, 65, 200]  # u32 amounts, many past the width


def _local(rng: random.Random, t: str) -> str:
    return f"{t}_{rng.randrange(len(LOCALS[t]))}"


def _expr(rng: random.Random, t: str, depth: int) -> str:
    """A random expression of DSL type t (u32 u64 i32 i64)."""
    if depth <= 0 or rng.random() < 0.2:
        return _local(rng, t)
    signed = t.startswith("i")
    a = lambda: _expr(rng, t, depth - 1)  # noqa: E731
    pick = rng.randrange(14)
    if pick < 3:
        op = rng.choice(["+", "-", "*", "&", "|", "^"])
        return f"({a()} {op} {a()})"
    if pick == 3:
        op = rng.choice(["/", "%"])
        floor = rng.choice(["max({d}, 1)", "min({d}, -1)"]) if signed else "max({d}, 1)"
        return f"({a()} {op} {floor.format(d=a())})"
    if pick == 4:
        op = rng.choice(["<<", ">>"])
        return f"({a()} {op} shift_{rng.randrange(len(SHIFTS))})"
    if pick == 5:
        other = rng.choice(INTS)
        return f"({_expr(rng, other, depth - 1)} as {t})"
    if pick == 6:
        name = rng.choice(["min", "max"])
        return f"{name}({a()}, {a()})"
    if pick == 7:
        return f"clamp({a()}, {a()}, {a()})"
    if pick == 8 and signed:
        return rng.choice([f"(-{a()})", f"abs({a()})"])
    if pick == 9:
        cmp = rng.choice(["<", "<=", "==", "!=", ">", ">="])
        other = rng.choice(INTS)
        x, y = _expr(rng, other, depth - 1), _expr(rng, other, depth - 1)
        return f"(({x} {cmp} {y}) as {t})"
    if pick == 10:
        # through a cpu: `as cpu` keeps 32 bits, signed (the kernel's s32)
        return f"(({a()} as cpu) as {t})"
    if pick == 11 and not signed:
        return f"({a()} - {a()})"  # saturating
    if pick == 12:  # a literal on the right, as in `x + 1` or `d * 100`
        op = rng.choice(["+", "-", "*", "&", "|"])
        return f"({a()} {op} {rng.choice([0, 1, 3, 100, 65535])})"
    if pick == 13:
        cmp = rng.choice(["<", ">", "==", "!="])
        return f"(({a()} {cmp} {rng.choice([0, 1, 100])}) as {t})"
    return _local(rng, t)


def _policy(rng: random.Random) -> str:
    lets = [f"let {t}_{i}: {t} = {v}" for t, values in LOCALS.items() for i, v in enumerate(values)]
    lets += [f"let shift_{i}: u32 = {v}" for i, v in enumerate(SHIFTS)]
    decls, body = [], []
    for i in range(SAMPLES):
        t = rng.choice(INTS)
        decls.append(f"var r{i}: {t} = 0")
        body.append(f"r{i} = {_expr(rng, t, rng.randint(1, 4))}")
    text = (
        'scheduler exprs "random expressions" {\n'
        + "\n".join(decls)
        + "\non init() {\n"
        + "\n".join(lets + body)
        + "\n}\n}\n"
    )
    return text


def _c_program(checked: ir.CheckedProgram, directory: Path) -> str:
    """main() declares the locals (read through volatiles: computed at run time, as in a
    policy) and prints each r_i's expression, lowered by the BPF backend."""
    init = checked.program.callbacks[0]
    lw = Lowerer(checked.program)
    lines = []
    for s in init.body:
        if isinstance(s, ir.Let):
            ctype, name = cnames.c_type(s.type), cnames.ident(s.name)
            lines.append(
                f"\tvolatile {ctype} v_{name} = {csyntax.expr(lw.expr(s.value))}; {ctype} {name} = v_{name};"
            )
        elif isinstance(s, ir.Assign) and isinstance(s.target, ir.GlobalRef):
            value = csyntax.expr(lw.expr(s.value))
            ctype = cnames.c_type(s.target.type)
            lines.append(
                f'\t{{ {ctype} r = {value}; printf("{s.target.name} %llu\\n", '
                "(unsigned long long)r); }"
            )
    return host_program(directory, lines)


def _run_c(clang: build.Clang, tmp_path: Path, checked: ir.CheckedProgram) -> dict[str, int]:
    """Each r_i's value as the generated C computes it (as a u64)."""
    c_file, exe = tmp_path / "exprs.c", tmp_path / "exprs"
    c_file.write_text(_c_program(checked, tmp_path))
    flags = [f for f in build.CFLAGS if f not in ("-target", "bpf") and not f.startswith("-mcpu")]
    done = subprocess.run(
        [clang.path, *flags, "-w", str(c_file), "-o", str(exe)], capture_output=True, text=True
    )
    if done.returncode != 0 and "stdio.h" in done.stderr:
        pytest.skip(f"no C library headers for the host: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    ran = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    return {name: int(v) for name, v in (line.split() for line in ran.stdout.splitlines())}


@pytest.mark.clang
@pytest.mark.parametrize("seed", [1, 2])
def test_interpreter_and_generated_c_agree_on_random_expressions(
    clang: build.Clang, tmp_path: Path, seed: int
) -> None:
    text = _policy(random.Random(seed))
    checked, diags = check_source(SourceFile("exprs.sched", text))
    assert checked is not None, "\n".join(str(d) for d in diags)

    policy = compile_for_sim(checked)
    assert isinstance(policy, InterpPolicy)
    policy.call("init", ToyHost(1))

    c_values = _run_c(clang, tmp_path, checked)
    assert len(c_values) == SAMPLES
    wrong = []
    for name, c_value in c_values.items():
        mine = policy.state.vars[name] & (2**64 - 1)
        if mine != c_value:
            wrong.append((name, mine, c_value))
    lines = {line.split(" = ", 1)[0]: line for line in text.splitlines() if line.startswith("r")}
    assert not wrong, "\n".join(f"{lines[n]}\n  interp {m}, C {c}" for n, m, c in wrong[:10])


def test_the_generated_locals_cover_every_types_edges() -> None:
    for t, values in LOCALS.items():
        lo, hi = RANGE[Type(t)]
        assert lo in values and hi in values


# The generated C's min/max/clamp/abs helpers compute in 64 bits; their result must be
# narrowed to the IR's 32-bit type, or the operators applied to it work at 64 bits: a shift
# is not taken modulo 32, a product does not wrap, abs(i32 MIN) is 2^31 until stored. The
# C got these wrong until builtins_c cast the result (the comments say what it gave).
NARROWED_RESULTS = {
    "(clamp(zero, big, minus_one) & 100) >> shift": 50,  # C: 0, a 64-bit shift by 33
    "max(6, abs(i32_min))": 6,  # C: -2147483648, max saw abs's 64-bit 2147483648
    "min(u32_max, u32_max) * 2 / 2": 2**31 - 1,  # C: 4294967295, a 64-bit product
}


@pytest.mark.clang
def test_c_narrows_min_max_clamp_abs_results_of_32_bit_types(
    clang: build.Clang, tmp_path: Path
) -> None:
    lets = [
        "let zero: i32 = 0",
        "let big: i32 = 2147483647",
        "let minus_one: i32 = -1",
        "let shift: u32 = 33",
        "let i32_min: i32 = -2147483648",
        "let u32_max: u32 = 4294967295",
    ]
    exprs = list(NARROWED_RESULTS)
    types = ["i32", "i32", "u32"]
    text = (
        'scheduler narrow "32-bit helper results" {\n'
        + "\n".join(f"var r{i}: {t} = 0" for i, t in enumerate(types))
        + "\non init() {\n"
        + "\n".join(lets + [f"r{i} = {x}" for i, x in enumerate(exprs)])
        + "\n}\n}\n"
    )
    checked, diags = check_source(SourceFile("narrow.sched", text))
    assert checked is not None, "\n".join(str(d) for d in diags)
    policy = compile_for_sim(checked)
    assert isinstance(policy, InterpPolicy)
    policy.call("init", ToyHost(1))
    mine = [policy.state.vars[f"r{i}"] for i in range(len(exprs))]
    assert mine == list(NARROWED_RESULTS.values())  # the documented values
    assert _run_c(clang, tmp_path, checked) == {
        f"r{i}": v & (2**64 - 1) for i, v in enumerate(mine)
    }


def test_c_computes_the_place_of_an_in_place_update_once() -> None:
    # semantics.in_place_update in the C: each `a__at()` call is one place computed (and,
    # out of range, one nr_index_out_of_range), so an update calls it once, like the
    # interpreter and the JIT (test_interp_rules, test_llvm_constructs: exact counts)
    text = """scheduler u "in place" {
    array a: [u64; cpus]
    on running(t) {
        a[t.cpu] += 3
        a[t.cpu] = a[t.cpu] - 1
        a[t.cpu] = a[t.cpu] * 2 + 1
    }
    }
    """
    checked, diags = check_source(SourceFile("u.sched", text), max_cpus=4)
    assert checked is not None, "\n".join(str(d) for d in diags)
    lw = Lowerer(checked.program)
    scope = Scope(op="running", bare_return=csyntax.Return(None), enq_flags="0", task="p")
    places = [
        "\n".join(lw.printer.block(lw.block((s,), scope), 1)).count("a__at(")
        for s in checked.program.callback("running").body
    ]
    assert places == [1, 1, 2]  # the last is not an update in place: a place per side

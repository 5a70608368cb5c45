"""Generated policies (schedlang.fuzzgen) run in the interpreter on random event streams:
no Python exception, and what the checker proved holds at run time (simhost.drive checks
each enqueue inserts its task once, select_cpu returns a CPU that exists, every kfunc
argument is one the kernel accepts); indexes the checker proved in range never reach the
index guard. Same seed, same trace.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simhost import ToyHost, drive

from schedlang import arith, ast, ir
from schedlang.backends import semantics as sem
from schedlang.backends.interp import compile_for_sim
from schedlang.backends.interp.policy import InterpPolicy
from schedlang.backends.interp.trace import traced
from schedlang.checker import check_source
from schedlang.fmt import format_program
from schedlang.fuzzgen import generate_text
from schedlang.fuzzgen.strategy import policies
from schedlang.source import SourceFile
from schedlang.types import RANGE, Type

SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _check(text: str) -> ir.CheckedProgram | None:
    checked, _ = check_source(SourceFile("generated.sched", text))
    return checked


def _run_and_check(checked: ir.CheckedProgram, seed: int, text: str) -> None:
    policy = compile_for_sim(checked)
    run = drive(policy, seed, steps=150)
    assert not run.problems, "\n".join(run.problems) + "\n--- policy:\n" + text
    stats = policy.stats()
    assert stats[sem.NR_INDEX_OUT_OF_RANGE] == 0, text
    assert stats[sem.NR_ENQUEUED] <= run.calls


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW)
@given(policies(), st.integers(0, 2**32 - 1))
def test_generated_policies_run_and_keep_the_proven_properties(
    tree: ast.Scheduler, seed: int
) -> None:
    text = format_program(tree)
    checked = _check(text)
    if checked is None:  # the generator's few rejections are test_fuzz_generated's business
        return
    _run_and_check(checked, seed, text)


def test_seeded_generated_policies_run() -> None:
    """The first 40 seeds of `schedlang fuzz`, each on its own event stream."""
    ran = 0
    for seed in range(40):
        text = generate_text(seed)
        checked = _check(text)
        if checked is not None:
            _run_and_check(checked, seed, text)
            ran += 1
    assert ran >= 36


def test_same_seed_same_trace() -> None:
    text = generate_text(5)
    checked = _check(text)
    assert checked is not None
    traces = []
    for seed in (3, 3, 4):
        policy, events = traced(compile_for_sim(checked))
        drive(policy, seed, steps=200)
        traces.append((events, policy.stats()))
    assert traces[0] == traces[1]
    assert traces[0][0] != traces[2][0]
    assert len(traces[0][0]) > 200


# ------------------------------------------------------------ differential: constant folding
_OPS = ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>")
_TYPES = {Type.U32: "u32", Type.U64: "u64", Type.I32: "i32", Type.I64: "i64"}


def _value(rng: random.Random, t: Type) -> int:
    lo, hi = RANGE[t]
    edges = [lo, lo + 1, 0, 1, 3, hi - 1, hi, -1 if lo else 2]
    return rng.choice(edges) if rng.random() < 0.4 else rng.randint(lo, hi)


def test_run_time_arithmetic_equals_the_checkers_constant_folding() -> None:
    """The same operator on the same values: folded by the checker (literal operands) and
    computed by the interpreter (operands in locals) must agree, for every type's edges."""
    rng = random.Random(9)
    samples = []
    for _ in range(300):
        t = rng.choice(list(_TYPES))
        op = rng.choice(_OPS)
        a = _value(rng, t)
        b = rng.randrange(arith.BITS[t]) if op in ("<<", ">>") else _value(rng, t)
        if op in ("/", "%") and b == 0:
            b = 7
        samples.append((op, a, b, t))
    decls, body = [], []
    for i, (op, a, b, t) in enumerate(samples):
        name = _TYPES[t]
        rhs_t = "u32" if op in ("<<", ">>") else name
        decls.append(f"var r{i}: {name} = 0\nvar f{i}: {name} = 0")
        body.append(f"let a{i}: {name} = {a}\nlet b{i}: {rhs_t} = {b}")
        body.append(f"r{i} = a{i} {op} b{i}")
        body.append(f"f{i} = ({a} as {name}) {op} ({b} as {rhs_t})")
    text = (
        'scheduler arith "differential" {\n'
        + "\n".join(decls)
        + "\non init() {\n"
        + "\n".join(body)
        + "\n}\n}\n"
    )
    checked = _check(text)
    assert checked is not None, text
    folded = {
        s.target.name: s.value
        for s in checked.program.callbacks[0].body
        if isinstance(s, ir.Assign) and isinstance(s.target, ir.GlobalRef)
    }
    policy = compile_for_sim(checked)
    assert isinstance(policy, InterpPolicy)
    policy.call("init", ToyHost(1))
    compared = 0
    for i, (op, a, b, t) in enumerate(samples):
        lit = folded[f"f{i}"]
        if isinstance(lit, ir.Lit):  # a negative literal's `as` is not always folded
            assert policy.state.vars[f"r{i}"] == lit.value, (op, a, b, t)
            compared += 1
    assert compared >= 200

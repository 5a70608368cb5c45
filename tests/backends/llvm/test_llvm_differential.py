"""The JIT against the interpreter (the reference semantics): same policy, same event
stream, identical traces.

Each run drives a policy through `simhost.drive` (a seeded random life of tasks on a small
real Host) twice, once per backend, each wrapped in the interpreter's trace recorder
(`traced`: every callback, every host call with its arguments and result, the task fields
after each call). The two runs must give equal traces, equal stats and equal `var`s at the
end. Policies: every example and library policy, the first seeds of `schedlang fuzz`, and
hypothesis's generated policies (`schedlang.fuzzgen.strategy`, which shrink on failure).
"""

from __future__ import annotations

import random
from itertools import zip_longest
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simhost import drive

import schedlang
from schedlang import ast, ir
from schedlang.backends.interp import compile_for_sim as interpret
from schedlang.backends.interp.trace import traced
from schedlang.checker import check_source
from schedlang.fmt import format_program
from schedlang.fuzzgen import generate_text
from schedlang.fuzzgen.strategy import policies
from schedlang.source import SourceFile

llvm = pytest.importorskip("schedlang.backends.llvm", reason="llvmlite is not installed")

ROOT = Path(__file__).resolve().parents[3]
LIBRARY = sorted((ROOT / "examples").glob("*.sched")) + sorted((ROOT / "stdlib").glob("*.sched"))
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _check(
    text: str, path: str = "generated.sched", max_cpus: int = 64
) -> ir.CheckedProgram | None:
    checked, _ = check_source(SourceFile(path, text), max_cpus=max_cpus)
    return checked


def _first_difference(a: list[object], b: list[object]) -> str:
    for i, (x, y) in enumerate(zip_longest(a, b)):
        if x != y:
            context = "\n".join(f"  {e}" for e in a[max(0, i - 4) : i])
            return f"event {i}:\n{context}\n  interpreter: {x}\n  jit:         {y}"
    return "none"


def assert_same_run(
    checked: ir.CheckedProgram,
    seed: int,
    text: str,
    *,
    steps: int = 150,
    nr_cpus: int = 4,
    params: dict[str, int] | None = None,
) -> int:
    """Run both backends on one event stream; returns the number of events compared."""
    ref, ref_events = traced(interpret(checked, params))
    jit, jit_events = traced(llvm.compile_for_sim(checked, params))
    ref_run = drive(ref, seed, steps=steps, nr_cpus=nr_cpus)
    jit_run = drive(jit, seed, steps=steps, nr_cpus=nr_cpus)
    where = f"seed {seed}, {nr_cpus} CPUs, params {params}\n--- policy:\n{text}"
    assert ref_events == jit_events, f"{_first_difference(ref_events, jit_events)}\n{where}"
    assert ref.stats() == jit.stats(), where
    assert ref_run.problems == jit_run.problems, where
    interp_vars = {k: int(v) for k, v in ref._policy.state.vars.items()}  # type: ignore[attr-defined]
    assert interp_vars == jit._policy.snapshot()["vars"], where  # type: ignore[attr-defined]
    return len(ref_events)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_library_policies_agree(path: Path) -> None:
    text = path.read_text()
    checked = _check(text, str(path))
    assert checked is not None
    events = sum(assert_same_run(checked, seed, path.name, steps=300) for seed in (1, 2))
    assert events > 600


def test_seeded_fuzz_policies_agree() -> None:
    """The first 30 seeds of `schedlang fuzz`, each on its own event stream."""
    compared = 0
    for seed in range(30):
        text = generate_text(seed)
        checked = _check(text)
        if checked is not None:
            assert_same_run(checked, seed, text)
            compared += 1
    assert compared >= 27


def test_more_cpus_than_the_cpu_limit() -> None:
    """Compiled for 2 CPUs, run on 5: `for c in cpus` stops at the limit, CPU arrays take
    their index guard, preempting kicks share the last slot — alike in both backends."""
    guarded = 0
    for path in LIBRARY:
        checked = _check(path.read_text(), str(path), max_cpus=2)
        assert checked is not None, path
        assert_same_run(checked, 7, path.name, nr_cpus=5, steps=200)
        jit = llvm.compile_for_sim(checked)
        drive(jit, 7, nr_cpus=5, steps=200)
        guarded += jit.stats()["nr_index_out_of_range"] > 0
    assert guarded >= 3  # the guard really ran somewhere


@settings(max_examples=40, deadline=None, suppress_health_check=SLOW)
@given(policies(), st.integers(0, 2**32 - 1), st.integers(1, 6), st.data())
def test_generated_policies_agree(
    tree: ast.Scheduler, seed: int, nr_cpus: int, data: st.DataObject
) -> None:
    text = format_program(tree)
    checked = _check(text)
    if checked is None:  # the generator's rare rejections are the fuzz tests' business
        return
    params = {
        p.name: data.draw(st.integers(p.lo, p.hi), label=p.name) for p in checked.program.params
    }
    assert_same_run(checked, seed, text, nr_cpus=nr_cpus, params=params)


def _without_host_times(report: dict[str, object]) -> dict[str, object]:
    for run in report["policy_runs"] + report["baseline_runs"]:  # type: ignore[operator]
        run["host_s"] = None
    return report


@pytest.mark.parametrize("name", ["examples/fair", "stdlib/central", "stdlib/latency_boost"])
def test_the_simulated_machine_reports_alike_with_either_engine(name: str) -> None:
    """The whole route (runtime/sim's machine, metrics, the comparison with the default
    model): the JIT's report equals the interpreter's, figure for figure."""
    path = ROOT / f"{name}.sched"
    reports = [
        schedlang.simulate(path, "hackbench", cpus=4, seconds=0.05, seeds=(0,), engine=engine)
        for engine in ("interp", "jit")
    ]
    interp_report, jit_report = (_without_host_times(r.to_dict()) for r in reports)
    assert jit_report == interp_report
    assert reports[1].policy_runs[0].ops_calls > 1000


_UPDATES = ("+=", "-=", "*=", "/=", "|", "^", "&", "<<", ">>")


def _update_policy(rng: random.Random) -> tuple[str, int]:
    """A policy whose running() updates `a[t.cpu]` in place with random operators and
    operands (`a[i] op= e`, or `a[i] = a[i] op e` for the operators without `op=`), and
    counts the calls on a CPU past the limit of 2; with the number of places (`a[t.cpu]`)
    each such call computes: one per update and one per read in an operand."""
    places, lines = 0, []
    for _ in range(rng.randint(1, 6)):
        op = rng.choice(_UPDATES)
        if op == "/=":
            operand = str(rng.randint(1, 9))
        elif op in ("<<", ">>"):
            operand = str(rng.randint(0, 63))
        else:
            operand = rng.choice(["7", "(t.pid as u64)", "a[t.cpu]", "(a[t.cpu] + 3)", "b"])
        places += 1 + operand.count("a[t.cpu]")
        update = f"{op} {operand}" if op.endswith("=") else f"= a[t.cpu] {op} {operand}"
        lines.append(f"        a[t.cpu] {update}")
        if rng.random() < 0.3:
            lines.append("        b = a[t.cpu] + 1")
            places += 1
    body = "\n".join(lines)
    text = f"""scheduler upd "updates in place" {{
    array a: [u64; cpus]
    var b: u64 = 5
    var outside: u64 = 0
    on running(t) {{
        if t.cpu >= 2 {{
            outside += 1
        }}
{body}
    }}
}}
"""
    return text, places


@pytest.mark.parametrize("seed", range(6))
def test_generated_in_place_updates_count_one_place_each(seed: int) -> None:
    """semantics.in_place_update on generated programs: compiled for 2 CPUs and run on 5,
    every update of an element past the limit counts one nr_index_out_of_range (two
    before interp and JIT computed the place once), alike in both backends."""
    text, places = _update_policy(random.Random(seed))
    checked = _check(text, max_cpus=2)
    assert checked is not None, text
    assert_same_run(checked, seed, text, nr_cpus=5, steps=200)
    jit = llvm.compile_for_sim(checked)
    drive(jit, seed, nr_cpus=5, steps=200)
    outside = jit.snapshot()["vars"]["outside"]
    assert isinstance(outside, int) and outside > 0
    assert jit.stats()["nr_index_out_of_range"] == outside * places, text

"""The machine drives the interpreter and the JIT alike: the same run, the same figures."""

from __future__ import annotations

from pathlib import Path

import pytest

import schedlang
from schedlang.backends.interp import compile_for_sim as interp_policy
from schedlang.runtime.sim import rtapp
from schedlang.runtime.sim.machine import Machine

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("policy", ["fair", "latency_first", "spread"])
def test_interpreter_and_jit_give_the_same_trace_and_stats(policy: str) -> None:
    llvm = pytest.importorskip("schedlang.backends.llvm", reason="llvmlite is not installed")
    path = ROOT / "examples" / f"{policy}.sched"
    checked = schedlang.check_program(path.read_text(), str(path)).program
    assert checked is not None
    model = rtapp.load("hackbench")
    runs = [
        Machine(make(checked), model, 2, seed=7, seconds=0.01, trace=True).run()
        for make in (interp_policy, llvm.compile_for_sim)
    ]
    interp, jit = runs
    assert interp.trace is not None and len(interp.trace) > 500
    assert interp.trace == jit.trace
    assert interp.policy_stats == jit.policy_stats
    assert interp.ops_calls == jit.ops_calls

"""The IR interpreter: the reference semantics of a checked policy, runnable in a simulator.

`compile_for_sim(checked)` gives a `sim_abi.SimPolicy` that runs each callback's statements
over the checked IR, with the policy's memory (vars, arrays, maps, task vars) held by the
returned object, and the run-time guards of the BPF backend's generated C (index clamps,
map-full, bad-CPU fallbacks, slice clamps, kick limits, the dispatch fallback, the stats).
docs/semantics.md writes every rule down; the llvmlite backend implements the same document
and is tested against this one (`trace.py` records both for comparison).
"""

from __future__ import annotations

from collections.abc import Mapping

from schedlang import ir, sim_abi
from schedlang.backends import overrides
from schedlang.backends.interp.policy import InterpPolicy
from schedlang.backends.semantics import DEFAULT_TIMEOUT_MS

__all__ = ["InterpPolicy", "compile_for_sim"]


def compile_for_sim(
    checked: ir.CheckedProgram,
    params: Mapping[str, int | str] | None = None,
    *,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> sim_abi.SimPolicy:
    """The policy, ready for `SimPolicy.call`. `params` override the tunables' defaults
    (checked as `--param` is: a known name, a value in the declared range; SchedlangError
    otherwise); `timeout_ms` is the watchdog timeout the slices are clamped against."""
    if not 0 < timeout_ms <= 30000:
        raise ValueError(f"timeout_ms must be in 1..30000 (the kernel's limit), not {timeout_ms}")
    values = overrides.resolve_for_sim(checked.program, params)
    return InterpPolicy(checked, values, timeout_ms)

"""Checker passes over the IR (the safety rules); the pipeline order lives in RULES.

typecheck (AST -> IR) always runs first, in schedlang.checker; the rules below run only
on a program that typechecked, and all of them run so every error of a file is reported.
Each rule is `run(program, diags) -> facts`: it adds diagnostics for what it cannot prove
and returns what it did prove (instruction estimates, memory, ...), which the checker
merges into `CheckedProgram.facts` for the generated code's header comment.

Because every rule runs even when an earlier one reported errors, no rule may assume an
earlier one passed; the order only decides the order of facts and of equal-line messages.
"""

from __future__ import annotations

from collections.abc import Callable

from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import (
    bounds,
    cpu_values,
    divzero,
    liveness,
    order,
    params,
    queues,
    termination,
)

Rule = Callable[[ir.Program, Diagnostics], dict[str, object]]

RULES: tuple[tuple[str, Rule], ...] = (
    # Declarations first: param ranges are the evidence the value proofs rely on ("a param
    # whose range excludes 0"), so a broken range is reported before any of its uses.
    ("params", params.run),
    # Before the value proofs: their walks assume constant loop bounds and no recursion,
    # which this rule establishes (it tolerates both being broken, as all rules run).
    ("termination", termination.run),
    # Keeps the `cpu` type's promise (every stored cpu is below the CPU limit) that lets
    # bounds accept any `cpu` as an index of a `[T; cpus]` array without a proof.
    ("cpu_values", cpu_values.run),
    # Indices, then sizes and memory: over the shared ranges analysis (passes/ranges.py).
    ("bounds", bounds.run),
    # Divisors, over the same ranges analysis; independent of bounds.
    ("divzero", divzero.run),
    # Operands whose order C leaves open must not depend on each other (docs/semantics.md).
    ("order", order.run),
    # Path rules within one callback: every task inserted exactly once, results returned.
    ("liveness", liveness.run),
    # Last: the queue rules look across callbacks (what enqueue fills, what dispatch drains).
    ("queues", queues.run),
)

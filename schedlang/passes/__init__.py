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
from schedlang.passes import bounds, cpu_values, divzero, liveness, params, queues, termination

Rule = Callable[[ir.Program, Diagnostics], dict[str, object]]

RULES: tuple[tuple[str, Rule], ...] = (
    # Declarations first: the param ranges are the evidence bounds and divzero rely on
    # ("a param whose range excludes 0"), so a broken range is reported before its uses.
    ("params", params.run),
    # Before the proofs about values: the estimate assumes loops have constant bounds and
    # fns do not recurse, which this pass establishes (it tolerates both being broken).
    ("termination", termination.run),
    # Value proofs over the same ranges analysis (passes/ranges.py). cpu_values first: it
    # keeps the `cpu` type's promise (below the CPU limit) that lets bounds accept any `cpu`
    # as an index of a `[T; cpus]` array.
    ("cpu_values", cpu_values.run),
    ("bounds", bounds.run),
    ("divzero", divzero.run),
    # Path rules: every task inserted exactly once, every result returned.
    ("liveness", liveness.run),
    # Whole-program queue rules last: they look across callbacks (insert vs dispatch).
    ("queues", queues.run),
)

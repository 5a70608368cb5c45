"""The gate's rules, in the order their findings are most useful to read.

Each rule is a module with `run(prog: Program) -> list[Diagnostic]`; none depends on another,
so the order only decides how findings on the same line are listed.
"""

from __future__ import annotations

from collections.abc import Callable

from schedlang.diagnostics import Diagnostic
from schedlang.verify_c.program import Program
from schedlang.verify_c.rules import calls, license, loops, ops, recursion, sleepable, task_writes

RULES: tuple[Callable[[Program], list[Diagnostic]], ...] = (
    ops.run,  # the file is a scheduler at all (C004, C005, C008)
    license.run,  # C006
    loops.run,  # C001, C105
    recursion.run,  # C002
    calls.run,  # C003, C104
    task_writes.run,  # C007
    sleepable.run,  # C009
)

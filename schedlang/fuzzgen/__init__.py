"""Generated policies for fuzzing the pipeline: well-typed programs the checker must accept.

`generate(seed)` builds one policy as a syntax tree from a seeded random source;
`schedlang.fuzzgen.strategy.policies()` is the same generator as a hypothesis strategy (so
failures shrink); `schedlang.fuzzgen.mutate` turns an accepted policy into one that breaks
exactly one safety rule. There is no "safe" subset: every generated policy must also load and
run in a real kernel (`schedlang fuzz --vm`). See docs/fuzzing.md.
"""

from __future__ import annotations

from schedlang import ast
from schedlang.fmt import format_program
from schedlang.fuzzgen.choices import Choices
from schedlang.fuzzgen.program import ProgramGen

__all__ = ["Choices", "generate", "generate_text", "from_choices"]


def from_choices(ch: Choices, *, name: str = "fuzz") -> ast.Scheduler:
    """A policy whose every decision comes from `ch`."""
    return ProgramGen(ch).program(name)


def generate(seed: int) -> ast.Scheduler:
    """The policy for `seed` (the same seed always gives the same policy)."""
    return from_choices(Choices.seeded(seed), name=f"fuzz_{seed}")


def generate_text(seed: int) -> str:
    return format_program(generate(seed))

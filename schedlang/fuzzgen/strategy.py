"""The generator as a hypothesis strategy, so a failing policy shrinks to a small one.

Kept apart from the rest of `schedlang.fuzzgen` because hypothesis is a test dependency.
"""

from __future__ import annotations

from hypothesis import strategies as st

from schedlang import ast
from schedlang.fuzzgen import from_choices
from schedlang.fuzzgen.choices import Choices


def policies() -> st.SearchStrategy[ast.Scheduler]:
    """Checker-accepted policies as syntax trees (see schedlang.fuzzgen)."""

    @st.composite
    def build(draw: st.DrawFn) -> ast.Scheduler:
        return from_choices(Choices(lambda lo, hi: draw(st.integers(lo, hi))))

    return build()


def choices() -> st.SearchStrategy[Choices]:
    """A Choices drawing from hypothesis (for mutations that pick a place)."""

    @st.composite
    def build(draw: st.DrawFn) -> Choices:
        return Choices(lambda lo, hi: draw(st.integers(lo, hi)))

    return build()

"""Where the generator's decisions come from: a seeded `random.Random`, or hypothesis.

The generator asks only for integers in a range, so one generator serves both a plain seeded
run (bench/fuzz.py, agents, reproducing a failure from its seed) and hypothesis, which can then
shrink a failing program: it shrinks each draw towards its lower bound, so every choice list
puts its simplest option first and `chance` is False at the bottom of its range.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


class Choices:
    """A source of bounded integers, and the few shapes of choice built on them."""

    def __init__(self, integer: Callable[[int, int], int]) -> None:
        self._integer = integer

    @classmethod
    def seeded(cls, seed: int) -> Choices:
        rng = random.Random(seed)
        return cls(rng.randint)

    def integer(self, lo: int, hi: int) -> int:
        """An integer in lo..hi inclusive."""
        return self._integer(lo, hi) if lo < hi else lo

    def pick(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def chance(self, p: float) -> bool:
        """True with probability p (False when shrunk)."""
        return self.integer(0, 999) >= round(1000 * (1 - p))

    def count(self, hi: int) -> int:
        return self.integer(0, hi)

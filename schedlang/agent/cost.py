"""Tokens a model call used and what they cost: the one price table.

Every Messages API reply carries `usage`: uncached input tokens, output tokens, and the
prompt-cache tokens written and read. They are billed at four different rates, so all four
are kept per call and added exactly; the dollar figure is computed from `PRICES`, never
estimated. A model missing from the table has no cost (None), and the report says so rather
than guessing a rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# USD per million tokens: base input, 5-minute cache write, cache hit (read), output.
# Read on 2026-11-30 from a stored copy of https://platform.claude.com/docs/en/about-claude/pricing
# ("Model pricing"). A model id matches its row exactly or with a date suffix
# (claude-haiku-4-5-20251001); any other id has no price, never a neighbour's.
PRICES_READ_ON = "2026-11-30"
PRICES_SOURCE = "https://platform.claude.com/docs/en/about-claude/pricing"


@dataclass(frozen=True)
class Price:
    input: float
    cache_write: float
    cache_read: float
    output: float


PRICES: dict[str, Price] = {
    "claude-opus-5": Price(5.00, 6.25, 0.50, 25.00),
    "claude-opus-4-8": Price(5.00, 6.25, 0.50, 25.00),
    "claude-opus-4-7": Price(5.00, 6.25, 0.50, 25.00),
    "claude-opus-4-6": Price(5.00, 6.25, 0.50, 25.00),
    "claude-opus-4-5": Price(5.00, 6.25, 0.50, 25.00),
    "claude-opus-4-1": Price(15.00, 18.75, 1.50, 75.00),
    "claude-sonnet-4-6": Price(3.00, 3.75, 0.30, 15.00),
    "claude-sonnet-4-5": Price(3.00, 3.75, 0.30, 15.00),
    "claude-haiku-4-5": Price(1.00, 1.25, 0.10, 5.00),
}


def price(model: str) -> Price | None:
    """The row for `model` (with any `-YYYYMMDD` suffix dropped), or None when there is none."""
    return PRICES.get(re.sub(r"-\d{8}$", "", model))


@dataclass(frozen=True)
class Usage:
    """Tokens of one call, or the sum of several (`+`)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    calls: int = 0

    @classmethod
    def of(cls, usage: Any) -> Usage:
        """From the SDK's `message.usage` (cache fields may be None when caching is off)."""
        return cls(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
            cache_read_input_tokens=usage.cache_read_input_tokens or 0,
            calls=1,
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.calls + other.calls,
        )

    @property
    def tokens(self) -> int:
        """Every token the calls processed, cached or not: what a Budget's `tokens` limits."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_input_tokens
            + self.cache_read_input_tokens
        )

    def cost_usd(self, model: str) -> float | None:
        """The price of these tokens on `model`, or None when PRICES has no row for it."""
        row = price(model)
        if row is None:
            return None
        return (
            self.input_tokens * row.input
            + self.cache_creation_input_tokens * row.cache_write
            + self.cache_read_input_tokens * row.cache_read
            + self.output_tokens * row.output
        ) / 1_000_000

"""Duration units: nanoseconds per unit, and writing a duration back the way a policy would.

Shared by the front end (duration literals), the backend (C comments, `--param` values) and
the CLI's facts, which is why it lives in the shared layer rather than in the AST: the backend
may not import the AST (docs/internals.md, "Layers").
"""

from __future__ import annotations

UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


def format_duration(ns: int) -> str:
    """`5ms` for 5000000: a duration in the largest unit that writes it exactly, as a policy
    would (generated C comments, `schedlang check`'s facts)."""
    for unit, scale in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if ns and ns % scale == 0:
            return f"{ns // scale}{unit}"
    return f"{ns}ns"

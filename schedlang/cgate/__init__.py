"""The gate for hand-written sched_ext C: `verify(path_or_text) -> list[Finding]`.

Pipeline (one module per idea): source → preprocess (real cpp, prelude.py) → extensions
(blank attributes/asm/typeof, read sections) → parse (pycparser) → program (AST + facts) →
rules/ (one module per rule family) → render. docs/verify-c.md documents every code.
"""

from __future__ import annotations

from schedlang.cgate.findings import CODES, Finding
from schedlang.cgate.gate import verify

__all__ = ["CODES", "Finding", "verify"]

"""The gate for hand-written sched_ext C: `verify(path_or_text) -> list[Diagnostic]`.

Pipeline (one module per idea): source → preprocess (real cpp, prelude.py) → extensions
(blank attributes/asm/typeof, read sections) → parse (pycparser) → program (AST + facts) →
rules/ (one module per rule family). Findings are the shared `Diagnostic`, rendered by
schedlang.diagnostics like the DSL checker's. docs/verify-c.md documents every code.
"""

from __future__ import annotations

from schedlang.verify_c.findings import CODES
from schedlang.verify_c.gate import verify

__all__ = ["CODES", "verify"]

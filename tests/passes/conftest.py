"""Running one safety rule on a whole program, for the per-pass tests in this folder."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from schedlang import ir
from schedlang.diagnostics import Diagnostic, Diagnostics
from schedlang.passes import typecheck
from schedlang.source import SourceFile
from schedlang.syntax import parse_source

Rule = Callable[[ir.Program, Diagnostics], dict[str, object]]
RunRule = Callable[..., tuple[dict[str, object], list[Diagnostic]]]


def run_rule(
    rule: Rule, text: str, *, max_cpus: int = 64
) -> tuple[dict[str, object], list[Diagnostic]]:
    """Parse and typecheck text (which must be well typed), then run only `rule` on it."""
    source = SourceFile("case.sched", text)
    diags = Diagnostics(source)
    tree = parse_source(source, diags)
    program = typecheck.run(tree, diags, path=source.path, max_cpus=max_cpus) if tree else None
    assert program is not None, [d.message for d in diags]
    facts = rule(program, diags)
    return facts, list(diags)


@pytest.fixture
def check() -> RunRule:
    return run_rule

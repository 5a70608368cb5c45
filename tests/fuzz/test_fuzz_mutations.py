"""Mutation properties: one semantic mutation of an accepted policy is rejected with exactly
the code of the rule it breaks, on the line where it breaks it (schedlang.fuzzgen.mutate)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

from schedlang import ast
from schedlang.checker import check_source
from schedlang.diagnostics import render_text
from schedlang.fmt import format_program
from schedlang.fuzzgen import Choices, generate_text
from schedlang.fuzzgen.choices import Choices as ChoicesType
from schedlang.fuzzgen.mutate import MUTATIONS, Mutant, mutate
from schedlang.fuzzgen.strategy import choices, policies
from schedlang.source import SourceFile

SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def _assert_rejected_exactly(m: Mutant) -> None:
    source = SourceFile("mutant.sched", m.text)
    try:
        checked, diags = check_source(source)
    except Exception as exc:
        raise AssertionError(f"{m.what}: {type(exc).__name__}: {exc}\n{m.text}") from exc
    errors = [d for d in diags if d.severity == "error"]
    shown = "\n".join(render_text(d, source) for d in errors) + "\n--- mutant:\n" + m.text
    assert checked is None, f"{m.what}: accepted, want {m.code} at line {m.line}\n{m.text}"
    assert {d.code for d in errors} == {m.code}, f"{m.what}: want only {m.code}\n{shown}"
    assert m.line in {d.line for d in errors}, f"{m.what}: want {m.code} at line {m.line}\n{shown}"


# No shrinking: a failure shows the mutant's text, and shrinking through two checker runs per
# example takes minutes.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


@pytest.mark.parametrize("code", sorted(MUTATIONS))
@settings(max_examples=15, deadline=None, suppress_health_check=SLOW, phases=NO_SHRINK)
@given(tree=policies(), ch=choices())
def test_mutant_is_rejected_with_its_code(code: str, tree: ast.Scheduler, ch: ChoicesType) -> None:
    text = format_program(tree)
    try:
        mutant = mutate(text, code, ch)
    except Exception as exc:  # the checker raised on the original: show the policy
        raise AssertionError(f"{type(exc).__name__}: {exc}\n--- policy:\n{text}") from exc
    assume(mutant is not None)
    assert mutant is not None
    _assert_rejected_exactly(mutant)


def test_seeded_mutants_apply_often_and_are_rejected() -> None:
    """The same over fixed seeds, counting how often each mutation found a place: a mutation
    that never applies would make the property above vacuous (at least one policy in 8)."""
    applied: Counter[str] = Counter()
    for seed in range(64):
        text = generate_text(seed)
        for code in MUTATIONS:
            mutant = mutate(text, code, Choices.seeded(seed))
            if mutant is not None:
                applied[code] += 1
                _assert_rejected_exactly(mutant)
    rare = {code: applied[code] for code in MUTATIONS if applied[code] < 8}
    assert not rare, f"mutations that found a place in fewer than 8 of 64 policies: {rare}"


def test_mutating_a_rejected_policy_gives_nothing() -> None:
    assert (
        mutate('scheduler x "y" { on tick(t) { v = 1 } }', "recursion", Choices.seeded(0)) is None
    )

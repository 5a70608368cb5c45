"""Stage 4, generate: a model writes new policies, or edits of the best, in the DSL.

The model proposes, the checker disposes. Each reply's policy (its fenced ```sched block)
goes through `schedlang.check_program`, the public checker; a rejection goes back to the
model as the checker's JSON diagnostics, and after a bounded number of attempts the stage
ends with whatever checked. Nothing here compiles or loads anything: the candidates it
returns are programs the checker accepted, and the loop hands them to the verify stage like
any library policy. A reply that does not check is an `Attempt` with its diagnostics, never
a candidate.

Only called with a client (`conversation.client_from_env()` is not None); offline, the loop
skips this stage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anthropic

import schedlang
from schedlang.agent import prompts
from schedlang.agent.conversation import (
    DEFAULT_ATTEMPTS,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    Attempt,
    Turn,
    converse,
    fenced_block,
)
from schedlang.agent.cost import Usage
from schedlang.agent.goal import Goal
from schedlang.agent.profile import WorkloadProfile
from schedlang.agent.retrieve import Candidate
from schedlang.diagnostics import render_json

ORIGIN = "model"
CHECKED_AS = "generated.sched"  # the file name the diagnostics carry


@dataclass(frozen=True)
class GenerationResult:
    """Candidates that checked (in the order written), every attempt with its diagnostics,
    the tokens of all calls, their cost (None for a model without a price), why it stopped."""

    model: str
    candidates: tuple[Candidate, ...]
    attempts: tuple[Attempt, ...]
    usage: Usage
    cost_usd: float | None
    stopped: str


def generate(
    goal: Goal,
    profile: WorkloadProfile | None,
    best: Candidate | None,
    client: anthropic.Anthropic,
    *,
    measurements: Mapping[str, Any] | None = None,
    policies: int = 1,
    attempts: int = DEFAULT_ATTEMPTS,
    model: str = DEFAULT_MODEL,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    max_tokens_total: int | None = None,
) -> GenerationResult:
    """Ask `model` for `policies` checked policies towards `goal`, in at most `attempts`
    calls and `max_tokens_total` tokens (the Budget's `tokens`; None: no limit).

    `best` is the policy to improve on (None: write from scratch), `measurements` its
    figures (a measurement report's JSON). prompts.PromptError when the reference pages
    cannot be read; everything the model or the API does is a recorded attempt."""
    if policies < 1:
        raise ValueError(f"policies must be at least 1, not {policies}")
    found: list[Candidate] = []

    def judge(reply: str, number: int) -> Turn:
        source = fenced_block(reply, prompts.LANGUAGES)
        if source is None:
            return Turn("no ```sched block in the reply", prompts.NO_BLOCK)
        result = schedlang.check_program(source, CHECKED_AS)
        if result.program is None:
            diagnostics = render_json(result.diagnostics)
            errors = sum(d.severity == "error" for d in result.diagnostics)
            return Turn(
                f"rejected by the checker ({errors} errors)",
                prompts.repair(diagnostics),
                source,
                tuple(json.loads(diagnostics)),
            )
        name = result.program.program.name
        why = f"written by {model} in attempt {number}" + (
            f", from {best.name}" if best is not None else ""
        )
        found.append(Candidate(name, source, ORIGIN, 0.0, (why,)))
        outcome = f"checked: {name}"
        return Turn(outcome, prompts.ANOTHER if len(found) < policies else None, source)

    talk = converse(
        client,
        prompts.system_blocks(),
        prompts.task(goal, profile, best, measurements),
        judge,
        model=model,
        attempts=attempts,
        max_tokens=max_tokens,
        max_tokens_total=max_tokens_total,
    )
    stopped = talk.stopped
    if found and len(found) == policies:
        stopped = f"{len(found)} checked {'policy' if policies == 1 else 'policies'}"
    return GenerationResult(model, tuple(found), talk.attempts, talk.usage, talk.cost_usd, stopped)

"""A bounded conversation with a model through the `anthropic` SDK: ask, judge the reply,
answer with what was wrong, stop after a set number of attempts or tokens.

Both writers of policies (`generate`, in the DSL, and the `naive` baseline, in C) are this
loop with a different judge, so their attempts, retries, token accounting and API failures
are counted the same way, and a comparison of the two compares the prompts and the gates,
not two bookkeepings. An API error (overloaded, a bad request, no connection) ends the
conversation as a recorded attempt; it never raises into the caller.

Offline is explicit: `client_from_env()` is None without `ANTHROPIC_API_KEY`, and the loop
then skips the generate stage instead of calling it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anthropic

from schedlang.agent.cost import Usage

API_KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_ATTEMPTS = 3
DEFAULT_MAX_TOKENS = 8192  # per reply: a policy with its explanation fits in far less


def client_from_env(
    *, max_retries: int = 2, timeout_s: float = 120.0
) -> anthropic.Anthropic | None:
    """The SDK's client when `ANTHROPIC_API_KEY` is set; None means offline (no model).

    `max_retries` are the SDK's own retries of a failed request (429, 5xx, 529 overloaded,
    with its backoff); they are not attempts: an attempt is a reply that was judged."""
    if not os.environ.get(API_KEY_ENV):
        return None
    return anthropic.Anthropic(max_retries=max_retries, timeout=timeout_s)


@dataclass(frozen=True)
class Turn:
    """What a judge made of one reply: a one-line outcome, the program it found (if any),
    the diagnostics against it, and what to say next (None: the conversation is done)."""

    outcome: str
    next_prompt: str | None
    source: str | None = None
    diagnostics: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Attempt:
    """One call: the user message that asked, the reply, what the judge made of it, tokens."""

    number: int
    prompt: str
    reply: str | None  # None when the call failed
    outcome: str
    usage: Usage
    source: str | None = None
    diagnostics: tuple[dict[str, Any], ...] = ()
    error: str | None = None  # the API's error, when the call failed


@dataclass(frozen=True)
class Conversation:
    model: str
    attempts: tuple[Attempt, ...]
    stopped: str  # why it ended, one line
    usage: Usage = field(default_factory=Usage)

    @property
    def cost_usd(self) -> float | None:
        return self.usage.cost_usd(self.model)


Judge = Callable[[str, int], Turn]


def converse(
    client: anthropic.Anthropic,
    system: Sequence[dict[str, Any]],
    prompt: str,
    judge: Judge,
    *,
    model: str = DEFAULT_MODEL,
    attempts: int = DEFAULT_ATTEMPTS,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    max_tokens_total: int | None = None,
) -> Conversation:
    """Send `prompt` under `system`; give each reply's text to `judge` (with the attempt's
    number) and send back its next prompt, at most `attempts` calls in all.

    With `max_tokens_total`, no call starts once the tokens used (cached ones included,
    `Usage.tokens`) reach it, and a reply may use at most what is left of it."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    done: list[Attempt] = []
    used = Usage()
    stopped = f"{attempts} attempts used"
    for number in range(1, attempts + 1):
        limit = max_tokens
        if max_tokens_total is not None:
            left = max_tokens_total - used.tokens
            if left <= 0:
                stopped = f"token budget spent ({used.tokens} of {max_tokens_total})"
                break
            limit = min(limit, left)
        try:
            message = client.messages.create(
                model=model,
                max_tokens=limit,
                system=list(system),  # type: ignore[arg-type]
                messages=list(messages),  # type: ignore[arg-type]
            )
        except anthropic.APIError as exc:
            error = describe_error(exc)
            done.append(Attempt(number, prompt, None, f"API error: {error}", Usage(), error=error))
            stopped = f"API error: {error}"
            break
        usage = Usage.of(message.usage)
        used = used + usage
        text = "".join(block.text for block in message.content if block.type == "text")
        turn = judge(text, number)
        done.append(
            Attempt(number, prompt, text, turn.outcome, usage, turn.source, turn.diagnostics)
        )
        if turn.next_prompt is None:
            stopped = turn.outcome
            break
        prompt = turn.next_prompt
        messages += [
            {"role": "assistant", "content": text},
            {"role": "user", "content": prompt},
        ]
    return Conversation(model, tuple(done), stopped, used)


def describe_error(exc: anthropic.APIError) -> str:
    """`HTTP 529 overloaded_error: Overloaded`, from the error body the API sends."""
    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error")
        if not isinstance(error, dict):
            error = {}
        kind = error.get("type", "error")
        message = error.get("message", exc.message)
        return f"HTTP {exc.status_code} {kind}: {message}"
    return f"{type(exc).__name__}: {exc}"


def fenced_block(text: str, languages: tuple[str, ...]) -> str | None:
    """The last fenced block of `text` whose info string is one of `languages`, else the
    last block with no info string; None when there is neither. The last, because a model
    that shows a mistake and then its fix puts the fix last."""
    tagged: list[str] = []
    bare: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("```"):
            info = stripped[3:].strip().lower()
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
            if end is None:
                break
            body = "\n".join(lines[i + 1 : end]) + "\n"
            if info in languages:
                tagged.append(body)
            elif not info:
                bare.append(body)
            i = end
        i += 1
    if tagged:
        return tagged[-1]
    return bare[-1] if bare else None

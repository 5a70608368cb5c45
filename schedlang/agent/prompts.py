"""What the generate stage says to the model, word for word.

The system prompt is the same for every call of every synthesis: the rules of the task,
then the language reference (docs/language.md) and the error reference (docs/errors.md),
the pages a person learns the language from. It is marked for prompt caching, so after the
first call it is read from the cache at a tenth of the input price (cost.PRICES). What
changes per call goes in the user messages: the goal, the workload's profile, the best
policy so far with its measurements, and, after a rejection, the checker's JSON
diagnostics (docs/cli.md) unchanged, since that is the form the checker's contract fixes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from schedlang import reference
from schedlang.agent.goal import Goal
from schedlang.agent.profile import WorkloadProfile
from schedlang.agent.retrieve import Candidate
from schedlang.reference import MissingReference

REFERENCE_PAGES = ("language", "errors")
LANGUAGES = ("sched", "schedlang")  # the fenced block's info string a reply may use

RULES = """\
You write Linux sched_ext scheduling policies in schedlang, a small typed policy language.
The schedlang checker proves every policy safe before it is compiled to BPF and measured in
a VM against the kernel's default scheduler; a policy it rejects comes back to you with the
checker's diagnostics as JSON (code, line, col, message, hints), and you fix it.

Reply with exactly one fenced code block tagged `sched` holding the whole policy, from
`scheduler NAME "what it does" {` to its closing brace. Say in one or two sentences outside
the block what the policy does differently and why it should help this workload. Declare a
`param` (with a range) for every number worth tuning: the tuner searches the ranges.

The language reference and the reference of every diagnostic code follow."""


class PromptError(RuntimeError):
    """The reference pages are missing from this installation."""


def system_blocks() -> list[dict[str, Any]]:
    """The system prompt as text blocks; the last carries `cache_control`, which caches
    the whole prefix (the rules and both pages)."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": RULES}]
    for page in REFERENCE_PAGES:
        try:
            text = reference.page(page)
        except MissingReference as exc:
            raise PromptError(f"{exc}; generating policies needs the reference pages") from None
        blocks.append(
            {"type": "text", "text": f'<document path="docs/{page}.md">\n{text}</document>'}
        )
    blocks[-1]["cache_control"] = {"type": "ephemeral"}
    return blocks


def task(
    goal: Goal,
    profile: WorkloadProfile | None,
    best: Candidate | None,
    measurements: Mapping[str, Any] | None,
) -> str:
    """The first user message: the goal, the profile, the best policy so far and its figures."""
    parts = [f"Goal: {goal.describe()}."]
    if goal.text:
        parts.append(f"In the user's words: {goal.text!r}.")
    parts.append(f"The goal as JSON:\n```json\n{json.dumps(goal.to_dict(), indent=2)}\n```")
    if profile is not None:
        parts.append(
            "The workload's profile under the default scheduler (`schedlang analyze`):\n"
            f"```json\n{profile.to_json()}\n```"
        )
    else:
        parts.append("No profile of the workload was traced.")
    if best is None:
        parts.append("There is no best policy yet: write a new policy for this goal.")
    else:
        params = ", ".join(f"{k}={v}" for k, v in best.params.items()) or "its defaults"
        parts.append(
            f"The best policy so far is `{best.name}` ({best.origin}), with params {params}:\n"
            f"```sched\n{best.source.rstrip()}\n```"
        )
        if measurements is not None:
            parts.append(
                "Its measurements against the default scheduler:\n"
                f"```json\n{json.dumps(measurements, indent=2, default=str)}\n```"
            )
        parts.append(
            "Write a policy that should beat it on this goal: an edit of it, or a new one."
        )
    return "\n\n".join(parts)


def repair(diagnostics_json: str) -> str:
    """The message after a rejection: the checker's diagnostics exactly as it printed them."""
    return (
        "The checker rejected this policy. Its diagnostics, as JSON:\n"
        f"```json\n{diagnostics_json}\n```\n"
        "Fix every error and reply with the whole corrected policy in one ```sched block."
    )


NO_BLOCK = (
    "Your reply has no ```sched fenced block. Reply with the whole policy in one fenced "
    "block tagged `sched`."
)
ANOTHER = (
    "That policy passed the checker. Now write a different policy for the same goal, one "
    "that tries another idea, in one ```sched block."
)

"""The generate stage through the real `anthropic` client against a local fake API
(tests/fake_api.py, recorded replies in tests/agent/data/): what the prompts carry, how a
rejection becomes the next prompt, that nothing rejected is compiled, bounded attempts, exact
token and cost accounting, and API errors as results."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import pytest
from fake_api import fake_api, recorded
from test_profile import _profile

import schedlang
from schedlang.agent import conversation, cost, prompts
from schedlang.agent.conversation import client_from_env, fenced_block
from schedlang.agent.generate import generate
from schedlang.agent.goal import parse_goal
from schedlang.agent.retrieve import Candidate

DATA = Path(__file__).parent / "data"
DOCS = Path(__file__).resolve().parents[2] / "docs"
GOAL = parse_goal("cut p99 wakeup latency", "pipe")
PROFILE = _profile()  # test_profile.py's, so it follows the profile's format


def reply_text(name: str) -> str:
    return str(recorded(name)["content"][0]["text"])


def policy_in(name: str) -> str:
    source = fenced_block(reply_text(name), ("sched",))
    assert source is not None
    return source


@pytest.fixture
def no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generate must never compile, load or run: each of those fails the test if called."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("generate compiled or ran a policy")

    for name in ("compile", "run", "run_each", "simulate"):
        monkeypatch.setattr(schedlang, name, refuse)


def test_the_system_prompt_is_the_cached_reference_and_the_task_carries_goal_profile_best() -> None:
    best = Candidate("fifo", (DOCS.parent / "examples/fifo.sched").read_text(), "stdlib", 1.0, ())
    measured = {"metric": "wakeup_p99_us", "policy_median": 412.0, "default_median": 388.0}
    with fake_api("reply_checked") as api:
        generate(GOAL, PROFILE, best, api.client(), measurements=measured)
    (request,) = api.requests
    assert request["model"] == conversation.DEFAULT_MODEL
    assert request["max_tokens"] == conversation.DEFAULT_MAX_TOKENS
    system = request["system"]
    assert [b["type"] for b in system] == ["text", "text", "text"]
    assert system[0]["text"] == prompts.RULES
    language = (DOCS / "language.md").read_text()
    errors = (DOCS / "errors.md").read_text()
    assert system[1]["text"] == f'<document path="docs/language.md">\n{language}</document>'
    assert system[2]["text"] == f'<document path="docs/errors.md">\n{errors}</document>'
    # one breakpoint, on the last block: the whole prefix (rules and both pages) is cached
    assert [b.get("cache_control") for b in system] == [None, None, {"type": "ephemeral"}]
    (message,) = request["messages"]
    assert message["role"] == "user"
    assert message["content"] == prompts.task(GOAL, PROFILE, best, measured)
    text = message["content"]
    assert PROFILE.to_json() in text
    assert "```sched\n" + best.source.rstrip() + "\n```" in text
    assert '"policy_median": 412.0' in text
    assert "Goal: cut 99th percentile wakeup latency on pipe." in text


def test_a_diagnostic_becomes_the_next_prompt(no_compiling: None) -> None:
    with fake_api("reply_rejected", "reply_checked") as api:
        result = generate(GOAL, PROFILE, None, api.client())
    assert len(api.requests) == 2
    first, second = api.requests
    task = first["messages"][0]["content"]
    repair = second["messages"][2]["content"]
    # the conversation so far, then the checker's diagnostics as the user's next message
    assert second["messages"][:2] == [
        {"role": "user", "content": task},
        {"role": "assistant", "content": reply_text("reply_rejected")},
    ]
    assert second["messages"][2]["role"] == "user"
    head = "The checker rejected this policy. Its diagnostics, as JSON:\n```json\n"
    tail = "\n```\nFix every error and reply with the whole corrected policy in one ```sched block."
    assert repair.startswith(head) and repair.endswith(tail)
    assert json.loads(repair[len(head) : -len(tail)]) == [
        {
            "code": "lost-task",
            "severity": "error",
            "file": "generated.sched",
            "line": 8,
            "col": 5,
            "end_line": 8,
            "end_col": 6,
            "message": "a path through `on enqueue` ends here without inserting `t` on the path "
            "where `t.weight > 100` is false (line 5): the task would be lost",
            "hints": ["add an `else` branch to the `if` at line 5 that inserts `t`"],
            "notes": [],
        }
    ]
    # the same document `schedlang check --format json` prints for the file
    assert repair[len(head) : -len(tail)] == schedlang.diagnostics.render_json(
        schedlang.check(policy_in("reply_rejected"), "generated.sched")
    )
    rejected, checked = result.attempts
    assert rejected.outcome == "rejected by the checker (1 errors)"
    assert rejected.source == policy_in("reply_rejected")
    assert [d["code"] for d in rejected.diagnostics] == ["lost-task"]
    assert checked.outcome == "checked: wake_first"
    assert checked.prompt == repair
    (candidate,) = result.candidates
    assert (candidate.name, candidate.origin) == ("wake_first", "model")
    assert candidate.source == policy_in("reply_checked")
    assert candidate.reasons == (f"written by {conversation.DEFAULT_MODEL} in attempt 2",)
    assert result.stopped == "1 checked policy"


def test_a_reply_without_a_block_is_asked_again(no_compiling: None) -> None:
    with fake_api("reply_no_block", "reply_checked") as api:
        result = generate(GOAL, None, None, api.client())
    assert api.requests[1]["messages"][2] == {"role": "user", "content": prompts.NO_BLOCK}
    assert [a.outcome for a in result.attempts] == [
        "no ```sched block in the reply",
        "checked: wake_first",
    ]
    assert "No profile of the workload was traced." in api.requests[0]["messages"][0]["content"]


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_attempts_are_bounded_and_a_rejected_policy_is_never_a_candidate(
    attempts: int, no_compiling: None
) -> None:
    with fake_api(*["reply_rejected"] * 4) as api:
        result = generate(GOAL, PROFILE, None, api.client(), attempts=attempts)
    assert len(api.requests) == attempts
    assert result.candidates == ()
    assert [a.number for a in result.attempts] == list(range(1, attempts + 1))
    assert result.stopped == f"{attempts} attempts used"
    # each repair carries the whole conversation: 1, 3, 5 ... messages
    assert [len(r["messages"]) for r in api.requests] == [1 + 2 * i for i in range(attempts)]


def test_two_policies_are_asked_for_in_one_conversation(no_compiling: None) -> None:
    with fake_api("reply_checked", "reply_checked") as api:
        result = generate(GOAL, PROFILE, None, api.client(), policies=2)
    assert api.requests[1]["messages"][2] == {"role": "user", "content": prompts.ANOTHER}
    assert len(result.candidates) == 2
    assert result.stopped == "2 checked policies"


def test_tokens_add_up_exactly_and_the_cost_comes_from_the_table() -> None:
    with fake_api("reply_rejected", "reply_no_block", "reply_checked") as api:
        result = generate(GOAL, PROFILE, None, api.client())
    per_call = [a.usage for a in result.attempts]
    # the fixtures' usage fields, call by call
    assert [(u.input_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens,
             u.output_tokens) for u in per_call] == [
        (1874, 31052, 0, 187),
        (1874, 0, 31052, 41),
        (2391, 0, 31052, 236),
    ]  # fmt: skip
    total = result.usage
    assert (total.input_tokens, total.output_tokens) == (6139, 464)
    assert (total.cache_creation_input_tokens, total.cache_read_input_tokens) == (31052, 62104)
    assert total.calls == 3
    assert total.tokens == 99759
    # claude-sonnet-4-6: $3 input, $3.75 cache write, $0.30 cache read, $15 output per MTok
    assert cost.price(conversation.DEFAULT_MODEL) == cost.Price(3.00, 3.75, 0.30, 15.00)
    assert result.cost_usd == pytest.approx(
        (6139 * 3.00 + 31052 * 3.75 + 62104 * 0.30 + 464 * 15.00) / 1e6, abs=1e-12
    )
    assert result.cost_usd == pytest.approx(0.1604532, abs=1e-12)


def test_a_model_without_a_price_has_no_cost_rather_than_a_guess() -> None:
    usage = cost.Usage(1000, 100, 0, 0, 1)
    assert usage.cost_usd("claude-haiku-4-5-20251001") == pytest.approx(0.0015)
    assert usage.cost_usd("claude-haiku-4-5") == pytest.approx(0.0015)
    assert usage.cost_usd("claude-haiku-4-6") is None  # not priced as its neighbour
    assert usage.cost_usd("some-unpriced-model") is None


def test_the_token_budget_stops_the_calls_and_caps_each_reply() -> None:
    with fake_api("reply_rejected", "reply_no_block", "reply_checked") as api:
        result = generate(GOAL, PROFILE, None, api.client(), max_tokens_total=40000)
    # call 1 used 33113 tokens, call 2 may reply with at most the 6887 left; then none is made
    assert [r["max_tokens"] for r in api.requests] == [8192, 6887]
    assert result.usage.tokens == 33113 + 32967
    assert result.stopped == "token budget spent (66080 of 40000)"
    assert result.candidates == ()


@pytest.mark.parametrize(
    ("status", "fixture", "error"),
    [
        (529, "error_overloaded", "HTTP 529 overloaded_error: Overloaded"),
        (400, "error_bad_request",
         "HTTP 400 invalid_request_error: messages: text content blocks must be non-empty"),
    ],
)  # fmt: skip
def test_an_api_error_is_a_recorded_result(status: int, fixture: str, error: str) -> None:
    with fake_api("reply_rejected", (status, fixture)) as api:
        result = generate(GOAL, PROFILE, None, api.client(max_retries=0))
    assert len(api.requests) == 2
    rejected, failed = result.attempts
    assert failed.error == error and failed.reply is None
    assert failed.outcome == f"API error: {error}"
    assert failed.usage == cost.Usage()
    assert result.stopped == f"API error: {error}"
    assert result.usage == rejected.usage  # the failed call cost nothing
    assert result.candidates == ()


def test_an_overloaded_api_is_retried_by_the_sdk_within_one_attempt() -> None:
    with fake_api((529, "error_overloaded"), "reply_checked") as api:
        result = generate(GOAL, PROFILE, None, api.client(max_retries=1))
    assert len(api.requests) == 2  # the same request twice
    assert api.requests[0] == api.requests[1]
    assert [a.outcome for a in result.attempts] == ["checked: wake_first"]


def test_offline_is_no_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(conversation.API_KEY_ENV, raising=False)
    assert client_from_env() is None
    monkeypatch.setenv(conversation.API_KEY_ENV, "sk-ant-test")
    client = client_from_env(max_retries=4)
    assert client is not None and client.max_retries == 4


def test_the_last_tagged_block_wins_and_a_bare_block_is_the_fallback() -> None:
    text = "```sched\nfirst\n```\nthen\n```python\nx\n```\n```sched\nsecond\n```\n"
    assert fenced_block(text, ("sched",)) == "second\n"
    assert fenced_block("```\nbare\n```", ("sched",)) == "bare\n"
    assert fenced_block("```python\nx\n```", ("sched",)) is None
    assert fenced_block("```sched\nnever closed\n", ("sched",)) is None


def test_no_connection_is_a_recorded_result() -> None:
    with fake_api() as api:
        url = api.url
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=url, max_retries=0)
    result = generate(GOAL, PROFILE, None, client)
    (failed,) = result.attempts
    assert failed.error == "APIConnectionError: Connection error."
    assert result.stopped == "API error: APIConnectionError: Connection error."
    assert result.usage == cost.Usage() and result.cost_usd == 0.0


def test_usage_without_cache_fields_counts_them_as_zero() -> None:
    reply = recorded("reply_checked")
    reply["usage"]["cache_creation_input_tokens"] = None
    reply["usage"]["cache_read_input_tokens"] = None
    usage = cost.Usage.of(anthropic.types.Message.model_validate(reply).usage)
    assert usage == cost.Usage(2391, 236, 0, 0, 1)

"""Stage 4 inside `synthesize`: with a client (the real SDK against the local fake API) the
model's checked policy joins the candidates and is tuned like them, and its tokens are the
synthesis's; offline, no client is even made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_api import fake_api

from schedlang.agent import conversation
from schedlang.agent.loop import Budget, synthesize

GOAL = "maximize throughput of hackbench"


def test_a_model_policy_is_tuned_beside_the_retrieved_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_api("reply_rejected", "reply_checked") as api:
        monkeypatch.setattr(conversation, "client_from_env", lambda: api.client())
        result = synthesize(GOAL, budget=Budget(wall_s=120, vm_runs=0, tokens=200_000),
                            offline=False, candidates=1, trials=1, history=False,
                            observe_in=None)  # fmt: skip
    assert [(i.stage, i.candidate) for i in result.iterations] == [
        ("plan", None),
        ("retrieve", None),
        ("generate", "wake_first"),
        ("tune", "burst_classes"),
        ("tune", "wake_first"),
    ]
    generated = result.iterations[2]
    # the model started from the top retrieved policy
    assert (
        "The best policy so far is `burst_classes` (stdlib)"
        in (api.requests[0]["messages"][0]["content"])
    )
    assert generated.tokens == (1874 + 31052 + 187) + (2391 + 31052 + 236)
    assert result.tokens == generated.tokens
    # (4265 * $3 + 31052 * $3.75 + 31052 * $0.30 + 423 * $15) / 1e6 = $0.14490...
    assert generated.outcome == f"1 checked policy: 2 calls, {generated.tokens} tokens, $0.1449"
    assert generated.detail["cost_usd"] == pytest.approx(0.1449006, abs=1e-12)
    assert [a["outcome"] for a in generated.detail["attempts"]] == [
        "rejected by the checker (1 errors)",
        "checked: wake_first",
    ]
    assert len(result.iterations[4].detail["trials"]) == 1
    again = json.loads(result.to_json())["iterations"][2]["detail"]
    assert again["usage"]["cache_read_input_tokens"] == 31052
    assert again["attempts"][0]["diagnostics"][0]["code"] == "lost-task"


def test_offline_makes_no_client(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("offline synthesis asked for a model client")

    monkeypatch.setattr(conversation, "client_from_env", refuse)
    result = synthesize(GOAL, budget=Budget(wall_s=60, vm_runs=0, tokens=10_000), offline=True,
                        candidates=1, trials=1, history=False, observe_in=None)  # fmt: skip
    assert "generate" not in [i.stage for i in result.iterations]
    assert result.tokens == 0


def test_no_key_or_no_tokens_is_offline_unless_a_model_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(conversation.API_KEY_ENV, raising=False)
    result = synthesize(GOAL, budget=Budget(wall_s=60, vm_runs=0, tokens=10_000),
                        candidates=1, trials=1, history=False, observe_in=None)  # fmt: skip
    assert "generate" not in [i.stage for i in result.iterations]
    with pytest.raises(
        ValueError, match="needs an API key and a token budget: set ANTHROPIC_API_KEY"
    ):
        synthesize(GOAL, budget=Budget(vm_runs=0, tokens=10_000), offline=False, history=False)
    monkeypatch.setenv(conversation.API_KEY_ENV, "sk-ant-test")
    with pytest.raises(ValueError, match=r"give it tokens \(--budget tokens=N\)"):
        synthesize(GOAL, budget=Budget(vm_runs=0, tokens=0), offline=False, history=False)

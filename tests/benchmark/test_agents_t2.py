"""Track T2's agents, the model agent (synthesis with a model) and the naive one (prompt-only
C, compile-retry), through the real `anthropic` client against the local fake API
(tests/fake_api.py, its recorded replies); without a key they are skipped, saying why."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_api import fake_api, recorded

from schedlang.agent import conversation
from schedlang.backends.bpf import build
from schedlang.benchmark import agents, runner, suite
from schedlang.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "c"
SPECS = {s.name: s for s in suite.load()}
BUDGET = agents.Budget(wall_s=600, tokens=200_000)


@pytest.fixture
def clang() -> None:
    try:
        build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))


def test_without_a_key_t2_agents_are_listed_as_skipped_and_never_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(conversation.API_KEY_ENV, raising=False)
    skipped = "skipped: it needs ANTHROPIC_API_KEY set (track T2 asks a model)"
    assert agents.listing() == [
        ("default", "T1", "available"), ("rules", "T1", "available"),
        ("offline", "T1", "available"), ("model", "T2", skipped), ("naive", "T2", skipped),
    ]  # fmt: skip
    assert main(["bench", "agents"]) == 0
    assert f"naive    T2  {skipped}" in capsys.readouterr().out.splitlines()
    out = tmp_path / "out"
    assert main(["bench", "run", "--track", "T2", "--agent", "naive", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"schedlang bench run: agent 'naive' {skipped}\n"
    assert not out.exists()  # nothing written, so nothing is scored
    with pytest.raises(agents.AgentError, match="agent 'model' writes code: it runs in track T2"):
        agents.make("model", "T1")


def test_the_naive_agent_proposes_the_c_that_compiled(
    clang: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_api("naive_reply_uncompiled", "naive_reply_compiled") as api:
        monkeypatch.setattr(conversation, "client_from_env", lambda: api.client())
        agent = agents.NaiveAgent(include_dirs=(str(FIXTURES),))
        proposal = agent.propose(SPECS["pipe"], None, BUDGET)
    assert api.requests[0]["messages"][0]["content"].startswith(
        "Write a sched_ext scheduler that will make pipe faster on the workload pipe."
    )
    reply = recorded("naive_reply_compiled")["content"][0]["text"]
    assert proposal.language == "c" and proposal.policy is not None
    assert proposal.policy in reply and proposal.is_source
    assert proposal.tokens == 96 + 402 + 1351 + 1488 == agent.spent_tokens
    assert proposal.note == "compiled (2 calls, 3337 tokens)"
    with pytest.raises(agents.AgentError, match=r"needs a token budget \(--budget tokens=N\)"):
        agent.propose(SPECS["pipe"], None, agents.Budget())


def test_the_naive_agents_failure_leaves_the_default(
    clang: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_api("naive_reply_uncompiled", "naive_reply_uncompiled") as api:
        monkeypatch.setattr(conversation, "client_from_env", lambda: api.client())
        proposal = agents.NaiveAgent(attempts=2).propose(SPECS["xz"], None, BUDGET)
    assert proposal.policy is None and proposal.tokens > 0
    assert proposal.note.startswith("nothing compiled (") and "the default stays" in proposal.note


def test_the_model_agent_synthesizes_with_the_model_and_counts_its_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with fake_api("reply_rejected", "reply_checked") as api:
        monkeypatch.setattr(conversation, "client_from_env", lambda: api.client())
        agent = agents.ModelAgent(per_workload_s=120, trials=1)
        proposal = agent.propose(SPECS["hackbench"], None, BUDGET)
    assert len(api.requests) == 2  # stage 4 asked the model, within the workload's tokens
    assert proposal.tokens == (1874 + 31052 + 187) + (2391 + 31052 + 236) == agent.spent_tokens
    assert proposal.note.startswith("simulator's best on hackbench: ")
    # with one trial each, the library's longest_first beat the model's wake_first here
    assert (proposal.policy, proposal.language) == ("longest_first", "sched")


def test_a_policy_the_model_wrote_is_proposed_by_its_source() -> None:
    @dataclass
    class Step:
        stage: str
        detail: dict[str, Any]

    @dataclass
    class Result:
        iterations: list[Step]

    attempts = [{"outcome": "rejected by the checker (1 errors)", "source": "scheduler a {}"},
                {"outcome": "checked: wake_first", "source": "scheduler wake_first {}\n"}]  # fmt: skip
    result = Result([Step("tune", {}), Step("generate", {"attempts": attempts})])
    assert agents._candidate_source("wake_first", result) == "scheduler wake_first {}\n"
    assert agents._candidate_source("wake_first-model", result) == "scheduler wake_first {}\n"
    assert agents._candidate_source("simple_fifo", result) == "simple_fifo"
    with pytest.raises(agents.AgentError, match="neither a stdlib policy nor one the model wrote"):
        agents._candidate_source("a", result)


def test_a_c_proposal_is_compiled_by_the_c_route_and_kept_in_the_bundle(
    clang: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = (FIXTURES / "simple_c.bpf.c").read_text()

    class WritesC:
        name = "writes-c"

        def propose(self, spec: Any, profile: Any, budget: Any) -> agents.Proposal:
            return agents.Proposal(source, language="c", tokens=10)

    shipped: list[dict[str, bytes] | None] = []

    def measure(job: runner.Boot, say: Any) -> Any:
        shipped.append(job.files)
        return _Empty()

    monkeypatch.setattr(runner, "_measure", measure)
    result = runner.run_suite(WritesC(), runner.Settings(profile_source="sim", track="T2", workloads=("pipe",),  # type: ignore[arg-type]
                              budget=agents.Budget(tokens=100)), tmp_path, say=lambda line: None)  # fmt: skip
    files = shipped[0]  # then again: nothing ran, so the interval is missing (wide)
    assert (
        shipped == [files, files]
        and files is not None
        and {Path(n).suffix for n in files} >= {".o", ".json", ".c"}
    )
    (kept,) = (tmp_path / "policies").glob("generated-c-*.bpf.c")
    assert kept.read_text() == source
    (w,) = result["workloads"]
    assert w["policy"] == kept.name.removesuffix(".bpf.c") and w["goal"] is None
    assert result["budget"]["tokens"] == 10
    assert json.loads((tmp_path / "scores.json").read_text())["workloads"][0]["weighted"] == 0.0


class _Empty:
    """A boot in which nothing ran: every I is missing, so the workload scores 0."""

    runs: tuple[Any, ...] = ()
    boot: dict[str, Any] = {}

    def to_json(self) -> str:
        return "{}"

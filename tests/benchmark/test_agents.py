"""The shipped agents' proposals, and `bench run`'s refusals before anything boots."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import schedlang.stdlib
from schedlang.benchmark import agents, runner, suite

SPECS = {s.name: s for s in suite.load()}


def test_default_proposes_nothing_and_rules_follow_the_category() -> None:
    budget = agents.Budget()
    assert agents.DefaultAgent().propose(SPECS["xz"], None, budget).policy is None
    rules = agents.RulesAgent()
    chosen = {n: rules.propose(s, None, budget).policy for n, s in SPECS.items()}
    assert chosen["hackbench"] == chosen["pipe"] == "latency_boost"
    assert chosen["xz"] == chosen["sqlite"] == "weighted_vtime"
    assert chosen["mem-pressure"] == "least_loaded" and chosen["nginx"] == "interactive"
    assert set(chosen.values()) <= set(schedlang.stdlib.names())


def test_offline_proposes_the_simulators_best_library_policy() -> None:
    proposal = agents.OfflineAgent(per_workload_s=30, trials=1).propose(
        SPECS["hackbench"], None, agents.Budget()
    )
    assert proposal.policy in schedlang.stdlib.names(), proposal
    assert proposal.note.startswith("simulator's best on hackbench: ")
    assert proposal.wall_s > 0 and proposal.vm_runs == 0 and proposal.tokens == 0


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    runner.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--agent", "smart"],
            "unknown agent 'smart' (known: default, rules, offline, model, naive; an outside "
            "agent is module:attr, file.py:Name or proposals:FILE.json, see `schedlang bench "
            "agents`)",
        ),
        (["--track", "T3"], "track 'T3' is not runnable (runnable: T1, T2; T3"),
        (["--workloads", "hackbenc"], "unknown workload 'hackbenc'"),
        (["--budget", "wall=10,gpu=2"], "--budget: 'gpu=2' is not wall=S, vm=N or tokens=T"),
    ],
)
def test_bench_run_refuses_before_booting(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.run(_args(*argv, "--out", str(tmp_path / "out"))) == 2
    assert capsys.readouterr().err.startswith(f"schedlang bench run: {message}")


def test_the_model_agent_needs_a_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert runner.run(_args("--track", "T2", "--agent", "model", "--out", str(tmp_path))) == 2
    assert "needs ANTHROPIC_API_KEY" in capsys.readouterr().err


def test_a_skipped_workload_is_listed_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a machine without the server packages: nothing boots, both are listed."""
    hidden = {"nginx", "wrk", "redis-server", "redis-benchmark"}
    real = suite.shutil.which
    monkeypatch.setattr(suite.shutil, "which", lambda t: None if t in hidden else real(t))
    lines: list[str] = []
    settings = runner.Settings(profile_source="sim", workloads=("nginx", "redis"))
    result = runner.run_suite(agents.RulesAgent(), settings, tmp_path, say=lines.append)
    assert [s["name"] for s in result["skipped"]] == ["nginx", "redis"]
    assert result["workloads"] == [] and result["score"] == 0.0
    assert lines[0].startswith("skip nginx: needs nginx, wrk (not installed here;")
    assert lines[1].startswith("skip redis: needs redis-server, redis-benchmark (")


def test_offline_carries_a_tuned_winner_to_a_held_out_workload_of_its_category() -> None:
    agent = agents.OfflineAgent(per_workload_s=30, trials=1)
    budget = agents.Budget()
    assert agent.propose(SPECS["messaging"], None, budget).policy is None  # nothing tuned yet
    tuned = agent.propose(SPECS["hackbench"], None, budget)
    assert tuned.policy is not None, tuned.note  # the simulator finds a win on hackbench
    held = agent.propose(SPECS["messaging"], None, budget)
    assert (held.policy, held.params) == (tuned.policy, tuned.params)
    assert held.note.startswith("held out: what won for latency (hackbench, ")
    assert held.wall_s == 0.0


@dataclass
class Result:
    """What the offline agent reads of a `schedlang.synthesize` result."""

    simulated_best: dict[str, Any]
    tokens: int = 0
    iterations: tuple[Any, ...] = ()


def test_offline_does_not_propose_a_candidate_that_broke_an_slo_in_the_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The simulator's best is the first feasible one; when none was, it is the best of the
    infeasible, which is no proposal, and no winner for held-out workloads either."""
    import schedlang

    best = {"candidate": "edf", "params": {}, "score": 1.4, "feasible": False}
    monkeypatch.setattr(schedlang, "synthesize", lambda goal, **_: Result(best))
    agent = agents.OfflineAgent()
    proposal = agent.propose(SPECS["hackbench"], None, agents.Budget())
    assert proposal.policy is None
    assert (
        proposal.note
        == "the simulator's best, edf, breaks an SLO or was ejected there: the default"
    )
    held = agent.propose(SPECS["messaging"], None, agents.Budget())
    assert held.policy is None and held.note == "held out, nothing tuned for latency"


def test_offline_proposes_the_default_when_the_simulators_best_only_ties_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1.005x the default model is the model's rounding (stats.SAME_WITHIN), not a win: the
    default is proposed, and the tie is no winner for held-out workloads either."""
    import schedlang

    best = {"candidate": "edf", "params": {}, "score": 1.005, "feasible": True}
    monkeypatch.setattr(schedlang, "synthesize", lambda goal, **_: Result(best))
    agent = agents.OfflineAgent()
    proposal = agent.propose(SPECS["cyclictest"], None, agents.Budget())
    assert proposal.policy is None
    assert proposal.note == (
        "the simulator's best, edf, is 1.005x the default model, no better: the default"
    )
    held = agent.propose(SPECS["messaging"], None, agents.Budget())
    assert held.policy is None and held.note == "held out, nothing tuned for latency"


def test_a_held_out_workload_gets_its_categorys_best_simulated_winner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not the first tuned workload's winner (the suite's order is alphabetical): the one
    the simulator scored highest; an equal score later does not replace it. (Each of these
    workloads' sim_proxy is its own name.)"""
    import schedlang

    scores = {"cyclictest": ("edf", 1.2), "hackbench": ("longest_first", 1.948),
              "pipe": ("latency_boost", 1.948)}  # fmt: skip

    def synthesize(goal: str, **_: Any) -> Result:
        policy, score = scores[goal.split()[1]]  # "make W faster": W is the sim_proxy
        return Result({"candidate": policy, "params": {"slice": 1}, "score": score,
                       "feasible": True})  # fmt: skip

    monkeypatch.setattr(schedlang, "synthesize", synthesize)
    agent = agents.OfflineAgent()
    for name in scores:
        agent.propose(SPECS[name], None, agents.Budget())
    held = agent.propose(SPECS["messaging"], None, agents.Budget())
    assert (held.policy, held.params) == ("longest_first", {"slice": 1})
    assert held.note == "held out: what won for latency (hackbench, 1.948x in the simulator)"

"""A proposals file (`--agent proposals:FILE.json`): what a valid one makes the agent propose,
every invalid field named as FILE:field, DSL that does not check scored as a failed proposal
without a boot, and `record` (what the MCP bench tools write) keeping a goal fixed once the
workload's metrics have been shown. The VM is replaced by recorded runs (test_runner.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_runner import _report

from schedlang.benchmark import agents, plugin, profiles, proposals, runner, suite
from schedlang.benchmark.agents import AgentError
from schedlang.cli import main

SPECS = {s.name: s for s in suite.load()}
BUDGET = agents.Budget()
DSL = """scheduler one_queue "one shared FIFO" {
    queue q: fifo
    on enqueue(t, flags) { insert t into q }
    on dispatch(c) { move_to_local(q) }
}
"""
BROKEN_DSL = DSL.replace("insert t into q", "insert t into nowhere")
VALID: dict[str, Any] = {
    "schema": 1,
    "agent": "by-hand",
    "spent": {"wall_s": 120, "tokens": 5000},
    "workloads": {
        "hackbench": {"goal": {"metric": "time", "text": "finish sooner"},
                      "policy": "latency_boost", "params": {"slice": "5ms", "boost_slice": 2000000},
                      "note": "short bursts first"},
        "xz": {"goal": {"metric": "throughput", "slos": [{"metric": "time", "floor": 0.9}]}},
        "cyclictest": {"policy": None},
    },
    "categories": {
        "batch": {"policy": "weighted_vtime", "goal": {"metric": "time", "direction": "lower"}},
    },
}  # fmt: skip


@pytest.fixture(autouse=True)
def no_vm_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests show simulated profiles (--profiles sim); a VM trace would be a mistake."""
    monkeypatch.setattr(profiles, "_trace", lambda *a: pytest.fail("traced in the VM"))


def _write(tmp_path: Path, data: Any, name: str = "answer.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_a_valid_file_proposes_per_workload_then_per_category_then_the_default(
    tmp_path: Path,
) -> None:
    agent = plugin.make(f"proposals:{_write(tmp_path, VALID)}")
    assert isinstance(agent, proposals.ProposalsAgent)
    assert (agent.name, agent.track) == ("by-hand", "T1")

    def proposed(name: str) -> tuple[Any, ...]:
        p = agent.propose(SPECS[name], None, BUDGET)
        return p.policy, p.params, p.note, p.wall_s, p.tokens

    assert proposed("hackbench") == ("latency_boost", {"slice": "5ms", "boost_slice": 2000000},
                                     "short bursts first", 120.0, 5000)  # fmt: skip
    assert proposed("xz") == ("weighted_vtime", {}, "answer.json:categories.batch", 0.0, 0)
    assert proposed("gzip") == ("weighted_vtime", {}, "answer.json:categories.batch", 0.0, 0)
    assert proposed("cyclictest")[:3] == (None, {}, "answer.json:workloads.cyclictest")
    assert proposed("pipe")[:3] == (None, {}, "nothing proposed for pipe or latency: the default")

    def goal(name: str) -> Any:
        spec = SPECS[name]
        stated = agent.state_goal(agents.GoalQuestion(name, spec.description, spec.category, None))  # type: ignore[attr-defined]
        return None if stated is None else (stated.metric, stated.direction, stated.slos)

    assert goal("hackbench") == ("time", "lower", ())
    assert goal("xz") == ("throughput", "higher", (proposals.GoalSlo("time", 0.9),))
    assert goal("gzip") == ("time", "lower", ())  # held out: its category's goal
    assert goal("pipe") is None


def test_without_goals_phase_1_is_not_graded(tmp_path: Path) -> None:
    agent = plugin.make(
        f"proposals:{_write(tmp_path, {'workloads': {'pipe': {'policy': 'eevdf'}}})}"
    )
    assert agent.name == "proposals:answer.json" and not hasattr(agent, "state_goal")


INVALID = [
    ([], ["F: must be a JSON object with workloads and categories (docs/benchmark.md, "
          "\"Tracks and agents\")"]),
    ({}, ["F: proposes nothing (no workloads, no categories)"]),
    ({"schema": 2, "agents": "x", "workloads": {"pipe": {"policy": "eevdf"}}},
     ["F:agents: unknown key (known: schema, agent, spent, workloads, categories)",
      "F:schema: 2 is not 1"]),
    ({"spent": {"wall_s": "1m", "vm_runs": 1.5, "gpus": 1}, "categories": {"batch": {"policy": "eevdf"}}},
     ["F:spent.gpus: unknown key (known: wall_s, vm_runs, tokens)",
      "F:spent.wall_s: '1m' must be a non-negative number",
      "F:spent.vm_runs: 1.5 must be a non-negative integer"]),
    ({"workloads": {"hackbenc": {"policy": "eevdf"}}},
     ["F:workloads.hackbenc: unknown workload (the visible workloads: cyclictest, hackbench, "
      "mem-pressure, mix, nginx, pipe, sqlite, stress-cpu, xz)"]),
    ({"workloads": {"gzip": {"policy": "eevdf"}}},
     ["F:workloads.gzip: 'gzip' is held out, so no agent saw it: propose for its category "
      "instead (categories.batch)"]),
    ({"categories": {"gpu": {"policy": "eevdf"}}},
     ["F:categories.gpu: unknown category (known: batch, latency, server, analytics, stress)"]),
    ({"workloads": {"pipe": {"policy": "latency_boost", "params": {"slice": "900ms", "nope": 1,
                                                                   "boost_slice": 1.5}}}},
     ["F:workloads.pipe.params.boost_slice: 1.5 is not text, an integer or a bool (write a "
      "duration with its unit: \"3ms\")",
      "F:workloads.pipe.params.nope: nope: `latency_boost` has no tunable named `nope`; its "
      "tunables are: slice, boost_slice, burst_limit, named_burst_cap, normal_max_wait, "
      "preempt_after",
      "F:workloads.pipe.params.slice: slice=900ms: outside the declared range 1ms..100ms; pick a "
      "value in 1ms..100ms, or widen the range in the policy"]),
    ({"workloads": {"pipe": {"policy": "latency_boost", "params": {"slice": "fast"}}}},
     ["F:workloads.pipe.params.slice: slice=fast: `fast` is not a duration; a duration is a "
      "number followed by ns, us, ms or s: `3ms`, `250us`"]),
    ({"workloads": {"pipe": {"policy": "fastest"}}},
     ["F:workloads.pipe.policy: 'fastest' is not a library policy (known: bandwidth, "
      "burst_classes, central, domains, edf, eevdf, interactive, lat_criticality, latency_boost, "
      "layered, least_loaded, locality, longest_first, mlfq, priority_aging, process_fair, "
      "run_to_completion, simple_fifo, sync_wake, weighted_vtime); DSL source spans lines"]),
    ({"workloads": {"pipe": {"policy": "my.bpf.c", "language": "c"}}},
     ["F:workloads.pipe.policy: language 'c' needs the C source itself (it spans lines)"]),
    ({"workloads": {"pipe": {"policy": "eevdf", "language": "rust", "colour": "red"}}},
     ["F:workloads.pipe.colour: unknown key (known: policy, language, params, goal, note)",
      "F:workloads.pipe.language: 'rust' is not 'sched' or 'c'"]),
    ({"workloads": {"pipe": {"policy": None, "params": {"slice": "3ms"}}}},
     ["F:workloads.pipe.params: the default scheduler (policy null) has no tunables"]),
    ({"workloads": {"pipe": {"params": {"slice": "3ms"}}, "mix": {}, "xz": "eevdf"}},
     ["F:workloads.pipe: params or language without a policy (a goal alone needs neither)",
      "F:workloads.mix: neither a policy nor a goal",
      "F:workloads.xz: must be an object with policy, params, goal (see docs/benchmark.md)"]),
    ({"workloads": {"pipe": {"goal": {"metric": "speed"}},
                    "mix": {"goal": {"metric": "time", "direction": "higher", "why": "x"}},
                    "xz": {"goal": {"metric": "time", "slos": [{"metric": "time", "floor": 1.5},
                                                               {"metric": "joy", "floor": 0.5},
                                                               {"floor": 0.5}]}}}},
     ["F:workloads.pipe.goal.metric: 'speed' is not a goal metric (known: wakeup_p50, "
      "wakeup_p99, wakeup_max, throughput, time, fairness, deadline_misses)",
      "F:workloads.mix.goal.why: unknown key (known: metric, direction, slos, text)",
      "F:workloads.xz.goal.slos[0].floor: 1.5 must be in (0, 1]: a share of the default's "
      "performance",
      "F:workloads.xz.goal.slos[1].metric: 'joy' is not a goal metric",
      "F:workloads.xz.goal.slos[2]: must be {\"metric\": M, \"floor\": F}"]),
    ({"workloads": {"mix": {"goal": {"metric": "time", "direction": "higher"}}}},
     ["F:workloads.mix.goal.direction: time to finish the work (time) is better lower, so it "
      "cannot be pushed higher"]),
]  # fmt: skip


@pytest.mark.parametrize(("data", "lines"), INVALID)
def test_every_problem_is_named_by_file_and_field(
    data: Any, lines: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(AgentError) as err:
        proposals.read(path)
    assert str(err.value).splitlines() == [line.replace("F", str(path), 1) for line in lines]
    argv = [
        "bench",
        "run",
        "--profiles",
        "sim",
        "--agent",
        f"proposals:{path}",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"schedlang bench run: {err.value}\n"
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_json_or_not_there(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"workloads": {\n  "pipe": {"policy": "eevdf",}\n}}')
    with pytest.raises(AgentError, match=rf"^{path}:2:30: not valid JSON: Expecting property name"):
        proposals.read(path)
    with pytest.raises(AgentError, match=rf"^{tmp_path}/none.json: no such proposals file$"):
        plugin.make(f"proposals:{tmp_path}/none.json")


def test_source_makes_it_a_t2_agent_refused_in_t1(tmp_path: Path) -> None:
    path = _write(tmp_path, {"workloads": {"pipe": {"policy": DSL}}})
    with pytest.raises(AgentError) as err:
        plugin.make(f"proposals:{path}", "T1")
    assert str(err.value) == ("agent 'proposals:answer.json' writes code: it runs in track T2 "
                              f"(--track T2); {path}:workloads.pipe.policy is source")  # fmt: skip
    agent = plugin.make(f"proposals:{path}", "T2")
    assert isinstance(agent, proposals.ProposalsAgent) and agent.track == "T2"


def test_dsl_that_does_not_check_is_scored_as_a_failed_proposal_without_a_boot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    boots: list[runner.Boot] = []

    def measure(job: runner.Boot, say: Any) -> Any:
        boots.append(job)
        return _report(job.runner, [2.0] * 5, [1.0] * 5)

    monkeypatch.setattr(runner, "_measure", measure)
    data = {"workloads": {"pipe": {"policy": BROKEN_DSL}, "hackbench": {"policy": DSL}}}
    path = _write(tmp_path, data)
    out = tmp_path / "out"
    argv = ["bench", "run", "--profiles", "sim", "--track", "T2", "--agent", f"proposals:{path}",
            "--workloads", "hackbench,pipe", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    why = f"{path}:workloads.pipe.policy does not check: 3:42: `nowhere` is not a queue [unknown-name]"
    label = runner._policy_label(agents.Proposal(BROKEN_DSL))
    assert f"  pipe: {label}  {why}: scored as a failed proposal" in printed
    assert (f"pipe: {label} does not compile (3:42: `nowhere` is not a queue): nothing to load, "
            "scored as a failed proposal") in printed  # fmt: skip
    assert [b.runner for b in boots] == ["hackbench"]  # the broken one boots nothing
    scores = json.loads((out / "scores.json").read_text())
    hackbench, pipe = scores["workloads"]
    assert hackbench["weighted"] == 2.0 and hackbench["policy"].startswith("generated-")
    assert pipe["policy"] == label and pipe["weighted"] == 0.0 and not pipe["slos_met"]
    assert [m["I"] for m in pipe["metrics"]] == [None] and pipe["metrics"][0]["agent"] == []
    assert scores["score"] == 2.0
    assert (out / "policies" / f"{label}.sched").read_text() == BROKEN_DSL  # kept, as proposed


def test_record_writes_a_file_bench_run_reads_and_keeps_goals_fixed(tmp_path: Path) -> None:
    visible = [s for s in SPECS.values() if not s.held_out]
    path = tmp_path / "session" / "proposals.json"
    goal = {"metric": "time"}
    entry = proposals.record(path, "workloads", "hackbench", {"goal": goal}, visible)
    assert not entry.proposed and entry.goal is not None and entry.goal.metric == "time"
    entry = proposals.record(path, "workloads", "hackbench",
                             {"policy": "latency_boost", "params": {"slice": "5ms"}}, visible)  # fmt: skip
    assert (entry.policy, entry.params, entry.goal) == ("latency_boost", {"slice": "5ms"},
                                                        proposals.Goal("time", "lower"))  # fmt: skip
    proposals.record(path, "workloads", "hackbench", {"goal": goal, "policy": "default"}, visible)
    proposals.record(path, "categories", "batch", {"policy": "weighted_vtime"}, visible)
    proposals.record(path, "categories", "batch", {"goal": {"metric": "throughput"}}, visible)
    with pytest.raises(AgentError) as err:
        proposals.record(
            path, "workloads", "hackbench", {"goal": {"metric": "wakeup_p99"}}, visible
        )
    assert str(err.value) == (
        "workloads.hackbench.goal: cannot change once hackbench has an entry (its metrics and "
        "SLOs have been shown since): phase 1 states a goal from the profile alone"
    )
    proposals.record(path, "workloads", "pipe", {"policy": "eevdf"}, visible)
    with pytest.raises(AgentError, match="workloads.pipe.goal: cannot change once pipe has"):
        proposals.record(path, "workloads", "pipe", {"goal": goal}, visible)  # too late
    with pytest.raises(AgentError, match=r":workloads.xz.params.nope: nope: `eevdf` has no"):
        proposals.record(path, "workloads", "xz", {"policy": "eevdf", "params": {"nope": "1"}},
                         visible)  # fmt: skip
    assert json.loads(path.read_text()) == {
        "schema": 1,
        "workloads": {"hackbench": {"goal": {"metric": "time", "direction": "lower"},
                                    "policy": None},
                      "pipe": {"policy": "eevdf"}},
        "categories": {"batch": {"goal": {"metric": "throughput", "direction": "higher"},
                                 "policy": "weighted_vtime"}},
    }  # fmt: skip
    agent = plugin.make(f"proposals:{path}")
    assert agent.propose(SPECS["gzip"], None, BUDGET).policy == "weighted_vtime"

"""The benchmark over MCP: an outside agent, connected to `schedlang mcp` through the SDK's own
client over stdio, reads the visible workloads, states goals, proposes, and the proposals file
the server wrote is what `bench run --agent proposals:FILE` reads. No answer of any tool ever
names a held-out workload."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from mcp import Client
from test_mcp_server import GOOD, _json, _with_server

from schedlang.benchmark import agents, plugin, proposals, suite

SPECS = {s.name: s for s in suite.load()}
VISIBLE = [s.name for s in SPECS.values() if not s.held_out]
HELD_OUT = [s for s in SPECS.values() if s.held_out]
BROKEN = GOOD.replace("insert t into q", "insert t into nowhere")


def _error(result: Any) -> str:
    assert result.is_error, result.content
    return str(result.content[0].text)


def test_the_bench_tools_have_typed_schemas() -> None:
    async def body(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {t.name: t.input_schema for t in _with_server(("--no-vm",), body)}
    propose = tools["bench_propose"]
    assert set(propose["properties"]) == {"workload", "category", "policy", "language", "params",
                                          "goal", "note"}  # fmt: skip
    assert propose["properties"]["language"]["enum"] == ["sched", "c"]
    assert propose["properties"]["params"]["anyOf"][0] == {
        "additionalProperties": {"type": "string"}, "type": "object"
    }  # fmt: skip
    goal = propose["$defs"]["StatedGoal"]
    assert goal["required"] == ["metric"] and set(goal["properties"]) == {
        "metric", "direction", "slos", "text"
    }  # fmt: skip
    assert propose["$defs"]["GoalFloor"]["required"] == ["metric", "floor"]
    assert tools["bench_workloads"]["properties"]["profile"] == {
        "default": "sim", "enum": ["sim", "vm"], "title": "Profile", "type": "string"
    }  # fmt: skip
    assert tools["bench_proposals"]["properties"] == {}


def test_an_agent_takes_the_benchmark_over_mcp(tmp_path: Path) -> None:
    file = tmp_path / "answer.json"
    answers: list[Any] = []

    async def call(client: Client, tool: str, args: dict[str, Any]) -> Any:
        result = await client.call_tool(tool, args)
        if args.get("workload") not in {s.name for s in HELD_OUT}:  # not the agent's own echo
            answers.append(result.content[0].text if result.content else "")
        return result

    async def body(client: Client) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["list"] = _json(await call(client, "bench_workloads", {}))
        every = [_json(await call(client, "bench_workloads", {"workload": name}))
                 for name in VISIBLE]  # fmt: skip
        out["one"] = every[VISIBLE.index("hackbench")]
        out["goal"] = _json(await call(client, "bench_propose", {
            "workload": "hackbench",
            "goal": {"metric": "time", "slos": [{"metric": "throughput", "floor": 0.9}]}}))  # fmt: skip
        out["after_goal"] = _json(await call(client, "bench_workloads", {}))
        out["propose"] = _json(await call(client, "bench_propose", {
            "workload": "hackbench", "policy": "latency_boost", "params": {"slice": "5ms"},
            "note": "short bursts first"}))  # fmt: skip
        out["bad_params"] = _error(await call(client, "bench_propose", {
            "workload": "xz", "policy": "latency_boost", "params": {"slice": "900ms"}}))  # fmt: skip
        out["held_out"] = [_error(await call(client, "bench_propose",
                                             {"workload": s.name, "policy": "eevdf"}))
                           for s in HELD_OUT]  # fmt: skip
        out["held_out_read"] = _error(await call(client, "bench_workloads", {"workload": "gzip"}))
        out["category"] = _json(await call(client, "bench_propose", {
            "category": "batch", "policy": "weighted_vtime", "goal": {"metric": "time"}}))  # fmt: skip
        out["broken"] = _json(await call(client, "bench_propose", {
            "workload": "pipe", "policy": BROKEN}))  # fmt: skip
        out["late_goal"] = _error(await call(client, "bench_propose", {
            "workload": "pipe", "goal": {"metric": "wakeup_p50"}}))  # fmt: skip
        out["both"] = _error(await call(client, "bench_propose", {
            "workload": "pipe", "category": "latency", "policy": "eevdf"}))  # fmt: skip
        out["vm"] = _error(await call(client, "bench_workloads",
                                      {"workload": "pipe", "profile": "vm"}))  # fmt: skip
        out["recorded"] = _json(await call(client, "bench_proposals", {}))
        return out

    out = _with_server(("--no-vm", "--bench-proposals", str(file)), body)

    listing = out["list"]
    assert [w["name"] for w in listing["workloads"]] == VISIBLE
    assert all(w["metrics"] is None and w["slos"] is None for w in listing["workloads"])
    assert listing["categories"] == ["batch", "latency", "server", "analytics", "stress"]
    assert listing["budget"] == {"wall_s": 600.0, "vm_runs": 0, "tokens": 0, "runs_a_side": 5,
                                 "note": "bench run's default --budget; going past it costs "
                                 "lambda * overuse in the score"}  # fmt: skip
    assert listing["proposals_file"] == str(file)
    (one,) = out["one"]["workloads"]
    assert one["profile"]["workload"] == "hackbench" and one["profile"]["source"] == "sim"
    assert one["profile_note"] == "asked for (--profiles sim): the simulator's model hackbench"

    assert out["goal"]["recorded"] == {"workloads": {"hackbench": {
        "goal": {"metric": "time", "direction": "lower",
                 "slos": [{"metric": "throughput", "floor": 0.9}]}}}}  # fmt: skip
    hackbench = out["after_goal"]["workloads"][VISIBLE.index("hackbench")]
    assert hackbench["metrics"] == [{"name": "time_s", "unit": "s", "direction": "lower",
                                     "alpha": 1.0}]  # fmt: skip
    assert [s["metric"] for s in hackbench["slos"]] == ["time_s", "wall_s"]
    assert out["propose"]["ok"] and out["propose"]["score_with"] == (
        f"schedlang bench run --agent proposals:{file} --out DIR"
    )
    assert out["bad_params"] == (
        f"Error executing tool bench_propose: {file}:workloads.xz.params.slice: slice=900ms: "
        "outside the declared range 1ms..100ms; pick a value in 1ms..100ms, or widen the range "
        "in the policy"
    )
    unknown = "unknown workload '{}' (the visible workloads: " + ", ".join(VISIBLE) + ")"
    assert out["held_out"] == [
        f"Error executing tool bench_propose: {unknown.format(s.name)}" for s in HELD_OUT
    ]
    assert out["held_out_read"] == f"Error executing tool bench_workloads: {unknown.format('gzip')}"
    assert out["broken"]["ok"] is False
    assert out["broken"]["problem"] == (
        f"{file}:workloads.pipe.policy does not check: 3:42: `nowhere` is not a queue "
        "[unknown-name]: scored as a failed proposal unless replaced"
    )
    assert [d["code"] for d in out["broken"]["diagnostics"]] == ["unknown-name"]
    assert out["late_goal"] == (
        "Error executing tool bench_propose: workloads.pipe.goal: cannot change once pipe has "
        "an entry (its metrics and SLOs have been shown since): phase 1 states a goal from the "
        "profile alone"
    )
    assert (
        out["both"]
        == "Error executing tool bench_propose: give exactly one of workload or category"
    )
    assert out["vm"].startswith("Error executing tool bench_workloads: bench_workloads with "
                                "profile='vm' boots the sandbox VM")  # fmt: skip
    recorded = out["recorded"]
    assert recorded["workloads"] == {name: {"hackbench": "proposed", "pipe": "proposed"}.get(
        name, "nothing yet") for name in VISIBLE}  # fmt: skip
    assert recorded["categories"]["batch"] == "proposed"
    assert recorded["proposals"] == json.loads(file.read_text())

    # nothing any tool said names a held-out workload, by name or by description
    said = "\n".join(answers)
    for spec in HELD_OUT:
        assert not re.search(rf"\b{re.escape(spec.name)}\b", said), spec.name
        assert spec.description not in said

    # the file is what bench run reads: a T2 agent (it holds source), held-out from categories
    agent = plugin.make(f"proposals:{file}", "T2")
    assert isinstance(agent, proposals.ProposalsAgent) and agent.track == "T2"
    hack = agent.propose(SPECS["hackbench"], None, agents.Budget())
    assert (hack.policy, hack.params, hack.note) == ("latency_boost", {"slice": "5ms"},
                                                     "short bursts first")  # fmt: skip
    assert agent.propose(SPECS["gzip"], None, agents.Budget()).policy == "weighted_vtime"
    assert agent.propose(SPECS["pipe"], None, agents.Budget()).note.endswith(
        "scored as a failed proposal"
    )


def test_without_a_file_the_proposals_go_to_a_session_directory() -> None:
    async def body(client: Client) -> Any:
        before = _json(await client.call_tool("bench_proposals", {}))
        _json(await client.call_tool("bench_propose", {"category": "latency", "policy": "default"}))
        after = _json(await client.call_tool("bench_proposals", {}))
        return before, after

    before, after = _with_server(("--no-vm",), body)
    file = Path(after["proposals_file"])
    try:
        assert file.name == "proposals.json" and file.parent.name.startswith(
            "schedlang-bench-session-"
        )
        assert before["proposals"] == {} and before["categories"]["latency"] == "nothing yet"
        assert after["proposals"] == {"schema": 1, "categories": {"latency": {"policy": None}}}
        assert proposals.read(file).categories["latency"].policy is None
    finally:
        shutil.rmtree(file.parent)

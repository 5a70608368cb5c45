"""`schedlang mcp` driven by the official MCP SDK's own client over stdio: the server is a
real subprocess speaking JSON-RPC, as an agent's host would start it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {
    "analyze_workload",
    "bench_proposals",
    "bench_propose",
    "bench_workloads",
    "check",
    "compile",
    "history",
    "list_policies",
    "read_policy",
    "run",
    "simulate",
    "synthesize",
}
GOOD = """scheduler tiny "one shared FIFO" {
    queue q: fifo
    on enqueue(t, flags) { insert t into q }
    on dispatch(c) { move_to_local(q) }
}
"""
BAD = GOOD.replace("insert t into q", "insert t into nowhere")


def _session(*flags: str, env: dict[str, str] | None = None) -> Client:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "schedlang.cli", "mcp", *flags],
        env={"PYTHONPATH": str(ROOT), **(env or {})},
        cwd=str(ROOT),
    )
    return Client(params, read_timeout_seconds=120)


def _with_server(flags: tuple[str, ...], body: Any, env: dict[str, str] | None = None) -> Any:
    async def main() -> Any:
        async with _session(*flags, env=env) as client:
            return await body(client)

    return anyio.run(main)


def _json(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        data = result.structured_content
        return data.get("result", data) if set(data) == {"result"} else data
    return json.loads(result.content[0].text)


def test_tools_and_their_schemas() -> None:
    async def body(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {t.name: t for t in _with_server((), body)}
    assert set(tools) == TOOLS
    check = tools["check"].input_schema
    assert check["required"] == ["policy"] and check["properties"]["policy"]["type"] == "string"
    simulate = tools["simulate"].input_schema["properties"]
    assert simulate["workload"]["default"] == "hackbench" and simulate["seeds"]["type"] == "integer"
    synthesize = tools["synthesize"].input_schema["properties"]
    assert synthesize["remeasure"] == {"default": False, "title": "Remeasure", "type": "boolean"}


def test_check_proves_a_policy_and_returns_diagnostics_for_a_bad_one() -> None:
    async def body(client: Client) -> Any:
        good = await client.call_tool("check", {"policy": GOOD})
        bad = await client.call_tool("check", {"policy": BAD})
        library = await client.call_tool("check", {"policy": "simple_fifo"})
        return _json(good), _json(bad), _json(library)

    good, bad, library = _with_server((), body)
    assert good == {"ok": True, "diagnostics": []}
    assert library["ok"] is True
    assert bad["ok"] is False
    (diag,) = bad["diagnostics"]
    assert (diag["line"], diag["col"], diag["severity"]) == (3, 42, "error")
    assert "nowhere" in diag["message"] and diag["hints"]


def test_library_listing_and_reading() -> None:
    async def body(client: Client) -> Any:
        listing = _json(await client.call_tool("list_policies", {}))
        source = await client.call_tool("read_policy", {"name": "simple_fifo"})
        missing = await client.call_tool("read_policy", {"name": "no_such_policy"})
        return listing, source, missing

    listing, source, missing = _with_server((), body)
    names = [p["name"] for p in listing]
    assert names == sorted(p.stem for p in (ROOT / "stdlib").glob("*.sched"))
    fair = next(p for p in listing if p["name"] == "weighted_vtime")
    assert fair["summary"] and all(
        {"name", "default", "min", "max"} <= set(p) for p in fair["params"]
    )
    assert "scheduler simple_fifo" in source.content[0].text
    assert missing.is_error and "no_such_policy" in missing.content[0].text


def test_simulate_answers_with_the_report_and_caps_the_cost() -> None:
    async def body(client: Client) -> Any:
        ok = await client.call_tool(
            "simulate", {"policy": GOOD, "workload": "pipe", "seconds": 0.2, "seeds": 1}
        )
        bad = await client.call_tool("simulate", {"policy": BAD, "workload": "pipe"})
        over = await client.call_tool("simulate", {"policy": GOOD, "seconds": 3600})
        return _json(ok), _json(bad), over

    ok, bad, over = _with_server((), body)
    assert ok["ok"] is True and ok["report"]["workload"] == "pipe"
    assert bad["ok"] is False and bad["diagnostics"][0]["line"] == 3
    assert over.is_error and "cap" in over.content[0].text


def test_compile_returns_the_generated_c() -> None:
    async def body(client: Client) -> Any:
        return _json(await client.call_tool("compile", {"policy": GOOD}))

    out = _with_server((), body)
    assert out["ok"] is True and out["name"] == "tiny"
    assert "BPF_STRUCT_OPS(tiny__enqueue" in out["c"]
    assert out["manifest"]["policy"] == "tiny" and out["manifest"]["queues"]


def test_without_the_vm_the_vm_tools_refuse_and_say_how_to_allow_them() -> None:
    async def body(client: Client) -> Any:
        run = await client.call_tool("run", {"policy": GOOD})
        analyze = await client.call_tool("analyze_workload", {"workload": "hackbench"})
        return run, analyze

    for result in _with_server(("--no-vm",), body):
        assert result.is_error and "--no-vm" in result.content[0].text


def test_the_reference_pages_are_resources() -> None:
    async def body(client: Client) -> Any:
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        page = await client.read_resource("schedlang://docs/language")
        return listed, page.contents[0].text

    listed, language = _with_server((), body)
    assert {"schedlang://docs/language", "schedlang://docs/errors"} <= listed
    assert language == (ROOT / "docs" / "language.md").read_text(encoding="utf-8")


def test_history_reads_an_empty_store_without_creating_one(tmp_path: Path) -> None:
    async def body(client: Client) -> Any:
        return _json(await client.call_tool("history", {}))

    out = _with_server((), body, env={"XDG_DATA_HOME": str(tmp_path)})
    assert out["entries"] == [] and "no history yet" in out["note"]
    assert not any(tmp_path.iterdir())


def test_analyze_workload_in_the_simulator_gives_a_profile_with_its_model() -> None:
    async def body(client: Client) -> Any:
        ok = await client.call_tool("analyze_workload", {"workload": "pipe", "sim": True})
        unknown = await client.call_tool("analyze_workload", {"workload": "nope", "sim": True})
        return _json(ok), unknown

    ok, unknown = _with_server(("--no-vm",), body)
    profile = ok["profile"]
    assert profile["workload"] == "pipe" and profile["rtapp"]["tasks"]
    assert unknown.is_error and "nope" in unknown.content[0].text

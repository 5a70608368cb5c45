"""`schedlang mcp`: serve schedlang's tools to an agent over MCP (stdio, or streamable HTTP)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "serve schedlang's tools to an agent over MCP"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--http",
        metavar="PORT",
        type=int,
        help="serve streamable HTTP on 127.0.0.1:PORT instead of stdio",
    )
    p.add_argument(
        "--no-vm",
        action="store_true",
        help="refuse the tools that boot the sandbox VM (run, analyze_workload, synthesize's "
        "measurements); check, compile and simulate stay",
    )
    p.add_argument(
        "--call-budget",
        metavar="SECONDS",
        type=float,
        default=900.0,
        help="wall-clock budget of any one tool call (default 900)",
    )
    p.add_argument(
        "--bench-proposals",
        metavar="FILE",
        type=Path,
        help="where the bench tools record the agent's proposals (default: a new session "
        "directory); score them with `schedlang bench run --agent proposals:FILE`",
    )


def run(args: argparse.Namespace) -> int:
    from schedlang.mcp_server import Limits, build

    server = build(Limits(call_s=args.call_budget, vm=not args.no_vm), args.bench_proposals)
    if args.http is None:
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    return 0

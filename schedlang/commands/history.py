"""`schedlang history [list|show ID|winners]`: what the agent's history store remembers.

`list` is every verdict the store holds (oldest first), `show ID` one verdict with its
policy's source, the measurement's runs and the synthesis that reached it, `winners` the
kept candidates, largest gain over the default first. `--workload W` narrows `list` and
`winners` to one workload. Tables for people (`--format text`), the same data as JSON for
tools (`--format json`). The store is `schedlang.agent.history.default_path()`; reading it
never creates it. Exit codes (docs/cli.md): 0 shown, 2 usage (an unknown ID, `show` without
one) or a store that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from schedlang.runtime.report import columns

HELP = "show what the agent's history store remembers: verdicts, winners, their runs"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        nargs="?",
        choices=("list", "show", "winners"),
        default="list",
        help="list every verdict (default), show one, or the winners",
    )
    p.add_argument("id", nargs="?", type=int, metavar="ID", help="the entry `show` shows")
    p.add_argument("--workload", "-w", metavar="W", help="only entries on this workload")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _fail(message: str) -> int:
    print(f"schedlang history: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from schedlang.agent.history import History, HistoryError, default_path

    if args.action == "show" and args.id is None:
        return _fail("`show` needs the ID of an entry (see `schedlang history list`)")
    if args.action != "show" and args.id is not None:
        return _fail(f"`{args.action}` takes no ID (did you mean `show {args.id}`?)")
    path = default_path()
    if not path.exists() and args.action != "show":
        return _print_entries(args, str(path), [], f"no history yet: {path} does not exist")
    try:
        with History.open(path, create=False) as store:
            if args.action == "show":
                return _print_show(args, store.show(args.id))
            if args.action == "winners":
                found = store.winners(args.workload)
                empty = "no winners yet" + (f" on {args.workload}" if args.workload else "")
            else:
                found = store.entries(args.workload)
                empty = "no entries yet" + (f" on {args.workload}" if args.workload else "")
            return _print_entries(args, str(path), [asdict(e) for e in found], empty)
    except HistoryError as exc:
        return _fail(str(exc))


def _print_entries(args: argparse.Namespace, store: str, entries: list[dict[str, Any]],
                   empty: str) -> int:  # fmt: skip
    if args.format == "json":
        key = "winners" if args.action == "winners" else "entries"
        print(json.dumps({"store": store, "workload": args.workload, key: entries}, indent=2))
        return 0
    if not entries:
        print(empty)
        return 0
    print(format_table(entries))
    return 0


def _params(params: dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(params.items())) or "-"


def _when(recorded: str) -> str:
    """`2026-11-30T14:20:05+00:00` -> `2026-11-30 14:20` (UTC)."""
    return recorded[:16].replace("T", " ")


def format_table(entries: list[dict[str, Any]]) -> str:
    header = ("id", "recorded (UTC)", "workload", "candidate", "policy", "params", "outcome",
              "metric", "gain")  # fmt: skip
    rows = [header]
    for e in entries:
        rows.append(
            (
                str(e["id"]),
                _when(e["recorded"]),
                e["workload"],
                e["candidate"],
                e["policy"][:12],
                _params(e["params"]),
                e["outcome"],
                e["metric"],
                "-" if e["gain"] is None else f"{e['gain']:.3f}",
            )
        )
    lines = columns(rows)
    lines.append("gain: the candidate's median over the default's, turned so above 1 is better")
    return "\n".join(lines)


def _print_show(args: argparse.Namespace, shown: dict[str, Any]) -> int:
    if args.format == "json":
        print(json.dumps(shown, indent=2))
    else:
        print(format_show(shown))
    return 0


def _numbers(values: list[float]) -> str:
    return " ".join(f"{v:g}" for v in values) or "none"


def format_show(shown: dict[str, Any]) -> str:
    entry, verdict, measurement = shown["entry"], shown["verdict"], shown["measurement"]
    profile = f" (profile {shown['profile']})" if shown["profile"] is not None else ""
    boot = measurement["boot"]
    lines = [
        f"entry {entry['id']}, recorded {_when(entry['recorded'])} UTC",
        entry["sentence"],
        f"workload: {entry['workload']}{profile}",
        f"policy: {entry['candidate']}, sha256 {entry['policy']}",
        f"params: {_params(entry['params'])}",
        f"measurement {measurement['id']}, one boot"
        + (
            f" ({boot.get('accelerator', '?')}, kernel {boot.get('kernel_release', '?')})"
            if boot
            else ""
        ),  # fmt: skip
    ]
    for s in measurement["samples"]:
        lines.append(
            f"  {s['metric']} ({s['better']} is better): candidate {_numbers(s['candidate'])}; "
            f"default {_numbers(s['default'])}"
        )
    for key in ("vs_default", "vs_best"):
        c = verdict.get(key)
        if c is not None:
            lines.append(f"test against {c['against']}: {c['test']}; {c['interval']}")
    synthesis = shown["synthesis"]
    if synthesis is not None:
        from schedlang.agent.goal import Goal

        goal = synthesis["goal"]
        lines.append(
            f"synthesis {synthesis['id']}: {goal.get('text') or Goal.from_dict(goal).describe()}"
            f"; {synthesis['seconds']:.1f} s, {synthesis['vm_runs']} VM runs, "
            f"{synthesis['tokens_in']} tokens in, {synthesis['tokens_out']} out, "
            f"${synthesis['cost_usd']:.2f}"
        )
    lines.append("source:")
    lines.extend(f"  | {line}" if line else "  |" for line in shown["source"].splitlines())
    return "\n".join(lines)

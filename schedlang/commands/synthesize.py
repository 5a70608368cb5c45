"""`schedlang synthesize "GOAL" --workload W`: from a goal to a measured, better policy.

Runs `schedlang.synthesize` (docs/agent.md) with a live display of the stage, the candidate,
the best so far and the budget left on a terminal (rich), one plain line per step otherwise
(on stderr, so `--format json` keeps stdout clean). The report goes to stdout; with `--out
DIR` the winner is written as `DIR/NAME.sched` (a header saying what it won, by how much, on
what and by which test; `schedlang check` accepts it) and the whole report as
`DIR/synthesis.json`. Exit codes (docs/cli.md): 0 the synthesis ran to its end, whether or
not something won (the report says which); 2 a goal, workload or budget that cannot be used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

HELP = "turn a goal into a policy that beats the default scheduler, measured in the VM"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("goal", metavar="GOAL", help='e.g. "maximize throughput of hackbench"')
    p.add_argument("--workload", "-w", metavar="W", help="the VM workload (or named in GOAL)")
    p.add_argument(
        "--budget",
        default="wall=600,vm=20,tokens=0",
        metavar="wall=S,vm=N,tokens=T",
        help="wall seconds, policy-side VM runs, model tokens (default wall=600,vm=20,tokens=0)",
    )
    p.add_argument("--candidates", type=int, default=3, help="policies tuned (default 3)")
    p.add_argument(
        "--vm-candidates", type=int, default=2, help="of those, measured in the VM (default 2)"
    )
    p.add_argument("--repeat", type=int, default=5, help="VM runs a side, at least 5 (default 5)")
    p.add_argument(
        "--remeasure",
        action="store_true",
        help="measure a winner recalled from the history store (same profile, figure and "
        "kernel) in the VM again instead of reusing its verdict",
    )
    p.add_argument("--trials", type=int, help="simulated trials per candidate (default: budget)")
    p.add_argument("--seed", type=int, default=0, help="the search's seed (default 0)")
    p.add_argument(
        "--history",
        metavar="PATH|none",
        help="the history store past winners come from and this run goes to (default: the "
        "user's, `schedlang history` shows it; none: no store)",
    )
    p.add_argument(
        "--observe",
        choices=("sim", "vm", "none"),
        default="sim",
        help="profile the workload in the simulator (default), the VM, or not at all",
    )
    p.add_argument("--out", metavar="DIR", help="write the winner's .sched and the report here")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")


class _Display:
    """A live panel on a terminal, plain lines elsewhere."""

    def __init__(self) -> None:
        self.live: Any = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(stderr=True), refresh_per_second=4, transient=True)
            self.live.start()

    def __call__(self, p: Any) -> None:
        who = f" {p.candidate}" if p.candidate else ""
        if self.live is None:
            print(f"synthesize: {p.stage}{who}: {p.message}", file=sys.stderr, flush=True)
            return
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        table.add_row("stage", f"[bold]{p.stage}[/]{who}")
        table.add_row("now", p.message[-100:])
        table.add_row("best so far", p.best or "-")
        table.add_row("budget left", f"{max(p.wall_left_s, 0):.0f}s wall, {p.vm_left} VM runs")
        self.live.update(table)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()


def run(args: argparse.Namespace) -> int:
    import schedlang
    from schedlang.agent.goal import GoalError
    from schedlang.agent.loop import Budget

    try:
        budget = Budget.parse(args.budget)
    except ValueError as exc:
        print(f"schedlang synthesize: --budget: {exc}", file=sys.stderr)
        return 2
    if args.repeat < 5:
        print("schedlang synthesize: --repeat must be at least 5", file=sys.stderr)
        return 2
    display = _Display()
    try:
        result = schedlang.synthesize(
            args.goal,
            args.workload,
            budget,
            candidates=args.candidates,
            vm_candidates=args.vm_candidates,
            repeat=args.repeat,
            remeasure=args.remeasure,
            trials=args.trials,
            seed=args.seed,
            progress=display,
            history=True if args.history is None else args.history != "none" and args.history,
            observe_in=None if args.observe == "none" else args.observe,
        )
    except GoalError as exc:
        display.close()
        print(f"schedlang synthesize: {exc}", file=sys.stderr)
        return 2
    finally:
        display.close()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "synthesis.json").write_text(result.to_json() + "\n")
        if result.winner is not None:
            path = out / f"{result.winner.name}.sched"
            path.write_text(result.winner.source)
            print(f"schedlang synthesize: wrote {path}", file=sys.stderr)
    print(result.to_json() if args.format == "json" else result.format_text())
    return 0

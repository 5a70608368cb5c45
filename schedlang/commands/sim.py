"""`schedlang sim POLICY`: run a policy on the simulated sched_ext machine against the default.

The policy is checked and compiled for the simulator (the IR interpreter), then each seed's
run of the workload under it is set against the same seed's run under the model of the
kernel's default scheduler (docs/simulator.md). Milliseconds of host time instead of a VM
boot, and microsecond latencies that mean something; what the model leaves out is listed in
the doc. Exit codes as everywhere (docs/cli.md): 0 the policy ran, 1 the policy must change
(diagnostics, a bad --param, or the simulated kernel ejected it: a stall or a runtime
error), 2 usage or unreadable input (a bad option, policy file or workload file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from schedlang.commands import param_option

HELP = "run a policy on a simulated sched_ext machine against a model of the default scheduler"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from schedlang.runtime.sim.rtapp import builtin_names

    p.add_argument("policy", metavar="POLICY", help="policy source (.sched)")
    p.add_argument(
        "--workload",
        "-w",
        default="hackbench",
        metavar="NAME|FILE.json",
        help=f"a model of a VM workload ({', '.join(builtin_names())}; default hackbench) "
        "or an rt-app JSON file",
    )
    p.add_argument("--cpus", type=int, default=2, help="simulated CPUs (default 2, as the VM)")
    p.add_argument(
        "--seconds",
        type=float,
        metavar="S",
        help="simulated time limit (default: the workload's duration, else 10)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="K", help="first seed (default 0)")
    p.add_argument(
        "--repeat", "-n", type=int, default=3, help="runs per side, seeds K, K+1, ... (default 3)"
    )
    param_option.add_argument(p)
    p.add_argument(
        "--engine",
        choices=("interp", "jit"),
        default="interp",
        help="run the policy in the IR interpreter (default, the reference semantics) or as "
        "native code compiled with llvmlite",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--json", metavar="OUT", help="also write the full report as JSON to OUT")
    p.add_argument(
        "--trace",
        metavar="OUT.json",
        help="write the first seed's policy run as Chrome/Perfetto trace-event JSON (one "
        "track per CPU; open it in ui.perfetto.dev or chrome://tracing)",
    )
    p.add_argument(
        "--plot",
        metavar="OUT.png",
        help="draw the first seed's run: per-CPU occupancy and the wakeup latency CDF against "
        "the default model's (matplotlib)",
    )


def _fail(message: str, code: int) -> int:
    print(f"schedlang sim: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    import schedlang
    from schedlang.errors import SchedlangError
    from schedlang.runtime.sim.rtapp import WorkloadError

    try:
        params = param_option.parse(args.param)
    except ValueError as exc:
        return _fail(str(exc), 2)
    if args.cpus < 1 or args.repeat < 1:
        return _fail("--cpus and --repeat must be at least 1", 2)
    if args.seconds is not None and args.seconds <= 0:
        return _fail("--seconds must be positive", 2)
    policy = Path(args.policy)
    if not policy.is_file():
        return _fail(f"{policy}: no such file", 2)
    try:
        report = schedlang.simulate(
            policy,
            args.workload,
            cpus=args.cpus,
            seconds=args.seconds,
            seeds=tuple(range(args.seed, args.seed + args.repeat)),
            params=dict(params),
            engine=args.engine,
            trace=args.trace is not None or args.plot is not None,
        )
    except SchedlangError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except WorkloadError as exc:
        return _fail(str(exc), 2)
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"{policy}: cannot read: {exc}", 2)
    print(report.to_json() if args.format == "json" else report.format_text())
    if args.json:
        Path(args.json).write_text(report.to_json() + "\n")
    if args.trace and report.trace is not None:
        Path(args.trace).write_text(json.dumps(report.trace) + "\n")
    if args.plot and report.first_runs is not None:
        from schedlang.runtime.sim import plot

        plot.render(plot.prepare(*report.first_runs), Path(args.plot))
    return 1 if report.ejected else 0

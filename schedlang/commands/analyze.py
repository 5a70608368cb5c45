"""`schedlang analyze --workload W`: profile a workload under the default scheduler.

Traces one run of the workload (in the sandbox VM with perf, or with `--sim` an rt-app model
on the simulated machine), and prints its WorkloadProfile (docs/agent.md, "Observe"): the
threads' run bursts, sleeps and wakeup latencies, the CPUs' busy share, the bottleneck with
the figures behind it, candidate SLOs, and an rt-app model `schedlang sim --workload` runs.
Exit codes (docs/cli.md): 0 profiled; 2 an unknown workload, an unreadable model file, or a
machine that cannot trace (no sandbox, no perf); 3 a bug.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schedlang.agent.profile import WorkloadProfile

HELP = "trace a workload under the default scheduler: its profile, bottleneck and rt-app model"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workload",
        "-w",
        required=True,
        metavar="NAME|FILE.json",
        help="a VM workload (as for `schedlang run`), or with --sim an rt-app model",
    )
    p.add_argument(
        "--sim",
        action="store_true",
        help="profile the simulated run of an rt-app model (shipped name or .json) instead",
    )
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the VM or simulated machine")
    p.add_argument("--seed", type=int, default=0, help="simulator seed (--sim only)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--out", metavar="FILE", help="also write the profile as JSON to FILE")
    p.add_argument(
        "--model", metavar="FILE", help="also write the rt-app model to FILE (for `sim -w FILE`)"
    )
    p.add_argument(
        "--keep-timehist",
        metavar="FILE",
        help="save the `perf sched timehist` text the VM profile was read from",
    )


def _fail(message: str, code: int = 2) -> int:
    print(f"schedlang analyze: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    from schedlang.agent.observe import observe
    from schedlang.runtime.sim.rtapp import WorkloadError
    from schedlang.runtime.trace_vm import TraceError
    from schedlang.runtime.workloads import UnknownWorkloadError

    if args.cpus < 1:
        return _fail("--cpus must be at least 1")
    if args.sim and args.keep_timehist:
        return _fail("--keep-timehist needs the VM (drop --sim)")
    progress = (lambda line: None) if args.format == "json" else _progress
    try:
        profile = observe(
            args.workload, sim=args.sim, cpus=args.cpus, seed=args.seed, progress=progress,
            keep_timehist=args.keep_timehist,
        )  # fmt: skip
    except UnknownWorkloadError as exc:
        hint = "" if args.sim else " (an rt-app model needs --sim)"
        return _fail(f"{exc}{hint}")
    except WorkloadError as exc:
        return _fail(str(exc))
    except TraceError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{args.workload}: cannot read: {exc}")
    print(profile.to_json() if args.format == "json" else format_text(profile))
    if args.out:
        Path(args.out).write_text(profile.to_json() + "\n")
    if args.model:
        Path(args.model).write_text(json.dumps(profile.rtapp, indent=2) + "\n")
    return 0


def _progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def _ms(us: float | None) -> str:
    return "-" if us is None else f"{us / 1000:.3f}"


def format_text(profile: WorkloadProfile) -> str:
    """The profile for a person: summary, bottleneck, SLOs, the busiest thread groups."""
    busy = ", ".join(f"cpu{c.cpu} {100 * c.busy:.0f}%" for c in profile.cpu_busy)
    c = profile.counts
    lines = [
        f"workload {profile.workload} ({profile.source}; {profile.tool})",
        f"traced {profile.duration_s:.3f} s on {profile.cpus} CPUs: {busy}; {c.threads} threads "
        f"in {c.processes} processes, {c.switches} switches, {c.wakeups} wakeups, "
        f"{c.migrations} migrations",
    ]
    if profile.metrics:
        shown = ", ".join(f"{k}={v:g}" for k, v in profile.metrics.items())
        lines.append(f"the run's own figures: {shown}")
    lines += ["", f"bottleneck: {profile.bottleneck.value}", f"  {profile.bottleneck_why}", ""]
    lines.append("candidate SLOs:")
    for slo in profile.slos:
        op = "<=" if slo.bound == "max" else ">="
        who = f"[{slo.task}]" if slo.task else ""
        kind = "hard" if slo.hard else "goal"
        lines.append(f"  {kind}: {slo.metric.value}{who} {op} {slo.value:g}  ({slo.why})")
    lines += ["", "thread groups by CPU time (ms; distributions of each group's busiest thread):"]
    lines.append(
        f"  {'comm':<16} {'n':>3} {'cpu':>9} {'run p50':>8} {'run p99':>8} {'sleep p50':>9} "
        f"{'wake p50':>8} {'wake p99':>8} {'wakeups':>7} {'migr':>5}"
    )
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(profile.threads):
        groups.setdefault(t.comm, []).append(i)
    ranked = sorted(
        groups.items(), key=lambda kv: -sum(profile.threads[i].run.total_us for i in kv[1])
    )
    for comm, members in ranked[:12]:
        ts = [profile.threads[i] for i in members]
        top = max(ts, key=lambda t: t.run.total_us)  # the busiest member stands for the group
        lines.append(
            f"  {comm[:16]:<16} {len(ts):>3} {_ms(sum(t.run.total_us for t in ts)):>9} "
            f"{_ms(top.run.p50_us):>8} {_ms(top.run.p99_us):>8} {_ms(top.sleep.p50_us):>9} "
            f"{_ms(top.wakeup_latency.p50_us):>8} {_ms(top.wakeup_latency.p99_us):>8} "
            f"{sum(t.wakeups for t in ts):>7} {sum(t.migrations for t in ts):>5}"
        )
    if len(ranked) > 12:
        lines.append(f"  ... {len(ranked) - 12} more groups (--format json has every thread)")
    tasks = profile.rtapp.get("tasks", {})
    lines += ["", f"rt-app model: {len(tasks)} tasks ({', '.join(tasks)}); write it with --model"]
    lines += [f"note: {n}" for n in profile.notes]
    return "\n".join(lines)

"""Simulator speed: scheduling events per second of host time, per policy and engine.

The workload is the issue's yardstick, 64 tasks on 8 CPUs: 32 tasks that run 100 µs and
sleep 300 µs, and 16 pairs handing a token back and forth with 20 µs of work per hand-off.
For each policy and engine (`interp`: the IR interpreter on the Python machine, the
reference; `jit`: the llvmlite JIT on the native machine, runtime/sim/native.py) it runs
`--repeat` seeds through `schedlang.simulate`, which times each policy run alone (`host_s`,
wall time of the machine's run; checking, compiling and the default model's side are
outside it). "ops" are the policy operations the machine called (the scheduling events the
issue counts), "events" the machine's own timed events (wakeups, completions, ticks). Per
policy and engine: median, min and max over the seeds; the load average is printed with
them because the host is shared and wall time counts whoever else ran. Prints JSON.

Usage: python3 bench/sim.py [--seconds 0.2] [--repeat 3] [--engine interp --engine jit]
                            [POLICY.sched ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

import schedlang

ROOT = Path(__file__).resolve().parents[1]
CPUS = 8
WORKLOAD = {
    "description": "bench/sim.py: 64 tasks on 8 CPUs (32 sleepers, 16 ping-pong pairs)",
    "tasks": {
        "sleeper": {"instance": 32, "run": 100, "sleep": 300},
        **{
            f"pair{i}-{side}": {"run": 20, "sync": {"ref": f"token{i}", "mutex": f"m{i}"}}
            for i in range(16)
            for side in ("a", "b")
        },
    },
}


def _rate(count: int, seconds: float | None) -> int | None:
    return round(count / seconds) if seconds else None


def _spread(values: list[int]) -> dict[str, int]:
    return {"median": round(statistics.median(values)), "min": min(values), "max": max(values)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=0.2, help="simulated seconds per run")
    ap.add_argument("--repeat", type=int, default=3, help="seeds per policy and engine")
    ap.add_argument("--engine", action="append", choices=("interp", "jit"))
    ap.add_argument("policies", nargs="*", type=Path)
    args = ap.parse_args()
    engines = args.engine or ["interp", "jit"]
    policies = args.policies or sorted((ROOT / "examples").glob("*.sched"))
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workload = Path(tmp) / "bench64.json"
        workload.write_text(json.dumps(WORKLOAD))
        for policy in policies:
            for engine in engines:
                report = schedlang.simulate(
                    policy,
                    str(workload),
                    cpus=CPUS,
                    seconds=args.seconds,
                    seeds=tuple(range(args.repeat)),
                    engine=engine,
                )
                runs = report.policy_runs
                ops = [r for r in (_rate(run.ops_calls, run.host_s) for run in runs) if r]
                events = [r for r in (_rate(run.machine_events, run.host_s) for run in runs) if r]
                rows.append(
                    {
                        "policy": runs[0].policy,
                        "engine": engine,
                        "ops": [run.ops_calls for run in runs],
                        "host_s": [round(run.host_s or 0.0, 4) for run in runs],
                        "ops_per_s": _spread(ops),
                        "events_per_s": _spread(events),
                        "exit": runs[0].exit["kind"],
                    }
                )
    by_policy: dict[str, dict[str, int]] = {}
    for row in rows:
        by_policy.setdefault(str(row["policy"]), {})[str(row["engine"])] = row["ops_per_s"][
            "median"
        ]  # type: ignore[index]
    speedup = {
        name: round(r["jit"] / r["interp"], 1)
        for name, r in by_policy.items()
        if "jit" in r and "interp" in r and r["interp"]
    }
    out = {
        "cpus": CPUS,
        "tasks": 64,
        "simulated_s": args.seconds,
        "seeds": args.repeat,
        "loadavg_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "jit_over_interp_ops_per_s": speedup,
        "runs": rows,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""Simulator speed: scheduling events per second of host time, per policy and engine.

The workload is the issue's yardstick, 64 tasks on 8 CPUs: 32 tasks that run 100 µs and
sleep 300 µs, and 16 pairs handing a token back and forth with 20 µs of work per hand-off,
for 1 s of simulated time. For each example policy, each engine (the IR interpreter and the
llvmlite JIT) and the default model, one seed's run is timed by `schedlang.simulate` itself
(`host_s`, the machine's run only: checking and compiling are outside it). "ops" are the
policy operations the machine called (the scheduling events), "events" the machine's own
timed events (wakeups, completions, ticks). Prints JSON.

Usage: python3 bench/sim.py [--seconds 1.0] [--engine interp --engine jit] [POLICY.sched ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
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


def _rate(count: int, seconds: float | None) -> float | None:
    return round(count / seconds) if seconds else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=1.0, help="simulated seconds per run")
    ap.add_argument("--engine", action="append", choices=("interp", "jit"))
    ap.add_argument("policies", nargs="*", type=Path)
    args = ap.parse_args()
    engines = args.engine or ["interp", "jit"]
    policies = args.policies or sorted((ROOT / "examples").glob("*.sched"))
    with tempfile.TemporaryDirectory() as tmp:
        workload = Path(tmp) / "bench64.json"
        workload.write_text(json.dumps(WORKLOAD))
        rows = []
        default_seen = False
        for policy in policies:
            for engine in engines:
                started = time.perf_counter()
                report = schedlang.simulate(
                    policy,
                    str(workload),
                    cpus=CPUS,
                    seconds=args.seconds,
                    seeds=(0,),
                    engine=engine,
                )
                wall = time.perf_counter() - started
                runs = [("policy", report.policy_runs[0])]
                if not default_seen:
                    runs.append(("default model", report.baseline_runs[0]))
                    default_seen = True
                for role, run in runs:
                    row: dict[str, object] = {
                        "policy": run.policy,
                        "engine": engine if role == "policy" else "python",
                        "ops": run.ops_calls,
                        "events": run.machine_events,
                        "host_s": round(run.host_s or 0.0, 3),
                        "ops_per_s": _rate(run.ops_calls, run.host_s),
                        "events_per_s": _rate(run.machine_events, run.host_s),
                        "exit": run.exit["kind"],
                    }
                    if role == "policy":  # check + compile + both sides' runs
                        row["simulate_wall_s"] = round(wall, 3)
                    rows.append(row)
    by_engine: dict[str, list[int]] = {}
    for row in rows:
        rate = row["ops_per_s"]
        if isinstance(rate, int):
            by_engine.setdefault(str(row["engine"]), []).append(rate)
    summary = {
        engine: {"median_ops_per_s": round(sorted(v)[len(v) // 2]), "runs": len(v)}
        for engine, v in by_engine.items()
    }
    out = {"cpus": CPUS, "tasks": 64, "simulated_s": args.seconds, "summary": summary}
    print(json.dumps({**out, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()

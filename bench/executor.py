"""Local against Ray on the same batch, side by side in one run: simulator jobs (no VM), each
one simulated run of a stdlib policy and of the default on a shipped workload model, and
empty tasks for the per-task overhead. Rounds alternate local and Ray; every round's
results must equal the first local round's (`identical`). Prints JSON.

Usage: python bench/executor.py [--jobs N] [--rounds R] [--noop M] [--cpus C] [--ray ADDRESS]

Without --ray a local Ray cluster with C CPUs is started (its start-up time is reported
apart, not in any round); with --ray the cluster at ADDRESS is used (docs/benchmark.md,
"Scaling out"). Needs Ray: pip install 'schedlang[ray]'.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

from schedlang.benchmark import executor as executors

POLICIES = ("latency_boost", "weighted_vtime", "least_loaded", "interactive")
WORKLOAD = "hackbench"
SIM_SECONDS = 1.0


def simulate_task(job: tuple[str, int], say: executors.Say) -> list[Any]:
    """One simulated run (seed `job[1]`) of a stdlib policy and the default: every metric's
    two values, which depend only on the policy, the model and the seed."""
    import schedlang
    from schedlang.stdlib import source

    policy, seed = job
    report = schedlang.simulate(source(policy), WORKLOAD, seeds=(seed,), seconds=SIM_SECONDS)
    return [
        [row.metric, list(row.baseline.values), list(row.policy.values)]
        for row in report.rows
        if row.baseline is not None and row.policy is not None
    ]


def noop_task(job: int, say: executors.Say) -> int:
    return job


def _spread(walls: list[float], tasks: int) -> dict[str, Any]:
    return {
        "wall_s": [round(w, 3) for w in walls],
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "max_s": round(max(walls), 3),
        "tasks_per_s_median": round(tasks / statistics.median(walls), 2),
    }


def _timed(executor: executors.Executor, task: Any, jobs: list[Any]) -> tuple[float, list[Any]]:
    t = time.perf_counter()
    results = executors.run_all(executor, task, jobs, lambda _event: None)
    return time.perf_counter() - t, results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=16, help="simulator jobs per round (default 16)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds a side (default 3)")
    ap.add_argument("--noop", type=int, default=200, help="empty tasks for the overhead")
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 1,
                    help="CPUs of the local Ray cluster (default: this machine's)")  # fmt: skip
    ap.add_argument("--ray", metavar="ADDRESS", help="use this cluster instead of a local one")
    args = ap.parse_args()

    try:
        import ray
    except ImportError:
        print("bench/executor.py needs Ray: pip install 'schedlang[ray]'", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    t = time.perf_counter()
    if args.ray:
        ray.init(address=args.ray, include_dashboard=False, configure_logging=False)
    else:
        ray.init(num_cpus=args.cpus, include_dashboard=False, configure_logging=False)
    cluster_start_s = time.perf_counter() - t
    local: executors.Executor = executors.LocalExecutor()
    on_ray: executors.Executor = executors.RayExecutor(args.ray)  # uses the cluster above

    jobs = [(POLICIES[n % len(POLICIES)], n // len(POLICIES)) for n in range(args.jobs)]
    walls: dict[str, list[float]] = {"local": [], "ray": []}
    reference: list[Any] | None = None
    identical = True
    for _ in range(args.rounds):
        for name, executor in (("local", local), ("ray", on_ray)):
            wall, results = _timed(executor, simulate_task, jobs)
            walls[name].append(wall)
            reference = reference if reference is not None else results
            identical = identical and results == reference

    noop = list(range(args.noop))
    noop_local, _ = _timed(local, noop_task, noop)
    noop_ray, noop_results = _timed(on_ray, noop_task, noop)
    identical = identical and noop_results == noop
    resources = ray.cluster_resources()
    ray.shutdown()

    ray_median = statistics.median(walls["ray"])
    print(
        json.dumps(
            {
                "batch": {
                    "jobs": args.jobs,
                    "kind": f"simulate stdlib policy vs default, {WORKLOAD}, 1 seed, "
                    f"{SIM_SECONDS} s simulated",
                    "policies": list(POLICIES),
                    "rounds_a_side": args.rounds,
                },
                "host": {
                    "cores": os.cpu_count(),
                    "load_before": [round(x, 2) for x in load_before],
                    "load_after": [round(x, 2) for x in os.getloadavg()],
                },
                "ray": {
                    "version": ray.__version__,
                    "address": args.ray or "local",
                    "cluster_cpus": resources.get("CPU"),
                    "nodes": sum(1 for k in resources if k.startswith("node:"))
                    - ("node:__internal_head__" in resources),
                    "cluster_start_s": round(cluster_start_s, 2),
                },
                "local": _spread(walls["local"], args.jobs),
                "on_ray": _spread(walls["ray"], args.jobs),
                "speedup_median": round(statistics.median(walls["local"]) / ray_median, 3),
                "per_task_overhead_ms": {
                    "tasks": args.noop,
                    "local": round(noop_local / max(args.noop, 1) * 1000, 3),
                    "ray": round(noop_ray / max(args.noop, 1) * 1000, 3),
                },
                "identical": identical,
            },
            indent=2,
        )
    )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())

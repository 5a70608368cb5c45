"""Small result bundles for the bundle and report tests, written by hand to scores.json
schema 1 or, with phase 1's goals, schema 2 (the runner's format, docs/benchmark.md) so they
do not depend on running a suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schedlang.version import __version__


def _metric(name: str, direction: str, baseline: list[float], agent: list[float], i: float,
            interval: list[float], wide: bool = False, alpha: float = 1.0) -> dict[str, Any]:  # fmt: skip
    unit = "ms" if direction == "lower" else "ops/s"
    return {"name": name, "unit": unit, "direction": direction, "alpha": alpha,
            "baseline": baseline, "agent": agent, "I": i, "interval": interval, "wide": wide}  # fmt: skip


def scores(agent: str = "offline", track: str = "T1", score: float = 2.137) -> dict[str, Any]:
    """Three workloads: one that gains, one held out, one whose hard SLO failed (scored 0)."""
    return {
        "schema": 1,
        "track": track,
        "agent": agent,
        "quick": True,
        "created": "2026-11-30T14:00:00+00:00",
        "score": score,
        "score_held_out": 0.912,
        "budget": {"wall_s": 412.5, "vm_runs": 18, "tokens": 0, "overuse": 0.0, "lambda": 0.5},
        "workloads": [
            {
                "name": "hackbench",
                "category": "latency",
                "held_out": False,
                "policy": "fifo_slice",
                "params": {"slice": "3ms"},
                "slos": [
                    {
                        "metric": "time",
                        "bound": 1.1,
                        "relative": True,
                        "value": 0.83,
                        "met": True,
                        "hard": True,
                    },  # fmt: skip
                ],
                "slos_met": True,
                "metrics": [
                    _metric(
                        "time",
                        "lower",
                        [1.21, 1.25, 1.19, 1.3, 1.22],
                        [1.01, 0.98, 1.05, 1.0, 1.02],
                        1.225,
                        [1.16, 1.29],
                    ),  # fmt: skip
                ],
                "weighted": 1.225,
            },
            {
                "name": "xz-corpus",
                "category": "batch",
                "held_out": True,
                "policy": None,
                "params": {},
                "slos": [],
                "slos_met": True,
                "metrics": [
                    _metric(
                        "throughput",
                        "higher",
                        [10.0, 10.4, 9.9, 10.1, 10.2],
                        [9.2, 9.4, 9.1, 9.3, 9.0],
                        0.912,
                        [0.87, 0.95],
                    ),  # fmt: skip
                ],
                "weighted": 0.912,
            },
            {
                "name": "nginx-<wrk>",
                "category": "server",
                "held_out": False,
                "policy": "weighted_vtime",
                "params": {},
                "slos": [
                    {
                        "metric": "p99",
                        "bound": 20.0,
                        "relative": False,
                        "value": 31.5,
                        "met": False,
                        "hard": True,
                    },  # fmt: skip
                ],
                "slos_met": False,
                "metrics": [
                    _metric(
                        "p99",
                        "lower",
                        [18.0, 19.5, 18.2, 18.9, 19.1],
                        [30.1, 31.5, 29.8, 33.0, 31.2],
                        0.603,
                        [0.51, 0.72],
                        wide=True,
                    ),  # fmt: skip
                ],
                "weighted": 0.0,
            },
        ],
        "machine": {"cpu_model": "AMD EPYC", "cores": 2},
        "versions": {"schedlang": __version__},
    }


def with_goals(data: dict[str, Any]) -> dict[str, Any]:
    """`data` as schema 2: phase 1 graded on every workload (one exact, one a miss, one of
    the family), its mean as the goal score, none held out but xz-corpus."""

    def goal(stated: str | None, reference: str, metric: float, floors: float) -> dict[str, Any]:
        def plain(text: str) -> dict[str, Any]:
            verb, name = text.split(" ")
            return {"metric": name, "direction": "lower" if verb == "cut" else "higher",
                    "slos": [], "text": text}  # fmt: skip

        return {"stated": plain(stated) if stated else None, "reference": plain(reference),
                "metric": metric, "floors": floors, "grade": 0.7 * metric + 0.3 * floors}  # fmt: skip

    graded = [goal("cut time", "cut time", 1.0, 1.0), goal(None, "raise throughput", 0.0, 0.0),
              goal("cut time", "raise throughput", 0.5, 1.0)]  # fmt: skip
    workloads = [{**w, "goal": g} for w, g in zip(data["workloads"], graded, strict=True)]
    # where each goal's profile came from (the third: a bundle from before profiles were kept)
    shown = [{"source": "vm", "traced": "hackbench", "bottleneck": "cpu-saturated",
              "note": "traced hackbench in the VM"},
             {"source": "sim", "traced": "stress-cpu", "bottleneck": "none",
              "note": "asked for (--profiles sim): the simulator's model stress-cpu"}]  # fmt: skip
    for w, profile in zip(workloads, shown, strict=False):
        w["profile"] = profile
    return {**data, "schema": 2, "workloads": workloads,
            "goal_score": (1.0 + 0.65) / 2, "goal_score_held_out": 0.0}  # fmt: skip


def make_result_dir(root: Path, name: str = "run", goals: bool = False, **kwargs: Any) -> Path:
    """A result directory as the runner leaves it before sealing (`goals`: schema 2)."""
    d = root / name
    (d / "raw").mkdir(parents=True)
    (d / "policies").mkdir()
    data = with_goals(scores(**kwargs)) if goals else scores(**kwargs)
    (d / "scores.json").write_text(json.dumps(data, indent=2))
    (d / "raw" / "hackbench.txt").write_text("Time: 1.01\nTime: 0.98\n")
    (d / "raw" / "xz-corpus.txt").write_text("throughput 9.2\n")
    (d / "policies" / "fifo_slice.sched").write_text("scheduler fifo_slice {}\n")
    return d

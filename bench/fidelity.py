"""Simulator fidelity: does the simulator rank policies as the VM does?

For every stdlib policy and every example, on rt-app workloads that run both in the simulator
and in the VM (the same files, runtime/sim/workloads/, run in the guest by the real rt-app,
`rt-app:NAME`; the same CPU count, 2), one figure per workload is taken as a ratio against
the default scheduler: in the simulator against its default model (seeds 0, 1, 2), in the VM
against the real kernel in the same boot (`measure.run_each`, all policies in ONE boot). The
Spearman rank correlation (scipy) between the two columns of ratios, per workload and over
all pairs, says how far a ranking found in the simulator holds in the kernel.

A figure a side could not produce (a makespan of a pair that never finished in the run's
duration, an ejected policy) is taken at its cap, the workload's duration, so it ranks as the
worst rather than dropping out: the rank of a policy that never finishes is a finding.

Progress goes to stderr, one line per step; the JSON (per policy and workload: both ratios
and the raw values, n per side; the correlations) to --json and stdout. The VM part is long
under TCG (about 3 runs x 3 workloads x 2-3 s per policy); `--vm-results FILE` reuses the
`vm` section of an earlier output instead of booting.

Usage: python3 bench/fidelity.py [--repeat 1] [--json OUT] [--vm-results PREVIOUS.json]
                                 [--skip-vm] [POLICY.sched ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scipy.stats import spearmanr

import schedlang

ROOT = Path(__file__).resolve().parents[1]
CPUS = 2  # the sandbox's vCPUs
SEEDS = (0, 1, 2)
# The figure per workload, by its name in both the simulator and the rt-app log parser.
FIGURES = {
    "cyclictest": "wakeup_p99_us",  # timer wakeups of the periodic threads
    "pipe": "makespan_s",  # 1000 hand-offs of a pair
    "mix": "makespan_s",  # the same pair while a hog per CPU runs
}


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _cap(workload: str) -> float:
    """The workload's `global.duration` (s): rt-app stops every thread then."""
    model = json.loads((ROOT / "runtime/sim/workloads" / f"{workload}.json").read_text())
    duration = model["global"].get("duration", -1)
    return float(duration) if duration > 0 else 10.0  # pipe has none: the simulator's own end


def _ratio(policy: list[float], base: list[float]) -> float | None:
    if not policy or not base or statistics.median(base) == 0:
        return None
    return statistics.median(policy) / statistics.median(base)


def simulate(policies: list[Path]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for policy in policies:
        out[policy.stem] = {}
        for workload, figure in FIGURES.items():
            started = time.perf_counter()
            report = schedlang.simulate(policy, workload, cpus=CPUS, seeds=SEEDS)
            sides = []
            for runs in (report.policy_runs, report.baseline_runs):
                values = [getattr(r, figure) for r in runs]
                sides.append([_cap(workload) if v is None else float(v) for v in values])
            out[policy.stem][workload] = {
                "policy": sides[0],
                "baseline": sides[1],
                "ratio": _ratio(sides[0], sides[1]),
                "ejected": report.ejected,
            }
            _say(
                f"sim {policy.stem} {workload}: ratio {out[policy.stem][workload]['ratio']} "
                f"({time.perf_counter() - started:.1f}s)"
            )
    return out


def measure_vm(policies: list[Path], repeat: int) -> dict[str, Any]:
    artifacts = []  # (file stem, artifact): results are keyed by file, as the simulator's
    compile_errors = {}
    with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp:
        for policy in policies:
            try:
                artifact = schedlang.compile(policy, outdir=Path(tmp) / policy.stem)
                artifacts.append((policy.stem, artifact))
            except Exception as exc:  # reported per policy; the others still run
                compile_errors[policy.stem] = str(exc).splitlines()[0]
                _say(f"vm {policy.stem}: does not compile: {compile_errors[policy.stem]}")
        names = tuple(f"rt-app:{w}" for w in FIGURES)
        started = time.perf_counter()
        reports = schedlang.run_each(
            [(a, None) for _, a in artifacts],
            workloads=names,
            repeat=repeat,
            progress=lambda s: _say(s),
        )
    out: dict[str, Any] = {
        "repeat": repeat,
        "seconds": round(time.perf_counter() - started, 1),
        "compile_errors": compile_errors,
        "boot": reports[0].boot if reports else None,
        "policies": {},
    }
    for (stem, _), report in zip(artifacts, reports, strict=False):
        per: dict[str, Any] = {}
        for workload, figure in FIGURES.items():
            sides: dict[str, list[float]] = {"policy": [], "baseline": []}
            for run in report.runs:
                if run.workload != f"rt-app:{workload}" or run.index < 0:
                    continue
                if run.rc == 0 and run.error is None:
                    value = run.metrics.get(figure)
                    sides[run.side].append(_cap(workload) if value is None else value)
                elif run.side == "policy":  # ejected or failed under the policy: the cap
                    sides["policy"].append(_cap(workload))
            per[workload] = {**sides, "ratio": _ratio(sides["policy"], sides["baseline"])}
        per["events"] = [e.kind for e in report.events]
        out["policies"][stem] = per
    return out


def correlate(sim: dict[str, Any], vm: dict[str, Any]) -> dict[str, Any]:
    """Spearman's rho per workload and over all (policy, workload) pairs, with n."""
    table: dict[str, Any] = {}
    all_s: list[float] = []
    all_v: list[float] = []
    for workload in FIGURES:
        s_col, v_col = [], []
        for name, per in sim.items():
            v = vm["policies"].get(name, {}).get(workload, {}).get("ratio")
            s = per[workload]["ratio"]
            if s is not None and v is not None:
                s_col.append(s)
                v_col.append(v)
        all_s += s_col
        all_v += v_col
        table[workload] = _rho(s_col, v_col)
    table["all"] = _rho(all_s, all_v)
    return table


def _rho(a: list[float], b: list[float]) -> dict[str, Any]:
    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return {"n": len(a), "rho": None, "p": None}
    result = spearmanr(a, b)
    return {"n": len(a), "rho": round(float(result.statistic), 3), "p": float(result.pvalue)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=1, help="VM runs per side per workload")
    ap.add_argument("--json", type=Path, help="write the JSON here too")
    ap.add_argument("--vm-results", type=Path, help="reuse the 'vm' section of this output")
    ap.add_argument("--skip-vm", action="store_true", help="the simulator's column only")
    ap.add_argument("policies", nargs="*", type=Path)
    args = ap.parse_args()
    policies = args.policies or sorted((ROOT / "stdlib").glob("*.sched")) + sorted(
        (ROOT / "examples").glob("*.sched")
    )
    result: dict[str, Any] = {"cpus": CPUS, "seeds": list(SEEDS), "figures": FIGURES}
    result["sim"] = simulate(policies)
    if args.vm_results is not None:
        result["vm"] = json.loads(args.vm_results.read_text())["vm"]
    elif not args.skip_vm:
        result["vm"] = measure_vm(policies, args.repeat)
    if "vm" in result:
        result["spearman"] = correlate(result["sim"], result["vm"])
    text = json.dumps(result, indent=2, default=str)
    if args.json is not None:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

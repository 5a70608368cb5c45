"""The simulator's stall/ejection verdict on every policy of a VM fuzz campaign, against the VM's.

`schedlang fuzz --vm` logs one JSON line per seed (docs/fuzzing.md): whether the kernel
ejected the policy while it ran a small hackbench beside stress-ng, and how. This runs the
same seeds' policies (`schedlang.fuzzgen.generate_text(seed)`, checked, IR interpreter) on
the simulated machine with the watchdog the VM had (5 s, the compiler's default) and puts
the two verdicts side by side: a confusion matrix of clean / stall / error.

The simulated workload stands for the guest's (`hackbench -g 2 -f 4 -l 10` beside
`stress-ng --cpu 2 --cpu-load 20`): two groups of 4 sender/receiver pairs handing the CPU
back and forth through barriers 40 times (a wakeup per hand-off, as hackbench's reads), and
two hogs at 20 % duty (2 ms of work every 10 ms), all finite so the run ends when the
pairs do, as the guest's did, or at the watchdog. Seeds the checker rejected in the campaign
are skipped (neither side ran them); a seed the checker rejects now is counted apart.

Only the policy's side runs (the verdict needs no default model), on machine.py with an
event budget: a run that has not ended after `MAX_EVENTS` machine events (a policy that keeps
a CPU re-picking) is the verdict "spin", with the simulated time it reached, deterministic
where the old host-time cut was not.

Usage: python3 bench/fuzz_sim.py CAMPAIGN.jsonl [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from schedlang.backends.interp import compile_for_sim
from schedlang.compiler import check
from schedlang.fuzzgen import generate_text
from schedlang.runtime.sim import rtapp
from schedlang.runtime.sim.machine import Machine

CPUS = 2
SECONDS = 8.0  # past the 5 s watchdog's third check (every 2.5 s): a stall from t=0 shows
# Machine events per run: about 40 times what a policy that lets the pairs finish needs
# (12-28k events), some 20 s of host time for the interpreter.
MAX_EVENTS = 1_000_000


def _pair(group: int, i: int) -> dict[str, Any]:
    a, b = f"g{group}p{i}a", f"g{group}p{i}b"
    return {
        f"g{group}-send{i}": {
            "loop": 40,
            "run": 20,
            "barrier1": a,
            "barrier2": b,
        },
        f"g{group}-recv{i}": {"loop": 40, "barrier1": a, "run": 5, "barrier2": b},
    }


WORKLOAD = {
    "description": "bench/fuzz_sim.py: the fuzz campaign's hackbench beside stress-ng",
    "tasks": {
        **{k: v for g in range(2) for i in range(4) for k, v in _pair(g, i).items()},
        "stress": {"instance": 2, "loop": 50, "run": 2000, "sleep": 8000},
    },
}


def vm_verdict(record: dict[str, Any]) -> str | None:
    """clean / stall / error from a campaign line; None when the kernel never ran it."""
    outcome = record.get("outcome")
    if outcome == "ok":
        return "clean"
    if outcome == "ejected":
        kind = (record.get("exit") or {}).get("kind", "")
        return "stall" if kind == "ERROR_STALL" else "error"
    if outcome == "hang":
        return "stall"
    return None  # check-rejected, compile-failed, verifier-rejected: nothing ran


def sim_verdict(seed: int, model: rtapp.Workload) -> tuple[str, dict[str, Any]]:
    """clean / stall / error / spin (the budget ran out first) / check-rejected-now, and the
    run's size (simulated seconds, machine events, policy calls)."""
    checked, _ = check(generate_text(seed))
    if checked is None:
        return "check-rejected-now", {}
    result = Machine(
        compile_for_sim(checked), model, CPUS, seconds=SECONDS, seed=0, max_events=MAX_EVENTS
    ).run()
    size = {
        "sim_s": result.end_ns / 1e9,
        "events": result.machine_events,
        "calls": result.ops_calls,
    }
    if result.exit.ejected:
        return ("stall" if result.exit.kind_name == "ERROR_STALL" else "error"), size
    return ("spin" if result.out_of_events else "clean"), size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("campaign", type=Path, help="a `schedlang fuzz --vm --log` JSONL file")
    ap.add_argument("--limit", type=int, help="only the first N seeds of the log")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    path = Path(tempfile.mkdtemp(prefix="fuzz-sim-")) / "fuzz-hackbench.json"
    path.write_text(json.dumps(WORKLOAD))
    model = rtapp.load(str(path))
    records = [json.loads(line) for line in args.campaign.read_text().splitlines() if line]
    records.sort(key=lambda r: r["seed"])
    if args.limit is not None:
        records = records[: args.limit]
    pairs: Counter[tuple[str, str]] = Counter()
    per_seed = {}
    started = time.perf_counter()
    for n, record in enumerate(records, 1):
        vm = vm_verdict(record)
        if vm is None:
            continue
        sim, size = sim_verdict(record["seed"], model)
        pairs[(vm, sim)] += 1
        per_seed[record["seed"]] = {"vm": vm, "sim": sim, **size}
        print(
            f"[{n}/{len(records)}] seed {record['seed']}: vm {vm}, sim {sim} {size} "
            f"({time.perf_counter() - started:.0f}s)",
            file=sys.stderr,
            flush=True,
        )
    labels = ("clean", "stall", "error")
    result = {
        "campaign": str(args.campaign),
        "seeds": len(per_seed),
        "matrix": {
            vm: {sim: pairs[(vm, sim)] for sim in (*labels, "spin", "check-rejected-now")}
            for vm in labels
        },
        "disagreements": {s: v for s, v in per_seed.items() if v["vm"] != v["sim"]},
        "max_events": MAX_EVENTS,
        "host_s": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(result, indent=2)
    if args.json is not None:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

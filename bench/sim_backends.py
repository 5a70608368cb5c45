"""The simulator's two policy backends side by side: call cost per callback, compile time.

Prints JSON. For every example and library policy, each backend (`interp`: the IR
interpreter; `jit`: llvmlite native code) is compiled `--repeat` times (median and range of
the compile time, IR -> callable policy), then each operation the policy implements is
called in `--rounds` rounds of `--calls` calls against a minimal Host (constant answers, a
clock that ticks), rotating over a few tasks; a round's time / calls is one sample of the
cost of one call, Host calls included (each one a ctypes callback from native code). Times
are this process's CPU time (`time.process_time_ns`), not wall time: on a shared, loaded
machine wall time counts whoever else ran, CPU time only the work measured. The summary
gives, per backend, the median over every (policy, operation) of those per-call medians,
and the median and range of the interp/jit ratios.

Usage: python bench/sim_backends.py [--repeat N] [--rounds N] [--calls N] [--policy NAME]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class NullHost:
    """A Host that answers at once: the cost measured is the policy's, plus the crossing."""

    nr_cpus = 8

    def __init__(self) -> None:
        self.clock = 1_000_000

    def now(self) -> int:
        self.clock += 1_000
        return self.clock

    def create_dsq(self, dsq_id: int, vtime_ordered: bool) -> None:
        pass

    def default_cpu(self, task: Any, prev: int, wake_flags: int) -> tuple[int, bool]:
        return prev, True

    def insert(self, task: Any, dsq_id: int, slice_ns: int, vtime: int | None, flags: int) -> bool:
        return True

    def move_to_local(self, dsq_id: int, cpu: int) -> bool:
        return True

    def queued(self, dsq_id: int) -> int:
        return 1

    def kick(self, cpu: int, mode: str | None) -> None:
        pass

    def cpu_allowed(self, task: Any, cpu: int) -> bool:
        return True


def _stats(samples: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(samples), 3),
        "min": round(min(samples), 3),
        "max": round(max(samples), 3),
    }


def _args(op: str, task: Any, i: int) -> tuple[Any, ...]:
    from schedlang.callbacks import CALLBACKS
    from schedlang.types import Type

    out: list[Any] = []
    for t in CALLBACKS[op].params:
        if t is Type.TASK:
            out.append(task)
        elif t is Type.CPU:
            out.append(i % NullHost.nr_cpus)
        elif t is Type.BOOL:
            out.append(i % 2 == 0)
        else:
            out.append(0)
    return tuple(out)


def _call_cost_ns(policy: Any, op: str, rounds: int, calls: int) -> list[float]:
    from schedlang.sim_abi import SimTask

    host = NullHost()
    tasks = [SimTask(pid=100 + i, tgid=100, comm=f"worker{i}", cpu=i % 8) for i in range(4)]
    arglists = [_args(op, tasks[i % len(tasks)], i) for i in range(calls)]
    samples = []
    for _ in range(rounds):
        t0 = time.process_time_ns()
        for args in arglists:
            policy.call(op, host, *args)
        samples.append((time.process_time_ns() - t0) / calls)
    return samples


def _compile_ms(compile_: Callable[[Any], Any], checked: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.process_time_ns()
        compile_(checked)
        out.append((time.process_time_ns() - t0) / 1e6)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5, help="compiles per backend and policy")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--policy", action="append", help="only these policies (by name)")
    args = ap.parse_args()

    from schedlang.backends import interp, llvm
    from schedlang.checker import check_source
    from schedlang.source import SourceFile

    backends = {"interp": interp.compile_for_sim, "jit": llvm.compile_for_sim}
    paths = sorted((ROOT / "examples").glob("*.sched")) + sorted((ROOT / "stdlib").glob("*.sched"))
    results = []
    per_call: dict[str, list[float]] = {name: [] for name in backends}
    ratios: list[float] = []
    for path in paths:
        if args.policy and path.stem not in args.policy:
            continue
        checked, _ = check_source(SourceFile(str(path.relative_to(ROOT)), path.read_text()))
        assert checked is not None, path
        row: dict[str, Any] = {"policy": checked.program.name, "compile_ms": {}, "call_ns": {}}
        compiled = {}
        for name, compile_ in backends.items():
            row["compile_ms"][name] = _stats(_compile_ms(compile_, checked, args.repeat))
            compiled[name] = compile_(checked)
            compiled[name].call("init", NullHost())
        for op in sorted(compiled["jit"].ops - {"init"}):
            costs = {
                name: _stats(_call_cost_ns(policy, op, args.rounds, args.calls))
                for name, policy in compiled.items()
            }
            ratio = costs["interp"]["median"] / costs["jit"]["median"]
            costs["interp_over_jit"] = round(ratio, 2)  # type: ignore[assignment]
            row["call_ns"][op] = costs
            ratios.append(ratio)
            for name in backends:
                per_call[name].append(costs[name]["median"])
        results.append(row)
    summary = {
        "call_ns_median": {name: round(statistics.median(v), 1) for name, v in per_call.items()},
        "interp_over_jit": _stats(ratios),
        "compile_ms_median": {
            name: round(statistics.median(r["compile_ms"][name]["median"] for r in results), 2)
            for name in backends
        },
        "compile_ms_max": {
            name: round(max(r["compile_ms"][name]["median"] for r in results), 2)
            for name in backends
        },
    }
    print(json.dumps({"summary": summary, "policies": results}, indent=2))


if __name__ == "__main__":
    main()

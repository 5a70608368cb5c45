"""Checker scaling: time of each stage on generated policies of N `if`s, median of repeats.

Prints JSON: per size, the median seconds of parse, typecheck and every rule of
`passes.RULES` (and their sum, `check`, with its min and max over the repeats), and the
ratio of the largest size's time to the smallest's per `if` (near 1 means linear). On a
shared machine wall time mostly measures the other processes, so `check_cpu` (this
process's CPU time for the same rules) is reported beside it.
Two shapes (`--shape`):
* `ifs`: `enqueue` with N `if`s in a row (half on a local, half on a task field) and one
  insert, the shape of a 1 MB generated file at N = 30,000 (default sizes 1000,3000,10000;
  30000 fits the 1 MB limit too, but the parser alone then takes a minute or more);
* `bools`: finding #22's probe (docs/adversarial-findings.md): N bool locals `let bI = p &
  BIT != 0`, each tested by `if bI { g += 1 }`, then the placed-flag chain `if bI and not
  placed { insert ...  placed = true }` and `if not placed { insert ... }`: N locals alive
  across 2N joins (default sizes 100,200,400,800).
Usage: python bench/checker_scale.py [--shape ifs|bools] [--sizes 1000,3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def policy(n: int) -> str:
    ifs = "".join(
        f"if w == {i % 97} {{ h += 1 }}\n" if i % 2 else f"if t.pid == {i % 89} {{ h += 1 }}\n"
        for i in range(n)
    )  # compact, so that 30,000 of them fit under the 1 MB input limit
    return (
        'scheduler many "generated" {\nvar h: u64 = 0\n'
        f"on enqueue(t, flags) {{\nlet w = t.weight\n{ifs}insert t into global\n}}\n}}\n"
    )


def bools(n: int) -> str:
    """Finding #22's probe: bit I of param pJ in local bI, tested twice (checked clean)."""
    params = "".join(f"param p{j}: u64 = 0 in 0..65535\n" for j in range((n + 15) // 16))
    queues = "".join(f"queue q{k}: fifo\n" for k in range(4))
    tests = "".join(
        f"let b{i} = p{i // 16} & {1 << (i % 16)} != 0\nif b{i} {{ g += 1 }}\n" for i in range(n)
    )
    chain = "".join(
        f"if b{i} and not placed {{\ninsert t into q{i % 4}\nplaced = true\n}}\n" for i in range(n)
    )
    moves = "".join(f"move_to_local(q{k})\n" for k in range(4))
    return (
        f'scheduler bools "finding 22" {{\n{params}{queues}var g: u64 = 0\n'
        f"on enqueue(t, flags) {{\n{tests}let placed = false\n{chain}"
        "if not placed {\ninsert t into global\n}\n}\n"
        f"on dispatch(c) {{\n{moves}}}\n}}\n"
    )


SHAPES = {"ifs": (policy, "1000,3000,10000"), "bools": (bools, "100,200,400,800")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="ifs")
    ap.add_argument("--sizes", help="comma-separated N (default: by shape)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    generate, default_sizes = SHAPES[args.shape]

    from schedlang.diagnostics import Diagnostics
    from schedlang.passes import RULES, typecheck
    from schedlang.source import SourceFile
    from schedlang.syntax import parse_source

    out: dict[str, object] = {}
    for n in [int(x) for x in (args.sizes or default_sizes).split(",")]:
        source = SourceFile(f"{args.shape}{n}.sched", generate(n))
        samples: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            diags = Diagnostics(source)
            t = time.perf_counter()
            tree = parse_source(source, diags)
            samples.setdefault("parse", []).append(time.perf_counter() - t)
            assert tree is not None, [d.message for d in diags]
            t = time.perf_counter()
            program = typecheck.run(tree, diags, path=source.path, max_cpus=64)
            samples.setdefault("typecheck", []).append(time.perf_counter() - t)
            assert program is not None
            check, cpu = 0.0, time.process_time()
            for name, rule in RULES:
                t = time.perf_counter()
                rule(program, diags)
                took = time.perf_counter() - t
                samples.setdefault(name, []).append(took)
                check += took
            samples.setdefault("check", []).append(check)
            samples.setdefault("check_cpu", []).append(time.process_time() - cpu)
            assert not diags.has_errors, [d.message for d in diags]
        out[str(n)] = {
            "bytes": len(source.text.encode()),
            "median_s": {k: round(statistics.median(v), 4) for k, v in samples.items()},
            "check_min_max_s": [round(min(samples["check"]), 4), round(max(samples["check"]), 4)],
            "check_cpu_min_max_s": [
                round(min(samples["check_cpu"]), 4),
                round(max(samples["check_cpu"]), 4),
            ],
        }
    sizes = sorted(int(k) for k in out)
    if len(sizes) > 1:
        small, large = out[str(sizes[0])], out[str(sizes[-1])]
        assert isinstance(small, dict) and isinstance(large, dict)
        scale = sizes[-1] / sizes[0]
        out["per_if_growth"] = {
            k: round(large["median_s"][k] / max(small["median_s"][k], 1e-6) / scale, 2)
            for k in large["median_s"]
        }
    print(json.dumps({"shape": args.shape, "repeat": args.repeat, **out}, indent=2))


if __name__ == "__main__":
    main()

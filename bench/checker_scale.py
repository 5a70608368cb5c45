"""Checker scaling: time of each stage on generated policies of N `if`s, median of repeats.

Prints JSON: per size, the median seconds of parse, typecheck and every rule of
`passes.RULES`, and the ratio of the largest size's rule time to the smallest's per `if`
(near 1 means linear). The policy is `enqueue` with N `if`s in a row (half on a local,
half on a task field) and one insert, the shape of a 1 MB generated file at N = 30,000.
Usage: python bench/checker_scale.py [--sizes 1000,3000,10000] [--repeat 3]
(30000 fits the 1 MB limit too, but the parser alone then takes a minute or more.)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,3000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from schedlang.diagnostics import Diagnostics
    from schedlang.passes import RULES, typecheck
    from schedlang.source import SourceFile
    from schedlang.syntax import parse_source

    out: dict[str, object] = {}
    for n in [int(x) for x in args.sizes.split(",")]:
        source = SourceFile(f"many{n}.sched", policy(n))
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
            for name, rule in RULES:
                t = time.perf_counter()
                rule(program, diags)
                samples.setdefault(name, []).append(time.perf_counter() - t)
        out[str(n)] = {
            "bytes": len(source.text.encode()),
            "median_s": {k: round(statistics.median(v), 4) for k, v in samples.items()},
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
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""Safety-rule speed: median time of each checker rule (schedlang.passes.RULES) per program.

Prints JSON. Goal: all rules together well under 10 ms per example (the whole parse+check
budget of issue 2; bench/frontend.py measures that). Programs: examples/ and stdlib/.
Usage: python bench/rules.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()

    from schedlang.checker import DEFAULT_MAX_CPUS
    from schedlang.diagnostics import Diagnostics
    from schedlang.passes import RULES, typecheck
    from schedlang.source import SourceFile
    from schedlang.syntax import parse_source

    out: dict[str, object] = {}
    for path in sorted([*ROOT.glob("examples/*.sched"), *ROOT.glob("stdlib/*.sched")]):
        source = SourceFile(str(path.relative_to(ROOT)), path.read_text())
        diags = Diagnostics(source)
        tree = parse_source(source, diags)
        program = (
            typecheck.run(tree, diags, path=source.path, max_cpus=DEFAULT_MAX_CPUS)
            if tree
            else None
        )
        if program is None:
            out[source.path] = {"error": "does not typecheck"}
            continue
        per_rule: dict[str, list[float]] = {name: [] for name, _ in RULES}
        totals: list[float] = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            for name, rule in RULES:
                t0 = time.perf_counter()
                rule(program, Diagnostics(source))
                per_rule[name].append(time.perf_counter() - t0)
            totals.append(time.perf_counter() - start)
        out[source.path] = {
            "all_rules_ms": round(statistics.median(totals) * 1000, 3),
            **{f"{n}_ms": round(statistics.median(v) * 1000, 3) for n, v in per_rule.items()},
        }
    worst = max(
        (v["all_rules_ms"] for v in out.values() if isinstance(v, dict) and "all_rules_ms" in v),
        default=0,
    )
    print(
        json.dumps({"repeat": args.repeat, "worst_all_rules_ms": worst, "programs": out}, indent=2)
    )


if __name__ == "__main__":
    main()

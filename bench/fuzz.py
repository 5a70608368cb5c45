"""Fuzzing throughput: generated policies per second, the checker's acceptance rate of them,
check time per policy and compile (codegen + clang) time per policy, as medians. Prints JSON.

Usage: python bench/fuzz.py [--count N] [--compile M]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time


def _ms(samples: list[float]) -> float | None:
    return round(statistics.median(samples) * 1000, 2) if samples else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=300, help="policies to generate and check")
    ap.add_argument("--compile", type=int, default=20, help="of those, how many to compile")
    args = ap.parse_args()

    import schedlang
    from schedlang.checker import check_source
    from schedlang.fmt import format_program
    from schedlang.fuzzgen import generate
    from schedlang.source import SourceFile

    texts, gen_s, check_s, lines = [], [], [], []
    accepted: list[int] = []
    crashed: list[int] = []  # the checker raised: a bug (docs/fuzzing.md)
    for seed in range(args.count):
        t = time.perf_counter()
        text = format_program(generate(seed))
        gen_s.append(time.perf_counter() - t)
        source = SourceFile(f"fuzz_{seed}.sched", text)
        t = time.perf_counter()
        try:
            checked, _ = check_source(source)
        except Exception:
            crashed.append(seed)
            checked = None
        check_s.append(time.perf_counter() - t)
        texts.append(source)
        lines.append(text.count("\n"))
        if checked is not None:
            accepted.append(seed)

    compile_s: list[float] = []
    compile_failed: list[int] = []
    for seed in accepted[: args.compile]:
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            try:
                schedlang.compile(texts[seed], outdir=out)
            except Exception:
                compile_failed.append(seed)
                continue
            compile_s.append(time.perf_counter() - t)

    print(
        json.dumps(
            {
                "policies": args.count,
                "generated_per_s": round(len(gen_s) / sum(gen_s), 1),
                "median_lines": statistics.median(lines),
                "acceptance_rate": round(len(accepted) / args.count, 4),
                "checker_crashed_seeds": crashed,
                "check_median_ms": _ms(check_s),
                "compiled": len(compile_s),
                "compile_failed_seeds": compile_failed,
                "compile_median_ms": _ms(compile_s),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Compile speed and object shape, per policy: where `schedlang compile` spends its time.

Prints JSON. For every example and library policy: the median time of the front end
(parse + check) plus code generation (IR -> C text), the median time of clang on that C, the
object's size, and the instruction count of each callback (from its ELF program section).
Usage: python bench/compile_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    from schedlang.backends.bpf import build, compat, emit, render
    from schedlang.backends.bpf.objfile import ObjectFile
    from schedlang.checker import check_source
    from schedlang.source import SourceFile

    clang = build.find_clang()
    options = emit.Options(params={}, kernel_api=compat.KERNEL_APIS[compat.DEFAULT_KERNEL_API])
    policies = sorted((ROOT / "examples").glob("*.sched")) + sorted(
        (ROOT / "stdlib").glob("*.sched")
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="schedlang-bench-") as tmp:
        for path in policies:
            source = SourceFile(str(path.relative_to(ROOT)), path.read_text())
            front: list[float] = []
            codegen: list[float] = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                checked, _diags = check_source(source)
                t1 = time.perf_counter()
                assert checked is not None, path
                rendered = render.render(emit.build_context(checked, options))
                t2 = time.perf_counter()
                front.append(t1 - t0)
                codegen.append(t2 - t1)
            name = checked.program.name
            c_path = Path(tmp) / f"{name}.bpf.c"
            o_path = Path(tmp) / f"{name}.bpf.o"
            c_path.write_text(rendered.text)
            clang_times: list[float] = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                build.compile_c(c_path, o_path, rendered.line_map)
                clang_times.append(time.perf_counter() - t0)
            obj = ObjectFile.read(o_path)
            front_codegen = [a + b for a, b in zip(front, codegen, strict=True)]
            results.append(
                {
                    "policy": name,
                    "source": source.path,
                    "frontend_ms": _median_ms(front),
                    "codegen_ms": _median_ms(codegen),
                    "frontend_plus_codegen_ms": _median_ms(front_codegen),
                    "clang_ms": _median_ms(clang_times),
                    "c_lines": rendered.text.count("\n"),
                    "object_bytes": o_path.stat().st_size,
                    "instructions": {
                        section.split("/", 1)[1].removeprefix(f"{name}_"): count
                        for section, count in obj.program_sections().items()
                    },
                }
            )
    summary = {
        "clang": clang.version,
        "repeat": args.repeat,
        "median_frontend_plus_codegen_ms": round(
            statistics.median(r["frontend_plus_codegen_ms"] for r in results), 3
        ),
        "median_clang_ms": round(statistics.median(r["clang_ms"] for r in results), 3),
    }
    print(json.dumps({"summary": summary, "policies": results}, indent=2))


if __name__ == "__main__":
    main()

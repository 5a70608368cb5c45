"""Runtime benchmark: boot time, load time, and a FIFO policy vs the kernel default.

Prints one JSON object. The FIFO policy comes from the DSL (`examples/fifo.sched` through
`schedlang.compile`) when the compiler is available, else from the hand-written `fifo_c`
fixture; the `policy_source` field says which. Hackbench runs in ONE boot, alternating the
kernel's default scheduler and the policy; the ratio is of medians, with min-max spread.

Usage: python3 bench/runtime.py [--repeat N] [--vcpus N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import schedlang
from schedlang.backends.artifact import Artifact
from schedlang.runtime import measure
from schedlang.runtime.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parents[1]


def fifo_artifact(workdir: Path) -> tuple[Artifact, str]:
    compile_policy = getattr(schedlang, "compile", None)
    if compile_policy is not None:
        artifact: Artifact = compile_policy(ROOT / "examples" / "fifo.sched")
        return artifact, "dsl:examples/fifo.sched"
    spec = importlib.util.spec_from_file_location(
        "fixture_build", ROOT / "tests" / "fixtures" / "c" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    artifact = module.build_fixture("fifo_c", workdir)
    return artifact, "fixture:tests/fixtures/c/fifo_c.bpf.c (DSL compiler not available)"


def spread_json(s: Any) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"median": s.median, "min": s.min, "max": s.max, "n": s.n}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--vcpus", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        artifact, source = fifo_artifact(Path(tmp))
        started = time.monotonic()
        report = measure.run(
            artifact,
            workloads=["hackbench"],
            repeat=args.repeat,
            vcpus=args.vcpus,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
        total = time.monotonic() - started
    row = next(r for r in report.rows if r.metric == "time_s")
    stats = report.policy_stats
    result = {
        "bench": "runtime",
        "policy": report.policy,
        "policy_source": source,
        "workload": WORKLOADS["hackbench"].command,
        "repeat": report.repeat,
        "accelerator": report.boot.get("accelerator"),
        "vcpus": report.boot.get("vcpus"),
        "host_cores": report.boot.get("host_cores"),
        "boot_seconds": report.boot.get("boot_s"),
        "load_seconds_median": stats.load_s.median if stats.load_s else None,
        "attach_seconds_median": stats.attach_s.median if stats.attach_s else None,
        "hackbench_time_s": {
            "baseline_default": spread_json(row.baseline),
            "policy": spread_json(row.policy),
            "ratio_policy_over_default": row.ratio,
            "verdict": row.verdict,
        },
        "policy_events": [e.kind + ":" + (e.exit_kind or "") for e in report.events],
        "representative_timing": report.representative,
        "total_wall_seconds": round(total, 2),
    }
    print(json.dumps(result, indent=2))
    return 0 if row.ratio is not None else 1


if __name__ == "__main__":
    sys.exit(main())

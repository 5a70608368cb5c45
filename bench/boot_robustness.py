"""Sandbox robustness: many consecutive boot + load + hackbench runs on a busy host.

Each run is one `sandbox.run_in_guest`: boot the VM, load the `fifo_c` fixture with the
loader, run hackbench under it, unload. A run is ok when the loader reports the policy
enabled, hackbench finished, and the policy was unloaded cleanly. Runs whose boot died before
the job and were booted again (docs/sandbox.md §9) are ok but counted in `retried`, with the
kernel's reason. Everything else is a failure, with its reason.

`--stress N` keeps N host CPUs busy with `stress-ng --cpu N` for the whole benchmark (the
stress-ng process is ours and is stopped at the end). The JSON is rewritten after every run,
so an interrupted benchmark still leaves its figures.

Usage: python3 bench/boot_robustness.py [--runs 100] [--stress 1] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from schedlang.runtime import sandbox

ROOT = Path(__file__).resolve().parents[1]
HACKBENCH = "hackbench -g 2 -l 50"


def build_fifo(workdir: Path) -> Path:
    """The fifo_c fixture, compiled; returns the object (its manifest lies beside it)."""
    spec = importlib.util.spec_from_file_location(
        "fixture_build", ROOT / "tests" / "fixtures" / "c" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build_fixture("fifo_c", workdir)
    return workdir / "fifo_c.bpf.o"


def judge(output: str) -> tuple[str | None, dict[str, Any]]:
    """(None when the loader's JSON shows a good load/run/unload, else what was wrong; the
    evidence: the states seen and the exit the kernel recorded, with its log lines)."""
    lines = output.splitlines()
    try:
        start = lines.index("{")  # the loader's JSON (indented); libbpf may print before it
        data = json.loads("\n".join(lines[start:]))
    except ValueError:
        return f"no loader JSON in the output: {output[-300:]!r}", {}
    run = data.get("run") or {}
    exit_info = data.get("exit") or {}
    evidence = {
        "load_error": {k: data.get(k) for k in ("stage", "error", "errno") if data.get(k)},
        "state": data.get("state"),
        "state_after": data.get("state_after"),
        "exit": {k: exit_info.get(k) for k in ("kind_name", "reason", "message", "ejected")},
        "kernel": [line for line in exit_info.get("kernel_log_lines", []) if "sched_ext" in line],
        "hackbench": {"rc": run.get("rc"), "tail": run.get("output", "")[-200:]},
    }
    why = f"exit={exit_info.get('kind_name')} reason={exit_info.get('reason')!r}"
    if not data.get("ok") or data.get("state") != "enabled":
        return f"policy not enabled: ok={data.get('ok')} state={data.get('state')}; {why}", evidence
    if run.get("rc") != 0 or "Time:" not in run.get("output", ""):
        return f"hackbench failed: rc={run.get('rc')}; {why}", evidence
    if exit_info.get("kind_name") != "UNREG" or data.get("state_after") != "disabled":
        return f"unclean unload: state={data.get('state_after')}; {why}", evidence
    return None, evidence


def one_run(obj: Path, index: int) -> dict[str, Any]:
    command = f"python3 -m schedlang.runtime.loader {obj} --run '{HACKBENCH}'"
    record: dict[str, Any] = {"run": index, "load1": os.getloadavg()[0]}
    started = time.monotonic()
    try:
        result = sandbox.run_in_guest(command, timeout_s=600)
    except sandbox.SandboxError as exc:
        got = getattr(exc, "result", None)
        crash = getattr(exc, "crash", None)
        record["failure"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        if crash is not None:
            record["crash"] = {"stage": crash.stage, "summary": crash.summary, "log": crash.log}
        if got is not None:
            record["retries"] = [r.reason for r in got.boot.retries]
    else:
        record["boot_s"] = result.boot.boot_s
        record["tcg_threading"] = result.boot.tcg_threading
        record["retries"] = [r.reason for r in result.boot.retries]
        problem, evidence = judge(result.output)
        if result.rc != 0 or problem is not None:
            record["failure"] = problem or f"rc={result.rc}"
            record["evidence"] = evidence
    record["wall_s"] = round(time.monotonic() - started, 2)
    return record


def summary(
    records: list[dict[str, Any]], args: argparse.Namespace, began: float
) -> dict[str, Any]:
    boots = [r["boot_s"] for r in records if "boot_s" in r]
    return {
        "command": " ".join([sys.executable, *sys.argv]),
        "runs": len(records),
        "ok": sum(1 for r in records if "failure" not in r),
        "retried": sum(1 for r in records if r.get("retries")),
        "failures": [
            {
                "run": r["run"],
                "reason": r["failure"],
                "crash": r.get("crash"),
                "evidence": r.get("evidence"),
                "boot_s": r.get("boot_s"),
                "load1": r["load1"],
            }
            for r in records
            if "failure" in r
        ],
        "retry_reasons": [
            {"run": r["run"], "reasons": r["retries"]} for r in records if r.get("retries")
        ],
        "boot_s": {
            "median": statistics.median(boots) if boots else None,
            "min": min(boots, default=None),
            "max": max(boots, default=None),
        },
        "host": {
            "cores": os.cpu_count(),
            "stress_ng_cpu": args.stress,
            "load1_median": statistics.median(r["load1"] for r in records) if records else None,
        },
        "elapsed_s": round(time.monotonic() - began, 1),
        "records": records,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--stress", type=int, default=1, help="host CPUs to keep busy (0: none)")
    parser.add_argument("--out", type=Path, default=Path("boot_robustness.json"))
    args = parser.parse_args()
    # A plain `kill` must still stop our stress-ng (the finally below) and keep the JSON.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stress = None
    if args.stress > 0:
        stress = subprocess.Popen(
            ["stress-ng", "--cpu", str(args.stress), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    records: list[dict[str, Any]] = []
    began = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            obj = build_fifo(Path(tmp))
            for index in range(args.runs):
                records.append(one_run(obj, index))
                print(json.dumps(records[-1]), file=sys.stderr, flush=True)
                args.out.write_text(json.dumps(summary(records, args, began), indent=2) + "\n")
    finally:
        if stress is not None:
            stress.terminate()
            stress.wait()
    result = summary(records, args, began)
    result.pop("records")
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] == result["runs"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""How the termination rule's instruction estimate compares with the real kernel verifier.

Compiles every program in examples/ and stdlib/, loads each object in the sandbox VM with
`bpftool -d struct_ops register` (which asks the verifier for its statistics) and reads the
verifier's "processed N insns" per callback. Prints JSON: per callback the estimate, the
verifier's count and their ratio, and a summary for loop-free callbacks and callbacks with
loops. The budget (termination.INSTRUCTION_BUDGET) is a tenth of the verifier's limit, so
the estimate is safe as long as `verifier / estimate` stays well under 10.

Needs the sandbox (`schedlang sandbox fetch`); takes about a minute under TCG.
Usage: python bench/estimate_vs_verifier.py
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GUEST_SCRIPT = """
B={bpftool}
mount -t tmpfs none /mnt
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
for o in {objdir}/*.bpf.o; do
  n=$(basename $o .bpf.o)
  echo "=== $n"
  $B -d struct_ops register $o /sys/fs/bpf/$n 2>&1 | grep -E "BEGIN PROG LOAD LOG|^processed"
  rm -rf /sys/fs/bpf/$n
  sleep 0.2
done
"""


def main() -> int:
    from schedlang import ir
    from schedlang.checker import check_path

    bpftool_path = Path.home() / ".cache/schedlang/bpftool/usr/sbin/bpftool"
    if not bpftool_path.exists():
        print(
            json.dumps(
                {"skipped": "no bpftool in the sandbox cache: run `schedlang sandbox fetch`"}
            )
        )
        return 0
    sources = sorted([*ROOT.glob("examples/*.sched"), *ROOT.glob("stdlib/*.sched")])
    with tempfile.TemporaryDirectory(prefix="schedlang-estimate-") as tmp:
        objdir = Path(tmp) / "obj"
        objdir.mkdir()
        for src in sources:
            subprocess.run(
                [sys.executable, "-m", "schedlang.cli", "compile", str(src), "-o", str(objdir)],
                check=False,
                capture_output=True,
            )
        script = Path(tmp) / "verify.sh"
        script.write_text(GUEST_SCRIPT.format(bpftool=bpftool_path, objdir=objdir))
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schedlang.cli",
                "sandbox",
                "run",
                "--timeout",
                "500",
                "--",
                "sh",
                str(script),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    processed = _parse(run.stdout)
    rows: list[dict[str, object]] = []
    loop_free: list[float] = []
    with_loops: list[float] = []
    for src in sources:
        checked, _ = check_path(src)
        if checked is None:
            continue
        prog = checked.program
        estimates = checked.facts["instructions"]
        assert isinstance(estimates, dict)
        loops_in_fns = any(
            isinstance(s, ir.ForRange | ir.ForCpus) for f in prog.fns for s in ir.walk_stmts(f.body)
        )
        for cb in prog.callbacks:
            real = processed.get((prog.name, cb.op))
            if real is None:
                continue
            ratio = real / estimates[cb.op]
            loops = loops_in_fns or any(
                isinstance(s, ir.ForRange | ir.ForCpus) for s in ir.walk_stmts(cb.body)
            )
            (with_loops if loops else loop_free).append(ratio)
            rows.append(
                {
                    "policy": prog.name,
                    "callback": cb.op,
                    "estimate": estimates[cb.op],
                    "verifier": real,
                    "ratio": round(ratio, 2),
                }
            )

    def summary(r: list[float]) -> dict[str, float | int]:
        if not r:
            return {"n": 0}
        return {
            "n": len(r),
            "min": round(min(r), 2),
            "median": round(statistics.median(r), 2),
            "max": round(max(r), 2),
        }

    print(
        json.dumps(
            {
                "benchmark": "estimate_vs_verifier",
                "verifier_over_estimate": {
                    "loop_free": summary(loop_free),
                    "with_loops": summary(with_loops),
                },
                "callbacks": rows,
            },
            indent=2,
        )
    )
    return 0 if rows else 1


def _parse(out: str) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    policy = prog = ""
    for line in out.splitlines():
        if m := re.match(r"=== (\S+)", line):
            policy = m.group(1)
        elif m := re.search(r"prog '(\S+)'", line):
            prog = m.group(1)
        elif (m := re.match(r"processed (\d+) insns", line)) and prog.startswith(policy + "_"):
            found[(policy, prog[len(policy) + 1 :])] = int(m.group(1))
    return found


if __name__ == "__main__":
    sys.exit(main())

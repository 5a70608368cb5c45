"""How the termination rule's instruction estimate compares with the real kernel verifier.

Compiles every program in examples/ and stdlib/, loads each object in the sandbox VM through
libbpf with the verifier's statistics requested (log level 4) and reads the verifier's
"processed N insns" per callback. Prints JSON: per callback the estimate, the
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

# Runs in the guest: loads each object with the verifier's statistics requested (log level 4)
# through the loader's libbpf, and prints "V <policy> <program> <processed insns>". (bpftool
# prints no verifier log for a program that loads.)
GUEST_SCRIPT = """
import ctypes, re, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from runtime import libbpf
c = libbpf.get().cdll
P = ctypes.c_void_p
c.bpf_object__open_file.restype = P
c.bpf_object__open_file.argtypes = [ctypes.c_char_p, P]
c.bpf_object__next_program.restype = P
c.bpf_object__next_program.argtypes = [P, P]
c.bpf_program__name.restype = ctypes.c_char_p
c.bpf_program__name.argtypes = [P]
c.bpf_program__set_log_level.argtypes = [P, ctypes.c_uint32]
c.bpf_program__set_log_buf.argtypes = [P, ctypes.c_char_p, ctypes.c_size_t]
c.bpf_object__load.argtypes = [P]
c.bpf_object__close.argtypes = [P]
for o in sorted(Path({objdir!r}).glob("*.bpf.o")):
    obj = c.bpf_object__open_file(str(o).encode(), None)
    logs = {{}}
    prog = c.bpf_object__next_program(obj, None)
    while prog:
        logs[c.bpf_program__name(prog).decode()] = buf = ctypes.create_string_buffer(1 << 16)
        c.bpf_program__set_log_buf(prog, buf, len(buf))
        c.bpf_program__set_log_level(prog, 4)
        prog = c.bpf_object__next_program(obj, prog)
    c.bpf_object__load(obj)
    for name, buf in logs.items():
        m = re.search(r"processed (\\d+) insns", buf.value.decode(errors="replace"))
        if m:
            print("V", o.name[: -len(".bpf.o")], name, m.group(1), flush=True)
    c.bpf_object__close(obj)
"""


def main() -> int:
    from schedlang import ir
    from schedlang.checker import check_path

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
        script = Path(tmp) / "verify.py"
        script.write_text(GUEST_SCRIPT.format(root=str(ROOT), objdir=str(objdir)))
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
                "python3",
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
    """(policy, callback) -> processed instructions, from the guest's "V" lines; a program
    is named `<policy>__<callback>`."""
    found: dict[tuple[str, str], int] = {}
    for line in out.splitlines():
        if m := re.match(r"V (\S+) (\S+) (\d+)$", line):
            policy, prog, n = m.groups()
            if prog.startswith(policy + "__"):
                found[(policy, prog[len(policy) + 2 :])] = int(n)
    return found


if __name__ == "__main__":
    sys.exit(main())

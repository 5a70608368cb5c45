"""The guest runners start with only what they use.

Every VM measurement, trace and fuzz boot starts `python3 -S -m schedlang.runtime.<runner>`
inside the guest, where each module is a cold read over virtiofs and its body runs under TCG:
with 143 modules the runner's start took 1.9-2.9 s of every boot. Modules used only on the
host or on a rare path (the report's summary and its statistics, argparse for the loader's own
command line, difflib's "did you mean") are imported where they are used, and this test keeps
them out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNERS = ("guest_job", "trace_guest", "fuzz_guest")

# The schedlang modules a runner needs: the guest layer and what it may import (the shared
# units and literals, the artifact's manifest reading), nothing of the front end or the host.
GUEST_SCHEDLANG = {
    "schedlang",
    "schedlang.version",
    "schedlang.units",
    "schedlang.literals",
    "schedlang.user_cache",
    "schedlang.backends",
    "schedlang.backends.artifact",
    "schedlang.runtime",
    "schedlang.runtime.cache",
    "schedlang.runtime.exitinfo",
    "schedlang.runtime.guest_job",
    "schedlang.runtime.libbpf",
    "schedlang.runtime.loader",
    "schedlang.runtime.records",
    "schedlang.runtime.verifier_log",
    "schedlang.runtime.workloads",
}

# Never at a runner's start: third-party packages (absent from the guest's `-S` path anyway,
# so importing one would fail there) and standard modules only the host or a rare path uses.
HEAVY = (
    "lark",
    "jinja2",
    "scipy",
    "numpy",
    "llvmlite",
    "statistics",
    "decimal",
    "fractions",
    "difflib",
    "argparse",
    "ctypes.util",
)


def _modules_after_import(module: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(ROOT)
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_guest_runner_imports_no_heavy_module(runner: str) -> None:
    modules = _modules_after_import(f"schedlang.runtime.{runner}")
    assert sorted(m for m in HEAVY if m in modules) == []


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_guest_runner_imports_only_the_guest_side_of_schedlang(runner: str) -> None:
    modules = _modules_after_import(f"schedlang.runtime.{runner}")
    ours = {m for m in modules if m == "schedlang" or m.startswith("schedlang.")}
    assert ours == GUEST_SCHEDLANG | {f"schedlang.runtime.{runner}"}

"""Generated policies in the real kernel: the first few `safe` seeds that compile are loaded
one after another in ONE sandbox boot; each must pass the kernel verifier, enable, run
`hackbench -g 2 -l 50` and unload with exit kind UNREG (not ejected).

A verifier rejection or an ejection of a checker-accepted policy is a bug in the checker (a
rule too weak) or the backend (C the verifier cannot follow); the failure shows the seed, the
verifier's message and the DSL position. Reproduce with `python -m schedlang.fuzzgen SEED
--safe`. Compile failures are left to test_fuzz_compile.py.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from schedlang.fuzzgen import generate_text
from schedlang.source import SourceFile

POLICIES = 5
SEEDS_TRIED = 40
WORKLOAD = "hackbench -g 2 -l 50"

# One python process for all policies (python starts slowly under TCG).
GUEST_PROGRAM = """
import json, sys
from pathlib import Path
from schedlang.runtime import loader
out = {}
for obj in sys.argv[2:]:
    try:
        rc, r = loader.run_cli([obj, "--run", sys.argv[1]])
    except Exception as exc:  # recorded: the next policy still runs
        r = {"ok": False, "stage": "python", "error": repr(exc)}
    r.pop("sysfs", None)
    out[Path(obj).name] = r
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, dict[str, Any]]]:
    if shutil.which("clang-19") is None:
        pytest.skip("clang-19 is not installed (apt-get install clang-19)")
    from schedlang.backends.bpf import compile_source
    from schedlang.runtime import provision, sandbox

    try:
        provision.ensure()
    except provision.ProvisionError as exc:
        pytest.skip(f"sandbox cannot be provisioned: {exc}")
    objdir = tmp_path_factory.mktemp("fuzz_objs")
    seeds: list[int] = []
    for seed in range(SEEDS_TRIED):
        text = generate_text(seed, safe=True)
        try:
            compile_source(SourceFile(str(objdir / f"fuzz_{seed}.sched"), text), outdir=objdir)
        except Exception:
            continue  # a compile failure is test_fuzz_compile's finding
        seeds.append(seed)
        if len(seeds) == POLICIES:
            break
    assert len(seeds) == POLICIES, f"only {seeds} of seeds 0..{SEEDS_TRIED - 1} compile"
    outdir = tmp_path_factory.mktemp("fuzz_out")
    objects = " ".join(str(objdir / f"fuzz_{s}.bpf.o") for s in seeds)
    try:
        result = sandbox.run_in_guest(
            f'python3 -c "$FUZZ_GUEST" "{WORKLOAD}" {objects} > results.json',
            outdir=outdir,
            env={"FUZZ_GUEST": GUEST_PROGRAM},
            timeout_s=600,
        )
    except sandbox.SandboxError as exc:
        pytest.skip(f"the sandbox cannot run: {exc}")
    assert result.rc == 0, result.output
    data = json.loads((outdir / "results.json").read_text())
    return [(s, data[f"fuzz_{s}.bpf.o"]) for s in seeds]


def _why(seed: int, r: dict[str, Any]) -> str:
    position = r.get("position") or {}
    log = (r.get("verifier_log") or "")[-1500:]
    exit_info = r.get("exit") or {}
    return (
        f"seed {seed} (python -m schedlang.fuzzgen {seed} --safe): stage={r.get('stage')} "
        f"error={r.get('error')} dsl_line={position.get('dsl_line')} "
        f"c={position.get('c_text')!r} message={position.get('message')!r} "
        f"exit={exit_info.get('kind_name')} reason={exit_info.get('reason')!r}\n{log}"
    )


@pytest.mark.vm
@pytest.mark.parametrize("index", range(POLICIES))
def test_generated_policy_loads_runs_and_unloads(
    loaded: list[tuple[int, dict[str, Any]]], index: int
) -> None:
    seed, r = loaded[index]
    assert r.get("ok"), _why(seed, r)
    assert r["state"] == "enabled", _why(seed, r)
    assert r["run"]["rc"] == 0 and "Time:" in r["run"]["output"], r["run"]
    assert r["exit"]["kind_name"] == "UNREG" and not r["exit"]["ejected"], _why(seed, r)
    assert r["state_after"] == "disabled"

"""Generated policies in the real kernel: the first few seeds that compile are loaded
one after another in ONE sandbox boot; each must pass the kernel verifier, enable, run
`hackbench -g 2 -l 50` and unload with exit kind UNREG (not ejected).

A verifier rejection or an ejection of a checker-accepted policy is a bug in the checker (a
rule too weak) or the backend (C the verifier cannot follow); the failure shows the seed, the
verifier's message and the DSL position. Reproduce with `python -m schedlang.fuzzgen SEED`.
Compile failures are left to test_fuzz_compile.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from schedlang.fuzzgen import generate_text
from schedlang.source import SourceFile

POLICIES = 5
SEEDS_TRIED = 40
WORKLOAD = "hackbench -g 2 -l 50"
WORKLOAD_TIMEOUT_S = 120

# One python process for all policies (python starts slowly under TCG). The workload runs in
# its own session and is killed as a group after a timeout: a policy that livelocks the
# machine must fail its own test, not hang the boot (hackbench's children would keep the
# output pipe open past a plain `timeout`).
GUEST_PROGRAM = """
import dataclasses, json, os, signal, subprocess, sys
from pathlib import Path
from schedlang.runtime import loader

workload, timeout_s, objects = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
out = {}
for obj in objects:
    r = out[Path(obj).name] = {"state_before": loader.scx_state()}
    try:
        policy = loader.load(Path(obj))
    except loader.LoadError as exc:
        pos = dataclasses.asdict(exc.position) if exc.position else None
        r.update(ok=False, stage=exc.stage, error=str(exc), verifier_log=exc.verifier_log,
                 position=pos, state_after=loader.scx_state())
        continue
    r.update(ok=True, state=policy.state(), ops=loader.scx_ops())
    proc = subprocess.Popen(workload, shell=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        output += f"\\n(killed after {timeout_s} s)"
    r["run"] = {"rc": proc.returncode, "output": output[-2000:]}
    r["exit"] = dataclasses.asdict(policy.detach())
    r["exit"].pop("kernel_log_lines", None)
    r["state_after"] = loader.scx_state()
    print(Path(obj).name, r["run"]["rc"], r["exit"].get("kind_name"), file=sys.stderr, flush=True)
Path("results.json").write_text(json.dumps(out))
"""


@pytest.fixture(scope="module")
def loaded(
    vm_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[int, dict[str, Any]]]:
    from schedlang.backends.bpf import compile_source
    from schedlang.runtime import sandbox

    objdir = tmp_path_factory.mktemp("fuzz_objs")
    seeds: list[int] = []
    for seed in range(SEEDS_TRIED):
        text = generate_text(seed)
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
            f'python3 -c "$FUZZ_GUEST" "{WORKLOAD}" {WORKLOAD_TIMEOUT_S} {objects}',
            outdir=outdir,
            env={"FUZZ_GUEST": GUEST_PROGRAM},
            timeout_s=POLICIES * (WORKLOAD_TIMEOUT_S + 60) + 120,
        )
    except (sandbox.GuestTimeout, sandbox.GuestCrash) as exc:  # a policy took the guest down
        pytest.fail(f"seeds {seeds}: {exc}\n{exc.result.output[-3000:]}")
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
        f"seed {seed} (python -m schedlang.fuzzgen {seed}): stage={r.get('stage')} "
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
    run = r["run"]
    assert run["rc"] == 0 and "Time:" in run["output"], f"seed {seed}: hackbench {run}"
    assert r["exit"]["kind_name"] == "UNREG" and not r["exit"]["ejected"], _why(seed, r)
    assert r["state_after"] == "disabled"

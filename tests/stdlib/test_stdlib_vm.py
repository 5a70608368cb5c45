"""Every library policy, compiled by the real backend and clang, loads in a real sched_ext
kernel (the verifier accepts it) and schedules a workload without being ejected.

One sandbox boot and one guest python process for the whole library (python starts slowly
under TCG). The workload mixes hackbench's many short wakers with a nice 19 CPU hog: a
weighted-vtime policy whose low-weight tasks can fall far behind the clock gets ejected by
the kernel's watchdog under exactly this mix (seen with weighted_vtime before its vtime lead
was bounded).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import schedlang.stdlib as stdlib

WORKLOAD = (
    "nice -n 19 stress-ng --cpu 2 --cpu-method int64 -t 3 >/dev/null 2>&1 & "
    "hackbench -g 2 -l 50; wait"
)

GUEST_SCRIPT = "python3 -c \"$GUEST_STDLIB_RUN\" {d} '{workload}' > stdlib.json"

GUEST_STDLIB_RUN = """
import json, subprocess, sys
from pathlib import Path
from schedlang.runtime import loader

d = Path(sys.argv[1])
out = {}
for obj in sorted(d.glob("*.bpf.o")):
    name = obj.name[: -len(".bpf.o")]
    try:
        policy = loader.load(obj)
    except loader.LoadError as exc:
        out[name] = dict(ok=False, stage=exc.stage, error=str(exc), log=exc.verifier_log[-3000:])
        continue
    with policy:
        r = dict(ok=True, state=policy.state(), ops=loader.scx_ops())
        proc = subprocess.run(sys.argv[2], shell=True, capture_output=True, text=True)
        r.update(rc=proc.returncode, output=(proc.stdout + proc.stderr)[-2000:])
        r["stats"] = policy.stats()
    info = policy.detach()
    r.update(ejected=info.ejected, exit_kind=info.kind_name, reason=info.reason,
             state_after=loader.scx_state())
    out[name] = r
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def guest_results(vm_ready: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from schedlang.backends.bpf import compile_checked
    from schedlang.checker import check_path
    from schedlang.runtime import sandbox

    objdir = tmp_path_factory.mktemp("stdlib_objects")
    root = Path(stdlib.__file__).parent
    for name in stdlib.names():
        checked, diags = check_path(root / f"{name}.sched")
        assert checked is not None, [d.message for d in diags.items]
        compile_checked(checked, objdir)
    outdir = tmp_path_factory.mktemp("stdlib_out")
    result = sandbox.run_in_guest(
        GUEST_SCRIPT.format(d=objdir, workload=WORKLOAD),
        outdir=outdir,
        env={"GUEST_STDLIB_RUN": GUEST_STDLIB_RUN},
        timeout_s=900,
    )
    assert result.rc == 0, result.output
    data: dict[str, Any] = json.loads((outdir / "stdlib.json").read_text())
    return data


@pytest.mark.vm
@pytest.mark.clang
@pytest.mark.parametrize("name", stdlib.names())
def test_policy_loads_and_survives_a_mixed_workload(
    name: str, guest_results: dict[str, Any]
) -> None:
    r = guest_results[name]
    assert r["ok"], f"{name} did not load: {r.get('error')}\n{r.get('log')}"
    assert r["state"] == "enabled" and r["ops"] == name
    assert r["rc"] == 0 and "Time:" in r["output"], r["output"]
    assert r["stats"]["nr_enqueued"] + r["stats"]["nr_direct"] > 0
    assert not r["ejected"], f"{name} was ejected: {r['exit_kind']} {r['reason']}"
    assert r["exit_kind"] == "UNREG" and r["state_after"] == "disabled"

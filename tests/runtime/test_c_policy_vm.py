"""Hand-written C policies in the sandbox VM, through the same paths as DSL policies.

Two boots: `schedlang.run(simple_c.bpf.c)` measures hackbench and returns a Report like any
policy's; then one guest runs the loader on the other C fixtures: lose_c (never dispatches) is
ejected with ERROR_STALL, its reason and the kernel log; the next load (simple_c, with tunables
overridden) works; nullmap_c is refused by the verifier with its log and the C line and column
of the unchecked dereference. None of them follows the stats contract, so every exit here is
read from the kernel log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import schedlang
from schedlang.runtime.report import Report

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "c"


def _line_of(path: Path, marker: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if marker in line)


@pytest.fixture(scope="module")
def report(vm_ready: None) -> Report:
    result: Report = schedlang.run(
        str(FIXTURES / "simple_c.bpf.c"),
        workloads=["hackbench"],
        repeat=1,
        params={"slice_ns": "5000000"},
    )
    return result


@pytest.mark.vm
def test_c_policy_is_measured_like_a_dsl_policy(report: Report) -> None:
    assert report.policy == "simple_c" and report.params == {"slice_ns": 5_000_000}
    assert report.policy_measured and not report.events, report.format_text()
    (row,) = [r for r in report.rows if r.metric == "time_s"]
    assert row.baseline is not None and row.policy is not None and row.ratio is not None
    (policy_run,) = [r for r in report.runs if r.side == "policy" and r.index >= 0]
    assert policy_run.ops == "simple_c" and policy_run.stats == {}
    assert policy_run.exit is not None
    assert (policy_run.exit["kind_name"], policy_run.exit["reason"]) == (
        "UNREG",
        "unregistered from user space",
    )
    assert "policy: loaded 1x" in report.format_text()


GUEST_SCRIPT = """
import dataclasses, json, sys, time
from pathlib import Path
from schedlang.backends.artifact import Artifact
from schedlang.runtime import loader

d = Path(sys.argv[1])
out = {}
lose = loader.load(Artifact.from_object(d / "lose" / "lose_c.bpf.o"))
deadline = time.monotonic() + 90
while not lose.ejected() and time.monotonic() < deadline:
    time.sleep(0.05)
out["lose"] = dict(exit=dataclasses.asdict(lose.detach()), state_after=loader.scx_state())
with loader.load(Artifact.from_object(d / "simple" / "simple_c.bpf.o"),
                 params={"slice_ns": 3000000, "fifo_sched": 1}) as simple:
    out["next"] = dict(state=simple.state(), ops=loader.scx_ops(), params=simple.params(),
                       stats=simple.stats())
out["next"]["exit"] = dataclasses.asdict(simple.detach())
try:
    loader.load(Artifact.from_object(d / "nullmap" / "nullmap_c.bpf.o")).detach()
    out["nullmap"] = dict(stage=None)
except loader.LoadError as exc:
    out["nullmap"] = dict(stage=exc.stage, errno=exc.errno, log=exc.verifier_log,
                          position=dataclasses.asdict(exc.position) if exc.position else None,
                          state_after=loader.scx_state())
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def guest(vm_ready: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from schedlang.runtime import sandbox

    objdir = tmp_path_factory.mktemp("objects")
    for name in ("lose", "simple", "nullmap"):
        schedlang.compile(FIXTURES / f"{name}_c.bpf.c", outdir=objdir / name)
    outdir = tmp_path_factory.mktemp("out")
    result = sandbox.run_in_guest(
        f'python3 -c "$GUEST_SCRIPT" {objdir} > c_policies.json',
        outdir=outdir,
        env={"GUEST_SCRIPT": GUEST_SCRIPT},
        timeout_s=300,
    )
    assert result.rc == 0, result.output
    data: dict[str, Any] = json.loads((outdir / "c_policies.json").read_text())
    return data


@pytest.mark.vm
def test_c_policy_that_loses_tasks_is_ejected_with_error_stall(guest: dict[str, Any]) -> None:
    exit_info = guest["lose"]["exit"]
    assert exit_info["kind_name"] == "ERROR_STALL" and exit_info["ejected"]
    assert exit_info["reason"] == "runnable task stall"
    assert "failed to run for" in exit_info["message"] or "watchdog" in exit_info["message"]
    assert any(
        'BPF scheduler "lose_c" disabled (runnable task stall)' in line
        for line in exit_info["kernel_log_lines"]
    )
    assert guest["lose"]["state_after"] == "disabled"


@pytest.mark.vm
def test_the_next_load_works_with_c_tunables_overridden(guest: dict[str, Any]) -> None:
    r = guest["next"]
    assert (r["state"], r["ops"]) == ("enabled", "simple_c")
    # Read back from the kernel's .rodata map: a u64 and a one-byte bool.
    assert r["params"] == {"slice_ns": 3_000_000, "fifo_sched": 1}
    assert r["stats"] == {}
    assert r["exit"]["kind_name"] == "UNREG" and not r["exit"]["ejected"]


@pytest.mark.vm
def test_verifier_rejection_names_the_c_line_of_the_faulty_access(guest: dict[str, Any]) -> None:
    r = guest["nullmap"]
    assert r["stage"] == "load" and r["errno"] == 13
    assert "invalid mem access 'map_value_or_null'" in r["log"]
    pos = r["position"]
    line = _line_of(FIXTURES / "nullmap_c.bpf.c", "*count += 1; /* REJECTED")
    assert (pos["c_file"], pos["c_line"]) == ("nullmap_c.bpf.c", line)
    assert pos["c_col"] == 9  # the `+=` after a tab: clang's byte column
    assert pos["c_text"].startswith("*count += 1;")
    assert pos["message"] == "R0 invalid mem access 'map_value_or_null'"
    assert pos["dsl_line"] is None
    assert r["state_after"] == "disabled"

"""schedlang.compose: the placement of one library policy and the ordering of another, combined
through `import` and checked; the combination compiles with clang and runs alike on the
interpreter and the JIT in the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import schedlang
from schedlang.composition import compose


def test_a_combination_that_checks() -> None:
    c = compose("least_loaded", "eevdf")
    assert c.ok and c.diagnostics == [], c.diagnostics
    assert c.name == "least_loaded_eevdf"
    head = c.text.splitlines()[3].strip()
    # eevdf declares `task var started` too: least_loaded's comes under another name
    assert head.startswith("import least_loaded { place, place_running, place_stopping, place_tick")
    assert "started as least_loaded_started" in head
    assert c.checked is not None
    program = c.checked.program
    # the imported code is least_loaded's, with its own file and lines...
    fns = {f.name: f.span for f in program.fns}
    assert fns["place"].file == "stdlib/least_loaded.sched"
    assert fns["lead_cap"].file == ""  # eevdf's own, written into the combination
    assert [i.file for i in program.imported] == ["stdlib/least_loaded.sched"]
    # ...and the ordering is eevdf's: its queue and its callbacks, select_cpu replaced
    assert [q.name for q in program.queues] == ["by_deadline"]
    assert {c.op for c in program.callbacks} == {
        "enable",
        "runnable",
        "enqueue",
        "dispatch",
        "running",
        "stopping",
        "select_cpu",
        "tick",
    }
    assert {t.name for t in program.task_vars} >= {"started", "least_loaded_started"}


def test_a_combination_that_is_rejected_says_why() -> None:
    """eevdf offers no placement (`fn place`): the import says so, at the import."""
    c = compose("eevdf", "weighted_vtime")
    assert not c.ok and c.checked is None
    [d] = c.diagnostics
    assert (d.code, d.file, d.line) == ("import-unknown", "eevdf_weighted_vtime.sched", 4)
    assert d.message == "`eevdf` declares no `place`"
    assert d.hints[-1].startswith("it declares: avg_burst by_deadline deadline lag_limit lead_cap")


def test_an_unknown_library_policy_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no library policy 'nope'"):
        compose("nope", "eevdf")


@pytest.mark.clang
def test_the_combination_compiles_with_clang(tmp_path: Path) -> None:
    c = compose("least_loaded", "weighted_vtime")
    artifact = schedlang.compile(c.text, outdir=tmp_path)
    text = artifact.c_path.read_text()
    # the imported fn appears once, under a comment naming where it came from
    assert text.count("static __always_inline s32 place__fn(") == 2  # prototype, definition
    assert "/* fn place, imported from stdlib/least_loaded.sched */" in text
    assert artifact.object_path.stat().st_size > 0
    manifest = json.loads(artifact.manifest_path.read_text())
    [imported] = manifest["imports"]
    assert imported["file"] == "stdlib/least_loaded.sched" and imported["import_line"] == 4
    # each C line of imported code names its file, and its line_map row the import
    c_lines = text.splitlines()
    rows = [r for r in manifest["line_map"] if "least_loaded.sched:" in c_lines[r[0] - 1]]
    assert rows and {(r[1], r[2]) for r in rows} == {(4, 5)}


def _without_host_times(report: dict[str, object]) -> dict[str, object]:
    for run in report["policy_runs"] + report["baseline_runs"]:  # type: ignore[operator]
        run["host_s"] = None
    return report


def test_the_combination_runs_alike_on_the_interpreter_and_the_jit() -> None:
    pytest.importorskip("llvmlite")
    c = compose("least_loaded", "weighted_vtime")
    reports = [
        schedlang.simulate(c.text, "hackbench", cpus=4, seconds=0.05, seeds=(0,), engine=e)
        for e in ("interp", "jit")
    ]
    assert not reports[0].ejected
    interp, jit = (_without_host_times(r.to_dict()) for r in reports)
    assert jit == interp
    assert reports[0].policy_runs[0].ops_calls > 1000


@pytest.mark.vm
@pytest.mark.clang
def test_the_combination_loads_and_schedules_in_the_kernel(vm_ready: None, tmp_path: Path) -> None:
    """The verifier accepts the combination and it runs a workload without being ejected."""
    c = compose("least_loaded", "eevdf")
    artifact = schedlang.compile(c.text, outdir=tmp_path)
    report = schedlang.run(artifact, workloads=["hackbench"], repeat=1)
    assert report.events == (), [(e.kind, e.reason, e.verifier_log[-2000:]) for e in report.events]
    assert report.policy_measured
    assert report.policy_stats.totals["nr_enqueued"] > 0

"""Measurement: planning, input checks, host-mode refusal, the runner's workload step, and
(marked `vm`) real same-boot comparisons in the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from c_fixtures import build

from schedlang.cli import main as cli
from schedlang.runtime import measure
from schedlang.runtime.guest_job import Step, plan, run_workload
from schedlang.runtime.workloads import JOIN_SHARED, WORKLOADS, UnknownWorkloadError, Workload

# --- planning ---------------------------------------------------------------------------------


def test_plan_abba_interleaves_and_warms_up() -> None:
    steps = plan(("hackbench",), 3, "ABBA", warmup=True)
    assert [(s.side, s.index) for s in steps] == [
        ("baseline", -1),
        ("baseline", 0),
        ("policy", 0),
        ("policy", 1),
        ("baseline", 1),
        ("baseline", 2),
        ("policy", 2),
    ]


def test_plan_abab_per_workload() -> None:
    steps = plan(("pipe", "hackbench"), 2, "ABAB", warmup=False)
    assert steps == [
        Step("pipe", "baseline", 0),
        Step("pipe", "policy", 0),
        Step("pipe", "baseline", 1),
        Step("pipe", "policy", 1),
        Step("hackbench", "baseline", 0),
        Step("hackbench", "policy", 0),
        Step("hackbench", "baseline", 1),
        Step("hackbench", "policy", 1),
    ]


def test_plan_rounds_share_the_default_and_reverse_every_other_round() -> None:
    """Two policies: each round runs the default once and each policy once; ABBA reverses
    odd rounds, so every side's mean position is the same over each pair of rounds."""
    steps = plan(("hackbench",), 3, "ABBA", warmup=True, arms=2)
    assert [(s.side, s.index, s.arm) for s in steps] == [
        ("baseline", -1, 0),
        ("baseline", 0, 0),
        ("policy", 0, 0),
        ("policy", 0, 1),
        ("policy", 1, 1),
        ("policy", 1, 0),
        ("baseline", 1, 0),
        ("baseline", 2, 0),
        ("policy", 2, 0),
        ("policy", 2, 1),
    ]
    assert plan(("pipe",), 2, "ABAB", warmup=False, arms=2) == [
        Step("pipe", "baseline", 0),
        Step("pipe", "policy", 0, 0),
        Step("pipe", "policy", 0, 1),
        Step("pipe", "baseline", 1),
        Step("pipe", "policy", 1, 0),
        Step("pipe", "policy", 1, 1),
    ]


def test_stats_of_a_run_in_a_block_count_only_that_run() -> None:
    """A policy that stayed loaded has cumulative counters: each run keeps its own share;
    the exit record is taken as read."""
    from schedlang.runtime.guest_job import _since

    before = {"nr_enqueued": 100, "wakeup_hist": [5, 1, 0], "exit_kind": 0}
    now = {"nr_enqueued": 130, "wakeup_hist": [9, 1, 2], "exit_kind": 64}
    assert _since(now, before) == {"nr_enqueued": 30, "wakeup_hist": [4, 0, 2], "exit_kind": 64}
    assert _since(now, {}) == now


# --- the runner's workload step (real tools, on this host's default scheduler) ---------------


def test_run_workload_runs_the_real_tool(tmp_path: Path) -> None:
    if shutil.which("hackbench") is None:
        pytest.skip("hackbench is not installed (apt-get install rt-tests)")
    outcome = run_workload(WORKLOADS["hackbench"], tmp_path, timeout_s=120)
    assert outcome.error is None, outcome.output
    assert outcome.rc == 0
    assert outcome.metrics["time_s"] > 0
    assert "Time:" in outcome.output


def test_run_workload_reports_a_missing_tool(tmp_path: Path) -> None:
    fake = Workload("x", "x", "true", (), lambda _out: {}, tools=("no-such-tool-xyz",))
    outcome = run_workload(fake, tmp_path, timeout_s=5)
    assert outcome.error == "not installed: no-such-tool-xyz"


def test_run_workload_timeout_kills_the_process_group(tmp_path: Path) -> None:
    slow = Workload("slow", "s", "sleep 30 & sleep 30", (), lambda _out: {}, tools=("sleep",))
    outcome = run_workload(slow, tmp_path, timeout_s=0.5)
    assert outcome.error is not None and "timed out" in outcome.error
    assert outcome.wall_s < 10


def test_run_workload_unparseable_output_is_an_error(tmp_path: Path) -> None:
    liar = Workload("liar", "l", "echo hello", (), WORKLOADS["hackbench"].parse, tools=("echo",))
    outcome = run_workload(liar, tmp_path, timeout_s=5)
    assert outcome.metrics == {}
    assert outcome.error is not None and "Time:" in outcome.error


# --- input checks before anything boots -------------------------------------------------------


def test_bad_params_are_rejected_with_the_known_names(tmp_path: Path) -> None:
    artifact = build("fifo_c", tmp_path)
    with pytest.raises(measure.MeasureError, match=r"no parameter 'slise'.*slice"):
        measure.check_params(artifact, {"slise": 1})
    with pytest.raises(measure.UnusableInput, match="`fast` is not a duration"):
        measure.check_params(artifact, {"slice": "fast"})
    with pytest.raises(measure.MeasureError, match="outside its range"):
        measure.check_params(artifact, {"slice": 1})
    assert measure.check_params(artifact, {"slice": 5000000}) == {"slice": 5000000}  # the API's ns
    with pytest.raises(measure.UnusableInput, match="write.*5000000ns|`5000000ns`"):
        measure.check_params(artifact, {"slice": "5000000"})  # as in the language: a unit
    assert measure.check_params(artifact, {"slice": "5ms"}) == {"slice": 5000000}
    assert measure.check_params(artifact, {"slice": "200us"}) == {"slice": 200000}
    with pytest.raises(measure.UnusableInput, match="followed by ns, us, ms or s"):
        measure.check_params(artifact, {"slice": "5 parsecs"})


def test_unknown_workload_fails_before_booting(tmp_path: Path) -> None:
    artifact = build("fifo_c", tmp_path)
    with pytest.raises(UnknownWorkloadError, match="did you mean 'hackbench'"):
        measure.run(artifact, workloads=["hackbenc"])


def test_run_each_checks_everything_before_booting(tmp_path: Path) -> None:
    artifact = build("fifo_c", tmp_path)
    with pytest.raises(measure.MeasureError, match="no policy given"):
        measure.run_each([])
    with pytest.raises(UnknownWorkloadError, match="did you mean 'hackbench'"):
        measure.run_each([(artifact, None)], workloads=["hackbenc"])
    with pytest.raises(measure.UnusableInput, match="has no parameter 'nope'"):
        measure.run_each([(artifact, None), (artifact, {"nope": 1})])


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    obj = tmp_path / "lonely.bpf.o"
    obj.write_bytes(b"\x7fELF")
    with pytest.raises(measure.MeasureError, match="manifest lonely.json is not beside it"):
        measure.open_artifact(obj)


# --- host mode -------------------------------------------------------------------------------


def test_host_mode_is_refused_without_sched_ext(tmp_path: Path) -> None:
    if Path("/sys/kernel/sched_ext/state").exists():
        pytest.skip("this host's kernel has sched_ext; the refusal path cannot be exercised")
    artifact = build("fifo_c", tmp_path)
    refusal = measure.host_mode_refusal()
    assert refusal is not None and "has no sched_ext" in refusal
    with pytest.raises(measure.HostModeRefused, match="drop --host"):
        measure.run(artifact, workloads=["hackbench"], repeat=1, host=True)


# --- the CLI's handling of bad input ---------------------------------------------------------


def test_cli_missing_policy_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["run", "/nonexistent/x.bpf.o"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err


def test_cli_unknown_workload_suggests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifact = build("fifo_c", tmp_path)
    assert cli(["run", str(artifact.object_path), "--workload", "pipee"]) == 2
    assert "did you mean 'pipe'" in capsys.readouterr().err


def test_cli_bad_param(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifact = build("fifo_c", tmp_path)
    assert cli(["run", str(artifact.object_path), "--param", "slice"]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err
    assert cli(["run", str(artifact.object_path), "--param", "bogus=3"]) == 2
    err = capsys.readouterr().err
    assert "no parameter 'bogus'" in err and "measuring" not in err, err


def test_cli_sched_source_with_errors_shows_diagnostics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.sched"
    bad.write_text('scheduler bad "x" {\n    on enqueue(t, flags) { insert t into nowhere }\n}\n')
    assert cli(["run", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "does not compile" in err and "bad.sched:2:" in err and "Traceback" not in err


def test_cli_missing_kernel_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    artifact = build("fifo_c", tmp_path)
    assert cli(["run", str(artifact.object_path), "--kernel", "/nonexistent/vmlinux"]) == 2
    assert "--kernel /nonexistent/vmlinux: no such file" in capsys.readouterr().err


def test_cli_host_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if Path("/sys/kernel/sched_ext/state").exists():
        pytest.skip("this host's kernel has sched_ext; the refusal path cannot be exercised")
    artifact = build("fifo_c", tmp_path)
    assert cli(["run", str(artifact.object_path), "--host", "--repeat", "1"]) == 1
    err = capsys.readouterr().err
    assert "--host refused" in err and "Traceback" not in err


# --- in the sandbox VM: real kernel, real policy, real workloads ------------------------------


def _sandbox_ready() -> None:
    from schedlang.runtime import provision

    try:
        provision.ensure()
    except provision.ProvisionError as exc:
        pytest.skip(f"sandbox cannot be provisioned: {exc}")


@pytest.mark.vm
def test_vm_fifo_run_through_the_cli_measures_both_sides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sandbox_ready()
    artifact = build("fifo_c", tmp_path / "fifo")
    out = tmp_path / "report.json"
    rc = cli(["run", str(artifact.object_path), "--repeat", "2", "--json", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    # progress streamed from the guest, table on stdout
    assert "[3/5] policy hackbench run 1 ..." in captured.err
    assert "hackbench  time_s" in captured.out and "ops=fifo_c" in captured.out
    report = json.loads(out.read_text())
    time_row = next(r for r in report["rows"] if r["metric"] == "time_s")
    assert time_row["baseline"]["n"] == 2 and time_row["policy"]["n"] == 2
    assert time_row["ratio"] > 0
    stats = report["policy_stats"]
    # ABBA with 2 a side: B P | P B, the policy's two runs are one block, loaded once
    assert stats["loads"] == 1 and stats["ops_seen"] == ["fifo_c"]
    assert stats["totals"]["nr_enqueued"] > 0 and stats["totals"]["nr_dispatched"] > 0
    assert stats["wakeup"]["total"] > 0
    assert report["events"] == []
    assert report["boot"]["accelerator"] in ("tcg", "kvm")
    assert report["representative"] == (report["boot"]["accelerator"] == "kvm")
    policy_runs = [r for r in report["runs"] if r["side"] == "policy"]
    assert [r["exit"] and r["exit"]["kind_name"] for r in policy_runs] == [None, "UNREG"]
    assert [r["load_s"] is not None for r in policy_runs] == [True, False]
    assert all(r["stats"]["nr_enqueued"] > 0 for r in policy_runs)  # each run's own count


@pytest.mark.vm
def test_vm_stall_policy_is_ejected_and_baseline_still_measured(tmp_path: Path) -> None:
    _sandbox_ready()
    artifact = build("stall_c", tmp_path)
    lines: list[str] = []
    report = measure.run(artifact, workloads=["hackbench"], repeat=2, progress=lines.append)
    assert len(report.events) == 1
    event = report.events[0]
    assert event.kind == "ejected" and event.exit_kind == "ERROR_STALL"
    assert event.reason  # the kernel's words, e.g. "runnable task stall"
    time_row = next(r for r in report.rows if r.metric == "time_s")
    assert time_row.baseline is not None and time_row.baseline.n == 2
    assert time_row.policy is None and time_row.ratio is None
    assert any("skipped (policy ejected earlier (ERROR_STALL))" in line for line in lines)
    assert "POLICY EJECTED during hackbench run 1: ERROR_STALL" in report.format_text()


@pytest.mark.vm
def test_vm_shared_rounds_give_both_policies_the_same_default_runs(tmp_path: Path) -> None:
    """run_each in rounds, B F S | S F B: one set of default runs in both reports; the stall
    policy ejected in its first run is skipped after, fifo_c is unaffected."""
    _sandbox_ready()
    fifo, stall = build("fifo_c", tmp_path / "f"), build("stall_c", tmp_path / "s")
    lines: list[str] = []
    reports = measure.run_each([(fifo, None), (stall, None)], repeat=2, progress=lines.append,
                               shared_default=True)  # fmt: skip
    assert [line.split(" ...")[0] for line in lines if line.endswith(" ...")] == [
        "[1/7] baseline hackbench warm-up", "[2/7] baseline hackbench run 1",
        "[3/7] policy (fifo_c) hackbench run 1", "[4/7] policy (stall_c) hackbench run 1",
        "[5/7] policy (stall_c) hackbench run 2", "[6/7] policy (fifo_c) hackbench run 2",
        "[7/7] baseline hackbench run 2",
    ]  # fmt: skip
    f_rep, s_rep = reports
    f_row, s_row = (next(r for r in rep.rows if r.metric == "time_s") for rep in reports)
    assert f_row.baseline is not None and s_row.baseline is not None
    assert f_row.baseline.values == s_row.baseline.values and f_row.baseline.n == 2
    assert f_rep.events == () and f_row.policy is not None and f_row.policy.n == 2
    assert f_rep.policy_stats.loads == 2 and f_rep.policy_stats.ops_seen == ("fifo_c",)
    [event] = s_rep.events
    assert event.kind == "ejected" and event.exit_kind == "ERROR_STALL" and event.index == 0
    assert s_row.policy is None
    assert any("skipped (policy ejected earlier (ERROR_STALL))" in line for line in lines)


@pytest.mark.vm
def test_vm_rejected_policy_reports_the_verifier_and_keeps_the_baseline(tmp_path: Path) -> None:
    _sandbox_ready()
    artifact = build("reject_c", tmp_path)
    report = measure.run(artifact, workloads=["hackbench"], repeat=1)
    [event] = report.events
    assert event.kind == "load_failed"
    assert "invalid mem access" in event.verifier_log
    assert event.position is not None and event.position["dsl_line"] == 8
    assert report.rows[0].baseline is not None and report.rows[0].baseline.n == 1
    assert report.policy_stats.loads == 0


@pytest.mark.vm
def test_vm_every_workload_parses_in_the_guest(tmp_path: Path) -> None:
    _sandbox_ready()
    artifact = build("fifo_c", tmp_path)
    report = measure.run(artifact, workloads=list(WORKLOADS), repeat=1)
    failed = [(r.workload, r.side, r.error) for r in report.runs if r.error]
    assert failed == []
    for row in report.rows:
        assert row.baseline is not None and row.policy is not None, row.workload
    assert report.events == ()


def test_a_job_without_a_policy_runs_both_sides_under_the_default() -> None:
    """run_default's job (no object): the 'policy' steps run the workload with nothing
    loaded, so the default is compared with itself; sort-join runs natively in a fraction of
    a second, so the guest runner itself is exercised on the host."""
    from schedlang.runtime.guest_job import Job, run_job

    if any(shutil.which(t) is None for t in ("sort", "join", "wc")):
        pytest.skip("coreutils' sort/join/wc not installed")
    job = Job(object_path="", manifest_path="", workloads=("sort-join",), repeat=2,
              results_path="", params={})  # fmt: skip
    lines: list[str] = []
    results = run_job(job, lines.append, lambda _data: None)
    runs = [(r["side"], r["index"], r["error"], r["metrics"]) for r in results["runs"]]
    joined = float(JOIN_SHARED)
    assert runs == [
        ("baseline", -1, None, {"joined_rows": joined}),
        ("baseline", 0, None, {"joined_rows": joined}),
        ("policy", 0, None, {"joined_rows": joined}),
        ("policy", 1, None, {"joined_rows": joined}),
        ("baseline", 1, None, {"joined_rows": joined}),
    ]
    assert results["events"] == [] and results["complete"]
    assert all(r["ops"] is None and r["load_s"] is None for r in results["runs"])


def test_a_shared_job_gives_every_policy_the_same_default_runs() -> None:
    """Two policy-less arms sharing rounds (run on the host, as above): each arm's results
    have its own policy-side runs and the very same default runs, in the order they ran."""
    from schedlang.runtime.guest_job import Arm, Job, run_job

    if any(shutil.which(t) is None for t in ("sort", "join", "wc")):
        pytest.skip("coreutils' sort/join/wc not installed")
    job = Job(object_path="", manifest_path="", workloads=("sort-join",), repeat=2,
              results_path="", params={}, shared=(Arm("", "", {}),))  # fmt: skip
    lines: list[str] = []
    results = run_job(job, lines.append, lambda _data: None)
    assert len(lines) == 7 * 2  # warm-up + 2 rounds of 3, a start and an end line each
    (second,) = results["shared"]
    sides = [[(r["side"], r["index"]) for r in arm["runs"]] for arm in (results, second)]
    assert sides[0] == [("baseline", -1), ("baseline", 0), ("policy", 0), ("policy", 1),
                        ("baseline", 1)]  # fmt: skip
    assert sides[1] == sides[0]
    first_base = [r for r in results["runs"] if r["side"] == "baseline"]
    assert first_base == [r for r in second["runs"] if r["side"] == "baseline"]
    assert results["complete"] and second["complete"] and second["steps_done"] == 7


def test_an_arm_reads_its_manifest_not_its_object(tmp_path: Path) -> None:
    """The guest reads a policy's manifest (JSON) beside its object (ELF); reading the object
    as the manifest failed every VM measurement with a UnicodeDecodeError."""
    from schedlang.runtime.guest_job import Arm, _ArmState

    obj, manifest = tmp_path / "p.bpf.o", tmp_path / "p.json"
    obj.write_bytes(b"\x7fELF\x02\x01\x01\x00\xf7")
    manifest.write_text('{"policy": "p"}')
    assert _ArmState(Arm(str(obj), str(manifest), {})).manifest == {"policy": "p"}

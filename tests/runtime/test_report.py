"""Report arithmetic on constructed runs: medians, ratios, spread, verdicts, policy stats."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schedlang.runtime.report import RunRecord, spread, summarize


def run(side: str, index: int, time_s: float, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "workload": "hackbench",
        "side": side,
        "index": index,
        "rc": 0,
        "wall_s": time_s + 0.1,
        "metrics": {"time_s": time_s},
        "output": f"Time: {time_s}\n",
    }
    record.update(extra)
    return record


def policy_run(index: int, time_s: float, enq: int, hist: list[int]) -> dict[str, Any]:
    return run(
        "policy",
        index,
        time_s,
        load_s=0.3 + index / 100,
        attach_s=0.05,
        ops="fifo_c",
        stats={"nr_enqueued": enq, "nr_dispatched": enq - 1, "wakeup_hist": hist, "exit_kind": 64},
        exit={"kind": "UNREG", "reason": "", "message": ""},
    )


JOB: dict[str, Any] = {
    "workloads": ["hackbench"],
    "repeat": 3,
    "order": "ABBA",
    "params": {"slice_ns": 5000000},
    "wakeup_hist_bounds_ns": [1000, 2000, 4000],
    "runs": [
        run("baseline", -1, 9.0),  # warm-up: never counted
        run("baseline", 0, 1.50),
        policy_run(0, 1.20, 100, [1, 2, 0, 0]),
        policy_run(1, 1.30, 200, [0, 3, 3, 1]),
        run("baseline", 1, 1.40),
        run("baseline", 2, 1.45),
        policy_run(2, 1.25, 300, [0, 0, 0, 0]),
    ],
}


def test_spread_median_and_quartiles() -> None:
    s = spread([4.0, 1.0, 3.0, 2.0])
    assert s is not None
    assert (s.median, s.min, s.max, s.n) == (2.5, 1.0, 4.0, 4)
    assert (s.q1, s.q3) == (1.75, 3.25)
    assert spread([]) is None
    one = spread([7.0])
    assert one is not None and (one.median, one.q1, one.q3) == (7.0, 7.0, 7.0)


def test_medians_ratio_and_verdict() -> None:
    report = summarize(policy="fifo_c", job_result=JOB, boot={"accelerator": "tcg"})
    time_row = next(r for r in report.rows if r.metric == "time_s")
    assert time_row.baseline is not None and time_row.policy is not None
    assert time_row.baseline.median == 1.45
    assert time_row.baseline.n == 3  # the 9.0 s warm-up is excluded
    assert time_row.policy.median == 1.25
    assert time_row.ratio == pytest.approx(1.25 / 1.45)
    assert time_row.verdict == "better"  # policy max 1.30 < baseline min 1.40, lower is better
    wall_row = next(r for r in report.rows if r.metric == "wall_s")
    assert wall_row.ratio == pytest.approx(1.35 / 1.55)


def test_overlapping_ranges_are_not_called_better() -> None:
    runs = [run("baseline", 0, 1.0), run("baseline", 1, 2.0)]
    runs += [run("policy", 0, 1.5), run("policy", 1, 1.6)]
    job = dict(JOB, runs=runs)
    row = summarize(policy="p", job_result=job, boot={}).rows[0]
    assert row.verdict == "overlap"
    assert row.ratio == pytest.approx(1.55 / 1.5)


def test_higher_is_better_flips_the_verdict() -> None:
    def pipe(side: str, index: int, usecs: float) -> dict[str, Any]:
        metrics = {"usecs_per_op": usecs, "ops_per_s": 1e6 / usecs}
        return {**run(side, index, 0), "workload": "pipe", "metrics": metrics}

    runs = [pipe("baseline", 0, 80.0), pipe("baseline", 1, 82.0)]
    runs += [pipe("policy", 0, 120.0), pipe("policy", 1, 125.0)]
    job = dict(JOB, workloads=["pipe"], runs=runs)
    rows = {r.metric: r for r in summarize(policy="p", job_result=job, boot={}).rows}
    assert rows["usecs_per_op"].verdict == "worse"
    assert rows["ops_per_s"].verdict == "worse"
    assert rows["ops_per_s"].better == "higher"


def test_one_run_a_side_gives_no_verdict() -> None:
    job = dict(JOB, runs=[run("baseline", 0, 2.0), run("policy", 0, 1.0)])
    row = summarize(policy="p", job_result=job, boot={}).rows[0]
    assert row.ratio == pytest.approx(0.5)
    assert row.verdict == "few runs"


def test_failed_runs_are_excluded_and_missing_side_has_no_ratio() -> None:
    runs = [
        run("baseline", 0, 1.0),
        run("policy", 0, 5.0, error="policy ejected during the run: ERROR_STALL"),
        run("policy", 1, 5.0, rc=1),
    ]
    row = summarize(policy="p", job_result=dict(JOB, runs=runs), boot={}).rows[0]
    assert row.baseline is not None and row.baseline.n == 1
    assert row.policy is None
    assert row.ratio is None and row.verdict == "n/a"


def test_policy_stats_are_summed_and_histogram_merged() -> None:
    stats = summarize(policy="fifo_c", job_result=JOB, boot={}).policy_stats
    assert stats.loads == 3
    assert stats.totals == {"nr_enqueued": 600, "nr_dispatched": 597}
    assert stats.ops_seen == ("fifo_c",)
    assert stats.load_s is not None and stats.load_s.median == pytest.approx(0.31)
    wake = stats.wakeup
    assert wake is not None
    assert wake.counts == (1, 5, 3, 1) and wake.total == 10
    assert wake.p50_ns == 2000  # 6 of 10 samples are <= 2 us
    assert wake.p99_ns is None  # the last sample is past the last bound (open bucket)


def test_tcg_flag_and_caveat() -> None:
    tcg = summarize(
        policy="p", job_result=JOB, boot={"accelerator": "tcg", "representative_timing": False}
    )
    assert not tcg.representative and "TCG" in tcg.caveat
    assert "NOTE: timings not representative" in tcg.format_text()
    kvm = summarize(
        policy="p", job_result=JOB, boot={"accelerator": "kvm", "representative_timing": True}
    )
    assert kvm.representative and kvm.caveat == ""


def test_events_and_text_table() -> None:
    job = dict(
        JOB,
        events=[
            {
                "kind": "ejected",
                "workload": "hackbench",
                "index": 0,
                "exit_kind": "ERROR_STALL",
                "reason": "runnable task stall",
                "message": "kworker failed to run for 3.0s",
            }
        ],
    )
    report = summarize(policy="stall_c", job_result=job, boot={"accelerator": "tcg", "vcpus": 2})
    text = report.format_text()
    assert "POLICY EJECTED during hackbench run 1: ERROR_STALL: runnable task stall" in text
    assert "1.450 [1.400-1.500]" in text  # baseline median [min-max]
    assert "0.862" in text  # ratio 1.25 / 1.45


def test_json_round_trip_keeps_runs_and_rows() -> None:
    report = summarize(policy="fifo_c", job_result=JOB, boot={"accelerator": "tcg"})
    data = json.loads(report.to_json())
    assert data["policy"] == "fifo_c"
    assert len(data["runs"]) == 7
    assert RunRecord.from_dict(data["runs"][2]).stats == JOB["runs"][2]["stats"]
    assert data["rows"][0]["baseline"]["values"] == [1.5, 1.4, 1.45]
    assert data["policy_stats"]["wakeup"]["p99_ns"] is None


def _load_failed(obj: str, position: dict[str, object]) -> dict[str, object]:
    """A job whose policy the kernel refused before the first policy run."""
    return dict(
        JOB,
        runs=[run("baseline", 0, 1.0)],
        events=[
            {
                "kind": "load_failed",
                "workload": "hackbench",
                "index": 0,
                "exit_kind": None,
                "reason": "load failed at the load stage",
                "message": f"the kernel rejected {obj}: Permission denied",
                "verifier_log": "...long log...",
                "position": {"message": "R0 invalid mem access 'map_value_or_null'", **position},
            }
        ],
    )


def test_load_failure_shows_the_verifier_complaint_and_dsl_line() -> None:
    job = _load_failed(
        "reject_c.bpf.o",
        {
            "c_file": "reject_c.bpf.c",
            "c_line": 43,
            "c_text": "*v += 1;",
            "dsl_line": 8,
            "dsl_col": 9,
        },
    )
    report = summarize(policy="reject_c", job_result=job, boot={})
    assert not report.policy_measured
    text = report.format_text()
    assert "POLICY LOAD FAILED before hackbench run 1: the kernel rejected" in text
    assert (
        "verifier: R0 invalid mem access 'map_value_or_null' at DSL line 8:9, "
        "reject_c.bpf.c:43: *v += 1;" in text
    )


def test_more_vcpus_than_host_cores_is_noted() -> None:
    over = summarize(policy="p", job_result=JOB, boot={"vcpus": 4, "host_cores": 2})
    assert any("4 vCPUs on 2 host cores" in note for note in over.notes)
    fits = summarize(policy="p", job_result=JOB, boot={"vcpus": 2, "host_cores": 2})
    assert fits.notes == ()


def test_load_failure_of_a_c_policy_shows_the_c_line_and_column() -> None:
    job = _load_failed(
        "nullmap_c.bpf.o",
        {
            "c_file": "nullmap_c.bpf.c",
            "c_line": 52,
            "c_col": 9,
            "c_text": "*count += 1;",
            "dsl_line": None,
            "dsl_col": None,
        },
    )
    text = summarize(policy="nullmap_c", job_result=job, boot={}).format_text()
    assert (
        "verifier: R0 invalid mem access 'map_value_or_null' at nullmap_c.bpf.c:52:9: "
        "*count += 1;" in text
    )


def test_boot_line_reports_reboots_after_early_deaths() -> None:
    boot = {
        "accelerator": "tcg",
        "vcpus": 2,
        "host_cores": 2,
        "qemu_version": "10.0.2",
        "kernel_release": "7.3.4+deb13-cloud-amd64",
        "boot_s": 9.5,
        "tcg_threading": "single",
        "retries": [{"attempt": 1, "tcg_threading": "multi", "reason": "Oops: invalid opcode"}],
    }
    text = summarize(policy="p", job_result=JOB, boot=boot).format_text()
    assert (
        "boot: tcg, 2 vCPUs on 2 host cores, qemu 10.0.2, kernel 7.3.4+deb13-cloud-amd64, "
        "booted in 9.50s, after 1 reboot (Oops: invalid opcode), TCG threads single\n"
    ) in text
    plain = summarize(policy="p", job_result=JOB, boot=dict(boot, retries=[])).format_text()
    assert "booted in 9.50s\n" in plain


def test_a_run_the_policy_stayed_loaded_for_counts_its_stats_not_a_load() -> None:
    """guest_job keeps a policy loaded across its consecutive runs: the second run of the
    block has no load times and its own share of the counters, which still add up."""
    block = dict(policy_run(1, 1.30, 200, [0, 3, 3, 1]), load_s=None, attach_s=None, exit=None)
    job = dict(JOB, runs=[*JOB["runs"][:3], block, *JOB["runs"][4:]])
    stats = summarize(policy="fifo_c", job_result=job, boot={}).policy_stats
    assert stats.loads == 2
    assert stats.totals == {"nr_enqueued": 600, "nr_dispatched": 597}
    assert stats.load_s is not None and stats.load_s.values == (0.3, 0.32)
    assert stats.wakeup is not None and stats.wakeup.total == 10

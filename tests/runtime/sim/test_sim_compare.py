"""A policy against the default model: rows shaped like the VM report, ejections reported."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sim_policies import Fifo, Hoarder

import schedlang
from schedlang.runtime.sim import rtapp
from schedlang.runtime.sim.compare import compare
from schedlang.runtime.sim.metrics import jain, percentile

ROOT = Path(__file__).resolve().parents[3]


def test_percentile_is_nearest_rank_and_jain_spans_one_over_n_to_one() -> None:
    values = list(range(1, 101))
    assert [percentile(values, p) for p in (0.01, 0.5, 0.99, 1.0)] == [1, 50, 99, 100]
    assert percentile([], 0.5) is None
    assert jain([1.0, 1.0, 1.0, 1.0]) == 1.0
    assert jain([1.0, 0.0, 0.0, 0.0]) == 0.25
    assert jain([]) is None


def test_fifo_against_the_default_on_mix_loses_the_interactive_pair() -> None:
    # Under one FIFO queue the ping-pong pair waits behind a hog's whole slice at every hand-
    # off and does not finish in 3 s; the default model's wakeup preemption lets it finish.
    report = compare(lambda: Fifo(), rtapp.load("mix"), cpus=2, seeds=(0, 1))
    rows = {row.metric: row for row in report.rows}
    assert rows["makespan_s"].policy is None and rows["makespan_s"].baseline is not None
    ping = rows["wakeup_p99_us[ping]"]
    assert ping.baseline is not None and ping.policy is not None
    assert ping.policy.min > 1000 * ping.baseline.max and ping.verdict == "worse"
    assert rows["throughput"].verdict == "same"  # the hogs keep both CPUs busy either way
    assert not report.ejected
    text = report.format_text()
    assert text.splitlines()[0] == (
        "policy fifo vs default model, simulated: workload mix (mix.json), 2 CPUs"
    )
    assert "wakeup_p99_us[ping]" in text
    assert json.loads(report.to_json())["rows"][0]["metric"] == "makespan_s"


def test_a_stalling_policy_is_reported_as_ejected_with_the_kernels_words() -> None:
    report = compare(Hoarder, rtapp.load("pipe"), cpus=2, seeds=(0,), seconds=10)
    (event,) = report.events
    assert (event.kind, event.exit_kind, event.reason) == (
        "ejected",
        "ERROR_STALL",
        "runnable task stall",
    )
    # Started up to 50 µs late (the seed's jitter), found by the check at 7.5 s.
    assert re.fullmatch(r"p[io]ng-0\[10[01]\] failed to run for 7\.4\d\ds", event.message)
    assert "POLICY EJECTED (seed 0): ERROR_STALL: runnable task stall (" in report.format_text()


def test_fairness_between_processes_counts_each_rt_app_task_as_one_process(
    tmp_path: Path,
) -> None:
    # Three CPU-bound processes on 2 CPUs with three, two and one threads. Shared per thread
    # (the default model) they get 3/6, 2/6 and 1/6 of the CPU time: Jain's index over the
    # processes is 1 / (3 x (9 + 4 + 1) / 36) = 6/7 while the per-thread index is 1.0.
    # process_fair keeps a clock per tgid and gives each process a third (2/3 of a CPU, which
    # the one-threaded process can use).
    path = tmp_path / "three.json"
    hog = {"loop": -1, "run": 100000}
    path.write_text(
        json.dumps(
            {
                "global": {"duration": 1, "calibration": 100},
                "tasks": {
                    "many": {"instance": 3, **hog},
                    "two": {"instance": 2, **hog},
                    "one": {"instance": 1, **hog},
                },
            }
        )
    )
    report = schedlang.simulate(
        ROOT / "stdlib" / "process_fair.sched", str(path), cpus=2, seeds=(0,)
    )
    base, pol = report.baseline_runs[0], report.policy_runs[0]
    want = {"many": 3 / 6, "two": 2 / 6, "one": 1 / 6}  # within the seed's start jitter
    assert all(abs(t.cpu_share - want[t.task]) < 0.005 for t in base.tasks), base.tasks
    assert base.fairness is not None and base.fairness > 0.999
    assert base.process_fairness is not None and abs(base.process_fairness - 6 / 7) < 0.005
    assert all(abs(t.cpu_share - 1 / 3) < 0.01 for t in pol.tasks), pol.tasks
    assert pol.process_fairness is not None and pol.process_fairness > 0.999
    row = next(r for r in report.rows if r.metric == "process_fairness")
    assert row.better == "higher"  # one seed: the verdict says "few runs"
    assert row.ratio is not None and abs(row.ratio - 7 / 6) < 0.01
    text = report.format_text()
    assert "CPU share per process (seed 0, default / policy): many 0.498 / 0.336, two" in text

"""A policy against the default model: rows shaped like the VM report, ejections reported."""

from __future__ import annotations

import json
import re

from sim_policies import Fifo, Hoarder

from schedlang.runtime.sim import rtapp
from schedlang.runtime.sim.compare import compare
from schedlang.runtime.sim.metrics import jain, percentile


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

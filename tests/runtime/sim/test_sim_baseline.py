"""The default-scheduler model on hand-computed schedules (no jitter, no switch cost)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from schedlang.runtime.sim import rtapp
from schedlang.runtime.sim.baseline import DefaultPolicy
from schedlang.runtime.sim.machine import Machine

MS = 1_000_000


def run(tasks: Mapping[str, object], cpus: int = 2) -> list[tuple[float, int, str]]:
    model = rtapp.parse(json.dumps({"tasks": tasks}), "t.json")
    result = Machine(
        DefaultPolicy(cpus),
        model,
        cpus,
        jitter=0,
        switch_ns=0,
        ipi_ns=0,
        idle_exit_ns=0,
        trace=True,
    ).run()
    assert result.trace is not None
    comm = {th.t.pid: th.t.comm for th in result.threads}
    return [(e.ns / MS, e.cpu, comm[e.pid]) for e in result.trace if e.what == "run"]


def test_base_slice_grows_with_log2_of_the_cpus_up_to_8() -> None:
    assert [DefaultPolicy(n).base_slice for n in (1, 2, 4, 8, 64)] == [
        750_000,
        1_500_000,
        2_250_000,
        3_000_000,
        3_000_000,
    ]


def test_a_waking_task_preempts_a_hog_that_ran_more_than_a_base_slice_ahead() -> None:
    # The hog has run 10 ms (vtime 10 ms) when blip wakes with vtime 0: blip preempts it.
    tasks = {
        "hog": {"loop": 1, "cpus": [0], "run": 20000},
        "blip": {"loop": 1, "cpus": [0], "delay": 10000, "run": 100},
    }
    assert run(tasks) == [(0.0, 0, "hog-0"), (10.0, 0, "blip-0"), (10.1, 0, "hog-0")]


def test_an_idle_cpu_is_used_at_once_through_the_default_select() -> None:
    tasks = {
        "hog": {"loop": 1, "run": 20000},
        "blip": {"loop": 1, "delay": 10000, "run": 100},
    }
    assert run(tasks) == [(0.0, 0, "hog-0"), (10.0, 1, "blip-0")]

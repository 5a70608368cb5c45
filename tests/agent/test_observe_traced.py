"""Observe's bottleneck on real traces: perf's timehist of suite runners traced in the sandbox
VM (data/traces, see its README), profiled as `schedlang analyze` does. Each case names the
group rule 1 weighs (a sleeper woken >= 20 times beside hogs, waiting p99 >= 4x its median
burst: all of them do) and how much of the traced time its waits add up to, the figure that
decides whether its latency can matter to the run (agent/observe.py, rule 1)."""

from __future__ import annotations

import json
import lzma
from dataclasses import replace
from pathlib import Path

import pytest

from schedlang.agent.observe import profile
from schedlang.agent.profile import WorkloadProfile
from schedlang.runtime.sched_trace import parse_timehist

DATA = Path(__file__).parent / "data" / "traces"


def traced(name: str) -> WorkloadProfile:
    meta = json.loads((DATA / f"{name}.json").read_text())
    text = lzma.decompress((DATA / f"{name}.timehist.xz").read_bytes()).decode()
    trace = parse_timehist(text, workload=name, cpus=meta["cpus"])
    return profile(replace(trace, workload_tids=frozenset(meta["workload_tids"]),
                           metrics=meta["metrics"]))  # fmt: skip


@pytest.mark.parametrize(
    ("name", "bottleneck", "sleeper", "wakeups", "waited_us", "share"),
    [
        # a pipeline's counter behind the compressors: its waits are under 1% of the run
        ("xz", "none", "wc", 47, 13015.0, 0.0024),
        ("gzip", "none", "wc", 89, 31914.0, 0.0066),
        # stress-ng's parent behind its own CPU workers
        ("stress-cpu", "none", "stress-ng", 263, 73021.0, 0.0170),
        # the pipe beside the hogs waits 4% of the run: what limits it is the hand-off
        ("mix", "ping-pong", "sched-pipe", 1481, 176722.0, 0.0430),
        # the one helper over the line: this trace's wc (222 wakeups, 5% of the CPU time)
        # waited 6% of the run, which serving it at once could at most give back (the pipe
        # from join fills, so join can wait on it); named, as rule 1 says
        ("sort-join", "wakeup-latency", "wc", 222, 452810.0, 0.0611),
    ],
)  # fmt: skip
def test_a_sleeper_is_the_bottleneck_only_when_its_waits_matter_to_the_run(
    name: str, bottleneck: str, sleeper: str, wakeups: int, waited_us: float, share: float
) -> None:
    p = traced(name)
    group = p.thread(sleeper)
    assert (p.source, p.bottleneck.value) == ("vm", bottleneck)
    assert sum(t.wakeups for t in group) == wakeups
    waited = sum(t.wakeup_latency.total_us for t in group)
    assert waited == waited_us
    assert round(waited / (p.duration_s * 1e6), 4) == share
    if bottleneck == "wakeup-latency":
        assert p.bottleneck_why.startswith(f"wakeup latency of short-sleeping threads: {sleeper} ")
        assert p.bottleneck_why.endswith(f"{waited_us / 1e3:.0f} ms, {100 * share:.0f}% of the "
                                         "traced time")  # fmt: skip

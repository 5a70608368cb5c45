"""Observe: the bottleneck rules one case each, exact profile figures, and rt-app models the
simulator accepts and runs (docs/agent.md, "Observe")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import schedlang
from schedlang.agent.observe import profile
from schedlang.agent.profile import Bottleneck, Dist, Slo, SloMetric
from schedlang.runtime.sched_trace import Migration, SchedTrace, Stretch, Wakeup
from schedlang.runtime.sim import rtapp


def _timeline(
    tid: int,
    comm: str,
    n: int,
    run: float,
    gap: float,
    *,
    cpus: tuple[int, ...] = (0,),
    preempted: bool = False,
    start: float = 0.0,
) -> list[Stretch]:
    """`n` stretches of `run` µs, `gap` µs apart, on `cpus` in turn. A preempted thread waits
    the whole gap runnable; a sleeping one sleeps gap - wait and waits a quarter of it."""
    out = []
    for i in range(n):
        begin = start + i * (run + gap)
        if i == 0:
            sleep, wait, woken = None, None, False
        elif preempted:
            sleep, wait, woken = 0.0, gap, False
        else:
            sleep, wait, woken = gap * 0.75, gap * 0.25, True
        out.append(
            Stretch(tid, tid, comm, cpus[i % len(cpus)], begin, begin + run, sleep, wait, woken,
                    preempted)
        )  # fmt: skip
    return out


def _trace(stretches: list[Stretch], wakeups: list[Wakeup] = (), migrations=(), **kw) -> SchedTrace:  # type: ignore[assignment,no-untyped-def]
    return SchedTrace(
        source="vm",
        tool="test",
        workload=kw.pop("workload", "case"),
        cpus=kw.pop("cpus", 2),
        stretches=tuple(stretches),
        wakeups=tuple(wakeups),
        migrations=tuple(migrations),
        **kw,
    )


def _wakeups(tid: int, n: int, waker: int = 0) -> list[Wakeup]:
    return [Wakeup(float(i), waker, tid) for i in range(n)]


def _latency_case() -> SchedTrace:
    hogs = _timeline(10, "hog", 50, 4000, 100, cpus=(0,), preempted=True) + _timeline(
        11, "hog", 50, 4000, 100, cpus=(1,), preempted=True
    )
    ui = _timeline(20, "ui", 30, 100, 4000, cpus=(0,), start=4000)  # in hog 10's gaps
    return _trace(hogs + ui, _wakeups(20, 30), metrics={"wall_s": 0.25})


def test_wakeup_latency_of_sleepers_behind_hogs() -> None:
    p = profile(_latency_case())
    assert p.bottleneck is Bottleneck.WAKEUP_LATENCY
    assert p.bottleneck_why == (
        "wakeup latency of short-sleeping threads: ui (1 threads, 30 wakeups) waits p99 1000 us "
        "for a CPU to run bursts of p50 100 us, behind CPU-bound hog; its waits add up to 29 ms, "
        "14% of the traced time"
    )
    assert p.slos == (
        Slo(SloMetric.WAKEUP_P99_US, "max", 500.0, task="ui",
            why="halve the tail wakeup latency of the sleeping threads"),
        Slo(SloMetric.THROUGHPUT, "min", 1.8546, task="hog", hard=True,
            why="keep 95% of the CPU-bound threads' CPU time"),
    )  # fmt: skip
    ui = p.thread("ui")[0]
    assert ui.run == Dist(30, 100.0, 100.0, 100.0, 3000.0)
    assert ui.sleep == Dist(29, 3000.0, 3000.0, 3000.0, 87000.0)
    assert ui.wakeup_latency == Dist(29, 1000.0, 1000.0, 1000.0, 29000.0)
    assert (ui.switches, ui.wakeups, ui.preemptions) == (30, 30, 0)
    hog = p.thread("hog")[0]
    assert hog.rq_wait == Dist(49, 100.0, 100.0, 100.0, 4900.0)
    assert hog.preemptions == 50
    # Pooled over the threads: only ui was woken; 30 bursts of 100 µs, 100 of 4000.
    assert p.wakeup_latency == Dist(29, 1000.0, 1000.0, 1000.0, 29000.0)
    assert p.run == Dist(130, 4000.0, 4000.0, 4000.0, 403000.0)
    assert p.duration_s == 0.2049  # 0 .. the hogs' last stretch end (49 x 4100 + 4000 µs)
    assert [c.busy for c in p.cpu_busy] == [0.9907, 0.9761]  # (200000 + 3000) / 204900


def test_a_sleepers_wait_too_short_to_matter_to_the_run_is_not_the_bottleneck() -> None:
    """The same sleeper, waiting as long for as short bursts, beside hogs that run four times
    longer: its 29 ms of waiting are 3.5% of the run, under the 5% a time SLO asks, so its
    latency cannot be what limits the workload (a batch job's `wc`), and time is the goal."""
    hogs = _timeline(10, "hog", 200, 4000, 100, cpus=(0,), preempted=True) + _timeline(
        11, "hog", 200, 4000, 100, cpus=(1,), preempted=True
    )
    ui = _timeline(20, "ui", 30, 100, 4000, cpus=(0,), start=4000)
    p = profile(_trace(hogs + ui, _wakeups(20, 30), metrics={"wall_s": 0.9}))
    assert p.thread("ui")[0].wakeup_latency == Dist(29, 1000.0, 1000.0, 1000.0, 29000.0)
    assert p.duration_s == 0.8199
    assert p.bottleneck is Bottleneck.NONE
    assert p.slos[0] == Slo(SloMetric.WALL_S, "max", 0.855, why="finish 5% sooner")


def test_ping_pong_pairs() -> None:
    ping = _timeline(1, "ping", 20, 10, 30)
    pong = _timeline(2, "pong", 20, 10, 30, start=20)
    wakes = _wakeups(2, 20, waker=1) + _wakeups(1, 20, waker=2)
    p = profile(_trace(ping + pong, wakes, metrics={"wall_s": 1.0}))
    assert p.bottleneck is Bottleneck.PING_PONG
    assert p.bottleneck_why == (
        "message passing ping-pong: 100% of the 40 wakeups go back and forth within 1 pair of "
        "threads (ping <-> pong x1)"
    )
    assert p.slos[0] == Slo(SloMetric.WALL_S, "max", 0.95, why="finish 5% sooner")
    assert p.slos[1].metric is SloMetric.WAKEUP_P99_US and p.slos[1].hard
    # An exclusive pair is modelled as a hand-off, as the shipped pipe.json does.
    assert p.rtapp["tasks"]["ping-0a"] == {
        "loop": 1,
        "delay": 0,
        "phases": {
            "pingpong": {"loop": 20, "run": 10, "sync": {"ref": "pair0", "mutex": "pair0m"}},
            "done": {"signal": "pair0"},
        },
    }
    assert set(p.rtapp["tasks"]) == {"ping-0a", "pong-0b"}


def test_cpu_saturated() -> None:
    batch = [
        s
        for tid in (1, 2, 3, 4)
        for s in _timeline(
            tid,
            "batch",
            10,
            1000,
            1000,
            cpus=(tid % 2,),
            preempted=True,
            start=0 if tid < 3 else 1000,
        )  # fmt: skip
    ]
    p = profile(_trace(batch))
    assert p.bottleneck is Bottleneck.CPU_SATURATED
    assert p.bottleneck_why == (
        "CPU saturated: the CPUs were 100% busy and the threads waited 36 ms runnable for "
        "40 ms of running"
    )
    # No time of its own and saturated CPUs: only the latency guard remains (no wakeups).
    assert p.slos == ()
    assert p.rtapp["tasks"] == {"batch": {"instance": 4, "delay": 500, "loop": 1, "run": 10000}}


def test_migrations() -> None:
    roamer = _timeline(1, "roamer", 20, 100, 900, cpus=(0, 1))
    moves = [Migration(float(i), 1, i % 2, 1 - i % 2) for i in range(19)]
    p = profile(_trace(roamer, _wakeups(1, 19), moves))
    assert p.bottleneck is Bottleneck.MIGRATIONS
    assert p.bottleneck_why == "migrations: 95% of the 20 switches follow a move to another CPU"
    assert p.counts.migrations == 19


def test_nothing_stands_out() -> None:
    p = profile(_trace(_timeline(1, "calm", 20, 100, 900), _wakeups(1, 19)))
    assert p.bottleneck is Bottleneck.NONE
    assert p.bottleneck_why == "nothing stands out: the CPUs were 5% busy, wakeups p99 225 us"
    assert p.slos == (
        Slo(SloMetric.THROUGHPUT, "min", 0.1099, why="5% more useful CPU time per second"),
        Slo(SloMetric.WAKEUP_P99_US, "max", 450.0, hard=True,
            why="do not buy the gain with twice the tail latency"),
    )  # fmt: skip


def test_threads_outside_the_workload_are_left_out() -> None:
    trace = _latency_case()
    p = profile(SchedTrace(**{**trace.__dict__, "workload_tids": frozenset({20})}))
    assert [t.comm for t in p.threads] == ["ui"]
    # ...but the CPUs' busy share still counts them: it is what the CPUs did. In ui's window
    # (4000 .. 123000 µs) CPU 0 ran hog 10 for 29 x 4000 µs and ui for 30 x 100 µs.
    assert p.duration_s == 0.119
    assert p.cpu_busy[0].busy == 1.0


def test_the_model_round_trips_through_the_simulator(tmp_path: Path) -> None:
    """The model of a latency case is accepted by the simulator's reader, and profiling its
    simulated run finds the same thread groups with the same CPU demand per burst."""
    p = profile(_latency_case())
    assert p.rtapp["tasks"] == {
        "hog": {"instance": 2, "delay": 0, "loop": 1, "run": 200000},
        "ui": {"instance": 1, "delay": 4000, "loop": 30, "run": 100, "sleep": 3000},
    }
    path = tmp_path / "model.json"
    path.write_text(json.dumps(p.rtapp))
    model = rtapp.load(str(path))
    assert [(t.name, t.instances) for t in model.threads] == [("hog", 2), ("ui", 1)]
    again = profile(schedlang.trace(str(path), sim=True))
    assert again.source == "sim"
    assert sorted({t.comm for t in again.threads}) == ["hog", "ui"]
    # 30 bursts, and the last wakeup (after the last sleep) to end the program.
    assert again.thread("ui")[0].switches == 31
    assert again.thread("ui")[0].run.p50_us == pytest.approx(100, rel=0.05)


def test_simulated_pipe_profile_is_exact() -> None:
    p = profile(schedlang.trace("pipe", sim=True, seed=0))
    assert (p.counts.threads, p.counts.wakeups, p.counts.switches) == (2, 2002, 2002)
    assert p.bottleneck is Bottleneck.NONE
    # The simulator's figure for the barrier hand-off model of 56178ff, pinned: 2000 hand-offs
    # to the other, idle CPU, each the IPI and the idle exit (14 µs), a 1 µs switch and 2 µs.
    assert p.metrics["makespan_s"] == pytest.approx(0.034051637)
    assert p.rtapp["tasks"]["ping"]["loop"] == 1001


def test_a_long_trace_is_scaled_down_and_tiny_groups_left_out() -> None:
    """6000 bursts of a sleeping worker and 2 of a shell: the model replays 5000 of the 6002
    (the worker's 6000 and its 1200 µs delay times 5000/6002); the shell, with under 1% of
    the CPU time and of the wakeups, is left out."""
    worker = _timeline(1, "worker", 6000, 100, 100, start=1200)
    shell = _timeline(2, "sh", 2, 10, 50)
    p = profile(_trace(worker + shell, _wakeups(1, 5999)))
    assert p.rtapp["tasks"] == {
        "worker": {"instance": 1, "delay": 999, "loop": 4998, "run": 100, "sleep": 75}
    }
    assert p.notes == (
        "left out of the rt-app model (under 1% of the CPU time and of the wakeups each): sh",
        "the rt-app model replays 0.833 of the observed bursts (at most 5000), delays scaled alike",
    )

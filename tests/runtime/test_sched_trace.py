"""Reading `perf sched timehist` (real output captured from the sandbox) and the simulator's
trace into the one form Observe profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from schedlang.runtime.sched_trace import (
    Migration,
    Stretch,
    TraceParseError,
    Wakeup,
    from_sim_events,
    parse_timehist,
)
from schedlang.runtime.sim.machine import TraceEvent

DATA = Path(__file__).parent / "data" / "timehist-hackbench.txt"


def _rows(tid: int) -> list[Stretch]:
    trace = parse_timehist(DATA.read_text(), workload="hackbench")
    return [s for s in trace.stretches if s.tid == tid]


def test_counts_and_the_lost_thread() -> None:
    trace = parse_timehist(DATA.read_text(), workload="hackbench")
    assert (trace.cpus, trace.workload, trace.source) == (2, "hackbench", "vm")
    assert (len(trace.stretches), len(trace.wakeups), len(trace.migrations)) == (32, 21, 1)
    assert trace.notes == ("1 rows about threads perf could not name (:-1[-1]) left out",)
    idle = [s for s in trace.stretches if s.tid == 0]
    assert len(idle) == 7 and {s.comm for s in idle} == {"<idle>"}


def test_a_thread_of_a_process_keeps_its_tgid_and_its_first_wakeup() -> None:
    # perf[116] awakened: perf[118/116], which then ran 0.281 ms after 10.169 ms of delay.
    assert _rows(118) == [
        Stretch(118, 116, "perf", 1, 50155304.0, 50155585.0, None, 10169.0, True, False)
    ]


def test_preempted_rows_W_wait_the_whole_gap() -> None:
    """hackbench[119] left at 50.155303 as `W` (preempted on the 7.3 kernel, read by perf
    6.1); its next row says `wait 0.346 sch delay 0.000`: 346 µs waiting runnable, no sleep."""
    first, second, third = _rows(119)
    assert first == Stretch(119, 119, "hackbench", 1, 50121254.0, 50155303.0, None, None, False, True)  # fmt: skip
    assert second == Stretch(119, 119, "hackbench", 1, 50155651.0, 50167741.0, 0.0, 346.0, False, True)  # fmt: skip
    # After the cut, an `awakened: hackbench[119]` row precedes its next switch: it had
    # blocked, so `sch delay` (0.128 ms) is its wakeup latency and the rest of `wait` a sleep.
    assert third == Stretch(119, 119, "hackbench", 1, 64916967.0, 64917254.0, 975277.0, 128.0, True, False)  # fmt: skip


def test_R_means_runnable_and_sleeps_follow_wakeups() -> None:
    rows = _rows(116)
    assert [(s.sleep_us, s.wait_us, s.woken, s.preempted) for s in rows] == [
        (None, 4132.0, True, True),  # first row; woken at 50.140698, left `R`
        (0.0, 1915.0, False, False),  # after `R`: the whole 1.915 ms was a run-queue wait
        (1778.0, 70.0, True, False),  # wait 1.848 = 1.778 asleep + 0.070 sch delay
        (5588.0, 37.0, True, False),
        (260.0, 27.0, True, False),
        (104.0, 24.0, True, False),
        (173.0, 22.0, True, False),
    ]
    assert rows[0].run_us == 8192.0


def test_events() -> None:
    trace = parse_timehist(DATA.read_text())
    assert trace.wakeups[:2] == (Wakeup(50140698.0, 14, 116), Wakeup(50145134.0, 116, 118))
    assert trace.migrations == (Migration(50152633.0, 118, 0, 1),)
    # `swapper` (an interrupt in the idle task) wakes as tid 0.
    assert Wakeup(50158741.0, 0, 14) in trace.wakeups


def test_unreadable_rows_name_their_line() -> None:
    text = "      50.1 [0000]  hackbench[1]   0.000  0.000\n"
    with pytest.raises(TraceParseError, match=r"^line 1: neither a switch nor an event: "):
        parse_timehist(text)
    with pytest.raises(TraceParseError, match=r"no switch rows: is this `perf sched timehist`"):
        parse_timehist("Samples do not have callchains.\n")


def test_sim_events_become_the_same_stretches() -> None:
    """Thread 100 runs, is preempted by 101 (stop, then run with no wakeup between), runs
    again and blocks; 101 is woken, runs, and is still running when the run stops."""
    ev = [
        TraceEvent(0, 0, "wake", 100),
        TraceEvent(1000, 0, "run", 100),
        TraceEvent(5000, 0, "wake", 101),
        TraceEvent(6000, 0, "stop", 100),
        TraceEvent(6000, 0, "run", 101),
        TraceEvent(9000, 0, "stop", 101),
        TraceEvent(9000, 0, "run", 100),
        TraceEvent(10000, 0, "stop", 100),
        TraceEvent(12000, 1, "wake", 101),
        TraceEvent(12500, 1, "run", 101),
    ]
    trace = from_sim_events(ev, {100: ("a", 100), 101: ("b", 100)}, 2, 20000, workload="w")
    assert trace.stretches == (
        Stretch(100, 100, "a", 0, 1.0, 6.0, None, 1.0, True, True),
        Stretch(101, 100, "b", 0, 6.0, 9.0, None, 1.0, True, False),
        Stretch(100, 100, "a", 0, 9.0, 10.0, 0.0, 3.0, False, False),
        Stretch(101, 100, "b", 1, 12.5, 20.0, 3.0, 0.5, True, False),
    )
    assert trace.migrations == (Migration(12.5, 101, 0, 1),)
    assert [w.waker for w in trace.wakeups] == [0, 0, 0]

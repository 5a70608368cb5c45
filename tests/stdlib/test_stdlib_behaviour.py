"""Library policies do, in the simulator, what their headers say their mechanism does.

Each case runs one policy and the default model on one workload with seed 0 (the machine is
deterministic: one seed is one trace) and checks the figure the mechanism moves, against the
default's on the same seed. The models under `workloads/` stand for the benchmark classes
the shipped models do not cover: request latency beside batch work (requests.json), CPU
shares between processes (tenants.json: a service beside a many-threaded process), and
interactive threads beside compilers (devbox.json).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import schedlang
from schedlang.runtime.sim.metrics import RunMetrics, TaskMetrics

ROOT = Path(__file__).resolve().parents[2]
STDLIB = ROOT / "stdlib"
WORKLOADS = Path(__file__).resolve().parent / "workloads"


def _runs(policy: str, workload: str, **params: object) -> tuple[RunMetrics, RunMetrics]:
    """(default, policy) figures of seed 0."""
    report = schedlang.simulate(STDLIB / f"{policy}.sched", workload, seeds=(0,), params=params)
    assert not report.ejected, report.events
    return report.baseline_runs[0], report.policy_runs[0]


def _task(run: RunMetrics, name: str) -> TaskMetrics:
    return next(t for t in run.tasks if t.task == name)


def _model(name: str) -> str:
    return str(WORKLOADS / f"{name}.json")


def test_latency_boost_keeps_a_pipe_pair_beside_hogs_as_fast_as_the_default() -> None:
    """The earlier version served normal work first on every 8th dispatch, and a pair that
    hands off on every dispatch then waited a hog's whole slice every 4th round trip: the
    pair never finished its 1000 round trips in the model's 3 s."""
    default, policy = _runs("latency_boost", "mix")
    assert policy.makespan_s is not None
    assert default.makespan_s is not None
    assert policy.makespan_s <= default.makespan_s * 1.001
    for side in ("ping", "pong"):
        worst = _task(policy, side).wakeup_max_us
        assert worst is not None and worst < 10, (side, worst)


def test_latency_boost_does_not_shut_the_hogs_out() -> None:
    """Boosted work goes first, but normal work waiting `normal_max_wait` goes first once:
    the hogs beside the pair lose no CPU time against the default."""
    default, policy = _runs("latency_boost", "mix")
    assert _task(policy, "hog").run_s >= _task(default, "hog").run_s


def test_latency_boost_control_loops_preempt_what_runs() -> None:
    """1 ms-period handlers (150 us bursts, boosted) beside 5 ms frame loops and hogs: a
    boosted waker preempts at once by default; with a 1 ms `preempt_after` a frame that had
    just started keeps its CPU until the tick and the handlers miss more periods than under
    the default model."""
    default, policy = _runs("latency_boost", _model("requests"))
    assert policy.deadline_misses * 20 < default.deadline_misses
    _, guarded = _runs("latency_boost", _model("requests"), preempt_after="1ms")
    assert guarded.deadline_misses > default.deadline_misses


def test_interactive_pair_beside_hogs_waits_at_most_one_tick() -> None:
    """Batch work yields to waiting interactive work at the tick (4 ms at HZ=250) instead of
    finishing its 20 ms slice."""
    default, policy = _runs("interactive", "mix")
    assert policy.makespan_s is not None and default.makespan_s is not None
    assert policy.makespan_s < default.makespan_s + 0.005
    for side in ("ping", "pong"):
        worst = _task(policy, side).wakeup_max_us
        assert worst is not None and worst <= 4000, (side, worst)
    assert _task(policy, "hog").run_s >= _task(default, "hog").run_s


def test_interactive_woken_handlers_take_a_cpu_from_batch_work() -> None:
    """A woken interactive task kicks a CPU running batch work, and a burst counts from a
    wake-up to the next sleep: without both the handlers missed 4x the default's periods."""
    default, policy = _runs("interactive", _model("requests"))
    assert default.deadline_misses >= 200
    assert policy.deadline_misses * 2 < default.deadline_misses
    assert _task(policy, "fast").run_s > _task(default, "fast").run_s


def test_eevdf_woken_task_preempts_a_later_deadline() -> None:
    """Wake-up preemption: without it the handlers waited for the hogs' slices and missed
    2.5x the default's periods."""
    default, policy = _runs("eevdf", _model("requests"))
    assert policy.deadline_misses * 10 < default.deadline_misses
    fast_default, fast_policy = _task(default, "fast"), _task(policy, "fast")
    assert fast_policy.wakeup_p99_us is not None and fast_default.wakeup_p99_us is not None
    assert fast_policy.wakeup_p99_us * 4 < fast_default.wakeup_p99_us


def test_layered_gives_the_reserved_cpu_back_to_editors() -> None:
    """Compilers fill the reserved CPU when it is idle, and yield it when an editor wakes:
    without that an editor waited 23 ms behind a build slice."""
    default, policy = _runs("layered", _model("devbox"))
    assert default.deadline_misses >= 1
    assert policy.deadline_misses == 0
    worst = _task(policy, "editor").wakeup_max_us
    assert worst is not None and worst < 1000, worst
    assert _task(policy, "cc1").run_s > 3.3  # the compilers still get what is left


def test_edf_meets_the_periods_the_default_misses() -> None:
    default, policy = _runs("edf", _model("requests"))
    assert default.deadline_misses >= 200
    assert policy.deadline_misses * 20 < default.deadline_misses
    fast_default, fast_policy = _task(default, "fast"), _task(policy, "fast")
    assert fast_policy.wakeup_p99_us is not None and fast_default.wakeup_p99_us is not None
    assert fast_policy.wakeup_p99_us * 10 < fast_default.wakeup_p99_us
    assert _task(policy, "hog").run_s > 2.0  # the hogs still get what is left


def test_mlfq_keeps_frequent_short_wakers_at_the_top() -> None:
    default, policy = _runs("mlfq", _model("requests"))
    assert policy.deadline_misses * 10 < default.deadline_misses
    assert _task(policy, "fast").run_s >= 0.59  # 150 us every 1 ms, two handlers, 2 s
    assert _task(policy, "hog").run_s > 2.0


def test_bandwidth_holds_a_many_threaded_process_to_its_quota() -> None:
    """Quota 50 ms per 100 ms: the six-thread process is throttled for most of each period,
    so the one-thread service (40% of a CPU) misses a third as many periods as when the
    CPUs are shared per thread; the work is conserved."""
    default, policy = _runs("bandwidth", _model("tenants"))
    assert default.deadline_misses >= 100
    assert policy.deadline_misses * 3 < default.deadline_misses
    assert _task(policy, "small").run_s > _task(default, "small").run_s + 0.1
    assert policy.work_s == pytest.approx(default.work_s, rel=0.001)


def test_bandwidth_quota_is_a_param() -> None:
    _, tight = _runs("bandwidth", _model("tenants"), quota="200ms")
    _, loose = _runs("bandwidth", _model("tenants"))
    assert tight.deadline_misses > loose.deadline_misses


def test_sync_wake_finishes_hackbench_sooner_with_fewer_switches() -> None:
    default, policy = _runs("sync_wake", "hackbench")
    assert default.makespan_s is not None and policy.makespan_s is not None
    assert policy.makespan_s < default.makespan_s * 0.7
    assert policy.context_switches * 2 < default.context_switches


def test_domains_keeps_build_jobs_in_their_domain() -> None:
    default, policy = _runs("domains", "build")
    assert default.migrations >= 10
    assert policy.migrations <= 2
    assert default.makespan_s is not None and policy.makespan_s is not None
    assert policy.makespan_s <= default.makespan_s * 1.01


def test_lat_criticality_wakes_message_receivers_sooner() -> None:
    default, policy = _runs("lat_criticality", "hackbench")
    for group in ("g0-recv", "g1-recv"):
        ours, theirs = _task(policy, group).wakeup_p99_us, _task(default, group).wakeup_p99_us
        assert ours is not None and theirs is not None
        assert ours * 3 < theirs, group


def test_run_to_completion_builds_with_a_fifth_of_the_switches() -> None:
    default, policy = _runs("run_to_completion", "build")
    assert policy.context_switches * 4 < default.context_switches
    assert default.makespan_s is not None and policy.makespan_s is not None
    assert policy.makespan_s <= default.makespan_s * 1.01

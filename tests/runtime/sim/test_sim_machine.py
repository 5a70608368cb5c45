"""The simulated machine on small hand-computed schedules: who runs where and when.

Every scenario runs with no jitter and no context-switch, IPI or idle-exit cost unless it
says so, so the times below follow
from the rules in runtime/sim/machine.py's docstring alone (ticks every 4 ms).
"""

from __future__ import annotations

import json
from typing import Any

from sim_policies import Fifo, Hoarder, PyPolicy, Vtime

from schedlang.runtime.exitinfo import from_kernel_log
from schedlang.runtime.sim import rtapp
from schedlang.runtime.sim.chrome_trace import chrome_trace
from schedlang.runtime.sim.machine import (
    ENQ_HEAD,
    ENQ_PREEMPT,
    Machine,
    MachineResult,
    scx_weight,
)
from schedlang.runtime.sim.metrics import summarize
from schedlang.sim_abi import DSQ_LOCAL_ON, Host, SimPolicy, SimTask

MS = 1_000_000


def workload(tasks: dict[str, Any], duration: int | None = None) -> rtapp.Workload:
    doc: dict[str, Any] = {"tasks": tasks}
    if duration is not None:
        doc["global"] = {"duration": duration}
    return rtapp.parse(json.dumps(doc), "test.json")


def run(policy: SimPolicy, tasks: dict[str, Any], cpus: int = 2, **kw: Any) -> MachineResult:
    kw.setdefault("jitter", 0.0)
    kw.setdefault("switch_ns", 0)
    kw.setdefault("ipi_ns", 0)
    kw.setdefault("idle_exit_ns", 0)
    return Machine(policy, workload(tasks), cpus, trace=True, **kw).run()


def runs(result: MachineResult) -> list[tuple[float, int, str]]:
    """(ms, cpu, comm) of every time a task got a CPU."""
    assert result.trace is not None
    comm = {th.t.pid: th.t.comm for th in result.threads}
    return [(e.ns / MS, e.cpu, comm[e.pid]) for e in result.trace if e.what == "run"]


def thread(result: MachineResult, comm: str) -> Any:
    return next(th for th in result.threads if th.t.comm == comm)


def test_slices_expire_on_the_tick_and_fifo_rotates_three_tasks_on_one_allowed_cpu() -> None:
    # a, b, c may use CPU 0 only: one FIFO queue, 3 ms slices, each task needs 10 ms.
    # A slice ends at the first tick (every 4 ms) after it ran out; the task goes to the tail.
    tasks = {n: {"loop": 1, "cpus": [0], "run": 10000} for n in ("a", "b", "c")}
    result = run(Fifo(slice_ns=3 * MS), tasks)
    assert runs(result) == [
        (0.0, 0, "a-0"),
        (4.0, 0, "b-0"),
        (8.0, 0, "c-0"),
        (12.0, 0, "a-0"),
        (16.0, 0, "b-0"),
        (20.0, 0, "c-0"),
        (24.0, 0, "a-0"),  # a has 2 ms left and ends at 26
        (26.0, 0, "b-0"),
        (28.0, 0, "c-0"),
    ]
    assert [thread(result, n).ended_at / MS for n in ("a-0", "b-0", "c-0")] == [26, 28, 30]
    assert result.cpu_busy_ns == [30 * MS, 0]  # affinity: CPU 1 never ran anything
    assert [thread(result, n).latencies for n in ("a-0", "b-0", "c-0")] == [[0], [4 * MS], [8 * MS]]
    assert summarize(result).makespan_s == 0.030


def test_default_select_cpu_claims_idle_cpus_and_a_freed_cpu_dispatches_the_queue() -> None:
    # No select_cpu in the policy: default_cpu puts a on CPU 0 and b on CPU 1 (their prev
    # CPUs, idle) straight into the local queues; c finds no idle CPU and is enqueued.
    tasks = {
        "a": {"loop": 1, "run": 10000},
        "b": {"loop": 1, "run": 6000},
        "c": {"loop": 1, "run": 10000},
    }
    policy = Fifo(slice_ns=5 * MS)
    result = run(policy, tasks)
    assert runs(result) == [(0.0, 0, "a-0"), (0.0, 1, "b-0"), (6.0, 1, "c-0")]
    assert thread(result, "c-0").ended_at == 16 * MS
    enqueued = [args[0] for op, _, args in policy.calls if op == "enqueue"]
    assert enqueued == [102]  # only c: a and b were inserted by the default
    assert policy.calls[-1][0] == "dispatch"  # CPUs with nothing to do ask the policy


class Urgent(Fifo):
    """Puts 'urgent' tasks at the head of the queue and kicks CPU 0 with `mode`."""

    def __init__(self, mode: str | None) -> None:
        super().__init__(slice_ns=5 * MS)
        self.mode = mode

    def on_enqueue(self, host: Host, t: SimTask, flags: int) -> None:
        if t.comm.startswith("urgent"):
            host.insert(t, 0, self.slice_ns, None, ENQ_HEAD)
            host.kick(0, self.mode)
        else:
            super().on_enqueue(host, t, flags)


def test_kick_preempt_takes_the_cpu_at_once_and_a_plain_kick_waits_for_the_slice() -> None:
    tasks = {
        "hog": {"loop": 1, "cpus": [0], "run": 20000},
        "urgent": {"loop": 1, "cpus": [0], "delay": 1000, "run": 1000},
    }
    preempt = run(Urgent("preempt"), tasks)
    assert runs(preempt) == [(0.0, 0, "hog-0"), (1.0, 0, "urgent-0"), (2.0, 0, "hog-0")]
    assert thread(preempt, "urgent-0").latencies == [0]
    assert thread(preempt, "hog-0").ended_at == 21 * MS
    # Without preempt the hog keeps its 5 ms slice; it ends at the tick at 8 ms.
    polite = run(Urgent(None), tasks)
    assert runs(polite) == [(0.0, 0, "hog-0"), (8.0, 0, "urgent-0"), (9.0, 0, "hog-0")]
    assert thread(polite, "urgent-0").latencies == [7 * MS]


class Stubborn(Fifo):
    """Sends every task to CPU 1's local queue, allowed or not."""

    def on_enqueue(self, host: Host, t: SimTask, flags: int) -> None:
        host.insert(t, DSQ_LOCAL_ON | 1, self.slice_ns, None, 0)


def test_a_local_insert_on_a_cpu_the_task_may_not_use_ejects_the_policy() -> None:
    result = run(Stubborn(), {"pinned": {"loop": 1, "cpus": [0], "run": 1000}})
    assert (result.exit.kind_name, result.exit.reason) == ("ERROR", "runtime error")
    assert result.exit.message == "SCX_DSQ_LOCAL[_ON] target CPU 1 not allowed for pinned-0[100]"
    assert result.exit.ejected
    assert result.end_ns == 0


def test_the_watchdog_ends_a_run_whose_policy_never_dispatches_its_queue() -> None:
    # timeout 5 s, checked every 2.5 s: at 5.0 s the task has waited exactly 5 s (not past
    # it), so the 7.5 s check is the one that finds it, as the kernel's time_after would.
    result = run(Hoarder(), {"starved": {"loop": 1, "run": 1000}}, seconds=10)
    info = result.exit
    assert (info.kind, info.kind_name, info.reason) == (1026, "ERROR_STALL", "runnable task stall")
    assert info.message == "starved-0[100] failed to run for 7.500s"
    assert info.ejected
    assert result.end_ns == 7_500 * MS
    # The same two kernel log lines the VM's loader reads back.
    assert from_kernel_log(list(info.kernel_log_lines), "hoarder") == (
        1026,
        "runnable task stall",
        "starved-0[100] failed to run for 7.500s",
    )
    metrics = summarize(result)
    assert metrics.exit["kind"] == "ERROR_STALL"
    assert metrics.work_s == 0


class Bare(PyPolicy):
    """Only select_cpu, which inserts nothing: sched_ext's defaults do the rest."""

    name = "bare"

    def on_select_cpu(self, host: Host, t: SimTask, prev: int, flags: int) -> int:
        return prev


def test_without_enqueue_and_dispatch_tasks_go_to_the_global_queue_with_the_default_slice() -> None:
    tasks = {n: {"loop": 1, "run": 10000} for n in ("a", "b", "c")}
    result = run(Bare(), tasks)
    # a and b land on their idle prev CPUs; c's prev (CPU 0) is busy and nothing wakes CPU 1.
    assert runs(result) == [(0.0, 0, "a-0"), (0.0, 1, "b-0"), (10.0, 0, "c-0")]
    assert thread(result, "c-0").t.slice == 20 * MS - 10 * MS  # SCX_SLICE_DFL, 10 ms used


def test_weights_follow_the_kernel_table_scaled_to_100() -> None:
    assert [scx_weight(n) for n in (-20, -1, 0, 1, 5, 19)] == [8668, 125, 100, 80, 33, 1]
    assert scx_weight(0, idle_policy=True) == 1


def test_dispatch_runs_before_the_expired_task_is_requeued() -> None:
    # balance_one asks ops.dispatch before put_prev_task re-enqueues the task whose slice
    # ended, so on one CPU a vtime policy cannot give the heavy task two slices in a row:
    # with two light tasks (weight 33) it gets 1/2 of the CPU, not its 100/166 share.
    tasks = {
        "heavy": {"cpus": [0], "run": 100000},
        "light": {"cpus": [0], "instance": 2, "priority": 5, "run": 100000},
    }
    result = Machine(
        Vtime(slice_ns=3 * MS), workload(tasks, duration=2), 2, jitter=0, ipi_ns=0, idle_exit_ns=0
    ).run()
    heavy, light0, light1 = result.threads
    assert [th.switches for th in result.threads] == [250, 126, 125]
    assert heavy.run_ns == 1000 * MS - 250 * 1000  # half the CPU, less 1 µs per switch
    assert light0.run_ns == light1.run_ns == 500 * MS - 125 * 1000


def test_timer_slack_and_missed_periods() -> None:
    tasks = {
        "fits": {"loop": 3, "run": 200, "timer": {"ref": "unique", "period": 1000}},
        "overruns": {
            "loop": 3,
            "cpus": [1],
            "run": 1500,
            "timer": {"ref": "unique", "period": 1000},
        },
    }
    result = run(Fifo(), tasks)
    fits, overruns = thread(result, "fits-0"), thread(result, "overruns-0")
    assert fits.slack_ns == [800_000, 800_000, 800_000]
    assert (fits.misses, fits.ended_at) == (0, 3 * MS)
    # Relative mode: a missed period restarts the timer from now, so each overrun is 500 µs.
    assert overruns.slack_ns == [-500_000, -500_000, -500_000]
    assert (overruns.misses, overruns.ended_at) == (3, 4_500_000)
    assert summarize(result).deadline_misses == 3


def test_suspend_and_resume_hand_over_and_a_barrier_releases_all_at_the_last_arrival() -> None:
    tasks = {
        "waiter": {"loop": 1, "cpus": [0], "suspend": "", "run": 1000},
        "waker": {"loop": 1, "cpus": [1], "run": 2000, "resume": "waiter"},
    }
    result = run(Fifo(), tasks)
    assert thread(result, "waiter-0").ended_at == 3 * MS
    barrier = {
        "early": {"loop": 1, "cpus": [0], "barrier": "b", "run": 1000},
        "late": {"loop": 1, "cpus": [1], "run": 5000, "barrier": "b"},
    }
    result = run(Fifo(), barrier)
    assert thread(result, "early-0").ended_at == 6 * MS
    assert thread(result, "late-0").ended_at == 5 * MS


def test_same_seed_same_trace_and_another_seed_another() -> None:
    model = rtapp.load("hackbench")

    def trace(seed: int) -> list[Any]:
        result = Machine(Vtime(), model, 2, seed=seed, seconds=0.01, trace=True).run()
        assert result.trace is not None and len(result.trace) > 500
        return result.trace

    assert trace(3) == trace(3)
    assert trace(3) != trace(4)


def test_the_chrome_trace_has_one_track_per_cpu_and_a_slice_per_run() -> None:
    tasks = {n: {"loop": 1, "cpus": [0], "run": 6000} for n in ("a", "b")}
    result = run(Fifo(slice_ns=3 * MS), tasks)
    assert result.trace is not None
    comms = {th.t.pid: th.t.comm for th in result.threads}
    doc = chrome_trace(result.trace, comms, 2)
    names = [e["args"]["name"] for e in doc["traceEvents"] if e["ph"] == "M"]
    assert names == ["CPU 0", "CPU 1"]
    slices = [
        (e["tid"], e["name"], e["ts"], e["dur"]) for e in doc["traceEvents"] if e["ph"] == "X"
    ]
    # a and b alternate at the ticks (4 ms), a's 2 ms remainder ends at 10 ms, b's at 12 ms.
    assert slices == [
        (0, "a-0", 0.0, 4000.0),
        (0, "b-0", 4000.0, 4000.0),
        (0, "a-0", 8000.0, 2000.0),
        (0, "b-0", 10000.0, 2000.0),
    ]
    wakes = [(e["name"], e["ts"]) for e in doc["traceEvents"] if e["ph"] == "i"]
    assert wakes == [("wake a-0", 0.0), ("wake b-0", 0.0)]


class Direct(Fifo):
    """select_cpu inserts into the local queue of CPU 1 for every task: a direct dispatch,
    after which enqueue is not called."""

    def on_select_cpu(self, host: Host, t: SimTask, prev: int, flags: int) -> int:
        host.insert(t, DSQ_LOCAL_ON | 1, 2 * MS, None, 0)
        return 1


def test_an_insert_from_select_cpu_replaces_enqueue() -> None:
    policy = Direct()
    result = run(policy, {"a": {"loop": 1, "run": 1000}, "b": {"loop": 1, "run": 1000}})
    assert runs(result) == [(0.0, 1, "a-0"), (1.0, 1, "b-0")]
    assert [op for op, _, _ in policy.calls if op in ("select_cpu", "enqueue")] == [
        "select_cpu",
        "select_cpu",
    ]


class Mixed(Fifo):
    """Inserts c by vtime into the queue where b waits, inserted FIFO."""

    def on_enqueue(self, host: Host, t: SimTask, flags: int) -> None:
        vtime = 5 if t.comm == "c-0" else None
        host.insert(t, 0, self.slice_ns, vtime, 0)


def test_fifo_and_vtime_inserts_into_one_queue_eject_the_policy() -> None:
    tasks = {n: {"loop": 1, "cpus": [0], "run": 1000} for n in ("a", "b", "c")}
    result = run(Mixed(), tasks)
    assert result.exit.kind_name == "ERROR"
    assert result.exit.message == "DSQ 0x0 already had FIFO-enqueued tasks"


class Kicker(Fifo):
    """Keeps every wakeup on its prev CPU and enqueues it (then kicks idle CPUs)."""

    def on_select_cpu(self, host: Host, t: SimTask, prev: int, flags: int) -> int:
        return prev


class NoKick(Kicker):
    def on_enqueue(self, host: Host, t: SimTask, flags: int) -> None:
        host.insert(t, 0, self.slice_ns, None, 0)


def test_an_idle_cpu_sleeps_through_a_shared_insert_unless_kicked() -> None:
    # c's prev CPU (0) is busy running a; CPU 1 went idle when b ended at 1.1 ms and nothing
    # tells it about c unless the policy kicks it.
    tasks = {
        "a": {"loop": 1, "run": 10000},
        "b": {"loop": 1, "delay": 100, "run": 1000},
        "c": {"loop": 1, "delay": 2000, "run": 1000},
    }
    kicked = run(Kicker(), tasks)
    assert runs(kicked)[-1] == (2.0, 1, "c-0")  # Fifo kicks the idle CPU 1 at once
    asleep = run(NoKick(), tasks)
    # c waits on CPU 0 until a's 5 ms slice ends at the 8 ms tick; CPU 1 stays idle.
    assert runs(asleep)[2:] == [(8.0, 0, "c-0"), (9.0, 0, "a-0")]


def test_a_sync_wakeup_goes_to_the_wakers_cpu_when_another_is_idle() -> None:
    # waker on CPU 1 resumes the sleeper whose prev is CPU 0; CPU 0 is idle, so the default
    # sends the wakee to the waker's CPU (its local queue is empty), as wake_affine does.
    tasks = {
        "sleeper": {"loop": 1, "suspend": "", "run": 1000},
        "waker": {"loop": 1, "run": 500, "resume": "sleeper", "sleep": 1000},
    }
    result = run(Fifo(), tasks)
    assert runs(result) == [
        (0.0, 0, "sleeper-0"),
        (0.0, 1, "waker-0"),
        (0.5, 1, "sleeper-0"),
        (1.5, 0, "waker-0"),  # its prev CPU 1 is still busy: the idle CPU 0 is claimed
    ]


class SelfKicker(Fifo):
    """Kicks the CPU it dispatches on, every time: the CPU never stops picking."""

    def on_dispatch(self, host: Host, cpu: int) -> None:
        super().on_dispatch(host, cpu)
        host.kick(cpu, None)


def test_a_cpu_that_keeps_kicking_itself_spins_without_stopping_the_clock() -> None:
    # After 8 picks in one instant each further pick costs 1 µs, as schedule() would, so
    # the run reaches its end instead of spinning forever at one instant. b keeps the run
    # going on CPU 1 until 1 ms (a run ends when its last thread does).
    policy = SelfKicker()
    tasks = {"a": {"loop": 1, "cpus": [0], "run": 100}, "b": {"loop": 1, "cpus": [1], "run": 1000}}
    result = run(policy, tasks)
    assert thread(result, "a-0").ended_at == 100_000
    times = [when for op, when, args in policy.calls if op == "dispatch" and args == (0,)]
    # One pick at 0 (a runs, keeping its slice through the kicks); when a ends at 100 µs,
    # 8 picks, then one per µs until b ends at 1 ms and with it the run.
    assert times == [0] + [100_000] * 8 + list(range(101_000, 1_000_000, 1000))
    assert thread(result, "b-0").ended_at == result.end_ns == 1_000_000


US = 1_000


def test_an_idle_cpu_picks_after_its_idle_exit_and_another_cpus_wakeup_adds_the_ipi() -> None:
    # ping (CPU 0) runs 1 ms and meets pong (CPU 1) at a barrier; pong then runs 1 ms.
    # Both start at 0 on asleep CPUs, each woken from its own CPU: the idle exit (30 µs)
    # alone. ping's arrival wakes pong from CPU 0 onto the asleep CPU 1: the IPI (5 µs)
    # and CPU 1's idle exit. The kick Fifo sends joins the request already on its way.
    tasks = {
        "ping": {"loop": 1, "cpus": [0], "phases": {"p": {"run": 1000, "barrier": "b"}}},
        "pong": {"loop": 1, "cpus": [1], "phases": {"p": {"barrier": "b", "run": 1000}}},
    }
    result = run(Fifo(), tasks, ipi_ns=5 * US, idle_exit_ns=30 * US)
    assert runs(result) == [(0.030, 0, "ping-0"), (0.030, 1, "pong-0"), (1.065, 1, "pong-0")]
    assert thread(result, "ping-0").latencies == [30 * US]
    assert thread(result, "pong-0").latencies == [30 * US, 35 * US]
    assert [thread(result, n).ended_at for n in ("ping-0", "pong-0")] == [1030 * US, 2065 * US]
    assert result.cpu_busy_ns == [1000 * US, 1000 * US]


class PreemptToCpu0(PyPolicy):
    """select_cpu picks CPU 0; enqueue inserts into the chosen CPU's local queue, with
    SCX_ENQ_PREEMPT for 'urgent'."""

    def on_select_cpu(self, host: Host, t: SimTask, prev: int, flags: int) -> int:
        return 0

    def on_enqueue(self, host: Host, t: SimTask, flags: int) -> None:
        preempt = ENQ_PREEMPT if t.comm.startswith("urgent") else 0
        host.insert(t, DSQ_LOCAL_ON | t.cpu, 5 * MS, None, preempt)


def test_preempting_a_busy_cpu_from_another_costs_the_ipi_without_an_idle_exit() -> None:
    # hog (prev CPU 0) starts on the asleep CPU 0 at the idle exit, 30 µs. urgent starts at
    # 1 ms from its prev CPU 1 and preempts CPU 0, which is busy: the IPI alone, 5 µs. hog
    # gets CPU 0 back when urgent's 1 ms ends and finishes its 10 ms at 11.030 ms.
    tasks = {"hog": {"loop": 1, "run": 10000}, "urgent": {"loop": 1, "delay": 1000, "run": 1000}}
    result = run(PreemptToCpu0(), tasks, ipi_ns=5 * US, idle_exit_ns=30 * US)
    assert runs(result) == [(0.030, 0, "hog-0"), (1.005, 0, "urgent-0"), (2.005, 0, "hog-0")]
    assert thread(result, "urgent-0").latencies == [5 * US]
    assert [thread(result, n).ended_at for n in ("hog-0", "urgent-0")] == [11030 * US, 2005 * US]
    assert result.cpu_busy_ns == [11000 * US, 0]

"""A scheduling trace in one neutral form, read from `perf sched timehist` or the simulator.

The Observe stage (schedlang.agent.observe) profiles a workload from the same records whether
they came from the sandbox VM or from the simulated machine, so each source's quirks are
dealt with here, once, and the profile's arithmetic never needs to know where a number came
from. A `Stretch` is one time a thread held a CPU, with what preceded it: how long the thread
was blocked (`sleep_us`) and how long it then waited runnable for a CPU (`wait_us`; a wakeup
latency when `woken`, a preemption wait when not).

`perf sched timehist` (perf 6.1, the host's, reading a record made in the guest by the same
binary) prints one row per switch-out: `wait time` (off-CPU since the previous switch-out),
`sch delay` and `run time`, and the state the thread left in. Two things about its rows on the
sandbox's 7.3 kernel, both seen in captured output (tests/runtime/data/timehist-*.txt):

* perf 6.1 decodes `prev_state` with the old state letters, so a preempted thread (the 7.x
  kernel reports TASK_REPORT_MAX, bit 8) prints as `W`, and a thread in TASK_IDLE (bit 7) as
  `K`. `R`, `R+` and `W` are read as "left the CPU still runnable"; every other letter as
  blocked.
* perf only counts `sch delay` after a wakeup it saw, and after a `W` switch-out it does not
  know the thread stayed runnable, so the next row says `sch delay 0` and puts the whole
  preemption wait in `wait time`. The parser therefore reads a row as following a wakeup
  when an `awakened:` row for the thread came after its previous switch-out (a wakeup
  latency `sch delay`, and `sleep = wait time - sch delay`), and otherwise, when the
  previous row left runnable, as a preemption wait of the whole `wait time`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Switch-out states that mean "still runnable" (see the module docstring).
RUNNABLE_STATES = frozenset({"R", "R+", "W"})


class TraceParseError(ValueError):
    """Text that is not `perf sched timehist -w -M --state` output: which line and why."""


@dataclass(frozen=True)
class Stretch:
    """One time thread `tid` held `cpu`, from `start_us` to `end_us`. `tid` 0 is the idle
    task. `sleep_us`/`wait_us` are None for a thread's first stretch in the trace when the
    trace does not say what came before it."""

    tid: int
    tgid: int
    comm: str
    cpu: int
    start_us: float
    end_us: float
    sleep_us: float | None  # blocked before this stretch (0 after a preemption)
    wait_us: float | None  # runnable, waiting for a CPU, before this stretch
    woken: bool  # wait_us is a wakeup latency (not a preemption wait)
    preempted: bool  # left the CPU still runnable

    @property
    def run_us(self) -> float:
        return self.end_us - self.start_us


@dataclass(frozen=True)
class Wakeup:
    t_us: float
    waker: int  # tid of the thread that woke it (0: an interrupt in the idle task)
    tid: int


@dataclass(frozen=True)
class Migration:
    t_us: float
    tid: int
    src: int
    dst: int


@dataclass(frozen=True)
class SchedTrace:
    """Everything a trace says about one run of a workload. `workload_tids` are the threads
    that belong to the workload (the tracer, the guest's runner and kernel threads excluded);
    None when every thread does. `metrics` are the workload's own figures for the traced run
    (its tool's output, or the simulator's metrics)."""

    source: str  # "vm" or "sim"
    tool: str
    workload: str
    cpus: int
    stretches: tuple[Stretch, ...]
    wakeups: tuple[Wakeup, ...]
    migrations: tuple[Migration, ...]
    workload_tids: frozenset[int] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def belongs(self, tid: int) -> bool:
        """Whether `tid` is one of the workload's threads (never the idle task)."""
        return tid != 0 and (self.workload_tids is None or tid in self.workload_tids)


# --- perf sched timehist -------------------------------------------------------------------

_ROW = re.compile(r"^\s*(?P<t>\d+\.\d+)\s+\[(?P<cpu>\d+)\]\s+(?P<rest>.*?)\s*$")
_TASK = re.compile(r"^(?P<comm>.*?)(?:\[(?P<tid>-?\d+)(?:/(?P<pid>-?\d+))?\])?$")
_SWITCH = re.compile(
    r"^(?P<task>.+?)\s+(?P<wait>\d+\.\d+)\s+(?P<delay>\d+\.\d+)\s+(?P<run>\d+\.\d+)\s+(?P<state>\S+)$"
)
_EVENT = re.compile(r"^(?P<task>.+?)\s+(?P<what>awakened|migrated): (?P<target>.+)$")
_MIGRATED = re.compile(r"^(?P<task>.+) cpu (?P<src>\d+) => (?P<dst>\d+)$")
_MS = 1000.0  # timehist prints ms; the trace keeps µs


def _task(text: str, line_no: int) -> tuple[str, int, int]:
    """`comm[tid/pid]`, `comm[tid]`, or a bare name (`<idle>`, `swapper`: the idle task).
    perf prints `:-1[-1]` for a thread it lost track of (one exiting as the record ends)."""
    match = _TASK.match(text.strip())
    if match is None or match.group("tid") is None:
        name = text.strip()
        if name in ("<idle>", "swapper") or name.startswith("swapper/"):
            return name, 0, 0
        raise TraceParseError(f"line {line_no}: no [tid] in task '{name}'")
    tid = int(match.group("tid"))
    return match.group("comm"), tid, int(match.group("pid") or tid)


def parse_timehist(
    text: str, *, workload: str = "", cpus: int | None = None, source: str = "vm"
) -> SchedTrace:
    """The trace `perf sched timehist -w -M --state` printed. Header lines and perf's own
    remarks are skipped; a row that looks like data but cannot be read is a TraceParseError."""
    stretches: list[Stretch] = []
    wakeups: list[Wakeup] = []
    migrations: list[Migration] = []
    last_state: dict[int, str] = {}
    woken_seen: set[int] = set()
    unknown = 0  # rows about a thread perf could not name
    max_cpu = -1
    for line_no, line in enumerate(text.splitlines(), 1):
        row = _ROW.match(line)
        if row is None:
            continue
        t_us = round(float(row.group("t")) * 1e6, 3)  # perf prints whole µs: keep them exact
        cpu = int(row.group("cpu"))
        max_cpu = max(max_cpu, cpu)
        rest = row.group("rest")
        event = _EVENT.match(rest)
        if event is not None:
            _, waker, _ = _task(event.group("task"), line_no)
            if event.group("what") == "awakened":
                _, tid, _ = _task(event.group("target"), line_no)
                if tid < 0:
                    unknown += 1
                    continue
                wakeups.append(Wakeup(t_us, waker, tid))
                woken_seen.add(tid)
            else:
                moved = _MIGRATED.match(event.group("target"))
                if moved is None:
                    raise TraceParseError(f"line {line_no}: unreadable migration '{rest}'")
                _, tid, _ = _task(moved.group("task"), line_no)
                if tid < 0:
                    unknown += 1
                    continue
                migrations.append(
                    Migration(t_us, tid, int(moved.group("src")), int(moved.group("dst")))
                )
            continue
        switch = _SWITCH.match(rest)
        if switch is None:
            raise TraceParseError(f"line {line_no}: neither a switch nor an event: '{rest}'")
        comm, tid, tgid = _task(switch.group("task"), line_no)
        if tid < 0:
            unknown += 1
            continue
        wait = round(float(switch.group("wait")) * _MS, 3)
        delay = round(float(switch.group("delay")) * _MS, 3)
        run = round(float(switch.group("run")) * _MS, 3)
        state = switch.group("state")
        before = last_state.get(tid)
        sleep_us: float | None
        wait_us: float | None
        if tid == 0:
            sleep_us, wait_us, woken = None, None, False
        elif tid in woken_seen:  # woken since it last left a CPU: it had blocked
            woken_seen.discard(tid)
            sleep_us = None if before is None else round(max(0.0, wait - delay), 3)
            wait_us, woken = delay, True
        elif before is None:  # its first row, and no wakeup seen: nothing known before it
            sleep_us, wait_us, woken = None, None, False
        elif before in RUNNABLE_STATES:
            sleep_us, wait_us, woken = 0.0, wait, False
        else:  # blocked, and its wakeup was not recorded: perf's delay is all there is
            sleep_us, wait_us, woken = round(max(0.0, wait - delay), 3), delay, True
        last_state[tid] = state
        stretches.append(
            Stretch(tid, tgid, comm, cpu, round(t_us - run, 3), t_us, sleep_us, wait_us, woken,
                    state in RUNNABLE_STATES)
        )  # fmt: skip
    if not stretches:
        raise TraceParseError("no switch rows: is this `perf sched timehist` output?")
    return SchedTrace(
        source=source,
        tool="perf record (sched_switch, sched_wakeup, sched_migrate_task) + perf sched timehist",
        workload=workload,
        cpus=cpus if cpus is not None else max_cpu + 1,
        stretches=tuple(stretches),
        wakeups=tuple(wakeups),
        migrations=tuple(migrations),
        notes=(f"{unknown} rows about threads perf could not name (:-1[-1]) left out",)
        if unknown
        else (),
    )


# --- the simulator -------------------------------------------------------------------------


def from_sim_events(
    events: Iterable[Any],
    tasks: dict[int, tuple[str, int]],
    cpus: int,
    end_ns: int,
    *,
    workload: str = "",
) -> SchedTrace:
    """The trace of a simulated run: `events` are the machine's TraceEvents (ns, cpu, what,
    pid; what = run, stop, idle, wake, exit), `tasks` each pid's (name, tgid). A thread
    stopped and then run again without a wakeup between was preempted; stopped and then
    woken, it slept; a stretch still open at `end_ns` (when the run stopped) ends there. The
    simulator's trace does not say who woke a thread (`Wakeup.waker` is 0)."""
    ordered = list(events)
    running: dict[int, int] = {}  # cpu -> index of the stretch it is in
    off_at: dict[int, float] = {}  # pid -> when it last left a CPU
    woken_at: dict[int, float] = {}  # pid -> when it was last woken (and not yet run)
    open_rows: dict[int, int] = {}  # pid -> index of its last stretch (preempted unknown)
    rows: list[dict[str, Any]] = []
    wakeups: list[Wakeup] = []
    migrations: list[Migration] = []
    last_cpu: dict[int, int] = {}
    for ev in ordered:
        t_us = ev.ns / 1000
        if ev.what == "wake":
            woken_at[ev.pid] = t_us
            wakeups.append(Wakeup(t_us, 0, ev.pid))
            if ev.pid in open_rows:
                rows[open_rows.pop(ev.pid)]["preempted"] = False
            continue
        if ev.what == "run":
            pid = ev.pid
            if pid in last_cpu and last_cpu[pid] != ev.cpu:
                migrations.append(Migration(t_us, pid, last_cpu[pid], ev.cpu))
            last_cpu[pid] = ev.cpu
            running[ev.cpu] = len(rows)
            if pid in open_rows:  # run again with no wakeup: it was preempted
                rows[open_rows.pop(pid)]["preempted"] = True
            sleep_us: float | None
            wait_us: float | None
            if pid in woken_at:
                woke = woken_at.pop(pid)
                wait_us, woken = t_us - woke, True
                sleep_us = woke - off_at[pid] if pid in off_at else None
            elif pid in off_at:
                wait_us, sleep_us, woken = t_us - off_at[pid], 0.0, False
            else:
                wait_us, sleep_us, woken = None, None, False
            rows.append(
                {"tid": pid, "cpu": ev.cpu, "start": t_us, "end": None, "sleep": sleep_us,
                 "wait": wait_us, "woken": woken, "preempted": False}
            )  # fmt: skip
            continue
        index = running.pop(ev.cpu, None)  # stop, idle, exit: the CPU's stretch ends
        if index is None:
            continue
        pid = rows[index]["tid"]
        rows[index]["end"] = t_us
        if ev.what == "stop":
            open_rows[pid] = index
        off_at[pid] = t_us
    end = end_ns / 1000
    stretches = tuple(
        Stretch(r["tid"], tasks[r["tid"]][1], tasks[r["tid"]][0], r["cpu"], r["start"],
                r["end"] if r["end"] is not None else end, r["sleep"], r["wait"], r["woken"],
                r["preempted"])
        for r in rows
    )  # fmt: skip
    return SchedTrace(
        source="sim",
        tool="simulator trace (runtime/sim), default-scheduler model",
        workload=workload,
        cpus=cpus,
        stretches=stretches,
        wakeups=tuple(wakeups),
        migrations=tuple(migrations),
    )


def trace_sim(
    workload: str, *, cpus: int = 2, seed: int = 0, seconds: float | None = None
) -> SchedTrace:
    """Run an rt-app workload (a shipped model's name or a .json path) on the simulated
    machine under the model of the kernel's default scheduler, and trace it. WorkloadError
    when the file cannot be read or is outside the simulator's subset."""
    from dataclasses import replace

    from schedlang.runtime.sim import rtapp
    from schedlang.runtime.sim.baseline import DefaultPolicy
    from schedlang.runtime.sim.machine import Machine
    from schedlang.runtime.sim.metrics import summarize

    model = rtapp.load(workload)
    result = Machine(DefaultPolicy(cpus), model, cpus, seconds=seconds, seed=seed, trace=True).run()
    # The rt-app task's name stands for the comm: its instances share it, as hackbench's
    # processes share "hackbench" (the machine's comms number them: "hog-0", "hog-1").
    tasks = {th.t.pid: (th.spec.name, th.t.tgid) for th in result.threads}
    traced = from_sim_events(result.trace or [], tasks, cpus, result.end_ns, workload=model.name)
    run = summarize(result)
    metrics = {
        key: float(value)
        for key, value in (
            ("elapsed_s", run.elapsed_s),
            ("makespan_s", run.makespan_s),
            ("throughput", run.throughput),
            ("utilisation", run.utilisation),
            ("wakeup_p50_us", run.wakeup_p50_us),
            ("wakeup_p99_us", run.wakeup_p99_us),
        )
        if value is not None
    }
    return replace(traced, metrics=metrics)

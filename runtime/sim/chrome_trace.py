"""A run's trace as Chrome/Perfetto trace-event JSON: one track per CPU, one slice per run.

`chrome://tracing`, ui.perfetto.dev and speedscope read this format, so a person can look at
what the simulated CPUs did without schedlang. Each time a task held a CPU becomes a
complete event ("ph": "X") on that CPU's track, named by the task's comm, with its pid; a
wakeup is an instant event ("ph": "i") on the CPU the task last ran on. Times are µs, as the
format wants, with the machine's ns kept as fractions.
"""

from __future__ import annotations

from typing import Any

from schedlang.runtime.sim.machine import TraceEvent


def chrome_trace(events: list[TraceEvent], comms: dict[int, str], nr_cpus: int) -> dict[str, Any]:
    """The trace-event document for `events` (from `Machine(..., trace=True)`)."""
    out: list[dict[str, Any]] = [
        {"ph": "M", "name": "thread_name", "pid": 0, "tid": cpu, "args": {"name": f"CPU {cpu}"}}
        for cpu in range(nr_cpus)
    ]
    running: dict[int, TraceEvent] = {}
    last = 0
    for event in events:
        last = max(last, event.ns)
        if event.what == "wake":
            out.append(_instant(event, comms))
            continue
        started = running.pop(event.cpu, None)
        if started is not None:
            out.append(_slice(started, event.ns, comms))
        if event.what == "run":
            running[event.cpu] = event
    for started in running.values():
        out.append(_slice(started, last, comms))
    return {"traceEvents": out, "displayTimeUnit": "ns"}


def _slice(started: TraceEvent, end_ns: int, comms: dict[int, str]) -> dict[str, Any]:
    return {
        "ph": "X",
        "name": comms.get(started.pid, str(started.pid)),
        "pid": 0,
        "tid": started.cpu,
        "ts": started.ns / 1000,
        "dur": (end_ns - started.ns) / 1000,
        "args": {"pid": started.pid},
    }


def _instant(event: TraceEvent, comms: dict[int, str]) -> dict[str, Any]:
    return {
        "ph": "i",
        "s": "t",
        "name": f"wake {comms.get(event.pid, event.pid)}",
        "pid": 0,
        "tid": event.cpu,
        "ts": event.ns / 1000,
        "args": {"pid": event.pid},
    }

"""Workloads as rt-app JSON: the subset the simulator runs, read with positions.

rt-app (scheduler-tools/rt-app, packaged by Debian) describes threads as sequences of events
(run, sleep, timer, ...) in JSON; scheduler research and scx's own simulator use the format,
and the same file can run in the VM through the real rt-app. This module reads a file into
plain data (`Workload` of `ThreadSpec` of `Phase` of `Event`) and rejects, with the file's
line and column and how to fix it, everything the simulator does not model: a feature
silently dropped would make a simulated figure mean something other than the file says.

Supported (rt-app's doc/tutorial.txt words): `tasks` with `instance`, `loop`, `delay`,
`priority` (the nice value for SCHED_OTHER), `policy` (SCHED_OTHER or SCHED_IDLE), `cpus`,
`phases` (or events directly in the task); events `run` and `runtime` (µs of CPU work / of
wall time), `sleep`, `timer` (`ref`, `period`, `mode`), `suspend`/`resume`, `wait`/`signal`/
`broad`/`sync` (condition variables), `lock`/`unlock`, `barrier`, `yield`; `global` with
`duration` (other global keys concern rt-app's logging and are accepted and ignored).
Event keys match by prefix as rt-app does, so a phase can hold `run0`, `run1`, ...
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from schedlang.runtime.sim import jsonpos
from schedlang.runtime.sim.jsonpos import Node

US = 1000  # ns per µs: rt-app's durations are µs, the machine counts ns


class WorkloadError(ValueError):
    """A workload file the simulator cannot run: where, what, and how to fix it."""

    def __init__(self, path: str, line: int, col: int, message: str, hint: str = "") -> None:
        self.path, self.line, self.col = path, line, col
        self.message, self.hint = message, hint
        text = f"{path}:{line}:{col}: {message}"
        super().__init__(text + (f"\n  hint: {hint}" if hint else ""))


@dataclass(frozen=True)
class Event:
    """One step of a thread. `ns` for run/runtime/sleep/timer; `ref` names the shared object
    (timer, condition, thread, mutex, barrier); `mode` is a timer's relative/absolute."""

    kind: str
    key: str
    ns: int = 0
    ref: str = ""
    mode: str = "relative"


@dataclass(frozen=True)
class Phase:
    name: str
    loop: int
    events: tuple[Event, ...]


@dataclass(frozen=True)
class ThreadSpec:
    name: str
    instances: int
    loop: int  # -1: until the workload's duration ends
    delay_ns: int
    nice: int
    idle_policy: bool  # SCHED_IDLE
    cpus: frozenset[int]  # empty: every CPU
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class Workload:
    name: str
    source: str  # the file it was read from
    threads: tuple[ThreadSpec, ...]
    duration_ns: int | None  # `global.duration`; None: until every thread ends
    description: str = ""


# Event kinds by the prefix rt-app matches; longer prefixes first ("runtime" before "run").
_EVENT_PREFIXES = (
    "runtime",
    "run",
    "sleep",
    "timer",
    "suspend",
    "resume",
    "wait",
    "signal",
    "broad",
    "sync",
    "lock",
    "unlock",
    "barrier",
    "yield",
)
# Events rt-app has that the simulator does not model, with what to write instead.
_UNSUPPORTED_EVENTS = {
    "mem": "memory traffic is not modelled; use run",
    "iorun": "I/O is not modelled; use run (CPU) and sleep (waiting)",
    "fork": "threads are created at the start; give the task a delay instead",
}
_THREAD_KEYS = ("instance", "loop", "delay", "priority", "policy", "cpus", "phases")
_GLOBAL_IGNORED = (
    "calibration",
    "default_policy",
    "pi_enabled",
    "lock_pages",
    "logdir",
    "log_basename",
    "log_size",
    "ftrace",
    "gnuplot",
    "io_device",
    "mem_buffer_size",
    "cumulative_slack",
)
_POLICIES = ("SCHED_OTHER", "SCHED_IDLE")


class _Parser:
    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, node: Node, message: str, hint: str = "") -> WorkloadError:
        return WorkloadError(self.path, node.line, node.col, message, hint)

    def key_error(self, node: Node, message: str, hint: str = "") -> WorkloadError:
        """An error about the key `node` is the value of: points at the key."""
        line, col = node.key_at
        return WorkloadError(self.path, line, col, message, hint)

    def obj(self, node: Node, what: str) -> dict[str, Node]:
        if not isinstance(node.value, dict):
            raise self.error(node, f"{what} must be a JSON object {{...}}")
        return node.value

    def integer(self, node: Node, what: str, lo: int, hi: int | None = None) -> int:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(node, f"{what} must be an integer, not {node.plain()!r}")
        if value < lo or (hi is not None and value > hi):
            bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise self.error(node, f"{what} is {value}; it must be {bound}")
        return value

    def string(self, node: Node, what: str) -> str:
        if not isinstance(node.value, str):
            raise self.error(node, f"{what} must be a string, not {node.plain()!r}")
        return node.value

    def unknown_key(self, key: str, node: Node, known: tuple[str, ...], where: str) -> None:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
        raise self.key_error(node, f"unknown key '{key}' in {where}", hint)

    # --- the file ------------------------------------------------------------------------

    def workload(self, root: Node, name: str) -> Workload:
        members = self.obj(root, "the file")
        for key, node in members.items():
            if key not in ("tasks", "global", "resources", "description"):
                self.unknown_key(key, node, ("tasks", "global", "resources"), "the file")
        if "tasks" not in members:
            raise self.error(root, "no 'tasks' object", 'add "tasks": {"name": {...}}')
        duration = self.global_duration(members.get("global"))
        tasks = self.obj(members["tasks"], "'tasks'")
        if not tasks:
            raise self.error(members["tasks"], "'tasks' is empty; a workload needs a thread")
        threads = tuple(self.thread(key, node) for key, node in tasks.items())
        description = members.get("description")
        self.check_references(threads, members["tasks"])
        return Workload(
            name=name,
            source=self.path,
            threads=threads,
            duration_ns=duration,
            description=self.string(description, "'description'") if description else "",
        )

    def global_duration(self, node: Node | None) -> int | None:
        if node is None:
            return None
        members = self.obj(node, "'global'")
        for key, value in members.items():
            if key != "duration" and key not in _GLOBAL_IGNORED:
                self.unknown_key(key, value, ("duration", *_GLOBAL_IGNORED), "'global'")
        if "duration" not in members:
            return None
        seconds = self.integer(members["duration"], "'duration' (seconds)", -1)
        return None if seconds == -1 else seconds * 1_000_000_000

    def thread(self, name: str, node: Node) -> ThreadSpec:
        members = self.obj(node, f"task '{name}'")
        props = {k: v for k, v in members.items() if k in _THREAD_KEYS}
        events = {k: v for k, v in members.items() if k not in _THREAD_KEYS}
        if "phases" in props:
            if events:
                key, first = next(iter(events.items()))
                raise self.key_error(
                    first,
                    f"task '{name}' has both 'phases' and the event '{key}'",
                    "put the events inside a phase",
                )
            phase_nodes = self.obj(props["phases"], f"'phases' of '{name}'")
            if not phase_nodes:
                raise self.error(props["phases"], f"'phases' of '{name}' is empty")
            phases = tuple(self.phase(name, k, v) for k, v in phase_nodes.items())
        else:
            if not events:
                raise self.error(node, f"task '{name}' has no events", 'e.g. "run": 1000')
            phases = (Phase("phase0", 1, self.events(name, events)),)
        nice, idle = self.priority(name, props)
        loop = self.integer(props["loop"], "'loop'", -1) if "loop" in props else -1
        if loop == 0:
            raise self.error(props["loop"], "'loop' is 0: the task would do nothing", "remove it")
        if loop == -1 and not any(e.kind not in _INSTANT for p in phases for e in p.events):
            raise self.key_error(
                node,
                f"task '{name}' loops forever without taking time",
                "add a run, sleep or timer event, or a finite 'loop'",
            )
        return ThreadSpec(
            name=name,
            instances=self.integer(props["instance"], "'instance'", 1, 4096)
            if "instance" in props
            else 1,
            loop=loop,
            delay_ns=self.integer(props["delay"], "'delay' (µs)", 0) * US
            if "delay" in props
            else 0,
            nice=nice,
            idle_policy=idle,
            cpus=self.cpus(props.get("cpus")),
            phases=phases,
        )

    def priority(self, name: str, props: dict[str, Node]) -> tuple[int, bool]:
        policy = "SCHED_OTHER"
        if "policy" in props:
            policy = self.string(props["policy"], "'policy'")
            if policy not in _POLICIES:
                raise self.error(
                    props["policy"],
                    f"policy {policy} is not run by sched_ext, so the simulator has no model of it",
                    f"use one of {', '.join(_POLICIES)}",
                )
        nice = 0
        if "priority" in props:
            nice = self.integer(props["priority"], "'priority' (the nice value)", -20, 19)
        return nice, policy == "SCHED_IDLE"

    def cpus(self, node: Node | None) -> frozenset[int]:
        if node is None:
            return frozenset()
        if not isinstance(node.value, list) or not node.value:
            raise self.error(node, "'cpus' must be a non-empty array of CPU numbers, e.g. [0, 1]")
        return frozenset(self.integer(n, "a CPU number", 0, 4095) for n in node.value)

    def phase(self, task: str, name: str, node: Node) -> Phase:
        members = self.obj(node, f"phase '{name}' of '{task}'")
        loop = 1
        if "loop" in members:
            loop = self.integer(members["loop"], "a phase's 'loop'", 1)
        for key in ("cpus", "priority", "policy"):
            if key in members:
                raise self.key_error(
                    members[key],
                    f"'{key}' in a phase is not modelled by the simulator",
                    f"set '{key}' on the task",
                )
        events = {k: v for k, v in members.items() if k != "loop"}
        if not events:
            raise self.error(node, f"phase '{name}' of '{task}' has no events")
        return Phase(name, loop, self.events(task, events))

    # --- events --------------------------------------------------------------------------

    def events(self, task: str, members: dict[str, Node]) -> tuple[Event, ...]:
        return tuple(self.event(task, key, node) for key, node in members.items())

    def event(self, task: str, key: str, node: Node) -> Event:
        kind = next((p for p in _EVENT_PREFIXES if key.startswith(p)), None)
        if kind is None:
            bad = next((p for p in _UNSUPPORTED_EVENTS if key.startswith(p)), None)
            if bad is not None:
                raise self.key_error(
                    node, f"event '{key}' is not modelled", _UNSUPPORTED_EVENTS[bad]
                )
            self.unknown_key(key, node, _THREAD_KEYS + _EVENT_PREFIXES, f"task '{task}'")
        assert kind is not None
        if kind in ("run", "runtime", "sleep"):
            return Event(kind, key, ns=self.integer(node, f"'{key}' (µs)", 0) * US)
        if kind == "timer":
            return self.timer(key, node)
        if kind in ("wait", "sync"):
            if isinstance(node.value, dict):
                members = node.value
                for k, v in members.items():
                    if k not in ("ref", "mutex"):
                        self.unknown_key(k, v, ("ref", "mutex"), f"'{key}'")
                if "ref" not in members:
                    raise self.error(
                        node, f"'{key}' needs a 'ref'", '{"ref": "cond", "mutex": "m"}'
                    )
                return Event(kind, key, ref=self.string(members["ref"], "'ref'"))
            return Event(kind, key, ref=self.string(node, f"'{key}'"))
        if kind == "yield":
            return Event(kind, key)
        ref = self.string(node, f"'{key}'")
        if kind == "suspend" and not ref:
            ref = task  # workgen fills an empty suspend with the thread's own name
        if not ref:
            raise self.error(node, f"'{key}' names nothing", "give the name of what it acts on")
        return Event(kind, key, ref=ref)

    def timer(self, key: str, node: Node) -> Event:
        members = self.obj(node, f"'{key}'")
        for k, v in members.items():
            if k not in ("ref", "period", "mode"):
                self.unknown_key(k, v, ("ref", "period", "mode"), f"'{key}'")
        if "period" not in members:
            raise self.error(node, f"'{key}' has no 'period'", '{"ref": "unique", "period": 1000}')
        mode = "relative"
        if "mode" in members:
            mode = self.string(members["mode"], "'mode'")
            if mode not in ("relative", "absolute"):
                raise self.error(members["mode"], f"timer mode '{mode}'", "relative or absolute")
        ref = self.string(members["ref"], "'ref'") if "ref" in members else "unique"
        period = self.integer(members["period"], "'period' (µs)", 1) * US
        return Event("timer", key, ns=period, ref=ref, mode=mode)

    def check_references(self, threads: tuple[ThreadSpec, ...], where: Node) -> None:
        """A resume must name a task, so a typo is an error rather than a lost wakeup."""
        names = {t.name for t in threads}
        for thread in threads:
            for phase in thread.phases:
                for event in phase.events:
                    if event.kind == "resume" and event.ref not in names:
                        close = difflib.get_close_matches(event.ref, sorted(names), n=1)
                        raise self.error(
                            where,
                            f"'{event.key}' of '{thread.name}' resumes '{event.ref}', "
                            "which is no task",
                            f"did you mean '{close[0]}'?" if close else "name a task",
                        )


# Events that take no time: a loop made only of these would never let time pass.
_INSTANT = frozenset({"resume", "signal", "broad", "unlock", "yield", "lock"})


def parse(text: str, path: str = "<workload>", name: str | None = None) -> Workload:
    """Read a workload from rt-app JSON text; WorkloadError says where it is wrong."""
    try:
        root = jsonpos.loads(text)
    except jsonpos.JsonPosError as err:
        raise WorkloadError(path, err.line, err.col, f"bad JSON: {err.message}") from None
    return _Parser(path).workload(root, name or Path(path).stem)


# --- the shipped models of the VM's workloads ---------------------------------------------


def _shipped() -> Traversable:
    return resources.files("schedlang.runtime.sim") / "workloads"


def builtin_names() -> tuple[str, ...]:
    files = _shipped().iterdir()
    return tuple(sorted(f.name[: -len(".json")] for f in files if f.name.endswith(".json")))


def shipped_path(name: str) -> Path:
    """Where a shipped model's file is, for tools that need a path (the VM's rt-app)."""
    return Path(str(_shipped() / f"{name}.json"))


def load(name_or_path: str) -> Workload:
    """A shipped model by its VM workload name (`hackbench`), or an rt-app JSON file."""
    if name_or_path.endswith(".json") or "/" in name_or_path:
        path = Path(name_or_path)
        try:
            text = path.read_text()
        except OSError as err:
            raise WorkloadError(str(path), 1, 1, f"cannot read the file: {err.strerror}") from None
        return parse(text, str(path))
    names = builtin_names()
    if name_or_path not in names:
        close = difflib.get_close_matches(name_or_path, names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise WorkloadError(
            name_or_path,
            1,
            1,
            f"no simulated workload '{name_or_path}'",
            f"{hint}known: {', '.join(names)}; or give an rt-app .json file",
        )
    resource = _shipped() / f"{name_or_path}.json"
    return parse(resource.read_text(), f"{name_or_path}.json", name_or_path)

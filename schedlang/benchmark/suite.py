"""The benchmark's workload suite: small declarative TOML files, loaded and validated.

A workload file says what runs in the guest (`runner`, an entry of the VM catalogue
`runtime/workloads.py`, and `parser`, the function reading its output), what is scored
(metrics with weights alpha summing to 1), the SLOs (relative to the default scheduler's
median, or absolute; hard ones gate the score), its category and whether it is held out, and the reference goal of phase 1 (`[goal]`: the
goal an agent reading the workload's profile should state; benchmark/goals.py grades it).
Keeping them as data means a new workload is a reviewed file, not code, and the score's
inputs can be read without reading Python. A file that is wrong is reported as
`file:line: what` (SuiteError), never a traceback; a workload whose programs are not
installed (its runner's tools, or `requires`) is listed with the reason it is skipped.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import schedlang
from schedlang.agent.goal import METRICS as GOAL_METRICS
from schedlang.agent.goal import Goal, GoalError
from schedlang.agent.goal import Slo as GoalSlo

Direction = Literal["lower", "higher"]
CATEGORIES = ("batch", "latency", "server", "analytics", "stress")
PACKAGE = "schedlang.benchmark"  # the files are its `workloads/*.toml` package data
_KEYS = {"name", "description", "category", "held_out", "runner", "parser", "sim_proxy",
         "requires", "metrics", "slos", "goal"}  # fmt: skip
_METRIC_KEYS = {"name", "alpha", "direction", "unit"}
_SLO_KEYS = {"metric", "bound", "relative", "hard", "why"}
_GOAL_KEYS = {"metric", "direction", "why", "slos"}
_GOAL_SLO_KEYS = {"metric", "floor"}


class SuiteError(ValueError):
    """A workload file that cannot be used; the message starts with `file:line:`."""


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    direction: Direction
    alpha: float


@dataclass(frozen=True)
class Slo:
    """`metric` must stay at or under `bound` (lower-is-better) or at or over it
    (higher-is-better): the agent's median divided by the default's when `relative`, the
    agent's median itself otherwise."""

    metric: str
    bound: float
    relative: bool
    hard: bool
    why: str


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    description: str
    category: str
    held_out: bool
    runner: str
    parser: str
    sim_proxy: str | None
    requires: tuple[str, ...]
    metrics: tuple[Metric, ...]
    slos: tuple[Slo, ...]
    path: str
    goal: Goal  # phase 1's reference: the goal the profile should lead an agent to state
    goal_why: str

    def direction(self, metric: str) -> Direction:
        """The direction of any metric the runner reports (scored or only in an SLO)."""
        for m in self.metrics:
            if m.name == metric:
                return m.direction
        for spec in schedlang.workload_metrics(self.runner):
            if spec.name == metric:
                return spec.better
        raise KeyError(metric)

    def skip_reason(self) -> str | None:
        """Why this workload cannot run here, or None: a program it or its runner needs is
        not installed (the guest sees the host's programs), or its runner is not written."""
        catalogue = schedlang.workloads()
        tools = catalogue[self.runner].tools if self.runner in catalogue else ()
        needed = dict.fromkeys((*self.requires, *tools))
        missing = [tool for tool in needed if shutil.which(tool) is None]
        if missing:
            return (
                f"needs {', '.join(missing)} (not installed here; scripts/setup installs the "
                "Debian packages in scripts/system-packages.txt)"
            )
        if self.runner not in catalogue:
            return f"no runner '{self.runner}' in runtime/workloads.py yet"
        return None


def _line_of(text: str, key: str, table: str | None = None, index: int = 0) -> int:
    """The line of `key = ...` (in the index-th `[[table]]` when given); 1 when not found,
    so a missing key points at the file's start."""
    lines = text.splitlines()
    start = 0
    if table is not None:
        headers = [
            i for i, line in enumerate(lines) if line.strip() in (f"[[{table}]]", f"[{table}]")
        ]
        if index < len(headers):
            start = headers[index]
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(start, len(lines)):
        if i > start and table is not None and lines[i].lstrip().startswith("["):
            break
        if table is None and lines[i].lstrip().startswith("["):
            break
        if pattern.match(lines[i]):
            return i + 1
    return start + 1


def parse_spec(text: str, path: str) -> WorkloadSpec:
    """One workload file's text to a WorkloadSpec; SuiteError `path:line: what` otherwise."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise SuiteError(
            f"{path}:{match.group(1) if match else 1}: not valid TOML: {exc}"
        ) from None

    def fail(message: str, key: str, table: str | None = None, index: int = 0) -> SuiteError:
        return SuiteError(f"{path}:{_line_of(text, key, table, index)}: {message}")

    def need(table: dict[str, Any], key: str, kind: type, where: str | None = None,
             index: int = 0) -> Any:  # fmt: skip
        if key not in table:
            raise fail(f"missing '{key}'", where or key, where, index)
        value = table[key]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise fail(f"'{key}' must be a {kind.__name__}", key, where, index)
        return value

    def only_known(entry: dict[str, Any], known: set[str], what: str, where: str,
                   index: int) -> None:  # fmt: skip
        extra = sorted(set(entry) - known)
        if extra:
            raise fail(f"unknown {what} key '{extra[0]}'", extra[0], where, index)

    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise fail(f"unknown key '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})", unknown[0])
    name = need(data, "name", str)
    if Path(path).stem != name:
        raise fail(f"name '{name}' differs from the file's name '{Path(path).stem}'", "name")
    category = need(data, "category", str)
    if category not in CATEGORIES:
        raise fail(f"category '{category}' is not one of {', '.join(CATEGORIES)}", "category")
    runner, parser = need(data, "runner", str), need(data, "parser", str)
    requires = tuple(data.get("requires", ()))
    catalogue = schedlang.workloads()
    known = catalogue.get(runner)
    if known is None and not requires:
        raise fail(
            f"no runner '{runner}' in runtime/workloads.py (known: {', '.join(catalogue)}); "
            "a workload whose runner is not written yet must say what it `requires`",
            "runner",
        )
    if known is not None and known.parse.__name__ != parser:
        raise fail(
            f"runner '{runner}' reads its output with '{known.parse.__name__}', not '{parser}'",
            "parser",
        )
    proxy = data.get("sim_proxy")
    if proxy is not None and proxy not in catalogue:
        raise fail(f"sim_proxy '{proxy}' is not a catalogue workload", "sim_proxy")
    reported = {s.name: s for s in schedlang.workload_metrics(runner)} if known else {}

    metrics = []
    for i, m in enumerate(data.get("metrics", [])):
        only_known(m, _METRIC_KEYS, "metric", "metrics", i)
        mname = need(m, "name", str, "metrics", i)
        alpha = need(m, "alpha", float, "metrics", i)
        if not 0 < alpha <= 1:
            raise fail(f"alpha {alpha} must be in (0, 1]", "alpha", "metrics", i)
        if known is not None:
            if mname not in reported:
                raise fail(
                    f"runner '{runner}' does not report '{mname}' "
                    f"(it reports: {', '.join(reported)})",
                    "name", "metrics", i,
                )  # fmt: skip
            metrics.append(Metric(mname, reported[mname].unit, reported[mname].better, alpha))
        else:
            direction = need(m, "direction", str, "metrics", i)
            if direction not in ("lower", "higher"):
                raise fail("direction must be 'lower' or 'higher'", "direction", "metrics", i)
            metrics.append(Metric(mname, need(m, "unit", str, "metrics", i), direction, alpha))
    if not metrics:
        raise fail("no [[metrics]]: a workload needs at least one scored metric", "name")
    total = sum(m.alpha for m in metrics)
    if abs(total - 1.0) > 1e-9:
        raise fail(f"the metrics' alpha add up to {total:g}, not 1", "alpha", "metrics", 0)

    slos = []
    for i, s in enumerate(data.get("slos", [])):
        only_known(s, _SLO_KEYS, "SLO", "slos", i)
        metric = need(s, "metric", str, "slos", i)
        if known is not None and metric not in reported:
            raise fail(f"SLO on '{metric}', which runner '{runner}' does not report",
                       "metric", "slos", i)  # fmt: skip
        bound = need(s, "bound", float, "slos", i)
        if bound <= 0:
            raise fail(f"bound {bound:g} must be positive", "bound", "slos", i)
        slos.append(Slo(metric, bound, need(s, "relative", bool, "slos", i),
                        need(s, "hard", bool, "slos", i), need(s, "why", str, "slos", i)))  # fmt: skip
    goal, goal_why = _goal(data, fail, need, only_known)
    return WorkloadSpec(
        name=name,
        description=need(data, "description", str),
        category=category,
        held_out=need(data, "held_out", bool),
        runner=runner,
        parser=parser,
        sim_proxy=proxy,
        requires=requires,
        metrics=tuple(metrics),
        slos=tuple(slos),
        path=path,
        goal=goal,
        goal_why=goal_why,
    )


def _goal(data: dict[str, Any], fail: Any, need: Any, only_known: Any) -> tuple[Goal, str]:
    """The `[goal]` table: a goal metric (agent/goal.py METRICS) and its direction, why, and
    `[[goal.slos]]` floors (a share of the default's performance, in (0, 1])."""
    if "goal" not in data:
        raise fail("missing '[goal]': phase 1 grades an agent's goal against it", "name")
    table = data["goal"]
    if not isinstance(table, dict):
        raise fail("'goal' must be a table ([goal])", "goal")
    only_known(table, _GOAL_KEYS, "goal", "goal", 0)
    metric = need(table, "metric", str, "goal")
    direction = need(table, "direction", str, "goal")
    floors = []
    for i, entry in enumerate(table.get("slos", [])):
        only_known(entry, _GOAL_SLO_KEYS, "goal SLO", "goal.slos", i)
        slo_metric = need(entry, "metric", str, "goal.slos", i)
        if slo_metric not in GOAL_METRICS:
            raise fail(f"unknown goal metric '{slo_metric}' (known: {', '.join(GOAL_METRICS)})",
                       "metric", "goal.slos", i)  # fmt: skip
        floor = need(entry, "floor", float, "goal.slos", i)
        if not 0 < floor <= 1:
            raise fail(f"floor {floor:g} must be in (0, 1]: a share of the default's "
                       "performance", "floor", "goal.slos", i)  # fmt: skip
        floors.append(GoalSlo(slo_metric, floor))
    try:
        goal = Goal(metric, direction, slos=tuple(floors))
    except GoalError as exc:
        raise fail(exc.message, "metric", "goal") from None
    return goal, need(table, "why", str, "goal")


def load(directory: Path | None = None) -> list[WorkloadSpec]:
    """Every workload file of the suite (the package's, or `directory`'s), by name."""
    if directory is not None:
        files = sorted(directory.glob("*.toml"))
        return [parse_spec(f.read_text(), str(f)) for f in files]
    root = resources.files(PACKAGE).joinpath("workloads")
    entries = sorted((e for e in root.iterdir() if e.name.endswith(".toml")), key=lambda e: e.name)
    return [parse_spec(e.read_text(), f"workloads/{e.name}") for e in entries]


def select(specs: list[WorkloadSpec], names: list[str] | None) -> list[WorkloadSpec]:
    """The named workloads, in the order given; SuiteError naming an unknown one."""
    if not names:
        return specs
    by_name = {s.name: s for s in specs}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SuiteError(f"unknown workload '{unknown[0]}' (the suite: {', '.join(by_name)})")
    return [by_name[n] for n in names]

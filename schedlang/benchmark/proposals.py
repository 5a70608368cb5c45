"""A proposals file: an agent's whole benchmark answer as JSON (`--agent proposals:FILE.json`).

Any person or program can write one, and `schedlang mcp --bench-proposals FILE` writes one for
an agent connected over MCP (`record`), so an agent is benchmarked without running inside
schedlang. The file holds, per visible workload, the policy the agent proposes (a library
policy's name, DSL source, or sched_ext C) with its tunables and, for phase 1, the goal it
states; and per category the proposal used for that category's held-out workloads, which the
agent never sees (docs/benchmark.md, "Tracks and agents", has the format and an example).

The file is checked whole before anything runs, and every problem is one line
`FILE:field: what` (an unknown or held-out workload, a tunable the policy does not have or a
value outside its range, a goal metric that does not exist). DSL source that does not check is
not refused: the agent proposed it, so it is scored as the runner scores any proposal that
does not compile (nothing loads, every I is missing, the workload scores 0), and the note
says so. The runner measures; the file never carries a figure.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import schedlang
import schedlang.stdlib
from schedlang.agent.goal import METRICS as GOAL_METRICS
from schedlang.agent.goal import Goal, GoalError
from schedlang.agent.goal import Slo as GoalSlo
from schedlang.benchmark.agents import AgentError, Budget, GoalQuestion, Proposal
from schedlang.benchmark.suite import CATEGORIES, WorkloadSpec

PREFIX = "proposals:"
SCHEMA = 1
DEFAULT = "default"  # as a policy in `record`: the kernel's own scheduler (null in the file)
LANGUAGES = ("sched", "c")
_TOP_KEYS = ("schema", "agent", "spent", "workloads", "categories")
_ENTRY_KEYS = ("policy", "language", "params", "goal", "note")
_GOAL_KEYS = ("metric", "direction", "slos", "text")
_SPENT_KEYS = ("wall_s", "vm_runs", "tokens")


@dataclass(frozen=True)
class Entry:
    """One workload's or category's proposal. `proposed` False: only a goal was given (the
    category's proposal, or the default, is measured). `problem`: why DSL source that was
    proposed does not check (it is measured as a failed proposal)."""

    proposed: bool
    policy: str | None = None  # a library policy's name, source, or None: the default
    language: str = "sched"
    params: dict[str, Any] = field(default_factory=dict)
    goal: Goal | None = None
    note: str = ""
    problem: str | None = None

    @property
    def is_source(self) -> bool:
        return self.policy is not None and "\n" in self.policy

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.goal is not None:
            out["goal"] = goal_json(self.goal)
        if self.proposed:
            out["policy"] = self.policy
            if self.language != "sched":
                out["language"] = self.language
            if self.params:
                out["params"] = dict(self.params)
            if self.note:
                out["note"] = self.note
        return out


def goal_json(goal: Goal) -> dict[str, Any]:
    out: dict[str, Any] = {"metric": goal.metric, "direction": goal.direction}
    if goal.slos:
        out["slos"] = [{"metric": s.metric, "floor": s.floor} for s in goal.slos]
    if goal.text:
        out["text"] = goal.text
    return out


@dataclass(frozen=True)
class Proposals:
    path: Path
    agent: str | None
    spent: Budget  # what the agent says it spent (self-reported: the runner cannot see it)
    workloads: dict[str, Entry]
    categories: dict[str, Entry]

    def source_field(self) -> str | None:
        """The first field holding source (which makes the file a T2 agent), or None."""
        for kind, entries in (("workloads", self.workloads), ("categories", self.categories)):
            for name, entry in entries.items():
                if entry.is_source:
                    return f"{kind}.{name}.policy"
        return None


def check_entry(data: Any, where: str) -> tuple[Entry | None, list[str]]:
    """One entry (a JSON object) checked: the Entry, or None and every problem as
    `where.field: what`."""
    if not isinstance(data, dict):
        return None, [f"{where}: must be an object with policy, params, goal (see "
                      "docs/benchmark.md)"]  # fmt: skip
    problems = [f"{where}.{k}: unknown key (known: {', '.join(_ENTRY_KEYS)})"
                for k in data if k not in _ENTRY_KEYS]  # fmt: skip
    goal = None
    if "goal" in data:
        goal, more = _goal(data["goal"], f"{where}.goal")
        problems += more
    note = data.get("note", "")
    if not isinstance(note, str):
        problems.append(f"{where}.note: must be a string")
    language = data.get("language", "sched")
    if language not in LANGUAGES:
        problems.append(f"{where}.language: {language!r} is not 'sched' or 'c'")
    params, more = _params(data.get("params", {}), f"{where}.params")
    problems += more
    if "policy" not in data:
        if "params" in data or "language" in data:
            problems.append(f"{where}: params or language without a policy (a goal alone "
                            "needs neither)")  # fmt: skip
        if goal is None and not problems:
            problems.append(f"{where}: neither a policy nor a goal")
        return (None, problems) if problems else (Entry(False, goal=goal), [])
    policy, problem = data["policy"], None
    if policy is None:
        if params:
            problems.append(f"{where}.params: the default scheduler (policy null) has no "
                            "tunables")  # fmt: skip
    elif not isinstance(policy, str) or not policy.strip():
        problems.append(f"{where}.policy: must be a library policy's name, source text or "
                        "null (the default)")  # fmt: skip
    elif language == "c":
        if "\n" not in policy:
            problems.append(f"{where}.policy: language 'c' needs the C source itself (it "
                            "spans lines)")  # fmt: skip
    elif language == "sched":
        more, problem = _check_policy(policy, params, where)
        problems += more
    if problems:
        return None, problems
    return Entry(True, policy, language, params, goal, note, problem), []


def _check_policy(policy: str, params: dict[str, Any], where: str) -> tuple[list[str], str | None]:
    """A DSL policy (a library name or source) and its tunables: (problems, why the source
    does not check, or None)."""
    if "\n" in policy:
        result = schedlang.check_program(policy, f"{where}.policy")
        if result.program is None:
            first = next(d for d in result.diagnostics if d.severity == "error")
            return [], (f"{where}.policy does not check: {first.line}:{first.col}: "
                        f"{first.message} [{first.code}]")  # fmt: skip
        checked = result.program
    elif policy.strip() in schedlang.stdlib.names():
        name = policy.strip()
        library = schedlang.check_program(schedlang.stdlib.source(name), f"{name}.sched").program
        assert library is not None  # the library's policies check (tests/stdlib)
        checked = library
    else:
        return [f"{where}.policy: '{policy}' is not a library policy (known: "
                f"{', '.join(schedlang.stdlib.names())}); DSL source spans lines"], None  # fmt: skip
    problems = []
    for diag in schedlang.check_params(checked, params):
        match = re.match(r"--param ([^=:]+)", diag.message)
        name = match.group(1) if match else "?"
        hint = f"; {diag.hints[0]}" if diag.hints else ""
        problems.append(f"{where}.params.{name}: {diag.message.removeprefix('--param ')}{hint}")
    return problems, None


def _params(data: Any, where: str) -> tuple[dict[str, Any], list[str]]:
    """Tunables as `--param` takes them: text ("3ms"), an integer, or a bool."""
    if not isinstance(data, dict):
        return {}, [f"{where}: must be an object of tunable name to value"]
    out: dict[str, Any] = {}
    problems = []
    for name, value in data.items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, int | str):
            out[name] = value
        else:
            problems.append(f"{where}.{name}: {value!r} is not text, an integer or a bool "
                            "(write a duration with its unit: \"3ms\")")  # fmt: skip
    return out, problems


def _goal(data: Any, where: str) -> tuple[Goal | None, list[str]]:
    if not isinstance(data, dict):
        return None, [f"{where}: must be an object with metric, direction, slos, text"]
    problems = [f"{where}.{k}: unknown key (known: {', '.join(_GOAL_KEYS)})"
                for k in data if k not in _GOAL_KEYS]  # fmt: skip
    metric = data.get("metric")
    if metric not in GOAL_METRICS:
        problems.append(f"{where}.metric: {metric!r} is not a goal metric (known: "
                        f"{', '.join(GOAL_METRICS)})")  # fmt: skip
        return None, problems
    direction = data.get("direction", GOAL_METRICS[metric][0])
    slos = []
    entries = data.get("slos", [])
    if not isinstance(entries, list):
        problems.append(f"{where}.slos: must be a list of {{metric, floor}}")
        entries = []
    for i, slo in enumerate(entries):
        at = f"{where}.slos[{i}]"
        if not isinstance(slo, dict) or set(slo) != {"metric", "floor"}:
            problems.append(f'{at}: must be {{"metric": M, "floor": F}}')
        elif slo["metric"] not in GOAL_METRICS:
            problems.append(f"{at}.metric: {slo['metric']!r} is not a goal metric")
        elif isinstance(slo["floor"], bool) or not isinstance(slo["floor"], int | float) \
                or not 0 < slo["floor"] <= 1:  # fmt: skip
            problems.append(f"{at}.floor: {slo['floor']!r} must be in (0, 1]: a share of the "
                            "default's performance")  # fmt: skip
        else:
            slos.append(GoalSlo(slo["metric"], float(slo["floor"])))
    text = data.get("text", "")
    if not isinstance(text, str):
        problems.append(f"{where}.text: must be a string")
    if problems:
        return None, problems
    try:
        return Goal(metric, direction, slos=tuple(slos), text=text), []
    except GoalError as exc:
        return None, [f"{where}.direction: {exc.message}"]


def parse(data: Any, path: Path, specs: list[WorkloadSpec]) -> Proposals:
    """A proposals file's JSON checked whole; AgentError with every problem, one a line."""
    where = str(path)
    if not isinstance(data, dict):
        raise AgentError(f"{where}: must be a JSON object with workloads and categories "
                         "(docs/benchmark.md, \"Tracks and agents\")")  # fmt: skip
    problems = [f"{where}:{k}: unknown key (known: {', '.join(_TOP_KEYS)})"
                for k in data if k not in _TOP_KEYS]  # fmt: skip
    if data.get("schema", SCHEMA) != SCHEMA:
        problems.append(f"{where}:schema: {data['schema']!r} is not {SCHEMA}")
    agent = data.get("agent")
    if agent is not None and (not isinstance(agent, str) or not agent.strip()):
        problems.append(f"{where}:agent: must be a non-empty string (the name scores.json shows)")
    spent, more = _spent(data.get("spent", {}), f"{where}:spent")
    problems += more
    by_name = {s.name: s for s in specs}
    visible = [s.name for s in specs if not s.held_out]
    workloads: dict[str, Entry] = {}
    categories: dict[str, Entry] = {}
    for kind, known in (("workloads", None), ("categories", CATEGORIES)):
        table = data.get(kind, {})
        if not isinstance(table, dict):
            problems.append(f"{where}:{kind}: must be an object of name to proposal")
            continue
        for name, entry_data in table.items():
            at = f"{where}:{kind}.{name}"
            if known is not None and name not in known:
                problems.append(f"{at}: unknown category (known: {', '.join(known)})")
                continue
            if known is None and name not in by_name:
                problems.append(f"{at}: unknown workload (the visible workloads: "
                                f"{', '.join(visible)})")  # fmt: skip
                continue
            if known is None and by_name[name].held_out:
                problems.append(f"{at}: '{name}' is held out, so no agent saw it: propose for "
                                f"its category instead (categories.{by_name[name].category})")  # fmt: skip
                continue
            entry, more = check_entry(entry_data, at)
            problems += more
            if entry is not None:
                (workloads if known is None else categories)[name] = entry
    if not problems and not workloads and not categories:
        problems.append(f"{where}: proposes nothing (no workloads, no categories)")
    if problems:
        raise AgentError("\n".join(problems))
    return Proposals(path, agent, spent, workloads, categories)


def _spent(data: Any, where: str) -> tuple[Budget, list[str]]:
    if not isinstance(data, dict):
        return Budget(0, 0, 0), [f"{where}: must be an object with wall_s, vm_runs, tokens"]
    problems = [f"{where}.{k}: unknown key (known: {', '.join(_SPENT_KEYS)})"
                for k in data if k not in _SPENT_KEYS]  # fmt: skip
    values: dict[str, Any] = {}
    for key in _SPENT_KEYS:
        value = data.get(key, 0)
        whole = key != "wall_s"
        if isinstance(value, bool) or not isinstance(value, int if whole else int | float) \
                or value < 0:  # fmt: skip
            problems.append(f"{where}.{key}: {value!r} must be a non-negative "
                            + ("integer" if whole else "number"))  # fmt: skip
        else:
            values[key] = value
    return Budget(float(values.get("wall_s", 0)), values.get("vm_runs", 0),
                  values.get("tokens", 0)), problems  # fmt: skip


def read_json(path: Path) -> Any:
    """The file's JSON; AgentError `FILE:line:col: ...` when it is missing or not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AgentError(f"{path}: no such proposals file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentError(f"{path}: cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AgentError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None


def read(path: Path, specs: list[WorkloadSpec] | None = None) -> Proposals:
    from schedlang.benchmark import suite

    return parse(read_json(path), path, suite.load() if specs is None else specs)


def load_agent(path: Path, track: str) -> ProposalsAgent:
    """The agent a proposals file stands for, for a run in `track`: one with source in it
    writes code, so it runs in track T2 only, like the shipped T2 agents."""
    proposals = read(path)
    agent = ProposalsAgent(proposals)
    source = proposals.source_field()
    if source is not None and track != "T2":
        raise AgentError(f"agent '{agent.name}' writes code: it runs in track T2 (--track T2); "
                         f"{path}:{source} is source")  # fmt: skip
    return agent


class ProposalsAgent:
    """Answers the runner from a proposals file: a workload's own entry, else its category's,
    else the default. What the file says was spent is charged once, with the first proposal."""

    def __init__(self, proposals: Proposals) -> None:
        self.proposals = proposals
        self.name = proposals.agent or f"{PREFIX}{proposals.path.name}"
        self.track = "T1" if proposals.source_field() is None else "T2"
        self.charged = False
        entries = [*proposals.workloads.values(), *proposals.categories.values()]
        if any(e.goal is not None for e in entries):
            self.state_goal = self._state_goal  # phase 1 is graded only when goals are given

    def _entries(self, workload: str, category: str) -> list[tuple[str, Entry]]:
        found = [(f"workloads.{workload}", self.proposals.workloads.get(workload)),
                 (f"categories.{category}", self.proposals.categories.get(category))]  # fmt: skip
        return [(where, entry) for where, entry in found if entry is not None]

    def _state_goal(self, question: GoalQuestion) -> Goal | None:
        goals = [e.goal for _, e in self._entries(question.workload, question.category) if e.goal]
        return goals[0] if goals else None

    def propose(
        self, spec: WorkloadSpec, profile: dict[str, Any] | None, budget: Budget
    ) -> Proposal:
        spent = Budget(0, 0, 0) if self.charged else self.proposals.spent
        self.charged = True
        charged = Proposal(None, wall_s=spent.wall_s, vm_runs=spent.vm_runs, tokens=spent.tokens)
        for where, entry in self._entries(spec.name, spec.category):
            if not entry.proposed:
                continue
            note = entry.note or f"{self.proposals.path.name}:{where}"
            if entry.problem is not None:
                note = f"{entry.problem}: scored as a failed proposal"
            return replace(charged, policy=entry.policy, params=dict(entry.params), note=note,
                           language="c" if entry.language == "c" else "sched")  # fmt: skip
        return replace(charged, note=f"nothing proposed for {spec.name} or {spec.category}: "
                       "the default")  # fmt: skip


# --- writing the file for an agent connected over MCP (mcp_server.py) ---------------------------


def record(
    path: Path, kind: str, name: str, given: dict[str, Any], specs: list[WorkloadSpec]
) -> Entry:
    """Add or change one entry of the file at `path` (created when missing) with the fields
    `given` (the others keep their recorded values), checked as the whole file is; AgentError
    with every problem otherwise, and nothing written.

    A workload's goal is phase 1's answer, so it is frozen once the workload has an entry:
    from then on its metrics and SLOs are shown (mcp_server `bench_workloads`), and a goal
    stated after seeing them would not be inferred from the profile."""
    doc = read_json(path) if path.exists() else {"schema": SCHEMA}
    if not isinstance(doc, dict):
        raise AgentError(f"{path}: must be a JSON object; it was changed by hand")
    table = doc.setdefault(kind, {})
    old = table.get(name)
    if kind == "workloads" and old is not None and "goal" in given:
        stated, _ = _goal(given["goal"], "goal")
        frozen, _ = _goal(old["goal"], "goal") if "goal" in old else (None, [])
        if stated != frozen:
            raise AgentError(f"workloads.{name}.goal: cannot change once {name} has an entry "
                             "(its metrics and SLOs have been shown since): phase 1 states a "
                             "goal from the profile alone")  # fmt: skip
    merged = dict(old or {})
    if "policy" in given:  # a new proposal replaces the old one's fields
        merged = {k: v for k, v in merged.items() if k == "goal"}
        merged["policy"] = None if given["policy"] == DEFAULT else given["policy"]
    merged.update({k: v for k, v in given.items() if k != "policy" and v is not None})
    table[name] = merged
    proposals = parse(doc, path, specs)  # the whole file, as bench run will read it
    entry = (proposals.workloads if kind == "workloads" else proposals.categories)[name]
    table[name] = entry.to_json()
    _write(path, doc)
    return entry


def _write(path: Path, doc: dict[str, Any]) -> None:
    """Replace the file in one rename, so bench run never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(doc, out, indent=2)
        out.write("\n")
    os.replace(tmp, path)

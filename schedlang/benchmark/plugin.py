"""Which agent `--agent` names: a shipped one (agents.py), a proposals file
(`proposals:FILE.json`, proposals.py), or an agent from outside schedlang,
`module.path:attr` or `path/to/file.py:Name`, loaded here.

The attribute is an agent (an object with `name` and `propose`, agents.Agent) or something
that makes one when called with no arguments (a class, a factory function). Its `track`
attribute says which track it belongs to, T1 when it has none; one that writes code must say
T2, and is refused in track T1 as the shipped T2 agents are. Loading it is where an outside
agent most often goes wrong (a typo in the module, a missing attribute, a constructor that
raises), so every such failure is one AgentError line naming the `--agent` value and what to
fix, never a traceback.

The loaded agent is wrapped (`Outside`) so that the runner can trust what comes back: an
exception in `propose` or `state_goal`, a return value of the wrong type, a library policy
that does not exist, or source proposed in track T1 become AgentError lines naming the agent
and the workload. The runner still measures every proposal itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from schedlang.agent.goal import Goal
from schedlang.benchmark import agents, proposals
from schedlang.benchmark.agents import (
    AGENTS,
    TRACKS,
    Agent,
    AgentError,
    Budget,
    GoalQuestion,
    Proposal,
)
from schedlang.benchmark.suite import WorkloadSpec

FORMS = (
    ("module.path:attr", "an agent, its class or a factory, importable from here"),
    ("path/to/file.py:Name", "the same, from a Python file"),
    ("proposals:FILE.json", "a proposals file (by hand, a program, or MCP bench tools)"),
)  # fmt: skip


def make(value: str, track: str = "T1") -> Agent:
    """The agent `--agent value` names, for a run in `track`; AgentError (one line per
    problem) when it cannot be used."""
    if value.startswith(proposals.PREFIX):
        return proposals.load_agent(Path(value.removeprefix(proposals.PREFIX)), track)
    target, sep, attr = value.rpartition(":")
    if sep and target:
        return load(value, track)
    return agents.make(value, track)


def load(reference: str, track: str) -> Outside:
    """The agent `reference` (module docstring) for a run in `track`; AgentError otherwise."""
    target, _, attr = reference.rpartition(":")

    def fail(message: str) -> AgentError:
        return AgentError(f"--agent {reference}: {message}")

    if not attr.isidentifier():
        raise fail(f"'{attr}' is not a Python name (write module.path:Name or file.py:Name)")
    if target.endswith(".py") or os.sep in target:
        module = _from_file(Path(target), fail)
    else:
        module = _from_module(target, fail)
    if not hasattr(module, attr):
        found = sorted(n for n, v in vars(module).items()
                       if not n.startswith("_") and callable(getattr(v, "propose", None)))  # fmt: skip
        raise fail(f"'{target}' has no attribute '{attr}'"
                   + (f" (agents in it: {', '.join(found)})" if found else ""))  # fmt: skip
    agent = _instantiate(getattr(module, attr), attr, fail)
    name = getattr(agent, "name", None)
    if not isinstance(name, str) or not name.strip():
        raise fail(f"'{attr}' is not an agent: it has no `name` (a non-empty string)")
    if name in AGENTS:
        raise fail(f"'{attr}' is named '{name}', like a shipped agent: give it a name of its own")
    propose = getattr(agent, "propose", None)
    if not callable(propose):
        raise fail(f"'{attr}' is not an agent: it has no propose(spec, profile, budget) method")
    if not _takes(propose, 3):
        raise fail(f"'{attr}'.propose must take (spec, profile, budget)")
    state_goal = getattr(agent, "state_goal", None)
    if state_goal is not None and not (callable(state_goal) and _takes(state_goal, 1)):
        raise fail(f"'{attr}'.state_goal must be a method taking (question)")
    declared = getattr(agent, "track", "T1")
    if declared not in TRACKS:
        raise fail(f"'{attr}'.track is {declared!r}: it must be 'T1' (config only) or 'T2' "
                   "(writes code)")  # fmt: skip
    if declared == "T2" and track != "T2":
        raise AgentError(f"agent '{name}' writes code: it runs in track T2 (--track T2)")
    return Outside(agent, name, track)


def _from_file(path: Path, fail: Any) -> Any:
    if not path.is_file():
        raise fail(f"no file '{path}'")
    module_name = f"schedlang_outside_agent_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise fail(f"'{path}' cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        del sys.modules[module_name]
        if isinstance(exc, SyntaxError) and exc.filename == str(path.resolve()):
            exc.filename = str(path)  # as the user wrote it
        raise fail(f"importing '{path}' failed: {_describe(exc)}") from None
    return module


def _from_module(name: str, fail: Any) -> Any:
    """The module `name`, importable from the current directory or sys.path (as `python3 -m`
    would find it, which the `schedlang` console script alone would not)."""
    here = os.getcwd()
    added = here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(f"{exc.name}.")):
            raise fail(f"no module '{name}' (looked in the current directory and on "
                       "PYTHONPATH)") from None  # fmt: skip
        raise fail(f"importing '{name}' failed: {_describe(exc)}") from None
    except (Exception, SystemExit) as exc:
        raise fail(f"importing '{name}' failed: {_describe(exc)}") from None
    finally:
        if added:
            sys.path.remove(here)


def _instantiate(obj: Any, attr: str, fail: Any) -> Any:
    """`obj` itself when it is an agent; what calling it returns when it is a class or a
    factory; the constructor's exception as one line."""
    has_propose = callable(getattr(obj, "propose", None))
    if not inspect.isclass(obj) and has_propose:
        return obj
    if not callable(obj) or (inspect.isclass(obj) and not has_propose):
        raise fail(f"'{attr}' is not an agent: it has no propose(spec, profile, budget) method")
    try:
        return obj()
    except (Exception, SystemExit) as exc:
        raise fail(f"{attr}() raised {_describe(exc)}") from None


def _takes(fn: Any, count: int) -> bool:
    """`fn` can be called with `count` positional arguments."""
    try:
        inspect.signature(fn).bind(*([None] * count))
    except TypeError:
        return False
    except ValueError:  # a builtin without a signature: let the call decide
        return True
    return True


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"{exc.filename}:{exc.lineno}: SyntaxError: {exc.msg}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Outside:
    """An outside agent held to the protocol at every call (module docstring)."""

    def __init__(self, agent: Any, name: str, track: str) -> None:
        self.agent = agent
        self.name = name
        self.track = track
        if getattr(agent, "state_goal", None) is not None:
            self.state_goal = self._state_goal  # the runner grades phase 1 only when present

    def propose(
        self, spec: WorkloadSpec, profile: dict[str, Any] | None, budget: Budget
    ) -> Proposal:
        proposal = self._call("propose", spec.name, spec, profile, budget)
        where = f"agent '{self.name}', propose({spec.name})"
        if not isinstance(proposal, Proposal):
            raise AgentError(f"{where} returned {type(proposal).__name__}, not a Proposal")
        if proposal.policy is not None and not isinstance(proposal.policy, str):
            raise AgentError(f"{where}: policy must be a library policy's name, source or None")
        if proposal.is_source and self.track != "T2":
            raise AgentError(f"{where} proposed source in track T1, which is config only: set "
                             "the agent's track = 'T2' and run it with --track T2")  # fmt: skip
        if proposal.policy is not None and not proposal.is_source:
            import schedlang.stdlib

            if proposal.policy not in schedlang.stdlib.names():
                raise AgentError(f"{where}: '{proposal.policy}' is not a library policy "
                                 "(source text spans lines)")  # fmt: skip
        if not isinstance(proposal.params, dict):
            raise AgentError(f"{where}: params must be a dict of tunable name to value")
        return proposal

    def _state_goal(self, question: GoalQuestion) -> Goal | None:
        goal = self._call("state_goal", question.workload, question)
        if goal is not None and not isinstance(goal, Goal):
            raise AgentError(f"agent '{self.name}', state_goal({question.workload}) returned "
                             f"{type(goal).__name__}, not a Goal or None")  # fmt: skip
        return goal

    def _call(self, method: str, workload: str, *args: Any) -> Any:
        try:
            return getattr(self.agent, method)(*args)
        except AgentError as exc:
            raise AgentError(f"agent '{self.name}', {method}({workload}): {exc}") from None
        except Exception as exc:
            raise AgentError(f"agent '{self.name}', {method}({workload}) raised "
                             f"{_describe(exc)}") from None  # fmt: skip

"""An agent from outside schedlang, `--agent module.path:attr` or `--agent file.py:Name`: a
small agent module written to a temporary directory is loaded both ways and scored by the
runner (its VM measurement replaced by recorded runs, as in test_runner.py); every way of
getting it wrong is one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_runner import _report

from schedlang.benchmark import agents, plugin, profiles, proposals, runner, suite
from schedlang.cli import main

AGENT_MODULE = '''
from schedlang.agent.goal import Goal
from schedlang.benchmark.agents import Proposal


class Fifo:
    """Proposes the library's one-queue policy everywhere, with a shorter slice."""

    name = "fifo-everywhere"

    def propose(self, spec, profile, budget):
        return Proposal("simple_fifo", {"slice": "5ms"}, note=f"saw a profile: {profile is not None}",
                        wall_s=1.5)

    def state_goal(self, question):
        return Goal("time", "lower", text=f"{question.category} work: finish sooner")


def make_fifo():
    return Fifo()


fifo = Fifo()


class Broken:
    name = "broken"

    def __init__(self):
        raise RuntimeError("no config file")

    def propose(self, spec, profile, budget):
        return None


class Coder:
    name = "coder"
    track = "T2"

    def propose(self, spec, profile, budget):
        return Proposal(None)


class SneakyCoder:
    name = "sneaky"

    def propose(self, spec, profile, budget):
        return Proposal("scheduler x \\"d\\" {\\n}\\n")


class Crashes:
    name = "crashes"

    def propose(self, spec, profile, budget):
        raise KeyError("slice")


class GoalCrashes:
    name = "goal-crashes"

    def state_goal(self, question):
        raise ValueError("no idea")

    def propose(self, spec, profile, budget):
        return Proposal(None)


class WrongAnswer:
    name = "wrong-answer"

    def propose(self, spec, profile, budget):
        return "latency_boost"


class Unnamed:
    def propose(self, spec, profile, budget):
        return None


class ShortPropose:
    name = "short"

    def propose(self, spec):
        return None


class Shipped:
    name = "rules"

    def propose(self, spec, profile, budget):
        return None


class OddTrack:
    name = "odd"
    track = "T3"

    def propose(self, spec, profile, budget):
        return None


NOT_AN_AGENT = 3
'''


@pytest.fixture(autouse=True)
def no_vm_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests show simulated profiles (--profiles sim); a VM trace would be a mistake."""
    monkeypatch.setattr(profiles, "_trace", lambda *a: pytest.fail("traced in the VM"))


@pytest.fixture
def agent_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory holding `outside_agent.py`, the current directory (as a user's project
    would be), the module forgotten again afterwards."""
    home = tmp_path / "project"
    home.mkdir()
    (home / "outside_agent.py").write_text(AGENT_MODULE)
    (home / "bad_syntax.py").write_text("class A:\n    def propose(self\n")
    (home / "needs_missing.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.chdir(home)
    yield home
    for name in [m for m in sys.modules if "outside_agent" in m]:
        del sys.modules[name]


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[runner.Boot]:
    """The VM replaced by recorded runs (the agent's side twice as fast); the boots asked for."""
    boots: list[runner.Boot] = []

    def measure(job: runner.Boot, say: Any) -> Any:
        boots.append(job)
        return _report(job.runner, [2.0] * 5, [1.0] * 5)

    monkeypatch.setattr(runner, "_measure", measure)
    return boots


@pytest.mark.parametrize("form", ["outside_agent:Fifo", "outside_agent.py:Fifo",
                                  "outside_agent:make_fifo", "outside_agent:fifo"])  # fmt: skip
def test_an_outside_agent_is_loaded_and_scored_like_a_shipped_one(
    form: str, agent_dir: Path, measured: list[runner.Boot], capsys: pytest.CaptureFixture[str]
) -> None:
    out = agent_dir / "out"
    assert (
        main(
            [
                "bench",
                "run",
                "--profiles",
                "sim",
                "--agent",
                form,
                "--workloads",
                "hackbench",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert [(b.runner, b.policy, b.params) for b in measured] == [
        ("hackbench", "simple_fifo", {"slice": "5ms"})
    ]
    scores = json.loads((out / "scores.json").read_text())
    assert scores["agent"] == "fifo-everywhere" and scores["track"] == "T1"
    (w,) = scores["workloads"]
    assert (w["policy"], w["params"], w["weighted"]) == ("simple_fifo", {"slice": "5ms"}, 2.0)
    assert w["goal"]["stated"]["metric"] == "time" and w["goal"]["grade"] == 1.0
    assert scores["budget"]["wall_s"] == 1.5
    assert (
        "  hackbench: simple_fifo {'slice': '5ms'} saw a profile: True" in capsys.readouterr().out
    )


def test_a_module_found_through_a_package_path(
    agent_dir: Path, measured: list[runner.Boot], tmp_path: Path
) -> None:
    package = agent_dir / "myteam" / "agents"
    package.mkdir(parents=True)
    (agent_dir / "myteam" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "fifo.py").write_text(AGENT_MODULE)
    agent = plugin.make("myteam.agents.fifo:Fifo")
    assert isinstance(agent, plugin.Outside)
    assert (agent.name, agent.track) == ("fifo-everywhere", "T1")
    for name in [m for m in sys.modules if m.startswith("myteam")]:
        del sys.modules[name]


REFUSALS = [
    ("no_such_module:Agent", "--agent no_such_module:Agent: no module 'no_such_module' (looked in "
     "the current directory and on PYTHONPATH)"),
    ("missing.py:Agent", "--agent missing.py:Agent: no file 'missing.py'"),
    ("outside_agent:Nope", "--agent outside_agent:Nope: 'outside_agent' has no attribute 'Nope' "
     "(agents in it: Broken, Coder, Crashes, Fifo, GoalCrashes, OddTrack, Shipped, "
     "ShortPropose, SneakyCoder, Unnamed, WrongAnswer, fifo)"),
    ("outside_agent:Broken", "--agent outside_agent:Broken: Broken() raised RuntimeError: no "
     "config file"),
    ("outside_agent:NOT_AN_AGENT", "--agent outside_agent:NOT_AN_AGENT: 'NOT_AN_AGENT' is not an "
     "agent: it has no propose(spec, profile, budget) method"),
    ("outside_agent:Goal", "--agent outside_agent:Goal: 'Goal' is not an agent: it has no "
     "propose(spec, profile, budget) method"),
    ("outside_agent:Unnamed", "--agent outside_agent:Unnamed: 'Unnamed' is not an agent: it has "
     "no `name` (a non-empty string)"),
    ("outside_agent:ShortPropose", "--agent outside_agent:ShortPropose: 'ShortPropose'.propose "
     "must take (spec, profile, budget)"),
    ("outside_agent:Shipped", "--agent outside_agent:Shipped: 'Shipped' is named 'rules', like a "
     "shipped agent: give it a name of its own"),
    ("outside_agent:OddTrack", "--agent outside_agent:OddTrack: 'OddTrack'.track is 'T3': it must "
     "be 'T1' (config only) or 'T2' (writes code)"),
    ("outside_agent:Coder", "agent 'coder' writes code: it runs in track T2 (--track T2)"),
    ("outside_agent:bad-name", "--agent outside_agent:bad-name: 'bad-name' is not a Python name "
     "(write module.path:Name or file.py:Name)"),
    ("needs_missing:Agent", "--agent needs_missing:Agent: importing 'needs_missing' failed: "
     "ModuleNotFoundError: No module named 'no_such_dependency_xyz'"),
    ("bad_syntax.py:A", "--agent bad_syntax.py:A: importing 'bad_syntax.py' failed: "
     "bad_syntax.py:2: SyntaxError: '(' was never closed"),
    ("outside_agent:SneakyCoder", "agent 'sneaky', propose(hackbench) proposed source in track "
     "T1, which is config only: set the agent's track = 'T2' and run it with --track T2"),
    ("outside_agent:Crashes", "agent 'crashes', propose(hackbench) raised KeyError: 'slice'"),
    ("outside_agent:GoalCrashes", "agent 'goal-crashes', state_goal(hackbench) raised "
     "ValueError: no idea"),
    ("outside_agent:WrongAnswer", "agent 'wrong-answer', propose(hackbench) returned str, not a "
     "Proposal"),
]  # fmt: skip


@pytest.mark.parametrize(("form", "message"), REFUSALS, ids=[f for f, _ in REFUSALS])
def test_every_way_of_getting_it_wrong_is_one_line_and_exit_2(
    form: str,
    message: str,
    agent_dir: Path,
    measured: list[runner.Boot],
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [
        "bench",
        "run",
        "--profiles",
        "sim",
        "--agent",
        form,
        "--workloads",
        "hackbench",
        "--out",
        "out",
    ]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"schedlang bench run: {message}\n"
    assert measured == []  # nothing was measured


def test_a_t2_agent_runs_in_track_t2(agent_dir: Path) -> None:
    agent = plugin.make("outside_agent:Coder", "T2")
    assert isinstance(agent, plugin.Outside)
    assert (agent.name, agent.track) == ("coder", "T2")


def test_bench_agents_explains_the_forms(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "agents"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-6:-3] == [
        "  --agent module.path:attr      an agent, its class or a factory, importable from here",
        "  --agent path/to/file.py:Name  the same, from a Python file",
        "  --agent proposals:FILE.json   a proposals file (by hand, a program, or MCP bench tools)",
    ]


def _doc_block(language: str) -> str:
    """The fenced `language` block of docs/benchmark.md's "Tracks and agents" section."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "benchmark.md").read_text()
    section = doc.split("## Tracks and agents", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(rf"```{language}\n(.*?)```", section, re.S)
    return block


def test_the_documented_example_agent_runs_as_documented(tmp_path: Path) -> None:
    (tmp_path / "my_agent.py").write_text(_doc_block("python"))
    agent = plugin.make(f"{tmp_path}/my_agent.py:Picky")
    specs = {s.name: s for s in suite.load()}
    hack = agent.propose(specs["hackbench"], None, agents.Budget())
    assert (hack.policy, hack.params) == ("latency_boost", {"boost_slice": "500us"})
    assert agent.propose(specs["xz"], None, agents.Budget()).policy == "weighted_vtime"
    question = agents.GoalQuestion("pipe", "", "latency", None)
    assert agent.state_goal(question).metric == "wakeup_p99"  # type: ignore[attr-defined]
    # the tunables it names are the policy's own, in range
    entry, problems = proposals.check_entry({"policy": "latency_boost", "params": hack.params}, "x")
    assert problems == [] and entry is not None


def test_the_documented_proposals_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "answer.json"
    path.write_text(_doc_block("json"))
    agent = plugin.make(f"proposals:{path}")
    assert isinstance(agent, proposals.ProposalsAgent) and agent.name == "by-hand"
    specs = {s.name: s for s in suite.load()}
    assert agent.propose(specs["gzip"], None, agents.Budget()).policy == "weighted_vtime"
    assert agent.propose(specs["pipe"], None, agents.Budget()).policy == "latency_boost"

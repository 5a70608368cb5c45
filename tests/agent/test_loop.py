"""The offline loop end to end in the simulator (no VM): the stages in order, and honesty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import schedlang
from schedlang.agent import loop
from schedlang.agent.goal import GoalError, parse_goal
from schedlang.agent.loop import Budget, Progress, Synthesis, synthesize
from schedlang.agent.retrieve import BOTTLENECK_WORDS, rank

# The library's second choice for hackbench (its profile is cpu-saturated) after mlfq, whose
# simulated score the verdicts below quote. The second one only has to be the loop's second
# candidate, and which policy that is changes as the library grows.
_FIRST, SECOND = (
    c.name
    for c in rank(parse_goal("maximize throughput of hackbench", None), past=[],
                  bottleneck_words=BOTTLENECK_WORDS["cpu-saturated"], limit=2)
)  # fmt: skip
assert _FIRST == "mlfq", _FIRST


def test_tiny_budget_runs_every_offline_stage_in_order(tmp_path: Path) -> None:
    seen: list[Progress] = []
    result = synthesize(
        "maximize throughput of hackbench",
        budget=Budget(wall_s=120, vm_runs=0),
        candidates=3,
        trials=2,
        progress=seen.append,
        history=tmp_path / "history.sqlite",
    )
    assert [(i.stage, i.candidate) for i in result.iterations] == [
        ("plan", None),
        ("observe", None),
        ("retrieve", None),
        # hackbench's 8+ threads on 2 CPUs ask for placement: mlfq combined with
        # least_loaded's `place` scores just under mlfq, above the library's second choice,
        # and is tuned in the simulator like any other candidate; `candidates` caps them all
        ("tune", "mlfq"),
        ("tune", "least_loaded_mlfq"),
        ("tune", SECOND),
    ]
    assert [len(i.detail["trials"]) for i in result.iterations[3:]] == [2, 2, 2]
    assert result.iterations[1].outcome.startswith("cpu-saturated: ")
    assert result.winner is None
    assert result.vm_runs == 0 and result.tokens == 0
    assert result.verdict.startswith(
        "nothing was kept: the budget has no VM runs, so no candidate was measured against "
        "the kernel's default. The simulator's best was mlfq"
    )
    assert result.verdict.endswith("x the default model: unproven.")
    assert result.simulated_best is not None
    assert result.simulated_best["candidate"] == "mlfq"
    assert seen[-1].stage == "done" and seen[-1].message == result.verdict
    assert {p.stage for p in seen} == {"plan", "observe", "retrieve", "tune", "done"}
    data = result.to_dict()
    assert data["goal"]["workload"] == "hackbench" and len(data["iterations"]) == 6


def test_public_name() -> None:
    assert schedlang.synthesize is synthesize
    assert schedlang.Budget is Budget


def test_goal_that_cannot_be_judged_in_the_vm_is_refused_before_anything_runs() -> None:
    with pytest.raises(GoalError) as err:
        synthesize("cut p99 latency of hackbench", budget=Budget(vm_runs=10), history=False)
    assert err.value.message.startswith("hackbench reports no 99th percentile wakeup latency")


def test_budget_text() -> None:
    assert Budget.parse("wall=600,vm=20,tokens=0") == Budget(600.0, 20, 0)
    assert Budget.parse("vm=4") == Budget(600.0, 4, 0)
    with pytest.raises(ValueError, match="expected wall=SECONDS, vm=RUNS or tokens=N"):
        Budget.parse("cpu=3")


def _report(policy: str, mine: list[float], default: list[float]) -> Any:
    """A same-boot hackbench report as the runner would give it (ABBA, 5 runs a side)."""
    from schedlang.runtime.report import summarize

    runs = []
    for i, (p, d) in enumerate(zip(mine, default, strict=True)):
        for side, value in (("baseline", d), ("policy", p)):
            runs.append({"workload": "hackbench", "side": side, "index": i, "rc": 0,
                         "wall_s": value + 0.1, "metrics": {"time_s": value}, "output": ""})  # fmt: skip
    job = {"workloads": ["hackbench"], "repeat": len(mine), "order": "ABBA", "runs": runs}
    boot = {"accelerator": "tcg", "kernel_release": "7.3.4", "boot_s": 4.0}
    return summarize(policy=policy, job_result=job, boot=boot)


def _fake_vm(monkeypatch: pytest.MonkeyPatch, given: dict[str, Any]) -> list[list[str]]:
    asked: list[list[str]] = []

    def run_each(policies: list[tuple[Any, dict[str, int]]], **options: Any) -> list[Any]:
        asked.append([a.name for a, _ in policies])
        assert options["workloads"] == ["hackbench"] and options["repeat"] == 5
        assert options["shared_default"] is True  # one set of default runs for all of them
        return [given[a.name] for a, _ in policies]

    monkeypatch.setattr(schedlang, "run_each", run_each)
    return asked


def test_keep_stage_on_same_boot_reports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The VM's measurement replaced by fixed reports: the first candidate beats the default
    clearly; the second beats the default too but not the first, so the first is kept."""
    default = [0.90, 0.92, 0.91, 0.93, 0.90]
    given = {
        "mlfq": _report("mlfq", [0.80, 0.81, 0.79, 0.82, 0.80], default),
        SECOND: _report(SECOND, [0.84, 0.85, 0.83, 0.86, 0.84], default),
    }
    asked = _fake_vm(monkeypatch, given)
    # the keep stage is what is under test: no combination candidates (test_retrieve_combine)
    monkeypatch.setattr(loop, "combine", lambda ranked, profile: ([], []))
    store = tmp_path / "history.sqlite"
    result = synthesize(
        "maximize throughput of hackbench",
        budget=Budget(wall_s=300, vm_runs=10),
        candidates=2,
        trials=1,
        history=store,
    )
    assert [(i.stage, i.candidate) for i in result.iterations] == [
        ("plan", None),
        ("observe", None),
        ("retrieve", None),
        ("tune", "mlfq"),
        ("tune", SECOND),
        ("verify", "mlfq"),
        ("verify", SECOND),
        ("measure", "mlfq"),
        ("measure", SECOND),
        ("keep", "mlfq"),
        ("keep", SECOND),
    ]
    assert asked == [["mlfq", SECOND]]
    assert result.vm_runs == 10
    keeps = [i for i in result.iterations if i.stage == "keep"]
    assert keeps[0].outcome.startswith("win for mlfq on time_s: ")
    assert keeps[1].outcome.startswith(f"no win for {SECOND} on time_s: ")
    assert "mlfq's median" in keeps[1].outcome  # compared with the best so far
    winner = result.winner
    assert winner is not None and winner.name == "mlfq"
    assert winner.verdict.vs_default is not None and winner.verdict.vs_default.improves
    low, high = winner.verdict.vs_default.low, winner.verdict.vs_default.high
    assert low is not None and high is not None and high < 1  # time_s: the interval is below 1
    assert result.verdict == f"kept mlfq: {winner.verdict.sentence}"
    lines = winner.source.splitlines()
    assert lines[0] == ("// Synthesized by schedlang 0.1.0 for: maximize throughput of hackbench")
    assert lines[1] == (
        "// Won on hackbench: time_s median 0.8 s vs the default's 0.91 (work done per second)"
    )
    assert lines[2].startswith("//   0.879x the default's median (95% interval ")
    assert lines[3] == "// Measured: same boot, order ABBA, 5 runs a side; boot tcg, kernel 7.3.4"
    assert lines[4].startswith("// Started from stdlib policy mlfq; params tuned in the ")
    assert schedlang.check(winner.source) == []

    def again_on(kernel: str, **options: bool) -> Synthesis:
        """The same goal on the same store, the VM booting `kernel`."""
        monkeypatch.setattr(schedlang, "kernel_version", lambda: kernel)
        return synthesize(
            "maximize throughput of hackbench",
            budget=Budget(wall_s=300, vm_runs=10),
            candidates=2,
            history=store,
            **options,
        )

    # Recalled: the same goal on the same profile and kernel returns the stored winner after a
    # fresh check and compile, with no search and no VM run.
    recalled = again_on("7.3.4")
    assert asked == [["mlfq", SECOND]]
    assert [(i.stage, i.candidate) for i in recalled.iterations] == [
        ("plan", None),
        ("observe", None),
        ("retrieve", None),
        ("verify", "mlfq"),
    ]
    assert recalled.vm_runs == 0
    assert recalled.winner is not None and recalled.winner.params == winner.params
    assert recalled.winner.verdict == winner.verdict
    assert recalled.verdict.startswith("kept mlfq, recalled from history #1 (measured ")
    assert recalled.verdict.endswith(
        f"{winner.verdict.sentence} Not measured again; remeasure to do so."
    )
    head = recalled.winner.source.splitlines()
    assert head[1].startswith("// Recalled from history #1 (")
    assert schedlang.check(recalled.winner.source) == []
    # On another kernel the stored verdict does not stand: the winner is measured again.
    elsewhere = again_on("7.4.1+deb13")
    assert asked[-1] == ["mlfq"] and elsewhere.vm_runs == 5

    # Remeasured: asked to, the same goal on the same profile starts from the winner,
    # searches nothing and measures only it.
    again = again_on("7.3.4", remeasure=True)
    assert asked[-1] == ["mlfq"] and len(asked) == 3
    assert [(i.stage, i.candidate) for i in again.iterations] == [
        ("plan", None),
        ("observe", None),
        ("retrieve", None),
        ("tune", "mlfq"),
        ("verify", "mlfq"),
        ("measure", "mlfq"),
        ("keep", "mlfq"),
    ]
    retrieved = again.iterations[2].detail
    assert retrieved["recalled"] is True
    assert retrieved["candidates"][0]["origin"] == "history"
    assert retrieved["candidates"][0]["params"] == winner.params
    assert len(again.iterations[3].detail["trials"]) == 1
    assert again.winner is not None and again.winner.params == winner.params
    assert again.vm_runs == 5


def test_nothing_kept_says_whether_the_vm_leaned_the_simulators_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = [1.0, 1.0, 1.0, 1.0, 1.0]
    spread_out = [0.5, 1.2, 0.6, 1.1, 0.7]  # better medians, overlapping runs
    _fake_vm(monkeypatch, {"mlfq": _report("mlfq", spread_out, default)})
    result = synthesize(
        "maximize throughput of hackbench",
        budget=Budget(wall_s=300, vm_runs=5),
        candidates=1,
        trials=1,
        history=False,
    )
    assert result.winner is None
    assert result.verdict.startswith("nothing was kept: no candidate beat the default with ")
    assert result.verdict.endswith(
        "The simulator ranked mlfq 1.551x better than its default model; the VM's "
        "medians lean the same way (1.429x) but its runs were too spread for significance."
    )

"""The runner's bookkeeping without a VM: `_measure` is replaced by recorded runs, so what is
checked is how runs become samples, when a wide workload is measured again, and scores.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from schedlang.benchmark import agents, runner
from schedlang.runtime.report import RunRecord


@dataclass
class Recorded:
    runs: tuple[RunRecord, ...]
    boot: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"runs": len(self.runs)})


def _report(
    workload: str, base: list[float], agent: list[float], boot_s: float | None = None
) -> Recorded:
    runs = [RunRecord(workload, "baseline", -1, 0, 9.0, {"time_s": 9.0}, "")]
    for side, values in (("baseline", base), ("policy", agent)):
        runs += [RunRecord(workload, side, i, 0, v + 0.5, {"time_s": v}, "")  # type: ignore[arg-type]
                 for i, v in enumerate(values)]  # fmt: skip
    runs.append(RunRecord(workload, "policy", 9, 1, 1.0, {"time_s": 0.1}, "", error="crashed"))
    return Recorded(tuple(runs), {} if boot_s is None else {"wall_s": boot_s})


def test_a_wide_workload_is_measured_again_and_its_runs_pooled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    boots = [
        _report("hackbench", [1.0, 3.0, 1.2, 2.8, 2.0], [1.0] * 5, boot_s=61.5),  # wide
        _report("hackbench", [2.0] * 5, [1.0] * 5, boot_s=58.25),
    ]
    calls: list[tuple[Any, ...]] = []

    def measure(job: runner.Boot, say: Any) -> Any:
        calls.append((job.policy, job.runner, job.repeat))
        say("[1/11] baseline hackbench warm-up ...")
        say("[1/11] baseline hackbench warm-up: time_s=9, wall 9.5s")
        return boots[len(calls) - 1]

    monkeypatch.setattr(runner, "_measure", measure)
    lines: list[str] = []
    result = runner.run_suite(agents.RulesAgent(), runner.Settings(profile_source="sim", workloads=("hackbench",)),
                              tmp_path, say=lines.append)  # fmt: skip
    assert calls == [("latency_boost", "hackbench", 5), ("latency_boost", "hackbench", 5)]
    assert "hackbench: interval too wide, measuring once more" in lines
    # the re-run's progress says which re-run of how many, and the steps and time left
    steps = [line.split("] [")[0:2] for line in lines if line.startswith("  [step ")]
    assert [s[1] for s in steps] == ["boot 1/1 hackbench"] * 2 + ["rerun 1/1 hackbench"] * 2
    assert steps[0][0] == steps[2][0] == "  [step 0/11"
    assert steps[1][0].startswith("  [step 1/11, ~") and steps[3][0].startswith("  [step 1/11, ~")
    (w,) = result["workloads"]
    (m,) = w["metrics"]
    # the warm-up and the failed run are not samples; the two boots' runs are pooled
    assert m["baseline"] == [1.0, 3.0, 1.2, 2.8, 2.0] + [2.0] * 5
    assert m["agent"] == [1.0] * 10
    assert m["I"] == 2.0 and not m["wide"]
    assert w["weighted"] == 2.0 and result["score"] == 2.0
    assert w["spent"] == {"wall_s": 0.0, "vm_runs": 0, "tokens": 0}  # rules: a lookup
    assert w["boots_s"] == [61.5, 58.25]  # the boot, then the re-measurement
    assert json.loads((tmp_path / "scores.json").read_text()) == result
    assert (tmp_path / "raw" / "hackbench-rerun.json").exists()


def test_the_held_out_score_is_null_when_no_held_out_workload_ran(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reports = {"hackbench": _report("hackbench", [2.0] * 5, [1.0] * 5),
               "messaging": _report("messaging", [2.0] * 5, [4.0] * 5)}  # fmt: skip

    def measure(job: runner.Boot, say: Any) -> Recorded:
        return reports[job.runner]

    monkeypatch.setattr(runner, "_measure", measure)
    tuned = runner.run_suite(agents.RulesAgent(), runner.Settings(profile_source="sim", workloads=("hackbench",)),
                             tmp_path / "a", say=lambda line: None)  # fmt: skip
    assert tuned["score"] == 2.0 and tuned["score_held_out"] is None
    assert runner.format_table(tuned).splitlines()[-2:] == [
        "score 2.000; held-out score - (no held-out workload ran)",
        "goal inference (phase 1): 0.30; held-out - (mean grade, 0-1)",
    ]
    both = runner.run_suite(agents.RulesAgent(), runner.Settings(profile_source="sim", workloads=("hackbench", "messaging")),
                            tmp_path / "b", say=lambda line: None)  # fmt: skip
    (_, messaging) = both["workloads"]
    assert messaging["metrics"][0]["I"] == 0.5 and not messaging["slos_met"]  # 2x slower
    assert both["score_held_out"] == 0.0
    assert runner.format_table(both).splitlines()[-2:] == [
        "score 2.000; held-out score 0.000 (* held out)",
        "goal inference (phase 1): 0.30; held-out 0.30 (mean grade, 0-1)",
    ]


def test_phase_1_grades_the_agents_goal_and_keeps_the_profile_it_saw(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(runner, "_measure", lambda *a: _report("hackbench", [2.0] * 5, [1.0] * 5))
    result = runner.run_suite(agents.RulesAgent(), runner.Settings(profile_source="sim", workloads=("hackbench",)),
                              tmp_path / "rules", say=lambda line: None)  # fmt: skip
    assert result["schema"] == 2
    (w,) = result["workloads"]
    assert (
        w["goal"]["stated"]["text"] == "cut wakeup_p99"
        and w["goal"]["reference"]["text"] == "cut time"
    )
    assert (w["goal"]["metric"], w["goal"]["floors"]) == (0.0, 1.0)  # another family
    assert result["goal_score"] == pytest.approx(0.3) and result["goal_score_held_out"] is None
    profile = json.loads((tmp_path / "rules" / "profiles" / "hackbench.json").read_text())
    assert (profile["workload"], profile["bottleneck"]) == ("hackbench", "cpu-saturated")

    class Silent:  # an agent with no state_goal: phase 1 is not graded, not scored 0
        name = "silent"
        propose = agents.RulesAgent.propose

    lines: list[str] = []
    result = runner.run_suite(Silent(), runner.Settings(profile_source="sim", workloads=("hackbench",)),  # type: ignore[arg-type]
                              tmp_path / "silent", say=lines.append)  # fmt: skip
    assert result["workloads"][0]["goal"] is None
    assert result["goal_score"] is None and result["goal_score_held_out"] is None
    assert "phase 1: agent silent does not state goals, not graded" in lines
    assert runner.format_table(result).endswith("goal inference (phase 1): not graded")

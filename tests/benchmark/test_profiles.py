"""Phase 1's profiles (benchmark/profiles.py) without a VM: profiles recorded from real VM
traces (data/profiles, see its README) stand in for the trace, so what is checked is which
source each workload is shown, the fallback and its reason, reuse from a bundle, and the
goals the shipped agents state from the traced profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schedlang.agent.profile import WorkloadProfile
from schedlang.benchmark import agents, bundle, goals, profiles, runner, suite
from schedlang.runtime.trace_vm import TraceError

DATA = Path(__file__).parent / "data" / "profiles"


def recorded(name: str) -> WorkloadProfile:
    return WorkloadProfile.from_json((DATA / f"{name}.json").read_text())


def specs(*names: str) -> list[suite.WorkloadSpec]:
    return suite.select(suite.load(), list(names))


@pytest.mark.parametrize(
    ("name", "bottleneck", "stated", "grade"),
    [
        # the pipe's two ends hand off to each other: its round trip, the reference's metric;
        # the floor on the tail that the profile's hard SLO adds is one the reference lacks
        ("pipe", "ping-pong", "cut wakeup_p50; keep wakeup_p99 >= 0.5", 0.7),
        # beside the hogs the pipe's waits are 4% of the run, under what rule 1 asks, so what
        # is named is its hand-off: the reference's metric, not its floor on the hogs
        ("mix", "ping-pong", "cut wakeup_p50; keep wakeup_p99 >= 0.5", 0.7),
        # stress-ng's parent waits behind its own CPU workers, 2% of the run: no bottleneck,
        # so the category's goal (time, the family of the reference's throughput)
        ("stress-cpu", "none", "cut time", 0.65),
    ],
)  # fmt: skip
def test_the_offline_agent_states_its_goal_from_a_traced_profile(
    name: str, bottleneck: str, stated: str, grade: float
) -> None:
    profile = recorded(name)
    (spec,) = specs(name)
    assert (profile.source, profile.workload, profile.bottleneck.value) == ("vm", spec.runner,
                                                                            bottleneck)  # fmt: skip
    goal = agents.OfflineAgent().state_goal(
        agents.GoalQuestion(name, spec.description, spec.category, profile)
    )
    assert goals.describe(goal) == stated
    assert goals.grade(goal, spec.goal).grade == pytest.approx(grade)


def test_each_workload_is_traced_in_the_vm_and_a_failed_trace_falls_back_to_the_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    traced: list[str] = []

    def trace(runner_name: str, say: Any) -> WorkloadProfile:
        traced.append(runner_name)
        if runner_name == "pipe":
            return recorded("pipe")
        raise TraceError("the guest wrote no results (exit code 1)")

    monkeypatch.setattr(profiles, "_trace", trace)
    lines: list[str] = []
    shown = profiles.gather(specs("pipe", "xz"), "vm", tmp_path, lines.append)
    assert traced == ["pipe", "xz"]
    assert shown["pipe"].to_dict() == {"source": "vm", "traced": "pipe",
                                       "bottleneck": "ping-pong", "note": "traced pipe in the VM"}  # fmt: skip
    assert shown["xz"].to_dict() == {
        "source": "sim", "traced": "stress-cpu", "bottleneck": "none",
        "note": "the VM trace failed (the guest wrote no results (exit code 1)): "
                "the simulator's model stress-cpu",
    }  # fmt: skip
    assert "profile xz: sim, none (the VM trace failed (the guest wrote no results (exit code " \
        "1)): the simulator's model stress-cpu)" in lines  # fmt: skip
    # the bundle holds what the agent saw, byte for byte
    assert (tmp_path / "profiles" / "pipe.json").read_text() == recorded("pipe").to_json()
    kept = WorkloadProfile.from_json((tmp_path / "profiles" / "xz.json").read_text())
    assert (kept.source, kept.workload) == ("sim", "stress-cpu")


def test_a_workload_without_a_model_whose_trace_fails_gets_no_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def trace(runner_name: str, say: Any) -> WorkloadProfile:
        raise TraceError("perf is not installed (Debian: apt install linux-perf)")

    monkeypatch.setattr(profiles, "_trace", trace)
    (spec,) = specs("pipe")
    modelless = suite.WorkloadSpec(**{**spec.__dict__, "sim_proxy": None})
    shown = profiles.gather([modelless], "vm", tmp_path, lambda line: None)
    assert shown["pipe"].profile is None
    assert shown["pipe"].note == ("the VM trace failed (perf is not installed (Debian: apt "
                                  "install linux-perf)); no simulator model to fall back on: "
                                  "no profile")  # fmt: skip
    assert not (tmp_path / "profiles").exists()


def test_sim_profiles_trace_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def trace(runner_name: str, say: Any) -> WorkloadProfile:
        raise AssertionError("no VM when the simulator's profiles are asked for")

    monkeypatch.setattr(profiles, "_trace", trace)
    shown = profiles.gather(specs("xz", "sqlite"), "sim", tmp_path, lambda line: None)
    assert {n: (s.source, s.profile and s.profile.workload) for n, s in shown.items()} == {
        "xz": ("sim", "stress-cpu"), "sqlite": ("sim", "stress-cpu")
    }  # fmt: skip
    assert shown["xz"].profile is shown["sqlite"].profile  # one model, simulated once


def _bundle_with(tmp_path: Path, **held: WorkloadProfile) -> Path:
    earlier = tmp_path / "earlier"
    (earlier / "profiles").mkdir(parents=True)
    for name, profile in held.items():
        (earlier / "profiles" / f"{name}.json").write_text(profile.to_json())
    bundle.seal(earlier)
    return earlier


def test_goals_only_reuses_a_bundles_traces_and_measures_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    earlier = _bundle_with(tmp_path, pipe=recorded("pipe"), mix=recorded("mix"))
    traced: list[str] = []

    def trace(runner_name: str, say: Any) -> WorkloadProfile:
        traced.append(runner_name)
        return recorded("stress-cpu")

    def measure(*args: Any) -> Any:
        raise AssertionError("--goals-only measures nothing")

    monkeypatch.setattr(profiles, "_trace", trace)
    monkeypatch.setattr(runner, "_measure", measure)
    settings = runner.Settings(workloads=("pipe", "mix", "stress-cpu"), goals_only=True,
                               reuse_profiles=earlier)  # fmt: skip
    out = tmp_path / "goals"
    result = runner.run_suite(agents.OfflineAgent(), settings, out, say=lambda line: None)
    assert traced == ["stress-cpu"]  # not in the earlier bundle: traced now
    assert json.loads((out / "goals.json").read_text()) == result
    assert not (out / "scores.json").exists()
    assert bundle.verify(out).ok
    rows = {w["name"]: (w["profile"]["source"], w["profile"]["note"], w["goal"]["grade"])
            for w in result["workloads"]}  # fmt: skip
    assert rows == {
        "mix": ("vm", f"reused from {earlier}", pytest.approx(0.7)),
        "pipe": ("vm", f"reused from {earlier}", pytest.approx(0.7)),
        "stress-cpu": ("vm", "traced stress-cpu in the VM", pytest.approx(0.65)),
    }
    assert result["goal_score"] == pytest.approx((0.7 + 0.7 + 0.65) / 3)
    assert result["goal_score_held_out"] is None
    table = runner.format_goals(result).splitlines()
    assert table[0] == f"phase 1 (goal inference), agent offline, profiles vm reused from {earlier}"
    (mix,) = (line for line in table if line.startswith("mix "))
    assert mix.split() == ["mix", "vm", "ping-pong", "cut", "wakeup_p50;", "keep",
                                "wakeup_p99", ">=", "0.5", "cut", "wakeup_p50;", "keep",
                                "throughput", ">=", "0.8", "0.70"]  # fmt: skip
    assert table[-1] == "goal inference (phase 1): 0.68; held-out - (mean grade, 0-1)"


def test_a_profile_of_another_runner_is_not_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    earlier = _bundle_with(tmp_path, xz=recorded("stress-cpu"))  # stress-cpu's trace, not xz's
    traced: list[str] = []
    monkeypatch.setattr(profiles, "_trace", lambda r, say: traced.append(r) or recorded("mix"))
    shown = profiles.gather(specs("xz"), "vm", tmp_path / "new", lambda line: None,
                            reuse=profiles.reusable(earlier), reused_from=str(earlier))  # fmt: skip
    assert traced == ["xz"] and shown["xz"].note == "traced xz in the VM"


def test_profiles_from_a_tampered_bundle_are_refused(tmp_path: Path) -> None:
    earlier = _bundle_with(tmp_path, pipe=recorded("pipe"))
    text = (earlier / "profiles" / "pipe.json").read_text()
    (earlier / "profiles" / "pipe.json").write_text(text.replace("ping-pong", "none", 1))
    with pytest.raises(profiles.ProfilesError) as err:
        profiles.reusable(earlier)
    assert str(err.value).startswith(f"--reuse-profiles {earlier}: the bundle does not verify")
    assert "profiles/pipe.json" in str(err.value)


def test_bench_run_refuses_a_tampered_bundle_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from schedlang.cli import main

    earlier = _bundle_with(tmp_path, pipe=recorded("pipe"))
    (earlier / "profiles" / "extra.json").write_text("{}")
    code = main(["bench", "run", "--agent", "rules", "--goals-only", "--workloads", "pipe",
                 "--reuse-profiles", str(earlier), "--out", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"schedlang bench run: --reuse-profiles {earlier}: the bundle does "
                          "not verify")  # fmt: skip
    assert "profiles/extra.json" in err

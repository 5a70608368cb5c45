"""The offline loop on a short budget in the sandbox VM: hackbench, 2 candidates, 5 runs a
side, both measured in one boot, in rounds, against the same runs of the kernel's default
scheduler."""

from __future__ import annotations

from pathlib import Path

import pytest

import schedlang
from schedlang.agent.loop import Budget, synthesize


@pytest.mark.vm
@pytest.mark.usefixtures("vm_ready")
def test_offline_synthesis_on_hackbench_in_the_vm(tmp_path: Path) -> None:
    result = synthesize(
        "maximize throughput of hackbench",
        budget=Budget(wall_s=900, vm_runs=10),
        candidates=2,
        vm_candidates=2,
        trials=2,
        history=tmp_path / "history.sqlite",
    )
    stages = [(i.stage, i.candidate) for i in result.iterations]
    names = [c for s, c in stages if s == "tune"]
    assert stages[:3] == [("plan", None), ("observe", None), ("retrieve", None)]
    assert [s for s, _ in stages[3:]] == ["tune"] * 2 + ["verify"] * 2 + ["measure"] * 2 + [
        "keep"
    ] * 2
    verified = [c for s, c in stages if s == "verify"]
    assert sorted(verified) == sorted(names)
    assert [c for s, c in stages if s == "measure"] == verified
    assert [c for s, c in stages if s == "keep"] == verified
    assert result.vm_runs == 10
    for it in result.iterations:
        if it.stage == "measure":
            report = it.detail["report"]
            row = next(r for r in report["rows"] if r["metric"] == "time_s")
            assert row["policy"]["n"] == 5 and row["baseline"]["n"] == 5
            assert report["order"] == "ABBA"
    boots = {
        i.detail["report"]["boot"]["boot_s"] for i in result.iterations if i.stage == "measure"
    }
    assert len(boots) == 1  # one boot for both candidates
    defaults = {
        tuple(next(r for r in i.detail["report"]["rows"] if r["metric"] == "time_s")["baseline"]
              ["values"])
        for i in result.iterations
        if i.stage == "measure"
    }  # fmt: skip
    assert len(defaults) == 1  # in rounds: both compared with the same default runs
    keeps = [i for i in result.iterations if i.stage == "keep"]
    for it in keeps:
        assert it.outcome.startswith(("win for ", "no win for ", "insufficient for "))
        assert list(it.detail["verdict"]["vs_default"]["n"]) == [5, 5]
    if result.winner is None:
        assert result.verdict.startswith("nothing was kept: ")
    else:
        first = result.winner.verdict.vs_default
        assert first is not None and first.against == "default" and first.improves
        assert first.interval_excludes_one  # the interval of the ratio excludes 1
        assert first.high is not None and first.high < 1  # time_s: lower is better
        assert result.verdict.startswith(f"kept {result.winner.name}: win for ")
        assert schedlang.check(result.winner.source) == []
        assert result.winner.source.startswith("// Synthesized by schedlang")
    print(result.format_text())

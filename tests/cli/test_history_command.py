"""`schedlang history`: the tables people read and the JSON tools read, from a store in a
temporary data dir; reading never creates a store; bad requests exit 2 with a message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schedlang.agent import history
from schedlang.agent.goal import Goal
from schedlang.agent.history import History, policy_hash
from schedlang.agent.keep import Samples, judge
from schedlang.cli import main

DEFAULT = (10.0, 10.2, 10.1, 9.9, 10.3)
FAST = (8.0, 8.2, 8.1, 7.9, 8.3)
POLICY = 'scheduler quick "q" {\n    on enqueue(t, flags) {\n        insert t into global slice 5ms\n    }\n}\n'


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(history, "_now", lambda: "2026-11-30T14:20:05+00:00")
    return tmp_path


def fill(data: Path) -> tuple[int, int]:
    with History.open() as store:
        digest = store.record_policy(POLICY, "quick")
        ids = []
        for workload, runs in (("hackbench", FAST), ("pipe", DEFAULT)):
            samples = Samples("time_s", "lower", runs, DEFAULT)
            m = store.record_measurement(digest, {"slice": 5_000_000}, workload, [samples],
                                         boot={"accelerator": "tcg", "kernel_release": "6.12"})  # fmt: skip
            ids.append(store.record_verdict(judge("quick", samples), m))
        store.record_synthesis(Goal("time", "lower", "hackbench"), "kept quick", verdicts=ids[:1],
                               winner=ids[0], seconds=61.25, vm_runs=5, cost_usd=0.0)  # fmt: skip
    return ids[0], ids[1]


def test_list_is_a_table(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill(data)
    assert main(["history"]) == 0
    short = policy_hash(POLICY)[:12]
    assert capsys.readouterr().out.splitlines() == [
        "id  recorded (UTC)    workload   candidate  policy        params         outcome  metric  gain",
        f"1   2026-11-30 14:20  hackbench  quick      {short}  slice=5000000  win      time_s  1.247",
        f"2   2026-11-30 14:20  pipe       quick      {short}  slice=5000000  no win   time_s  1.000",
        "gain: the candidate's median over the default's, turned so above 1 is better",
    ]


def test_winners_on_a_workload_as_json(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    won, _ = fill(data)
    assert main(["history", "winners", "--workload", "hackbench", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["store"] == str(data / "schedlang" / "history.sqlite")
    assert doc["workload"] == "hackbench"
    assert [(w["id"], w["candidate"], w["outcome"], w["synthesis"]) for w in doc["winners"]] == [
        (won, "quick", "win", 1)
    ]
    assert doc["winners"][0]["gain"] == pytest.approx(10.1 / 8.1)
    assert main(["history", "winners", "--workload", "pipe"]) == 0
    assert capsys.readouterr().out == "no winners yet on pipe\n"


def test_show_text_and_json(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    won, _ = fill(data)
    assert main(["history", "show", str(won)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "entry 1, recorded 2026-11-30 14:20 UTC"
    assert lines[1].startswith("win for quick on time_s: 0.802x the default's median")
    assert lines[2:7] == [
        "workload: hackbench",
        f"policy: quick, sha256 {policy_hash(POLICY)}",
        "params: slice=5000000",
        "measurement 1, one boot (tcg, kernel 6.12)",
        "  time_s (lower is better): candidate 8 8.2 8.1 7.9 8.3; default 10 10.2 10.1 9.9 10.3",
    ]
    assert lines[7] == (
        "test against default: Mann-Whitney U (two-sided, exact); percentile bootstrap of the "
        "ratio of medians, 9999 resamples, seed 0"
    )
    assert lines[8] == (
        "synthesis 1: cut time to finish the work on hackbench; 61.2 s, 5 VM runs, "
        "0 tokens in, 0 out, $0.00"
    )
    assert lines[9:] == ["source:", *(f"  | {line}" for line in POLICY.splitlines())]

    assert main(["history", "show", str(won), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"]["outcome"] == "win"
    assert doc["verdict"]["vs_default"]["u"] == 0.0
    assert doc["source"] == POLICY


def test_no_store_yet_is_said_and_not_created(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "list"]) == 0
    path = data / "schedlang" / "history.sqlite"
    assert capsys.readouterr().out == f"no history yet: {path} does not exist\n"
    assert main(["history", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "store": str(path),
        "workload": None,
        "entries": [],
    }
    assert main(["history", "show", "1"]) == 2
    assert capsys.readouterr().err == f"schedlang history: no history yet: {path} does not exist\n"
    assert not (data / "schedlang").exists()


def test_bad_requests_exit_2(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill(data)
    assert main(["history", "show"]) == 2
    assert "`show` needs the ID of an entry" in capsys.readouterr().err
    assert main(["history", "show", "7"]) == 2
    assert capsys.readouterr().err == (
        "schedlang history: no entry 7 (ids 1-2; see `schedlang history list`)\n"
    )
    assert main(["history", "list", "3"]) == 2
    assert "did you mean `show 3`?" in capsys.readouterr().err
    assert main(["history", "forget"]) == 2

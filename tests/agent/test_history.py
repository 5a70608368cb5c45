"""agent/history: round trips, similarity order, the schema upgrade, concurrent writers."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from dataclasses import replace
from pathlib import Path

import pytest

import schedlang.stdlib
from schedlang.agent import history
from schedlang.agent.goal import Goal, Slo
from schedlang.agent.history import (
    MIGRATIONS,
    SCHEMA_VERSION,
    History,
    HistoryError,
    default_path,
    features,
    policy_hash,
)
from schedlang.agent.keep import Samples, Verdict, judge
from schedlang.agent.profile import (
    Bottleneck,
    Counts,
    CpuProfile,
    Dist,
    ThreadProfile,
    WorkloadProfile,
)

DEFAULT = (10.0, 10.2, 10.1, 9.9, 10.3)
FAST = (8.0, 8.2, 8.1, 7.9, 8.3)
FASTER = (7.0, 7.2, 7.1, 6.9, 7.3)


def profile(workload: str, wakeups: int, bottleneck: Bottleneck, busy: float) -> WorkloadProfile:
    thread = ThreadProfile(
        comm="worker",
        tid=10,
        tgid=10,
        run=Dist.of([50.0, 80.0, 120.0]),
        sleep=Dist.of([200.0, 300.0]),
        wakeup_latency=Dist.of([5.0, 9.0]),
        rq_wait=Dist(),
        switches=wakeups,
        wakeups=wakeups,
        migrations=wakeups // 10,
        preemptions=0,
    )
    return WorkloadProfile(
        workload=workload,
        source="vm",
        tool="perf sched record + timehist",
        cpus=2,
        duration_s=1.0,
        threads=(thread,),
        cpu_busy=(CpuProfile(0, busy), CpuProfile(1, busy)),
        counts=Counts(threads=8, processes=1, switches=wakeups, wakeups=wakeups,
                      migrations=wakeups // 10),
        bottleneck=bottleneck,
        bottleneck_why="because",
        slos=(),
        rtapp={"tasks": {}},
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> History:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(history, "_now", lambda: "2026-11-30T14:20:05+00:00")
    with History.open() as opened:
        yield opened


def record_win(
    store: History,
    name: str,
    runs: tuple[float, ...],
    profile_id: int | None,
    workload: str = "hackbench",
    params: dict[str, int] | None = None,
) -> int:
    source = schedlang.stdlib.source("simple_fifo").replace("simple_fifo", name)
    digest = store.record_policy(source, name)
    samples = Samples("time_s", "lower", runs, DEFAULT)
    measurement = store.record_measurement(
        digest, params or {}, workload, [samples], profile=profile_id, boot={"accelerator": "tcg"}
    )
    return store.record_verdict(judge(name, samples), measurement)  # fmt: skip


def test_the_store_is_made_on_demand_in_the_data_dir_0700(store: History, tmp_path: Path) -> None:
    assert store.path == tmp_path / "data" / "schedlang" / "history.sqlite" == default_path()
    assert stat.S_IMODE(os.stat(store.path.parent).st_mode) == 0o700
    assert store.version == SCHEMA_VERSION == 2
    journal = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"


def test_opening_a_missing_store_for_reading_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "history.sqlite"
    with pytest.raises(HistoryError, match="no history yet: .* does not exist"):
        History.open(path, create=False)
    assert not path.parent.exists()


def test_policies_are_keyed_by_their_canonical_form(store: History) -> None:
    source = schedlang.stdlib.source("simple_fifo")
    relaid = "// a comment of mine\n" + source.replace("    ", "  ")
    assert store.record_policy(source, "simple_fifo") == store.record_policy(relaid, "mine")
    assert policy_hash(source) == policy_hash(relaid)
    assert policy_hash(source) != policy_hash(source.replace("10ms", "20ms"))
    assert policy_hash("not a policy\r\n") == policy_hash("not a policy\n")


def test_round_trip_of_a_verdict_with_its_measurement_and_synthesis(store: History) -> None:
    prof = store.record_profile(profile("hackbench", 5000, Bottleneck.CPU_SATURATED, 0.9))
    assert store.record_profile(profile("hackbench", 5000, Bottleneck.CPU_SATURATED, 0.9)) == prof
    won = record_win(store, "quick", FAST, prof, params={"slice": 5_000_000})
    lost = record_win(store, "slow", DEFAULT, prof)
    goal = Goal("time", "lower", "hackbench", slos=(Slo("throughput", 0.95),), text="make it fast")
    synthesis = store.record_synthesis(goal, "kept quick", verdicts=[won, lost], winner=won,
                                       profile=prof, seconds=42.5, vm_runs=10, tokens_in=7,
                                       tokens_out=3, cost_usd=0.25)  # fmt: skip

    entries = store.entries()
    assert [(e.id, e.candidate, e.outcome, e.synthesis) for e in entries] == [
        (won, "quick", "win", synthesis),
        (lost, "slow", "no win", synthesis),
    ]
    assert entries[0].params == {"slice": 5_000_000}
    assert entries[0].gain == pytest.approx(10.1 / 8.1)
    assert entries[0].recorded == "2026-11-30T14:20:05+00:00"

    shown = store.show(won)
    verdict = Verdict.from_dict(shown["verdict"])
    assert verdict == judge("quick", Samples("time_s", "lower", FAST, DEFAULT))
    assert shown["measurement"]["samples"] == [
        {"metric": "time_s", "better": "lower", "candidate": list(FAST), "default": list(DEFAULT)}
    ]
    assert shown["measurement"]["boot"] == {"accelerator": "tcg"}
    assert shown["profile"] == prof
    assert "scheduler quick" in shown["source"]
    assert Goal.from_dict(shown["synthesis"]["goal"]) == goal
    assert (shown["synthesis"]["winner"], shown["synthesis"]["cost_usd"]) == (won, 0.25)
    assert (shown["synthesis"]["tokens_in"], shown["synthesis"]["tokens_out"]) == (7, 3)

    with pytest.raises(
        HistoryError, match=r"no entry 99 \(ids 1-2; see `schedlang history list`\)"
    ):
        store.show(99)


def test_winners_are_the_wins_largest_gain_first(store: History) -> None:
    a = record_win(store, "a", FAST, None)
    record_win(store, "lost", DEFAULT, None)
    b = record_win(store, "b", FASTER, None)
    record_win(store, "elsewhere", FASTER, None, workload="pipe")
    assert [e.id for e in store.winners("hackbench")] == [b, a]
    assert [e.candidate for e in store.winners()] == ["b", "elsewhere", "a"]
    assert [e.candidate for e in store.entries("pipe")] == ["elsewhere"]


def test_similar_returns_winners_nearest_profile_first(store: History) -> None:
    saturated = profile("hackbench", 5000, Bottleneck.CPU_SATURATED, 0.95)
    near = store.record_profile(replace(saturated, workload="build", duration_s=1.2))
    far = store.record_profile(profile("pipe", 200_000, Bottleneck.PING_PONG, 0.3))
    middle = store.record_profile(profile("mix", 20_000, Bottleneck.CPU_SATURATED, 0.7))
    on_far = record_win(store, "far_win", FASTER, far)
    on_near = record_win(store, "near_win", FAST, near)
    on_middle = record_win(store, "middle_win", FAST, middle)
    record_win(store, "near_loss", DEFAULT, near)
    record_win(store, "no_profile", FASTER, None)

    found = store.similar(saturated, k=5)
    assert [w.entry.id for w in found] == [on_near, on_middle, on_far]
    assert [w.profile for w in found] == [near, middle, far]
    assert found[0].distance < found[1].distance < found[2].distance
    assert "scheduler near_win" in found[0].source
    assert [w.entry.id for w in store.similar(saturated, k=1)] == [on_near]


def test_features_are_in_the_unit_range_and_name_the_bottleneck() -> None:
    vector = features(profile("pipe", 200_000, Bottleneck.PING_PONG, 0.3))
    assert len(vector) == len(history.FEATURES)
    assert all(0.0 <= x <= 1.0 for x in vector)
    assert vector[0] == pytest.approx(0.3)
    one_hot = dict(
        zip(history.FEATURES[-len(Bottleneck) :], vector[-len(Bottleneck) :], strict=True)
    )
    assert one_hot == {f"bottleneck {b.value}": (0.5 if b is Bottleneck.PING_PONG else 0.0)
                       for b in Bottleneck}  # fmt: skip


def test_a_version_1_store_is_upgraded_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("INSERT INTO policies VALUES ('abc', 't', 'old_policy', 'scheduler x \"\" {}')")
    db.execute(
        "INSERT INTO measurements VALUES (1, 't', 'abc', '{}', 'hackbench', NULL, '[]', '{}')"
    )
    db.execute("INSERT INTO verdicts VALUES (1, 't', 1, 'win', 'time_s', 1.5, 'win for old', '{}')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()

    with History.open(path) as store:
        assert store.version == SCHEMA_VERSION
        (entry,) = store.entries()
        assert (entry.candidate, entry.outcome, entry.gain, entry.synthesis) == (
            "old_policy", "win", 1.5, None,
        )  # fmt: skip
        goal = Goal("time", "lower", "hackbench")
        store.record_synthesis(goal, "again", verdicts=[1], seconds=1.0, vm_runs=0)
        assert store.entries()[0].synthesis == 1


def test_a_store_from_a_newer_schedlang_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(
        HistoryError, match=r"newer schedlang \(schema version 3; this one reads up to 2\)"
    ):
        History.open(path)


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HistoryError, match="not a schedlang history store"):
        History.open(path)


def test_writers_in_parallel_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    History.open(path).close()
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            with History.open(path) as mine:
                for i in range(15):
                    record_win(mine, f"{name}{i}", FAST, None)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with History.open(path) as store:
        assert len(store.entries()) == 45
        assert len({e.policy for e in store.entries()}) == 45

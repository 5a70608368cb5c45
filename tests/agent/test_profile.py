"""WorkloadProfile: JSON round trip, the version check, and refusals that name the problem."""

from __future__ import annotations

import json

import pytest

from schedlang.agent.profile import (
    PROFILE_VERSION,
    Bottleneck,
    Counts,
    CpuProfile,
    Dist,
    ProfileError,
    Slo,
    SloMetric,
    ThreadProfile,
    WorkloadProfile,
)


def _profile() -> WorkloadProfile:
    thread = ThreadProfile(
        comm="ping",
        tid=42,
        tgid=40,
        run=Dist.of([2.0, 3.0, 10.0]),
        sleep=Dist.of([100.0]),
        wakeup_latency=Dist.of([5.5, 7.0]),
        rq_wait=Dist(),
        switches=3,
        wakeups=2,
        migrations=1,
        preemptions=0,
    )
    return WorkloadProfile(
        workload="pipe",
        source="vm",
        tool="perf sched record + timehist",
        cpus=2,
        duration_s=1.5,
        threads=(thread,),
        cpu_busy=(CpuProfile(0, 0.25), CpuProfile(1, 0.75)),
        counts=Counts(threads=1, processes=1, switches=3, wakeups=2, migrations=1),
        bottleneck=Bottleneck.PING_PONG,
        bottleneck_why="ping and pong wake each other",
        slos=(Slo(SloMetric.WAKEUP_P99_US, "max", 7.0, task="ping", hard=False, why="x"),),
        rtapp={"tasks": {"ping": {"loop": 1, "run": 2}}},
        notes=("one note",),
    )


def test_dist_is_nearest_rank_and_empty_is_none() -> None:
    assert Dist.of([10.0, 2.0, 3.0]) == Dist(3, 3.0, 10.0, 10.0, 15.0)
    assert Dist.of([float(v) for v in range(1, 101)]).p99_us == 99.0
    assert Dist.of([]) == Dist(0, None, None, None, 0.0)


def test_json_round_trip_is_exact() -> None:
    profile = _profile()
    text = profile.to_json()
    data = json.loads(text)
    assert data["version"] == PROFILE_VERSION
    assert data["bottleneck"] == "ping-pong"
    assert data["slos"][0]["metric"] == "wakeup_p99_us"
    assert data["threads"][0]["rq_wait"] == {
        "count": 0,
        "p50_us": None,
        "p99_us": None,
        "max_us": None,
        "total_us": 0.0,
    }
    again = WorkloadProfile.from_json(text)
    assert again == profile
    assert again.to_json() == text
    assert again.utilisation == 0.5
    assert again.thread("ping")[0].tid == 42


def test_another_version_is_refused_with_what_to_do() -> None:
    data = _profile().to_dict()
    data["version"] = 0
    with pytest.raises(ProfileError, match=r"profile version 0; this schedlang reads version 2"):
        WorkloadProfile.from_dict(data)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("threads"), "not a workload profile: missing key 'threads'"),
        (lambda d: d.update(source="host"), "source is 'host'; one of vm, sim"),
        (
            lambda d: d.update(bottleneck="slow"),
            "not a workload profile: 'slow' is not a valid Bottleneck",
        ),
        (lambda d: d["slos"][0].update(bound="eq"), "an SLO's bound is 'eq'; one of max, min"),
    ],
)
def test_malformed_profiles_name_the_problem(mutate, message) -> None:  # type: ignore[no-untyped-def]
    data = _profile().to_dict()
    mutate(data)
    with pytest.raises(ProfileError) as info:
        WorkloadProfile.from_dict(data)
    assert str(info.value) == message


def test_not_json() -> None:
    with pytest.raises(ProfileError, match="not JSON"):
        WorkloadProfile.from_json("{")

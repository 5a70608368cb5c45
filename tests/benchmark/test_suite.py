"""The workload suite's files: every shipped one validates, and a wrong one is reported as
file:line with what is wrong."""

from __future__ import annotations

import shutil

import pytest

import schedlang
from schedlang.agent.goal import Goal
from schedlang.agent.goal import Slo as GoalSlo
from schedlang.benchmark import suite

GOOD = """\
name = "w"
description = "d"
category = "batch"
held_out = false
runner = "pipe"
parser = "parse_perf_pipe"

[[metrics]]
name = "usecs_per_op"
alpha = 0.25

[[metrics]]
name = "ops_per_s"
alpha = 0.75

[[slos]]
metric = "usecs_per_op"
bound = 2.0
relative = true
hard = true
why = "w"

[goal]
metric = "wakeup_p50"
direction = "lower"
why = "w"

[[goal.slos]]
metric = "throughput"
floor = 0.8
"""


def test_the_shipped_suite_validates_and_covers_every_category() -> None:
    specs = suite.load()
    assert len(specs) >= 12
    assert {s.category for s in specs} == set(suite.CATEGORIES)
    assert any(s.held_out for s in specs) and any(not s.held_out for s in specs)
    for s in specs:
        assert abs(sum(m.alpha for m in s.metrics) - 1) < 1e-9, s.name
        assert s.runner in schedlang.workloads(), s.name  # every file's runner is written
        tools = (*s.requires, *schedlang.workloads()[s.runner].tools)
        if all(shutil.which(t) for t in tools):  # scripts/setup installs them all
            assert s.skip_reason() is None, s.name


def test_a_workload_without_its_programs_is_skipped_with_the_reason() -> None:
    text = GOOD.replace(
        'parser = "parse_perf_pipe"',
        'parser = "parse_perf_pipe"\nrequires = ["no-such-program-xyz"]',
    )
    spec = suite.parse_spec(text, "w.toml")
    assert spec.skip_reason() == (
        "needs no-such-program-xyz (not installed here; scripts/setup installs the Debian "
        "packages in scripts/system-packages.txt)"
    )


def test_a_workload_whose_runner_needs_a_missing_program_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nginx = next(s for s in suite.load() if s.name == "nginx")
    assert nginx.requires == ()  # what it needs is its runner's: nginx, wrk, ip
    real = shutil.which
    monkeypatch.setattr(suite.shutil, "which", lambda t: None if t == "wrk" else real(t))
    if real("nginx") is None or real("ip") is None:
        pytest.skip("nginx or ip is not installed here (scripts/setup installs them)")
    assert nginx.skip_reason() is not None
    assert nginx.skip_reason().startswith("needs wrk (not installed here;")


def test_a_good_file_reads_directions_from_the_runner() -> None:
    spec = suite.parse_spec(GOOD, "w.toml")
    assert [(m.name, m.direction, m.unit, m.alpha) for m in spec.metrics] == [
        ("usecs_per_op", "lower", "us", 0.25),
        ("ops_per_s", "higher", "ops/s", 0.75),
    ]
    assert spec.slos == (suite.Slo("usecs_per_op", 2.0, True, True, "w"),)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("alpha = 0.75", "alpha = 0.5", "w.toml:10: the metrics' alpha add up to 0.75, not 1"),
        ('runner = "pipe"', 'runner = "pipes"',
         "w.toml:5: no runner 'pipes' in runtime/workloads.py"),
        ('parser = "parse_perf_pipe"', 'parser = "parse_hackbench"',
         "w.toml:6: runner 'pipe' reads its output with 'parse_perf_pipe', not 'parse_hackbench'"),
        ('name = "ops_per_s"', 'name = "ops"', "w.toml:13: runner 'pipe' does not report 'ops'"),
        ('category = "batch"', 'category = "fast"', "w.toml:3: category 'fast' is not one of"),
        ('name = "w"', 'name = "v"', "w.toml:1: name 'v' differs from the file's name 'w'"),
        ("bound = 2.0", "bound = 0", "w.toml:18: bound 0 must be positive"),
        ("hard = true", 'hard = "yes"', "w.toml:20: 'hard' must be a bool"),
        ("held_out = false", "held_out = false\nspeed = 3", "w.toml:5: unknown key 'speed'"),
        ("bound = 2.0", "bound = ", "w.toml:18: not valid TOML"),
        ('direction = "lower"', 'direction = "higher"',
         "w.toml:24: median wakeup latency (wakeup_p50) is better lower, so it cannot be pushed higher"),
        ("floor = 0.8", "floor = 1.5", "w.toml:30: floor 1.5 must be in (0, 1]"),
        ('metric = "throughput"', 'metric = "speed"', "w.toml:29: unknown goal metric 'speed'"),
        ('metric = "wakeup_p50"', 'metric = "speed"', "w.toml:24: unknown metric 'speed'"),
        ("floor = 0.8", "floor = 0.8\nhard = true", "w.toml:31: unknown goal SLO key 'hard'"),
    ],
)  # fmt: skip
def test_a_bad_file_is_reported_with_its_line(old: str, new: str, message: str) -> None:
    with pytest.raises(suite.SuiteError) as info:
        suite.parse_spec(GOOD.replace(old, new, 1), "w.toml")
    assert str(info.value).startswith(message), str(info.value)


def test_the_reference_goal_is_read_and_required() -> None:
    spec = suite.parse_spec(GOOD, "w.toml")
    assert spec.goal == Goal("wakeup_p50", "lower", slos=(GoalSlo("throughput", 0.8),))
    with pytest.raises(suite.SuiteError) as info:
        suite.parse_spec(GOOD[: GOOD.index("[goal]")], "w.toml")
    assert str(info.value).startswith("w.toml:1: missing '[goal]'")


def test_select_names_an_unknown_workload() -> None:
    specs = suite.load()
    assert [s.name for s in suite.select(specs, ["pipe", "hackbench"])] == ["pipe", "hackbench"]
    with pytest.raises(suite.SuiteError, match="unknown workload 'hackbenc'"):
        suite.select(specs, ["hackbenc"])


def test_sort_join_correctness_slo_is_the_exact_shared_key_count() -> None:
    """Its hard SLO is the count the generated files share (runtime JOIN_SHARED), read from
    the guest's real output (tests/runtime/data/sort-join.txt); one row fewer misses it."""
    from pathlib import Path

    from schedlang.benchmark import score
    from schedlang.runtime.workloads import JOIN_SHARED, WORKLOADS

    (spec,) = suite.select(suite.load(), ["sort-join"])
    (correct,) = [s for s in spec.slos if s.metric == "joined_rows"]
    assert (correct.bound, correct.relative, correct.hard) == (JOIN_SHARED, False, True)
    real = Path(__file__).parents[1] / "runtime" / "data" / "sort-join.txt"
    rows = WORKLOADS["sort-join"].parse(real.read_text())["joined_rows"]
    direction = spec.direction("joined_rows")
    assert score.slo_result(correct, direction, [rows] * 5, [rows] * 5).met
    assert not score.slo_result(correct, direction, [rows] * 5, [rows - 1] * 5).met

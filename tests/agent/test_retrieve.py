"""Ranking library policies and past winners against a goal: deterministic, with reasons."""

from __future__ import annotations

from schedlang.agent.goal import parse_goal
from schedlang.agent.retrieve import Candidate, rank, read_header, score


def _names(cands: list[Candidate]) -> list[tuple[str, float]]:
    return [(c.name, c.score) for c in cands]


def test_hackbench_throughput_prefers_the_policies_written_for_it() -> None:
    ranked = rank(parse_goal("maximize throughput of hackbench"), limit=3)
    assert _names(ranked) == [("burst_classes", 6.0), ("domains", 6.0), ("lat_criticality", 6.0)]
    assert ranked[0].reasons == ("'message' in Workloads", "'hackbench' in Workloads")
    assert ranked[0].origin == "stdlib"


def test_latency_under_load_prefers_latency_policies() -> None:
    ranked = rank(parse_goal("cut p99 latency on mix"), limit=3)
    assert _names(ranked) == [("latency_boost", 19.0), ("interactive", 15.0), ("eevdf", 11.0)]


def test_a_sentence_saying_what_a_policy_is_bad_at_does_not_count() -> None:
    # simple_fifo: "... so interactive latency suffers under load."
    points, reasons = score(parse_goal("cut p99 latency on mix"), _stdlib("simple_fifo"))
    assert (points, reasons) == (3.0, ("'batch' in Workloads",))


def test_build_makespan() -> None:
    assert rank(parse_goal("make the build faster"), limit=2)[0].name == "longest_first"


def test_past_winner_first_and_not_listed_twice() -> None:
    past = Candidate(
        "eevdf", _stdlib("eevdf"), "history", 100.0, ("won 0.9x before",), {"slice": 3}
    )
    ranked = rank(parse_goal("maximize throughput of hackbench"), past=[past], limit=3)
    assert _names(ranked) == [("eevdf", 100.0), ("burst_classes", 6.0), ("domains", 6.0)]
    assert ranked[0].origin == "history" and ranked[0].params == {"slice": 3}
    assert [c.name for c in rank(parse_goal("improve fairness"), past=[past])].count("eevdf") == 1


def test_same_ranking_every_time() -> None:
    goal = parse_goal("cut latency on cyclictest")
    assert rank(goal) == rank(goal)


def test_header_parts() -> None:
    header = read_header(
        "// x: One line.\n//\n// Idea: a b\n//   c.\n// Workloads: Hackbench.\nscheduler x"
    )
    assert header.summary == "one line."
    assert header.idea == "a b c."
    assert header.workloads == "hackbench."


def _stdlib(name: str) -> str:
    import schedlang.stdlib

    return schedlang.stdlib.source(name)


def test_a_header_naming_the_workload_counts_for_it() -> None:
    """`pipe` named in `Workloads:` is a hit for a goal on pipe (as `hackbench` is for
    hackbench); before, only "pipeline", "rpc" and the like were."""
    source = "// p: a policy\n// Workloads: `perf bench sched pipe` (`pipe`), request/reply\n"
    points, reasons = score(parse_goal("maximize throughput of pipe", None), source)
    assert reasons == ("'pipe' in Workloads", "'request' in Workloads")
    assert points == 6.0
    points, reasons = score(parse_goal("maximize throughput of messaging", None),
                            "// m: x\n// Workloads: `messaging`\n")  # fmt: skip
    assert reasons == ("'messaging' in Workloads",) and points == 3.0

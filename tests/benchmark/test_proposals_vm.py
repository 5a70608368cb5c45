"""End to end in the sandbox VM: `bench run --quick --agent proposals:FILE` scores a file an
outside agent wrote, measuring it itself: a library policy with a tunable on hackbench, DSL
source that does not check on pipe (nothing boots, it scores 0), and for the held-out gzip
the batch category's DSL source (a T2 file). Profiles are the simulator's (--profiles sim),
so the VM time goes to the two measured boots."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from schedlang.benchmark import bundle
from schedlang.cli import main

ONE_QUEUE = """scheduler one_queue "one shared FIFO" {
    queue q: fifo
    on enqueue(t, flags) { insert t into q }
    on dispatch(c) { move_to_local(q) }
}
"""
ANSWER = {
    "agent": "outside-by-file",
    "workloads": {
        "hackbench": {"goal": {"metric": "time"}, "policy": "latency_boost",
                      "params": {"slice": "5ms"}},
        "pipe": {"policy": ONE_QUEUE.replace("insert t into q", "insert t into nowhere")},
    },
    "categories": {"batch": {"policy": ONE_QUEUE, "goal": {"metric": "time"}}},
}  # fmt: skip


@pytest.mark.vm
@pytest.mark.usefixtures("vm_ready")
def test_a_proposals_file_is_scored_by_the_runner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "answer.json"
    file.write_text(json.dumps(ANSWER))
    out = tmp_path / "bundle"
    argv = ["bench", "run", "--quick", "--track", "T2", "--profiles", "sim", "--agent",
            f"proposals:{file}", "--workloads", "hackbench,pipe,gzip", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "measure 2 workloads, 2 runs a side, one boot each" in printed
    scores = json.loads((out / "scores.json").read_text())
    assert (scores["agent"], scores["track"], scores["quick"]) == ("outside-by-file", "T2", True)
    hackbench, pipe, gzip = scores["workloads"]
    assert (hackbench["policy"], hackbench["params"]) == ("latency_boost", {"slice": "5ms"})
    assert gzip["held_out"] and gzip["policy"].startswith("generated-")
    for w in (hackbench, gzip):
        for m in w["metrics"]:
            assert len(m["baseline"]) == 2 and len(m["agent"]) == 2
            ratio = statistics.median(m["baseline"]) / statistics.median(m["agent"])
            assert m["direction"] == "lower" and m["I"] == pytest.approx(ratio, rel=1e-12)
    assert pipe["weighted"] == 0.0 and [m["I"] for m in pipe["metrics"]] == [None]
    assert pipe["boots_s"] == [] and not pipe["slos_met"]
    assert scores["score"] == pytest.approx(hackbench["weighted"])
    assert scores["score_held_out"] == pytest.approx(gzip["weighted"])
    assert hackbench["goal"]["grade"] == 1.0 and gzip["goal"]["grade"] == 1.0
    assert (out / "policies" / f"{gzip['policy']}.sched").read_text() == ONE_QUEUE
    assert bundle.verify(out).ok

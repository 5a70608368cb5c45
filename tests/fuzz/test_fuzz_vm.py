"""Generated policies in the real kernel, through `schedlang fuzz --vm`: a small batch loaded
one after another in ONE sandbox boot, with stress-ng running alongside; each must pass the
kernel verifier, enable, run hackbench and unload with exit kind UNREG (not ejected).

A verifier rejection or an ejection of a checker-accepted policy is a bug in the checker (a
rule too weak) or the backend (C the verifier cannot follow, a missing run-time guard); the
failure shows the seed and the command that reproduces it. The 1,000-policy campaign in
docs/fuzzing.md is the same command with a larger --count.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schedlang.cli import main

SEEDS = range(0, 4)


@pytest.mark.vm
def test_a_batch_of_generated_policies_loads_runs_and_unloads(
    vm_ready: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "fuzz.jsonl"
    argv = ["fuzz", "--vm", "--stress", "--count", str(len(SEEDS)), "--seed", str(SEEDS[0])]
    rc = main([*argv, "--batch", str(len(SEEDS)), "--log", str(log)])
    out, err = capsys.readouterr()
    records = {r["seed"]: r for r in map(json.loads, log.read_text().splitlines())}
    assert sorted(records) == list(SEEDS), err
    for seed, r in records.items():
        why = f"seed {seed}: {json.dumps(r)[:3000]}"
        assert r["mode"] == "vm" and r["checker"] == "ok" and r["compile"] == "ok", why
        assert r["verifier"] == "ok" and r["enabled"], why
        assert r["exit"]["kind"] == "UNREG" and not r["exit"]["ejected"], why
        assert r["workload"]["rc"] == 0 and r["state_after"] == "disabled", why
        assert r["stats"]["nr_enqueued"] > 0, why
        assert r["outcome"] == "ok" and r["boot"] == 1, why
    assert rc == 0, out
    assert f"ok                        {len(SEEDS)}" in out

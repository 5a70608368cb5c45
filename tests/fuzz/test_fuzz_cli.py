"""`schedlang fuzz` without the VM: checks and compiles, logs one JSON line per policy,
resumes from its log; and the batch runner's handling of a guest that dies mid-batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schedlang.cli import main
from schedlang.commands import fuzz
from schedlang.runtime import fuzz_vm


def _log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.clang
def test_fast_mode_checks_and_compiles_each_seed_and_logs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "fuzz.jsonl"
    assert main(["fuzz", "--count", "3", "--seed", "40", "--log", str(log)]) == 0
    records = _log(log)
    assert [r["seed"] for r in records] == [40, 41, 42]
    assert all(r["mode"] == "compile" and r["outcome"] == "compiled" for r in records)
    assert all(r["checker"] == "ok" and r["compile"] == "ok" for r in records)
    out, err = capsys.readouterr()
    assert "compiled                  3" in out and "total                     3" in out
    assert "[3/3] seed 42: compiled" in err


def test_resume_skips_the_seeds_in_a_log_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "fuzz.jsonl"
    done = [{"seed": s, "mode": "compile", "outcome": "compiled"} for s in (7, 8)]
    # A kill mid-write leaves half a line; a record of the other mode does not count.
    log.write_text(
        "".join(json.dumps(r) + "\n" for r in done)
        + json.dumps({"seed": 9, "mode": "vm", "outcome": "ok"})
        + "\n"
        + '{"seed": 9, "mode": "comp'
    )
    ran: list[int] = []

    def fake(seed: int, workdir: Path) -> tuple[dict[str, Any], Path | None]:
        ran.append(seed)
        return {"seed": seed, "outcome": "compiled", "checker": "ok", "compile": "ok"}, None

    monkeypatch.setattr(fuzz, "_check_and_compile", fake)
    assert main(["fuzz", "--count", "4", "--seed", "7", "--log", str(log)]) == 0
    assert ran == [9, 10]
    out, err = capsys.readouterr()
    assert "2 seeds already in" in err and "2 to go" in err
    assert "total                     4" in out
    tail = [r for r in _log_lines(log) if r is not None][-2:]
    assert [(r["seed"], r["mode"]) for r in tail] == [(9, "compile"), (10, "compile")]


def _log_lines(path: Path) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            out.append(None)
    return out


def test_a_failure_prints_the_seed_and_the_command_that_reproduces_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake(seed: int, workdir: Path) -> tuple[dict[str, Any], Path | None]:
        r = {"seed": seed, "outcome": "compile-failed", "error": "ClangError: boom"}
        return r, None

    monkeypatch.setattr(fuzz, "_check_and_compile", fake)
    assert main(["fuzz", "--count", "1", "--seed", "123"]) == 1
    out, err = capsys.readouterr()
    assert "FAILED seed 123: compile-failed: ClangError: boom" in out
    assert "reproduce: schedlang fuzz --count 1 --seed 123" in out
    assert "python -m schedlang.fuzzgen 123 > fuzz_123.sched" in err


def test_a_guest_that_dies_keeps_finished_results_retries_once_then_records_a_hang() -> None:
    """Seed 2 takes the guest down every time: 1 finished before it and is kept, 2 is retried
    in a second boot (with 3, never started), and after the second death it is a hang."""
    boots: list[list[int]] = []

    def boot(objects: dict[int, Path], *, stress: bool, on_done: Any) -> fuzz_vm.BatchOutcome:
        boots.append(list(objects))
        out = fuzz_vm.BatchOutcome(failure="the guest printed nothing for 90 s (VM killed)")
        for seed in objects:
            if seed == 2:
                out.running = 2
                return out
            out.results[seed] = {"seed": seed, "verifier": "ok"}
            on_done(seed, out.results[seed])
        return out

    got: list[tuple[int, str, int]] = []
    fuzz_vm.run_all(
        {s: Path(f"fuzz_{s}.bpf.o") for s in (1, 2, 3)},
        batch=3,
        stress=False,
        on_result=lambda seed, r, n: got.append((seed, "hang" if "hang" in r else "done", n)),
        boot=boot,
    )
    assert boots == [[1, 2, 3], [2, 3], [3]]
    assert got == [(1, "done", 1), (2, "hang", 2), (3, "done", 3)]

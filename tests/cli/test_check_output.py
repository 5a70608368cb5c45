"""`schedlang check` and `compile` output: exit codes, the JSON documents, readable facts.

Exit codes (docs/cli.md): 0 ok, 1 diagnostics, 2 usage or unreadable, 3 internal error. An
internal error (a pass raising) must never pass for "the policy has problems".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schedlang import checker
from schedlang.checker import check_path
from schedlang.cli import main
from schedlang.commands.check import fact_lines
from schedlang.diagnostics import render_json

ROOT = Path(__file__).resolve().parents[2]
FAIR = str(ROOT / "examples" / "fair.sched")
FIFO = str(ROOT / "examples" / "fifo.sched")
LOST = 'scheduler bad "x" {\n    on enqueue(t, flags) {\n    }\n}\n'


@pytest.fixture
def bad(tmp_path: Path) -> str:
    path = tmp_path / "bad.sched"
    path.write_text(LOST)
    return str(path)


@pytest.fixture
def broken_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A checker pass with a bug: it raises on every program."""

    def divzero(program: object, diags: object) -> dict[str, object]:
        raise RuntimeError("divzero exploded")

    rules = tuple((name, divzero if name == "divzero" else rule) for name, rule in checker.RULES)
    monkeypatch.setattr(checker, "RULES", rules)


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_a_proven_policy_exits_0_with_its_facts_as_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", FAIR, "--format", "json"]) == 0
    doc = _json(capsys)
    checked, _ = check_path(FAIR)
    assert checked is not None
    assert doc == {
        "status": "ok",
        "files": [
            {
                "file": FAIR,
                "status": "ok",
                "policy": "fair",
                "facts": json.loads(json.dumps(checked.facts)),
                "diagnostics": [],
            }
        ],
    }
    assert doc["files"][0]["facts"]["queues"] == {"shared": "vtime"}


def test_each_file_has_its_own_status_and_the_worst_is_the_exit_code(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "missing.sched")
    assert main(["check", FIFO, bad, missing, str(tmp_path), "--format", "json"]) == 2
    doc = _json(capsys)
    assert doc["status"] == "unreadable"
    ok, lost, absent, directory = doc["files"]
    assert (ok["file"], ok["status"], ok["policy"]) == (FIFO, "ok", "fifo")
    assert (lost["file"], lost["status"]) == (bad, "diagnostics")
    assert [(d["code"], d["line"], d["col"]) for d in lost["diagnostics"]] == [("lost-task", 3, 5)]
    assert "facts" not in lost and "error" not in lost
    assert absent == {
        "file": missing,
        "status": "unreadable",
        "error": {"kind": "unreadable", "message": "No such file or directory", "errno": "ENOENT"},
        "diagnostics": [],
    }
    assert directory["error"] == {
        "kind": "unreadable",
        "message": "Is a directory",
        "errno": "EISDIR",
    }


def test_diagnostics_alone_exit_1(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", FIFO, bad, "--format", "json"]) == 1
    assert _json(capsys)["status"] == "diagnostics"
    assert main(["check", bad]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{bad}:3:5: error[lost-task]: ")


def test_unreadable_in_text_mode_says_why_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.sched"
    assert main(["check", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out.strip() == ""
    assert captured.err == f"schedlang check: cannot read {missing}: No such file or directory\n"


def test_facts_print_as_sentences_not_a_dict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", FAIR]) == 0
    first, *rest = capsys.readouterr().out.splitlines()
    assert first == f"{FAIR}: ok (fair)"
    checked, _ = check_path(FAIR)
    assert checked is not None
    assert rest == [f"  {line}" for line in fact_lines(checked.facts)]
    assert "  declared queues: shared (vtime)" in rest and "  slices: at least 500us" in rest
    assert not any(c in "".join(rest) for c in "{}'")


def test_fact_lines() -> None:
    facts = {
        "min_slice_ns": 500_000,
        "instructions": {"enqueue": 47, "dispatch": 27},
        "instruction_budget": 100_000,
        "cpu_values_proven": 1,
        "memory_bytes": 2_621_440,
        "memory_budget": 64 << 20,
        "indices_proven": 0,
        "divisions_proven": 2,
        "paths": {"select_cpu": 2, "enqueue": 1},
        "queues": {},
        "new_fact": {"a": 1},
    }
    assert fact_lines(facts) == [
        "instructions: enqueue <= 47, dispatch <= 27 (estimated; budget 100000 per callback)",
        "memory: 2.5 MiB of maps, arrays and task storage (budget 64 MiB)",
        "proven: 0 array indices in range, 2 divisors non-zero, 1 cpu value below the CPU limit",
        "paths checked: select_cpu 2, enqueue 1",
        "declared queues: none",
        "slices: at least 500us",
        "new fact: a 1",
    ]
    assert fact_lines({}) == []
    many = fact_lines({"paths": {"enqueue": 2**800, "select_cpu": 10**6}})
    assert many == ["paths checked: enqueue more than 10^6, select_cpu 1000000"]


def test_an_internal_error_exits_3_with_a_record(
    broken_pass: None, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", FIFO, "--format", "json"]) == 3
    doc = _json(capsys)
    assert doc["status"] == "internal-error"
    [entry] = doc["files"]
    assert entry["status"] == "internal-error" and entry["diagnostics"] == []
    error = entry["error"]
    assert (error["kind"], error["exception"], error["message"]) == (
        "internal-error",
        "RuntimeError",
        "divzero exploded",
    )
    assert "bug in schedlang" in error["hint"] and "report" in error["hint"]


def test_an_internal_error_in_text_mode_is_a_message_not_a_traceback(
    broken_pass: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SCHEDLANG_DEBUG", raising=False)
    assert main(["check", FIFO]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        f"schedlang check: internal error while checking {FIFO}: RuntimeError: divzero exploded\n"
        "  help: this is a bug in schedlang"
    )
    assert "Traceback" not in captured.err
    assert main(["check", FIFO, "--debug"]) == 3
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    monkeypatch.setenv("SCHEDLANG_DEBUG", "1")
    assert main(["check", FIFO]) == 3
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_an_internal_error_outranks_the_other_files(
    broken_pass: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", FIFO, str(tmp_path / "missing.sched"), "--format", "json"]) == 3
    assert [f["status"] for f in _json(capsys)["files"]] == ["internal-error", "unreadable"]


def test_compile_reports_an_internal_error_in_the_checker(
    broken_pass: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", FIFO, "-o", str(tmp_path), "--format", "json"]) == 3
    doc = _json(capsys)
    assert (doc["ok"], doc["status"], doc["error"]["kind"]) == (
        False,
        "internal-error",
        "internal-error",
    )
    assert list(tmp_path.iterdir()) == []


def test_an_internal_error_after_the_checker_has_a_record_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug outside any file's check (here in the backend) reaches cli.main's handler."""
    from schedlang import compiler

    def compile_checked(*args: object, **kwargs: object) -> None:
        raise KeyError("slot")

    monkeypatch.setattr(compiler, "compile_checked", compile_checked)
    assert main(["compile", FIFO, "-o", str(tmp_path), "--format", "json"]) == 3
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["status"] == "internal-error"
    assert (doc["error"]["exception"], doc["error"]["message"]) == ("KeyError", "'slot'")
    assert (
        f"schedlang compile: internal error while compiling {FIFO}: KeyError: 'slot'"
        in captured.err
    )
    assert main(["compile", FIFO, "-o", str(tmp_path)]) == 3
    assert capsys.readouterr().out == ""


def test_compile_json_carries_the_status_and_the_facts(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", FIFO, "-o", str(tmp_path), "--emit", "c", "--format", "json"]) == 0
    doc = _json(capsys)
    assert (doc["ok"], doc["status"], doc["policy"]) == (True, "ok", "fifo")
    checked, _ = check_path(FIFO)
    assert checked is not None and doc["facts"] == json.loads(json.dumps(checked.facts))
    assert main(["compile", bad, "-o", str(tmp_path), "--format", "json"]) == 1
    assert _json(capsys)["status"] == "diagnostics"
    missing = str(tmp_path / "missing.sched")
    assert main(["compile", missing, "-o", str(tmp_path), "--format", "json"]) == 2
    assert _json(capsys)["error"]["errno"] == "ENOENT"


def test_render_json_of_diagnostics_alone_is_still_a_list(bad: str) -> None:
    _, diags = check_path(bad)
    listed = json.loads(render_json(diags))
    assert listed == [d.to_dict() for d in diags]
    assert json.loads(render_json({"d": diags}))["d"] == listed

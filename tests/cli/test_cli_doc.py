"""docs/cli.md stays true: its exit codes are the commands', its examples their output.

The facts' values and the diagnostics' wording belong to the passes and change with them,
so the examples are compared on their shape: every key, every status, every error record,
the fact names and the diagnostics' codes and positions.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from schedlang.cli import main
from schedlang.commands.check import EXIT

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "cli.md").read_text()


def _blocks(lang: str) -> list[str]:
    """The fenced blocks whose opening fence names `lang` ("" for none)."""
    found, current, opened = [], [], None
    for line in DOC.splitlines(keepends=True):
        if line.startswith("```"):
            if opened is None:
                opened, current = line[3:].strip(), []
            else:
                if opened == lang:
                    found.append("".join(current))
                opened = None
        elif opened is not None:
            current.append(line)
    return found


def _shape(doc: dict[str, Any]) -> dict[str, Any]:
    for entry in doc["files"]:
        if "facts" in entry:
            entry["facts"] = sorted(entry["facts"])
        entry["diagnostics"] = [
            (d["code"], d["line"], d["col"], sorted(d)) for d in entry["diagnostics"]
        ]
    return doc


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "fifo.sched", tmp_path / "examples")
    (tmp_path / "bad.sched").write_text(
        'scheduler bad "x" {\n    on enqueue(t, flags) {\n    }\n}\n'
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_exit_code_table_lists_every_code() -> None:
    table = {int(n) for n in re.findall(r"^\| (\d) \|", DOC, re.M)}
    assert table == set(EXIT.values()) == {0, 1, 2, 3}


def test_the_json_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", "examples/fifo.sched", "bad.sched", "missing.sched", "--format", "json"]
    assert f"`schedlang {' '.join(argv)}` (exit 2)" in DOC
    assert main(argv) == 2
    [documented] = _blocks("json")
    assert _shape(json.loads(capsys.readouterr().out)) == _shape(json.loads(documented))


def test_the_text_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "examples/fifo.sched"]) == 0
    real = capsys.readouterr().out.splitlines()
    documented = next(
        b for b in _blocks("") if b.startswith("examples/fifo.sched: ok")
    ).splitlines()
    assert real[0] == documented[0]
    assert [line.partition(":")[0] for line in real] == [
        line.partition(":")[0] for line in documented
    ]


def test_the_diagnostic_text_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "bad.sched"]) == 1
    documented = next(b for b in _blocks("") if b.startswith("bad.sched:3:5:"))
    assert capsys.readouterr().out == documented


def test_the_diagnostic_keys_are_the_documented_ones(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = DOC.split("## Diagnostics", 1)[1].split("\n## ", 1)[0]
    documented = {
        k for row in re.findall(r"^\| (`.*?) \|", table, re.M) for k in re.findall(r"`(\w+)`", row)
    }
    assert main(["check", "bad.sched", "--format", "json"]) == 1
    [entry] = json.loads(capsys.readouterr().out)["files"]
    assert set(entry["diagnostics"][0]) == documented

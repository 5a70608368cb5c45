"""`schedlang compile`: files written, diagnostics like `check`, exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schedlang.backends.bpf import build
from schedlang.cli import main

ROOT = Path(__file__).resolve().parents[2]

FIFO = str(ROOT / "examples" / "fifo.sched")


@pytest.mark.clang
def test_compile_writes_the_three_files(tmp_path: Path, clang: build.Clang) -> None:
    assert main(["compile", FIFO, "-o", str(tmp_path), "--param", "slice=3ms"]) == 0
    written = {p.name for p in tmp_path.iterdir()}
    assert written == {"fifo.bpf.c", "schedlang.bpf.h", "fifo.bpf.o", "fifo.json"}
    manifest = json.loads((tmp_path / "fifo.json").read_text())
    assert manifest["params"][0]["value"] == 3_000_000


@pytest.mark.clang
def test_json_output_names_the_files(
    tmp_path: Path, clang: build.Clang, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["compile", FIFO, "-o", str(tmp_path), "--kernel-api", "6.13", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["ok"] and out["kernel_api"] == "6.13+"
    assert Path(out["object"]).exists() and out["diagnostics"] == []


def test_out_of_range_param_exits_1_with_a_caret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", FIFO, "-o", str(tmp_path), "-p", "slice=1s"]) == 1
    out = capsys.readouterr().out
    assert "fifo.sched:2:5: error[param-range]" in out and "^^^" in out


def test_bad_policy_exits_1_with_json_diagnostics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.sched"
    bad.write_text('scheduler bad "x" {\n    on enqueue(t, flags) {\n    }\n}\n')
    assert main(["compile", str(bad), "-o", str(tmp_path), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert not out["ok"] and out["diagnostics"][0]["code"] == "lost-task"


@pytest.mark.parametrize(
    "argv",
    [
        ["compile", "no/such/file.sched"],
        ["compile", FIFO, "--param", "slice"],
        ["compile", FIFO, "--kernel-api", "5.15"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], tmp_path: Path) -> None:
    assert main([*argv, "-o", str(tmp_path)]) == 2


def test_missing_clang_exits_2_naming_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(build.CLANG_ENV, "/nonexistent")
    build.find_clang.cache_clear()
    try:
        assert main(["compile", FIFO, "-o", str(tmp_path)]) == 2
    finally:
        build.find_clang.cache_clear()
    assert "apt-get install clang-19" in capsys.readouterr().err


def test_an_output_below_a_file_is_a_usage_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "plain"
    blocker.write_text("")
    assert main(["compile", FIFO, "-o", str(blocker / "out"), "--emit", "c"]) == 2
    err = capsys.readouterr().err
    assert f"({blocker} is a file)" in err and "not a directory" in err and "Errno" not in err

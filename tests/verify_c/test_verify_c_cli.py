"""`schedlang verify-c`: exit codes, text and JSON output."""

from __future__ import annotations

import json
import os

from schedlang.cli import main

DATA = os.path.join(os.path.dirname(__file__), "data")


def test_clean_file_exits_0(capsys) -> None:
    assert main(["verify-c", os.path.join(DATA, "good_vtime.bpf.c")]) == 0
    assert "pass" in capsys.readouterr().out


def test_findings_exit_1_with_location_caret_and_help(capsys) -> None:
    path = os.path.join(DATA, "bad_task_writes.bpf.c")
    assert main(["verify-c", path]) == 1
    out = capsys.readouterr().out
    # The DSL checker's form (diagnostics.render_text): the tab before `p` shows as 8 columns
    # and the caret follows it.
    assert out.splitlines()[:4] == [
        f"{path}:17:2: error[C007]: write to a task_struct field the kernel does not allow: "
        "writes `pid` of a task_struct",
        "  17 |         p->pid = pid + 1;                               // E[C007]",
        "     |         ^",
        "  help: a sched_ext program may write only p->scx.slice, p->scx.dsq_vtime and "
        "p->scx.disallow; keep other per-task state in a task-storage map",
    ]
    assert out.endswith("\n\n8 finding(s): 8 error(s), 0 not analysed\n")


def test_json_format(capsys) -> None:
    path = os.path.join(DATA, "bad_recursion.bpf.c")
    assert main(["verify-c", "--format", "json", path]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "diagnostics"
    [entry] = doc["files"]
    assert (entry["file"], entry["status"]) == (path, "diagnostics")
    data = entry["diagnostics"]
    assert [d["code"] for d in data] == ["C002", "C002"]
    assert data[0] == {
        "code": "C002",
        "severity": "error",
        "file": path,
        "line": 8,
        "col": 26,
        "end_line": 8,
        "end_col": 27,
        "message": "recursion: `fact` calls itself",
        "hints": ["BPF has no recursion: rewrite the cycle as a loop with a constant bound"],
        "notes": [],
    }


def test_json_for_clean_file_has_no_diagnostics(capsys) -> None:
    path = os.path.join(DATA, "good_iter.bpf.c")
    assert main(["verify-c", "--format", "json", path]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "status": "ok",
        "files": [{"file": path, "status": "ok", "diagnostics": []}],
    }


def test_not_analysed_is_a_warning_that_still_fails(capsys) -> None:
    assert main(["verify-c", os.path.join(DATA, "bad_asm.bpf.c")]) == 1
    out = capsys.readouterr().out
    assert "warning[C103]: not analysed: inline assembly" in out
    assert "0 error(s), 1 not analysed" in out


def test_usage_errors_exit_2(capsys) -> None:
    assert main(["verify-c", "/nonexistent/file.bpf.c"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["verify-c"]) == 2
    assert main(["verify-c", "--format", "xml", os.path.join(DATA, "good_vtime.bpf.c")]) == 2


def test_include_dirs(tmp_path, capsys) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "extra.h").write_text('#define EXTRA_NAME "inc_test"\n')
    src = open(os.path.join(DATA, "good_vtime.bpf.c")).read()
    src = '#include "extra.h"\n' + src.replace('.name = "good_vtime"', ".name = EXTRA_NAME")
    path = tmp_path / "main.bpf.c"
    path.write_text(src)
    assert main(["verify-c", str(path)]) == 1  # extra.h not found without -I
    assert "C101" in capsys.readouterr().out
    assert main(["verify-c", "-I", str(tmp_path / "inc"), str(path)]) == 0

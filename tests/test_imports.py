"""schedlang/imports.py beyond the case files (tests/cases/import_*.sched): renaming inside
imported code, scopes, diamonds, the printed form, and diagnostics that span two files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from schedlang import ast
from schedlang.checker import check_path
from schedlang.diagnostics import render_json
from schedlang.fmt import format_program
from schedlang.syntax import parse

LIB = """scheduler lib "parts" {
    param gap: duration = 1ms in 1us..1s
    task var seen: u64 = 0
    const TWO: u64 = 2

    fn twice(n: u64) -> u64 {
        return n * TWO
    }

    fn note(t: task) -> u64 {
        // a local named like a global of this file is not a use of it
        let gap = twice(t.seen)
        t.seen += gap
        return t.seen
    }

    on enqueue(t, flags) {
        insert t into global slice gap
    }
}
"""


def _policy(tmp_path: Path, body: str, lib: str = LIB) -> Path:
    (tmp_path / "lib.sched").write_text(lib)
    path = tmp_path / "main.sched"
    path.write_text(f'scheduler main "uses lib" {{\n{body}\n}}\n')
    return path


ENQUEUE = "on enqueue(t, flags) { insert t into global slice 1ms }"


def test_an_alias_renames_the_declaration_in_the_imported_code(tmp_path: Path) -> None:
    path = _policy(
        tmp_path,
        f"""import "lib.sched" {{ note, seen as lib_seen }}
    task var seen: u32 = 0
    on running(t) {{ t.seen = note(t) as u32 }}
    {ENQUEUE}""",
    )
    checked, diags = check_path(path)
    assert checked is not None, [d.message for d in diags]
    program = checked.program
    assert sorted(v.name for v in program.task_vars) == ["lib_seen", "seen"]
    fns = {f.name: f for f in program.fns}
    # `note` came with `twice` and `TWO` (folded); `gap` there is its local, not the param
    assert sorted(fns) == ["note", "twice"] and program.params == ()
    assert fns["note"].span.file == str(tmp_path / "lib.sched")
    assert "lib_seen" in repr(fns["note"].body) and "'seen'" not in repr(fns["note"].body)


def test_a_declaration_reached_through_two_imports_comes_once(tmp_path: Path) -> None:
    path = _policy(
        tmp_path,
        f"""import "lib.sched" {{ note, seen }}
    import "lib.sched" {{ twice }}
    {ENQUEUE}""",
    )
    checked, diags = check_path(path)
    assert checked is not None, [d.message for d in diags]
    assert sorted(f.name for f in checked.program.fns) == ["note", "twice"]


def test_imports_print_and_parse_back() -> None:
    text = (
        'scheduler p "d" {\n'
        "    import least_loaded { score, busy_penalty as penalty }\n"
        '    import "parts/pick.sched" { pick }\n'
        "}\n"
    )
    tree = parse(text)
    imp = tree.decls[0]
    assert isinstance(imp, ast.Import)
    assert (imp.name, imp.path, [(n.name, n.local) for n in imp.names]) == (
        "least_loaded",
        False,
        [("score", "score"), ("busy_penalty", "penalty")],
    )
    assert format_program(tree) == text
    assert ast.same(parse(format_program(tree)), tree)


def test_json_notes_name_their_file(tmp_path: Path) -> None:
    path = _policy(tmp_path, f'import "lib.sched" {{ note }}\n    {ENQUEUE}')
    _, diags = check_path(path)
    [d] = json.loads(render_json(list(diags)))
    assert d["code"] == "import-needs" and d["file"] == str(path) and d["line"] == 2
    assert d["message"] == (
        "`note` uses task var `seen` of `lib.sched`, which this policy neither imports nor declares"
    )
    assert [(n["file"], n["line"]) for n in d["notes"]] == [(str(tmp_path / "lib.sched"), 12)]


def test_a_type_error_inside_imported_code_is_shown_in_its_file(tmp_path: Path) -> None:
    lib = LIB.replace("return n * TWO", "return n * 5ms")
    path = _policy(tmp_path, f'import "lib.sched" {{ twice }}\n    {ENQUEUE}', lib=lib)
    out = subprocess.run(
        [sys.executable, "-m", "schedlang.cli", "check", str(path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    first, excerpt = out.stdout.splitlines()[:2]
    assert first.startswith(f"{tmp_path / 'lib.sched'}:7:16: error[")
    assert excerpt == "   7 |         return n * 5ms"


def test_dump_after_imports_shows_the_merged_program(tmp_path: Path) -> None:
    path = _policy(tmp_path, f'import "lib.sched" {{ twice }}\n    {ENQUEUE}')
    out = subprocess.run(
        [sys.executable, "-m", "schedlang.cli", "check", str(path), "--dump-after", "imports"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "Fn(name='twice'" in out.stderr and "Import(" not in out.stderr


def test_what_is_not_a_policy_file_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "dir.sched").mkdir()
    (tmp_path / "big.sched").write_text('scheduler b "x" {\n' + "// pad\n" * 200_000 + "}\n")
    got = {}
    for target in ("/dev/zero", "dir.sched", "big.sched", "no\\nsuch.sched"):
        path = _policy(tmp_path, f'import "{target}" {{ f }}\n    {ENQUEUE}')
        _, diags = check_path(path)
        [d] = diags
        got[target] = (d.code, Path(d.file).name, d.line, d.message)
    assert got == {
        "/dev/zero": (
            "import-not-found",
            "main.sched",
            2,
            "cannot read `/dev/zero`: not a regular file",
        ),
        "dir.sched": (
            "import-not-found",
            "main.sched",
            2,
            "cannot read `dir.sched`: Is a directory",
        ),
        "big.sched": (
            "file-too-large",
            "big.sched",
            1,
            "file is larger than 1000 kB; a policy is a few hundred lines",
        ),
        "no\\nsuch.sched": (
            "import-not-found",
            "main.sched",
            2,
            "cannot read `no\\nsuch.sched`: No such file or directory",
        ),
    }


def test_what_a_file_imports_can_be_imported_from_it(tmp_path: Path) -> None:
    """lib.sched imports least_loaded's `score`; main imports lib's `wrap`, which calls it:
    `score` keeps its own file, and both files entered through main's one import."""
    lib = """scheduler lib "re-exports score" {
    import least_loaded { score, busy_penalty, running_now, busy_this, busy_last }
    fn wrap(c: cpu) -> duration {
        return score(c) + 1us
    }
    on enqueue(t, flags) { insert t into global }
}
"""
    path = _policy(
        tmp_path,
        """import "lib.sched" { wrap, busy_penalty, running_now, busy_this, busy_last }
    on select_cpu(t, prev, flags) -> cpu {
        if wrap(prev) < 1ms {
            return prev
        }
        return t.cpu
    }
    on enqueue(t, flags) { insert t into global slice 1ms }""",
        lib=lib,
    )
    checked, diags = check_path(path)
    assert checked is not None, [d.message for d in diags]
    program = checked.program
    assert [(f.name, f.span.file) for f in program.fns] == [
        ("wrap", str(tmp_path / "lib.sched")),
        ("score", "stdlib/least_loaded.sched"),
    ]
    assert [(i.file, i.via.line) for i in program.imported] == [
        (str(tmp_path / "lib.sched"), 2),
        ("stdlib/least_loaded.sched", 2),
    ]

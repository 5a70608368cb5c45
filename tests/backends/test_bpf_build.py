"""clang discovery and error reporting, the built-in table, and `--param` checking."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import schedlang
from schedlang.backends.bpf import build
from schedlang.backends.bpf.builtins_c import BUILTIN_C
from schedlang.builtins import BUILTINS
from schedlang.errors import SchedlangError

ROOT = Path(__file__).resolve().parents[2]

FAIR = ROOT / "examples" / "fair.sched"


@pytest.fixture(autouse=True)
def _fresh_clang_lookup() -> None:
    build.find_clang.cache_clear()
    yield
    build.find_clang.cache_clear()


def test_every_builtin_has_exactly_one_c_lowering() -> None:
    assert set(BUILTIN_C) == set(BUILTINS)


def test_missing_clang_is_a_clear_error_naming_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(build.CLANG_ENV, "/nonexistent")
    with pytest.raises(build.ClangError) as err:
        schedlang.compile(FAIR, outdir=tmp_path)
    assert "/nonexistent: not found" in str(err.value)
    assert "apt-get install clang-19" in str(err.value)


def test_old_clang_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    old = tmp_path / "clang-14"
    old.write_text("#!/bin/sh\necho 'Debian clang version 14.0.6'\n")
    old.chmod(old.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(build.CLANG_ENV, str(old))
    with pytest.raises(build.ClangError, match=r"version 14\.0\.6 is older than 16.*clang-19"):
        build.find_clang()


@pytest.mark.clang
def test_clang_errors_map_back_to_policy_lines(tmp_path: Path) -> None:
    try:
        build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))
    c_path = tmp_path / "broken.bpf.c"
    c_path.write_text("int f(void)\n{\n\treturn undeclared_name; /* broken.sched:7 */\n}\n")
    with pytest.raises(build.ClangError) as err:
        build.compile_c(c_path, tmp_path / "broken.bpf.o", ((3, 7, 12),))
    message = str(err.value)
    assert "broken.bpf.c:3:" in message and "undeclared_name" in message
    assert "from policy line 7, column 12" in message


def test_nearest_dsl_takes_the_closest_mapped_line_above() -> None:
    line_map = ((10, 3, 5), (14, 4, 9), (20, 8, 1))
    assert build.nearest_dsl(line_map, 9) is None
    assert build.nearest_dsl(line_map, 14) == (4, 9)
    assert build.nearest_dsl(line_map, 17) == (4, 9)


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"slice": "1s"}, "param-range", "outside the declared range 500us..50ms"),
        ({"slice": "5"}, "type-mismatch", "`5` is not a duration"),
        ({"slcie": "5ms"}, "unknown-name", "no tunable named `slcie`"),
    ],
)
def test_bad_param_override_is_a_diagnostic(
    params: dict[str, str], code: str, words: str, tmp_path: Path
) -> None:
    with pytest.raises(SchedlangError) as err:
        schedlang.compile(FAIR, params, tmp_path)
    (diag,) = err.value.diagnostics
    assert diag.code == code and words in diag.message
    assert not list(tmp_path.iterdir()), "nothing is written for a rejected override"


def test_unknown_param_suggests_the_close_name(tmp_path: Path) -> None:
    with pytest.raises(SchedlangError) as err:
        schedlang.compile(FAIR, {"slcie": "5ms"}, tmp_path)
    assert "did you mean `slice`?" in err.value.diagnostics[0].hints


def test_a_policy_with_errors_raises_with_its_diagnostics(tmp_path: Path) -> None:
    bad = 'scheduler bad "x" {\n    on enqueue(t, flags) {\n    }\n}\n'
    with pytest.raises(SchedlangError) as err:
        schedlang.compile(bad, outdir=tmp_path)
    assert any(d.code == "lost-task" for d in err.value.diagnostics)
    assert "lost-task" in str(err.value)


@pytest.mark.clang
def test_emit_c_needs_no_clang_and_emit_obj_keeps_no_c(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(build.CLANG_ENV, "/nonexistent")
    art = schedlang.compile(FAIR, outdir=tmp_path / "c", emit="c")
    assert art.c_path is not None and art.c_path.exists() and not art.object_path.exists()
    assert art.manifest["hashes"]["object_sha256"] is None
    monkeypatch.delenv(build.CLANG_ENV)
    build.find_clang.cache_clear()
    try:
        build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))
    art = schedlang.compile(FAIR, outdir=tmp_path / "o", emit="obj")
    assert art.c_path is None and art.object_path.exists() and art.manifest_path.exists()
    assert not (tmp_path / "o" / "fair.bpf.c").exists()

"""Regression tests for the adversarial findings about the command line (exit codes,
messages); see docs/adversarial-findings.md. Unfixed bugs are `xfail(strict=True)`, so each
turns into a failure the day it is fixed and whoever fixed it removes the mark."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schedlang.cli import main

ROOT = Path(__file__).resolve().parents[2]
FINDINGS = "docs/adversarial-findings.md"
FLAG_POLICY = """\
scheduler pflag "a bool tunable" {
    param flag: bool = false in false..true
    on enqueue(t, f) {
        insert t into global slice 5ms
    }
}
"""


@pytest.mark.parametrize(
    "command",
    [
        ["check", "tests/cases/bounds_bad.sched"],
        ["check", "--format", "json", "examples/fifo.sched", "tests/cases/bounds_bad.sched"],
        ["fmt", "examples/fifo.sched"],
    ],
    ids=["check", "check-json", "fmt"],
)
def test_a_closed_stdout_is_not_an_internal_error(command: list[str]) -> None:
    """`schedlang check ... | head -1`: the reader went away; that is not a schedlang bug
    (finding #12, fixed: exit 141 like a process SIGPIPE ended, nothing on stderr)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "schedlang.cli",
                *command,
            ],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode != 3 and "internal error" not in proc.stderr, proc.stderr
    assert (proc.returncode, proc.stderr) == (141, "")


def test_a_bad_bool_param_is_hinted_with_a_bool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "pflag.sched"
    src.write_text(FLAG_POLICY)
    assert main(["compile", str(src), "-o", str(tmp_path), "--param", "flag=1"]) == 1
    out = capsys.readouterr().out
    assert "flag=true" in out or "flag=false" in out or "`true` or `false`" in out, out
    assert "42" not in out.replace(str(tmp_path), "TMP"), out  # pytest-42x/ is no hint


TUNABLES = """\
scheduler tun "tunables of every kind" {
    param mask: u64 = 0xff in 0..0xffff
    param bias: i64 = 0 in -100..100
    param quantum: duration = 5ms in 100us..20ms
    param on: bool = true in false..true
    var acc: i64 = 0
    on enqueue(t, f) {
        if on {
            acc = bias + (mask as i64)
        }
        insert t into global slice quantum
    }
}
"""


@pytest.mark.parametrize(
    ("override", "value"),
    [
        ("mask=0x10", 16),
        ("mask=0xff_00", 0xFF00),
        ("mask=1_000", 1000),
        ("bias=-0x20", -32),
        ("quantum=250us", 250_000),
        ("quantum=2_000us", 2_000_000),
        ("on=false", 0),
    ],
)
def test_a_param_is_written_as_the_language_writes_its_literals(
    tmp_path: Path, override: str, value: int
) -> None:
    """Finding #7: `--param` reads what a literal of the param's type may be in a policy."""
    import schedlang

    src = tmp_path / "tun.sched"
    src.write_text(TUNABLES)
    name, _, text = override.partition("=")
    artifact = schedlang.compile(src, {name: text}, tmp_path, emit="c")
    assert {p["name"]: p["value"] for p in artifact.manifest["params"]}[name] == value


@pytest.mark.parametrize(
    ("override", "hint"),
    [
        ("mask=\u0661\u0662", "hex (`0x2a`)"),  # Arabic-Indic digits: not the language's
        ("mask=-1", "pick a value in 0..65535"),
        ("bias=1e2", "negative with a leading `-`"),
        ("quantum=5000000", "`5000000ns`"),
        ("quantum=5 ms", "followed by ns, us, ms or s"),
        ("on=1", "write `true` or `false`"),
        ("on=True", "write `true` or `false`"),
    ],
)
def test_a_param_that_is_not_such_a_literal_says_how_to_write_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, hint: str
) -> None:
    src = tmp_path / "tun.sched"
    src.write_text(TUNABLES)
    assert main(["compile", str(src), "-o", str(tmp_path), "--emit", "c", "-p", override]) == 1
    out = capsys.readouterr().out
    assert hint in out, out


def test_compile_onto_a_file_says_what_o_must_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "afile"
    target.write_text("")
    rc = main(["compile", str(ROOT / "examples/fifo.sched"), "-o", str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and "[Errno" not in err and "directory" in err, err


@pytest.mark.parametrize("what", ["missing.sched", "lonely.bpf.o"])
def test_run_exits_2_for_input_it_cannot_use(tmp_path: Path, what: str) -> None:
    """docs/cli.md: 1 means the policy must change, 2 unreadable input or a bad command line
    (finding #19, fixed)."""
    path = tmp_path / what
    if what.endswith(".bpf.o"):
        path.write_bytes(b"\x7fELF")  # no manifest beside it
    assert main(["run", str(path)]) == 2


def test_fmt_write_never_deletes_comments_silently(tmp_path: Path) -> None:
    """Finding #23 (fixed): fmt keeps comments (tests/parse/test_fmt_comments.py)."""
    path = tmp_path / "commented.sched"
    text = (
        "// why this policy exists\n"
        'scheduler c "commented" {\n'
        "    on enqueue(t, flags) {\n"
        "        insert t into global slice 5ms // one slice for all\n"
        "    }\n"
        "}\n"
    )
    path.write_text(text)
    rc = main(["fmt", "--write", str(path)])
    after = path.read_text()
    assert (rc != 0 and after == text) or "why this policy exists" in after


def test_run_exits_2_for_a_policy_path_that_is_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dir.sched").mkdir()
    assert main(["run", str(tmp_path / "dir.sched")]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.clang
def test_run_rejects_an_unknown_param_before_booting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding #19: the unknown `--param` was noticed only after "measuring ... in a VM"."""
    from schedlang.backends.bpf import build

    try:
        build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))
    src = tmp_path / "pflag.sched"
    src.write_text(FLAG_POLICY)
    assert main(["run", str(src), "--param", "flg=true"]) == 2
    err = capsys.readouterr().err
    assert "no parameter 'flg'" in err and "measuring" not in err, err

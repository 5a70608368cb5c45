"""The gate on its test data: every `// E[CODE]` line is flagged with that code, nothing else is.

Test data lives in tests/verify_c/data: good_*.bpf.c must pass clean (and compile with clang as
real sched_ext C), bad_*.bpf.c carry their expectations inline.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess

import pytest

from schedlang.verify_c import verify

DATA = os.path.join(os.path.dirname(__file__), "data")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
FIXTURES = sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "c", "*.bpf.c")))
CASES = sorted(glob.glob(os.path.join(DATA, "*.bpf.c")))
_EXPECT = re.compile(r"E\[(C\d{3})\]")


def expectations(path: str) -> set[tuple[int, str]]:
    with open(path) as f:
        return {(n, code) for n, line in enumerate(f, 1) for code in _EXPECT.findall(line)}


@pytest.mark.parametrize("path", CASES, ids=os.path.basename)
def test_findings_match_inline_expectations(path: str) -> None:
    findings = verify(path)
    actual = {(f.line, f.code) for f in findings if f.file == path}
    assert actual == expectations(path), "\n".join(
        f"{f.file}:{f.line}:{f.col}: {f.code} {f.message}" for f in findings
    )
    assert all(f.file == path for f in findings), "a finding points into another file"


def test_every_code_has_a_rejected_case() -> None:
    from schedlang.verify_c.findings import CODES

    covered = {code for path in CASES for _, code in expectations(path)}
    # C100 (not text) and C106 (gate bug) are covered in test_verify_c_input.py; C010-C012 come
    # from building a C policy after the gate, covered in tests/backends/test_c_policy.py
    assert covered | {"C100", "C106", "C010", "C011", "C012"} == set(CODES)


def test_good_cases_exist_and_are_clean() -> None:
    good = [p for p in CASES if os.path.basename(p).startswith("good_")]
    assert len(good) >= 2
    for path in good:
        assert verify(path) == []


@pytest.mark.parametrize("path", FIXTURES, ids=os.path.basename)
def test_hand_written_fixtures_pass(path: str) -> None:
    assert verify(path) == []


def test_fixtures_present() -> None:
    if not FIXTURES:
        pytest.skip("tests/fixtures/c/*.bpf.c not present yet")
    assert {os.path.basename(p) for p in FIXTURES} >= {"fifo_c.bpf.c"}


def _clang() -> str:
    clang = os.environ.get("SCHEDLANG_CLANG") or shutil.which("clang-19") or shutil.which("clang")
    if not clang:
        pytest.skip("clang-19 is not installed (apt-get install clang-19)")
    return clang


@pytest.mark.clang
@pytest.mark.parametrize(
    "path", [p for p in CASES if os.path.basename(p).startswith("good_")], ids=os.path.basename
)
def test_good_cases_compile_to_sched_ext_objects(path: str, tmp_path: object) -> None:
    """The good test data is real sched_ext C: clang builds an object with the ops section."""
    out = os.path.join(str(tmp_path), "out.bpf.o")
    proc = subprocess.run(
        [_clang(), "-target", "bpf", "-O2", "-g", "-c", path, "-o", out],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    with open(out, "rb") as f:
        elf = f.read()
    assert elf[:4] == b"\x7fELF"
    assert b".struct_ops.link" in elf and b"license" in elf

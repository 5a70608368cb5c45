"""Data-driven checker tests: every tests/cases/*.sched is a whole program with its expectations.

A line that ends in `// E[code]` must get a diagnostic with that code on that line (several
`E[...]` on one line mean several diagnostics); `E[code@FILE:LINE]` expects it in a file the
case imports (FILE relative to the case), at LINE. A file with no `E[...]` must check clean and
yield a CheckedProgram. The set of (line, code) pairs must match exactly, so a case also
fails when the checker reports something nobody expected. The expectations live in the
files; there is nothing to regenerate.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schedlang import codes
from schedlang.checker import check_path, check_source
from schedlang.diagnostics import render_text
from schedlang.source import SourceFile
from schedlang.syntax import MAX_SOURCE_BYTES

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted((ROOT / "tests" / "cases").glob("*.sched"))
EXPECTATION = re.compile(r"\bE\[([a-z0-9-]+)(?:@([^\]:]+):(\d+))?\]")

# Codes whose trigger cannot carry an inline expectation; each is exercised below instead.
NOT_IN_CASE_FILES = {
    codes.EMPTY_FILE: "an empty file has no line to put `// E[...]` on",
    codes.FILE_TOO_LARGE: "a case file over the size limit would bloat the repository",
}


def expected(text: str) -> set[tuple[str, int, str]]:
    """(file, line, code) expected; file "" is the case itself."""
    out: set[tuple[str, int, str]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if "//" in line:
            for code, file, at in EXPECTATION.findall(line.rsplit("//", 1)[1]):
                out.add((file, int(at), code) if file else ("", number, code))
    return out


def _where(path: Path, file: str) -> str:
    """A diagnostic's file as a case names it: "" for the case, else relative to it."""
    return "" if file == str(path) else str(Path(file).relative_to(path.parent))


def test_there_are_cases() -> None:
    assert len(CASES) >= 20, CASES


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_case(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    want = expected(text)
    program, diags = check_path(path)
    got = {(_where(path, d.file), d.line, d.code) for d in diags}
    shown = "\n".join(render_text(d, diags.sources().get(d.file)) for d in diags)
    assert got == want, f"missing {sorted(want - got)}, unexpected {sorted(got - want)}\n{shown}"
    if not want:
        assert program is not None, shown
    else:
        assert program is None


def test_every_code_has_a_case_file() -> None:
    used = {
        code for p in CASES for _, _, code in expected(p.read_bytes().decode("utf-8", "replace"))
    }
    missing = set(codes.SUMMARY) - used - set(NOT_IN_CASE_FILES)
    assert not missing, f"codes with no rejected program under tests/cases/: {sorted(missing)}"
    unknown = used - set(codes.SUMMARY)
    assert not unknown, f"case files expect codes that codes.py does not define: {sorted(unknown)}"


def test_every_code_is_documented() -> None:
    doc = (ROOT / "docs" / "errors.md").read_text()
    headings = set(re.findall(r"^## `([a-z0-9-]+)`", doc, flags=re.M))
    missing = set(codes.SUMMARY) - headings
    assert not missing, f"codes without a section in docs/errors.md: {sorted(missing)}"
    for code in codes.SUMMARY:
        section = doc.split(f"## `{code}`", 1)[1].split("\n## ", 1)[0]
        assert "Wrong" in section and "Right" in section, (
            f"`{code}` needs a wrong and a right example"
        )


def test_empty_file() -> None:
    _, diags = check_source(SourceFile("empty.sched", "  \n\n"))
    assert [d.code for d in diags] == [codes.EMPTY_FILE]


def test_file_too_large() -> None:
    big = 'scheduler big "x" {\n' + "    // padding\n" * (MAX_SOURCE_BYTES // 14 + 1) + "}\n"
    _, diags = check_source(SourceFile("big.sched", big))
    assert [d.code for d in diags] == [codes.FILE_TOO_LARGE]


SAFETY_CODES = {
    codes.UNBOUNDED_LOOP,
    codes.RECURSION,
    codes.TOO_COMPLEX,
    codes.INDEX_UNPROVEN,
    codes.MEMORY_BUDGET,
    codes.DIV_BY_ZERO,
    codes.LOST_TASK,
    codes.STARVING_QUEUE,
    codes.QUEUE_KIND,
    codes.PARAM_RANGE,
    codes.MISSING_RETURN,
    codes.DOUBLE_INSERT,
    codes.BAD_SIZE,
    codes.CPU_RANGE,
}


def test_every_safety_diagnostic_says_how_to_fix_it() -> None:
    seen = set()
    for path in CASES:
        _, diags = check_path(path)
        for d in diags:
            if d.code in SAFETY_CODES:
                seen.add(d.code)
                assert d.hints, f"{path.name}:{d.line}: {d.code} has no hint: {d.message}"
                assert d.message and not d.message.endswith(".")
    assert seen == SAFETY_CODES

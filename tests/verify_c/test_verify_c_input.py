"""Garbage in gives a located diagnostic, never a traceback; text input and columns work."""

from __future__ import annotations

import os
import random

import pytest

from schedlang.verify_c import CODES, verify

DATA = os.path.join(os.path.dirname(__file__), "data")


def _codes(findings: list) -> list[str]:
    return [f.code for f in findings]


def test_empty_file(tmp_path) -> None:
    path = tmp_path / "empty.bpf.c"
    path.write_text("")
    findings = verify(str(path))
    assert _codes(findings) == ["C100"]
    assert "empty" in findings[0].message and findings[0].file == str(path)


def test_whitespace_only_text() -> None:
    assert _codes(verify("   \n\n  \n")) == ["C100"]


def test_binary_file(tmp_path) -> None:
    path = tmp_path / "a.out"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    findings = verify(str(path))
    assert _codes(findings) == ["C100"]
    assert "NUL" in findings[0].message


def test_invalid_utf8_reports_the_line(tmp_path) -> None:
    path = tmp_path / "latin1.bpf.c"
    path.write_bytes(b'int a;\nint b;\nchar *s = "\xe9t\xe9";\n')
    findings = verify(str(path))
    assert _codes(findings) == ["C100"] and findings[0].line == 3


def test_prose_is_a_parse_diagnostic() -> None:
    findings = verify("this is not C at all,\nbut an email.\n", name="mail.txt")
    assert _codes(findings) == ["C102"]
    assert findings[0].file == "mail.txt" and findings[0].line >= 1


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    junk = "".join(rng.choice("{}()[];#=+-*/<>&|!~ \n\tabcxyz019\"'\\") for _ in range(300))
    findings = verify(junk, name="junk.c")
    assert findings, "random text cannot pass the gate"
    assert all(f.code in CODES and f.line >= 1 and f.col >= 1 for f in findings)


def test_unterminated_comment_and_bad_directive() -> None:
    findings = verify("int x;\n/* never closed\n", name="c.c")
    assert [(f.code, f.line) for f in findings] == [("C101", 2)]
    assert "unterminated" in findings[0].message
    findings = verify('#error "stop here"\nint x;\n', name="e.c")
    assert _codes(findings) == ["C101"] and findings[0].line == 1


def test_text_input_uses_the_given_name() -> None:
    with open(os.path.join(DATA, "good_vtime.bpf.c")) as f:
        text = f.read()
    assert verify(text, name="mine.bpf.c") == []
    bad = text.replace("p->scx.dsq_vtime = vtime_now;", "p->pid = 0;")
    findings = verify(bad, name="mine.bpf.c")
    assert [(f.file, f.code) for f in findings] == [("mine.bpf.c", "C007")]
    line = bad.split("\n")[findings[0].line - 1]
    assert line[findings[0].col - 1 :].startswith("p->pid")


def test_columns_point_into_the_original_line_after_macro_expansion() -> None:
    """cpp collapses whitespace and expands macros; columns still point at the source token."""
    text = open(os.path.join(DATA, "bad_calls.bpf.c")).read()
    findings = [f for f in verify(os.path.join(DATA, "bad_calls.bpf.c")) if f.code == "C003"]
    for f in findings:
        line = text.split("\n")[f.line - 1]
        assert line[f.col - 1 :].startswith(("scx_bpf_", "bpf_mystery")), (f, line)
    loops = os.path.join(DATA, "bad_loops.bpf.c")
    lines = open(loops).read().split("\n")
    for f in verify(loops):
        if f.code == "C001":
            assert lines[f.line - 1][f.col - 1 :].startswith(("for", "while", "do", "bpf_for"))


def test_pycparser_internal_errors_are_diagnostics() -> None:
    """pycparser 3 raises AttributeError on this mangled enum typedef; it must be a C102."""
    findings = verify("typedef enum { A } unsigned x;\n", name="odd.c")
    assert [f.code for f in findings] == ["C102"]


def test_a_crashing_rule_becomes_a_finding(monkeypatch) -> None:
    from schedlang.verify_c import gate

    def broken(prog: object) -> list:
        raise KeyError("boom")

    broken.__module__ = "schedlang.verify_c.rules.broken"
    monkeypatch.setattr(gate, "RULES", (broken,))
    findings = verify(os.path.join(DATA, "good_vtime.bpf.c"))
    assert [f.code for f in findings] == ["C106"]
    assert "broken" in findings[0].message and "KeyError" in findings[0].message


def test_a_missing_path_is_not_taken_for_c_text() -> None:
    findings = verify("no/such/sched.bpf.c")
    assert [f.code for f in findings] == ["C100"] and "no such file" in findings[0].message

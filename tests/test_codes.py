"""The wording lives with the codes: every code has a summary, a fix and a template, every
template fills in, every code the tree names exists, and docs/errors.md agrees."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from schedlang import codes
from schedlang.diagnostics import Diagnostics
from schedlang.source import NOWHERE, SourceFile
from schedlang.verify_c import findings as c_findings
from schedlang.verify_c.findings import CODES as C_CODES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p
    for top in ("schedlang", "backends", "runtime")
    for p in (ROOT / top).rglob("*.py")
    if not p.is_relative_to(ROOT / "schedlang" / "backends")
    and not p.is_relative_to(ROOT / "schedlang" / "runtime")
)


def test_every_code_has_a_summary_a_fix_and_a_template() -> None:
    templated = {m.code for m in codes.MESSAGES}
    for name, code in codes.CODES.items():
        assert code.name == name and code.summary and code.fix, name
        assert name in templated, f"`{name}` has no message template in codes.py"
    for name, code in C_CODES.items():
        assert re.fullmatch(r"C\d{3}", name) and code.summary and code.fix, name
    assert not set(codes.CODES) & set(C_CODES)


@pytest.mark.parametrize("message", codes.MESSAGES, ids=lambda m: m.text[:40])
def test_every_template_fills_in(message: codes.Message) -> None:
    assert message.code in codes.CODES
    for template in (message.text, *message.fixes):
        for _, name, _spec, conversion in string.Formatter().parse(template):
            assert name is None or name.isidentifier(), (template, name)
            assert not conversion, template
    text, hints = message.format({name: 7 for name in message.fields})
    assert text and hints and all(hints)


@pytest.mark.parametrize("fix", codes.PHRASES, ids=lambda f: f.template[:40])
def test_every_phrase_fills_in(fix: codes.Phrase) -> None:
    assert fix.code in codes.CODES or fix.code in C_CODES
    assert fix.format(**{name: 7 for name in fix.fields})


def test_hints_are_the_suggestions_then_the_fixes_or_else_the_codes_fix() -> None:
    diags = Diagnostics(SourceFile("p.sched", "x"))
    diags.error(codes.UNEXPECTED_HERE, NOWHERE, got="unexpected `x`")
    diags.error(codes.UNEXPECTED, NOWHERE, suggest=("did you mean `y`?",), got="g", expected="e")
    diags.error(codes.FUNCTION_NOT_DECLARED, NOWHERE, suggest=("did you mean `y`?",), name="x")
    first, second, third = diags.items
    assert (first.code, first.message, first.hints) == (
        "syntax",
        "unexpected `x`",
        (codes.CODES["syntax"].fix,),
    )
    assert second.hints == ("did you mean `y`?", "expected e")
    assert (third.code, third.message, third.hints) == (
        "unknown-function",
        "unknown function `x`",
        ("did you mean `y`?",),
    )


def _named_codes(tree: ast.AST, module_names: set[str]) -> set[str]:
    """`C.NAME` / `codes.NAME` attributes of the modules imported as codes."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in module_names
    }


def test_every_code_the_tree_names_exists() -> None:
    c_codes_used: set[str] = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        aliases = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "schedlang"
            for alias in node.names
            if alias.name == "codes"
        }
        for name in _named_codes(tree, aliases):
            assert hasattr(codes, name), f"{path.relative_to(ROOT)}: codes.{name} does not exist"
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"C\d{3}", node.value):
                    c_codes_used.add(node.value)
    assert c_codes_used <= set(C_CODES), sorted(c_codes_used - set(C_CODES))
    assert set(C_CODES) <= c_codes_used, sorted(set(C_CODES) - c_codes_used)


def test_every_wording_is_used() -> None:
    names = {
        name
        for module in (codes, c_findings)
        for name, value in vars(module).items()
        if isinstance(value, codes.Message | codes.Phrase)
    }
    used: set[str] = set()
    for path in SOURCES:
        if path.name != "codes.py":
            used |= set(re.findall(r"\b(?:C|codes|F)\.([A-Z][A-Z0-9_]*)\b", path.read_text()))
    assert names <= used, f"wordings no call site uses: {sorted(names - used)}"


def test_the_docs_fix_starts_with_the_codes_fix() -> None:
    doc = (ROOT / "docs" / "errors.md").read_text()
    for name, code in codes.CODES.items():
        section = doc.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
        found = re.search(r"^Fix: (.*?)(?:\n\n|\Z)", section, re.S | re.M)
        assert found, f"`{name}` has no Fix: paragraph in docs/errors.md"
        assert " ".join(found.group(1).split()).startswith(code.fix), name

"""Golden C for the five normative examples, and the properties that make it reviewable.

The golden files pin the generated C so a change to the backend shows up as a readable diff.
Regenerate them after an intended change with `SCHEDLANG_UPDATE_GOLDEN=1 pytest tests/backends`.
The examples are compiled under their repository-relative paths, so the text does not depend
on where the checkout lives.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from schedlang.backends.bpf import compat, emit, render
from schedlang.checker import check_source
from schedlang.source import SourceFile

ROOT = Path(__file__).resolve().parents[2]

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SCHEDLANG_UPDATE_GOLDEN") == "1"


def generate(path: Path, kernel_api: str = compat.DEFAULT_KERNEL_API) -> render.RenderedC:
    source = SourceFile(str(path.relative_to(ROOT)), path.read_text())
    checked, diags = check_source(source)
    assert checked is not None, [d.message for d in diags]
    options = emit.Options(params={}, kernel_api=compat.KERNEL_APIS[kernel_api])
    return render.render(emit.build_context(checked, options))


def without_checker_facts(text: str) -> str:
    """The C minus the header's "Checker facts" block: those numbers belong to the checker
    (its estimates change with it), not to the backend this test pins."""
    return re.sub(r"^ \* Checker facts:\n(?: \*  .*\n)*", "", text, flags=re.M)


def test_generated_c_matches_golden(example: Path) -> None:
    text = without_checker_facts(generate(example).text)
    golden = GOLDEN / f"{example.stem}.bpf.c"
    if UPDATE:
        golden.write_text(text)
    if not golden.exists():
        pytest.fail(f"no golden file {golden}; create it with SCHEDLANG_UPDATE_GOLDEN=1")
    assert text == golden.read_text(), (
        f"generated C for {example.name} changed; if intended, rerun with SCHEDLANG_UPDATE_GOLDEN=1"
    )


def test_generation_is_deterministic(example: Path) -> None:
    assert generate(example) == generate(example)


def test_line_map_rows_point_at_commented_lines_of_real_statements(example: Path) -> None:
    rendered = generate(example)
    c_lines = rendered.text.splitlines()
    dsl_lines = example.read_text().splitlines()
    assert rendered.line_map, "every example has statements"
    for c_line, dsl_line, dsl_col in rendered.line_map:
        assert c_line <= len(c_lines)
        assert c_lines[c_line - 1].endswith(f"/* {example.name}:{dsl_line} */")
        assert 1 <= dsl_line <= len(dsl_lines) and dsl_col >= 1
        assert dsl_lines[dsl_line - 1][dsl_col - 1 :].strip(), "the column points at code"
    # Every statement of the policy body appears in the map.
    body_lines = {
        i
        for i, text in enumerate(dsl_lines, start=1)
        if re.match(r"\s+(let|insert|return|t\.|if|for|move_to_local|busy|vnow|best)\b", text)
    }
    assert body_lines <= {row[1] for row in rendered.line_map}


def test_generated_c_is_self_contained_and_readable() -> None:
    text = generate(ROOT / "examples" / "fair.sched").text
    assert not re.search(r"^\s*#\s*include", text, re.M), "no headers: self-contained"
    assert "__attribute__((preserve_access_index))" in text
    assert "enum scx_exit_kind kind;" in text  # the CO-RE enum trap
    assert 'SEC(".struct_ops.link")' in text and 'SEC("struct_ops.s/fair__init")' in text
    assert 'SEC(".rodata.params")' in text and 'SEC(".data.stats")' in text
    for op in ("enqueue", "dispatch", "running", "stopping", "enable", "init", "exit"):
        assert f"void fair__{op}(u64 *ctx)" in text or f"s32 fair__{op}(u64 *ctx)" in text
    assert "Weighted virtual-time fairness" in text.splitlines()[0]

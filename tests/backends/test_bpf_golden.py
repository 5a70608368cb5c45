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

from schedlang.backends.bpf import compat, csyntax, emit, render
from schedlang.checker import check_source
from schedlang.source import SourceFile
from schedlang.version import __version__

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


def test_the_shared_header_matches_golden() -> None:
    text = render.header(__version__)
    golden = GOLDEN / render.HEADER
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text(), (
        "schedlang.bpf.h changed; if intended, rerun with SCHEDLANG_UPDATE_GOLDEN=1"
    )


def test_the_shared_header_fits_in_100_columns() -> None:
    wide = [
        line
        for line in render.header(__version__).splitlines()
        if csyntax.width(line) > csyntax.MAX_WIDTH
    ]
    assert not wide, wide


def test_generated_c_includes_the_shared_header_and_reads_like_scx() -> None:
    text = generate(ROOT / "examples" / "fair.sched").text
    includes = re.findall(r"^\s*#\s*include\s+(.*)$", text, re.M)
    assert includes == [f'"{render.HEADER}"'], "one header, written next to the file"
    assert text.index("#define SL_KERNEL_API 0 ") < text.index("#include")
    assert 'SEC(".struct_ops.link")' in text
    assert 'SEC(".rodata.params")' in text and "struct sl_stats" not in text
    assert "void BPF_STRUCT_OPS(fair__enqueue, struct task_struct *t, u64 enq_flags)" in text
    assert "s32 BPF_STRUCT_OPS_SLEEPABLE(fair__init)" in text
    assert "ctx[" not in text, "arguments are unpacked by BPF_STRUCT_OPS, not by hand"
    assert "Weighted virtual-time fairness" in text.splitlines()[0]


# Lines of the hand-written sched_ext scheduler closest to each example: scx_simple.bpf.c
# (a global FIFO or weighted-vtime queue, stats, exit info) as of sched-ext/scx 0f379644a,
# the last commit before that repository moved its C schedulers out. Generated C may be
# longer (it carries the checker's guards and the line mapping), but not by more than 2x.
SCX_EQUIVALENT_LINES = {
    "fair": 151,
    "fifo": 151,
    "latency_first": 151,
    "partition": 151,
    "spread": 151,
}


def test_generated_c_is_at_most_twice_its_scx_equivalent(example: Path) -> None:
    lines = len(without_checker_facts(generate(example).text).splitlines())
    assert lines <= 2 * SCX_EQUIVALENT_LINES[example.stem], lines

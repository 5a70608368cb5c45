"""Every library policy parses, round-trips through the pretty-printer, checks clean and
documents itself (the header comment is what an agent reads before choosing a policy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from schedlang import ast
from schedlang.checker import check_path
from schedlang.fmt import format_program
from schedlang.syntax import parse

STDLIB = Path(__file__).resolve().parents[2] / "stdlib"
POLICIES = sorted(STDLIB.glob("*.sched"))
HEADER_PARTS = ("Idea:", "Inspired by:", "Workloads:", "Tune:")


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _header(text: str) -> list[str]:
    """The comment lines before the `scheduler` line."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("scheduler "):
            return lines
        lines.append(line)
    raise AssertionError("no `scheduler` line")


def test_library_has_at_least_twenty_policies() -> None:
    assert len(POLICIES) >= 20, [p.name for p in POLICIES]


@pytest.mark.parametrize("path", POLICIES, ids=_ids(POLICIES))
def test_parses_and_is_named_after_its_file(path: Path) -> None:
    tree = parse(path.read_text(), str(path))
    assert tree.name == path.stem
    assert len(tree.description) >= 30, "the description should say what the policy does"


@pytest.mark.parametrize("path", POLICIES, ids=_ids(POLICIES))
def test_pretty_printer_round_trips(path: Path) -> None:
    tree = parse(path.read_text(), str(path))
    assert parse(format_program(tree)) == tree


@pytest.mark.parametrize("path", POLICIES, ids=_ids(POLICIES))
def test_checks_clean(path: Path) -> None:
    checked, diags = check_path(path)
    assert [d.code for d in diags.items] == [], "\n".join(
        f"{d.line}:{d.col} {d.code} {d.message}" for d in diags.items
    )
    assert checked is not None


@pytest.mark.parametrize("path", POLICIES, ids=_ids(POLICIES))
def test_header_comment_has_every_part(path: Path) -> None:
    header = _header(path.read_text())
    assert header, "a policy starts with a `//` header comment"
    assert all(line.startswith("//") for line in header), "only comment lines before `scheduler`"
    assert header[0].startswith(f"// {path.stem}: "), "first line: `// NAME: one-line summary`"
    text = "\n".join(header)
    missing = [part for part in HEADER_PARTS if f"// {part}" not in text]
    assert not missing, f"header lacks {missing}"


@pytest.mark.parametrize("path", POLICIES, ids=_ids(POLICIES))
def test_tune_section_names_every_param(path: Path) -> None:
    text = path.read_text()
    header = "\n".join(_header(text))
    tune = header[header.index("// Tune:") :]
    tree = parse(text, str(path))
    params = [d.name for d in tree.decls if isinstance(d, ast.Param)]
    undocumented = [p for p in params if f"`{p}`" not in tune]
    assert not undocumented, f"Tune: does not mention {undocumented}"


@pytest.mark.parametrize("path", POLICIES, ids=_ids(POLICIES))
def test_header_lines_fit_the_line_length(path: Path) -> None:
    long_lines = [i + 1 for i, line in enumerate(_header(path.read_text())) if len(line) > 100]
    assert not long_lines, f"header lines longer than 100 characters: {long_lines}"


def test_every_required_idea_is_covered() -> None:
    """The ideas issues 3 and 12 ask the library to cover, each by at least one policy."""
    wanted = {
        "simple_fifo",
        "weighted_vtime",
        "eevdf",
        "interactive",
        "burst_classes",
        "layered",
        "least_loaded",
        "locality",
        "central",
        "longest_first",
        "priority_aging",
        "latency_boost",
        # issue 12: a policy designed for each benchmark class
        "sync_wake",  # message passing
        "mlfq",  # interactive and message passing
        "edf",  # server request latency
        "bandwidth",  # fairness between processes
        "domains",  # batch throughput
        "lat_criticality",  # message passing, interactive beside hogs
        "run_to_completion",  # makespan of a job graph
    }
    assert wanted <= {p.stem for p in POLICIES}

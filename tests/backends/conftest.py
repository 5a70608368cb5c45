"""Shared setup for the backend tests: the policies to compile, and a clang probe.

Tests take an `example` (each of the five normative examples) or a `policy` (every example
and library policy) argument and are parametrized here, so no test module imports another.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schedlang.backends.bpf import build

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.sched"))
# Every policy the compile tests take: examples, the library, and the backend's own test
# policies (data/: C keywords as names, the lowerings nothing else uses).
POLICIES = (
    EXAMPLES
    + sorted((ROOT / "stdlib").glob("*.sched"))
    + sorted((Path(__file__).parent / "data").glob("*.sched"))
)


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "example" in metafunc.fixturenames:
        metafunc.parametrize("example", EXAMPLES, ids=_id)
    if "policy" in metafunc.fixturenames:
        metafunc.parametrize("policy", POLICIES, ids=_id)


@pytest.fixture
def clang() -> build.Clang:
    """The real clang, or a skip that says how to install it."""
    build.find_clang.cache_clear()
    try:
        return build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))

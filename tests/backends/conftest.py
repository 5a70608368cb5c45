"""Shared helpers for the backend tests: the policies to compile and a clang probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from schedlang.backends.bpf import build

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.sched"))
STDLIB = sorted((ROOT / "stdlib").glob("*.sched"))
POLICIES = EXAMPLES + STDLIB


def policy_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.fixture
def clang() -> build.Clang:
    """The real clang, or a skip that says how to install it."""
    build.find_clang.cache_clear()
    try:
        return build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))

"""Build the hand-written C fixtures (tests/fixtures/c) for the runtime tests."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from schedlang.backends.artifact import Artifact

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "c"


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fixture_build", FIXTURES / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(name: str, outdir: Path) -> Artifact:
    """Compile fixture NAME into outdir; skips the test when clang-19 is missing."""
    if shutil.which("clang-19") is None:
        pytest.skip("clang-19 is not installed (apt-get install clang-19)")
    artifact: Artifact = _builder().build_fixture(name, outdir)
    return artifact

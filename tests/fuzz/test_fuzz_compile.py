"""Every accepted generated policy compiles with the real clang, and the C it generates passes
the verify-c gate with no error.

Seeded (not hypothesis): a compile costs ~0.3 s, too much for shrinking, and a seed is all it
takes to reproduce a failure: `python -m schedlang.fuzzgen SEED > p.sched` then
`schedlang compile p.sched`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import schedlang
from schedlang.fuzzgen import generate_text
from schedlang.source import SourceFile
from schedlang.verify_c import verify

SEEDS = range(30)


@pytest.fixture(scope="module")
def compile_source() -> Callable[..., Any]:
    if shutil.which("clang-19") is None and shutil.which("clang") is None:
        pytest.skip("clang is not installed (apt-get install clang-19)")
    return schedlang.compile


@pytest.mark.clang
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_policy_compiles_and_passes_the_gate(
    seed: int, tmp_path: Path, compile_source: Callable[..., Any]
) -> None:
    text = generate_text(seed)
    path = tmp_path / f"fuzz_{seed}.sched"
    path.write_text(text)
    try:
        artifact = compile_source(SourceFile(str(path), text), outdir=tmp_path)
    except Exception as exc:  # the failure is the finding: show it with the policy
        pytest.fail(f"seed {seed}: {type(exc).__name__}: {exc}\n--- policy:\n{text}")
    assert artifact.object_path.stat().st_size > 0
    assert artifact.c_path is not None
    errors = [f for f in verify(artifact.c_path) if f.severity == "error"]
    assert not errors, f"seed {seed}: the gate rejects the generated C: {errors}"

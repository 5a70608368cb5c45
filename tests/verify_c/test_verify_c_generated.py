"""The C backend's output passes the gate (the self-check the backend will run too).

Every example and stdlib policy's generated C must pass clean.
"""

from __future__ import annotations

import glob
import os

import pytest

import schedlang
from schedlang.verify_c import verify

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
POLICIES = sorted(
    glob.glob(os.path.join(ROOT, "examples", "*.sched"))
    + glob.glob(os.path.join(ROOT, "stdlib", "*.sched"))
)


@pytest.mark.clang
@pytest.mark.parametrize("policy", POLICIES, ids=os.path.basename)
def test_generated_c_passes_the_gate(policy: str, tmp_path) -> None:
    artifact = schedlang.compile(policy, outdir=tmp_path)
    if artifact.c_path is None:
        pytest.skip("the backend wrote no C file")
    findings = verify(str(artifact.c_path))
    assert findings == [], "\n".join(
        f"{f.file}:{f.line}:{f.col}: {f.code} {f.message}" for f in findings
    )

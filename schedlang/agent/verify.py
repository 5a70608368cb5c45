"""A candidate through the checker and the compiler: an artifact, or the reason there is none.

Loading is not done here but as the first step of each measured run in the sandbox (a
separate boot just to load would cost a boot per candidate); the measurement's report
carries a refusal by the kernel's verifier or an ejection as an event, which the loop
records as the candidate's result. Nothing a candidate does raises out of `verify`: a
policy that does not check or compile is a `Verified` with its diagnostics (as JSON, the
form a model's repair prompt takes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schedlang
from schedlang.diagnostics import render_json
from schedlang.errors import SchedlangError


@dataclass(frozen=True)
class Verified:
    name: str
    outcome: str  # one line: "compiled", or why not
    artifact: Any | None  # schedlang's Artifact when it compiled
    diagnostics: list[dict[str, Any]] = field(default_factory=list)


def verify(name: str, source: str, params: dict[str, int], outdir: Path) -> Verified:
    """Check `source`, then compile it with `params` into `outdir`."""
    result = schedlang.check_program(source, f"{name}.sched")
    if not result.ok:
        diags = json.loads(render_json(result.diagnostics))
        return Verified(name, f"rejected by the checker ({len(result.diagnostics)} diagnostics)",
                        None, diags)  # fmt: skip
    try:
        artifact = schedlang.compile(source, params=params, outdir=outdir)
    except SchedlangError as exc:
        diags = json.loads(render_json(exc.diagnostics))
        return Verified(name, f"did not compile: {str(exc).splitlines()[0]}", None, diags)
    except (OSError, ValueError) as exc:  # clang missing, a param out of range
        return Verified(name, f"did not compile: {exc}", None)
    return Verified(name, f"compiled ({artifact.object_path.name})", artifact)

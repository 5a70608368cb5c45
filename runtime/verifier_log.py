"""Where in the policy the verifier complained: a verifier log mapped back to C and DSL lines.

clang's `-g` line info (the object's `.BTF.ext`, instruction → file:line:col) makes the
verifier annotate instructions with their source line (`; *count += 1; @ NAME.bpf.c:43`). The
last such annotation before the rejection is the line the verifier was checking when it gave
up; newer kernels (7.x) also name the failing instruction's column in an "At:" block
(`NAME_dispatch @ NAME.bpf.c:43:9`). For a DSL policy the manifest's `line_map` rows
`[c_line, dsl_line, dsl_col]` then give the DSL position that C line was generated from (the
nearest row at or above it, since one DSL statement can become several C lines). For a
hand-written C policy (`"language": "c"`, no line_map) the C position is the policy position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SOURCE_LINE = re.compile(r"^;\s?(?P<text>.*?)\s+@\s+(?P<file>[\w.\-/]+):(?P<line>\d+)\s*$")
# "  nullmap_enqueue @ nullmap.bpf.c:52:9" (the kernel's "At:" block; 7.x)
AT_LINE = re.compile(r"^\s*\w+ @ (?P<file>[\w.\-/]+):(?P<line>\d+):(?P<col>\d+)\s*$")
INSN_LINE = re.compile(r"^\d+: \([0-9a-f]{2}\)")  # "7: (79) r1 = *(u64 *)(r0 +0)"
LOG_NOISE = (
    "libbpf:",
    "processed ",
    "--",
    "Suggestion",
    "verification time",
    "stack depth",
    "mark_precise",
)


@dataclass(frozen=True)
class VerifierPosition:
    c_file: str
    c_line: int
    c_text: str
    dsl_line: int | None  # None when the manifest has no line_map row at or above c_line
    dsl_col: int | None
    message: str  # the verifier's own complaint, e.g. "R0 invalid mem access 'map_value_or_null'"
    c_col: int | None = None  # when the kernel names the column (7.x "At:" block)


def dsl_position(line_map: list[list[int]], c_line: int) -> tuple[int, int] | None:
    """The DSL (line, col) a generated C line came from: nearest line_map row at or above it."""
    best: list[int] | None = None
    for row in line_map:
        if row[0] <= c_line and (best is None or row[0] > best[0]):
            best = row
    return (best[1], best[2]) if best is not None else None


def error_message(log: str) -> str:
    """The verifier's complaint: the last line after the last instruction that is not noise."""
    lines = [line.rstrip() for line in log.splitlines()]
    last_insn = max((i for i, line in enumerate(lines) if INSN_LINE.match(line)), default=-1)
    for line in lines[last_insn + 1 :]:
        stripped = line.strip()
        if stripped and not stripped.startswith(LOG_NOISE) and not SOURCE_LINE.match(stripped):
            return stripped
    return ""


def error_position(log: str, manifest: Mapping[str, Any]) -> VerifierPosition | None:
    """Position of the last source annotation in `log`, or None if the log has none."""
    matches = [m for m in map(SOURCE_LINE.match, log.splitlines()) if m]
    if not matches:
        return None
    last = matches[-1]
    c_file, c_line = last.group("file"), int(last.group("line"))
    at = [m for m in map(AT_LINE.match, log.splitlines()) if m]
    c_col = next(
        (int(m["col"]) for m in at if (m["file"], int(m["line"])) == (c_file, c_line)), None
    )
    mapped = dsl_position(manifest.get("line_map") or [], c_line)
    return VerifierPosition(
        c_file=c_file,
        c_line=c_line,
        c_text=last.group("text").strip(),
        dsl_line=mapped[0] if mapped else None,
        dsl_col=mapped[1] if mapped else None,
        message=error_message(log),
        c_col=c_col,
    )

"""Run the real C preprocessor over the file, keeping `# line "file"` markers.

Why the real one: BPF schedulers are full of macros, and only cpp expands them the way
clang will when it compiles the same file. The markers let every later finding point at the
ORIGINAL file:line. `clang-19 -E -target bpf` is preferred (same front end that builds the
object); GNU `cpp` is the fallback.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from schedlang.diagnostics import Diagnostic
from schedlang.verify_c import findings as F
from schedlang.verify_c.prelude import PRELUDE
from schedlang.verify_c.source import Source

STDIN_NAMES = ("<stdin>", "-")
PRELUDE_NAME = "<gate-prelude>"
_MARKER = re.compile(r'^#\s*(?:line\s+)?(\d+)\s+"((?:[^"\\]|\\.)*)"')
_CPP_DIAG = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)?\s*(?:fatal )?error:\s*(?P<msg>.*)$"
)


@dataclass(frozen=True)
class Preprocessed:
    """cpp output (marker lines kept) and, for each output line, the original (file, line)."""

    text: str
    origins: tuple[tuple[str, int] | None, ...]  # None for marker and pragma lines


def find_preprocessor() -> list[str] | None:
    """The command prefix of the preprocessor to use, or None when none is installed."""
    override = os.environ.get("SCHEDLANG_CLANG")
    for clang in ([override] if override else []) + ["clang-19", "clang"]:
        path = shutil.which(clang)
        if path:
            return [path, "-E", "-target", "bpf", "-x", "c", "-std=gnu11"]
    cpp = shutil.which("cpp")
    return [cpp, "-x", "c", "-std=gnu11", "-D__bpf__", "-D__BPF__"] if cpp else None


def run(source: Source, include_dirs: tuple[str, ...] = ()) -> Preprocessed | list[Diagnostic]:
    """Preprocess `source`; on failure return C101 findings located in the original file."""
    command = find_preprocessor()
    if command is None:
        return [F.found(F.NO_PREPROCESSOR, source.name, 1, 1)]
    with tempfile.TemporaryDirectory(prefix="schedlang-verify-c-") as tmp:
        prelude = os.path.join(tmp, "gate-prelude.h")
        with open(prelude, "w") as f:
            f.write(PRELUDE)
        args = [*command, "-w", "-include", prelude]
        for directory in ((source.directory,) if source.directory else ()) + include_dirs:
            args += ["-I", directory]
        try:
            proc = subprocess.run(
                [*args, "-"],
                input=source.text,
                capture_output=True,
                text=True,
                timeout=60,
                cwd=source.directory,  # `#include "x.h"` resolves beside the file, as in a build
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [
                F.found(
                    F.PREPROCESSOR_DID_NOT_RUN, source.name, 1, 1, command=command[0], error=exc
                )
            ]
        if proc.returncode != 0:
            return _errors(proc.stderr, source.name) or [
                F.finding(
                    "C101",
                    source.name,
                    1,
                    1,
                    proc.stderr.strip()[:300] or f"exit status {proc.returncode}",
                )
            ]
        return _with_origins(proc.stdout, source.name, prelude)


def _errors(stderr: str, name: str) -> list[Diagnostic]:
    out = []
    for line in stderr.splitlines():
        m = _CPP_DIAG.match(line)
        if m:
            file = name if m["file"] in STDIN_NAMES else m["file"]
            out.append(F.finding("C101", file, int(m["line"]), int(m["col"] or 1), m["msg"]))
    return out


def _with_origins(text: str, name: str, prelude_path: str) -> Preprocessed:
    """Rename the stdin/prelude markers and record each line's original position."""
    lines = text.split("\n")
    origins: list[tuple[str, int] | None] = []
    file, line = name, 1
    for i, raw in enumerate(lines):
        m = _MARKER.match(raw) if raw.lstrip().startswith("#") else None
        if m:
            marked = m[2]
            shown = (
                name
                if marked in STDIN_NAMES
                else PRELUDE_NAME
                if marked == prelude_path
                else marked
            )
            if shown != marked:
                lines[i] = (
                    raw[: m.start(2)]
                    + shown.replace("\\", "\\\\").replace('"', '\\"')
                    + raw[m.end(2) :]
                )
            file, line = shown, int(m[1])
            origins.append(None)
            continue
        origins.append(None if raw.lstrip().startswith("#") else (file, line))
        line += 1  # a pragma line still occupies a line of its file
    return Preprocessed("\n".join(lines), tuple(origins))

"""Find clang and compile one generated C file into a BPF object.

clang is the only external tool the backend needs. It is looked up as `$SCHEDLANG_CLANG`,
then `clang-19`, then `clang`; it must be version 16 or later (older ones lack the BPF
features sched_ext code relies on: BTF for struct_ops, `preserve_access_index` on kernel
structs, atomics). A missing or old clang is a `ClangError` that says which package installs
a good one. One invocation: `clang -target bpf -mcpu=v4 -O2 -g -c NAME.bpf.c`, run in the
output directory so that line info (and so the verifier log) says `NAME.bpf.c:LINE`.
clang's errors are mapped back to policy lines through the C→DSL line map.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MIN_CLANG_MAJOR = 16
CLANG_ENV = "SCHEDLANG_CLANG"
CANDIDATES = ("clang-19", "clang")
INSTALL_HINT = (
    "install a BPF-capable clang: apt-get install clang-19 (Debian/Ubuntu package clang-19)"
)
# -mcpu=v4 (kernel 6.6, so every kernel with sched_ext, 6.12 on): JMP32 and ALU32 as in v3, and
# `gotol`, a jump with a 32-bit offset. A v3 jump reaches only 32,767 instructions, so a long
# callback (a 1,000-link `else if` chain that does work in each link, well inside the checker's
# instruction budget) made clang fail with "Branch target out of insn range"; with v4 clang
# turns such a jump into `gotol`. (Signed `/` and `%` still go through helpers.py's sl_sdiv and
# sl_smod, written for v3, which had no signed division.)
# -fwrapv: signed `+ - *` wrap around, as docs/language.md promises and the checker's constant
# folding computes; without it an overflow is undefined and clang may assume it never happens.
CFLAGS = ("-target", "bpf", "-mcpu=v4", "-O2", "-fwrapv", "-g")
# Generated C only: -fno-builtin, so that clang does not know `index`, `abs` or `printf` as
# library functions and a policy's `array index` is just a global (cnames keeps the names
# schedlang itself uses away from policy names; the C library's are clang's doing).
GENERATED_CFLAGS = ("-fno-builtin",)

CLANG_DIAG = re.compile(
    r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): (?P<msg>.*)$"
)


class ClangError(RuntimeError):
    """clang is missing, too old, or rejected the generated C (message says what to do)."""


class GeneratedCRejected(ClangError):
    """clang rejected C that schedlang generated from a checked policy: a bug in schedlang
    (the checker accepted the policy, so the backend owes clang valid C), not a problem with
    the machine or the command line, so the CLI reports it as an internal error."""


@dataclass(frozen=True)
class Clang:
    path: str
    version: str  # e.g. "19.1.7"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


@dataclass(frozen=True)
class ClangDiagnostic:
    """One clang error or warning, with the policy position it maps to (if any)."""

    severity: str
    c_line: int
    c_col: int
    message: str
    dsl_line: int | None
    dsl_col: int | None


def _version_of(path: str) -> str | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"clang version (\d+\.\d+(?:\.\d+)?)", out.stdout)
    return found.group(1) if found else None


@cache
def find_clang() -> Clang:
    """The clang to use, or ClangError naming what was tried and how to get a good one."""
    override = os.environ.get(CLANG_ENV)
    candidates = [override] if override else list(CANDIDATES)
    tried: list[str] = []
    for name in candidates:
        path = shutil.which(name) if "/" not in name else (name if Path(name).exists() else None)
        if path is None:
            tried.append(f"{name}: not found")
            continue
        version = _version_of(path)
        if version is None:
            tried.append(f"{name}: not a working clang")
            continue
        clang = Clang(path, version)
        if clang.major < MIN_CLANG_MAJOR:
            tried.append(f"{name}: version {version} is older than {MIN_CLANG_MAJOR}")
            continue
        return clang
    source = f"${CLANG_ENV}={override}" if override else ", ".join(CANDIDATES)
    raise ClangError(f"no usable clang ({source}): {'; '.join(tried)}; {INSTALL_HINT}")


def nearest_dsl(line_map: tuple[tuple[int, int, int], ...], c_line: int) -> tuple[int, int] | None:
    """The policy position of C line `c_line`: its own row, else the closest row above it."""
    best: tuple[int, int] | None = None
    for row_c, dsl_line, dsl_col in line_map:
        if row_c > c_line:
            break
        best = (dsl_line, dsl_col)
    return best


def parse_diagnostics(
    stderr: str, c_name: str, line_map: tuple[tuple[int, int, int], ...]
) -> list[ClangDiagnostic]:
    out = []
    for text in stderr.splitlines():
        m = CLANG_DIAG.match(text)
        if not m or Path(m["file"]).name != c_name:
            continue
        c_line = int(m["line"])
        pos = nearest_dsl(line_map, c_line)
        out.append(
            ClangDiagnostic(m["sev"], c_line, int(m["col"]), m["msg"], *(pos or (None, None)))
        )
    return out


def run_clang(
    c_path: Path,
    object_path: Path,
    include_dirs: tuple[str, ...] = (),
    extra_flags: tuple[str, ...] = (),
) -> tuple[Clang, list[str], subprocess.CompletedProcess[str]]:
    """Run clang on `c_path` in its own directory (so line info says `NAME.bpf.c:LINE`).

    Returns the clang, the command and its result; ClangError only when there is no usable
    clang. Used for generated C (`compile_c`) and hand-written C (`cpolicy.py`) alike."""
    clang = find_clang()
    includes = [arg for d in include_dirs for arg in ("-I", str(Path(d).resolve()))]
    out = object_path.name if object_path.parent == c_path.parent else str(object_path.resolve())
    cmd = [clang.path, *CFLAGS, *extra_flags, *includes, "-c", c_path.name, "-o", out]
    return clang, cmd, subprocess.run(cmd, cwd=c_path.parent, capture_output=True, text=True)


def compile_c(c_path: Path, object_path: Path, line_map: tuple[tuple[int, int, int], ...]) -> Clang:
    """Compile `c_path` to `object_path` (same directory); ClangError on failure."""
    clang, cmd, proc = run_clang(c_path, object_path, extra_flags=GENERATED_CFLAGS)
    if proc.returncode != 0:
        diags = [
            d
            for d in parse_diagnostics(proc.stderr, c_path.name, line_map)
            if d.severity == "error"
        ]
        where = [
            f"{c_path.name}:{d.c_line}:{d.c_col}: {d.message}"
            + (f" (from policy line {d.dsl_line}, column {d.dsl_col})" if d.dsl_line else "")
            for d in diags
        ]
        detail = "\n".join(where) if where else proc.stderr.strip()
        raise GeneratedCRejected(
            f"clang rejected the generated C (a schedlang bug: please report it with the policy)\n"
            f"{' '.join(cmd)}\n{detail}"
        )
    return clang

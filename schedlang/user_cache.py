"""The user's own cache folder, and the test for a file in it that schedlang may trust.

Two caches hold code the next schedlang process runs: the parser's LALR tables (Lark
*unpickles* them) and the simulator's compiled machine (a shared library it loads). Whoever
can write either file runs code as the user, so both live in `$XDG_CACHE_HOME/schedlang`
(default `~/.cache/schedlang`; a relative XDG path is ignored, as the spec says), in folders
created mode 0700, and a file there is used only if `private` says so. One module for both,
so the rule cannot differ between them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path


def directory() -> Path:
    """`$XDG_CACHE_HOME/schedlang`, or `~/.cache/schedlang` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "schedlang"


def private(st: os.stat_result, is_kind: Callable[[int], bool] = stat.S_ISREG) -> bool:
    """A file of the expected kind (not a symlink: pass `os.lstat`'s result), owned by this
    user, writable by nobody else."""
    return is_kind(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def private_folder(path: Path) -> bool:
    """Create `path` (mode 0700) if it is missing; whether it is this user's alone."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return private(os.lstat(path), stat.S_ISDIR)
    except OSError:  # no home, a read-only file system, ...
        return False

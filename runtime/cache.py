"""Where the provisioned toolchain lives in the user's cache, readable from either side.

`provision.py` (host side) fills the cache; the guest-side libbpf binding only needs to know
where the provisioned libbpf would be, as a fallback when `$SCHEDLANG_LIBBPF` is not set (the
loader run by hand on a sched_ext host). Keeping the layout here lets the guest side find it
without importing the host side (docs/internals.md, "Layers").
"""

from __future__ import annotations

from pathlib import Path

from schedlang import user_cache

LIBBPF_DIR = "libbpf"  # the component's folder under the cache
LIBBPF_FILE = "usr/lib/x86_64-linux-gnu/libbpf.so.1.*"  # inside it, as unpacked from the .deb


def cache_dir() -> Path:
    return user_cache.directory()


def provisioned_libbpf() -> Path | None:
    """The newest libbpf `schedlang sandbox fetch` unpacked, if there is one."""
    hits = sorted((cache_dir() / LIBBPF_DIR).glob(LIBBPF_FILE))
    return hits[-1] if hits else None

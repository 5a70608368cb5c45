"""Which libbpf the loader opens: $SCHEDLANG_LIBBPF, else the provisioned one, else the system's.

The lookup is guest-side code, so it finds the provisioned library through the cache layout
(runtime/cache.py) rather than through the host-side provisioning module.
"""

from __future__ import annotations

import ctypes.util
from pathlib import Path

import pytest

from schedlang.runtime import libbpf, provision


def _fake_cache(root: Path, *versions: str) -> list[Path]:
    lib_dir = root / "schedlang" / "libbpf" / "usr/lib/x86_64-linux-gnu"
    lib_dir.mkdir(parents=True)
    made = []
    for v in versions:
        (lib_dir / f"libbpf.so.{v}").write_bytes(b"")
        made.append(lib_dir / f"libbpf.so.{v}")
    return made


def test_the_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_cache(tmp_path, "1.5.0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv(libbpf.LIBBPF_ENV, "/opt/libbpf.so.1")
    assert libbpf.find_library() == Path("/opt/libbpf.so.1")


def test_then_the_newest_provisioned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _old, new = _fake_cache(tmp_path, "1.4.7", "1.5.0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(libbpf.LIBBPF_ENV, raising=False)
    assert libbpf.find_library() == new


def test_then_the_system(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # empty cache
    monkeypatch.delenv(libbpf.LIBBPF_ENV, raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: f"lib{name}.so.0")
    assert libbpf.find_library() == Path("libbpf.so.0")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(libbpf.LibbpfError, match="schedlang sandbox fetch"):
        libbpf.find_library()


def test_the_provisioned_libbpf_is_where_provisioning_puts_it() -> None:
    toolchain = provision.cached_toolchain()
    if toolchain is None:
        pytest.skip("sandbox not provisioned: run `schedlang sandbox fetch`")
    from schedlang.runtime.cache import provisioned_libbpf

    assert provisioned_libbpf() == toolchain.libbpf

"""Fixtures shared across the test folders."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def vm_ready() -> None:
    """For tests that compile policies and load them in the sandbox VM: skips, with the
    reason, when clang or the sandbox (kernel, qemu, libbpf) cannot be had here."""
    from schedlang.backends.bpf import build
    from schedlang.runtime import provision

    try:
        build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))
    try:
        provision.ensure()
    except (provision.ProvisionError, OSError) as exc:
        pytest.skip(f"sandbox cannot be provisioned: {exc}")

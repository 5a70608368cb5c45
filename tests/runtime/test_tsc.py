"""The host TSC rate that TCG guests are given instead of calibrating their clock under load."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from schedlang.runtime import tsc


def _constant_tsc() -> bool:
    flags = next(
        (
            line
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        ),
        "",
    ).split()
    return platform.machine() == "x86_64" and {"constant_tsc", "nonstop_tsc"} <= set(flags)


@pytest.mark.skipif(not _constant_tsc(), reason="needs an x86-64 host with a constant-rate TSC")
def test_rate_is_measured_and_repeatable() -> None:
    first = tsc.host_tsc_khz()
    tsc.host_tsc_khz.cache_clear()
    second = tsc.host_tsc_khz()
    assert first is not None and second is not None
    assert 100_000 < first < 10_000_000  # 0.1 to 10 GHz
    assert abs(first - second) < first / 1000  # the kernel accepts a refinement within 1%

"""The host's TSC frequency, handed to a TCG guest so that it never calibrates its own clock.

Under TCG the guest's `rdtsc` reads the host's TSC, so both tick at the same rate. The guest
kernel still measures that rate at boot, against the emulated PIT, in a loop that assumes the
CPU is not taken away while it counts. On a busy host it is: 2 of 20 boots at load 4-13
logged `tsc: PIT calibration deviates from HPET: 463918 2593565` / `Using PIT calibration
value` and ran their clock 5.6x (and 3.9x) too fast, so a policy's 5 s sched_ext watchdog
fired after about a second and ejected it (`watchdog failed to check in for 5.05s`).
`tsc_early_khz=` on the kernel command line makes the kernel take the given rate as
authoritative (its later, long HPET refinement still corrects it within 1%).

The rate is measured here, on the host, from back-to-back pairs of `rdtsc` and
CLOCK_MONOTONIC_RAW readings: a pair whose two clock reads are far apart (we were descheduled)
is thrown away, so host load does not bias it.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import platform
import statistics
import time
from collections.abc import Callable

# rdtsc; shl rdx, 32; or rax, rdx; ret
_RDTSC_CODE = bytes.fromhex("0f31 48c1e220 4809d0 c3".replace(" ", ""))
_WINDOW_S = 0.05  # one measurement spans this much time
_MAX_PAIR_NS = 20_000  # a sample whose clock reads are further apart than this is discarded


def _rdtsc() -> tuple[Callable[[], int], mmap.mmap]:
    """A callable that returns the TSC (and the executable page that holds it)."""
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(_RDTSC_CODE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    return ctypes.CFUNCTYPE(ctypes.c_uint64)(address), page


def _sample(rdtsc: Callable[[], int]) -> tuple[int, int] | None:
    """(tsc, ns) read as close together as we can, or None if we were interrupted."""
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW)
    tsc = rdtsc()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW)
    if after - before > _MAX_PAIR_NS:
        return None
    return tsc, (before + after) // 2


def _steady_sample(rdtsc: Callable[[], int]) -> tuple[int, int]:
    for _ in range(1000):
        if (sample := _sample(rdtsc)) is not None:
            return sample
    raise OSError("could not read the TSC and the clock without being interrupted")


@functools.cache
def host_tsc_khz() -> int | None:
    """The host TSC's rate in kHz (median of 3 measurements), or None where it cannot be
    trusted: not x86-64, or a TSC that does not tick at a constant rate."""
    if platform.machine() != "x86_64":
        return None
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith("flags")), "").split()
    except OSError:
        return None
    if "constant_tsc" not in flags or "nonstop_tsc" not in flags:
        return None
    try:
        rdtsc, page = _rdtsc()
    except (OSError, ValueError):  # a host that forbids executable mappings
        return None
    try:
        rates = []
        for _ in range(3):
            tsc0, ns0 = _steady_sample(rdtsc)
            time.sleep(_WINDOW_S)
            tsc1, ns1 = _steady_sample(rdtsc)
            rates.append((tsc1 - tsc0) * 1_000_000 / (ns1 - ns0))
    except OSError:
        return None
    finally:
        page.close()
    return round(statistics.median(rates))

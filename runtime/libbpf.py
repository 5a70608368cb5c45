"""ctypes bindings to the few libbpf functions the loader uses (libbpf >= 1.2).

Why ctypes over a C extension or a binding package: nothing to build, and the guest runs the
host's python against the provisioned libbpf, whose path the sandbox passes in
`SCHEDLANG_LIBBPF`. Older libbpf (bookworm's 1.1) cannot load sched_ext at all: it skips
`.struct_ops.link` and does not know sleepable `struct_ops.s/` programs, so it is refused up
front with a message saying which library to use instead.

libbpf reports failures by returning NULL or a negative errno (libbpf 1.0 semantics), and its
diagnostics, including the verifier log, through a print callback, which `capture_log()`
collects.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from schedlang.runtime.cache import provisioned_libbpf

LIBBPF_ENV = "SCHEDLANG_LIBBPF"
MIN_VERSION = (1, 2)
LIBBPF_INFO = 1  # enum libbpf_print_level: WARN 0, INFO 1, DEBUG 2
PRINT_BUFFER = 1 << 22  # one libbpf message can hold a whole verifier log

c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
c_int = ctypes.c_int
c_size_t = ctypes.c_size_t
PRINT_FN = ctypes.CFUNCTYPE(c_int, c_int, c_char_p, c_void_p)  # (level, fmt, va_list)


class LibbpfError(RuntimeError):
    """libbpf is missing, too old, or failed a call; `errno` is set for failed calls."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno


# name -> (restype, argtypes): declared once so every call is type-checked by ctypes.
_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "libbpf_major_version": (ctypes.c_uint32, []),
    "libbpf_minor_version": (ctypes.c_uint32, []),
    "libbpf_set_print": (c_void_p, [PRINT_FN]),
    "libbpf_strerror": (c_int, [c_int, c_char_p, c_size_t]),
    "bpf_object__open_file": (c_void_p, [c_char_p, c_void_p]),
    "bpf_object__load": (c_int, [c_void_p]),
    "bpf_object__close": (None, [c_void_p]),
    "bpf_object__find_map_by_name": (c_void_p, [c_void_p, c_char_p]),
    "bpf_map__initial_value": (c_void_p, [c_void_p, ctypes.POINTER(c_size_t)]),
    "bpf_map__set_initial_value": (c_int, [c_void_p, c_void_p, c_size_t]),
    "bpf_map__value_size": (ctypes.c_uint32, [c_void_p]),
    "bpf_map__lookup_elem": (c_int, [c_void_p, c_void_p, c_size_t, c_void_p, c_size_t, ctypes.c_uint64]),
    "bpf_map__attach_struct_ops": (c_void_p, [c_void_p]),
    "bpf_link__destroy": (c_int, [c_void_p]),
}  # fmt: skip


def find_library() -> Path:
    """$SCHEDLANG_LIBBPF, else the provisioned libbpf, else whatever the system has."""
    configured = os.environ.get(LIBBPF_ENV)
    if configured:
        return Path(configured)
    provisioned = provisioned_libbpf()
    if provisioned is not None:
        return provisioned
    import ctypes.util  # the last resort only: the guest always has $SCHEDLANG_LIBBPF

    system = ctypes.util.find_library("bpf")
    if system is None:
        raise LibbpfError(f"libbpf not found: run `schedlang sandbox fetch` or set {LIBBPF_ENV}")
    return Path(system)


class Libbpf:
    """One loaded libbpf, version-checked, with typed functions as attributes."""

    def __init__(self, path: Path) -> None:
        try:
            self.cdll = ctypes.CDLL(str(path), use_errno=True)
        except OSError as exc:
            raise LibbpfError(f"cannot load libbpf from {path}: {exc}") from exc
        self.path = path
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                fn = getattr(self.cdll, name)
            except AttributeError as exc:
                raise LibbpfError(
                    f"{path} lacks {name}: libbpf >= {MIN_VERSION[0]}.{MIN_VERSION[1]} is needed "
                    f"(run `schedlang sandbox fetch` and set {LIBBPF_ENV})"
                ) from exc
            fn.restype = restype
            fn.argtypes = argtypes
        self.version = (
            int(self.cdll.libbpf_major_version()),
            int(self.cdll.libbpf_minor_version()),
        )
        if self.version < MIN_VERSION:
            raise LibbpfError(
                f"{path} is libbpf {self.version[0]}.{self.version[1]}, which cannot load "
                f"sched_ext policies (needs >= {MIN_VERSION[0]}.{MIN_VERSION[1]} for "
                f"`.struct_ops.link` and sleepable struct_ops). Use the provisioned one: "
                f"`schedlang sandbox fetch`, then {LIBBPF_ENV}=<cache>/libbpf/usr/lib/x86_64-linux-gnu/libbpf.so.1"
            )
        self._libc = ctypes.CDLL(None)
        self._libc.vsnprintf.restype = c_int
        self._libc.vsnprintf.argtypes = [c_char_p, c_size_t, c_char_p, c_void_p]
        self._buffer = ctypes.create_string_buffer(PRINT_BUFFER)
        self._lines: list[str] | None = None
        self._lock = threading.Lock()
        # Keep a reference: libbpf holds only the C pointer.
        self._printer = PRINT_FN(self._print)
        self.cdll.libbpf_set_print(self._printer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cdll, name)

    def _print(self, level: int, fmt: bytes | None, args: int | None) -> int:
        if fmt is None or level > LIBBPF_INFO:  # debug chatter would bury the verifier log
            return 0
        # On x86-64 a va_list reaches a callback as a pointer, which vsnprintf accepts as is.
        n = self._libc.vsnprintf(self._buffer, PRINT_BUFFER, fmt, args)
        if self._lines is not None and n > 0:
            self._lines.append(self._buffer.value.decode(errors="replace"))
        return 0

    @contextmanager
    def capture_log(self) -> Iterator[list[str]]:
        """Collect libbpf's messages (verifier log included) printed inside the block."""
        with self._lock:
            self._lines = []
            try:
                yield self._lines
            finally:
                self._lines = None

    def strerror(self, err: int) -> str:
        buf = ctypes.create_string_buffer(256)
        self.cdll.libbpf_strerror(err, buf, len(buf))
        return buf.value.decode(errors="replace") or os.strerror(abs(err))


_instance: Libbpf | None = None


def get() -> Libbpf:
    """The process-wide libbpf (loaded on first use)."""
    global _instance
    if _instance is None:
        _instance = Libbpf(find_library())
    return _instance

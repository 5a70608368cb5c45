"""The sched_ext BPF backend: checked IR → self-contained C → clang → object + manifest.

Entry points: `compile_checked` (after the checker) and `compile_source` (runs the checker).
"""

from schedlang.backends.bpf.compile import compile_checked, compile_source

__all__ = ["compile_checked", "compile_source"]

"""The sched_ext BPF backend: checked IR → self-contained C → clang → object + manifest.

Entry point: `compile_checked` (pipeline.py), which starts from the checker's output; the
route from a policy file to an Artifact (checker or C gate first) is schedlang/compiler.py.
"""

from schedlang.backends.bpf.pipeline import compile_checked

__all__ = ["compile_checked"]

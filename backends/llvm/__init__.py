"""The native backend for the simulator: checked IR → LLVM IR (llvmlite) → MCJIT code.

`compile_for_sim(checked, params)` gives a `sim_abi.SimPolicy`, as the interpreter does:
one native function per `on ...` callback and per `fn`, computing what the BPF backend's C
computes (guards and stats included) on memory the Python side owns (memory.py).
"""

from schedlang.backends.llvm.policy import JitPolicy, compile_for_sim

__all__ = ["JitPolicy", "compile_for_sim"]

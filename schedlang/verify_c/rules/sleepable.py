"""C009: a sleepable-only kfunc is called only from sleepable programs.

Why: `scx_bpf_create_dsq` is KF_SLEEPABLE; called from a `SEC("struct_ops/...")` program
(directly or through helper functions) the kernel refuses the load with "program must be
sleepable to call sleepable kfunc". The callback that may sleep (`ops.init`, `init_task`,
`exit_task`, cgroup init) goes in `SEC("struct_ops.s/...")`. Which kfuncs are sleepable-only is
the `sleepable_only` flag of the kfunc table.
"""

from __future__ import annotations

from pycparser import c_ast

from schedlang import kernel_api
from schedlang.diagnostics import Diagnostic
from schedlang.verify_c import findings as F
from schedlang.verify_c.astutil import callee_name, walk
from schedlang.verify_c.program import Program


def run(prog: Program) -> list[Diagnostic]:
    findings: list[Diagnostic] = []
    reported: set[int] = set()
    for name, func in prog.functions.items():
        if not any(s.startswith("struct_ops/") for s in prog.section_of(func)):
            continue
        for via, call in _reachable_calls(prog, name):
            callee = callee_name(call) or ""
            k = kernel_api.resolve_kfunc(callee)
            if k is None or not k.sleepable_only or id(call) in reported:
                continue
            reported.add(id(call))
            path = f" through `{via}`" if via != name else ""
            findings.append(
                prog.at(
                    call, F.SLEEPABLE_FROM_NON_SLEEPABLE, callee=callee, program=name, path=path
                )
            )
    return findings


def _reachable_calls(prog: Program, start: str) -> list[tuple[str, c_ast.FuncCall]]:
    """(function containing the call, call) for every call reachable from `start`."""
    seen = {start}
    queue = [start]
    out = []
    while queue:
        current = queue.pop(0)
        for node in walk(prog.functions[current].body):
            if not isinstance(node, c_ast.FuncCall):
                continue
            out.append((current, node))
            callee = callee_name(node)
            if callee is not None and callee in prog.functions and callee not in seen:
                seen.add(callee)
                queue.append(callee)
    return out

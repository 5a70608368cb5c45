"""C003: call only what exists. C104: indirect calls are reported as not analysed.

A call is accepted when its callee is a function defined (with a body) in the file, a
sched_ext/BPF kfunc, an allowed BPF helper or a compiler builtin, all looked up in the one
table `schedlang/kernel_api.py` (flavour suffixes such as `___compat` resolve as libbpf
resolves them). A declaration alone is not enough: `extern void foo(void) __ksym;` does not
make `foo` a kernel function.
"""

from __future__ import annotations

import difflib

from pycparser import c_ast

from schedlang import kernel_api
from schedlang.diagnostics import Diagnostic
from schedlang.verify_c.astutil import callee_name, declarations, walk
from schedlang.verify_c.findings import CODES
from schedlang.verify_c.program import Program

# Names pycparser leaves as calls but that are not calls: `offsetof(type, member)`.
_PSEUDO_CALLS = frozenset({"offsetof"})
_KNOWN = sorted(
    {k.name for k in kernel_api.KFUNCS}
    | {h.name for h in kernel_api.HELPERS}
    | {b.name for b in kernel_api.BUILTINS}
)


def run(prog: Program) -> list[Diagnostic]:
    global_vars = {
        ext.name
        for ext in prog.ast.ext
        if isinstance(ext, c_ast.Decl) and ext.name and not isinstance(ext.type, c_ast.FuncDecl)
    }
    findings = []
    for func in prog.functions.values():
        local_vars = {d.name for d in declarations(func) if d.name}
        for node in walk(func.body):
            if not isinstance(node, c_ast.FuncCall):
                continue
            name = callee_name(node)
            if name is None:
                findings.append(
                    prog.at(node, "C104", "the callee is an expression, not a function name")
                )
            elif name in local_vars and kernel_api.helper(name) is None:
                findings.append(prog.at(node, "C104", f"`{name}` is a local variable or parameter"))
            elif not _known(name, prog):
                findings.append(_unknown(prog, node, name, name in global_vars))
    return findings


def _known(name: str, prog: Program) -> bool:
    return name in prog.functions or name in _PSEUDO_CALLS or kernel_api.kind_of(name) is not None


def _unknown(prog: Program, node: c_ast.FuncCall, name: str, is_pointer_var: bool) -> Diagnostic:
    if is_pointer_var:
        detail = f"`{name}` is a function pointer that is not an allowed BPF helper"
    else:
        detail = (
            f"`{name}` is not defined in this file, not a known kfunc and not an allowed BPF helper"
        )
    close = difflib.get_close_matches(name, _KNOWN + list(prog.functions), n=1, cutoff=0.75)
    hint = f"did you mean `{close[0]}`? " if close else ""
    if name.isupper():
        hint += f"`{name}` looks like a macro the gate could not see: define it in the file. "
    return prog.at(node, "C003", detail, hint + CODES["C003"].fix)

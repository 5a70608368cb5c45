"""C003: call only what exists. C104: indirect calls are reported as not analysed.

A call is accepted when its callee is a function defined (with a body) in the file, a
sched_ext/BPF kfunc, an allowed BPF helper or a compiler builtin, all looked up in the one
table `schedlang/kernel_api.py` (flavour suffixes such as `___compat` resolve as libbpf
resolves them). A declaration alone is not enough: `extern void foo(void) __ksym;` does not
make `foo` a kernel function.
"""

from __future__ import annotations

from pycparser import c_ast

from schedlang import kernel_api
from schedlang.codes import did_you_mean
from schedlang.diagnostics import Diagnostic
from schedlang.verify_c import findings as F
from schedlang.verify_c.astutil import callee_name, declarations, walk
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
                findings.append(prog.at(node, F.CALLEE_IS_AN_EXPRESSION))
            elif name in local_vars and kernel_api.helper(name) is None:
                findings.append(prog.at(node, F.CALLEE_IS_A_VARIABLE, name=name))
            elif not _known(name, prog):
                findings.append(_unknown(prog, node, name, name in global_vars))
    return findings


def _known(name: str, prog: Program) -> bool:
    return name in prog.functions or name in _PSEUDO_CALLS or kernel_api.kind_of(name) is not None


def _unknown(prog: Program, node: c_ast.FuncCall, name: str, is_pointer_var: bool) -> Diagnostic:
    detail = F.UNKNOWN_FUNCTION_POINTER if is_pointer_var else F.UNKNOWN_FUNCTION
    suggest = list(did_you_mean(name, _KNOWN + list(prog.functions), cutoff=0.75))
    if name.isupper():
        suggest.append(F.LOOKS_LIKE_A_MACRO.format(name=name))
    return prog.at(node, detail, suggest=suggest, name=name)

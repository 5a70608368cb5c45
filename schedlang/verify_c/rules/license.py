"""C006: the object carries a GPL-compatible license.

Why: sched_ext kfuncs are GPL-only; without a compatible license string in SEC("license")
the verifier refuses the first kfunc call with a message that does not mention licenses.
The accepted strings are the kernel's own list (license_is_gpl_compatible()).
"""

from __future__ import annotations

from pycparser import c_ast

from schedlang.diagnostics import Diagnostic
from schedlang.verify_c.findings import finding
from schedlang.verify_c.program import Program

GPL_COMPATIBLE = frozenset(
    {
        "GPL",
        "GPL v2",
        "GPL and additional rights",
        "Dual BSD/GPL",
        "Dual MIT/GPL",
        "Dual MPL/GPL",
    }
)


def run(prog: Program) -> list[Diagnostic]:
    licensed = [
        ext
        for ext in prog.ast.ext
        if isinstance(ext, c_ast.Decl) and "license" in prog.section_of(ext)
    ]
    if not licensed:
        return [finding("C006", prog.name, 1, 1, 'no variable in SEC("license")')]
    decl = licensed[0]
    init = decl.init
    if not (isinstance(init, c_ast.Constant) and init.type == "string"):
        return [prog.at(decl, "C006", f"`{decl.name}` is not initialised with a string literal")]
    value = init.value[1:-1]
    if value not in GPL_COMPATIBLE:
        return [prog.at(init, "C006", f'"{value}" is not GPL-compatible for the kernel')]
    return []

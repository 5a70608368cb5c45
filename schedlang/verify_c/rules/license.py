"""C006: the object carries a GPL-compatible license.

Why: sched_ext kfuncs are GPL-only; without a compatible license string in SEC("license")
the verifier refuses the first kfunc call with a message that does not mention licenses.
The accepted strings are the kernel's own list (license_is_gpl_compatible()).
"""

from __future__ import annotations

from pycparser import c_ast

from schedlang.diagnostics import Diagnostic
from schedlang.verify_c import findings as F
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
        return [F.found(F.NO_LICENSE, prog.name, 1, 1)]
    decl = licensed[0]
    init = decl.init
    if not (isinstance(init, c_ast.Constant) and init.type == "string"):
        return [prog.at(decl, F.LICENSE_NOT_A_STRING, name=decl.name)]
    value = init.value[1:-1]
    if value not in GPL_COMPATIBLE:
        return [prog.at(init, F.LICENSE_NOT_GPL, value=value)]
    return []

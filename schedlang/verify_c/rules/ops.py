"""C004/C005/C008: the file defines a usable `struct sched_ext_ops` table.

Why these checks: without an ops table in a `.struct_ops[.link]` section libbpf registers
nothing; the kernel rejects a missing or malformed `.name` (bpf_obj_name_cpy: non-empty,
under 128 bytes, only letters, digits, `_` and `.`); and a callback that is not a
`SEC("struct_ops/...")` function of this file makes libbpf fail at open time.
"""

from __future__ import annotations

import re

from pycparser import c_ast

from schedlang.diagnostics import Diagnostic
from schedlang.verify_c import findings as F
from schedlang.verify_c.astutil import enum_constants, struct_name
from schedlang.verify_c.program import Program

OPS_STRUCTS = frozenset({"sched_ext_ops"})
OPS_SECTIONS = (".struct_ops", ".struct_ops.link")
_NAME = re.compile(r"^[A-Za-z0-9_.]{1,127}$")


def run(prog: Program) -> list[Diagnostic]:
    tables = [
        ext
        for ext in prog.ast.ext
        if isinstance(ext, c_ast.Decl) and struct_name(ext.type) in OPS_STRUCTS
    ]
    defined = [t for t in tables if isinstance(t.init, c_ast.InitList)]
    if not defined:
        if tables:
            return [prog.at(tables[0], F.OPS_WITHOUT_INITIALIZER, name=tables[0].name)]
        return [F.found(F.NO_OPS_TABLE, prog.name, 1, 1)]
    findings = []
    for table in defined:
        if not any(s in OPS_SECTIONS for s in prog.section_of(table)):
            findings.append(prog.at(table, F.OPS_NOT_IN_SECTION, name=table.name))
        findings += _name_findings(prog, table)
        findings += _callback_findings(prog, table)
    return findings


def _members(table: c_ast.Decl) -> list[tuple[str, c_ast.Node]]:
    out = []
    for init in table.init.exprs:
        if (
            isinstance(init, c_ast.NamedInitializer)
            and len(init.name) == 1
            and isinstance(init.name[0], c_ast.ID)
        ):
            out.append((init.name[0].name, init.expr))
    return out


def _name_findings(prog: Program, table: c_ast.Decl) -> list[Diagnostic]:
    names = [expr for member, expr in _members(table) if member == "name"]
    if not names:
        return [prog.at(table, F.OPS_WITHOUT_NAME, name=table.name)]
    expr = names[0]
    if not (isinstance(expr, c_ast.Constant) and expr.type == "string"):
        return [prog.at(expr, F.NAME_NOT_A_STRING)]
    value = expr.value[1:-1]
    if not _NAME.match(value):
        return [prog.at(expr, F.BAD_OPS_NAME, value=value)]
    return []


def _callback_findings(prog: Program, table: c_ast.Decl) -> list[Diagnostic]:
    scalars = enum_constants(prog.ast) | {
        e.name
        for e in prog.ast.ext
        if isinstance(e, c_ast.Decl) and e.name and not isinstance(e.type, c_ast.FuncDecl)
    }
    findings = []
    for member, expr in _members(table):
        target = expr
        while isinstance(target, c_ast.Cast):
            target = target.expr
        if not isinstance(target, c_ast.ID):
            continue
        name = target.name
        func = prog.functions.get(name)
        if func is None:
            if name in scalars:
                continue  # a constant or variable used as a scalar member value
            findings.append(prog.at(expr, F.CALLBACK_WITHOUT_BODY, member=member, name=name))
            continue
        if not any(s.startswith(("struct_ops/", "struct_ops.s/")) for s in prog.section_of(func)):
            findings.append(prog.at(expr, F.CALLBACK_NOT_IN_SECTION, member=member, name=name))
    return findings

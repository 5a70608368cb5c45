"""C007: writes through task pointers only touch fields the kernel lets BPF write.

Why: sched_ext's struct-access hook (bpf_scx_btf_struct_access) allows stores only to
`p->scx.slice`, `p->scx.dsq_vtime` and `p->scx.disallow`; anything else fails at load with
-EACCES. The allow-list is `WRITABLE_TASK_FIELDS` in schedlang/kernel_api.py.

What counts as a write: `=`, compound assignment, `++`/`--`, and the destination of
memset/memcpy-style builtins and bpf_probe_read_kernel*. Roots recognised: a variable or
parameter declared `struct task_struct *` (then the member path starts after `->`), one
declared `struct sched_ext_entity *` (path prefixed with `scx`), and a cast to
`struct task_struct *`. A local pointer that is ever set to the address of a task field
(`u64 *v = &p->scx.weight;`) is an alias of that field: `*v = 1` and `v[0] = 1` are writes to
it (flow-insensitive: the gate does not follow which assignment reaches the write).
"""

from __future__ import annotations

from pycparser import c_ast

from schedlang.diagnostics import Diagnostic
from schedlang.kernel_api import WRITABLE_TASK_FIELDS
from schedlang.verify_c import findings as F
from schedlang.verify_c.astutil import callee_name, declarations, struct_pointer_name, walk
from schedlang.verify_c.program import Program

_ROOT_PREFIX = {"task_struct": (), "sched_ext_entity": ("scx",)}
_DEST_FIRST = frozenset(
    {
        "__builtin_memset",
        "__builtin_memcpy",
        "__builtin_memmove",
        "bpf_probe_read_kernel",
        "bpf_probe_read_kernel_str",
    }
)


def run(prog: Program) -> list[Diagnostic]:
    global_roots = {
        ext.name: struct_pointer_name(ext.type)
        for ext in prog.ast.ext
        if isinstance(ext, c_ast.Decl)
        and ext.name
        and struct_pointer_name(ext.type) in _ROOT_PREFIX
    }
    findings = []
    for func in prog.functions.values():
        roots: dict[str, str | None] = dict(global_roots)
        for decl in declarations(func):
            if decl.name:
                roots[decl.name] = struct_pointer_name(decl.type)
        aliases = _aliases(func, roots)
        for node, target in _writes(func.body):
            path = _task_path(target, roots, aliases)
            if path is not None and not _allowed(path):
                shown = ".".join(path) or "*p"
                findings.append(prog.at(node, F.TASK_FIELD_WRITE, field=shown))
    return findings


def _writes(body: c_ast.Node) -> list[tuple[c_ast.Node, c_ast.Node]]:
    """(statement node, written lvalue) for every write in `body`."""
    out: list[tuple[c_ast.Node, c_ast.Node]] = []
    for node in walk(body):
        if isinstance(node, c_ast.Assignment):
            out.append((node, node.lvalue))
        elif isinstance(node, c_ast.UnaryOp) and node.op in ("p++", "++", "p--", "--"):
            out.append((node, node.expr))
        elif isinstance(node, c_ast.FuncCall) and callee_name(node) in _DEST_FIRST and node.args:
            dest = node.args.exprs[0]
            while isinstance(dest, c_ast.Cast):
                dest = dest.expr
            if isinstance(dest, c_ast.UnaryOp) and dest.op == "&":
                out.append((node, dest.expr))
    return out


def _aliases(func: c_ast.FuncDef, roots: dict[str, str | None]) -> dict[str, tuple[str, ...]]:
    """Local pointers set to `&<task field>` anywhere in the function, with that field's path."""
    found: dict[str, tuple[str, ...]] = {}
    for node in walk(func.body):
        if isinstance(node, c_ast.Decl) and node.name and node.init is not None:
            name, value = node.name, node.init
        elif (
            isinstance(node, c_ast.Assignment)
            and node.op == "="
            and isinstance(node.lvalue, c_ast.ID)
        ):
            name, value = node.lvalue.name, node.rvalue
        else:
            continue
        while isinstance(value, c_ast.Cast):
            value = value.expr
        if isinstance(value, c_ast.UnaryOp) and value.op == "&":
            path = _task_path(value.expr, roots, {})
            if path is not None:
                found[name] = path
    return found


def _task_path(
    lvalue: c_ast.Node, roots: dict[str, str | None], aliases: dict[str, tuple[str, ...]]
) -> tuple[str, ...] | None:
    """The member path written below a task pointer, or None when the root is no task."""
    fields: list[str] = []
    node = lvalue
    while True:
        if isinstance(node, c_ast.ArrayRef):
            if isinstance(node.name, c_ast.ID) and node.name.name in aliases:
                return aliases[node.name.name] + tuple(reversed(fields))
            node = node.name
        elif isinstance(node, c_ast.StructRef):
            fields.append(node.field.name)
            if node.type == "->":
                if isinstance(node.name, c_ast.ID) and node.name.name in aliases:
                    return aliases[node.name.name] + tuple(reversed(fields))
                root = _root_struct(node.name, roots)
                return None if root is None else _ROOT_PREFIX[root] + tuple(reversed(fields))
            node = node.name
        elif isinstance(node, c_ast.UnaryOp) and node.op == "*":
            if isinstance(node.expr, c_ast.ID) and node.expr.name in aliases:
                return aliases[node.expr.name] + tuple(reversed(fields))
            root = _root_struct(node.expr, roots)
            return None if root is None else _ROOT_PREFIX[root] + tuple(reversed(fields))
        else:
            return None


def _root_struct(expr: c_ast.Node, roots: dict[str, str | None]) -> str | None:
    if isinstance(expr, c_ast.ID):
        name = roots.get(expr.name)
        return name if name in _ROOT_PREFIX else None
    if isinstance(expr, c_ast.Cast):
        name = struct_pointer_name(expr.to_type.type)
        return name if name in _ROOT_PREFIX else None
    return None


def _allowed(path: tuple[str, ...]) -> bool:
    return any(path[: len(allowed)] == allowed for allowed in WRITABLE_TASK_FIELDS)

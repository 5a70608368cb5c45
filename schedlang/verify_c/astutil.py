"""Small questions about pycparser nodes that several rules ask.

Why shared: "is this a compile-time constant", "who is called here", "which variables point
at a task" must have one answer, or two rules would disagree about the same line.
"""

from __future__ import annotations

from collections.abc import Iterator

from pycparser import c_ast

LOOPS = (c_ast.For, c_ast.While, c_ast.DoWhile)


def walk(node: c_ast.Node) -> Iterator[c_ast.Node]:
    """`node` and all its descendants, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed([child for _, child in current.children()]))


def callee_name(call: c_ast.FuncCall) -> str | None:
    """The called name for a direct call `name(...)`, None for any other callee expression."""
    return call.name.name if isinstance(call.name, c_ast.ID) else None


def enum_constants(ast: c_ast.FileAST) -> frozenset[str]:
    return frozenset(n.name for n in walk(ast) if isinstance(n, c_ast.Enumerator))


def const_globals(ast: c_ast.FileAST, enums: frozenset[str]) -> frozenset[str]:
    """Globals declared `const` (not `volatile`: those are load-time tunables) with a constant value."""
    names = set()
    for ext in ast.ext:
        if (
            isinstance(ext, c_ast.Decl)
            and isinstance(ext.type, c_ast.TypeDecl)
            and "const" in ext.quals
            and "volatile" not in ext.quals
            and ext.init is not None
            and is_constant(ext.init, enums)
        ):
            names.add(ext.name)
    return frozenset(names)


def is_constant(expr: c_ast.Node | None, constants: frozenset[str]) -> bool:
    """True for integer constant expressions: literals, enum constants, sizeof, arithmetic on them."""
    if isinstance(expr, c_ast.Constant):
        return expr.type not in ("string",)
    if isinstance(expr, c_ast.ID):
        return expr.name in constants
    if isinstance(expr, c_ast.UnaryOp):
        if expr.op == "sizeof":
            return True
        return expr.op in ("-", "+", "~", "!") and is_constant(expr.expr, constants)
    if isinstance(expr, c_ast.BinaryOp):
        return is_constant(expr.left, constants) and is_constant(expr.right, constants)
    if isinstance(expr, c_ast.Cast):
        return is_constant(expr.expr, constants)
    if isinstance(expr, c_ast.TernaryOp):
        return all(is_constant(e, constants) for e in (expr.cond, expr.iftrue, expr.iffalse))
    if isinstance(expr, c_ast.FuncCall):  # offsetof(type, member) parses as a call
        return callee_name(expr) == "offsetof"
    return False


def constant_value(expr: c_ast.Node | None) -> int | None:
    """The value of a plain integer literal (for `while (0)` / `while (1)`), else None."""
    if isinstance(expr, c_ast.Constant) and expr.type in (
        "int",
        "unsigned int",
        "long int",
        "char",
    ):
        text = expr.value.rstrip("uUlL")
        try:
            return int(text, 0)
        except ValueError:
            return None
    return None


def struct_pointer_name(decl_type: c_ast.Node) -> str | None:
    """`struct NAME` for a declarator of type `struct NAME *`, else None."""
    if isinstance(decl_type, c_ast.PtrDecl) and isinstance(decl_type.type, c_ast.TypeDecl):
        inner = decl_type.type.type
        if isinstance(inner, c_ast.Struct):
            return inner.name
    return None


def struct_name(decl_type: c_ast.Node) -> str | None:
    """`NAME` for a declarator of type `struct NAME` (not a pointer), else None."""
    if isinstance(decl_type, c_ast.TypeDecl) and isinstance(decl_type.type, c_ast.Struct):
        return decl_type.type.name
    return None


def declarations(func: c_ast.FuncDef) -> Iterator[c_ast.Decl]:
    """Parameters and local declarations of a function."""
    params = func.decl.type.args.params if func.decl.type.args else []
    for param in params:
        if isinstance(param, c_ast.Decl):
            yield param
    for node in walk(func.body):
        if isinstance(node, c_ast.Decl):
            yield node

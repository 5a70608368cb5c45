"""C001: every loop has a compile-time constant bound. C105: backward gotos are not analysed.

Why so strict: the kernel verifier does accept some runtime-bounded loops, but it may take
millions of steps to prove them, and a code-generating agent learns nothing from a verifier
timeout. A constant bound is easy to write and easy to check.

Accepted forms (a "bounding conjunct" is `v < K`, `v <= K`, `K > v`, `K >= v` or the
mirror for a decreasing `v`, K constant; other conjuncts may be anything):
  for (...; ... && v < K && ...; v++ / v += k / v = v + k)   and v never assigned in the body
  while (v < K) { ...; v++; ... }   one unconditional top-level step, no `continue`
  do { ...; v++; } while (v < K);   same
  while (0) / do { } while (0)      (not a loop)
  open-coded iterator loops (`bpf_for`, `bpf_repeat`, `bpf_for_each`): the kernel bounds
  them; for `bpf_iter_num_new(&it, A, B)` A and B must be constant.
"""

from __future__ import annotations

from pycparser import c_ast

from schedlang.codes import Phrase
from schedlang.diagnostics import Diagnostic
from schedlang.verify_c import findings as F
from schedlang.verify_c.astutil import (
    LOOPS,
    callee_name,
    const_globals,
    constant_value,
    enum_constants,
    is_constant,
    walk,
)
from schedlang.verify_c.program import Program

_INCREASING = {"<": True, "<=": True, ">": False, ">=": False}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def run(prog: Program) -> list[Diagnostic]:
    constants = enum_constants(prog.ast)
    constants = constants | const_globals(prog.ast, constants)
    findings: list[Diagnostic] = []
    for func in prog.functions.values():
        for node in walk(func.body):
            if isinstance(node, LOOPS):
                problem = _problem(node, constants)
                if problem:
                    findings.append(prog.at(node, problem[0], **problem[1]))
        findings += _backward_gotos(prog, func)
    return findings


# Why a loop is not constant-bounded: a wording of findings.py and its fields.
Problem = tuple[Phrase, dict[str, str]]


def _problem(loop: c_ast.Node, constants: frozenset[str]) -> Problem | None:
    """Why `loop` is not constant-bounded, or None when it is."""
    cond = loop.cond
    if _iterator_call(cond):
        return _iterator_problem(loop, constants)
    if cond is None:
        return F.NO_CONDITION, {}
    value = constant_value(cond)
    if value == 0 and not isinstance(loop, c_ast.For):
        return None  # while (0) / do { } while (0): runs the body at most once
    if value is not None:
        return F.CONSTANT_CONDITION, {"value": str(value)}
    candidates = _bounding_conjuncts(cond, constants)
    if not candidates:
        return F.NO_BOUNDING_COMPARISON, {}
    reasons = []
    for var, increasing in candidates:
        reason = _step_problem(loop, var, increasing)
        if reason is None:
            return None
        reasons.append(reason)
    return reasons[0]


def _bounding_conjuncts(cond: c_ast.Node, constants: frozenset[str]) -> list[tuple[str, bool]]:
    """(variable, must-increase) for each `v REL K` conjunct of the condition."""
    if isinstance(cond, c_ast.BinaryOp) and cond.op == "&&":
        return _bounding_conjuncts(cond.left, constants) + _bounding_conjuncts(
            cond.right, constants
        )
    if isinstance(cond, c_ast.BinaryOp) and cond.op in _INCREASING:
        var = _variable(cond.left)
        if var and is_constant(cond.right, constants):
            return [(var, _INCREASING[cond.op])]
        var = _variable(cond.right)
        if var and is_constant(cond.left, constants):
            return [(var, _INCREASING[_MIRROR[cond.op]])]
    return []


def _variable(expr: c_ast.Node) -> str | None:
    while isinstance(expr, c_ast.Cast):
        expr = expr.expr
    return expr.name if isinstance(expr, c_ast.ID) else None


def _step_problem(loop: c_ast.Node, var: str, increasing: bool) -> Problem | None:
    direction = "increase" if increasing else "decrease"
    if isinstance(loop, c_ast.For):
        steps = _expressions(loop.next)
        if not any(_is_step(e, var, increasing) for e in steps):
            return F.STEP_NOT_CONSTANT, {"direction": direction, "var": var}
        writer = _first_write(loop.stmt, var)
        if writer is not None:
            return F.BOUND_CHANGED_IN_BODY, {"var": var}
        return None
    if isinstance(loop.stmt, c_ast.Compound):
        body = list(loop.stmt.block_items or [])
    else:
        body = [loop.stmt]
    step_stmts = [s for s in body if _is_step(s, var, increasing)]
    if len(step_stmts) != 1:
        return F.BODY_STEP_NOT_ONCE, {"direction": direction, "var": var}
    others = [s for s in body if s is not step_stmts[0]]
    if any(_first_write(s, var) is not None for s in others):
        return F.BOUND_CHANGED_OUTSIDE_STEP, {"var": var}
    if any(_has_continue(s) for s in body):
        return F.CONTINUE_SKIPS_STEP, {"var": var}
    return None


def _expressions(node: c_ast.Node | None) -> list[c_ast.Node]:
    if node is None:
        return []
    return list(node.exprs) if isinstance(node, c_ast.ExprList) else [node]


def _is_step(expr: c_ast.Node, var: str, increasing: bool) -> bool:
    """`v++`, `++v`, `v += k`, `v = v + k` (k > 0 constant) or the decreasing mirror."""
    if isinstance(expr, c_ast.UnaryOp) and _variable(expr.expr) == var:
        return expr.op in (("p++", "++") if increasing else ("p--", "--"))
    if isinstance(expr, c_ast.Assignment) and _variable(expr.lvalue) == var:
        if expr.op in ("+=", "-="):
            amount = constant_value(expr.rvalue)
            return amount is not None and amount > 0 and (expr.op == "+=") == increasing
        if expr.op == "=" and isinstance(expr.rvalue, c_ast.BinaryOp):
            rv = expr.rvalue
            amount = constant_value(rv.right)
            wanted = "+" if increasing else "-"
            return (
                rv.op == wanted and _variable(rv.left) == var and amount is not None and amount > 0
            )
    return False


def _first_write(node: c_ast.Node | None, var: str) -> c_ast.Node | None:
    """A statement in `node` that assigns `var`, steps it, or takes its address."""
    if node is None:
        return None
    for n in walk(node):
        if isinstance(n, c_ast.Assignment) and _variable(n.lvalue) == var:
            return n
        if (
            isinstance(n, c_ast.UnaryOp)
            and n.op in ("p++", "++", "p--", "--", "&")
            and _variable(n.expr) == var
        ):
            return n
    return None


def _has_continue(node: c_ast.Node) -> bool:
    """A `continue` that belongs to the enclosing loop (not to a nested one)."""
    if isinstance(node, c_ast.Continue):
        return True
    if isinstance(node, LOOPS):
        return False
    return any(_has_continue(child) for _, child in node.children())


def _iterator_call(cond: c_ast.Node | None) -> bool:
    """Does the condition advance a kernel open-coded iterator (`bpf_iter_*_next`)?"""
    if cond is None:
        return False
    return any(
        isinstance(n, c_ast.FuncCall)
        and (callee_name(n) or "").startswith("bpf_iter_")
        and (callee_name(n) or "").endswith("_next")
        for n in walk(cond)
    )


def _iterator_problem(loop: c_ast.Node, constants: frozenset[str]) -> Problem | None:
    init = getattr(loop, "init", None)
    for n in walk(init) if init is not None else ():
        if isinstance(n, c_ast.FuncCall) and callee_name(n) == "bpf_iter_num_new":
            args = n.args.exprs if n.args else []
            if len(args) == 3 and not all(is_constant(a, constants) for a in args[1:]):
                return F.ITERATOR_BOUNDS, {}
    return None


def _backward_gotos(prog: Program, func: c_ast.FuncDef) -> list[Diagnostic]:
    seen_labels: set[str] = set()
    findings = []
    for node in walk(func.body):
        if isinstance(node, c_ast.Label):
            seen_labels.add(node.name)
        elif isinstance(node, c_ast.Goto) and node.name in seen_labels:
            findings.append(prog.at(node, F.BACKWARD_GOTO, label=node.name))
    return findings

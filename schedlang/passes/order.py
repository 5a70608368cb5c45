"""The evaluation-order rule: no value may depend on the order C picks for its operands.

docs/semantics.md evaluates operands, call arguments, an insert's parts and an assignment's
target parts left to right, and the interpreter and the JIT do. C does not: the operands of
`+`, `<`, a call's arguments, `*a__at(i) = v` are unsequenced, and clang may run them in any
order. The two agree whenever the order cannot be seen, which is the rule here: where one
operand makes a call that changes state (an fn that assigns a var, an array, a map, a task
var or a task's slice or vtime, inserts or kicks; `move_to_local`, `default_cpu`),
no other operand of the same node may read or change that state. `f() + g()` with both
writing `x`, `x + f()` with f writing `x`, `a[i] += bump(i)` with `bump` writing `a`: each
is rejected, and a `let` before the statement fixes the order (`let a = f()` then
`a + g()`). Operands of `and` / `or` are sequenced in C as in the language, so they are
never in conflict.

Why reject rather than have the C sequence such operands into temporaries: an operand
inside the right side of `or`, or in an `else if` condition, cannot be moved before the
statement, so the C backend would need a second, rarer shape of code for those; and code
whose meaning depends on which call runs first is hard to read in any backend.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import show

# A piece of state an expression may read or change: (kind, name). The kernel's queues and
# idle CPUs are one piece. The clock is none: nothing a policy does changes it, and the time
# two `now()` calls read is the machine's in any order.
Resource = tuple[str, str]
KERNEL: Resource = ("kernel", "the queues")
_WRITABLE_TASK_FIELDS = ("slice", "vtime")


@dataclass(frozen=True)
class Effects:
    reads: frozenset[Resource] = frozenset()
    writes: frozenset[Resource] = frozenset()

    def __or__(self, other: Effects) -> Effects:
        return Effects(self.reads | other.reads, self.writes | other.writes)

    def conflicts(self, other: Effects) -> frozenset[Resource]:
        """What this one changes that the other reads or changes."""
        return self.writes & (other.reads | other.writes)


_NONE = Effects()
_BUILTIN: dict[str, Effects] = {
    "queued": Effects(frozenset({KERNEL})),
    "move_to_local": Effects(frozenset({KERNEL}), frozenset({KERNEL})),
    "default_cpu": Effects(frozenset({KERNEL}), frozenset({KERNEL})),
}


def _place(e: ir.Expr) -> Resource | None:
    """The state an expression reads, by itself (not its parts)."""
    match e:
        case ir.GlobalRef(name=name):
            return ("var", name)
        case ir.ArrayElem(array=name):
            return ("array", name)
        case ir.MapElem(map=name):
            return ("map", name)
        case ir.TaskVarRef(name=name):
            return ("task var", name)
        case ir.TaskField(field=f) if f in _WRITABLE_TASK_FIELDS:
            return ("task field", f)
    return None


class _Analysis:
    """The effects of expressions, with each fn's effects (everything its body may read or
    change, through the fns it calls too) computed to a fixed point."""

    def __init__(self, prog: ir.Program) -> None:
        self.fns: dict[str, Effects] = {f.name: _NONE for f in prog.fns}
        changed = True
        while changed:  # recursion is another rule's error; the union still converges
            changed = False
            for f in prog.fns:
                now = self.body(f.body)
                if now != self.fns[f.name]:
                    self.fns[f.name], changed = now, True

    def expr(self, e: ir.Expr) -> Effects:
        out = _NONE
        for x in ir.subexprs(e):
            place = _place(x)
            if place is not None:
                out |= Effects(frozenset({place}))
            elif isinstance(x, ir.Builtin):
                out |= _BUILTIN.get(x.name, _NONE)
            elif isinstance(x, ir.FnCall):
                out |= self.fns.get(x.name, _NONE)
        return out

    def calls_a_writer(self, s: ir.Stmt) -> bool:
        """Whether an expression of `s` calls something that changes state. Only such a call
        gives an operand writes (places are read, never written, by an expression), so a
        statement without one has no conflict to look for."""
        for e in ir.stmt_exprs(s):
            for x in ir.subexprs(e):
                if isinstance(x, ir.Builtin) and _BUILTIN.get(x.name, _NONE).writes:
                    return True
                if isinstance(x, ir.FnCall) and self.fns.get(x.name, _NONE).writes:
                    return True
        return False

    def body(self, stmts: tuple[ir.Stmt, ...]) -> Effects:
        out = _NONE
        for s in ir.walk_stmts(stmts):
            for e in ir.stmt_exprs(s):
                out |= self.expr(e)
            match s:
                case ir.Assign(target=t):
                    place = _place(t)
                    if place is not None:
                        out |= Effects(writes=frozenset({place}))
                case ir.Insert():
                    task = frozenset(("task field", f) for f in _WRITABLE_TASK_FIELDS)
                    out |= Effects(writes=task | {KERNEL})
                case ir.Kick():
                    out |= Effects(writes=frozenset({KERNEL}))
        return out


def _target_parts(t: ir.Expr) -> list[ir.Expr]:
    """What an assignment evaluates of its target before the value (docs/semantics.md)."""
    match t:
        case (
            ir.ArrayElem(index=x) | ir.MapElem(key=x) | ir.TaskVarRef(task=x) | ir.TaskField(task=x)
        ):
            return [x]
    return []


def _operands(x: ir.Expr) -> list[ir.Expr]:
    """The operands of a node that C evaluates in an unspecified order."""
    match x:
        case ir.Binary(op=op, left=a, right=b) if op not in ir.LOGIC_OPS:
            return [a, b]
        case ir.Builtin(args=args) | ir.FnCall(args=args):
            return list(args)
    return []


def _groups(s: ir.Stmt) -> Iterable[tuple[ir.Expr | ir.Stmt, list[ir.Expr]]]:
    """Each node of a statement with unsequenced operands, with those operands."""
    match s:
        case ir.Assign(target=t, value=v):
            yield s, [*_target_parts(t), v]
        case ir.Insert(task=t, on_cpu=on, slice=sl, vtime=vt):
            yield s, [e for e in (t, on, sl, vt) if e is not None]
    for e in ir.stmt_exprs(s):
        for x in ir.subexprs(e):
            operands = _operands(x)
            if len(operands) > 1:
                yield x, operands


def _conflict(effects: _Analysis, operands: list[ir.Expr]) -> tuple[ir.Expr, ir.Expr, str] | None:
    """(the operand that changes state, another that reads or changes it, what) or None."""
    each = [effects.expr(e) for e in operands]
    for i, mine in enumerate(each):
        for j, theirs in enumerate(each):
            shared = mine.conflicts(theirs) if i != j else frozenset()
            if shared:
                kind, name = min(shared)
                what = name if kind == "kernel" else f"{kind} `{name}`"
                return operands[i], operands[j], what
    return None


def _contains(outer: ir.Expr | ir.Stmt, inner: ir.Expr | ir.Stmt) -> bool:
    """Whether `inner` is a node strictly inside `outer` (statements hold their exprs)."""
    if outer is inner or isinstance(inner, ir.Stmt):
        return False
    roots = ir.stmt_exprs(outer) if isinstance(outer, ir.Stmt) else [outer]
    return any(x is inner for r in roots for x in ir.subexprs(r))


def run(prog: ir.Program, diags: Diagnostics) -> dict[str, object]:
    effects = _Analysis(prog)
    for body in [f.body for f in prog.fns] + [c.body for c in prog.callbacks]:
        for s in ir.walk_stmts(body):
            if not effects.calls_a_writer(s):
                continue
            found = [(node, c) for node, ops in _groups(s) if (c := _conflict(effects, ops))]
            for node, (writer, other, what) in found:
                # the innermost node says it best: `f() + g() + 1` names `f()` and `g()`
                if any(_contains(node, m) for m, _ in found):
                    continue
                call = show.code(diags, writer.span, "a call")
                diags.error(
                    C.CALL_CHANGES_OPERAND,
                    writer.span,
                    call=call,
                    bare=call.strip("`"),
                    other=show.code(diags, other.span, "another operand"),
                    what=what,
                )
    return {}

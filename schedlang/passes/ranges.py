"""Value ranges: what an expression can be at one point of a body, for the proof passes.

Three rules need the same knowledge: an array index is below the array's size (bounds), a
divisor is not zero (divzero), a slice is above zero (params). All three accept the same
evidence — constants, param ranges, `% N`, `max(d, 1)`, a loop variable's range, and guards
such as `if i < N` or `if d == 0 { return }` — so the analysis lives here once.

The domain is an interval [lo, hi) per expression plus a "non-zero" flag (for `d != 0` on a
signed `d`). Facts are kept only for locals and params: globals, task vars and map slots may
change between the check and the use (other CPUs write them), so a guard on them proves nothing;
the hint then says to copy the value into a `let` first. The walk is forward, one pass per
body: a branch refines the facts with its condition, paths merge by taking the hull, a
branch that ends in `return` does not reach the code after the `if`, and a loop forgets
(at entry) every local its body assigns.

Value ranges use the `cpu` type's promise: a `cpu` value names a CPU, so it is below
`max_cpus` — except a literal or an `as cpu` conversion, whose range is computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from schedlang import ir
from schedlang.types import RANGE, Type, is_unsigned_like

# `t.weight` is 1..10000 (100 = nice 0) and never 0, per the language reference.
WEIGHT_RANGE = (1, 10_000)


@dataclass(frozen=True)
class Range:
    """lo <= value < hi; None means unbounded on that side. nonzero: value != 0."""

    lo: int | None
    hi: int | None
    nonzero: bool = False

    @property
    def excludes_zero(self) -> bool:
        return (
            self.nonzero
            or (self.lo is not None and self.lo >= 1)
            or (self.hi is not None and self.hi <= 0)
        )

    def within(self, size: int) -> bool:
        """Every value is a valid index of `size` slots."""
        return self.lo is not None and self.lo >= 0 and self.hi is not None and self.hi <= size

    @property
    def empty(self) -> bool:
        """No value satisfies the facts: the code they guard cannot run."""
        return self.lo is not None and self.hi is not None and self.lo >= self.hi

    @property
    def largest(self) -> int | None:
        return None if self.hi is None else self.hi - 1

    def meet(self, other: Range) -> Range:
        """Both facts hold."""
        lo, hi = _pick(max, self.lo, other.lo), _pick(min, self.hi, other.hi)
        nonzero = self.nonzero or other.nonzero
        if nonzero and lo == 0:  # x >= 0 and x != 0: x >= 1
            lo = 1
        if nonzero and hi == 1:  # x < 1 and x != 0: x < 0
            hi = 0
        return Range(lo, hi, nonzero)

    def hull(self, other: Range) -> Range:
        """One of the two holds (paths merging)."""
        lo = None if self.lo is None or other.lo is None else min(self.lo, other.lo)
        hi = None if self.hi is None or other.hi is None else max(self.hi, other.hi)
        return Range(lo, hi, self.excludes_zero and other.excludes_zero)


TOP = Range(None, None)
Env = dict[str, Range]


def unreachable(env: Env) -> bool:
    """The facts contradict each other (e.g. a param tested against a value outside its
    range), so the code they hold at never runs."""
    return any(r.empty for r in env.values())


def _pick(f: Callable[[int, int], int], a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return f(a, b)


def join(a: Env, b: Env) -> Env:
    return {k: a[k].hull(b[k]) for k in a.keys() & b.keys()}


class Ranges:
    """Range queries for one program (knows its params and CPU limit)."""

    def __init__(self, prog: ir.Program) -> None:
        self.max_cpus = prog.max_cpus
        self.params = {p.name: p for p in prog.params}
        self.fns = {f.name: f for f in prog.fns}
        self.results: dict[str, Range] = {}  # an fn's result: the hull of its returns

    def _result(self, call: ir.FnCall) -> Range:
        """What an fn can return, whatever its arguments (fns are inlined, so this is exact
        up to the arguments, which count as unknown)."""
        f = self.fns.get(call.name)
        if f is None:
            return self.of_type(call.type)
        if call.name not in self.results:
            self.results[call.name] = self.of_type(call.type)  # while in progress: recursion
            found: list[Range] = []

            def on_stmt(s: ir.Stmt, env: Env) -> None:
                if isinstance(s, ir.Return) and s.value is not None:
                    found.append(self.of(s.value, env))

            walk_body(self, f.body, lambda e, env: None, on_stmt)
            result = found[0] if found else self.of_type(call.type)
            for r in found[1:]:
                result = result.hull(r)
            if call.type is Type.CPU:  # the cpu_values rule holds each `cpu` result to this
                result = result.meet(self.of_type(Type.CPU))
            self.results[call.name] = result
        return self.results[call.name]

    def of_type(self, t: Type) -> Range:
        if t is Type.CPU:
            return Range(0, self.max_cpus)
        if t in RANGE:
            lo, hi = RANGE[t]
            return Range(lo, hi + 1)
        return TOP

    def _fits(self, r: Range, t: Type) -> Range:
        """r if every value of r is representable in t, else what the type allows."""
        limit = RANGE.get(t)
        if limit is None or (
            r.lo is not None and r.lo >= limit[0] and r.hi is not None and r.hi <= limit[1] + 1
        ):
            return r
        if t is Type.CPU:  # an s32 in C: a value past its top wraps negative
            return Range(-(2**31), 2**31)
        return self.of_type(t)

    def of(self, e: ir.Expr, env: Env) -> Range:
        """The values e can take, given the facts about locals in env."""
        match e:
            case ir.Lit(value=v):
                return Range(v, v + 1)
            case ir.Local(name=name):
                return env.get(name, self.of_type(e.type))
            case ir.ParamRef(name=name):
                p = self.params.get(name)
                declared = Range(p.lo, p.hi + 1) if p else self.of_type(e.type)
                return env[f"param:{name}"].meet(declared) if f"param:{name}" in env else declared
            case ir.NrCpus():
                return Range(1, RANGE[Type.U32][1] + 1)
            case ir.TaskField(field="weight"):
                return Range(WEIGHT_RANGE[0], WEIGHT_RANGE[1] + 1)
            case ir.TaskField(field="nr_cpus_allowed"):
                return Range(1, RANGE[Type.U32][1] + 1)
            case ir.Cast(expr=x):
                return self._fits(self.of(x, env), e.type)
            case ir.Binary():
                return self._binary(e, env)
            case ir.FnCall():
                return self._result(e)
            case ir.Builtin(name=name, args=args) if name in ("min", "max", "clamp"):
                return self._minmax(name, [self.of(a, env) for a in args])
        return self.of_type(e.type)

    def _binary(self, e: ir.Binary, env: Env) -> Range:
        if e.op in ir.COMPARE_OPS or e.op in ir.LOGIC_OPS:
            return Range(0, 2)
        a, b = self.of(e.left, env), self.of(e.right, env)
        unsigned = is_unsigned_like(e.type) or (a.lo is not None and a.lo >= 0)
        known = None not in (a.lo, a.hi, b.lo, b.hi) and a.lo >= 0 and b.lo >= 0  # type: ignore[operator]
        out: Range | None = None
        match e.op:
            case "%" if unsigned and b.lo is not None and b.lo >= 1 and b.hi is not None:
                out = Range(0, _pick(min, b.hi - 1, a.hi))
            case "/" if unsigned and b.lo is not None and b.lo >= 1:
                # b.hi is exclusive; an empty divisor range (b.hi <= b.lo, from contradictory
                # guards on an unreachable path) must not divide by zero here
                lo = 0 if a.lo is None or b.hi is None else max(0, a.lo) // max(1, b.hi - 1)
                hi = None if a.hi is None else (a.hi - 1) // b.lo + 1
                out = Range(lo, hi)
            case "&" if unsigned and b.lo is not None and b.lo >= 0:
                out = Range(0, _pick(min, a.hi, b.hi))
            case ">>" if unsigned and isinstance(e.right, ir.Lit) and 0 <= e.right.value < 64:
                out = Range(0, None if a.hi is None else ((a.hi - 1) >> e.right.value) + 1)
            case "+" if known:
                out = Range(a.lo + b.lo, a.hi + b.hi - 1)  # type: ignore[operator]
            case "*" if known:
                out = Range(a.lo * b.lo, (a.hi - 1) * (b.hi - 1) + 1)  # type: ignore[operator]
            case "sat-":
                lo = 0 if a.lo is None or b.hi is None else max(0, a.lo - (b.hi - 1))
                hi = None if a.hi is None or b.lo is None else max(0, a.hi - 1 - b.lo) + 1
                out = Range(lo, hi)
        return self.of_type(e.type) if out is None else self._fits(out, e.type)

    @staticmethod
    def _minmax(name: str, args: list[Range]) -> Range:
        if name == "clamp":  # the result is x, lo or hi, whichever order the bounds come in
            x, low, high = args
            outer = Range(_pick(min, low.lo, high.lo), _pick(max, low.hi, high.hi))
            if None in (low.lo, high.lo):
                outer = Range(None, outer.hi)
            if None in (low.hi, high.hi):
                outer = Range(outer.lo, None)
            return outer.meet(x.hull(low).hull(high))
        los = [a.lo for a in args if a.lo is not None]
        his = [a.hi for a in args if a.hi is not None]
        every_lo, every_hi = len(los) == len(args), len(his) == len(args)
        if name == "min":  # below every argument's top, above the lowest bottom
            return Range(min(los) if every_lo else None, min(his) if his else None)
        return Range(max(los) if los else None, max(his) if every_hi else None)

    # ------------------------------------------------------------------ conditions
    def refine(self, env: Env, cond: ir.Expr, truth: bool) -> Env:
        """The facts that hold when cond evaluates to truth."""
        when_true, when_false = self.branches(env, cond)
        return when_true if truth else when_false

    def branches(self, env: Env, cond: ir.Expr) -> tuple[Env, Env]:
        """The facts when cond is true and when it is false, in one visit of each node (so
        deeply nested `and`/`or` stay linear)."""
        match cond:
            case ir.Unary(op="not", operand=x):
                when_true, when_false = self.branches(env, x)
                return when_false, when_true
            case ir.Binary(op="and", left=a, right=b):
                a_true, a_false = self.branches(env, a)
                b_true, b_false = self.branches(a_true, b)
                return b_true, join(a_false, b_false)
            case ir.Binary(op="or", left=a, right=b):
                a_true, a_false = self.branches(env, a)
                b_true, b_false = self.branches(a_false, b)
                return join(a_true, b_true), b_false
            case ir.Binary(op=op, left=a, right=b) if op in ir.COMPARE_OPS:
                return self._compare(env, op, a, b), self._compare(env, _NEGATE[op], a, b)
        return env, env

    def _compare(self, env: Env, op: str, a: ir.Expr, b: ir.Expr) -> Env:
        out = env
        if (lhs := _subject(a)) is not None:
            out = self._constrain(out, lhs, op, self.of(b, env))
        if (rhs := _subject(b)) is not None:
            out = self._constrain(out, rhs, _FLIP[op], self.of(a, env))
        return out

    def _constrain(self, env: Env, x: ir.Local | ir.ParamRef, op: str, other: Range) -> Env:
        fact = TOP
        if op == "<" and other.hi is not None:
            fact = Range(None, other.hi - 1)
        elif op == "<=":
            fact = Range(None, other.hi)
        elif op == ">" and other.lo is not None:
            fact = Range(other.lo + 1, None)
        elif op == ">=":
            fact = Range(other.lo, None)
        elif op == "==":
            fact = Range(other.lo, other.hi, other.excludes_zero)
        elif op == "!=" and other.lo == 0 and other.hi == 1:
            fact = Range(None, None, True)
        if fact == TOP:
            return env
        return {**env, _key(x): self.of(x, env).meet(fact)}


def _subject(e: ir.Expr) -> ir.Local | ir.ParamRef | None:
    """What a comparison constrains: a local or a param (params never change while a
    callback runs), possibly widened (`u32` to `u64`, `cpu` to `u32`)."""
    while isinstance(e, ir.Cast) and _widens(e.expr.type, e.type):
        e = e.expr
    return e if isinstance(e, ir.Local | ir.ParamRef) else None


def _key(e: ir.Local | ir.ParamRef) -> str:
    """Env keys: a local's name, or `param:NAME` (a `let` may reuse a param's name)."""
    return e.name if isinstance(e, ir.Local) else f"param:{e.name}"


def _widens(inner: Type, outer: Type) -> bool:
    a, b = RANGE.get(inner), RANGE.get(outer)
    return a is not None and b is not None and b[0] <= a[0] and a[1] <= b[1]


_NEGATE = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "=="}
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}


# ---------------------------------------------------------------------------- the walk
# A pass that needs ranges gives the walk a hook; the hook sees every statement (before it
# runs) and every expression (with the facts in force where it is evaluated, including the
# left side of `and` / `or`), and reports what it cannot prove.
StmtHook = Callable[[ir.Stmt, Env], None]
ExprHook = Callable[[ir.Expr, Env], None]


def walk_body(
    ranges: Ranges, body: tuple[ir.Stmt, ...], on_expr: ExprHook, on_stmt: StmtHook | None = None
) -> None:
    """Walk one callback or fn body once, calling the hooks with the facts at each point."""
    _Walk(ranges, on_expr, on_stmt).block(body, {})


class _Walk:
    def __init__(self, ranges: Ranges, on_expr: ExprHook, on_stmt: StmtHook | None) -> None:
        self.ranges = ranges
        self.on_expr = on_expr
        self.on_stmt = on_stmt

    def condition(self, e: ir.Expr, env: Env) -> tuple[Env, Env]:
        """Visit a condition and return the facts when it is true and when false. The right
        side of `and` / `or` is visited with what the left side decided; one visit per node."""
        match e:
            case ir.Binary(op="and" | "or", left=a, right=b):
                self.on_expr(e, env)
                a_true, a_false = self.condition(a, env)
                if e.op == "and":
                    b_true, b_false = self.condition(b, a_true)
                    return b_true, join(a_false, b_false)
                b_true, b_false = self.condition(b, a_false)
                return join(a_true, b_true), b_false
            case ir.Unary(op="not", operand=x):
                self.on_expr(e, env)
                when_true, when_false = self.condition(x, env)
                return when_false, when_true
        self.expr(e, env)
        return self.ranges.branches(env, e)

    def expr(self, e: ir.Expr, env: Env) -> None:
        match e:
            case ir.Binary(op="and" | "or") | ir.Unary(op="not"):
                self.condition(e, env)
                return
        self.on_expr(e, env)
        match e:
            case ir.Binary(left=a, right=b):
                self.expr(a, env)
                self.expr(b, env)
            case (
                ir.TaskField(task=x)
                | ir.TaskVarRef(task=x)
                | ir.PickField(pick=x)
                | ir.Unary(operand=x)
            ):
                self.expr(x, env)
            case ir.Cast(expr=x) | ir.ArrayElem(index=x) | ir.MapElem(key=x):
                self.expr(x, env)
            case ir.Builtin(args=args) | ir.FnCall(args=args):
                for a in args:
                    self.expr(a, env)

    def block(self, stmts: tuple[ir.Stmt, ...], outer: Env) -> tuple[Env, bool]:
        """Returns the facts after the block and whether control can fall out of it."""
        env = dict(outer)
        bound: set[str] = set()
        for s in stmts:
            if self.on_stmt is not None:
                self.on_stmt(s, env)
            match s:
                case ir.Let(name=name, value=v):
                    self.expr(v, env)
                    env[name] = self.ranges.of(v, env)
                    bound.add(name)
                case ir.Assign(target=target, value=v):
                    if not isinstance(target, ir.Local):
                        self.expr(target, env)
                    self.expr(v, env)
                    if isinstance(target, ir.Local):
                        env[target.name] = self.ranges.of(v, env)
                case ir.If(cond=ir.Lit(value=v), then=then, orelse=orelse):
                    # a constant condition (`if DEBUG` with a const): the other branch never runs
                    env, falls = self.block(then if v else orelse, env)
                    if not falls:
                        return env, False
                case ir.If(cond=c, then=then, orelse=orelse):
                    when_true, when_false = self.condition(c, env)
                    t_env, t_falls = self.block(then, when_true)
                    e_env, e_falls = self.block(orelse, when_false)
                    if not (t_falls or e_falls):
                        return env, False
                    env = (
                        join(t_env, e_env) if t_falls and e_falls else (t_env if t_falls else e_env)
                    )
                case ir.ForRange(var=var, lo=lo, hi=hi, body=body):
                    self.expr(lo, env)
                    self.expr(hi, env)
                    env = _forget(env, _assigned(body))
                    inside = Range(self.ranges.of(lo, env).lo, self.ranges.of(hi, env).largest)
                    self.block(body, {**env, var: inside})
                case ir.ForCpus(var=var, body=body):
                    env = _forget(env, _assigned(body))
                    self.block(body, {**env, var: Range(0, self.ranges.max_cpus)})
                case ir.Return(value=v):
                    if v is not None:
                        self.expr(v, env)
                    return env, False
                case ir.Insert() | ir.Kick() | ir.ExprStmt():
                    for e in ir.stmt_exprs(s):
                        self.expr(e, env)
                case _:
                    raise TypeError(f"ranges: unknown statement {type(s).__name__}")
        # Names bound in this block go out of scope; an outer local of the same name
        # (shadowed here) loses its facts, which is safe.
        return _forget(env, bound), True


def _forget(env: Env, names: set[str]) -> Env:
    return {k: v for k, v in env.items() if k not in names} if names & env.keys() else env


def _assigned(body: tuple[ir.Stmt, ...]) -> set[str]:
    return {
        s.target.name
        for s in ir.walk_stmts(body)
        if isinstance(s, ir.Assign) and isinstance(s.target, ir.Local)
    }

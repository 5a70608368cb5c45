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
(at entry) every local its body assigns. The rules that share this analysis share its walk
too: a body is walked once per `Ranges` and the walk is replayed to each rule's hooks, and
the rules of one program get one `Ranges` (`Ranges.shared`).

Value ranges use the `cpu` type's promise: a `cpu` value names a CPU, so it is below
`max_cpus` — except a literal or an `as cpu` conversion, whose range is computed.

Shared state (a `var`, task var, array slot or map entry) holds its initial value or one that
some statement stores; with `stores=True` (the path rules) its range is the hull of those
(`stored`), so a `var` nothing writes is a constant. The index and divisor rules keep to the
type's range, which their diagnostics and tests describe. `decide` says when a condition has one outcome whatever the values are, which the
path rules (passes/paths.py) use to drop branches no value takes; a `bool` local or param
and `nr_cpus` are refined by the conditions on them like an integer local.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

from schedlang import ir
from schedlang.passes.facts import Facts, differ, facts
from schedlang.types import RANGE, Type, is_unsigned_like

# `t.weight` is 1..10000 (100 = nice 0) and never 0, per the language reference.
WEIGHT_RANGE = (1, 10_000)


class Range(NamedTuple):
    """lo <= value < hi; None means unbounded on that side. nonzero: value != 0.

    A tuple, so that hashing and comparing one (the path walk, passes/paths.py, hashes and
    compares facts) runs in C."""

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
    def closed(self) -> tuple[int, int] | None:
        """(smallest, largest) when both are known and some value satisfies the facts."""
        if self.lo is None or self.hi is None or self.lo >= self.hi:
            return None
        return self.lo, self.hi - 1

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
# The facts at one point: a persistent map (facts.py), so a step that changes one name costs
# about log n, and joins and comparisons look only at what differs.
Env = Facts[str, Range]
EMPTY: Env = facts()

# An Env key that records "this local holds a CPU that exists" (below `nr_cpus`, not only below
# the CPU limit): a CPU the kernel passed in (`c` of dispatch, `t.cpu`, a `for c in cpus`
# variable), or a copy of one. Only the path walk (passes/paths.py) sets it.
CPU_MARK = "<nr_cpus:"
EXISTS = Range(1, 2)


def unreachable(env: Env, among: set[str] | None = None) -> bool:
    """The facts contradict each other (e.g. a param tested against a value outside its
    range), so the code they hold at never runs. among: look only at these names (the rest
    is known not to)."""
    if among is None:
        return any(r.empty for r in env.values())
    return any(name in env and env[name].empty for name in among)


def names(e: ir.Expr) -> set[str]:
    """The Env keys of the locals, params and `nr_cpus` in e: those a test of e refines."""
    return {_key(x) for x in ir.subexprs(e) if isinstance(x, ir.Local | ir.ParamRef | ir.NrCpus)}


def _pick(f: Callable[[int, int], int], a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return f(a, b)


def join(a: Env, b: Env) -> Env:
    """The facts that hold on either of two paths: for each name both know, the hull.

    Two paths mostly share their facts (they split at an `if` a few names ago, and the
    maps share every node no step since changed), so only the entries that differ are
    looked at. May return `a` itself."""
    if a is b:
        return a
    out = a
    for k in differ(a, b):
        mine, other = a.get(k), b.get(k)
        if mine is None:
            continue  # known on b's path only
        out = out.delete(k) if other is None else out.set(k, mine.hull(other))
    return out


class Ranges:
    """Range queries for one program (knows its params and CPU limit)."""

    def __init__(self, prog: ir.Program, stores: bool = False) -> None:
        self.prog = prog
        self.stores = stores
        self.max_cpus = prog.max_cpus
        self.params = {p.name: p for p in prog.params}
        self.fns = {f.name: f for f in prog.fns}
        self.results: dict[str, Range] = {}  # an fn's result: the hull of its returns
        self.writes = _writes(prog)
        self.initial = {v.name: v.init for v in prog.vars}
        self.initial |= {f"task:{v.name}": v.init for v in prog.task_vars}
        self.initial |= {f"array:{a.name}": 0 for a in prog.arrays}
        self.initial |= {f"map:{m.name}": m.default for m in prog.maps}
        self.state: dict[str, Range] = {}  # what a var, task var, array or map may hold
        # each body's walk, recorded once and replayed to every pass's hooks (walk_body)
        self.walks: dict[int, tuple[tuple[ir.Stmt, ...], list[Event]]] = {}
        # what paths.py works out about each block once for all the path walks of the
        # program (`_dead_after`), by id, with the block so the id stays its own
        self.blocks: dict[int, tuple[tuple[ir.Stmt, ...], dict[int, set[str]]]] = {}

    @classmethod
    def shared(cls, prog: ir.Program, stores: bool = False) -> Ranges:
        """The Ranges of prog, one per program and `stores`: the value rules (params,
        cpu_values, bounds, divzero) ask the same questions of the same bodies, so they
        share one and each body is walked once for all of them; the path rules share the
        other (what shared state holds is worked out once)."""
        known = _shared.get(stores)
        if known is None or known.prog is not prog:
            known = _shared[stores] = cls(prog, stores)
        return known

    def stored(self, key: str, t: Type) -> Range:
        """The hull of a piece of shared state's initial value and every value stored into it
        (stores evaluated with no facts, so a stored local counts as any value of its type)."""
        if key not in self.state:
            self.state[key] = self.of_type(t)  # while in progress: `g = g + 1`
            init = self.initial.get(key)
            found = self.of_type(t) if init is None else Range(init, init + 1)
            for value in self.writes.get(key, ()):
                found = found.hull(self.of(value, EMPTY))
            self.state[key] = found.meet(self.of_type(t)) if t in RANGE else found
        return self.state[key]

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
                return env.get("nr_cpus", TOP).meet(Range(1, RANGE[Type.U32][1] + 1))
            case ir.GlobalRef(name=name) if self.stores:
                return self.stored(name, e.type)
            case ir.TaskVarRef(name=name) if self.stores:
                return self.stored(f"task:{name}", e.type)
            case ir.ArrayElem(array=name) if self.stores:
                return self.stored(f"array:{name}", e.type)
            case ir.MapElem(map=name) if self.stores:
                return self.stored(f"map:{name}", e.type)
            case ir.TaskField(field="weight"):
                return Range(WEIGHT_RANGE[0], WEIGHT_RANGE[1] + 1)
            case ir.TaskField(field="nr_cpus_allowed"):
                return Range(1, RANGE[Type.U32][1] + 1)
            case ir.Cast(expr=x):
                return self._fits(self.of(x, env), e.type)
            case ir.Unary(op="not"):
                known = self.decide(env, e)
                return Range(0, 2) if known is None else Range(int(known), int(known) + 1)
            case ir.Binary():
                return self._binary(e, env)
            case ir.FnCall():
                return self._result(e)
            case ir.Builtin(name=name, args=args) if name in ("min", "max", "clamp"):
                return self._minmax(name, [self.of(a, env) for a in args])
        return self.of_type(e.type)

    def _binary(self, e: ir.Binary, env: Env) -> Range:
        if e.op in ir.COMPARE_OPS or e.op in ir.LOGIC_OPS:
            known = self.decide(env, e)
            return Range(0, 2) if known is None else Range(int(known), int(known) + 1)
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
    def decide(self, env: Env, cond: ir.Expr) -> bool | None:
        """True or False when cond has that outcome for every value the facts allow (the
        branch of the other outcome never runs); None when it may go either way."""
        match cond:
            case ir.Lit(value=v):
                return bool(v)
            case ir.Unary(op="not", operand=x):
                known = self.decide(env, x)
                return None if known is None else not known
            case ir.Binary(op="and" | "or", left=a, right=b):
                short = cond.op == "or"  # the outcome that makes the right side irrelevant
                left = self.decide(env, a)
                if left is short:
                    return short
                # the right side runs only when the left did not settle it
                right = self.decide(self.refine(env, a, not short), b)
                if right is short:  # settled either way
                    return short
                return None if left is None or right is None else right
            case ir.Binary(op=op, left=a, right=b) if op in ir.COMPARE_OPS:
                return self._decide_compare(env, op, a, b)
            case ir.Local() | ir.ParamRef() | ir.GlobalRef() | ir.TaskVarRef():
                r = self.of(cond, env)
                if r.lo is not None and r.lo >= 1:
                    return True
                if r.hi is not None and r.hi <= 1 and not r.empty:
                    return False
        return None

    def _decide_compare(self, env: Env, op: str, a: ir.Expr, b: ir.Expr) -> bool | None:
        if isinstance(_unwiden(b), ir.NrCpus) and self.below_nr_cpus(a, env):
            return {"<": True, "<=": True, "!=": True}.get(op, False)
        if isinstance(_unwiden(a), ir.NrCpus) and self.below_nr_cpus(b, env):
            return {">": True, ">=": True, "!=": True}.get(op, False)
        x, y = self.of(a, env), self.of(b, env)
        xs, ys = x.closed, y.closed
        if xs is None or ys is None:
            if op in ("==", "!=") and (x.excludes_zero and y == Range(0, 1)):
                return op == "!="
            return None
        (xl, xh), (yl, yh) = xs, ys
        always = {
            "<": xh < yl,
            "<=": xh <= yl,
            ">": xl > yh,
            ">=": xl >= yh,
            "==": xl == xh == yl == yh,
            "!=": xh < yl or xl > yh,
        }[op]
        never = {
            "<": xl >= yh,
            "<=": xl > yh,
            ">": xh <= yl,
            ">=": xh < yl,
            "==": xh < yl or xl > yh,
            "!=": xl == xh == yl == yh,
        }[op]
        return True if always else False if never else None

    def below_nr_cpus(self, e: ir.Expr, env: Env) -> bool:
        """e is a CPU that exists: one the kernel gives (`t.cpu`, a pick's `.cpu`) or a local
        the path walk marked (see CPU_MARK)."""
        match _unwiden(e):
            case ir.TaskField(field="cpu") | ir.PickField(field="cpu"):
                return True
            case ir.Local(name=name):
                return CPU_MARK + name in env
        return False

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
            case ir.Local() | ir.ParamRef() if cond.type is Type.BOOL:
                key = _key(cond)
                r = self.of(cond, env)
                return env.set(key, r.meet(Range(1, 2))), env.set(key, r.meet(Range(0, 1)))
        return env, env

    def _compare(self, env: Env, op: str, a: ir.Expr, b: ir.Expr) -> Env:
        out = env
        if (lhs := _subject(a)) is not None:
            out = self._constrain(out, lhs, op, self.of(b, env))
        if (rhs := _subject(b)) is not None:
            out = self._constrain(out, rhs, _FLIP[op], self.of(a, env))
        return out

    def _constrain(
        self, env: Env, x: ir.Local | ir.ParamRef | ir.NrCpus, op: str, other: Range
    ) -> Env:
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
        return env.set(_key(x), self.of(x, env).meet(fact))


def _subject(e: ir.Expr) -> ir.Local | ir.ParamRef | ir.NrCpus | None:
    """What a comparison constrains: a local, a param or `nr_cpus` (neither changes while a
    callback runs), possibly widened (`u32` to `u64`, `cpu` to `u32`)."""
    e = _unwiden(e)
    return e if isinstance(e, ir.Local | ir.ParamRef | ir.NrCpus) else None


def _unwiden(e: ir.Expr) -> ir.Expr:
    """e without the conversions that keep its value (`u32` to `u64`, `cpu` to `u32`)."""
    while isinstance(e, ir.Cast) and _widens(e.expr.type, e.type):
        e = e.expr
    return e


def _key(e: ir.Local | ir.ParamRef | ir.NrCpus) -> str:
    """Env keys: a local's name, `param:NAME` (a `let` may reuse a param's name), `nr_cpus`."""
    if isinstance(e, ir.NrCpus):
        return "nr_cpus"
    return e.name if isinstance(e, ir.Local) else f"param:{e.name}"


def _writes(prog: ir.Program) -> dict[str, list[ir.Expr]]:
    """Every value stored into shared state, by the `stored` key of its target."""
    out: dict[str, list[ir.Expr]] = {}
    for body in [cb.body for cb in prog.callbacks] + [f.body for f in prog.fns]:
        for s in ir.walk_stmts(body):
            if not isinstance(s, ir.Assign):
                continue
            match s.target:
                case ir.GlobalRef(name=name):
                    key = name
                case ir.TaskVarRef(name=name):
                    key = f"task:{name}"
                case ir.ArrayElem(array=name):
                    key = f"array:{name}"
                case ir.MapElem(map=name):
                    key = f"map:{name}"
                case _:
                    continue
            out.setdefault(key, []).append(s.value)
    return out


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
# What the walk met, in order: (a statement?, the node, the facts there). The walk never
# changes a set of facts once made (it builds a new one), so the events can be kept.
Event = tuple[bool, ir.Stmt | ir.Expr, Env]
_shared: dict[bool, Ranges] = {}  # the last program's, by `stores` (see Ranges.shared)


def walk_body(
    ranges: Ranges, body: tuple[ir.Stmt, ...], on_expr: ExprHook, on_stmt: StmtHook | None = None
) -> None:
    """Call the hooks with the facts at each point of one callback or fn body. The body is
    walked once per Ranges; later calls replay what that walk met."""
    walked = ranges.walks.get(id(body))
    if walked is None or walked[0] is not body:
        walked = body, []
        _Walk(ranges, walked[1]).block(body, EMPTY)
        ranges.walks[id(body)] = walked
    for is_stmt, node, env in walked[1]:
        if not is_stmt:
            on_expr(node, env)  # type: ignore[arg-type]
        elif on_stmt is not None:
            on_stmt(node, env)  # type: ignore[arg-type]


class _Walk:
    def __init__(self, ranges: Ranges, events: list[Event]) -> None:
        self.ranges = ranges
        self.events = events

    def on_expr(self, e: ir.Expr, env: Env) -> None:
        self.events.append((False, e, env))

    def on_stmt(self, s: ir.Stmt, env: Env) -> None:
        self.events.append((True, s, env))

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

    def if_chain(self, s: ir.If, env: Env) -> Env | None:
        """The facts after an `if` and its `else if` links, or None if no arm falls out.

        Walks the links in a loop (a chain may be longer than the recursion limit); each
        link's condition sees what the earlier conditions decided when false. A constant
        condition (`if DEBUG` with a const) decides the chain there: the other arm never
        runs and is not visited."""
        arms: list[Env] = []
        links, last = ir.if_chain(s)
        tail = last
        for n, link in enumerate(links):
            if n:
                self.on_stmt(link, env)
            if isinstance(link.cond, ir.Lit):
                if link.cond.value:
                    tail = link.then
                    break
                continue
            when_true, env = self.condition(link.cond, env)
            t_env, t_falls = self.block(link.then, when_true)
            if t_falls:
                arms.append(t_env)
        e_env, e_falls = self.block(tail, env)
        if e_falls:
            arms.append(e_env)
        return functools.reduce(join, arms) if arms else None

    def block(self, stmts: tuple[ir.Stmt, ...], outer: Env) -> tuple[Env, bool]:
        """Returns the facts after the block and whether control can fall out of it."""
        env = outer
        bound: set[str] = set()
        for s in stmts:
            self.on_stmt(s, env)
            match s:
                case ir.Let(name=name, value=v):
                    self.expr(v, env)
                    env = env.set(name, self.ranges.of(v, env))
                    bound.add(name)
                case ir.Assign(target=target, value=v):
                    if not isinstance(target, ir.Local):
                        self.expr(target, env)
                    self.expr(v, env)
                    if isinstance(target, ir.Local):
                        env = env.set(target.name, self.ranges.of(v, env))
                case ir.If():
                    after = self.if_chain(s, env)
                    if after is None:
                        return env, False
                    env = after
                case ir.ForRange(var=var, lo=lo, hi=hi, body=body):
                    self.expr(lo, env)
                    self.expr(hi, env)
                    env = forget(env, _assigned(body))
                    inside = Range(self.ranges.of(lo, env).lo, self.ranges.of(hi, env).largest)
                    self.block(body, env.set(var, inside))
                case ir.ForCpus(var=var, body=body):
                    env = forget(env, _assigned(body))
                    self.block(body, env.set(var, Range(0, self.ranges.max_cpus)))
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
        return forget(env, bound), True


def forget(env: Env, names: set[str]) -> Env:
    """env without the facts of names."""
    for k in names:
        env = env.delete(k)
    return env


def _assigned(body: tuple[ir.Stmt, ...]) -> set[str]:
    return {
        s.target.name
        for s in ir.walk_stmts(body)
        if isinstance(s, ir.Assign) and isinstance(s.target, ir.Local)
    }

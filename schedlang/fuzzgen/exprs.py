"""Typed expression generation: an expression of a requested type that the checker accepts.

`Exprs.of(body, T, depth)` returns an expression whose type is exactly T (with `loose=True`,
where the context converts, possibly one the checker widens to T: u32 → u64, i32 → i64). The rules it obeys are the checker's, in the
generator's terms:

* integer literals have no type of their own, and operators on literals alone are folded at
  compile time, so a "pure" literal tree must stay in range for its context (no unsigned
  `3 - 5`, no literal products that overflow, no literal cast to a duration);
* divisors are built only from evidence the checker accepts (a non-zero literal or const, a
  param whose range excludes 0, `t.weight`, `nr_cpus`, `max(x, 1)`);
* array indices likewise (a literal below the size, `x % N`, a loop variable or guarded local
  whose range fits, a `cpu` for a `[T; cpus]` array);
* there is no "safe" subset: integers are converted to `cpu`s, slices are as small as the
  checker allows, and the generated code's run-time guards must keep the kernel happy with
  every one of them (docs/verifier.md).
"""

from __future__ import annotations

from collections.abc import Callable

from schedlang import ast
from schedlang.checker import DEFAULT_MAX_CPUS
from schedlang.fuzzgen.choices import Choices
from schedlang.fuzzgen.scope import INTS, SIGNED, UNSIGNED, WIDTH_BITS, Body, Globals
from schedlang.source import NOWHERE

S = NOWHERE
COMPARE = ("==", "!=", "<", "<=", ">", ">=")
COMMS = ("hackbench", "kworker", "sh", "a", 'q"uote', "tab\t")
TASK_INT_FIELDS = {"u32": ("pid", "tgid", "nr_cpus_allowed"), "u64": ("weight",)}


def name(n: str) -> ast.Name:
    return ast.Name(S, n)


def lit(v: int) -> ast.Expr:
    """An integer literal; negative values are written as `-N` (that is how they parse)."""
    return ast.Unary(S, "-", ast.IntLit(S, -v)) if v < 0 else ast.IntLit(S, v)


def call(f: str, *args: ast.Expr) -> ast.Call:
    return ast.Call(S, f, tuple(args), S)


def field(obj: ast.Expr, f: str) -> ast.Field:
    return ast.Field(S, obj, f, S)


def binary(op: str, a: ast.Expr, b: ast.Expr) -> ast.Binary:
    return ast.Binary(S, op, a, b)


def cast(e: ast.Expr, t: str) -> ast.Cast:
    return ast.Cast(S, e, ast.TypeName(S, t))


def dur(ns: int) -> ast.DurationLit:
    for unit, scale in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if ns and ns % scale == 0:
            return ast.DurationLit(S, ns // scale, unit)
    return ast.DurationLit(S, ns, "ns")


def pure(e: ast.Expr) -> bool:
    """True for a tree of integer literals only: the checker folds it into an untyped literal."""
    match e:
        case ast.IntLit():
            return True
        case ast.Unary(op="-", operand=x):
            return pure(x)
        case ast.Binary(op=op, left=a, right=b) if op not in COMPARE and op not in ("and", "or"):
            return pure(a) and pure(b)
        case ast.Call(func="min" | "max" | "clamp", args=args):
            return all(pure(a) for a in args)
    return False


class Exprs:
    def __init__(self, ch: Choices, g: Globals) -> None:
        self.ch = ch
        self.g = g

    # ------------------------------------------------------------------ entry point
    def of(self, b: Body, t: str, depth: int, *, loose: bool = False) -> ast.Expr:
        """An expression of type t; `loose`: or one the context widens to t (u32 → u64)."""
        if t in ("u64", "i64") and loose and self.ch.chance(0.1):
            return self.of(b, "u32" if t == "u64" else "i32", depth - 1)
        if depth <= 0 or self.ch.chance(0.3):
            return self.leaf(b, t, depth)
        makers = self._makers(t)
        return self.ch.pick(makers)(b, t, depth - 1)

    def _makers(self, t: str) -> list[Callable[[Body, str, int], ast.Expr]]:
        if t in INTS:
            out = [self._arith, self._arith, self._divide, self._minmax, self._cast, self._shift]
            if t in SIGNED:
                out += [self._abs, self._negate]
            if t == "u32":
                out.append(self._cpu_arith)
            if t == "u64":
                out.append(self._ratio)
        elif t == "duration":
            out = [self._dur_arith, self._scale, self._dur_divide, self._elapsed, self._minmax]
            out.append(self._cast)
        elif t == "time":
            out = [self._time_shift, self._minmax, self._cast]
        elif t == "cpu":
            out = [self._minmax]
        else:
            out = [self._compare, self._compare, self._logic, self._not, self._task_bool]
        return [*out, self._fn_call]

    # ------------------------------------------------------------------ leaves
    def leaf(self, b: Body, t: str, depth: int = 0) -> ast.Expr:
        options = self._names(b, t)
        options += self._task_leaves(b, t)
        if depth > 0:  # an element needs an index expression: only while depth remains
            options += self._storage_leaves(b, t, depth - 1)
        if t in INTS:
            lo = -1000 if t in SIGNED else 0
            options += [lit(self.ch.integer(lo, 1000)) for _ in range(2)]
            if t == "u32":
                options.append(name("nr_cpus"))
            if t == "u64":
                options.append(call("queued", name(self._any_queue())))
        elif t == "duration":
            options += [self.duration_lit(), self.duration_lit()]
        elif t == "time":
            options.append(call("now"))
        elif t == "cpu":
            if not options:
                options.append(cast(lit(0), "cpu"))
        elif t == "bool":
            options.append(ast.BoolLit(S, self.ch.chance(0.5)))
        return self.ch.pick(options)

    def duration_lit(self, *, positive: bool = False) -> ast.DurationLit:
        unit = self.ch.pick(("ms", "us", "ns", "s"))
        hi = {"ms": 50, "us": 5000, "ns": 100_000, "s": 1}[unit]
        amount = self.ch.integer(1 if positive or self.ch.chance(0.9) else 0, hi)
        return ast.DurationLit(S, amount, unit)

    def _names(self, b: Body, t: str) -> list[ast.Expr]:
        out: list[ast.Expr] = [name(n) for n, loc in b.locals().items() if loc.type == t]
        out += [name(n) for n, p in self.g.params.items() if p.type == t]
        out += [name(n) for n, (ct, _) in self.g.consts.items() if ct == t]
        out += [name(n) for n, vt in self.g.vars.items() if vt == t]
        return out

    def _task_leaves(self, b: Body, t: str) -> list[ast.Expr]:
        if b.task is None:
            return []
        task = name(b.task)
        out: list[ast.Expr] = [field(task, f) for f in TASK_INT_FIELDS.get(t, ())]
        out += [field(task, n) for n, vt in self.g.task_vars.items() if vt == t]
        if t == "duration":
            out += [field(task, "vtime"), field(task, "slice")]
        elif t == "cpu":
            out.append(field(task, "cpu"))
        elif t == "bool":
            out.append(field(task, "is_kthread"))
        return out

    def _storage_leaves(self, b: Body, t: str, depth: int) -> list[ast.Expr]:
        out: list[ast.Expr] = [
            ast.Index(S, name(a), self.index(b, size, depth))
            for a, (elem, size) in self.g.arrays.items()
            if elem == t
        ]
        out += [
            ast.Index(S, name(m), self.of(b, key, depth))
            for m, (key, value) in self.g.maps.items()
            if value == t
        ]
        return out

    def _any_queue(self) -> str:
        return self.ch.pick(("local", "global", *self.g.queues))

    def nonlit(self, b: Body, t: str) -> ast.Expr:
        """A value of type t that is neither a literal nor a const (always available)."""
        candidates = self._names(b, t) + self._task_leaves(b, t)
        candidates = [e for e in candidates if not self._is_const(e)]
        if candidates:
            return self.ch.pick(candidates)
        if t == "bool":
            return binary("==", name("nr_cpus"), lit(1))
        if t == "cpu":
            return cast(lit(0), "cpu")  # CPU 0 always exists
        return name("nr_cpus") if t == "u32" else cast(name("nr_cpus"), t)

    # ------------------------------------------------------------------ integers
    def _arith(self, b: Body, t: str, d: int) -> ast.Expr:
        op = self.ch.pick(("+", "-", "*", "&", "|", "^"))
        left, right = self.of(b, t, d), self.of(b, t, d)
        if pure(left) and pure(right):
            if op in ("*", "-") and t in UNSIGNED or op == "*":
                right = self.nonlit(b, t)
        return binary(op, left, right)

    def _divide(self, b: Body, t: str, d: int) -> ast.Expr:
        return binary(self.ch.pick(("/", "%")), self.of(b, t, d), self.divisor(b, t, d))

    def _shift(self, b: Body, t: str, d: int) -> ast.Expr:
        left = self.of(b, t, d)
        if pure(left):
            left = self.nonlit(b, t)
        amount: ast.Expr = lit(self.ch.integer(0, WIDTH_BITS[t] - 1))
        if self.ch.chance(0.3):
            amount = cast(amount, "u32")
        if self.ch.chance(0.2):
            amount = binary("&", self.nonlit(b, "u32"), lit(WIDTH_BITS[t] - 1))
        return binary(self.ch.pick(("<<", ">>")), left, amount)

    def _minmax(self, b: Body, t: str, d: int) -> ast.Expr:
        f = self.ch.pick(("min", "max", "clamp"))
        n = 3 if f == "clamp" else self.ch.integer(2, 3)
        return call(f, *(self.of(b, t, d) for _ in range(n)))

    def _cast(self, b: Body, t: str, d: int) -> ast.Expr:
        sources = [s for s in ("u32", "u64", "i32", "i64", "duration", "time", "cpu") if s != t]
        if t in INTS:
            sources.append("bool")
        src = self.ch.pick(sources)
        x = self.of(b, src, d)
        if self._foldable(x):  # a folded constant cast to a duration is a bare number
            x = self.nonlit(b, src)
        return cast(x, t)

    def _is_const(self, e: ast.Expr) -> bool:
        return isinstance(e, ast.Name) and e.ident in self.g.consts

    def _foldable(self, e: ast.Expr) -> bool:
        """Literals, consts and operators on them: the checker folds these to one literal."""
        match e:
            case ast.IntLit() | ast.DurationLit() | ast.BoolLit():
                return True
            case ast.Name():
                return self._is_const(e)
            case ast.Unary(operand=x) | ast.Cast(expr=x):
                return self._foldable(x)
            case ast.Binary(left=a, right=c):
                return self._foldable(a) and self._foldable(c)
            case ast.Call(func="min" | "max" | "clamp", args=args):
                return all(self._foldable(a) for a in args)
        return False

    def _abs(self, b: Body, t: str, d: int) -> ast.Expr:
        x = self.of(b, t, d)
        return call("abs", self.nonlit(b, t) if pure(x) else x)  # abs(5) would be a u64

    def _negate(self, b: Body, t: str, d: int) -> ast.Expr:
        return ast.Unary(S, "-", self.of(b, t, d))

    def _cpu_arith(self, b: Body, t: str, d: int) -> ast.Expr:
        return binary(self.ch.pick(("+", "*")), self.cpu(b, d), lit(self.ch.integer(0, 8)))

    def _ratio(self, b: Body, t: str, d: int) -> ast.Expr:
        return binary("/", self.of(b, "duration", d), self.divisor(b, "duration", d))

    # ------------------------------------------------------------------ durations and times
    def _dur_arith(self, b: Body, t: str, d: int) -> ast.Expr:
        return binary(self.ch.pick(("+", "-")), self.of(b, t, d), self.of(b, t, d))

    def _scale(self, b: Body, t: str, d: int) -> ast.Expr:
        n = self.of(b, self.ch.pick(UNSIGNED), d)
        if self.ch.chance(0.5):
            return binary("*", self.of(b, "duration", d), n)
        return binary("*", n, self.of(b, "duration", d))

    def _dur_divide(self, b: Body, t: str, d: int) -> ast.Expr:
        op = self.ch.pick(("/", "%"))
        by = self.ch.pick(("u64", "u32", "duration")) if op == "%" else self.ch.pick(UNSIGNED)
        return binary(op, self.of(b, "duration", d), self.divisor(b, by, d))

    def _elapsed(self, b: Body, t: str, d: int) -> ast.Expr:
        return binary("-", self.of(b, "time", d), self.of(b, "time", d))

    def _time_shift(self, b: Body, t: str, d: int) -> ast.Expr:
        shape = self.ch.integer(0, 2)
        if shape == 0:
            return binary("+", self.of(b, "time", d), self.of(b, "duration", d))
        if shape == 1:
            return binary("+", self.of(b, "duration", d), self.of(b, "time", d))
        return binary("-", self.of(b, "time", d), self.of(b, "duration", d))

    # ------------------------------------------------------------------ cpus
    def cpu(self, b: Body, d: int) -> ast.Expr:
        """A CPU used at once (kick, allowed, a comparison): sometimes an unproven `as cpu`
        conversion, which the generated code checks where it is used."""
        if self.ch.chance(0.05):
            return cast(self.of(b, "u32", d), "cpu")
        return self.kept_cpu(b, d)

    def kept_cpu(self, b: Body, d: int) -> ast.Expr:
        """A `cpu` that may be stored: proven below the CPU limit (`cpu-range`). Sometimes a
        conversion wrapped below the limit, which may still name a CPU the machine does not
        have (the limit is 64, not nr_cpus)."""
        if self.ch.chance(0.05):
            return cast(binary("%", self.of(b, "u32", d), lit(DEFAULT_MAX_CPUS)), "cpu")
        return self.of(b, "cpu", d)

    # ------------------------------------------------------------------ bools
    def _compare(self, b: Body, t: str, d: int) -> ast.Expr:
        kind = self.ch.pick(("u64", "u32", "duration", "time", "cpu", "i64", "i32", "bool"))
        if kind == "bool":
            return binary(self.ch.pick(("==", "!=")), self.of(b, kind, d), self.of(b, kind, d))
        if kind == "time" and self.ch.chance(0.3):
            return binary(self.ch.pick(("==", "!=")), self.of(b, kind, d), lit(0))
        if kind == "cpu":
            right = lit(self.ch.integer(0, 3)) if self.ch.chance(0.5) else self.cpu(b, d)
            return binary(self.ch.pick(COMPARE), self.cpu(b, d), right)
        return binary(self.ch.pick(COMPARE), self.of(b, kind, d), self.of(b, kind, d))

    def _logic(self, b: Body, t: str, d: int) -> ast.Expr:
        return binary(self.ch.pick(("and", "or")), self.of(b, t, d), self.of(b, t, d))

    def _not(self, b: Body, t: str, d: int) -> ast.Expr:
        return ast.Unary(S, "not", self.of(b, t, d))

    def _task_bool(self, b: Body, t: str, d: int) -> ast.Expr:
        if b.task is None:
            return binary(">", call("queued", name(self._any_queue())), lit(0))
        task = name(b.task)
        shape = self.ch.integer(0, 3)
        if shape == 0:
            return call("allowed", task, self.cpu(b, d))
        if shape == 1:
            return call("startswith", field(task, "comm"), ast.StrLit(S, self.ch.pick(COMMS)))
        if shape == 2:
            op = self.ch.pick(("==", "!="))
            return binary(op, field(task, "comm"), ast.StrLit(S, self.ch.pick(COMMS)))
        return binary(">", call("queued", name(self._any_queue())), lit(0))

    # ------------------------------------------------------------------ calls
    def _fn_call(self, b: Body, t: str, d: int) -> ast.Expr:
        fns = [f for f in b.callable_fns if self.g.fns[f].ret == t and self.callable(b, f)]
        if not fns or b.loop_depth > 0:
            return self.leaf(b, t)
        f = self.ch.pick(fns)
        if self.g.fns[f].changes_state:  # its result only where nothing else is (FnInfo)
            return self.leaf(b, t)
        return self.fn_call(b, f, d)

    def callable(self, b: Body, f: str) -> bool:
        """An fn that takes a task can be called only where a task is in scope."""
        return b.task is not None or all(pt != "task" for _, pt in self.g.fns[f].params)

    def fn_call(self, b: Body, f: str, d: int) -> ast.Call:
        args = [
            name(b.task) if pt == "task" and b.task else self.of(b, pt, d)
            for _, pt in self.g.fns[f].params
        ]
        return call(f, *args)

    # ------------------------------------------------------------------ proofs
    def divisor(self, b: Body, t: str, d: int) -> ast.Expr:
        """A divisor of type t the checker proves non-zero."""
        if t == "duration":
            options: list[ast.Expr] = [self.duration_lit(positive=True)]
            options.append(call("max", self.of(b, t, d), dur(1)))
        else:
            lo = -50 if t in SIGNED else 1
            v = self.ch.integer(lo, 50)
            options = [lit(v if v != 0 else 7), call("max", self.of(b, t, d), lit(1))]
            if t == "u32":
                options.append(name("nr_cpus"))
                if b.task:
                    options.append(field(name(b.task), "nr_cpus_allowed"))
            if t == "u64" and b.task:
                options.append(field(name(b.task), "weight"))
        options += [name(n) for n, p in self.g.params.items() if p.type == t and p.lo >= 1]
        options += [name(n) for n, (ct, v) in self.g.consts.items() if ct == t and v != 0]
        options += [
            name(n)
            for n, loc in b.locals().items()
            if loc.type == t and not loc.mutable and loc.lo is not None and loc.lo >= 1
        ]
        return self.ch.pick(options)

    def index(self, b: Body, size: int | None, depth: int = 1) -> ast.Expr:
        """An index the checker proves below `size` (None: one slot per CPU)."""
        n = DEFAULT_MAX_CPUS if size is None else size
        options: list[ast.Expr] = [lit(self.ch.integer(0, n - 1))]
        wrapped = self.of(b, self.ch.pick(UNSIGNED), depth)
        options.append(binary("%", wrapped, lit(n)))
        if size is None:
            options += [self.of(b, "cpu", depth)] * 2
        options += [
            name(v)
            for v, loc in b.locals().items()
            if loc.type in UNSIGNED
            and not loc.mutable
            and loc.lo is not None
            and loc.lo >= 0
            and loc.hi is not None
            and loc.hi < n
        ]
        return self.ch.pick(options)

    def slice(self, b: Body) -> ast.Expr:
        """A slice the checker proves above 0 (however small: the generated code raises a
        tiny slice to its floor at run time)."""
        options: list[ast.Expr] = [self.duration_lit(positive=True)]
        options += [name(n) for n, p in self.g.params.items() if p.type == "duration" and p.lo >= 1]
        options += [name(n) for n, (ct, v) in self.g.consts.items() if ct == "duration" and v >= 1]
        options.append(call("max", self.of(b, "duration", 1), dur(100_000)))
        return self.ch.pick(options)

    def vtime(self, b: Body) -> ast.Expr:
        """A vtime within a bounded lead of the clock (an unbounded one parks a task)."""
        clock = cast(call("now"), "duration")
        if self.ch.chance(0.3):
            return clock
        lead = self.duration_lit(positive=True)
        low, high = binary("-", clock, lead), binary("+", clock, lead)
        return call("clamp", self.of(b, "duration", 1), low, high)

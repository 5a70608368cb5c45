"""Typing of expressions: AST expression → IR expression with its type.

Part of the typecheck pass (see typecheck.py, which owns statements and declarations). The
unit rules live here: what each operator accepts and gives, how an integer literal takes the
type its context wants, and when a value converts implicitly (only widening: u32 → u64,
i32 → i64). An expression that already failed has type VOID; operations on VOID report
nothing more, so one mistake gives one diagnostic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from schedlang import ast, ir
from schedlang import codes as C
from schedlang.diagnostics import Diagnostics
from schedlang.passes import fold
from schedlang.source import Span
from schedlang.types import INTEGERS, RANGE, SIGNED, UNSIGNED, Type, is_integer, is_unsigned_like

ERROR = Type.VOID  # the type of an expression that already has a diagnostic

BUILTIN_QUEUES = ("local", "global")
NR_CPUS = "nr_cpus"


@dataclass(frozen=True)
class Symbol:
    """What a global name refers to."""

    kind: str  # "param", "const", "queue", "var", "task var", "array", "map", "fn"
    type: Type
    span: Span
    value: int = 0  # consts: the folded value
    detail: object = (
        None  # params: ParamDecl; queues: QueueDecl; arrays, maps: their decl; fns: FnSig
    )


@dataclass(frozen=True)
class FnSig:
    params: tuple[Type, ...]
    ret: Type  # VOID when the fn returns nothing


@dataclass
class Scope:
    """Names visible in one function body: globals, then nested blocks of locals."""

    globals: dict[str, Symbol]
    callback: str | None  # the sched_ext op being checked, None inside an fn
    frames: list[dict[str, tuple[Type, bool]]] = field(default_factory=lambda: [{}])

    def lookup_local(self, name: str) -> tuple[Type, bool] | None:
        for frame in reversed(self.frames):
            if name in frame:
                return frame[name]
        return None

    def visible(self) -> list[str]:
        names = set(self.globals) | {NR_CPUS, *BUILTIN_QUEUES}
        for frame in self.frames:
            names |= set(frame)
        return sorted(names)


def poison(span: Span) -> ir.Expr:
    return ir.Lit(ERROR, span, 0)


class ExprChecker:
    """Types expressions in one scope; reports into diags."""

    def __init__(self, diags: Diagnostics, scope: Scope, task_vars: dict[str, ir.TaskVarDecl]):
        self.diags = diags
        self.scope = scope
        self.task_vars = task_vars

    # ------------------------------------------------------------------ entry points
    def check(self, e: ast.Expr) -> ir.Expr:
        method: Callable[[ast.Expr], ir.Expr] = getattr(self, "_" + type(e).__name__)
        return method(e)

    def check_as(self, e: ast.Expr, want: Type, what: str) -> ir.Expr:
        """Check e and convert it to `want` (the type its context requires)."""
        return self.coerce(self.check(e), want, what)

    def coerce(self, x: ir.Expr, want: Type, what: str) -> ir.Expr:
        have = x.type
        if have is ERROR or have is want:
            return x
        if have is Type.INT and isinstance(x, ir.Lit):
            return self._literal_as(x, want, what)
        if (have, want) in ((Type.U32, Type.U64), (Type.I32, Type.I64)):
            return ir.Cast(want, x.span, x)
        castable = _castable(have, want)
        if want is Type.DURATION and is_integer(have):
            message = C.COUNT_AS_DURATION_CASTABLE if castable else C.COUNT_AS_DURATION
        elif {have, want} <= INTEGERS and (have in SIGNED) != (want in SIGNED):
            message = C.SIGNS_DIFFER_CASTABLE if castable else C.SIGNS_DIFFER
        else:
            message = C.WRONG_TYPE_CASTABLE if castable else C.WRONG_TYPE
        self.diags.error(message, x.span, what=what, have=have, want=want)
        return poison(x.span)

    def _literal_as(self, x: ir.Lit, want: Type, what: str) -> ir.Expr:
        if want is Type.DURATION:
            message, fields = _bare_duration(x.value)
            self.diags.report(message, x.span, {**fields, "what": what})
            return poison(x.span)
        if want is Type.TIME and x.value == 0:
            return ir.Lit(Type.TIME, x.span, 0)
        if want is Type.TIME:
            self.diags.error(C.BARE_TIME, x.span, what=what)
            return poison(x.span)
        if want in INTEGERS or want is Type.CPU:
            lo, hi = RANGE[want]
            if not lo <= x.value <= hi:
                self.diags.error(C.DOES_NOT_FIT, x.span, value=x.value, want=want, lo=lo, hi=hi)
                return poison(x.span)
            return ir.Lit(want, x.span, x.value)
        self.diags.error(C.NUMBER_NOT_WANTED, x.span, what=what, want=want)
        return poison(x.span)

    def settle(self, x: ir.Expr) -> ir.Expr:
        """Give an integer literal that no context typed its default type, u64 (i64 if < 0)."""
        if x.type is Type.INT and isinstance(x, ir.Lit):
            return ir.Lit(Type.I64 if x.value < 0 else Type.U64, x.span, x.value)
        return x

    # ------------------------------------------------------------------ literals and names
    def _IntLit(self, e: ast.IntLit) -> ir.Expr:
        return self._constant(ir.Lit(Type.INT, e.span, e.value))

    def _DurationLit(self, e: ast.DurationLit) -> ir.Expr:
        return ir.Lit(Type.DURATION, e.span, e.nanoseconds)

    def _BoolLit(self, e: ast.BoolLit) -> ir.Expr:
        return ir.Lit(Type.BOOL, e.span, int(e.value))

    def _StrLit(self, e: ast.StrLit) -> ir.Expr:
        return ir.Str(Type.STR, e.span, e.value)

    def _Name(self, e: ast.Name) -> ir.Expr:
        local = self.scope.lookup_local(e.ident)
        if local is not None:
            return ir.Local(local[0], e.span, e.ident)
        if e.ident == NR_CPUS:
            return ir.NrCpus(Type.U32, e.span)
        if e.ident in BUILTIN_QUEUES:
            return ir.QueueRef(Type.QUEUE, e.span, e.ident, e.ident)
        sym = self.scope.globals.get(e.ident)
        if sym is None:
            if e.ident in self.task_vars:
                self.diags.error(C.TASK_VAR_BY_NAME, e.span, name=e.ident)
            else:
                suggest = C.did_you_mean(e.ident, self.scope.visible())
                self.diags.error(C.NAME_NOT_DECLARED, e.span, suggest=suggest, name=e.ident)
            return poison(e.span)
        match sym.kind:
            case "param":
                return ir.ParamRef(sym.type, e.span, e.ident)
            case "const":
                return ir.Lit(sym.type, e.span, sym.value)
            case "var":
                return ir.GlobalRef(sym.type, e.span, e.ident)
            case "queue":
                assert isinstance(sym.detail, ir.QueueDecl)
                return ir.QueueRef(Type.QUEUE, e.span, e.ident, sym.detail.kind)
            case "array" | "map":
                kind = "an array" if sym.kind == "array" else "a map"
                self.diags.error(C.CONTAINER_AS_VALUE, e.span, name=e.ident, kind=kind)
            case _:
                self.diags.error(C.NOT_A_VALUE, e.span, name=e.ident, kind=sym.kind)
        return poison(e.span)

    # ------------------------------------------------------------------ fields and indexing
    def _Field(self, e: ast.Field) -> ir.Expr:
        obj = self.check(e.obj)
        if obj.type is ERROR:
            return poison(e.span)
        if obj.type is Type.TASK:
            if e.name in ir.TASK_FIELDS:
                return ir.TaskField(ir.TASK_FIELDS[e.name][0], e.span, obj, e.name)
            if e.name in self.task_vars:
                return ir.TaskVarRef(self.task_vars[e.name].type, e.span, obj, e.name)
            names = sorted(ir.TASK_FIELDS) + sorted(self.task_vars)
            self.diags.error(
                C.NO_TASK_FIELD,
                e.name_span,
                suggest=C.did_you_mean(e.name, names),
                name=e.name,
                fields=", ".join(names),
            )
            return poison(e.span)
        if obj.type is Type.PICK:
            if e.name == "cpu":
                return ir.PickField(Type.CPU, e.span, obj, "cpu")
            if e.name == "idle":
                return ir.PickField(Type.BOOL, e.span, obj, "idle")
            self.diags.error(C.NO_PICK_FIELD, e.name_span, name=e.name)
            return poison(e.span)
        self.diags.error(C.NO_FIELDS, e.name_span, type=obj.type)
        return poison(e.span)

    def _Index(self, e: ast.Index) -> ir.Expr:
        sym = self.scope.globals.get(e.base.ident) if isinstance(e.base, ast.Name) else None
        if sym is None or sym.kind not in ("array", "map"):
            base = e.base.ident if isinstance(e.base, ast.Name) else "this value"
            suggest = C.did_you_mean(
                base, [n for n, s in self.scope.globals.items() if s.kind in ("array", "map")]
            )
            self.diags.error(C.NOT_INDEXABLE, e.base.span, suggest=suggest, name=base)
            return poison(e.span)
        if isinstance(sym.detail, ir.ArrayDecl):
            index = self.check(e.index)
            if index.type is Type.INT:
                index = self.coerce(index, Type.U32, "an array index")
            if index.type not in (ERROR, Type.CPU) and index.type not in INTEGERS:
                self.diags.error(C.INDEX_TYPE, e.index.span, type=index.type)
                index = poison(e.index.span)
            return ir.ArrayElem(sym.type, e.span, sym.detail.name, index)
        assert isinstance(sym.detail, ir.MapDecl)
        key = self.check_as(e.index, sym.detail.key, f"a key of map `{sym.detail.name}`")
        return ir.MapElem(sym.type, e.span, sym.detail.name, key)

    # ------------------------------------------------------------------ operators
    def _Cast(self, e: ast.Cast) -> ir.Expr:
        from schedlang.passes.typecheck import resolve_type

        raw = self.check(e.expr)
        want = resolve_type(e.to, self.diags)
        if raw.type is ERROR or want is None:
            return poison(e.span)
        if isinstance(raw, ir.Lit) and raw.type is Type.INT and want in (Type.DURATION, Type.TIME):
            # `as` converts a count of nanoseconds; a number written in the source has a unit
            if raw.value != 0 or want is Type.DURATION:
                return self._literal_as(raw, want, "`as` does not give a number a unit")
        x = self.settle(raw)
        if x.type is want:
            return x
        if isinstance(x, ir.Lit) and x.type is Type.U64 and (want in INTEGERS or want is Type.CPU):
            return self.coerce(ir.Lit(Type.INT, x.span, x.value), want, "the cast value")
        if not _castable(x.type, want):
            self.diags.error(C.CANNOT_CONVERT, e.span, have=x.type, want=want)
            return poison(e.span)
        return ir.Cast(want, e.span, x)

    def _Unary(self, e: ast.Unary) -> ir.Expr:
        x = self.check(e.operand)
        if x.type is ERROR:
            return poison(e.span)
        if e.op == "not":
            if x.type is not Type.BOOL:
                self.diags.error(C.NOT_NEEDS_BOOL, e.span, type=x.type)
                return poison(e.span)
            if isinstance(x, ir.Lit):
                return ir.Lit(Type.BOOL, e.span, 1 - x.value)
            return ir.Unary(Type.BOOL, e.span, "not", x)
        if x.type is Type.INT and isinstance(x, ir.Lit):
            return self._constant(ir.Lit(Type.INT, e.span, -x.value))
        if x.type not in SIGNED:
            self.diags.error(C.CANNOT_NEGATE, e.span, type=x.type)
            return poison(e.span)
        return ir.Unary(x.type, e.span, "neg", x)

    def _Binary(self, e: ast.Binary) -> ir.Expr:
        left, right = self.check(e.left), self.check(e.right)
        if ERROR in (left.type, right.type):
            return poison(e.span)
        if e.op in ("and", "or"):
            for side in (left, right):
                if side.type is not Type.BOOL:
                    self.diags.error(C.LOGIC_NEEDS_BOOLS, side.span, op=e.op, type=side.type)
                    return poison(e.span)
            if isinstance(left, ir.Lit) and isinstance(right, ir.Lit):  # a constant condition
                both = (
                    (left.value and right.value) if e.op == "and" else (left.value or right.value)
                )
                return ir.Lit(Type.BOOL, e.span, int(bool(both)))
            return ir.Binary(Type.BOOL, e.span, e.op, left, right)
        return self.binary(e.op, left, right, e.span)

    def binary(self, op: str, left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
        """Type one arithmetic or comparison operator (also used for `x op= e`)."""
        if ERROR in (left.type, right.type):
            return poison(span)
        result = self._binary_type(op, left, right, span)
        if result is None:
            return poison(span)
        rtype, left, right = result
        if rtype is ERROR:
            return poison(span)
        irop = "sat-" if op == "-" and is_unsigned_like(left.type) else op
        if op in ("<<", ">>") and not self._shift_in_width(left, right):
            return poison(span)
        folded = _fold(irop, left, right, rtype, span)
        if folded is not None:
            return self._constant(folded)
        if rtype is Type.INT:  # literals that must not fold (x / 0): give them their default type
            left, right = self.settle(left), self.settle(right)
            rtype = left.type
        return ir.Binary(rtype, span, irop, left, right)

    def _shift_in_width(self, left: ir.Expr, right: ir.Expr) -> bool:
        """A constant shift amount is below the width of what it shifts (C leaves a shift by
        the width or more undefined, so no value for it can be promised)."""
        bits = fold.BITS.get(left.type, 64)
        if isinstance(right, ir.Lit) and not 0 <= right.value < bits:
            self.diags.error(
                C.SHIFT_PAST_32_BITS if bits == 32 else C.SHIFT_PAST_64_BITS,
                right.span,
                amount=right.value,
                bits=bits,
                type=left.type,
                top=bits - 1,
            )
            return False
        return True

    def _constant(self, x: ir.Lit) -> ir.Expr:
        """An untyped constant expression stays exact, but only within 64 bits: every step
        must be a value some 64-bit type holds, as it would be in C."""
        if x.type is Type.INT and not fold.CONST_MIN <= x.value <= fold.CONST_MAX:
            self.diags.error(
                C.CONSTANT_TOO_LARGE,
                x.span,
                magnitude=_magnitude(x.value),
                lo=fold.CONST_MIN,
                hi=fold.CONST_MAX,
            )
            return poison(x.span)
        return x

    def _binary_type(
        self, op: str, left: ir.Expr, right: ir.Expr, span: Span
    ) -> tuple[Type, ir.Expr, ir.Expr] | None:
        lt, rt = left.type, right.type
        units = {Type.DURATION, Type.TIME}
        if op in ("==", "!=") and {lt, rt} <= {Type.COMM, Type.STR}:
            if lt is rt:
                return self._bad(op, lt, rt, span, C.COMM_WITH_COMM)
            return Type.BOOL, left, right
        if lt in units or rt in units:
            return self._unit_binary(op, left, right, span)
        if op in ir.COMPARE_OPS:
            if lt is Type.BOOL or rt is Type.BOOL:
                if lt is rt and op in ("==", "!="):
                    return Type.BOOL, left, right
                return self._bad(op, lt, rt, span)
            common = self._unify(left, right, span, allow_cpu=True)
            if common is None:
                return None
            # a cpu compared with a plain unsigned number is compared as that number
            if common is not Type.CPU:
                left = ir.Cast(common, left.span, left) if lt is Type.CPU else left
                right = ir.Cast(common, right.span, right) if rt is Type.CPU else right
            return (
                Type.BOOL,
                self.coerce(left, common, "the left side"),
                self.coerce(right, common, "the right side"),
            )
        if lt is Type.CPU or rt is Type.CPU:
            # arithmetic on a cpu no longer names a CPU: it is a plain u32
            left = ir.Cast(Type.U32, left.span, left) if lt is Type.CPU else left
            right = ir.Cast(Type.U32, right.span, right) if rt is Type.CPU else right
            lt, rt = left.type, right.type
        if not (is_integer(lt) and is_integer(rt)):
            return self._bad(op, lt, rt, span)
        if op in ("<<", ">>"):
            left = self.settle(left)
            return (
                left.type,
                left,
                self.coerce(right, Type.U32, "a shift amount") if right.type is Type.INT else right,
            )
        common = self._unify(left, right, span, allow_cpu=False)
        if common is None:
            return None
        return (
            common,
            self.coerce(left, common, "the left side") if common is not Type.INT else left,
            (self.coerce(right, common, "the right side") if common is not Type.INT else right),
        )

    def _unit_binary(
        self, op: str, left: ir.Expr, right: ir.Expr, span: Span
    ) -> tuple[Type, ir.Expr, ir.Expr] | None:
        """The unit algebra of durations and times (see docs/language.md, Types)."""
        lt, rt = left.type, right.type
        D, T = Type.DURATION, Type.TIME
        if op in ir.COMPARE_OPS:
            if lt is rt:
                return Type.BOOL, left, right
            if Type.INT in (lt, rt) and T in (lt, rt):
                other = left if lt is Type.INT else right
                if isinstance(other, ir.Lit) and other.value == 0:
                    z = ir.Lit(T, other.span, 0)
                    return (Type.BOOL, z, right) if lt is Type.INT else (Type.BOOL, left, z)
            return self._bad(op, lt, rt, span, self._unit_hint(op, lt, rt))
        table: dict[tuple[str, Type, Type], Type] = {
            ("+", D, D): D,
            ("-", D, D): D,
            ("+", T, D): T,
            ("+", D, T): T,
            ("-", T, D): T,
            ("-", T, T): D,
            ("/", D, D): Type.U64,
            ("%", D, D): D,
        }
        if (op, lt, rt) in table:
            return table[(op, lt, rt)], left, right
        scaled = (op in ("*", "/", "%") and lt is D and is_integer(rt)) or (
            op == "*" and rt is D and is_integer(lt)
        )
        if scaled:
            count = right if lt is D else left
            if count.type in SIGNED:
                self.diags.error(C.SIGNED_SCALE, count.span, type=count.type)
                return None
            if isinstance(count, ir.Lit) and count.type is Type.INT:
                count = self.coerce(count, Type.U64, "the factor")
            return (D, left, count) if lt is D else (D, count, right)
        return self._bad(op, lt, rt, span, self._unit_hint(op, lt, rt))

    @staticmethod
    def _unit_hint(op: str, lt: Type, rt: Type) -> C.Message:
        if Type.TIME in (lt, rt) and op in ("*", "/", "%"):
            return C.TIME_NOT_SCALED
        if op in ("+", "-", *ir.COMPARE_OPS) and (Type.INT in (lt, rt) or INTEGERS & {lt, rt}):
            return C.BARE_NUMBER_IN_UNITS
        return C.UNIT_ALGEBRA

    def _unify(self, left: ir.Expr, right: ir.Expr, span: Span, *, allow_cpu: bool) -> Type | None:
        lt, rt = left.type, right.type
        if lt is rt:
            return lt
        if lt is Type.INT:
            return rt
        if rt is Type.INT:
            return lt
        if allow_cpu and Type.CPU in (lt, rt) and {lt, rt} - {Type.CPU} <= UNSIGNED:
            return Type.U32 if {lt, rt} == {Type.CPU, Type.U32} else Type.U64
        if {lt, rt} <= UNSIGNED:
            return Type.U64
        if {lt, rt} <= SIGNED:
            return Type.I64
        if {lt, rt} <= INTEGERS:
            self.diags.error(C.SIGNS_MIXED, span, left=lt, right=rt)
            return None
        self._bad("combine", lt, rt, span)
        return None

    def _bad(
        self, op: str, lt: Type, rt: Type, span: Span, message: C.Message = C.OPERAND_TYPES
    ) -> tuple[Type, ir.Expr, ir.Expr] | None:
        self.diags.error(message, span, op=op, left=lt, right=rt)
        return None

    # ------------------------------------------------------------------ calls
    def _Call(self, e: ast.Call) -> ir.Expr:
        from schedlang.passes.calls import check_call

        return check_call(self, e)


def _castable(have: Type, want: Type) -> bool:
    numeric = INTEGERS | {Type.CPU, Type.DURATION, Type.TIME}
    return (have in numeric and want in numeric) or (have is Type.BOOL and want in INTEGERS)


def _fold(op: str, left: ir.Expr, right: ir.Expr, rtype: Type, span: Span) -> ir.Lit | None:
    """Fold an operator on two literals (fold.py has the rules); None when it must not."""
    if not (isinstance(left, ir.Lit) and isinstance(right, ir.Lit)):
        return None
    value = fold.fold(op, left.value, right.value, left.type)
    return None if value is None else ir.Lit(rtype, span, value)


def _magnitude(value: int) -> str:
    """A constant far too large to print in a message, by its number of digits."""
    digits = len(str(abs(value)))
    return str(value) if digits <= 40 else f"a {digits}-digit number"


def _bare_duration(value: int) -> tuple[C.Message, dict[str, object]]:
    """How to write `value` as a duration: every unit for a small number; for a large one
    (most likely nanoseconds), the nanoseconds and the same length in its largest unit."""
    if abs(value) < 1000:
        return C.BARE_SMALL_DURATION, {"value": value}
    for unit, scale in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if value % scale == 0:
            return C.BARE_ROUND_DURATION, {"value": value, "scaled": value // scale, "unit": unit}
    return C.BARE_DURATION, {"value": value}

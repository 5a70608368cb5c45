"""Whole policies: declarations of every kind, fns, callbacks, in a shuffled order.

Names carry a prefix per kind (`p` params, `K` consts, `q` queues, `v` vars, `tv` task vars,
`a` arrays, `m` maps, `f` fns, locals `l`/`k`/`d`/`i`/`c`), so two declarations never clash
and no name is a keyword or a built-in. An fn may call only fns declared before it in the
generation order, so the call graph has no cycles.
"""

from __future__ import annotations

import dataclasses

from schedlang import ast
from schedlang.fuzzgen.choices import Choices
from schedlang.fuzzgen.exprs import Exprs, S, dur, lit
from schedlang.fuzzgen.scope import INTS, SIGNED, Body, FnInfo, Globals, Local, ParamInfo
from schedlang.fuzzgen.stmts import Stmts

DESCRIPTIONS = ("a generated policy", 'quotes " and \\ backslash', "tab\there", "ünïcödé")
TASK_NAMES = ("t", "p", "tsk")
# Callbacks other than the three with a shape of their own (select_cpu, enqueue, dispatch).
PLAIN_CALLBACKS: dict[str, tuple[str, ...]] = {
    "runnable": ("task", "u64"),
    "running": ("task",),
    "stopping": ("task", "bool"),
    "quiescent": ("task", "u64"),
    "tick": ("task",),
    "enable": ("task",),
    "init": (),
}
PARAM_NAMES = {"task": TASK_NAMES, "u64": ("flags", "f", "enq_flags"), "bool": ("runnable", "r")}
STORE_TYPES = ("u64", "u32", "duration", "time", "bool", "cpu", "i64", "i32")
ELEM_TYPES = ("u64", "u32", "duration", "time", "cpu", "i64", "i32")
KEY_TYPES = ("u32", "u64", "i64", "cpu")
FN_PARAM_TYPES = ("u64", "task", "u32", "duration", "bool", "time", "cpu", "i64")


class ProgramGen:
    def __init__(self, ch: Choices) -> None:
        self.ch = ch
        self.g = Globals()
        self.ex = Exprs(ch, self.g)
        self.st = Stmts(ch, self.g, self.ex)

    def program(self, name: str) -> ast.Scheduler:
        decls = self._data_decls()
        decls += self._fns()
        decls += self._callbacks()
        for i in range(len(decls) - 1, 0, -1):  # any order is valid: shuffle
            j = self.ch.integer(0, i)
            decls[i], decls[j] = decls[j], decls[i]
        return ast.Scheduler(S, name, self.ch.pick(DESCRIPTIONS), tuple(decls), S)

    # ------------------------------------------------------------------ values
    def _constant(self, t: str) -> ast.Expr:
        """A literal of type t (declaration initialisers must be constants)."""
        if t == "duration":
            return self.ex.duration_lit()
        if t == "bool":
            return ast.BoolLit(S, self.ch.chance(0.5))
        if t in ("time", "cpu"):
            return lit(0)
        return lit(self.ch.integer(-100 if t in SIGNED else 0, 100))

    def _value(self, e: ast.Expr) -> int:
        match e:
            case ast.IntLit(value=v):
                return v
            case ast.Unary(op="-", operand=ast.IntLit(value=v)):
                return -v
            case ast.DurationLit():
                return e.nanoseconds
            case ast.BoolLit(value=v):
                return int(v)
        raise ValueError(f"not a literal: {e}")

    # ------------------------------------------------------------------ declarations
    def _data_decls(self) -> list[ast.Decl]:
        g, ch = self.g, self.ch
        out: list[ast.Decl] = []
        for i in range(ch.count(3)):
            out.append(self._param("slice" if i == 0 and ch.chance(0.2) else f"p{i}"))
        for i in range(ch.count(2)):
            t = ch.pick(("u32", "u64", "duration", "i64", "bool"))
            value = self._constant(t)
            if t == "u32":
                value = lit(ch.integer(1, 16))
            g.consts[f"K{i}"] = (t, self._value(value))
            out.append(ast.Const(S, f"K{i}", S, ast.TypeName(S, t), value))
        for i in range(ch.count(3)):
            g.queues[f"q{i}"] = ch.pick(("fifo", "vtime"))
            out.append(ast.Queue(S, f"q{i}", S, g.queues[f"q{i}"]))
        for i in range(ch.count(3)):
            t = ch.pick(STORE_TYPES)
            g.vars[f"v{i}"] = t
            out.append(ast.Var(S, f"v{i}", S, ast.TypeName(S, t), self._constant(t)))
        for i in range(ch.count(3)):
            t = ch.pick(STORE_TYPES)
            g.task_vars[f"tv{i}"] = t
            out.append(ast.TaskVar(S, f"tv{i}", S, ast.TypeName(S, t), self._constant(t)))
        for i in range(ch.count(3)):
            t = ch.pick(ELEM_TYPES)
            size = None if ch.chance(0.4) else ch.pick((1, 2, 8, 16, 64, 100, 1024))
            g.arrays[f"a{i}"] = (t, size)
            size_e = None if size is None else lit(size)
            out.append(ast.Array(S, f"a{i}", S, ast.TypeName(S, t), size_e))
        for i in range(ch.count(2)):
            k, v = ch.pick(KEY_TYPES), ch.pick(STORE_TYPES)
            g.maps[f"m{i}"] = (k, v)
            cap = lit(ch.pick((1, 16, 1024, 4096)))
            key_t, value_t = ast.TypeName(S, k), ast.TypeName(S, v)
            out.append(ast.MapDecl(S, f"m{i}", S, key_t, value_t, self._constant(v), cap))
        return out

    def _param(self, name: str) -> ast.Param:
        ch = self.ch
        t = "duration" if name == "slice" else ch.pick(("duration", "u32", "u64", "i64", "bool"))
        if t == "duration":
            lo = ch.pick((0, 1000, 100_000, 1_000_000))
            hi = lo + ch.pick((1000, 1_000_000, 50_000_000))
            default = ch.integer(lo, hi)
            self.g.params[name] = ParamInfo(t, lo, hi)
            typ = ast.TypeName(S, t)
            return ast.Param(S, name, S, typ, dur(default), dur(lo), dur(hi))
        if t == "bool":
            self.g.params[name] = ParamInfo(t, 0, 1)
            d = ast.BoolLit(S, ch.chance(0.5))
            return ast.Param(
                S, name, S, ast.TypeName(S, t), d, ast.BoolLit(S, False), ast.BoolLit(S, True)
            )
        lo = ch.integer(-10 if t in SIGNED else 0, 10)
        hi = lo + ch.integer(0, 1000)
        default = ch.integer(lo, hi)
        self.g.params[name] = ParamInfo(t, lo, hi)
        return ast.Param(S, name, S, ast.TypeName(S, t), lit(default), lit(lo), lit(hi))

    # ------------------------------------------------------------------ fns
    def _fns(self) -> list[ast.Decl]:
        out: list[ast.Decl] = []
        for i in range(self.ch.count(3)):
            params = tuple((f"x{j}", self.ch.pick(FN_PARAM_TYPES)) for j in range(self.ch.count(3)))
            ret = (
                None
                if self.ch.chance(0.3)
                else self.ch.pick((*INTS, "duration", "bool", "time", "cpu"))
            )
            task = next((n for n, t in params if t == "task"), None)
            body = Body(None, task, tuple(self.g.fns), void=ret is None, ret=ret)
            for n, t in params:
                if t != "task":
                    body.declare(n, Local(t, False))
            stmts = self.st.fn_body(body, ret)
            self.g.fns[f"f{i}"] = FnInfo(params, ret, self._changes_state(stmts))
            fparams = tuple(ast.FnParam(S, n, ast.TypeName(S, t)) for n, t in params)
            rtype = ast.TypeName(S, ret) if ret else None
            out.append(ast.Fn(S, f"f{i}", S, fparams, rtype, ast.Block(S, tuple(stmts))))
        return out

    def _changes_state(self, stmts: list[ast.Stmt]) -> bool:
        """Whether statements change anything outside their locals (see FnInfo)."""
        todo: list[object] = list(stmts)
        while todo:
            node = todo.pop()
            match node:
                case ast.Insert() | ast.Kick():
                    return True
                case ast.Assign(target=ast.Name(ident=n)) if n in self.g.vars:
                    return True
                case ast.Assign(target=ast.Index() | ast.Field()):
                    return True
                case ast.Call(func=f) if f in self.g.fns and self.g.fns[f].changes_state:
                    return True
            if dataclasses.is_dataclass(node):
                for part in dataclasses.fields(node):
                    value = getattr(node, part.name)
                    todo += value if isinstance(value, tuple) else [value]
        return False

    # ------------------------------------------------------------------ callbacks
    def _callbacks(self) -> list[ast.Decl]:
        ch = self.ch
        out: list[ast.Decl] = []
        fns = tuple(self.g.fns)
        if ch.chance(0.5):
            t, prev, flags = ch.pick(TASK_NAMES), ch.pick(("prev", "prev_cpu")), "wake_flags"
            b = Body("select_cpu", t, fns, void=False)
            b.declare(prev, Local("cpu", False))
            b.declare(flags, Local("u64", False))
            stmts = self.st.select_cpu(b, prev, flags)
            out.append(self._callback("select_cpu", (t, prev, flags), stmts, "cpu"))
        if ch.chance(0.9):
            t, flags = ch.pick(TASK_NAMES), ch.pick(PARAM_NAMES["u64"])
            b = Body("enqueue", t, fns, void=False)
            b.declare(flags, Local("u64", False))
            out.append(self._callback("enqueue", (t, flags), self.st.enqueue(b)))
        if self.g.queues or ch.chance(0.3):
            c = ch.pick(("c", "cpu_id", "this_cpu"))
            b = Body("dispatch", None, fns, void=True)
            b.declare(c, Local("cpu", False))
            stmts = self.st.dispatch(b, list(self.g.queues))
            out.append(self._callback("dispatch", (c,), stmts))
        for op, types in PLAIN_CALLBACKS.items():
            if not ch.chance(0.35):
                continue
            names = [ch.pick(PARAM_NAMES[t]) for t in types]
            task = names[0] if types and types[0] == "task" else None
            b = Body(op, task, fns, void=True)
            for n, t in zip(names, types, strict=True):
                if t != "task":
                    b.declare(n, Local(t, False))
            out.append(self._callback(op, tuple(names), self.st.block(b, 5, 2)))
        return out

    @staticmethod
    def _callback(
        op: str, params: tuple[str, ...], stmts: list[ast.Stmt], ret: str | None = None
    ) -> ast.Callback:
        ps = tuple(ast.CallbackParam(S, n) for n in params)
        rtype = ast.TypeName(S, ret) if ret else None
        return ast.Callback(S, op, S, ps, rtype, ast.Block(S, tuple(stmts)))

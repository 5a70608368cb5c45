"""Statement and body generation: blocks the checker accepts, for every callback and fn.

The path rules shape the bodies: `enqueue` ends in an *insert tree* (one insert, or an if/else
whose every branch ends in one), so every path inserts exactly once; `select_cpu` returns a
`cpu` on every path and inserts at most once; `dispatch` moves from every declared queue.
Loops never nest and never call fns, which keeps the instruction estimate small; early
returns appear only where the path rules allow them.
"""

from __future__ import annotations

from collections.abc import Callable

from schedlang import ast
from schedlang.fuzzgen.choices import Choices
from schedlang.fuzzgen.exprs import Exprs, S, binary, call, dur, field, lit, name
from schedlang.fuzzgen.scope import INTS, SIGNED, UNSIGNED, Body, Globals, Local

ASSIGNABLE_OPS = {
    "u32": ("=", "+=", "-=", "*=", "/="),
    "u64": ("=", "+=", "-=", "*=", "/="),
    "i32": ("=", "+=", "-=", "*=", "/="),
    "i64": ("=", "+=", "-=", "*=", "/="),
    "duration": ("=", "+=", "-=", "*=", "/="),
    "time": ("=", "+=", "-="),
}
LET_TYPES = ("u64", "u32", "duration", "bool", "time", "cpu", "i64", "i32")


class Stmts:
    def __init__(self, ch: Choices, g: Globals, ex: Exprs) -> None:
        self.ch = ch
        self.g = g
        self.ex = ex

    # ------------------------------------------------------------------ blocks
    def block(self, b: Body, n: int, depth: int) -> list[ast.Stmt]:
        """Up to n statements in the current scope."""
        out: list[ast.Stmt] = []
        for _ in range(self.ch.count(n)):
            out += self.stmt(b, depth)
        return out

    def scoped(self, b: Body, n: int, depth: int, tail: list[ast.Stmt] | None = None) -> ast.Block:
        b.push()
        body = self.block(b, n, depth) + (tail or [])
        b.pop()
        return ast.Block(S, tuple(body))

    def stmt(self, b: Body, depth: int) -> list[ast.Stmt]:
        kinds = ["let", "assign", "assign", "let"]
        if depth > 0:
            kinds += ["if", "if"]
            if b.loop_depth == 0:
                kinds += ["for"]
        kinds += ["kick", "call", "guard_index", "guard_div"]
        # no early return from dispatch: a guard that folds to true (`if 0 == 0 { return }`)
        # would make the moves unreachable, and the checker rejects a queue that no
        # reachable path moves from (starving-queue)
        if b.void and b.loop_depth == 0 and depth > 0 and b.callback != "dispatch":
            kinds.append("early_return")
        kind = self.ch.pick(kinds)
        return getattr(self, "_" + kind)(b, depth)

    # ------------------------------------------------------------------ simple statements
    def _let(self, b: Body, depth: int) -> list[ast.Stmt]:
        t = self.ch.pick(LET_TYPES)
        n = b.fresh("l")
        annotate = t not in ("bool", "duration", "time", "cpu") or self.ch.chance(0.5)
        value = self.ex.kept_cpu(b, 2) if t == "cpu" else self.ex.of(b, t, 2, loose=annotate)
        b.declare(n, Local(t, True))
        return [ast.Let(S, n, ast.TypeName(S, t) if annotate else None, value)]

    def targets(self, b: Body) -> list[tuple[ast.Expr, str]]:
        """Every assignable place in scope, with its type."""
        out: list[tuple[ast.Expr, str]] = [
            (name(n), loc.type) for n, loc in b.locals().items() if loc.mutable
        ]
        out += [(name(n), t) for n, t in self.g.vars.items()]
        if b.task is not None:
            task = name(b.task)
            out += [(field(task, n), t) for n, t in self.g.task_vars.items()]
            out += [(field(task, "vtime"), "duration"), (field(task, "slice"), "duration")]
        out += [
            (ast.Index(S, name(a), self.ex.index(b, size)), elem)
            for a, (elem, size) in self.g.arrays.items()
        ]
        out += [
            (ast.Index(S, name(m), self.ex.of(b, key, 1)), value)
            for m, (key, value) in self.g.maps.items()
        ]
        return [(e, t) for e, t in out if t != "pick"]

    def _assign(self, b: Body, depth: int) -> list[ast.Stmt]:
        targets = self.targets(b)
        if not targets:
            return self._let(b, depth)
        target, t = self.ch.pick(targets)
        op = self.ch.pick(ASSIGNABLE_OPS.get(t, ("=",)))
        if _sets_running_slice(target, b):
            # replaces the slice the task runs with: proven above 0, as the checker asks
            return [ast.Assign(S, target, "=", self.ex.slice(b))]
        if op == "=":
            value = self.ex.kept_cpu(b, 2) if t == "cpu" else self.ex.of(b, t, 2, loose=True)
        elif t == "duration" and op in ("*=", "/="):
            by = self.ch.pick(UNSIGNED)
            value = self.ex.of(b, by, 1) if op == "*=" else self.ex.divisor(b, by, 1)
        elif t == "time":
            value = self.ex.of(b, "duration", 2)
        elif op == "/=":
            value = self.ex.divisor(b, t, 1)
        else:
            value = self.ex.of(b, t, 2)
        return [ast.Assign(S, target, op, value)]

    def _kick(self, b: Body, depth: int) -> list[ast.Stmt]:
        mode = self.ch.pick((None, "idle", "preempt"))
        cpu = lit(0) if self.ch.chance(0.1) else self.ex.cpu(b, 1)
        return [ast.Kick(S, cpu, mode)]

    def _call(self, b: Body, depth: int) -> list[ast.Stmt]:
        fns = [f for f in b.callable_fns if self.ex.callable(b, f)]
        if not fns or b.loop_depth > 0:
            return self._assign(b, depth)
        return [ast.ExprStmt(S, self.ex.fn_call(b, self.ch.pick(fns), 1))]

    # ------------------------------------------------------------------ nested statements
    def _if(self, b: Body, depth: int) -> list[ast.Stmt]:
        return [self.if_chain(b, depth, lambda: [])]

    def if_chain(self, b: Body, depth: int, tail: Callable[[], list[ast.Stmt]]) -> ast.If:
        """`if c {..} [else if c {..}]* [else {..}]`; `tail()` ends every branch."""
        cond = self.ex.of(b, "bool", 2)
        then = self.scoped(b, 2, depth - 1, tail())
        orelse: ast.Block | ast.If | None = None
        shape = self.ch.integer(0, 2)
        if shape == 1:
            orelse = self.scoped(b, 2, depth - 1, tail())
        elif shape == 2:
            orelse = self.if_chain(b, depth - 1, tail) if depth > 1 else None
        return ast.If(S, cond, then, orelse)

    def _for(self, b: Body, depth: int) -> list[ast.Stmt]:
        b.loop_depth += 1
        b.push()
        var = b.fresh("i" if self.ch.chance(0.6) else "c")
        if var.startswith("c"):
            b.declare(var, Local("cpu", False))
            body = self.block(b, 3, depth - 1)
            stmt: ast.Stmt = ast.ForCpus(S, var, ast.Block(S, tuple(body)))
        else:
            lo_v = self.ch.integer(0, 3)
            hi_v = self.ch.integer(lo_v + 1, 16)
            hi: ast.Expr = lit(hi_v)
            consts = [n for n, (t, v) in self.g.consts.items() if t == "u32" and 0 < v <= 16]
            if consts and self.ch.chance(0.3):
                k = self.ch.pick(consts)
                hi, hi_v = name(k), max(self.g.consts[k][1], lo_v + 1)
                lo_v = min(lo_v, hi_v - 1)
            b.declare(var, Local("u32", False, lo_v, hi_v - 1))
            body = self.block(b, 3, depth - 1)
            stmt = ast.ForRange(S, var, lit(lo_v), hi, ast.Block(S, tuple(body)))
        b.pop()
        b.loop_depth -= 1
        return [stmt]

    def _guard_index(self, b: Body, depth: int) -> list[ast.Stmt]:
        """`let k = e  if k < N { a[k] op= v }`: the guard is what proves the index."""
        if not self.g.arrays:
            return self._guard_div(b, depth)
        arr = self.ch.pick(list(self.g.arrays))
        elem, size = self.g.arrays[arr]
        n = 64 if size is None else size
        k = b.fresh("k")
        t = self.ch.pick(UNSIGNED)
        let = ast.Let(S, k, ast.TypeName(S, t), self.ex.of(b, t, 2, loose=True))
        b.declare(k, Local(t, False))  # never reassigned: the guard must stay true
        b.push()
        b.declare(k, Local(t, False, 0, n - 1))
        value = self.ex.of(b, elem, 1)
        body: list[ast.Stmt] = [ast.Assign(S, ast.Index(S, name(arr), name(k)), "=", value)]
        body += self.block(b, 1, depth - 1)
        b.pop()
        cond = binary("<", name(k), lit(n))
        if self.ch.chance(0.3):
            cond = binary("and", cond, self.ex.of(b, "bool", 1))
        return [let, ast.If(S, cond, ast.Block(S, tuple(body)), None)]

    def _guard_div(self, b: Body, depth: int) -> list[ast.Stmt]:
        """`let d = e  if d != 0 { let q = x / d }`: a divisor proven by a guard on a local."""
        t = self.ch.pick((*INTS, "duration"))
        d, q = b.fresh("d"), b.fresh("r")
        let = ast.Let(S, d, ast.TypeName(S, t), self.ex.of(b, t, 2, loose=True))
        b.declare(d, Local(t, False))  # never reassigned: the guard must stay true
        op = "!=" if t in SIGNED else self.ch.pick(("!=", ">"))
        b.push()
        if t not in SIGNED:  # later divisions in the block may use it too
            b.declare(d, Local(t, False, 1, None))
        div = self.ch.pick(("/", "%"))
        result = "u64" if t == "duration" and div == "/" else t
        value = binary(div, self.ex.of(b, t, 1), name(d))
        body: list[ast.Stmt] = [ast.Let(S, q, ast.TypeName(S, result), value)]
        b.declare(q, Local(result, True))
        body += self.block(b, 1, depth - 1)
        b.pop()
        zero = dur(0) if t == "duration" else lit(0)
        return [let, ast.If(S, binary(op, name(d), zero), ast.Block(S, tuple(body)), None)]

    def _early_return(self, b: Body, depth: int) -> list[ast.Stmt]:
        """`if c { return }` (only in bodies without a result and outside enqueue)."""
        cond = self.ex.of(b, "bool", 1)
        return [ast.If(S, cond, ast.Block(S, (ast.Return(S, None),)), None)]

    # ------------------------------------------------------------------ callback bodies
    def insert(self, b: Body, queue: str | None = None) -> ast.Insert:
        assert b.task is not None
        queues = ["global", "local", *self.g.queues]
        q = queue or self.ch.pick(queues)
        slice_ = self.ex.slice(b) if self.ch.chance(0.8) else None
        vtime = self.ex.vtime(b) if self.g.queues.get(q) == "vtime" else None
        return ast.Insert(S, name(b.task), q, S, None, slice_, vtime)

    def insert_tree(self, b: Body, depth: int) -> list[ast.Stmt]:
        """Statements that insert the task exactly once on every path."""
        assert b.task is not None
        shape = self.ch.integer(0, 2) if depth > 0 else 0
        if shape == 0:
            return [self.insert(b)]
        if shape == 1:  # `local on C`, guarded as the kernel requires
            cpu = self.ex.of(b, "cpu", 1)
            on = ast.Insert(S, name(b.task), "local", S, cpu, self.ex.slice(b), None)
            then = ast.Block(S, (on, *self._maybe_kick(cpu)))
            orelse = self.scoped(b, 1, 0, self.insert_tree(b, depth - 1))
            return [ast.If(S, call("allowed", name(b.task), cpu), then, orelse)]
        cond = self.ex.of(b, "bool", 2)
        then = self.scoped(b, 2, 1, self.insert_tree(b, depth - 1))
        orelse = self.scoped(b, 2, 1, self.insert_tree(b, depth - 1))
        return [ast.If(S, cond, then, orelse)]

    def _maybe_kick(self, cpu: ast.Expr) -> list[ast.Stmt]:
        mode = self.ch.pick(("idle", None, "preempt"))
        return [ast.Kick(S, cpu, mode)] if self.ch.chance(0.5) else []

    def enqueue(self, b: Body) -> list[ast.Stmt]:
        return self.block(b, 3, 2) + self.insert_tree(b, 2) + self.block(b, 2, 1)

    def select_cpu(self, b: Body, prev: str, flags: str) -> list[ast.Stmt]:
        assert b.task is not None
        task = name(b.task)
        out = self.block(b, 2, 1)
        shape = self.ch.integer(0, 2)
        if shape == 0:
            pick = b.fresh("pick")
            b.declare(pick, Local("pick", False))
            out.append(ast.Let(S, pick, None, call("default_cpu", task, name(prev), name(flags))))
            idle = [self.insert(b, "local")] if self.ch.chance(0.8) else []
            out.append(ast.If(S, field(name(pick), "idle"), ast.Block(S, tuple(idle)), None))
            out += self.block(b, 2, 1)
            out.append(ast.Return(S, field(name(pick), "cpu")))
        elif shape == 1:
            ins = [self.insert(b)] if self.ch.chance(0.5) else []
            then = ast.Block(S, (*ins, ast.Return(S, name(prev))))
            out.append(ast.If(S, call("allowed", task, name(prev)), then, None))
            picked = call("default_cpu", task, name(prev), name(flags))
            out.append(ast.Return(S, field(picked, "cpu")))
        else:
            out.append(ast.Return(S, self.ex.of(b, "cpu", 1)))
        return out

    def dispatch(self, b: Body, queues: list[str]) -> list[ast.Stmt]:
        """Moves from every queue, in a random order: a chain of `if not move_to_local(q)`,
        or one call per queue."""
        order = list(queues)
        for i in range(len(order) - 1, 0, -1):
            j = self.ch.integer(0, i)
            order[i], order[j] = order[j], order[i]
        out = self.block(b, 2, 1)
        if self.ch.chance(0.5):
            out += [ast.ExprStmt(S, call("move_to_local", name(q))) for q in order]
        elif order:
            chain: list[ast.Stmt] = [ast.ExprStmt(S, call("move_to_local", name(order[-1])))]
            for q in reversed(order[:-1]):
                cond = ast.Unary(S, "not", call("move_to_local", name(q)))
                chain = [ast.If(S, cond, ast.Block(S, tuple(chain)), None)]
            out += chain
        return out + self.block(b, 2, 1)

    def fn_body(self, b: Body, ret: str | None) -> list[ast.Stmt]:
        out = self.block(b, 4, 2)
        if ret is not None:
            out.append(ast.Return(S, self.ex.of(b, ret, 2, loose=True)))
        return out


def _sets_running_slice(target: ast.Expr, b: Body) -> bool:
    """A `t.slice` write where it may replace the slice of an inserted or running task
    (the params rule holds it to the insert's proof: docs/language.md 10.8)."""
    return (
        isinstance(target, ast.Field)
        and target.name == "slice"
        and b.callback in ("select_cpu", "enqueue", "running")
    )

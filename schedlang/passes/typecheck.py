"""The typecheck pass: syntax tree → IR, resolving every name and typing every expression.

It runs first because every safety rule needs types (a `cpu` index, a param's range, which
queue an `insert` names). It reports all the name and type errors of a file; declarations
are collected before any body is checked, so order of declaration does not matter. It also
enforces where statements may appear (`insert` only where the kernel accepts a dispatch).
Returns None when anything failed: later passes then do not run.
"""

from __future__ import annotations

from schedlang import ast, ir
from schedlang import codes as C
from schedlang.builtins import BUILTINS
from schedlang.callbacks import CALLBACKS
from schedlang.diagnostics import Diagnostics, Note
from schedlang.passes.exprs import (
    BUILTIN_QUEUES,
    ERROR,
    NR_CPUS,
    ExprChecker,
    FnSig,
    Scope,
    Symbol,
)
from schedlang.source import Span
from schedlang.types import DECLARABLE, INTEGERS, STORABLE, Type

# Where `insert` may stand: the kernel accepts a task's dispatch only while it is handed to
# the scheduler (select_cpu, enqueue).
INSERT_CALLBACKS = frozenset({"select_cpu", "enqueue"})
# Why a value cannot be kept in a `let`, where there is more to say than its type.
# Values a `let` cannot keep, with what to do instead.
_NOT_STORED: dict[Type, C.Message] = {Type.TASK: C.TASK_IN_LET, Type.COMM: C.COMM_IN_LET}
RESERVED = frozenset({NR_CPUS, *BUILTIN_QUEUES, *BUILTINS, "cpus", "true", "false"})
# The kernel keeps the scheduler's name in `char name[SCX_OPS_NAME_LEN]` (128) with its NUL
# and refuses to load a name that does not fit; it also names the output files.
MAX_SCHEDULER_NAME = 127


def resolve_type(t: ast.TypeName, diags: Diagnostics) -> Type | None:
    found = DECLARABLE.get(t.name)
    if found is None:
        diags.error(
            C.UNKNOWN_TYPE_NAME,
            t.span,
            suggest=C.did_you_mean(t.name, list(DECLARABLE)),
            name=t.name,
            types=", ".join(DECLARABLE),
        )
    return found


def run(tree: ast.Scheduler, diags: Diagnostics, *, path: str, max_cpus: int) -> ir.Program | None:
    before = len(diags)
    checker = _Typecheck(diags, max_cpus)
    program = checker.program(tree, path)
    failed = any(d.severity == "error" for d in diags.items[before:])
    return None if failed else program


class _Typecheck:
    def __init__(self, diags: Diagnostics, max_cpus: int) -> None:
        self.diags = diags
        self.max_cpus = max_cpus
        self.globals: dict[str, Symbol] = {}
        self.task_vars: dict[str, ir.TaskVarDecl] = {}

    # ------------------------------------------------------------------ declarations
    def program(self, tree: ast.Scheduler, path: str) -> ir.Program:
        if len(tree.name) > MAX_SCHEDULER_NAME:
            self.diags.error(
                C.SCHEDULER_NAME_TOO_LONG,
                tree.name_span,
                length=len(tree.name),
                limit=MAX_SCHEDULER_NAME,
            )
        params: list[ir.ParamDecl] = []
        queues: list[ir.QueueDecl] = []
        vars_: list[ir.VarDecl] = []
        arrays: list[ir.ArrayDecl] = []
        maps: list[ir.MapDecl] = []
        for d in tree.decls:
            if isinstance(d, ast.Callback | ast.TaskVar):
                continue
            if not self._declare_name(d):
                continue
            match d:
                case ast.Param():
                    p = self._param(d)
                    if p:
                        params.append(p)
                        self.globals[d.name] = Symbol("param", p.type, d.span, detail=p)
                case ast.Const():
                    self._const(d)
                case ast.Queue():
                    q = ir.QueueDecl(d.name, d.kind, len(queues), d.span)
                    queues.append(q)
                    self.globals[d.name] = Symbol("queue", Type.QUEUE, d.span, detail=q)
                case ast.Var():
                    v = self._storage(d, d.type, d.init, "var")
                    if v:
                        vars_.append(ir.VarDecl(d.name, v[0], v[1], d.span))
                        self.globals[d.name] = Symbol("var", v[0], d.span)
                case ast.Array():
                    a = self._array(d)
                    if a:
                        arrays.append(a)
                        self.globals[d.name] = Symbol("array", a.elem, d.span, detail=a)
                case ast.MapDecl():
                    m = self._map(d)
                    if m:
                        maps.append(m)
                        self.globals[d.name] = Symbol("map", m.value, d.span, detail=m)
                case ast.Fn():
                    self._fn_signature(d)
        for d in tree.decls:
            if isinstance(d, ast.TaskVar):
                self._task_var(d)
        fns = [
            self._fn_body(d) for d in tree.decls if isinstance(d, ast.Fn) and d.name in self.globals
        ]
        callbacks = self._callbacks([d for d in tree.decls if isinstance(d, ast.Callback)])
        return ir.Program(
            name=tree.name,
            description=tree.description,
            path=path,
            params=tuple(params),
            queues=tuple(queues),
            vars=tuple(vars_),
            task_vars=tuple(self.task_vars.values()),
            arrays=tuple(arrays),
            maps=tuple(maps),
            fns=tuple(f for f in fns if f is not None),
            callbacks=tuple(callbacks),
            max_cpus=self.max_cpus,
            name_span=tree.name_span,
        )

    def _declare_name(self, d: ast.Decl) -> bool:
        if d.name in RESERVED:
            self.diags.error(C.BUILTIN_NAME, d.name_span, name=d.name)
            return False
        if d.name in self.globals or d.name in self.task_vars:
            first = (
                self.globals[d.name].span if d.name in self.globals else self.task_vars[d.name].span
            )
            self.diags.error(
                C.ALREADY_DECLARED,
                d.name_span,
                notes=[Note(first, C.FIRST_DECLARED.format(name=d.name))],
                name=d.name,
                line=first.line,
            )
            return False
        return True

    def _constant(self, e: ast.Expr, want: Type, what: str) -> int | None:
        """A compile-time value of type `want`: literals, consts and operators on them."""
        ck = ExprChecker(self.diags, Scope(self.globals, None), {})
        x = ck.check_as(e, want, what)
        if x.type is ERROR:
            return None
        if not isinstance(x, ir.Lit):
            self.diags.error(C.NOT_KNOWN_AT_COMPILE_TIME, e.span, what=what)
            return None
        return x.value

    def _param(self, d: ast.Param) -> ir.ParamDecl | None:
        typ = resolve_type(d.type, self.diags)
        if typ is None:
            return None
        if typ not in INTEGERS | {Type.DURATION, Type.BOOL}:
            self.diags.error(C.PARAM_TYPE, d.type.span, type=typ)
            return None
        values = [
            self._constant(x, typ, f"the {w} of param `{d.name}`")
            for x, w in ((d.default, "default"), (d.lo, "lower bound"), (d.hi, "upper bound"))
        ]
        if any(v is None for v in values):
            return None
        default, lo, hi = (v for v in values if v is not None)
        return ir.ParamDecl(d.name, typ, default, lo, hi, d.span)

    def _const(self, d: ast.Const) -> None:
        """Declare the const; one whose type or value is rejected is still declared, as
        poison (its uses are ERROR, which says nothing more), so the one diagnostic is the
        value's and not an `unknown-name` at every use."""
        typ = resolve_type(d.type, self.diags)
        value = (
            None if typ is None else self._constant(d.value, typ, f"the value of const `{d.name}`")
        )
        if typ is None or value is None:
            self.globals[d.name] = Symbol("const", ERROR, d.span)
        else:
            self.globals[d.name] = Symbol("const", typ, d.span, value=value)

    def _storage(
        self, d: ast.Decl, t: ast.TypeName, init: ast.Expr, kind: str
    ) -> tuple[Type, int] | None:
        typ = resolve_type(t, self.diags)
        if typ is None:
            return None
        if typ not in STORABLE:
            self.diags.error(C.CANNOT_HOLD_TASK, t.span, kind=kind, type=typ)
            return None
        value = self._constant(init, typ, f"the initial value of {kind} `{d.name}`")
        return None if value is None else (typ, value)

    def _task_var(self, d: ast.TaskVar) -> None:
        if not self._declare_name(d):
            return
        if d.name in ir.TASK_FIELDS:
            self.diags.error(C.BUILTIN_TASK_FIELD, d.name_span, name=d.name)
            return
        v = self._storage(d, d.type, d.init, "task var")
        if v:
            self.task_vars[d.name] = ir.TaskVarDecl(d.name, v[0], v[1], d.span)

    def _array(self, d: ast.Array) -> ir.ArrayDecl | None:
        elem = resolve_type(d.elem, self.diags)
        if elem is None:
            return None
        if elem not in STORABLE or elem is Type.BOOL:
            self.diags.error(C.ARRAY_ELEMENT_TYPE, d.elem.span, type=elem)
            return None
        size = None
        if d.size is not None:
            size = self._constant(d.size, Type.U32, f"the size of array `{d.name}`")
            if size is None:
                return None
        return ir.ArrayDecl(d.name, elem, size, d.span)

    def _map(self, d: ast.MapDecl) -> ir.MapDecl | None:
        key, value = resolve_type(d.key, self.diags), resolve_type(d.value, self.diags)
        if key is None or value is None:
            return None
        for t, span in ((key, d.key.span), (value, d.value.span)):
            if t not in STORABLE:
                self.diags.error(C.MAP_KEY_TYPE, span, type=t)
                return None
        default = self._constant(d.default, value, f"the default of map `{d.name}`")
        capacity = self._constant(d.capacity, Type.U32, f"the capacity of map `{d.name}`")
        if default is None or capacity is None:
            return None
        return ir.MapDecl(d.name, key, value, default, capacity, d.span)

    def _param_names_ok(
        self, params: tuple[ast.FnParam, ...] | tuple[ast.CallbackParam, ...]
    ) -> bool:
        """Parameter names are new names: not built-ins, not repeated."""
        seen: set[str] = set()
        ok = True
        for p in params:
            if p.name in RESERVED or p.name in seen:
                what = C.PARAMETER_IS_BUILTIN if p.name in RESERVED else C.PARAMETER_TWICE
                self.diags.error(what, p.span, name=p.name)
                ok = False
            seen.add(p.name)
        return ok

    def _fn_signature(self, d: ast.Fn) -> None:
        if not self._param_names_ok(d.params):
            return
        types = [resolve_type(p.type, self.diags) for p in d.params]
        ret = resolve_type(d.ret, self.diags) if d.ret else Type.VOID
        if any(t is None for t in types) or ret is None:
            return
        sig = FnSig(tuple(t for t in types if t is not None), ret)
        self.globals[d.name] = Symbol("fn", ret, d.span, detail=sig)

    def _fn_body(self, d: ast.Fn) -> ir.FnDecl | None:
        sig = self.globals[d.name].detail
        assert isinstance(sig, FnSig)
        params = tuple((p.name, t) for p, t in zip(d.params, sig.params, strict=True))
        body = _Body(self, None, params, sig.ret).block(d.body)
        return ir.FnDecl(d.name, params, sig.ret, body, d.span)

    def _callbacks(self, decls: list[ast.Callback]) -> list[ir.CallbackDecl]:
        out: list[ir.CallbackDecl] = []
        seen: dict[str, ast.Callback] = {}
        for d in decls:
            sig = CALLBACKS.get(d.name)
            if sig is None:
                self.diags.error(
                    C.NOT_AN_OPERATION,
                    d.name_span,
                    suggest=C.did_you_mean(d.name, list(CALLBACKS)),
                    name=d.name,
                    operations=", ".join(CALLBACKS),
                )
                continue
            if d.name in seen:
                first = seen[d.name].span
                self.diags.error(
                    C.CALLBACK_TWICE,
                    d.name_span,
                    notes=[Note(first, C.FIRST_DECLARED.format(name=f"on {d.name}"))],
                    op=d.name,
                    line=first.line,
                )
                continue
            seen[d.name] = d
            ok = self._param_names_ok(d.params)
            if len(d.params) != len(sig.params):
                self.diags.error(
                    C.CALLBACK_ARITY,
                    d.span.to(d.name_span),
                    op=d.name,
                    want=len(sig.params),
                    got=len(d.params),
                    signature=sig.param_hint,
                )
                ok = False
            ret = resolve_type(d.ret, self.diags) if d.ret else Type.VOID
            if ret is not None and ret is not sig.ret:
                want = f"`-> {sig.ret}`" if sig.ret is not Type.VOID else "no result"
                self.diags.error(
                    C.CALLBACK_RESULT,
                    d.ret.span if d.ret else d.name_span,
                    op=d.name,
                    want=want,
                    signature=sig.param_hint,
                )
                ok = False
            if not ok:
                continue
            params = tuple((p.name, t) for p, t in zip(d.params, sig.params, strict=True))
            body = _Body(self, d.name, params, sig.ret).block(d.body)
            out.append(ir.CallbackDecl(d.name, params, sig.ret, body, d.span))
        return out


class _Body:
    """Checks the statements of one fn or callback body."""

    def __init__(
        self, tc: _Typecheck, callback: str | None, params: tuple[tuple[str, Type], ...], ret: Type
    ) -> None:
        self.diags = tc.diags
        self.callback = callback
        self.ret = ret
        self.scope = Scope(tc.globals, callback)
        self.scope.frames[0].update({name: (t, False) for name, t in params})
        self.params = frozenset(name for name, _ in params)
        self.exprs = ExprChecker(tc.diags, self.scope, tc.task_vars)

    def _shadows_parameter(self, name: str, span: Span, what: str) -> bool:
        """A `let` or loop variable may not reuse a parameter's name anywhere in the body.

        The kernel's values (the task, enqueue's flags) reach the generated C through the
        parameters; a local of the same name would be a second meaning for the one name in
        the body, and finding 1 of docs/adversarial-findings.md showed how that goes wrong
        (a `let flags` became the enq_flags handed to the kernel, which ejected the policy)."""
        if name not in self.params:
            return False
        owner = f"`on {self.callback}`" if self.callback else "this fn"
        self.diags.error(C.SHADOWS_PARAMETER, span, name=name, owner=owner, what=what)
        return True

    def block(
        self, b: ast.Block, extra: dict[str, tuple[Type, bool]] | None = None
    ) -> tuple[ir.Stmt, ...]:
        self.scope.frames.append(dict(extra or {}))
        try:
            return tuple(s for s in (self.stmt(x) for x in b.stmts) if s is not None)
        finally:
            self.scope.frames.pop()

    def _if(self, s: ast.If) -> ir.If:
        """An `if` and its `else if` links, checked in source order in a loop: a chain may
        be far longer than the recursion limit (the parser does not count links as depth)."""
        links: list[tuple[ast.If, ir.Expr, tuple[ir.Stmt, ...]]] = []
        link: ast.Block | ast.If | None = s
        while isinstance(link, ast.If):
            cond = self.exprs.check_as(link.cond, Type.BOOL, "an `if` condition")
            links.append((link, cond, self.block(link.then)))
            link = link.orelse
        orelse: tuple[ir.Stmt, ...] = () if link is None else self.block(link)
        for node, cond, then in reversed(links):
            built = ir.If(node.span, cond, then, orelse)
            orelse = (built,)
        return built

    def stmt(self, s: ast.Stmt) -> ir.Stmt | None:
        match s:
            case ast.Let():
                return self._let(s)
            case ast.Assign():
                return self._assign(s)
            case ast.If():
                return self._if(s)
            case ast.ForRange():
                self._shadows_parameter(s.var, s.span, "a loop variable")
                lo = self.exprs.check(s.lo)
                hi = self.exprs.check(s.hi)
                var_type = Type.U64 if Type.U64 in (lo.type, hi.type) else Type.U32
                lo = self.exprs.coerce(lo, var_type, "a loop bound")
                hi = self.exprs.coerce(hi, var_type, "a loop bound")
                body = self.block(s.body, {s.var: (var_type, False)})
                return ir.ForRange(s.span, s.var, var_type, lo, hi, body)
            case ast.ForCpus():
                self._shadows_parameter(s.var, s.span, "a loop variable")
                return ir.ForCpus(s.span, s.var, self.block(s.body, {s.var: (Type.CPU, False)}))
            case ast.Return():
                return self._return(s)
            case ast.Insert():
                return self._insert(s)
            case ast.Kick():
                return ir.Kick(s.span, self._cpu(s.cpu, "the CPU to kick"), s.mode)
            case ast.ExprStmt():
                return ir.ExprStmt(s.span, self.exprs.check(s.expr))
        raise TypeError(f"typecheck: unknown statement {type(s).__name__}")

    def _cpu(self, e: ast.Expr, what: str) -> ir.Expr:
        x = self.exprs.check(e)
        if x.type in INTEGERS:
            return ir.Cast(Type.CPU, x.span, x)
        return self.exprs.coerce(x, Type.CPU, what)

    def _let(self, s: ast.Let) -> ir.Stmt | None:
        if self._shadows_parameter(s.name, s.span, "a `let`"):
            self.exprs.check(s.value)
            return None
        frame = self.scope.frames[-1]
        if s.name in frame or s.name in RESERVED:
            self.diags.error(C.LOCAL_TWICE, s.span, name=s.name)
            return None
        if s.type is not None:
            want = resolve_type(s.type, self.diags)
            value = self.exprs.check_as(s.value, want, f"the value of `{s.name}`") if want else None
        else:
            value = self.exprs.settle(self.exprs.check(s.value))
        if value is None or value.type is ERROR:
            frame[s.name] = (ERROR, True)
            return None
        if value.type in (Type.QUEUE, Type.STR, Type.COMM, Type.VOID, Type.TASK):
            self.diags.error(
                _NOT_STORED.get(value.type, C.VALUE_IN_LET), s.value.span, type=value.type
            )
            frame[s.name] = (ERROR, True)
            return None
        frame[s.name] = (value.type, True)
        return ir.Let(s.span, s.name, value.type, value)

    def _assign(self, s: ast.Assign) -> ir.Stmt | None:
        target = self._target(s.target)
        if target is None:
            self.exprs.check(s.value)
            return None
        if s.op == "=":
            value = self.exprs.check_as(s.value, target.type, "the assigned value")
        else:
            rhs = self.exprs.check(s.value)
            combined = self.exprs.binary(s.op[0], target, rhs, s.span)
            value = self.exprs.coerce(combined, target.type, f"the result of `{s.op}`")
        if value.type is ERROR:
            return None
        return ir.Assign(s.span, target, value)

    def _target(self, e: ast.Expr) -> ir.Expr | None:
        if isinstance(e, ast.Name):
            local = self.scope.lookup_local(e.ident)
            if local is not None and not local[1]:
                self.diags.error(C.PARAMETER_ASSIGNED, e.span, name=e.ident)
                return None
            sym = self.scope.globals.get(e.ident)
            if local is None and sym is not None and sym.kind in ("param", "const"):
                self.diags.error(C.CONSTANT_ASSIGNED, e.span, name=e.ident, kind=sym.kind)
                return None
        x = self.exprs.check(e)
        if x.type is ERROR:
            return None
        if isinstance(x, ir.TaskField):
            if not ir.TASK_FIELDS[x.field][1]:
                writable = [f for f, (_, w) in ir.TASK_FIELDS.items() if w]
                self.diags.error(
                    C.READ_ONLY_FIELD, e.span, field=x.field, writable=", ".join(writable)
                )
                return None
            return x
        if isinstance(x, ir.Local | ir.GlobalRef | ir.TaskVarRef | ir.ArrayElem | ir.MapElem):
            return x
        self.diags.error(C.NOT_ASSIGNABLE, e.span)
        return None

    def _return(self, s: ast.Return) -> ir.Stmt | None:
        if s.value is None:
            if self.ret is not Type.VOID:
                self.diags.error(C.RETURN_NEEDS_VALUE, s.span, type=self.ret)
                return None
            return ir.Return(s.span, None)
        if self.ret is Type.VOID:
            where = f"`on {self.callback}`" if self.callback else "this fn"
            self.diags.error(C.RETURNS_NOTHING, s.value.span, where=where)
            return None
        value = self.exprs.check_as(s.value, self.ret, "the returned value")
        return None if value.type is ERROR else ir.Return(s.span, value)

    def _insert(self, s: ast.Insert) -> ir.Stmt | None:
        if self.callback not in INSERT_CALLBACKS:
            here = f"`on {self.callback}`" if self.callback else "an fn"
            self.diags.error(C.INSERT_OUTSIDE, s.span, here=here)
            return None
        task = self.exprs.check_as(s.task, Type.TASK, "the inserted task")
        queue = self._queue(s)
        on_cpu = self._cpu(s.on_cpu, "the CPU after `on`") if s.on_cpu is not None else None
        slice_ = self.exprs.check_as(s.slice, Type.DURATION, "the slice") if s.slice else None
        vtime = self.exprs.check_as(s.vtime, Type.DURATION, "the vtime") if s.vtime else None
        parts = [task, queue, on_cpu, slice_, vtime]
        if queue is None or any(p is not None and p.type is ERROR for p in parts):
            return None
        return ir.Insert(s.span, task, queue, on_cpu, slice_, vtime)

    def _queue(self, s: ast.Insert) -> ir.QueueRef | None:
        if s.queue in BUILTIN_QUEUES:
            return ir.QueueRef(Type.QUEUE, s.queue_span, s.queue, s.queue)
        sym = self.scope.globals.get(s.queue)
        if sym is None or sym.kind != "queue":
            queues = [n for n, v in self.scope.globals.items() if v.kind == "queue"]
            self.diags.error(
                C.NOT_A_QUEUE,
                s.queue_span,
                suggest=C.did_you_mean(s.queue, queues + list(BUILTIN_QUEUES)),
                name=s.queue,
            )
            return None
        assert isinstance(sym.detail, ir.QueueDecl)
        return ir.QueueRef(Type.QUEUE, s.queue_span, s.queue, sym.detail.kind)

"""The liveness rule: `enqueue` inserts its task exactly once on every path; results exist.

A task that `enqueue` does not insert is lost: it never runs again and the kernel ejects
the scheduler when its watchdog fires. A task inserted twice makes the kernel abort the
scheduler at once. So the pass follows every path through `enqueue` (and `select_cpu`,
where inserting is optional but at most once), counting inserts, and remembers which
branches a path took so the diagnostic can say "when `x` is false". The same walk checks
that `select_cpu` and every fn with a result return a value on every path.

Paths are not enumerated one by one: at each point the walk keeps, per insert count
(0, 1, 2 or more), how many paths arrive and one witness path, so it stays linear.
"""

from __future__ import annotations

from dataclasses import dataclass

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import show
from schedlang.source import Span
from schedlang.types import Type


@dataclass(frozen=True)
class _Turn:
    """One branch a path took."""

    cond: ir.Expr
    taken: bool
    has_else: bool
    line: int


@dataclass(frozen=True)
class _Paths:
    """The paths that reach a point having inserted the task `count` times (2 = twice or more)."""

    count: int
    n: int
    why: tuple[_Turn, ...]
    first_insert: int = 0  # line of the witness path's first insert


State = dict[int, _Paths]


def run(prog: ir.Program, diags: Diagnostics) -> dict[str, object]:
    paths: dict[str, int] = {}
    for cb in prog.callbacks:
        if cb.op in ("enqueue", "select_cpu"):
            ends = _Walk(diags, cb.params[0][0]).body(cb.body)
            paths[cb.op] = sum(p.n for _, state in ends for p in state.values())
            if cb.op == "enqueue":
                _check_lost(cb, ends, diags)
            else:
                _check_return(f"`on {cb.op}`", cb.ret, ends, cb.span, diags)
    for f in prog.fns:
        if f.ret is not Type.VOID:
            ends = _Walk(diags, "").body(f.body)
            _check_return(f"fn `{f.name}`", f.ret, ends, f.span, diags)
    return {"paths": paths}


class _Walk:
    def __init__(self, diags: Diagnostics, task: str) -> None:
        self.diags = diags
        self.task = task
        self.ends: dict[Span | None, State] = {}  # where paths end (None: off the end)
        self.reported: set[Span] = set()
        self.repeat = ""  # set while walking a loop body's second iteration

    def body(self, stmts: tuple[ir.Stmt, ...]) -> list[tuple[Span | None, State]]:
        self._end(None, self.block(stmts, {0: _Paths(0, 1, ())}))
        return [(at, state) for at, state in self.ends.items() if state]

    def _end(self, at: Span | None, state: State) -> None:
        # A second loop iteration ends no path the first did not (its counts are only
        # higher), so only first iterations record ends: path counts stay per source path.
        if not self.repeat:
            self.ends[at] = _merge(self.ends.get(at, {}), state)

    def block(self, stmts: tuple[ir.Stmt, ...], state: State) -> State:
        for s in stmts:
            if not state:
                break
            match s:
                case ir.Insert():
                    before = [p.first_insert for c, p in sorted(state.items()) if c > 0]
                    if before and self.repeat:
                        self._twice(s, f"it is inside a loop that runs {self.repeat}")
                    elif before:
                        self._twice(s, f"a path reaching it already inserted at line {before[0]}")
                    state = _merge(
                        *({min(c + 1, 2): _inserted(p, s.span.line)} for c, p in state.items())
                    )
                case ir.If(cond=ir.Lit(value=v), then=then, orelse=orelse):
                    state = self.block(then if v else orelse, state)
                case ir.If(cond=cond, then=then, orelse=orelse):
                    yes = self.block(then, _turn(state, cond, True, bool(orelse), s.span.line))
                    no = self.block(orelse, _turn(state, cond, False, bool(orelse), s.span.line))
                    state = _merge(yes, no)
                case ir.ForRange(body=body) | ir.ForCpus(body=body):
                    # Two iterations show every insert count a loop can reach (counts stop
                    # at 2), so an insert that a `return` follows is not a double insert.
                    runs = _iterations(s)
                    if runs == 0:
                        continue
                    once = self.block(body, state)
                    if runs == 1 or self.repeat:
                        # Inside an outer loop's second iteration a nested loop's own repeat
                        # was already walked (and reported) in the first; walking it again
                        # would double the work at every nesting level.
                        state = once
                        continue
                    outer, self.repeat = (
                        self.repeat,
                        "once per CPU" if runs is None else f"{runs} times",
                    )
                    twice = self.block(body, once)
                    self.repeat = outer
                    state = _merge(once, {c: p for c, p in twice.items() if c not in once})
                case ir.Return():
                    self._end(s.span, state)
                    return {}
                case ir.Let() | ir.Assign() | ir.Kick() | ir.ExprStmt():
                    pass  # no insert, no branch
                case _:
                    raise TypeError(f"liveness: unknown statement {type(s).__name__}")
        return state

    def _twice(self, s: ir.Insert, why: str) -> None:
        if s.span in self.reported:
            return
        self.reported.add(s.span)
        self.diags.error(
            C.DOUBLE_INSERT,
            s.span,
            f"`{self.task}` may be inserted more than once: {why}",
            "insert the task exactly once per path: choose the queue first, then `insert` once",
        )


def _iterations(loop: ir.Stmt) -> int | None:
    if (
        isinstance(loop, ir.ForRange)
        and isinstance(loop.lo, ir.Lit)
        and isinstance(loop.hi, ir.Lit)
    ):
        return max(0, loop.hi.value - loop.lo.value)
    return None


def _inserted(p: _Paths, line: int) -> _Paths:
    return _Paths(min(p.count + 1, 2), p.n, p.why, p.first_insert or line)


def _turn(state: State, cond: ir.Expr, taken: bool, has_else: bool, line: int) -> State:
    t = _Turn(cond, taken, has_else, line)
    return {c: _Paths(c, p.n, (*p.why, t), p.first_insert) for c, p in state.items()}


def _merge(*states: State) -> State:
    out: State = {}
    for st in states:
        for c, p in st.items():
            out[c] = _Paths(c, out[c].n + p.n, out[c].why, out[c].first_insert) if c in out else p
    return out


def _describe(why: tuple[_Turn, ...], diags: Diagnostics) -> str:
    """ "on the path where `x` is false (line 4)", naming the last few branches of a path."""
    parts = [
        f"{show.code(diags, t.cond.span, 'the condition')} is {'true' if t.taken else 'false'} (line {t.line})"
        for t in why[-3:]
    ]
    return "on the path where " + " and ".join(parts) if parts else ""


def _end_span(at: Span | None, decl: Span) -> Span:
    return at if at is not None else show.closing_brace(decl)


def _check_lost(
    cb: ir.CallbackDecl, ends: list[tuple[Span | None, State]], diags: Diagnostics
) -> None:
    task = cb.params[0][0]
    never = not any(isinstance(s, ir.Insert) for s in ir.walk_stmts(cb.body))
    for at, state in ends:
        lost = state.get(0)
        if lost is None:
            continue
        if never:
            diags.error(
                C.LOST_TASK,
                _end_span(at, cb.span),
                f"`on {cb.op}` never inserts `{task}`: the task is lost, and the kernel ejects the "
                "scheduler when its watchdog fires",
                f"insert it into a queue: `insert {task} into global`",
            )
            return
        where = _describe(lost.why, diags)
        missing_else = next((t for t in reversed(lost.why) if not t.taken and not t.has_else), None)
        hint = (
            f"add an `else` branch to the `if` at line {missing_else.line} that inserts `{task}`"
            if missing_else
            else f"insert `{task}` on this path too, e.g. `insert {task} into global`"
        )
        diags.error(
            C.LOST_TASK,
            _end_span(at, cb.span),
            f"a path through `on {cb.op}` ends here without inserting `{task}`"
            + (f" {where}" if where else "")
            + ": the task would be lost",
            hint,
        )


def _check_return(
    what: str, ret: Type, ends: list[tuple[Span | None, State]], decl: Span, diags: Diagnostics
) -> None:
    for at, state in ends:
        if at is not None:
            continue
        witness = next(iter(state.values()))
        where = _describe(witness.why, diags)
        diags.error(
            C.MISSING_RETURN,
            show.closing_brace(decl),
            f"{what} can reach its end without returning a {ret}"
            + (f" ({where})" if where else ""),
            "end every path with `return ...`: add it after the last `if`, or to each branch",
        )

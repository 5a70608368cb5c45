"""The queue rules: no queue starves, and each queue is used the way its kind requires.

A declared queue is a dispatch queue (DSQ) the kernel never drains by itself: if `dispatch`
never moves from it, tasks inserted there never run and the watchdog ejects the scheduler.
A DSQ is FIFO or vtime-ordered for its whole life: the kernel rejects a vtime insert into a
FIFO queue, a FIFO insert into a queue that holds vtime-ordered tasks, and any vtime insert
into the built-in `local` and `global` queues. `insert ... on C` names another CPU's local
queue, so it only goes with `local`; and `move_to_local` takes a declared queue (`global` is
drained by the kernel itself; `local` is already the destination).

The starving rule claims that *some* run reaches a move, the opposite direction from
liveness ("every path inserts"): there, counting a path that does not exist only rejects a
safe policy; here it accepts an unsafe one. So this rule may count only paths it can show
a run takes — an under-approximation — and rejects, saying what it could not show, where
liveness would have been allowed to over-approximate. How it shows them is below
(`_Moves`), over the path walk of passes/paths.py.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import ranges, show
from schedlang.passes.paths import ATTAINABLE, Passive, Path, Walk, entry
from schedlang.source import Span
from schedlang.types import RANGE, Type


def run(prog: ir.Program, diags: Diagnostics) -> dict[str, object]:
    for cb in prog.callbacks:
        for s in ir.walk_stmts(cb.body):
            if isinstance(s, ir.Insert):
                _check_insert(s, diags)
            for top in ir.stmt_exprs(s):
                for e in ir.subexprs(top):
                    if isinstance(e, ir.Builtin) and e.name == "move_to_local":
                        ref = e.args[0]
                        if isinstance(ref, ir.QueueRef):
                            _check_move(ref, diags)
    named = {
        s.queue.name
        for body in [cb.body for cb in prog.callbacks] + [f.body for f in prog.fns]
        for s in ir.walk_stmts(body)
        if isinstance(s, ir.Insert)
    }
    inserted = _Filled(prog)
    dispatch = prog.callback("dispatch")
    proof = None if dispatch is None else _Moves.prove(prog, dispatch, inserted, diags)
    for q in prog.queues:
        why = "" if proof is None else proof.unproven(q)
        if why is not None:
            _report_starving(prog, q, q.name in named, why, diags)
    return {"queues": {q.name: q.kind for q in prog.queues}}


def _check_insert(s: ir.Insert, diags: Diagnostics) -> None:
    q = s.queue
    if s.on_cpu is not None and q.kind != "local":
        task = show.code(diags, s.task.span, "t").strip("`")
        diags.error(C.ON_CPU_NOT_LOCAL, s.on_cpu.span, queue=q.name, task=task)
    if s.vtime is not None and q.kind != "vtime":
        if q.kind in ("local", "global"):
            diags.error(C.VTIME_ON_BUILTIN, s.vtime.span, queue=q.kind)
        else:
            diags.error(C.VTIME_ON_FIFO, s.vtime.span, queue=q.name)
    elif s.vtime is None and q.kind == "vtime":
        diags.error(C.VTIME_QUEUE_WITHOUT_VTIME, s.span, queue=q.name)


def _check_move(q: ir.QueueRef, diags: Diagnostics) -> bool:
    if q.kind == "global":
        diags.error(C.MOVE_FROM_GLOBAL, q.span)
        return False
    if q.kind == "local":
        diags.error(C.MOVE_FROM_LOCAL, q.span)
        return False
    return True


def _report_starving(
    prog: ir.Program, q: ir.QueueDecl, used: bool, why: str, diags: Diagnostics
) -> None:
    no_dispatch = prog.callback("dispatch") is None
    if why:  # dispatch names the queue, but no path the checker can vouch for reaches it
        message = C.MOVE_NOT_PROVEN
    elif used:
        message = C.NEVER_MOVED_NO_DISPATCH if no_dispatch else C.NEVER_MOVED
    else:
        message = C.NEVER_USED_NO_DISPATCH if no_dispatch else C.NEVER_USED
    diags.error(message, q.span, queue=q.name, explanation=why)


# ---------------------------------------------------------------------------- starving queues
# A queue is drained if *some* run of `dispatch` reaches a `move_to_local` of it. "Some run"
# is a claim that must be proven, unlike liveness's "every path": counting a move behind a
# guard no value satisfies accepts a policy whose queue starves (the watchdog ejects it). So
# a branch counts as taken only when the checker can show a value that takes it:
#
# * the ranges settle the condition (then the other side is never walked, paths.py);
# * or the values the condition tests surely occur (`attainable`): `move_to_local(q)` and
#   `queued(q) > 0` go both ways for a queue something inserts into, `c == 0` for the CPU
#   dispatch runs on (on a machine with enough CPUs), `g % N == 0` for a var `g` that takes
#   at least N consecutive values, a local copied from those; a comparison with a constant
#   or a param then holds for every value of the param;
# * otherwise the outcome is an unknown the checker does not get to choose. Both outcomes of
#   such a condition still cover every run, so a move reached on both sides of it (`if due
#   {...} else {...}`, or after the `if`) counts: the paths reaching a move carry the unknown
#   outcomes they assumed, and the move counts when those cover every combination.
#
# Where the walk drops paths (more than paths.CAP at once) or a loop forgets facts, a move
# counts only if it is proven without them; the diagnostic says what could not be shown.

# (where the unknown condition is, the outcome assumed): True or False for a condition, the
# number of the way out for a loop (see `leave`)
Literal = tuple[tuple[int, int], object]


@dataclass(frozen=True)
class _Mark:
    assumed: frozenset[Literal] = frozenset()
    unsure: tuple[ir.Expr, bool] | None = None  # an outcome nobody showed possible
    forgot: int = 0  # the line of a loop whose facts the path forgot (paths.py)


class _Moves:
    merge = False  # a claim that some path exists: drop paths rather than invent one
    sees_exprs = True  # for the moves

    def __init__(self, prog: ir.Program, inserted: _Filled, diags: Diagnostics) -> None:
        self.diags = diags
        self.ranges = ranges.Ranges.shared(prog, stores=True)
        self.fns = {f.name: f for f in prog.fns}
        self.inserted = inserted
        self.walk = Walk(self.ranges, self)
        self.conditions: dict[tuple[int, int], ir.Expr] = {}
        self.domains: dict[tuple[int, int], int] = {}  # loop ways out (see `leave`)
        self.reached: dict[str, list[tuple[_Mark, Span]]] = {}
        self.sources: dict[str, list[Span]] = {}  # every move_to_local of each queue

    @classmethod
    def prove(
        cls, prog: ir.Program, dispatch: ir.CallbackDecl, inserted: _Filled, diags: Diagnostics
    ) -> _Moves:
        self = cls(prog, inserted, diags)
        for s in ir.walk_stmts(dispatch.body):
            for top in ir.stmt_exprs(s):
                for e in ir.subexprs(top):
                    if _moved(e) is not None:
                        self.sources.setdefault(_moved(e) or "", []).append(e.span)
        start = entry(self.ranges, dispatch, _Mark())
        env = start.env
        for name, t in dispatch.params:
            if t is Type.CPU:  # dispatch runs on every CPU: c takes each value below the limit
                env = env.set(ATTAINABLE + name, ranges.Range(0, self.ranges.max_cpus))
        self.walk.body(dispatch.body, replace(start, env=env))
        return self

    # -------------------------------------------------------------- the walk's hooks
    def insert(self, s: ir.Insert, path: Path) -> Path:
        return path

    def expr(self, e: ir.Expr, path: Path, maybe: bool) -> None:
        q = _moved(e)
        if q is not None:
            mark = path.mark
            assert isinstance(mark, _Mark)
            if maybe and mark.unsure is None:
                mark = replace(mark, unsure=(e, True))
            self.reached.setdefault(q, []).append((mark, e.span))

    def branch(self, atom: ir.Expr, truth: bool, decided: bool, path: Path) -> Path:
        mark = path.mark
        assert isinstance(mark, _Mark)
        if decided or mark.unsure is not None:
            return path
        possible = self.possible(atom, path.env)
        if truth in possible:
            return path
        if possible or self.walk.loops:
            # only the other outcome is shown possible, or the condition runs once per loop
            # iteration (its outcome may differ each time): nothing to build a proof on
            return replace(path, mark=replace(mark, unsure=(atom, truth)))
        where = (atom.span.line, atom.span.col)
        self.conditions[where] = atom
        return replace(path, mark=replace(mark, assumed=mark.assumed | {(where, truth)}))

    def widen(self, path: Path, line: int) -> Path:
        mark = path.mark
        assert isinstance(mark, _Mark)
        return path if mark.forgot else replace(path, mark=replace(mark, forgot=line))

    def leave(
        self, entering: list[Path], leaving: list[Path], line: int, partly: bool
    ) -> list[Path]:
        """Inside a loop a condition may come out differently in each iteration, so the
        walk marked every unknown outcome there unsure. But some way out of the loop is
        taken: for the runs that entered with one mark (the same assumptions), the paths
        leaving are the choices of an unknown that picks one of them (a `return` inside is
        another way out, and moves after the loop do not run on it).

        Paths entering with different marks (an unknown before the loop went both ways) are
        kept apart: each mark has its own unknown, since which way out a run takes may
        depend on the earlier outcome. Inside a loop no path gains an assumption (`branch`
        marks it unsure instead), so a leaving path's assumptions name the mark it entered
        with; only when two entering marks share their assumptions (one of them unsure or
        forgetful) is that ambiguous, and then their paths are left as they are."""
        if not leaving or self.walk.loops:
            return leaving  # (inside another loop, each of its iterations leaves anew)
        origins: dict[frozenset[Literal], list[_Mark]] = {}
        for p in entering:
            assert isinstance(p.mark, _Mark)
            if p.mark not in origins.setdefault(p.mark.assumed, []):
                origins[p.mark.assumed].append(p.mark)
        by_origin: dict[frozenset[Literal], list[Path]] = {}
        for p in leaving:
            assert isinstance(p.mark, _Mark)
            by_origin.setdefault(p.mark.assumed, []).append(p)
        out: list[Path] = []
        for n, (assumed, paths) in enumerate(by_origin.items()):
            marks = origins.get(assumed, [])
            if len(marks) == 1:
                paths = self._ways_out(marks[0], paths, (line, -1 - n), partly)
            out += paths
        return out

    def _ways_out(
        self, mark: _Mark, leaving: list[Path], where: tuple[int, int], partly: bool
    ) -> list[Path]:
        """The paths leaving a loop that runs entering with `mark` entered, each marked with
        the way out it takes (one unknown, at `where`, whose outcomes are the ways)."""
        if mark.unsure is not None or mark.forgot:
            return leaving
        if any(isinstance(p.mark, _Mark) and p.mark.forgot for p in leaving):
            return leaving  # facts were forgotten: a way out may not exist
        ways: dict[ranges.Env, int] = {}
        for p in leaving:
            ways.setdefault(p.env, len(ways))
        # one more way when runs may leave otherwise: no path here covers it
        self.domains[where] = len(ways) + partly
        if len(ways) == 1 and not partly:
            return [replace(p, mark=mark) for p in leaving]
        return [
            replace(
                p,
                mark=replace(mark, assumed=mark.assumed | {(where, ways[p.env])}),
            )
            for p in leaving
        ]

    def bind(self, name: str, value: ir.Expr | None, path: Path) -> Path:
        if value is None:  # a condition's outcome, known on this path: it does occur
            return replace(path, env=path.env.set(ATTAINABLE + name, path.env[name]))
        elif not any(isinstance(e, ir.Local) for e in ir.subexprs(value)):
            # (a copy of another local is not: a later test of the original would not
            # narrow what the copy is known to take)
            got = self.attainable(value, path.env)
            if got is not None:
                return replace(path, env=path.env.set(ATTAINABLE + name, got))
        return path

    # -------------------------------------------------------------- what surely occurs
    def possible(self, atom: ir.Expr, env: ranges.Env) -> set[bool]:
        """The outcomes of atom that some run surely produces, for every param value."""
        if atom.type is Type.BOOL and not (isinstance(atom, ir.Binary) and atom.op in _FLIP):
            got = self.attainable(atom, env)
            return set() if got is None else {v for v in (False, True) if got.lo <= v < got.hi}  # type: ignore[operator]
        if not isinstance(atom, ir.Binary) or atom.op not in _FLIP:
            return set()
        for x, y, op in ((atom.left, atom.right, atom.op), (atom.right, atom.left, _FLIP[atom.op])):
            got = self.attainable(x, env)
            if got is None or not _config_only(y):
                continue
            limits = env.set("nr_cpus", ranges.Range(1, self.ranges.max_cpus + 1))
            other = self.ranges.of(y, limits)
            return {d for d in (True, False) if _for_every(got, other, op if d else _NEGATE[op])}
        return set()

    def attainable(self, e: ir.Expr, env: ranges.Env) -> ranges.Range | None:
        """Values that e surely takes in some run, whatever the params are (None: no such
        proof). Shared state is assumed to take every value between its initial value and
        the values stored into it (other callbacks run in between), and any amount of time
        to pass between storing a time and reading `now()` again."""
        match e:
            case ir.Lit(value=v):
                return ranges.Range(v, v + 1)
            case ir.Builtin(name="now"):
                return _ANY_TIME
            case ir.Binary(op="sat-", left=x, right=y) if y.type is Type.TIME:
                # now() minus a stored time (never later than now on a monotonic clock):
                # every wait up to _LONG_WAIT happens if dispatch is not called meanwhile
                return _WAITS if self.attainable(x, env) == _ANY_TIME else None
            case ir.FnCall(name=name) if e.type is Type.BOOL:
                f = self.fns.get(name)
                if f is None or len(f.body) != 1 or not isinstance(f.body[0], ir.Return):
                    return None
                result = f.body[0].value  # `fn f(...) -> bool { return COND }`, inlined
                if result is None:
                    return None
                outcomes = self.possible(result, ranges.EMPTY)  # its parameters count as unknown
                return ranges.Range(min(outcomes), max(outcomes) + 1) if outcomes else None
            case ir.Builtin(name="move_to_local" | "queued", args=(ir.QueueRef(name=q), *_)):
                return ranges.Range(0, 2 if q in self.inserted else 1)
            case ir.Builtin() | ir.PickField() | ir.TaskField() if e.type is Type.BOOL:
                return ranges.Range(0, 2)
            case ir.Local(name=name):
                known = env.get(ATTAINABLE + name)
                return None if known is None else _bounded(known.meet(self.ranges.of(e, env)))
            case ir.GlobalRef() | ir.TaskVarRef() | ir.ArrayElem() | ir.MapElem():
                return _bounded(self.ranges.of(e, env))
            case ir.Cast(expr=x) if _widens(x, e):
                return self.attainable(x, env)
            case ir.Binary(op="%", left=x, right=m) if _config_only(m):
                got, mod = self.attainable(x, env), self.ranges.of(m, env)
                if got is None or mod.lo is None or mod.hi is None or mod.lo < 1:
                    return None
                if (
                    got.lo is not None
                    and got.hi is not None
                    and got.lo >= 0
                    and got.hi - got.lo >= mod.hi - 1
                ):
                    return ranges.Range(0, mod.lo)  # x runs through a full cycle of every modulus
        return None

    # -------------------------------------------------------------- the verdict
    def unproven(self, q: ir.QueueDecl) -> str | None:
        """None when some run of dispatch surely moves from q; "" when dispatch never names
        q; otherwise what could not be shown."""
        sources = self.sources.get(q.name, [])
        if not sources:
            return ""
        reached = self.reached.get(q.name, [])
        cover = [m.assumed for m, _ in reached if m.unsure is None and not m.forgot]
        gap = _gap(list(dict.fromkeys(cover)), self.domains, [10_000])
        if gap is None:
            return None
        line = sources[0].line
        lost = self.walk.lost_track or next((m.forgot for m, _ in reached if m.forgot), None)
        tail = (
            f" (from line {lost} on the checker followed only some paths: more than it keeps "
            "apart at once, or a loop whose facts it had to forget)"
            if lost is not None
            else ""
        )
        start = f"could not prove that `on dispatch` moves from queue `{q.name}`"
        if not reached:
            moves = (
                f"`move_to_local({q.name})` at line {line}"
                if len(sources) == 1
                else f"any of its {len(sources)} `move_to_local({q.name})` (the first at line {line})"
            )
            behind = [(c, v) for c, v, at in self.walk.pruned if at.line <= line <= at.end_line]
            because = (
                f" ({self._show(behind[-1][0])} at line {behind[-1][0].span.line} is never "
                f"{'true' if behind[-1][1] else 'false'} there)"
                if behind
                else " (every path before it ends)"
            )
            return (
                f"queue `{q.name}` is never moved from on a path `on dispatch` can take: no value "
                f"reaches {moves}{because}, so its tasks would never run{tail}"
            )
        unsure = next((m.unsure for m, _ in reached if m.unsure is not None), None)
        if unsure is not None and not any(cover):
            cond, truth = unsure
            why = (
                f": `move_to_local({q.name})` runs only when {self._show(cond)} (line "
                f"{cond.span.line}) is {'true' if truth else 'false'}, and the checker cannot "
                "show that it ever is"
            )
        else:
            why = self._assumption(q.name, cover, gap)
        return start + why + tail

    def _assumption(
        self, queue: str, cover: list[frozenset[Literal]], gap: tuple[Literal, ...]
    ) -> str:
        """Name the unknown whose outcome leaves the moves of a queue uncovered (the last of
        `gap`, see `_gap`), or else one of those they depend on (a condition first)."""
        assumed = [(w, v) for c in cover for w, v in c]
        assumed.sort(key=lambda wv: wv[0] not in self.conditions)
        if gap:
            where, missing = gap[-1]
        elif assumed:
            where, missing = assumed[0][0], not assumed[0][1]
        else:
            where, missing = (0, -1), None
        if where not in self.conditions:
            return (
                f": `move_to_local({queue})` runs only on some of the ways out of the loop at "
                f"line {where[0]}, and the checker cannot show which one a run takes"
            )
        return (
            f": `move_to_local({queue})` runs only when {self._show(self.conditions[where])} "
            f"(line {where[0]}) is {'false' if missing else 'true'}, and the checker cannot "
            "show that it ever is, nor that it is reached otherwise"
        )

    def _show(self, e: ir.Expr) -> str:
        return show.code(self.diags, e.span, "a condition")


class _Filled:
    """The queues some insert can fill: an insert behind a guard no value satisfies fills
    nothing, so `queued(q) > 0` would never be true.

    Worked out when the proof asks (`q in filled`), walking only the bodies that insert
    into q, each once and only until it has reached all of its inserts. The proof asks only
    about the queues `dispatch` tests, so `select_cpu` (which usually inserts only into
    `local`) is not walked, and an `enqueue` that picks its queue first and then does more
    (a loop over the CPUs to kick one) is walked only up to its last insert: the full walks
    were most of this rule's time. A walk stopped there has reached what the full walk
    reaches of the inserts (all of them), so the answers are the same."""

    def __init__(self, prog: ir.Program) -> None:
        self.ranges = ranges.Ranges.shared(prog, stores=True)
        decls: list[ir.CallbackDecl | ir.FnDecl] = [*prog.callbacks, *prog.fns]
        # each body that inserts and is not walked yet, with its inserts
        self.bodies = [(decl, inserts) for decl in decls if (inserts := _inserts(decl))]
        self.filled: set[str] = set()  # queues an insert reached by some walk fills
        self.unfilled: set[str] = set()

    def __contains__(self, queue: str) -> bool:
        if queue not in self.filled and queue not in self.unfilled:
            for decl, inserts in list(self.bodies):
                if any(s.queue.name == queue for s in inserts):
                    self._walk(decl, inserts)
                    if queue in self.filled:
                        break
            else:
                self.unfilled.add(queue)
        return queue in self.filled

    def _walk(self, decl: ir.CallbackDecl | ir.FnDecl, inserts: list[ir.Insert]) -> None:
        walk = Walk(self.ranges, _Until({s.span for s in inserts}))
        with contextlib.suppress(_Reached):
            walk.body(decl.body, entry(self.ranges, decl, None))
        self.bodies.remove((decl, inserts))
        self.filled |= {s.queue.name for s in inserts if s.span in walk.reached}


def _inserts(decl: ir.CallbackDecl | ir.FnDecl) -> list[ir.Insert]:
    return [s for s in ir.walk_stmts(decl.body) if isinstance(s, ir.Insert)]


class _Reached(Exception):
    """The walk reached what it was looking for."""


class _Until(Passive):
    """The walk alone (as `paths.reached` walks), stopped once it has reached every insert
    in `pending` (a path gets to it)."""

    def __init__(self, pending: set[Span]) -> None:
        self.pending = pending

    def insert(self, s: ir.Insert, path: Path) -> Path:
        self.pending.discard(s.span)
        if not self.pending:
            raise _Reached
        return path


def _moved(e: ir.Expr) -> str | None:
    if isinstance(e, ir.Builtin) and e.name == "move_to_local":
        ref = e.args[0]
        if isinstance(ref, ir.QueueRef) and ref.kind in ("fifo", "vtime"):
            return ref.name
    return None


def _gap(
    cover: list[frozenset[Literal]], domains: dict[tuple[int, int], int], budget: list[int]
) -> tuple[Literal, ...] | None:
    """None when, whatever the unknowns do, one of the assumption sets holds (it is a
    tautology); otherwise outcomes of the unknowns under which none holds, the last one the
    unknown nothing covers (empty when there is none to name, or after `budget` splits).
    Splits on one unknown and requires each of its outcomes covered (a condition's two, a
    loop's ways out)."""
    if any(not c for c in cover):
        return None
    if not cover or budget[0] <= 0:
        return ()
    budget[0] -= 1
    where = min(w for c in cover for w, _ in c)
    values: list[object] = [True, False] if where not in domains else list(range(domains[where]))
    for v in values:
        rest = [c - {(where, v)} for c in cover if all(w != where or x == v for w, x in c)]
        gap = _gap(rest, domains, budget)
        if gap is not None:
            return ((where, v), *gap)
    return None


def _for_every(x: ranges.Range, y: ranges.Range, op: str) -> bool:
    """For every value of y, some value of x (all of which occur) makes `x op y` true."""
    xs, ys = x.closed, y.closed
    if xs is None or ys is None:
        return False
    (xl, xh), (yl, yh) = xs, ys
    return {
        "<": xl < yl,
        "<=": xl <= yl,
        ">": xh > yh,
        ">=": xh >= yh,
        "==": xl <= yl and yh <= xh,
        "!=": xl < xh or xl < yl or xl > yh,
    }[op]


def _config_only(e: ir.Expr) -> bool:
    """e depends on nothing a run chooses: literals, params, `nr_cpus` and arithmetic."""
    return all(
        isinstance(x, ir.Lit | ir.ParamRef | ir.NrCpus | ir.Binary | ir.Cast)
        or (isinstance(x, ir.Builtin) and x.name in ("min", "max", "clamp"))
        for x in ir.subexprs(e)
    ) and not any(isinstance(x, ir.Binary) and x.op in ir.LOGIC_OPS for x in ir.subexprs(e))


def _bounded(r: ranges.Range) -> ranges.Range | None:
    return None if r.lo is None or r.hi is None or r.empty else r


def _widens(x: ir.Expr, cast: ir.Expr) -> bool:
    a, b = RANGE.get(x.type), RANGE.get(cast.type)
    return a is not None and b is not None and b[0] <= a[0] and a[1] <= b[1]


_ANY_TIME = ranges.Range(0, 2**64)
_LONG_WAIT = 2**62  # ns, about 146 years
_WAITS = ranges.Range(0, _LONG_WAIT)
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "=="}

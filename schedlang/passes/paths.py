"""Paths some run can take through one body, for the path rules (liveness, queues).

Two rules are about paths: `enqueue` inserts its task on *every* path (liveness) and
`dispatch` moves from each queue on *some* path (queues). Both go wrong the same way when
they count a path no value can take — the liveness rule then rejects a safe policy (the
"missing" path does not exist), the queue rule accepts an unsafe one (the move it relied on
never runs). So both walk the body here, with the facts of the value ranges (ranges.py)
along each path:

* A branch whose condition `Ranges.decide` settles (a constant, a param tested outside its
  range, `nr_cpus == 0`, `c >= nr_cpus` for a CPU `c`, `x % 4 == 5`, a bool local that is
  always false, ...) is not walked on the side no value takes. `and` / `or` are branches
  too (they short-circuit), so `if not placed and ...` splits on `placed`.
* Paths are not merged where an `if` ends: each carries its own facts, so `if h {...}`
  followed by `if not h {...}` is two paths, not four. Paths with equal facts and equal
  rule state are one path (the walk stays linear for the usual program: a path's facts are
  a persistent map, facts.py, so a step, a comparison or a join costs what it changes, not
  the number of live locals), and at most `CAP` paths are followed at once. Over the cap
  the rule chooses what is safe for it: liveness proves something about *every* path, so
  it joins paths (their facts become the hull: more paths look possible, never fewer); the
  queue rule proves that *some* path exists, so it drops paths (fewer paths, never an
  impossible one). Either way the rule's diagnostic then says where it lost track. Liveness also joins, where an `if` chain ends,
  paths that differ only in what its conditions said about the names they test (the hull
  is what was known before), so `if w == 1 ... if w == 2 ...` stays one path.
* An `else if` chain is walked link by link, not one nesting level per link.
* A loop body is walked again until the set of paths leaving it stops changing (a `for c in
  cpus` loop leaves after any number of iterations, `for i in 0..N` after exactly N); after
  `EXACT_ITERATIONS` the locals the body assigns are forgotten, which makes it settle.
  Results are remembered per loop and set of entering paths, so nested loops stay linear.

The rule sees the walk through a small interface (`Rule`): what an insert does to its state,
what each branch outcome means for it, and every expression with the path it runs on.
"""

from __future__ import annotations

import gc
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol

from schedlang import ir
from schedlang.passes import ranges as R
from schedlang.passes.ranges import Env, Range, Ranges
from schedlang.source import Span
from schedlang.types import Type

CAP = 16  # paths followed at once
ATTAINABLE = "@"  # Env key prefix for the queue rule's "values this local surely takes"
EXACT_ITERATIONS = 4  # loop iterations walked with every fact kept
MAX_ITERATIONS = 16  # and then with assigned locals forgotten (settles in two or three)


@dataclass(frozen=True)
class Turn:
    """One branch a path took."""

    cond: ir.Expr
    taken: bool
    has_else: bool
    line: int


# A path's turns, newest first, as a linked list: taking a branch is O(1), not a copy.
Why = tuple[Turn, "Why"] | None


def turns(why: Why, last: int = 3) -> list[Turn]:
    """The last few turns of a path, oldest first."""
    out: list[Turn] = []
    while why is not None and len(out) < last:
        out.append(why[0])
        why = why[1]
    return out[::-1]


@dataclass(frozen=True)
class Path:
    """Paths that reach a point with the same facts and rule state. n counts the source
    paths it stands for; note is the rule's witness data (kept from the first path)."""

    env: Env
    mark: Hashable
    why: Why = None
    n: int = 1
    note: Hashable = None

    def key(self) -> tuple[Env, Hashable]:
        """Facts hash in O(1) and compare in the size of what differs (facts.py)."""
        return self.env, self.mark


class Rule(Protocol):
    merge: bool  # over the cap: True joins paths (facts hull), False drops the extra ones
    sees_exprs: bool  # whether `expr` wants to see the expressions (else it is not called)

    def insert(self, s: ir.Insert, path: Path) -> Path: ...

    def branch(self, atom: ir.Expr, truth: bool, decided: bool, path: Path) -> Path | None:
        """The path after `atom` came out `truth` (decided: no other outcome was possible);
        None drops the path."""
        ...

    def expr(self, e: ir.Expr, path: Path, maybe: bool) -> None:
        """Called for every expression evaluated on a path (before the branch it decides);
        maybe: it runs only for some values (the right side of an `and` outside an `if`)."""
        ...

    def widen(self, path: Path, line: int) -> Path:
        """The path after the loop at `line` forgot the facts of the locals it assigns."""
        ...

    def bind(self, name: str, value: ir.Expr | None, path: Path) -> Path:
        """The path after local `name` got `value` (None: the outcome of a condition, known
        on this path); its facts are already in path.env."""
        ...

    def leave(
        self, entering: list[Path], leaving: list[Path], line: int, partly: bool
    ) -> list[Path]:
        """The paths after the loop at `line`, given those that entered it; partly: some
        runs leave it otherwise (a `return` inside, or paths the walk dropped)."""
        ...


class Walk:
    """One walk of one body for one rule."""

    def __init__(self, ranges: Ranges, rule: Rule) -> None:
        self.ranges = ranges
        self.rule = rule
        self.ends: dict[Span | None, list[Path]] = {}  # where paths end (None: off the end)
        self.repeat = ""  # "N times" / "once per CPU" while walking a loop's later iterations
        self.loops = 0  # loops around the statement being walked
        self.ended = 0  # paths that ended so far
        self.lost_track: int | None = None  # line where paths were joined or dropped
        # (condition, outcome that never happens, the statement it guards), the first few
        self.pruned: list[tuple[ir.Expr, bool, Span]] = []
        self._loops: dict[tuple[int, frozenset[Hashable]], list[Path]] = {}
        self.reached: set[Span] = set()  # statements some path gets to
        self.dead_values = False  # a local got a value no facts allow (see `_contradicts`)
        self._names: dict[int, set[str]] = {}  # R.names of each atom tested, by id
        # each block's `_dead_after`, shared by every walk of the program (Ranges.blocks)
        self._dead = ranges.blocks

    def body(self, stmts: tuple[ir.Stmt, ...], entry: Path) -> dict[Span | None, list[Path]]:
        """Walk a body with Python's cycle collector paused. The walk builds many small
        objects (the nodes of each path's facts, facts.py) that live a few statements each:
        enough survive into the collector's oldest generation to trigger full collections,
        each of which traverses the whole heap, the parsed program included (finding #22:
        at 800 locals two thirds of the walk's time). The walk itself makes no reference
        cycles; those its caller makes are collected once the collector resumes."""
        paused = gc.isenabled()
        gc.disable()
        try:
            rest = self.block(stmts, [entry])
            if rest:
                self._end(None, rest)
        finally:
            if paused:
                gc.enable()
        return self.ends

    def _end(self, at: Span | None, paths: list[Path]) -> None:
        self.ended += len(paths)
        self.ends[at] = self.normalize(self.ends.get(at, []) + paths, at.line if at else 0)

    # ------------------------------------------------------------------ statements
    def block(self, stmts: tuple[ir.Stmt, ...], paths: list[Path]) -> list[Path]:
        bound: set[str] = set()
        dead = self._dead.get(id(stmts))
        if dead is None or dead[0] is not stmts:
            dead = self._dead[id(stmts)] = stmts, _dead_after(stmts)
        for i, s in enumerate(stmts):
            if not paths:
                break
            self.reached.add(s.span)
            line = s.span.line
            match s:
                case ir.Let(name=name, value=v):
                    bound.add(name)
                    paths = self.assign(name, v, paths, line)
                case ir.Assign(target=ir.Local(name=name), value=v):
                    paths = self.assign(name, v, paths, line)
                case ir.Assign(target=target, value=v):
                    self.visit_all((target, v), paths)
                case ir.If():
                    paths = self.branches(s, paths)
                case ir.ForRange() | ir.ForCpus():
                    paths = self.loop(s, paths)
                case ir.Return(value=v):
                    self.visit_all(() if v is None else (v,), paths)
                    self._end(s.span, paths)
                    return []
                case ir.Insert():
                    self.visit_all(ir.stmt_exprs(s), paths)
                    paths = self.normalize([self.rule.insert(s, p) for p in paths], line)
                case ir.Kick() | ir.ExprStmt():
                    self.visit_all(ir.stmt_exprs(s), paths)
                case _:
                    raise TypeError(f"paths: unknown statement {type(s).__name__}")
            if i in dead[1]:  # what nothing reads any more tells paths apart for nothing
                paths = self.normalize([_forget(p, dead[1][i]) for p in paths], line)
        # Names bound in this block go out of scope (a shadowed outer local loses its facts,
        # which only widens them).
        return [_forget(p, bound) for p in paths] if bound else paths

    def branches(self, s: ir.If, paths: list[Path]) -> list[Path]:
        """An `if` with its `else if`s, walked link by link: a chain of any length costs no
        stack, and the paths that took some branch meet once, where the chain ends."""
        out: list[Path] = []
        tested: list[ir.Expr] = []
        link: ir.If | None = s
        while link is not None and paths:
            c, line, has_else = link.cond, link.span.line, bool(link.orelse)
            self.reached.add(link.span)
            tested.append(c)
            yes, no = self.condition(c, paths, link.span)
            yes = [_turned(p, Turn(c, True, has_else, line)) for p in yes]
            out = self.normalize(out + self.block(link.then, yes), line)
            paths = self.normalize([_turned(p, Turn(c, False, has_else, line)) for p in no], line)
            if len(link.orelse) == 1 and isinstance(link.orelse[0], ir.If):
                link = link.orelse[0]
            else:
                out = self.normalize(out + self.block(link.orelse, paths), line)
                link = None
        out = self.normalize(out, s.span.line)
        if self.rule.merge and len(out) > 1:
            out = _rejoin(out, tested)
        return out

    def assign(self, name: str, value: ir.Expr, paths: list[Path], line: int) -> list[Path]:
        """`let name = value` / `name = value`. A bool built from conditions is a branch: each
        outcome becomes a path where the local is known (so `if x` later is decided)."""
        if value.type is Type.BOOL and _is_condition(value):
            yes, no = self.condition(value, paths)
            out = [self.rule.bind(name, None, _bind(p, name, Range(1, 2), False)) for p in yes]
            out += [self.rule.bind(name, None, _bind(p, name, Range(0, 1), False)) for p in no]
            return self.normalize(out, line)
        out = []
        for p in paths:
            self.visit(value, p)
            r = self.ranges.of(value, p.env)
            self.dead_values |= r.empty
            after = _bind(p, name, r, self.ranges.below_nr_cpus(value, p.env))
            out.append(self.rule.bind(name, value, after))
        return self.normalize(out, line)

    def loop(self, s: ir.ForRange | ir.ForCpus, paths: list[Path]) -> list[Path]:
        if isinstance(s, ir.ForRange):
            self.visit_all((s.lo, s.hi), paths)
            lo, hi = self.ranges.of(s.lo, R.EMPTY), self.ranges.of(s.hi, R.EMPTY)
            runs = (
                max(0, s.hi.value - s.lo.value)
                if isinstance(s.lo, ir.Lit) and isinstance(s.hi, ir.Lit)
                else None
            )
            if runs == 0:
                return paths
            inside = Range(lo.lo, hi.largest)
            cpu = False
        else:
            runs, inside, cpu = None, Range(0, self.ranges.max_cpus), True
        self.dead_values |= inside.empty
        memo = (id(s), frozenset(p.key() for p in paths))
        if memo in self._loops:
            return self._loops[memo]
        assigned = {
            t.target.name
            for t in ir.walk_stmts(s.body)
            if isinstance(t, ir.Assign) and isinstance(t.target, ir.Local)
        }
        outer = self.repeat
        ended, lost = self.ended, self.lost_track
        self.loops += 1
        n = sum(p.n for p in paths)
        seen: list[Path] = []  # every iteration's result, for a loop that may stop anywhere
        current = paths
        for k in range(1, EXACT_ITERATIONS + MAX_ITERATIONS + 1):
            if k == 2:
                self.repeat = "once per CPU" if runs is None else f"{runs} times"
            entry = [_counted(p, 0) for p in current] if k > 1 else current
            if k > EXACT_ITERATIONS:
                entry = [self.rule.widen(_forget(p, assigned), s.span.line) for p in entry]
            entry = [_bind(p, s.var, inside, cpu) for p in entry]
            out = [_forget(p, {s.var}) for p in self.block(s.body, entry)]
            out = self.normalize(out, s.span.line)
            settled = {p.key() for p in out} == {p.key() for p in current}
            seen = self.normalize(seen + out, s.span.line)
            current = out
            if settled or k == runs:
                break
        else:
            self.lost_track = s.span.line  # did not settle: keep every iteration's paths
            current = seen
        self.repeat = outer
        self.loops -= 1
        result = seen if runs is None else current
        if result:  # the loop's paths are counted once, as if its body ran once
            result = [_counted(result[0], max(n, result[0].n)), *result[1:]]
        partly = self.ended != ended or self.lost_track != lost
        result = self.rule.leave(paths, result, s.span.line, partly)
        self._loops[memo] = result
        return result

    # ------------------------------------------------------------------ conditions
    def condition(
        self, e: ir.Expr, paths: list[Path], guards: Span | None = None
    ) -> tuple[list[Path], list[Path]]:
        """The paths on which e is true and those on which it is false. `and`, `or` and
        `not` are control flow; the rest is an atom the ranges decide or split on. guards:
        the statement whose branches e chooses (for the rule's explanation)."""
        yes: list[Path] = []
        no: list[Path] = []
        match e:
            case ir.Unary(op="not", operand=x):
                no, yes = self.condition(x, paths, guards)
                return yes, no
            case ir.Binary(op="and", left=a, right=b):
                a_yes, no = self.condition(a, paths, guards)
                yes, b_no = self.condition(b, a_yes, guards)
                return yes, no + b_no
            case ir.Binary(op="or", left=a, right=b):
                yes, a_no = self.condition(a, paths, guards)
                b_yes, no = self.condition(b, a_no, guards)
                return yes + b_yes, no
        for p in paths:
            self.visit(e, p)
            known = self.ranges.decide(p.env, e)
            if known is None:
                when_true, when_false = self.ranges.branches(p.env, e)
            else:  # the side taken learns nothing the facts did not already say
                when_true = when_false = p.env
            for truth, env in ((True, when_true), (False, when_false)):
                if known is (not truth) or (known is None and self._contradicts(env, e)):
                    if len(self.pruned) < 64:
                        self.pruned.append((e, truth, guards or e.span))
                    continue
                moved = Path(env, p.mark, p.why, p.n, p.note)
                after = self.rule.branch(e, truth, known is not None, moved)
                if after is not None:
                    (yes if truth else no).append(after)
        return yes, no

    def _contradicts(self, env: Env, atom: ir.Expr) -> bool:
        """The facts after a branch on `atom` contradict each other. A path's facts never
        do (such a path is dropped here), so only the names the atom refines are looked at;
        unless some local was given a value with no possible facts (`dead_values`), which
        joins may then carry anywhere."""
        if self.dead_values:
            return R.unreachable(env)
        names = self._names.get(id(atom))
        if names is None:
            names = self._names[id(atom)] = R.names(atom)
        return R.unreachable(env, names)

    def visit_all(self, exprs: Iterable[ir.Expr], paths: list[Path]) -> None:
        for p in paths:
            for e in exprs:
                self.visit(e, p)

    def visit(self, e: ir.Expr, path: Path, maybe: bool = False) -> None:
        """Show the rule every expression evaluated; the right side of `and` / `or` only when
        the left side does not settle it (short-circuit), and then as `maybe`."""
        if not self.rule.sees_exprs:
            return
        self.rule.expr(e, path, maybe)
        match e:
            case ir.Binary(op="and" | "or", left=a, right=b):
                self.visit(a, path, maybe)
                left = self.ranges.decide(path.env, a)
                if left is None:
                    self.visit(b, path, True)
                elif left is (e.op == "and"):
                    self.visit(b, path, maybe)
            case ir.Binary(left=a, right=b):
                self.visit(a, path, maybe)
                self.visit(b, path, maybe)
            case (
                ir.TaskField(task=x)
                | ir.TaskVarRef(task=x)
                | ir.PickField(pick=x)
                | ir.Unary(operand=x)
                | ir.Cast(expr=x)
                | ir.ArrayElem(index=x)
                | ir.MapElem(key=x)
            ):
                self.visit(x, path, maybe)
            case ir.Builtin(args=args) | ir.FnCall(args=args):
                for a in args:
                    self.visit(a, path, maybe)

    # ------------------------------------------------------------------ keeping it bounded
    def normalize(self, paths: list[Path], line: int) -> list[Path]:
        """One path per (facts, rule state); at most CAP paths (joined or dropped)."""
        if len(paths) <= 1:
            return paths
        by_key: dict[Hashable, Path] = {}
        for p in paths:
            k = p.key()
            first = by_key.get(k)
            by_key[k] = p if first is None else _counted(first, first.n + p.n)
        out = list(by_key.values())
        if len(out) <= CAP:
            return out
        self.lost_track = line
        if not self.rule.merge:
            return out[:CAP]
        joined: dict[Hashable, Path] = {}
        for p in out:
            first = joined.get(p.mark)
            joined[p.mark] = (
                p
                if first is None
                else Path(
                    R.join(first.env, p.env), first.mark, first.why, first.n + p.n, first.note
                )
            )
        return list(joined.values())


def _rejoin(paths: list[Path], conds: list[ir.Expr]) -> list[Path]:
    """Where an `if` ends, join paths that differ only in what its condition taught them
    about the names it tests: the hull of the two sides is what was known before, and a
    later test of the same names learns it again. Keeps `if w == k { ... }` chains at one
    path instead of one per `k`. (Only for rules that may join: the hull of two refined
    ranges can hold values neither had.)"""
    tested = {name for cond in conds for name in R.names(cond)}
    if not tested:
        return paths
    groups: dict[Hashable, Path] = {}
    for p in paths:
        k = (p.mark, R.forget(p.env, tested))
        first = groups.get(k)
        groups[k] = (
            p
            if first is None
            else Path(R.join(first.env, p.env), first.mark, first.why, first.n + p.n, first.note)
        )
    return list(groups.values())


def _dead_after(stmts: tuple[ir.Stmt, ...]) -> dict[int, set[str]]:
    """The locals a block binds with `let`, by the index of the statement after which
    nothing in the block reads them (they are out of scope after it). Forgetting their facts
    there changes no answer, as nothing asks about them again, and keeps paths that differ
    only in them together (finding #22: a placed-flag chain's paths knew every earlier
    bool's outcome, so each join compared all of them)."""
    last: dict[str, int] = {}
    for i, s in enumerate(stmts):
        if isinstance(s, ir.Let):
            last[s.name] = i
    for i, s in enumerate(stmts):
        for t in ir.walk_stmts((s,)):
            exprs = ir.stmt_exprs(t)
            if isinstance(t, ir.Assign) and isinstance(t.target, ir.Local):
                exprs = exprs[1:]
            for top in exprs:
                for e in ir.subexprs(top):
                    if isinstance(e, ir.Local) and last.get(e.name, i) < i:
                        last[e.name] = i
    out: dict[int, set[str]] = {}
    for name, i in last.items():
        out.setdefault(i, set()).add(name)
    return out


def _is_condition(e: ir.Expr) -> bool:
    return (isinstance(e, ir.Binary) and (e.op in ir.LOGIC_OPS or e.op in ir.COMPARE_OPS)) or (
        isinstance(e, ir.Unary) and e.op == "not"
    )


# Paths are made with Path(...) here, not dataclasses.replace: replace looks up the fields
# on every call and costs twice as much, and the walk makes a path per step.
def _counted(p: Path, n: int) -> Path:
    return Path(p.env, p.mark, p.why, n, p.note)


def _turned(p: Path, t: Turn) -> Path:
    return Path(p.env, p.mark, (t, p.why), p.n, p.note)


def _bind(p: Path, name: str, r: Range, exists: bool) -> Path:
    """A local gets a new value: its facts are r (a CPU that exists if `exists`); what a
    rule recorded about its old value (keys NAME + a prefix) goes."""
    env = p.env.set(name, r).delete(ATTAINABLE + name)
    if exists:
        env = env.set(R.CPU_MARK + name, R.EXISTS)
    else:
        env = env.delete(R.CPU_MARK + name)
    return Path(env, p.mark, p.why, p.n, p.note)


def _forget(p: Path, names: set[str]) -> Path:
    env = p.env
    for n in names:
        env = env.delete(n).delete(R.CPU_MARK + n).delete(ATTAINABLE + n)
    return p if env is p.env else Path(env, p.mark, p.why, p.n, p.note)


def entry(ranges: Ranges, cb: ir.CallbackDecl | ir.FnDecl, mark: Hashable) -> Path:
    """The path into a body: a callback's `cpu` parameters name CPUs that exist."""
    env = R.EMPTY
    if isinstance(cb, ir.CallbackDecl):
        for name, t in cb.params:
            if t is Type.CPU:
                env = env.set(R.CPU_MARK + name, R.EXISTS)
    return Path(env, mark)


class Passive:
    """A rule that leaves the path as it is at every event: the walk alone (for `reached`),
    and the base of a rule that tracks only some events (liveness: inserts)."""

    merge = True
    sees_exprs = False

    def insert(self, s: ir.Insert, path: Path) -> Path:
        return path

    def branch(self, atom: ir.Expr, truth: bool, decided: bool, path: Path) -> Path:
        return path

    def expr(self, e: ir.Expr, path: Path, maybe: bool) -> None:
        pass

    def widen(self, path: Path, line: int) -> Path:
        return path

    def bind(self, name: str, value: ir.Expr | None, path: Path) -> Path:
        return path

    def leave(
        self, entering: list[Path], leaving: list[Path], line: int, partly: bool
    ) -> list[Path]:
        return leaving


def reached(prog: ir.Program, decl: ir.CallbackDecl | ir.FnDecl) -> set[Span]:
    """The statements of a body that the path rules walk (all others sit behind conditions
    no value satisfies, or after a `return`): where a mutation changes what they see."""
    ranges = Ranges.shared(prog, stores=True)
    walk = Walk(ranges, Passive())
    walk.body(decl.body, entry(ranges, decl, None))
    return walk.reached

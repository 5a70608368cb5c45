"""The liveness rule: `enqueue` inserts its task exactly once on every path; results exist.

A task that `enqueue` does not insert is lost: it never runs again and the kernel ejects
the scheduler when its watchdog fires. A task inserted twice makes the kernel abort the
scheduler at once. So the pass follows every path through `enqueue` (and `select_cpu`,
where inserting is optional but at most once), counting inserts (0, 1, 2 or more), and
remembers which branches a path took so the diagnostic can say "when `x` is false". The
same walk checks that `select_cpu` and every fn with a result return a value on every path.

"On every path" is a claim about all paths, so the walk (passes/paths.py) must never miss
one that a run can take: it may only drop a branch the value ranges prove no value takes
(`if ALWAYS_TRUE or ...` has no false side; after `if h { insert }`, `if not h { insert }`
is decided on each path). Where it follows too many paths at once it joins them, which can
only add paths that do not exist; a diagnostic on such a path says so ("could not prove").
"""

from __future__ import annotations

from dataclasses import replace

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import show
from schedlang.passes.paths import Passive, Path, Walk, Why, entry, turns
from schedlang.passes.ranges import Ranges
from schedlang.source import Span
from schedlang.types import Type

Ends = dict[Span | None, list[Path]]


def run(prog: ir.Program, diags: Diagnostics) -> dict[str, object]:
    ranges = Ranges.shared(prog, stores=True)
    paths: dict[str, int] = {}
    for cb in prog.callbacks:
        if cb.op in ("enqueue", "select_cpu"):
            rule = _Inserts(diags, cb.params[0][0])
            walk = Walk(ranges, rule)
            rule.walk = walk
            ends = walk.body(cb.body, entry(ranges, cb, 0))
            paths[cb.op] = sum(p.n for ps in ends.values() for p in ps)
            if cb.op == "enqueue":
                _check_lost(cb, ends, walk.lost_track, diags)
            else:
                _check_return(f"`on {cb.op}`", cb.ret, ends, walk.lost_track, cb.span, diags)
    for f in prog.fns:
        if f.ret is not Type.VOID:
            walk = Walk(ranges, _Inserts(diags, ""))
            ends = walk.body(f.body, entry(ranges, f, 0))
            _check_return(f"fn `{f.name}`", f.ret, ends, walk.lost_track, f.span, diags)
    return {"paths": paths}


class _Inserts(Passive):
    """The rule's state on a path: how many times the task was inserted (2: twice or more);
    its note is the line of the first insert."""

    merge = True  # a claim about every path: join paths rather than lose one
    sees_exprs = False

    def __init__(self, diags: Diagnostics, task: str) -> None:
        self.diags = diags
        self.task = task
        self.walk: Walk | None = None
        self.reported: set[Span] = set()

    def insert(self, s: ir.Insert, path: Path) -> Path:
        count = path.mark
        assert isinstance(count, int)
        if count > 0 and self.walk is not None:
            if self.walk.repeat:
                self._twice(s, f"it is inside a loop that runs {self.walk.repeat}")
            else:
                self._twice(s, f"a path reaching it already inserted at line {path.note}")
        return replace(path, mark=min(count + 1, 2), note=path.note or s.span.line)

    def _twice(self, s: ir.Insert, why: str) -> None:
        if s.span in self.reported:
            return
        self.reported.add(s.span)
        self.diags.error(C.MAY_INSERT_TWICE, s.span, task=self.task, why=why)


def _describe(why: Why, diags: Diagnostics) -> str:
    """ "on the path where `x` is false (line 4)", naming the last few branches of a path."""
    parts = [
        f"{show.code(diags, t.cond.span, 'the condition')} is {'true' if t.taken else 'false'} (line {t.line})"
        for t in turns(why)
    ]
    return "on the path where " + " and ".join(parts) if parts else ""


def _merged(lost_track: int | None) -> str:
    """What to add when the walk joined paths: the path named may be one no run takes."""
    if lost_track is None:
        return ""
    return (
        f" (the checker could not prove otherwise: from line {lost_track} on it follows more "
        "paths than it keeps apart, so it merged some and this path may combine them)"
    )


def _end_span(at: Span | None, decl: Span) -> Span:
    return at if at is not None else show.closing_brace(decl)


def _check_lost(
    cb: ir.CallbackDecl, ends: Ends, lost_track: int | None, diags: Diagnostics
) -> None:
    task = cb.params[0][0]
    never = not any(isinstance(s, ir.Insert) for s in ir.walk_stmts(cb.body))
    for at, paths in ends.items():
        lost = next((p for p in paths if p.mark == 0), None)
        if lost is None:
            continue
        if never:
            diags.error(C.NEVER_INSERTS, _end_span(at, cb.span), op=cb.op, task=task)
            return
        where = _describe(lost.why, diags)
        missing_else = None
        why = lost.why
        while why is not None and missing_else is None:
            if not why[0].taken and not why[0].has_else:
                missing_else = why[0]
            why = why[1]
        diags.error(
            C.PATH_LOSES_TASK_NO_ELSE if missing_else else C.PATH_LOSES_TASK,
            _end_span(at, cb.span),
            op=cb.op,
            task=task,
            where=f" {where}" if where else "",
            merged=_merged(lost_track),
            line=missing_else.line if missing_else else None,
        )


def _check_return(
    what: str, ret: Type, ends: Ends, lost_track: int | None, decl: Span, diags: Diagnostics
) -> None:
    for witness in ends.get(None, [])[:1]:
        where = _describe(witness.why, diags)
        diags.error(
            C.MAY_NOT_RETURN,
            show.closing_brace(decl),
            what=what,
            type=ret,
            where=f" ({where})" if where else "",
            merged=_merged(lost_track),
        )

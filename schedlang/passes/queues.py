"""The queue rules: no queue starves, and each queue is used the way its kind requires.

A declared queue is a dispatch queue (DSQ) the kernel never drains by itself: if `dispatch`
never moves from it, tasks inserted there never run and the watchdog ejects the scheduler.
A DSQ is FIFO or vtime-ordered for its whole life: the kernel rejects a vtime insert into a
FIFO queue, a FIFO insert into a queue that holds vtime-ordered tasks, and any vtime insert
into the built-in `local` and `global` queues. `insert ... on C` names another CPU's local
queue, so it only goes with `local`; and `move_to_local` takes a declared queue (`global` is
drained by the kernel itself; `local` is already the destination).
"""

from __future__ import annotations

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import ranges, show


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
    moved = _moved_on_a_possible_path(prog)
    inserted = {
        s.queue.name
        for cb in prog.callbacks
        for s in ir.walk_stmts(cb.body)
        if isinstance(s, ir.Insert)
    }
    for q in prog.queues:
        if q.name not in moved:
            _report_starving(prog, q, q.name in inserted, diags)
    return {"queues": {q.name: q.kind for q in prog.queues}}


def _moved_on_a_possible_path(prog: ir.Program) -> set[str]:
    """Queues that `dispatch` moves from where it can actually get to: a move behind a guard
    no value satisfies (`if p != 1s { return }` with p in 1ms..2ms) drains nothing — the
    fuzzer found such a policy, and the kernel ejected it for the stall."""
    dispatch = prog.callback("dispatch")
    moved: set[str] = set()
    if dispatch is None:
        return moved

    def on_expr(e: ir.Expr, env: ranges.Env) -> None:
        if isinstance(e, ir.Builtin) and e.name == "move_to_local" and not ranges.unreachable(env):
            ref = e.args[0]
            if isinstance(ref, ir.QueueRef) and ref.kind in ("fifo", "vtime"):
                moved.add(ref.name)

    ranges.walk_body(ranges.Ranges(prog), dispatch.body, on_expr)
    return moved


def _check_insert(s: ir.Insert, diags: Diagnostics) -> None:
    q = s.queue
    if s.on_cpu is not None and q.kind != "local":
        diags.error(
            C.QUEUE_KIND,
            s.on_cpu.span,
            f"`on CPU` goes only with `local` (another CPU's local queue), not with `{q.name}`",
            f"write `insert {show.code(diags, s.task.span, 't').strip('`')} into local on ...`, "
            f"or drop `on ...` to insert into `{q.name}`",
        )
    if s.vtime is not None and q.kind != "vtime":
        kind = {"local": "the built-in `local`", "global": "the built-in `global`"}.get(
            q.kind, f"the fifo queue `{q.name}`"
        )
        hint = (
            f"declare it `queue {q.name}: vtime` to order it by vtime, or drop `vtime ...`"
            if q.kind == "fifo"
            else "declare a queue (`queue shared: vtime`), insert there, and `move_to_local` it in dispatch"
        )
        diags.error(
            C.QUEUE_KIND,
            s.vtime.span,
            f"`vtime` orders only a vtime queue, and {kind} is not one (the kernel rejects it)",
            hint,
        )
    elif s.vtime is None and q.kind == "vtime":
        diags.error(
            C.QUEUE_KIND,
            s.span,
            f"`{q.name}` is a vtime queue, but this `insert` has no `vtime` (it would be filled "
            "FIFO, which the kernel rejects)",
            "give the order: `... vtime t.vtime`",
        )


def _check_move(q: ir.QueueRef, diags: Diagnostics) -> bool:
    if q.kind == "global":
        diags.error(
            C.QUEUE_KIND,
            q.span,
            "`move_to_local(global)` is not needed: the kernel runs tasks from `global` by itself",
            "drop this call, or declare a queue of your own and move from it",
        )
        return False
    if q.kind == "local":
        diags.error(
            C.QUEUE_KIND,
            q.span,
            "`move_to_local(local)` moves nothing: `local` is this CPU's own queue",
            "move from a declared queue: `move_to_local(NAME)`",
        )
        return False
    return True


def _report_starving(prog: ir.Program, q: ir.QueueDecl, used: bool, diags: Diagnostics) -> None:
    if prog.callback("dispatch") is None:
        hint = f"add `on dispatch(c) {{ move_to_local({q.name}) }}`"
    else:
        hint = f"call `move_to_local({q.name})` in `on dispatch` (e.g. when the other queues are empty)"
    if used:
        message = (
            f"queue `{q.name}` is never moved from in `on dispatch`: its tasks would never run"
        )
    else:
        message = f"queue `{q.name}` is never used: nothing inserts into it or moves from it"
        hint = f"remove `queue {q.name}`, or insert into it and {hint[0].lower()}{hint[1:]}"
    diags.error(C.STARVING_QUEUE, q.span, message, hint)

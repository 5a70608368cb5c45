"""Semantic mutations: an accepted policy → one that breaks exactly one safety rule.

Each mutation re-parses the policy text (so every node has its span), asks the checker for
the types it needs (the typed IR has the same spans), rewrites one place of the syntax tree
and prints it again. The result says which code the checker must report and on which line
of the mutated text, so a test can assert the checker reports that code there and nothing
else. A mutation returns None when the policy has no place it applies to.

The new names a mutation introduces start with `zz_`, which the generator never uses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from schedlang import ast, ir
from schedlang.checker import check_source
from schedlang.diagnostics import Diagnostics
from schedlang.fmt import format_program
from schedlang.fuzzgen.choices import Choices
from schedlang.passes import paths
from schedlang.source import NOWHERE, SourceFile
from schedlang.syntax import parse_source

S = NOWHERE
MARK = "zz_mut"
UNIT_MARK = 424242  # the bare number added to a duration


@dataclass(frozen=True)
class Mutant:
    code: str  # the diagnostic code the checker must report
    line: int  # ... on this line of `text`
    text: str
    what: str  # the mutation, for failure messages


# ----------------------------------------------------------------------------- tree helpers
def nodes(root: object) -> Iterator[ast.Node]:
    """Every node under root, parents before children."""
    if isinstance(root, ast.Node):
        yield root
        for f in dataclasses.fields(root):
            yield from nodes(getattr(root, f.name))
    elif isinstance(root, tuple):
        for item in root:
            yield from nodes(item)


def replace(root: object, old: ast.Node, new: ast.Node | None) -> object:
    """root with the node `old` (by identity) replaced by `new`; None drops it from a tuple."""
    if root is old:
        return new
    if isinstance(root, ast.Node):
        changes = {}
        for f in dataclasses.fields(root):
            value = getattr(root, f.name)
            updated = replace(value, old, new)
            if updated is not value:
                changes[f.name] = updated
        return dataclasses.replace(root, **changes) if changes else root  # type: ignore[arg-type]
    if isinstance(root, tuple):
        items = [replace(item, old, new) for item in root]
        if all(a is b for a, b in zip(items, root, strict=True)):
            return root
        return tuple(item for item in items if item is not None)
    return root


def _key(n: ast.Node | ir.Expr | ir.Stmt) -> tuple[int, int]:
    return (n.span.start, n.span.end)


def _with_decl(tree: ast.Scheduler, decl: ast.Decl) -> ast.Scheduler:
    return dataclasses.replace(tree, decls=(*tree.decls, decl))


def _var(t: str, init: ast.Expr) -> ast.Var:
    return ast.Var(S, MARK, S, ast.TypeName(S, t), init)


def _line_of(text: str, needle: str, *, skip_prefix: str = "") -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line and not line.strip().startswith(skip_prefix or "\0"):
            return i
    raise ValueError(f"{needle!r} not in the mutated text")


def _closing_brace(text: str, header: str) -> int:
    """The line of the `}` that closes the declaration starting with `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(header))
    indent = len(lines[start]) - len(lines[start].lstrip())
    return next(i + 1 for i in range(start + 1, len(lines)) if lines[i] == " " * indent + "}")


@dataclass
class _Parsed:
    tree: ast.Scheduler
    program: ir.Program
    typed: dict[tuple[int, int], ir.Expr]  # span -> typed IR expression
    dead: list[tuple[int, int]]  # spans of statements no path reaches (under `if false`)

    def reached(self, n: ast.Node) -> bool:
        return not any(a <= n.span.start and n.span.end <= b for a, b in self.dead)


def _parse(text: str) -> _Parsed | None:
    source = SourceFile("mutant.sched", text)
    tree = parse_source(source, Diagnostics(source))
    checked, _ = check_source(source)
    if tree is None or checked is None:
        return None
    typed: dict[tuple[int, int], ir.Expr] = {}
    for body in [f.body for f in checked.program.fns] + [c.body for c in checked.program.callbacks]:
        for s in ir.walk_stmts(body):
            for top in ir.stmt_exprs(s):
                for e in ir.subexprs(top):
                    typed.setdefault(_key(e), e)
    dead: list[tuple[int, int]] = []
    decls: list[ir.FnDecl | ir.CallbackDecl] = [*checked.program.fns, *checked.program.callbacks]
    for decl in decls:
        seen = paths.reached(checked.program, decl)
        dead.extend(_key(s) for s in ir.walk_stmts(decl.body) if s.span not in seen)
    return _Parsed(tree, checked.program, typed, dead)


# ----------------------------------------------------------------------------- mutations
def drop_insert(p: _Parsed, ch: Choices) -> Mutant | None:
    """Drop the insert of one enqueue branch: that path loses the task (`lost-task`)."""
    enqueue = next(
        (d for d in p.tree.decls if isinstance(d, ast.Callback) and d.name == "enqueue"), None
    )
    if enqueue is None:
        return None
    inserts = [n for n in nodes(enqueue.body) if isinstance(n, ast.Insert) and p.reached(n)]
    if not inserts:
        return None
    victim = ch.pick(inserts)
    tree = replace(p.tree, victim, None)
    assert isinstance(tree, ast.Scheduler)
    text = format_program(tree)
    line = _closing_brace(text, "on enqueue(")
    return Mutant("lost-task", line, text, "dropped an insert from enqueue")


def _loop_var_is_evidence(loop: ast.ForRange) -> bool:
    """Whether the loop variable's range may prove something in the body (an index, a
    divisor, a guard, a local): then an unbounded loop would break more than one rule."""
    for n in nodes(loop.body):
        uses = [
            x
            for part in _evidence_parts(n)
            for x in nodes(part)
            if isinstance(x, ast.Name) and x.ident == loop.var
        ]
        if uses:
            return True
    return False


def _evidence_parts(n: ast.Node) -> list[ast.Node]:
    match n:
        case ast.Index(index=i):
            return [i]
        case ast.Binary(op="/" | "%", right=r):
            return [r]
        case ast.Let(value=v):
            return [v]
        case ast.If(cond=c):
            return [c]
        case ast.Assign(target=ast.Name(), value=v):
            return [v]
        case ast.Insert(slice=sl) if sl is not None:
            return [sl]
    return []


def unbound_loop(p: _Parsed, ch: Choices) -> Mutant | None:
    """Replace a loop bound by a var (`unbounded-loop`)."""
    loops = [
        n for n in nodes(p.tree) if isinstance(n, ast.ForRange) and not _loop_var_is_evidence(n)
    ]
    if not loops:
        return None
    loop = ch.pick(loops)
    typed_hi = p.typed.get(_key(loop.hi))
    t = typed_hi.type.value if typed_hi is not None else "u32"
    mutated = dataclasses.replace(loop, hi=ast.Name(S, MARK))
    tree = _with_decl(replace(p.tree, loop, mutated), _var(t, ast.IntLit(S, 8)))  # type: ignore[arg-type]
    text = format_program(tree)
    return Mutant(
        "unbounded-loop", _line_of(text, MARK, skip_prefix="var"), text, "loop bound -> var"
    )


def var_divisor(p: _Parsed, ch: Choices) -> Mutant | None:
    """Replace a constant divisor by a var (`div-by-zero`)."""
    found = []
    # not a division that proves an index or a cpu (`x % N`): more than one rule would break
    proofs = [i.index for i in nodes(p.tree) if isinstance(i, ast.Index)]
    proofs += [c.expr for c in nodes(p.tree) if isinstance(c, ast.Cast) and c.to.name == "cpu"]
    in_index = {id(x) for proof in proofs for x in nodes(proof)}
    for n in nodes(p.tree):
        if isinstance(n, ast.Binary) and n.op in ("/", "%") and id(n) not in in_index:
            if not p.reached(n):
                continue
            typed = p.typed.get(_key(n))
            right = typed.right if isinstance(typed, ir.Binary) else None
            if isinstance(right, ir.Lit) and right.type.value in (
                "u32",
                "u64",
                "i32",
                "i64",
                "duration",
            ):
                found.append((n, right.type.value))
    if not found:
        return None
    div, t = ch.pick(found)
    init: ast.Expr = ast.DurationLit(S, 1, "ns") if t == "duration" else ast.IntLit(S, 1)
    mutated = dataclasses.replace(div, right=ast.Name(S, MARK))
    tree = _with_decl(replace(p.tree, div, mutated), _var(t, init))  # type: ignore[arg-type]
    text = format_program(tree)
    return Mutant("div-by-zero", _line_of(text, MARK, skip_prefix="var"), text, "divisor -> var")


def unguarded_index(p: _Parsed, ch: Choices) -> Mutant | None:
    """Index an array with an unguarded u64 var (`index-unproven`)."""
    arrays = {d.name for d in p.tree.decls if isinstance(d, ast.Array)}
    found = [
        n
        for n in nodes(p.tree)
        if isinstance(n, ast.Index)
        and isinstance(n.base, ast.Name)
        and n.base.ident in arrays
        and p.reached(n)
    ]
    if not found:
        return None
    idx = ch.pick(found)
    mutated = dataclasses.replace(idx, index=ast.Name(S, MARK))
    tree = _with_decl(replace(p.tree, idx, mutated), _var("u64", ast.IntLit(S, 0)))  # type: ignore[arg-type]
    text = format_program(tree)
    return Mutant("index-unproven", _line_of(text, MARK, skip_prefix="var"), text, "index -> var")


def starve_queue(p: _Parsed, ch: Choices) -> Mutant | None:
    """Remove every `move_to_local` of one queue (`starving-queue` on its declaration)."""
    queues = [d.name for d in p.tree.decls if isinstance(d, ast.Queue)]
    if not queues:
        return None
    q = ch.pick(queues)
    tree: object = p.tree
    moves = [
        n
        for n in nodes(p.tree)
        if isinstance(n, ast.Call) and n.func == "move_to_local" and n.args == (ast.Name(S, q),)
    ]
    stmts = [n for n in nodes(p.tree) if isinstance(n, ast.ExprStmt) and n.expr in moves]
    for s in stmts:
        tree = replace(tree, s, None)
    for call in [c for c in moves if not any(s.expr is c for s in stmts)]:
        # in a condition: still ask about the queue, without moving from it
        queued = ast.Binary(S, ">", ast.Call(S, "queued", (ast.Name(S, q),), S), ast.IntLit(S, 0))
        tree = replace(tree, call, queued)
    assert isinstance(tree, ast.Scheduler)
    text = format_program(tree)
    return Mutant("starving-queue", _line_of(text, f"queue {q}:"), text, f"no move from {q}")


def self_call(p: _Parsed, ch: Choices) -> Mutant | None:
    """Make an fn call itself (`recursion`)."""
    fns = [d for d in p.tree.decls if isinstance(d, ast.Fn)]
    if not fns:
        return None
    fn = ch.pick(fns)
    args = tuple(ast.Name(S, prm.name) for prm in fn.params)
    call = ast.ExprStmt(S, ast.Call(S, fn.name, args, S))
    mutated = dataclasses.replace(fn, body=ast.Block(S, (call, *fn.body.stmts)))
    tree = replace(p.tree, fn, mutated)
    assert isinstance(tree, ast.Scheduler)
    text = format_program(tree)
    return Mutant(
        "recursion", _line_of(text, f"fn {fn.name}(") + 1, text, f"{fn.name} calls itself"
    )


def bare_number(p: _Parsed, ch: Choices) -> Mutant | None:
    """Add a bare integer to a duration (`needs-unit`)."""
    used = {n.ident for n in nodes(p.tree) if isinstance(n, ast.Name)}
    found: list[ast.Let | ast.Assign] = []
    for n in nodes(p.tree):
        # not a let whose name is used later: a use may report the failed local again (a
        # compound assignment did, until commit 1720720)
        if isinstance(n, ast.Let) and n.type is not None and n.type.name == "duration":
            found += [n] if n.name not in used else []
        elif isinstance(n, ast.Assign) and n.op == "=" and isinstance(n.target, ast.Field):
            found += [n] if n.target.name in ("vtime", "slice") else []
    if not found:
        return None
    stmt = ch.pick(found)
    plus = ast.Binary(S, "+", stmt.value, ast.IntLit(S, UNIT_MARK))
    tree = replace(p.tree, stmt, dataclasses.replace(stmt, value=plus))
    assert isinstance(tree, ast.Scheduler)
    text = format_program(tree)
    return Mutant("needs-unit", _line_of(text, str(UNIT_MARK)), text, "duration + bare number")


def _reached_inserts(p: _Parsed, op: str) -> list[tuple[ast.Block, ast.Insert]]:
    """(enclosing block, insert) for the reachable inserts of callback `op`."""
    cb = next((d for d in p.tree.decls if isinstance(d, ast.Callback) and d.name == op), None)
    if cb is None:
        return []
    return [
        (blk, s)
        for blk in nodes(cb.body)
        if isinstance(blk, ast.Block)
        for s in blk.stmts
        if isinstance(s, ast.Insert) and p.reached(s)
    ]


def twice(p: _Parsed, ch: Choices) -> Mutant | None:
    """Insert the task a second time right after an enqueue insert (`double-insert`)."""
    found = _reached_inserts(p, "enqueue")
    if not found:
        return None
    blk, ins = ch.pick(found)
    i = blk.stmts.index(ins)
    marked = dataclasses.replace(
        ins, queue="global", on_cpu=None, vtime=None, slice=_marked_slice()
    )
    mutated = dataclasses.replace(blk, stmts=(*blk.stmts[: i + 1], marked, *blk.stmts[i + 1 :]))
    tree = replace(p.tree, blk, mutated)
    assert isinstance(tree, ast.Scheduler)
    text = format_program(tree)
    return Mutant("double-insert", _line_of(text, "slice 4242ns"), text, "an insert twice")


def _marked_slice() -> ast.Expr:
    return ast.DurationLit(S, 4242, "ns")


def fifo_vtime(p: _Parsed, ch: Choices) -> Mutant | None:
    """Drop the vtime of an insert into a vtime queue (`queue-kind`)."""
    found = [
        (blk, s)
        for op in ("enqueue", "select_cpu")
        for blk, s in _reached_inserts(p, op)
        if s.vtime is not None
    ]
    if not found:
        return None
    _, ins = ch.pick(found)
    mutated = dataclasses.replace(ins, vtime=None, slice=_marked_slice())
    tree = replace(p.tree, ins, mutated)
    assert isinstance(tree, ast.Scheduler)
    text = format_program(tree)
    return Mutant("queue-kind", _line_of(text, "slice 4242ns"), text, "vtime queue without vtime")


def no_return(p: _Parsed, ch: Choices) -> Mutant | None:
    """Drop the final `return` of an fn with a result (`missing-return` at its brace)."""
    fns = [
        d
        for d in p.tree.decls
        if isinstance(d, ast.Fn)
        and d.ret is not None
        and d.body.stmts
        # an earlier return on every path would still end the fn
        and not any(isinstance(n, ast.Return) for s in d.body.stmts[:-1] for n in nodes(s))
    ]
    if not fns:
        return None
    fn = ch.pick(fns)
    mutated = dataclasses.replace(fn, body=ast.Block(S, fn.body.stmts[:-1]))
    tree = replace(p.tree, fn, mutated)
    assert isinstance(tree, ast.Scheduler)
    text = format_program(tree)
    return Mutant("missing-return", _closing_brace(text, f"fn {fn.name}("), text, "no return")


MUTATIONS: dict[str, Callable[[_Parsed, Choices], Mutant | None]] = {
    "lost-task": drop_insert,
    "unbounded-loop": unbound_loop,
    "div-by-zero": var_divisor,
    "index-unproven": unguarded_index,
    "starving-queue": starve_queue,
    "recursion": self_call,
    "needs-unit": bare_number,
    "double-insert": twice,
    "queue-kind": fifo_vtime,
    "missing-return": no_return,
}


def mutate(text: str, code: str, ch: Choices) -> Mutant | None:
    """A mutant of the accepted policy `text` that breaks the rule `code`, or None when the
    policy has no place for that mutation (or is not accepted to begin with)."""
    parsed = _parse(text)
    return None if parsed is None else MUTATIONS[code](parsed, ch)

"""Combine two library policies through `import`: the placement of one, the ordering of another.

`synthesize` and people start from the library; a candidate that takes where tasks run from
one policy and the order they run in from another is written, not rewritten, as a policy
that imports the one into the other. This module writes that policy and checks it with the
ordinary checker, so the combination is proven exactly as a hand-written policy would be:
the `import` brings the placement's declarations into the ordering policy's text, and every
rule runs on the result.

The parts follow one convention (docs/language.md, "Composition"). A library policy offers
its **placement** by declaring `fn place(t: task, prev: cpu) -> cpu`, with optional hooks
`fn place_enable(t: task)`, `place_running(t: task)`, `place_stopping(t: task)` and
`place_tick(t: task)` that keep the state `place` reads (a hook may return a value, which
the combination ignores); its own callbacks call the same hooks. Any library policy offers
its **ordering**: all of it but its `on select_cpu`. The combination is the ordering policy
with
* an `import` of `place`, the hooks and the state they use, each name the ordering policy
  declares already imported under an alias (`started as least_loaded_started`),
* `on select_cpu` replaced by `return place(t, prev)`,
* each hook called first in the callback of its name (the callback added when missing).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from schedlang import ast, imports, stdlib
from schedlang.checker import check_source
from schedlang.diagnostics import Diagnostic
from schedlang.fmt import format_program
from schedlang.ir import CheckedProgram
from schedlang.source import NOWHERE, SourceFile
from schedlang.syntax import parse

PLACE = "place"
# The hooks a placement may declare, by the callback that calls them, with that callback's
# parameter names when the combination has to add it.
HOOKS: dict[str, tuple[str, ...]] = {
    "enable": ("t",),
    "running": ("t",),
    "stopping": ("t", "runnable"),
    "tick": ("t",),
}
S = NOWHERE


@dataclass(frozen=True)
class Composed:
    """A combination: its source text, and the checker's verdict on it."""

    name: str
    text: str
    checked: CheckedProgram | None
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return self.checked is not None


def compose(placement: str, ordering: str, *, name: str | None = None) -> Composed:
    """The policy that places tasks as library policy `placement` does and orders them as
    library policy `ordering` does, written as an `import` and checked. A combination the
    checker rejects comes back with its diagnostics (`ok` false), never an exception; a
    name that is not a library policy is a KeyError."""
    base = parse(stdlib.source(ordering), f"stdlib/{ordering}.sched")
    part = parse(stdlib.source(placement), f"stdlib/{placement}.sched")
    name = name or f"{placement}_{ordering}"
    head = (
        f"// Written by schedlang.compose: the placement of {placement} (`place`, its hooks and\n"
        f"// their state, imported) and the ordering of {ordering} (all of it but `on select_cpu`).\n"
    )
    text = head + format_program(_combine(base, part, placement, ordering, name))
    checked, diags = check_source(SourceFile(f"{name}.sched", text))
    return Composed(name, text, checked, list(diags))


def _combine(
    base: ast.Scheduler, part: ast.Scheduler, placement: str, ordering: str, name: str
) -> ast.Scheduler:
    offered = {d.name: d for d in part.decls if not isinstance(d, ast.Callback | ast.Import)}
    hooks = [op for op in HOOKS if f"{PLACE}_{op}" in offered]
    listed = [PLACE, *(f"{PLACE}_{op}" for op in hooks)]
    taken = {d.name for d in base.decls if not isinstance(d, ast.Callback)}
    wanted = [n for n in listed if n in offered]
    brought = sorted(imports.closure(offered, wanted)) if PLACE in offered else []
    names = [
        ast.ImportName(S, n, f"{placement}_{n}" if n in taken else None)
        for n in dict.fromkeys([*listed, *brought])
    ]
    local = {n.name: n.local for n in names}
    decls: list[ast.Decl] = [ast.Import(S, placement, S, False, tuple(names))]
    for d in base.decls:
        if isinstance(d, ast.Callback) and d.name == "select_cpu":
            continue
        if isinstance(d, ast.Callback) and d.name in hooks:
            d = dataclasses.replace(d, body=_first(_call(local, d.name, d.params[0].name), d.body))
        decls.append(d)
    decls.append(_select_cpu(local[PLACE]))
    own = {d.name for d in base.decls if isinstance(d, ast.Callback)}
    for op in hooks:
        if op not in own:
            params = tuple(ast.CallbackParam(S, p) for p in HOOKS[op])
            decls.append(
                ast.Callback(S, op, S, params, None, ast.Block(S, (_call(local, op, "t"),)))
            )
    description = f"tasks placed as {placement} does, ordered as {ordering} does"
    return dataclasses.replace(base, name=name, description=description, decls=tuple(decls))


def _select_cpu(place: str) -> ast.Callback:
    params = tuple(ast.CallbackParam(S, p) for p in ("t", "prev", "flags"))
    call = ast.Call(S, place, (ast.Name(S, "t"), ast.Name(S, "prev")), S)
    body = ast.Block(S, (ast.Return(S, call),))
    return ast.Callback(S, "select_cpu", S, params, ast.TypeName(S, "cpu"), body)


def _call(local: dict[str, str], op: str, task: str) -> ast.Stmt:
    return ast.ExprStmt(S, ast.Call(S, local[f"{PLACE}_{op}"], (ast.Name(S, task),), S))


def _first(stmt: ast.Stmt, body: ast.Block) -> ast.Block:
    return dataclasses.replace(body, stmts=(stmt, *body.stmts))

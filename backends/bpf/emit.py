"""Checked IR → the template context of one policy's C file (then rendered by render.py).

Only what depends on the policy is here: its tunables, queues, variables, storage and
callbacks. What every policy shares (kernel types, kfuncs, the kernel API wrappers and the
guards' helpers) is the header `schedlang.bpf.h`, which the file includes; unused helpers and
kfuncs of the header never reach the object. Everything here is deterministic: same program,
same options, same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schedlang import ir
from schedlang.backends import semantics
from schedlang.backends.bpf import cnames, compat, layout, render
from schedlang.backends.bpf import csyntax as c
from schedlang.backends.bpf.lower import Lowerer, Scope, mark
from schedlang.callbacks import CALLBACKS
from schedlang.source import Span
from schedlang.types import Type
from schedlang.version import __version__

OPS_ORDER = (*CALLBACKS, "exit")

GUARANTEES = (
    "every expression is well typed, with units (durations and times in ns);",
    "loops are bounded and nothing recurses;",
    "every array index is in range and every map has a capacity;",
    "no division by zero; unsigned subtraction saturates at 0;",
    "enqueue inserts the task on every path; every declared queue is drained in dispatch;",
    "vtime inserts go only to vtime queues; select_cpu returns on every path.",
)


@dataclass(frozen=True)
class Options:
    params: dict[str, int]
    kernel_api: compat.KernelApi
    timeout_ms: int = semantics.DEFAULT_TIMEOUT_MS
    version: str = __version__
    # The policy's `scheduler NAME` line: what the callbacks the policy did not write (and
    # which exist for the policy as a whole) map to in the line map.
    header_line: int = 1


def build_context(checked: ir.CheckedProgram, opts: Options) -> dict[str, Any]:
    """Everything the template needs, with C bodies already lowered (position markers in)."""
    program = checked.program
    source_name = program.path.rsplit("/", 1)[-1]
    lw = Lowerer(program)
    fns = [_fn(lw, f) for f in program.fns]
    # Prototypes first: an `fn` may call one declared after it (the checker forbids only
    # recursion), and C needs a declaration before the call.
    if len(fns) > 1:
        fns.insert(0, "\n".join(_fn_signature(f) + ";" for f in program.fns))
    fallback = semantics.has_dispatch_fallback(program)
    callbacks = [
        _callback(lw, program, op, opts.header_line, source_name)
        for op in OPS_ORDER
        if _has(program, op)
    ]
    params = layout.param_slots(program, opts.params)
    return {
        "name": program.name,
        "ops_name": cnames.derived(program.name, "ops"),
        "description": program.description,
        "version": opts.version,
        "source": program.path,
        "source_name": source_name,
        "policy_summary": _summary(checked, params),
        "api": opts.kernel_api,
        "api_level": opts.kernel_api.c_level,
        "header": render.HEADER,
        "params": [_param(p) for p in params],
        "max_cpus": program.max_cpus,
        "queues": [
            {
                "name": q.name,
                "kind": q.kind,
                "dsq_id": q.dsq_id,
                "const": cnames.queue_const(q.name),
                "slot": cnames.queue_slot(q.name),
                "index": i,
            }
            for i, q in enumerate(program.queues)
        ],
        "vars": [_storage(v.name, v.type, v.init) for v in program.vars],
        "task_vars": [_storage(v.name, v.type, v.init) for v in program.task_vars],
        "arrays": [_array(a, program.max_cpus) for a in program.arrays],
        "maps": [_map(m) for m in program.maps],
        "kicks": any(
            isinstance(s, ir.Kick) for body in _bodies(program) for s in ir.walk_stmts(body)
        ),
        "fallback_queues": [
            cnames.queue_const(q.name) for q in semantics.dispatch_fallback_order(program)
        ]
        if fallback
        else [],
        "fns": fns,
        "imported": {i.file: (i.via.line, i.via.col) for i in program.imported},
        "callbacks": callbacks,
        "timeout_ms": opts.timeout_ms,
    }


def _bodies(program: ir.Program) -> list[tuple[ir.Stmt, ...]]:
    return [f.body for f in program.fns] + [c.body for c in program.callbacks]


def _has(program: ir.Program, op: str) -> bool:
    return op in semantics.ALWAYS_OPS or program.callback(op) is not None


def _summary(checked: ir.CheckedProgram, params: tuple[layout.ParamSlot, ...]) -> list[str]:
    program = checked.program
    lines: list[str] = []
    if params:
        lines.append("Tunables:")
        for p in params:
            lines.append(
                f"  {p.decl.name} = {_show(p.value, p.decl.type)} (range {_show(p.decl.lo, p.decl.type)}..{_show(p.decl.hi, p.decl.type)})"
            )
    if program.queues:
        queues = ", ".join(f"{q.name} ({q.kind}, dsq {q.dsq_id})" for q in program.queues)
        lines.append(f"Queues: {queues}.")
    written = ", ".join(c.op for c in program.callbacks)
    lines.append(f"Callbacks written in the policy: {written or 'none'}.")
    lines.append("")
    lines.append("Proven by the checker before this file was generated:")
    lines += [f"  - {g}" for g in GUARANTEES]
    if checked.facts:
        lines.append("Checker facts:")
    for key in sorted(checked.facts):
        lines.append(f"  {key}: {_fact(checked.facts[key])}")
    return lines


def _fact(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
    return str(value)


def _show(value: int, t: Type) -> str:
    return cnames.format_duration(value) if t is Type.DURATION else str(value)


def _param(p: layout.ParamSlot) -> dict[str, Any]:
    d = p.decl
    doc = f"{d.type}, {_show(d.lo, d.type)}..{_show(d.hi, d.type)}, default {_show(d.default, d.type)}"
    suffix = "LL" if p.signed else "ULL"
    return {
        "name": cnames.ident(d.name),
        "c_type": p.c_type,
        "doc": doc,
        "init": f"{p.value}{suffix}",
    }


def _storage(name: str, t: Type, init: int) -> dict[str, str]:
    return {"name": cnames.ident(name), "ctype": cnames.c_type(t), "init": cnames.int_lit(init, t)}


def _array(a: ir.ArrayDecl, max_cpus: int) -> dict[str, Any]:
    return {
        "name": cnames.ident(a.name),
        "at": cnames.derived(a.name, "at"),
        "scratch": cnames.derived(a.name, "scratch"),
        "ctype": cnames.c_type(a.elem),
        "size": "MAX_CPUS" if a.size is None else str(a.size),
        "dsl_type": str(a.elem),
        "dsl_size": "cpus" if a.size is None else str(a.size),
    }


def _map(m: ir.MapDecl) -> dict[str, Any]:
    return {
        "name": cnames.ident(m.name),
        "getter": cnames.derived(m.name, "get"),
        "setter": cnames.derived(m.name, "set"),
        "key": cnames.c_type(m.key),
        "value": cnames.c_type(m.value),
        "dsl_key": str(m.key),
        "dsl_value": str(m.value),
        "capacity": m.capacity,
        "default": cnames.int_lit(m.default, m.value),
    }


def _fn_signature(f: ir.FnDecl) -> str:
    ret = "void" if f.ret is Type.VOID else cnames.c_type(f.ret)
    args = ", ".join(_c_param(t, name) for name, t in f.params) or "void"
    return f"static __always_inline {ret} {cnames.derived(f.name, 'fn')}({args})"


def _fn(lw: Lowerer, f: ir.FnDecl) -> str:
    scope = Scope(op=None, bare_return=c.Return(), enq_flags="0")
    decls, stmts = lw.body(f.body, scope)
    body = decls + ([""] if decls and stmts else []) + stmts
    origin = f", imported from {f.span.file}" if f.span.file else ""
    head = f"/* fn {cnames.comment(f.name)}{cnames.comment(origin)} */ {mark(f.span)}"
    return "\n".join([head, *render.fit(_fn_signature(f)), "{", *body, "}"])


def _c_param(t: Type, name: str) -> str:
    return _c_param_named(t, cnames.ident(name))


def _callback(
    lw: Lowerer, program: ir.Program, op: str, header_line: int, source_name: str
) -> dict[str, Any]:
    """One callback. Its signature line is mapped too (to `on op` or the scheduler line), so
    code a policy did not write (prologues, whole generated callbacks) is never attributed
    to the statement that happens to precede it in the C file."""
    decl = program.callback(op)
    c_name = cnames.derived(program.name, op)
    span = decl.span if decl else Span(header_line, 1, header_line, 1)
    if op == "exit":
        lines = ["\tsl_record_exit(ei);"]
        params = ["struct scx_exit_info *ei"]
    else:
        lines, params = _callback_body(lw, program, op, decl)
    macro = "BPF_STRUCT_OPS_SLEEPABLE" if op == "init" else "BPF_STRUCT_OPS"
    ret = "s32" if op in ("select_cpu", "init") else "void"
    head = f"{ret} {macro}({', '.join([c_name, *params])})"
    comment = len(render.line_comment(source_name, span.line)) + 1
    first, *rest = render.fit(head, reserve=comment)
    return {
        "op": op,
        "c_name": c_name,
        "signature": "\n".join([f"{first} {mark(span)}", *rest]),
        "lines": lines,
        "doc": CALLBACKS[op].doc if op in CALLBACKS else EXIT_DOC,
    }


EXIT_DOC = "the scheduler is being unloaded: record why, for the loader"


def _callback_body(
    lw: Lowerer, program: ir.Program, op: str, decl: ir.CallbackDecl | None
) -> tuple[list[str], list[str]]:
    """The body of a callback other than exit, and its C parameters (the kernel's order)."""
    sig = CALLBACKS[op]
    names = [cnames.ident(n) for n, _ in decl.params] if decl else list(_DEFAULT_NAMES[op])
    has_task = bool(sig.params) and sig.params[0] is Type.TASK
    task = names[0] if has_task else "p"
    params = [_c_param_named(t, n) for t, n in zip(sig.params, names, strict=True)]
    lines: list[str] = []
    if op == "enqueue":
        # The kernel's flags go to every insert by a name of the generated C's own, never by
        # the policy's parameter name (finding 1 of docs/adversarial-findings.md); the
        # policy's name is a copy, made only when the policy uses it.
        params[1] = _c_param_named(sig.params[1], ENQ_FLAGS)
        if decl is not None and _uses(decl, decl.params[1][0]):
            lines.append(f"\t{_c_param_named(sig.params[1], names[1])} = {ENQ_FLAGS};")
    if op == "init" and program.queues:
        lines.append("\ts32 sl_err;")
    prologue = _PROLOGUE.get(op, lambda _p, _t: [])(program, task)
    decls: list[str] = []
    body: list[str] = []
    fallback = op == "dispatch" and semantics.has_dispatch_fallback(program)
    if decl is not None:
        scope = Scope(
            op=op,
            bare_return=_bare_return(op, fallback),
            enq_flags=ENQ_FLAGS if op == "enqueue" else "0",
            task=task if has_task else None,
            prologue=bool(prologue),
        )
        lw.trusted_cpus = semantics.kernel_given_cpus(decl)
        decls, body = lw.body(decl.body, scope)
        lw.trusted_cpus = frozenset()
    lines += decls
    for block in (prologue, body):
        if lines and block:
            lines.append("")
        lines += block
    if op == "init":
        if lines:
            lines.append("")
        lines.append("\treturn 0;")
    if fallback:
        assert decl is not None
        returns = any(isinstance(s, ir.Return) for s in ir.walk_stmts(decl.body))
        lines += ["", *([f"{FALLBACK_LABEL}:"] if returns else []), "\tsl_dispatch_fallback();"]
    return lines, params


def _uses(decl: ir.CallbackDecl, name: str) -> bool:
    """Whether the callback's body reads or writes the local `name` (a parameter)."""
    return any(
        isinstance(e, ir.Local) and e.name == name
        for s in ir.walk_stmts(decl.body)
        for top in ir.stmt_exprs(s)
        for e in ir.subexprs(top)
    )


def _c_param_named(t: Type, c_name: str) -> str:
    ctype = cnames.c_type(t)
    return f"{ctype}{'' if ctype.endswith('*') else ' '}{c_name}"


# Where `return` in dispatch goes when dispatch ends in sl_dispatch_fallback(): the
# fallback runs on every way out of the policy's code.
FALLBACK_LABEL = "sl_fallback"


def _bare_return(op: str, fallback: bool) -> c.Stmt:
    if fallback:
        return c.Jump(f"goto {FALLBACK_LABEL}")
    return c.Return(c.Atom("0")) if op == "init" else c.Return()


# What enqueue's body passes to each insert as the kernel's enq_flags: the kernel's own name,
# which cnames keeps from every policy name.
ENQ_FLAGS = "enq_flags"

# Argument names for the callbacks a policy did not write (the kernel's own names).
_DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "runnable": ("p", "enq_flags"),
    "running": ("p",),
    "init": (),
}


def _enqueue_prologue(program: ir.Program, task: str) -> list[str]:
    return ["\tsl_count(nr_enqueued);"]


def _runnable_prologue(program: ir.Program, task: str) -> list[str]:
    return [f"\ttask_ctx({task})->runnable_at = bpf_ktime_get_ns();"]


def _running_prologue(program: ir.Program, task: str) -> list[str]:
    return [f"\tsl_record_wakeup(&task_ctx({task})->runnable_at);"]


def _init_prologue(program: ir.Program, task: str) -> list[str]:
    lines: list[str] = []
    for q in program.queues:
        lines += [
            f"\tsl_err = scx_bpf_create_dsq({cnames.queue_const(q.name)}, -1); {mark(q.span)}",
            "\tif (sl_err)",
            "\t\treturn sl_err;",
        ]
    return lines


_PROLOGUE = {
    "enqueue": _enqueue_prologue,
    "runnable": _runnable_prologue,
    "running": _running_prologue,
    "init": _init_prologue,
}

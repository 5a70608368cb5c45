"""Checked IR → the template context of one policy's C file (then rendered by render.py).

The order of work: lower every callback and `fn` first (which records what they need),
then derive the declarations (kernel types, kfuncs, helpers) from those needs, so the C file
declares exactly what the policy uses. Everything here is deterministic: same program, same
options, same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from schedlang import ir, kernel_api
from schedlang.backends import semantics
from schedlang.backends.bpf import cnames, compat, helpers, layout
from schedlang.backends.bpf import csyntax as c
from schedlang.backends.bpf.lower import Lowerer, Scope, mark
from schedlang.callbacks import CALLBACKS
from schedlang.source import Span
from schedlang.types import Type
from schedlang.version import __version__

DEFAULT_TIMEOUT_MS = 5000

# The kernel's callback prototypes, for the local struct sched_ext_ops (members by name).
OPS_MEMBERS: dict[str, str] = {
    "select_cpu": "s32 (*select_cpu)(struct task_struct *p, s32 prev_cpu, u64 wake_flags);",
    "enqueue": "void (*enqueue)(struct task_struct *p, u64 enq_flags);",
    "dispatch": "void (*dispatch)(s32 cpu, struct task_struct *prev);",
    "tick": "void (*tick)(struct task_struct *p);",
    "runnable": "void (*runnable)(struct task_struct *p, u64 enq_flags);",
    "running": "void (*running)(struct task_struct *p);",
    "stopping": "void (*stopping)(struct task_struct *p, bool runnable);",
    "quiescent": "void (*quiescent)(struct task_struct *p, u64 deq_flags);",
    "enable": "void (*enable)(struct task_struct *p);",
    "init": "s32 (*init)(void);",
    "exit": "void (*exit)(struct scx_exit_info *ei);",
}
OPS_ORDER = (*CALLBACKS, "exit")

# task_struct members by access path; the C declaration of each (kernel types, CO-RE).
_TASK_MEMBERS: dict[str, str] = {
    "pid": "int pid;",
    "tgid": "int tgid;",
    "flags": "unsigned int flags;",
    "nr_cpus_allowed": "int nr_cpus_allowed;",
    "cpus_ptr": "const struct cpumask *cpus_ptr;",
    "comm": "char comm[16];",
}
_SCX_MEMBERS: dict[str, str] = {
    "scx.weight": "u32 weight;",
    "scx.slice": "u64 slice;",
    "scx.dsq_vtime": "u64 dsq_vtime;",
}
_EXTRA_TYPES: dict[str, str] = {
    "bpf_iter_num": "/* The kernel's open-coded number iterator (opaque state on the stack). */\n"
    "struct bpf_iter_num {\n\tu64 __opaque[1];\n} __attribute__((aligned(8)));",
    # Not a forward declaration: libbpf matches a kfunc's prototype against the kernel's, and a
    # FWD never matches a STRUCT (the load then fails with "kfunc ... wasn't resolved").
    "cpumask": "struct cpumask {\n\tunsigned long bits[1];\n} __attribute__((preserve_access_index));",
    "scx_bpf_dsq_insert_vtime_args": "/* Arguments of __scx_bpf_dsq_insert_vtime (6.19+), which takes more than BPF's five. */\n"
    "struct scx_bpf_dsq_insert_vtime_args {\n\tu64 dsq_id;\n\tu64 slice;\n\tu64 vtime;\n\tu64 enq_flags;\n};",
}
# BPF helpers every policy calls: task storage, the histogram clock, exit info copies.
_ALWAYS_HELPERS = ("bpf_ktime_get_ns", "bpf_probe_read_kernel_str", "bpf_task_storage_get")
_MAP_HELPERS = ("bpf_map_lookup_elem", "bpf_map_update_elem")

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
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    version: str = __version__
    # The policy's `scheduler NAME` line: what the callbacks the policy did not write (and
    # which exist for the policy as a whole) map to in the line map.
    header_line: int = 1


def build_context(checked: ir.CheckedProgram, opts: Options) -> dict[str, Any]:
    """Everything the template needs, with C bodies already lowered (position markers in)."""
    program = checked.program
    lw = Lowerer(program)
    fns = [_fn(lw, f) for f in program.fns]
    # Prototypes first: an `fn` may call one declared after it (the checker forbids only
    # recursion), and C needs a declaration before the call.
    if len(fns) > 1:
        fns.insert(0, "\n".join(_fn_signature(f) + ";" for f in program.fns))
    fallback = semantics.has_dispatch_fallback(program)
    if fallback:
        lw.need("sl_move_to_local", "sl_queued")
    callbacks = [
        _callback(lw, program, op, opts.header_line) for op in OPS_ORDER if _has(program, op)
    ]
    helper_blocks = helpers.resolve(opts.kernel_api, lw.needs.helpers)
    for h in helper_blocks:
        lw.needs.kfuncs.update(h.kfuncs)
        lw.needs.task_fields.update(h.task_fields)
    types = sorted({t for h in helper_blocks for t in h.types})
    if program.queues:
        lw.needs.kfuncs.add("scx_bpf_create_dsq")
    source_name = program.path.rsplit("/", 1)[-1]
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
        "kernel_types": [_EXTRA_TYPES[t] for t in types] + _kernel_structs(lw.needs.task_fields),
        "ops_members": [OPS_MEMBERS[cb["op"]] for cb in callbacks],
        "bpf_helpers": _bpf_helpers(program),
        "kfunc_decls": _kfunc_decls(lw.needs.kfuncs),
        "params": [_param(p) for p in params],
        "stats_fields": layout.stats_fields(len(program.queues)),
        "max_cpus": program.max_cpus,
        "hist_buckets": layout.WAKEUP_HIST_BUCKETS,
        "hist_first_ns": layout.WAKEUP_HIST_FIRST_NS,
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
        "helpers": helper_blocks,
        "fallback_queues": [cnames.queue_const(q.name) for q in program.queues] if fallback else [],
        "fns": fns,
        "callbacks": callbacks,
        "timeout_ms": opts.timeout_ms,
    }


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


def _kernel_structs(fields: set[str]) -> list[str]:
    out: list[str] = []
    scx = [decl for path, decl in _SCX_MEMBERS.items() if path in fields]
    if scx:
        body = "\n".join("\t" + d for d in scx)
        out.append(
            f"struct sched_ext_entity {{\n{body}\n}} __attribute__((preserve_access_index));"
        )
    # pid is always declared: a bodiless task_struct would make every kfunc prototype that
    # takes a task mismatch the kernel's (libbpf never matches a FWD against a STRUCT).
    members = [decl for path, decl in _TASK_MEMBERS.items() if path in fields or path == "pid"]
    if scx:
        members.append("struct sched_ext_entity scx;")
    body = "\n".join("\t" + d for d in members)
    out.append(f"struct task_struct {{\n{body}\n}} __attribute__((preserve_access_index));")
    return out


def _bpf_helpers(program: ir.Program) -> list[str]:
    names = list(_ALWAYS_HELPERS) + (list(_MAP_HELPERS) if program.maps else [])
    out = []
    for h in sorted((kernel_api.helper(n) for n in names), key=lambda h: h.helper_id if h else 0):
        assert h is not None
        proto = h.prototype.format(name=f"(*{h.name})")
        out.append(f"static {proto} = (void *){h.helper_id};")
    return out


def _kfunc_decls(names: set[str]) -> list[str]:
    order = {k.name: i for i, k in enumerate(kernel_api.KFUNCS)}

    def key(name: str) -> tuple[int, str]:
        found = kernel_api.kfunc(name) or kernel_api.resolve_kfunc(name)
        return (order[found.name] if found else len(order), name)

    return [compat.kfunc_declaration(n) for n in sorted(names, key=key)]


def _fn_signature(f: ir.FnDecl) -> str:
    ret = "void" if f.ret is Type.VOID else cnames.c_type(f.ret)
    args = ", ".join(_c_param(t, name) for name, t in f.params) or "void"
    return f"static __always_inline {ret} {cnames.derived(f.name, 'fn')}({args})"


def _fn(lw: Lowerer, f: ir.FnDecl) -> str:
    scope = Scope(op=None, bare_return=c.Return(), enq_flags="0")
    decls, stmts = lw.body(f.body, scope)
    body = decls + ([""] if decls and stmts else []) + stmts
    head = f"/* fn {cnames.comment(f.name)} */ {mark(f.span)}"
    return "\n".join([head, _fn_signature(f), "{", *body, "}"])


def _c_param(t: Type, name: str) -> str:
    ctype = cnames.c_type(t)
    sep = "" if ctype.endswith("*") else " "
    return f"{ctype}{sep}{cnames.ident(name)}"


def _unpack(t: Type, name: str, i: int) -> str:
    if t is Type.TASK:
        return f"\tstruct task_struct *{name} = (void *)ctx[{i}];"
    return f"\t{cnames.c_type(t)} {name} = ctx[{i}];"


def _callback(lw: Lowerer, program: ir.Program, op: str, header_line: int) -> dict[str, Any]:
    """One callback. Its signature line is mapped too (to `on op` or the scheduler line), so
    code a policy did not write (prologues, whole generated callbacks) is never attributed
    to the statement that happens to precede it in the C file."""
    decl = program.callback(op)
    name = program.name
    c_name = cnames.derived(name, op)
    section = f"struct_ops.s/{c_name}" if op == "init" else f"struct_ops/{c_name}"
    where = mark(decl.span) if decl else mark(Span(header_line, 1, header_line, 1))
    if op == "exit":
        return _exit_callback(c_name, section) | {"mark": where}
    sig = CALLBACKS[op]
    names = [cnames.ident(n) for n, _ in decl.params] if decl else list(_DEFAULT_NAMES[op])
    task = names[0] if sig.params and sig.params[0] is Type.TASK else "p"
    prologue = _PROLOGUE.get(op, lambda _p, _t: [])(program, task)
    decls: list[str] = []
    body: list[str] = []
    fallback = op == "dispatch" and semantics.has_dispatch_fallback(program)
    if decl is not None:
        # The kernel's flags go to every insert by a name of the generated C's own, never by
        # the policy's parameter name (finding 1 of docs/adversarial-findings.md).
        flags = ENQ_FLAGS if op == "enqueue" else "0"
        scope = Scope(
            op=op,
            bare_return=_bare_return(op, fallback),
            enq_flags=flags,
            task=task if sig.params and sig.params[0] is Type.TASK else None,
            prologue=bool(prologue),
        )
        lw.trusted_cpus = semantics.kernel_given_cpus(decl)
        decls, body = lw.body(decl.body, scope)
        lw.trusted_cpus = frozenset()
    code = "\n".join(prologue + decls + body)
    # Unpack only the arguments the code uses (no unused variables in the C).
    kernel_names = [ENQ_FLAGS if (op, i) == ("enqueue", 1) else None for i in range(len(names))]
    lines = [
        _unpack(t, n, i)
        for i, (t, policy_name) in enumerate(zip(sig.params, names, strict=True))
        for n in (kernel_names[i], policy_name)
        if n and re.search(rf"(?<![\w.>]){re.escape(n)}\b", code)  # not `t->flags`
    ]
    if op == "init" and program.queues:
        lines.insert(0, "\ts32 sl_err;")
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
    ret = "s32" if op in ("select_cpu", "init") else "void"
    return {
        "op": op,
        "c_name": c_name,
        "section": section,
        "ret": ret,
        "lines": lines,
        "doc": sig.doc,
        "mark": where,
    }


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
    return ["\t__sync_fetch_and_add(&stats.nr_enqueued, 1);"]


def _runnable_prologue(program: ir.Program, task: str) -> list[str]:
    return [f"\ttask_ctx({task})->runnable_at = bpf_ktime_get_ns();"]


def _running_prologue(program: ir.Program, task: str) -> list[str]:
    return [f"\trecord_wakeup({task});"]


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


def _exit_callback(c_name: str, section: str) -> dict[str, Any]:
    lines = [
        "\tstruct scx_exit_info *ei = (void *)ctx[0];",
        "",
        "\tstats.exit_kind = ei->kind;",
        "\tstats.exit_code = ei->exit_code;",
        "\tbpf_probe_read_kernel_str(stats.exit_reason, sizeof(stats.exit_reason), ei->reason);",
        "\tbpf_probe_read_kernel_str(stats.exit_msg, sizeof(stats.exit_msg), ei->msg);",
    ]
    return {
        "op": "exit",
        "c_name": c_name,
        "section": section,
        "ret": "void",
        "lines": lines,
        "doc": "the scheduler is being unloaded: record why, for the loader",
    }

"""Kernel API levels: which kfunc spelling each sched_ext operation uses on which kernel.

sched_ext's kfuncs were renamed and extended between 6.12 and 7.1 (`scx_bpf_dispatch` became
`scx_bpf_dsq_insert` in 6.13, `scx_bpf_now` arrived in 6.14, bool-returning `___v2` variants
and argument structs in 6.19, `scx_bpf_dsq_move_to_local___v2` in 7.1). The generated C never
calls a kfunc directly for these: it calls a small helper (`sl_dsq_insert`, `sl_now`, ...)
whose body is chosen here.

* A fixed level (`--kernel-api 6.13`, ...) uses the newest variant that level has, unguarded;
  the object loads on kernels of that API and later ones that keep it.
* `compat` (the default) chains every variant, newest first, each guarded by
  `bpf_ksym_exists()` on its weak ksym, the way scx's `compat.bpf.h` does: libbpf resolves a
  missing weak kfunc to 0, the verifier sees a constant-false branch and drops the call, so one
  object loads on every kernel from 6.12 on.

Prototypes and since-versions come from the one kfunc table, `schedlang/kernel_api.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from schedlang import kernel_api

KernelVersion = kernel_api.KernelVersion


@dataclass(frozen=True)
class Variant:
    """One way to implement an operation, available from kernel `since` on.

    `kfunc` is the name the kernel exports (None for a plain BPF helper or a field write);
    `body` is C using `{fn}` for the local name the kfunc is declared under."""

    since: KernelVersion
    kfunc: str | None
    body: str
    task_fields: tuple[str, ...] = ()  # task_struct member paths the body touches directly
    types: tuple[str, ...] = ()  # names of extra kernel types the body needs declared


@dataclass(frozen=True)
class Operation:
    helper: str
    signature: str
    doc: str
    variants: tuple[Variant, ...]  # oldest first; the oldest is the unguarded fallback


_T = "struct task_struct *p"
OPERATIONS: dict[str, Operation] = {
    op.helper: op
    for op in (
        Operation(
            "sl_dsq_insert",
            f"static __always_inline bool sl_dsq_insert({_T}, u64 dsq_id, u64 slice,\n"
            "\t\t\t\t\t  u64 enq_flags)",
            "Insert p into a dispatch queue in FIFO order; false if the kernel refused it.",
            (
                Variant(
                    (6, 12), "scx_bpf_dispatch", "{fn}(p, dsq_id, slice, enq_flags);\nreturn true;"
                ),
                Variant(
                    (6, 13),
                    "scx_bpf_dsq_insert",
                    "{fn}(p, dsq_id, slice, enq_flags);\nreturn true;",
                ),
                Variant(
                    (6, 19), "scx_bpf_dsq_insert___v2", "return {fn}(p, dsq_id, slice, enq_flags);"
                ),
            ),
        ),
        Operation(
            "sl_dsq_insert_vtime",
            f"static __always_inline bool sl_dsq_insert_vtime({_T}, u64 dsq_id, u64 slice,\n"
            "\t\t\t\t\t\tu64 vtime, u64 enq_flags)",
            "Insert p into a vtime-ordered dispatch queue; false if the kernel refused it.",
            (
                Variant(
                    (6, 12),
                    "scx_bpf_dispatch_vtime",
                    "{fn}(p, dsq_id, slice, vtime, enq_flags);\nreturn true;",
                ),
                Variant(
                    (6, 13),
                    "scx_bpf_dsq_insert_vtime",
                    "{fn}(p, dsq_id, slice, vtime, enq_flags);\nreturn true;",
                ),
                Variant(
                    (6, 19),
                    "__scx_bpf_dsq_insert_vtime",
                    "struct scx_bpf_dsq_insert_vtime_args args = {\n"
                    "\t.dsq_id = dsq_id,\n\t.slice = slice,\n\t.vtime = vtime,\n"
                    "\t.enq_flags = enq_flags,\n};\n"
                    "return {fn}(p, &args);",
                    types=("scx_bpf_dsq_insert_vtime_args",),
                ),
            ),
        ),
        Operation(
            "sl_move_to_local",
            "static __always_inline bool sl_move_to_local(u64 dsq_id)",
            "Move the first task of dsq_id to this CPU's local queue; false if it was empty.",
            (
                Variant((6, 12), "scx_bpf_consume", "return {fn}(dsq_id);"),
                Variant((6, 13), "scx_bpf_dsq_move_to_local", "return {fn}(dsq_id);"),
                Variant((7, 1), "scx_bpf_dsq_move_to_local___v2", "return {fn}(dsq_id, 0);"),
            ),
        ),
        Operation(
            "sl_now",
            "static __always_inline u64 sl_now(void)",
            "The current time in ns (the rq clock where the kernel offers it).",
            (
                Variant((6, 12), None, "return bpf_ktime_get_ns();"),
                Variant((6, 14), "scx_bpf_now", "return {fn}();"),
            ),
        ),
        Operation(
            "sl_set_slice",
            f"static __always_inline void sl_set_slice({_T}, u64 slice)",
            "Set p's remaining slice (a checked kfunc from 6.19, a field write before).",
            (
                Variant((6, 12), None, "p->scx.slice = slice;", task_fields=("scx.slice",)),
                Variant((6, 19), "scx_bpf_task_set_slice", "{fn}(p, slice);"),
            ),
        ),
        Operation(
            "sl_set_vtime",
            f"static __always_inline void sl_set_vtime({_T}, u64 vtime)",
            "Set p's virtual time (a checked kfunc from 6.19, a field write before).",
            (
                Variant((6, 12), None, "p->scx.dsq_vtime = vtime;", task_fields=("scx.dsq_vtime",)),
                Variant((6, 19), "scx_bpf_task_set_dsq_vtime", "{fn}(p, vtime);"),
            ),
        ),
    )
}


@dataclass(frozen=True)
class KernelApi:
    """A target: `level` None means every variant, chained with bpf_ksym_exists."""

    name: str
    level: KernelVersion | None
    label: str  # the manifest's `kernel_api`
    doc: str

    def variants(self, op: Operation) -> tuple[Variant, ...]:
        """The variants this target emits for `op`, newest first."""
        if self.level is None:
            return tuple(reversed(op.variants))
        usable = [v for v in op.variants if v.since <= self.level]
        return (usable[-1],)


KERNEL_APIS: dict[str, KernelApi] = {
    a.name: a
    for a in (
        KernelApi("compat", None, "6.12+", "every variant, picked at load time: the default"),
        KernelApi("6.12", (6, 12), "6.12", "scx_bpf_dispatch/consume names (6.12 to 6.14)"),
        KernelApi("6.13", (6, 13), "6.13+", "scx_bpf_dsq_insert/dsq_move_to_local"),
        KernelApi("6.14", (6, 14), "6.14+", "as 6.13, plus scx_bpf_now"),
        KernelApi("6.19", (6, 19), "6.19+", "bool-returning ___v2 inserts, task_set_slice"),
        KernelApi("7.1", (7, 1), "7.1+", "as 6.19, plus dsq_move_to_local___v2"),
    )
}
DEFAULT_KERNEL_API = "compat"


def local_kfunc_name(kernel_name: str) -> str:
    """The local C name for a kfunc: `___v2` names need a second flavour to survive libbpf."""
    return (
        kernel_name + "___compat"
        if kernel_api.kernel_name(kernel_name) != kernel_name
        else kernel_name
    )


def kfunc_declaration(kernel_name: str) -> str:
    """`extern ... __ksym __weak;` for a kfunc by its kernel name (current or pre-rename)."""
    found = kernel_api.kfunc(kernel_name) or kernel_api.resolve_kfunc(kernel_name)
    if found is None:
        raise KeyError(f"{kernel_name} is not in schedlang/kernel_api.py")
    text = found.declaration(local_kfunc_name(kernel_name))
    return text.replace('__attribute__((section(".ksyms"))) __attribute__((weak))', "__ksym __weak")


def helper_body(api: KernelApi, op: Operation) -> str:
    """The C body (without braces, one level of tabs) of `op`'s helper for this target."""
    chosen = api.variants(op)
    if len(chosen) == 1:
        return _indent(chosen[0].body.replace("{fn}", _fn(chosen[0])), 1)
    lines: list[str] = []
    for i, v in enumerate(chosen):
        if i == len(chosen) - 1:
            lines.append(f"}} else {{ /* {kernel_api.format_version(v.since)} */")
        else:
            keyword = "if" if i == 0 else "} else if"
            since = kernel_api.format_version(v.since)
            lines.append(f"{keyword} (bpf_ksym_exists({_fn(v)})) {{ /* {since}+ */")
        lines.append(_indent(v.body.replace("{fn}", _fn(v)), 1))
    lines.append("}")
    return _indent("\n".join(lines), 1)


def _fn(v: Variant) -> str:
    return local_kfunc_name(v.kfunc) if v.kfunc else ""


def _indent(text: str, depth: int) -> str:
    pad = "\t" * depth
    return "\n".join(pad + line if line else line for line in text.splitlines())

"""Kernel API levels: which sched_ext kfunc spellings the generated C may use.

sched_ext's kfuncs were renamed and extended between 6.12 and 7.1 (`scx_bpf_dispatch` became
`scx_bpf_dsq_insert` in 6.13, `scx_bpf_now` arrived in 6.14, bool-returning `___v2` variants
and argument structs in 6.19, `scx_bpf_dsq_move_to_local___v2` in 7.1). The generated C never
calls a kfunc directly for these: it calls a small wrapper of `schedlang.bpf.h` (`sl_dsq_insert`,
`sl_now`, ...), which picks the spelling by the policy file's `SL_KERNEL_API`:

* A fixed level (`--kernel-api 6.13`, ...) uses the newest spelling that level has, unguarded
  (the others compile out); the object loads on kernels of that API and later ones that keep it.
* `compat` (the default, SL_KERNEL_API 0) tries every spelling, newest first, each guarded by
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
class KernelApi:
    """A target: `level` None means every variant, chained with bpf_ksym_exists."""

    name: str
    level: KernelVersion | None
    label: str  # the manifest's `kernel_api`
    doc: str

    @property
    def c_level(self) -> int:
        """SL_KERNEL_API in the generated C: MAJOR * 100 + MINOR, or 0 for `compat`."""
        return 0 if self.level is None else c_version(self.level)


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


def c_version(version: KernelVersion) -> int:
    """A kernel version as the C header compares them: MAJOR * 100 + MINOR (6.13 is 613)."""
    return version[0] * 100 + version[1]


def since(kernel_name: str) -> int:
    """The kernel (as c_version) that brought the kfunc `kernel_name` under that name."""
    found = kernel_api.kfunc(kernel_name)
    if found is None:
        raise KeyError(f"{kernel_name} is not in schedlang/kernel_api.py")
    return c_version(found.since)

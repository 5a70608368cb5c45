"""The one table of what sched_ext BPF code may call: kfuncs, BPF helpers, compiler builtins.

Why one table: the C backend (which names and prototypes to emit for a kernel API level) and
the hand-written-C gate (`schedlang verify-c`: is this call known?) must never disagree, and
kernel-version facts must not be scattered through code as `if version` branches. Everything
here is plain data (tuples of frozen dataclasses) plus small lookup functions. It is a neutral
table, outside `backends/`, because the gate must not import backend internals (the layer rules
in docs/internals.md); it imports nothing of schedlang.

Sources of the facts: the kernel's `kernel/sched/ext.c` / `ext_idle.c` kfunc sets
(`BTF_ID_FLAGS`), the comments of scx's `compat.bpf.h` that date each rename, and what the
7.2.13 kernel on the development machines exports (see the notes file, section 4).
`since` is the first mainline release that has the symbol under this name; for generic BPF
kfuncs that predate sched_ext, `since` is 6.12 ("on every kernel that has sched_ext").

Naming rule (libbpf's): a local name may carry one `___flavor` suffix that libbpf strips
before matching the kernel's BTF, so `scx_bpf_consume___old` binds to `scx_bpf_consume` and
`scx_bpf_dsq_insert___v2___compat` binds to the kernel symbol `scx_bpf_dsq_insert___v2`.
`kernel_name()` applies that rule; `resolve()` also follows renames.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

KernelVersion = tuple[int, int]


class Kind(Enum):
    """How a callable reaches the program: kfunc (BTF ksym), helper (call by number), builtin."""

    KFUNC = "kfunc"
    HELPER = "helper"
    BUILTIN = "builtin"


@dataclass(frozen=True)
class Rename:
    """The callable was called `old_name` before kernel `renamed_in` (old name kept as compat)."""

    old_name: str
    renamed_in: KernelVersion


@dataclass(frozen=True)
class Kfunc:
    """One kernel function callable from a sched_ext BPF program.

    `prototype` is the C declaration without `extern` and without ksym attributes; `{name}` is
    where the (possibly flavoured) local name goes, so the backend can render
    `extern <prototype> __ksym __weak;` for whatever local name it picks.
    """

    name: str
    prototype: str
    since: KernelVersion
    renames: tuple[Rename, ...] = ()
    sleepable_only: bool = False
    note: str = ""

    def declaration(self, local_name: str | None = None) -> str:
        """C text declaring this kfunc as a weak ksym (what generated C contains)."""
        proto = self.prototype.format(name=local_name or self.name)
        return f'extern {proto} __attribute__((section(".ksyms"))) __attribute__((weak));'


@dataclass(frozen=True)
class Helper:
    """A classic BPF helper: called through its fixed number (`bpf_func_id`)."""

    name: str
    helper_id: int
    prototype: str
    note: str = ""


@dataclass(frozen=True)
class Builtin:
    """A compiler builtin clang lowers to plain BPF instructions (no call at run time)."""

    name: str
    note: str = ""


def _v(major: int, minor: int) -> KernelVersion:
    return (major, minor)


_TASK = "struct task_struct *p"
_ITER = "struct bpf_iter_scx_dsq *it__iter"

# sched_ext's own kfuncs. Order: DSQ insert/move, DSQ management, CPU selection and idle
# tracking, task and CPU queries, exit and debug output, time.
SCX_KFUNCS: tuple[Kfunc, ...] = (
    Kfunc(
        "scx_bpf_dsq_insert",
        f"void {{name}}({_TASK}, u64 dsq_id, u64 slice, u64 enq_flags)",
        _v(6, 13),
        (Rename("scx_bpf_dispatch", _v(6, 13)),),
        note="void on every kernel; 6.19+ also has the bool-returning ___v2",
    ),
    Kfunc(
        "scx_bpf_dsq_insert___v2",
        f"bool {{name}}({_TASK}, u64 dsq_id, u64 slice, u64 enq_flags)",
        _v(6, 19),
        note="returns false when the insert was refused; declare locally with a second "
        "flavour (scx_bpf_dsq_insert___v2___compat) so libbpf keeps the ___v2",
    ),
    Kfunc(
        "scx_bpf_dsq_insert_vtime",
        f"void {{name}}({_TASK}, u64 dsq_id, u64 slice, u64 vtime, u64 enq_flags)",
        _v(6, 13),
        (Rename("scx_bpf_dispatch_vtime", _v(6, 13)),),
        note="6.19+ prefers __scx_bpf_dsq_insert_vtime (arguments packed in a struct)",
    ),
    Kfunc(
        "__scx_bpf_dsq_insert_vtime",
        f"bool {{name}}({_TASK}, struct scx_bpf_dsq_insert_vtime_args *args)",
        _v(6, 19),
        note="args: dsq_id, slice, vtime, enq_flags (BPF passes at most 5 arguments)",
    ),
    Kfunc("scx_bpf_dispatch_nr_slots", "u32 {name}(void)", _v(6, 12)),
    Kfunc("scx_bpf_dispatch_cancel", "void {name}(void)", _v(6, 12)),
    Kfunc(
        "scx_bpf_dsq_move_to_local",
        "bool {name}(u64 dsq_id)",
        _v(6, 13),
        (Rename("scx_bpf_consume", _v(6, 13)),),
        note="ops.dispatch only",
    ),
    Kfunc(
        "scx_bpf_dsq_move_to_local___v2",
        "bool {name}(u64 dsq_id, u64 enq_flags)",
        _v(7, 1),
        note="adds enq_flags; declare locally as scx_bpf_dsq_move_to_local___v2___compat",
    ),
    Kfunc(
        "scx_bpf_dsq_move_set_slice",
        f"void {{name}}({_ITER}, u64 slice)",
        _v(6, 13),
        (Rename("scx_bpf_dispatch_from_dsq_set_slice", _v(6, 13)),),
    ),
    Kfunc(
        "scx_bpf_dsq_move_set_vtime",
        f"void {{name}}({_ITER}, u64 vtime)",
        _v(6, 13),
        (Rename("scx_bpf_dispatch_from_dsq_set_vtime", _v(6, 13)),),
    ),
    Kfunc(
        "scx_bpf_dsq_move",
        f"bool {{name}}({_ITER}, {_TASK}, u64 dsq_id, u64 enq_flags)",
        _v(6, 13),
        (Rename("scx_bpf_dispatch_from_dsq", _v(6, 13)),),
    ),
    Kfunc(
        "scx_bpf_dsq_move_vtime",
        f"bool {{name}}({_ITER}, {_TASK}, u64 dsq_id, u64 enq_flags)",
        _v(6, 13),
        (Rename("scx_bpf_dispatch_vtime_from_dsq", _v(6, 13)),),
    ),
    Kfunc("scx_bpf_reenqueue_local", "u32 {name}(void)", _v(6, 12), note="ops.cpu_release only"),
    Kfunc(
        "scx_bpf_reenqueue_local___v2",
        "void {name}(void)",
        _v(6, 19),
        note="callable from anywhere; declare locally as scx_bpf_reenqueue_local___v2___compat",
    ),
    Kfunc("scx_bpf_dsq_reenq", "void {name}(u64 dsq_id, u64 reenq_flags)", _v(7, 1)),
    Kfunc(
        "scx_bpf_create_dsq",
        "s32 {name}(u64 dsq_id, s32 node)",
        _v(6, 12),
        sleepable_only=True,
        note='call from a sleepable ops.init (SEC("struct_ops.s/..."))',
    ),
    Kfunc("scx_bpf_destroy_dsq", "void {name}(u64 dsq_id)", _v(6, 12)),
    Kfunc("scx_bpf_dsq_nr_queued", "s32 {name}(u64 dsq_id)", _v(6, 12)),
    Kfunc(
        "scx_bpf_dsq_peek",
        "struct task_struct *{name}(u64 dsq_id)",
        _v(6, 19),
        note="may wrongly return NULL for a non-empty FIFO DSQ before 7.1",
    ),
    Kfunc(
        "bpf_iter_scx_dsq_new",
        "int {name}(struct bpf_iter_scx_dsq *it, u64 dsq_id, u64 flags)",
        _v(6, 12),
    ),
    Kfunc(
        "bpf_iter_scx_dsq_next",
        "struct task_struct *{name}(struct bpf_iter_scx_dsq *it)",
        _v(6, 12),
    ),
    Kfunc("bpf_iter_scx_dsq_destroy", "void {name}(struct bpf_iter_scx_dsq *it)", _v(6, 12)),
    Kfunc(
        "scx_bpf_select_cpu_dfl",
        f"s32 {{name}}({_TASK}, s32 prev_cpu, u64 wake_flags, bool *is_idle)",
        _v(6, 12),
        note="ops.select_cpu only",
    ),
    Kfunc(
        "scx_bpf_select_cpu_and",
        f"s32 {{name}}({_TASK}, s32 prev_cpu, u64 wake_flags, "
        "const struct cpumask *cpus_allowed, u64 flags)",
        _v(6, 16),
    ),
    Kfunc(
        "__scx_bpf_select_cpu_and",
        f"s32 {{name}}({_TASK}, const struct cpumask *cpus_allowed, "
        "struct scx_bpf_select_cpu_and_args *args)",
        _v(6, 19),
    ),
    Kfunc("scx_bpf_kick_cpu", "void {name}(s32 cpu, u64 flags)", _v(6, 12)),
    Kfunc("scx_bpf_get_idle_cpumask", "const struct cpumask *{name}(void)", _v(6, 12)),
    Kfunc("scx_bpf_get_idle_smtmask", "const struct cpumask *{name}(void)", _v(6, 12)),
    Kfunc("scx_bpf_put_idle_cpumask", "void {name}(const struct cpumask *cpumask)", _v(6, 12)),
    Kfunc("scx_bpf_get_idle_cpumask_node", "const struct cpumask *{name}(int node)", _v(6, 15)),
    Kfunc("scx_bpf_get_idle_smtmask_node", "const struct cpumask *{name}(int node)", _v(6, 15)),
    Kfunc("scx_bpf_test_and_clear_cpu_idle", "bool {name}(s32 cpu)", _v(6, 12)),
    Kfunc(
        "scx_bpf_pick_idle_cpu",
        "s32 {name}(const struct cpumask *cpus_allowed, u64 flags)",
        _v(6, 12),
    ),
    Kfunc(
        "scx_bpf_pick_any_cpu",
        "s32 {name}(const struct cpumask *cpus_allowed, u64 flags)",
        _v(6, 12),
    ),
    Kfunc(
        "scx_bpf_pick_idle_cpu_node",
        "s32 {name}(const struct cpumask *cpus_allowed, int node, u64 flags)",
        _v(6, 15),
    ),
    Kfunc(
        "scx_bpf_pick_any_cpu_node",
        "s32 {name}(const struct cpumask *cpus_allowed, int node, u64 flags)",
        _v(6, 15),
    ),
    Kfunc("scx_bpf_get_possible_cpumask", "const struct cpumask *{name}(void)", _v(6, 12)),
    Kfunc("scx_bpf_get_online_cpumask", "const struct cpumask *{name}(void)", _v(6, 12)),
    Kfunc("scx_bpf_put_cpumask", "void {name}(const struct cpumask *cpumask)", _v(6, 12)),
    Kfunc("scx_bpf_nr_cpu_ids", "u32 {name}(void)", _v(6, 12)),
    Kfunc("scx_bpf_nr_node_ids", "u32 {name}(void)", _v(6, 15)),
    Kfunc("scx_bpf_cpu_node", "int {name}(s32 cpu)", _v(6, 15)),
    Kfunc("scx_bpf_cpuperf_cap", "u32 {name}(s32 cpu)", _v(6, 12)),
    Kfunc("scx_bpf_cpuperf_cur", "u32 {name}(s32 cpu)", _v(6, 12)),
    Kfunc("scx_bpf_cpuperf_set", "void {name}(s32 cpu, u32 perf)", _v(6, 12)),
    Kfunc("scx_bpf_task_running", "bool {name}(const struct task_struct *p)", _v(6, 12)),
    Kfunc("scx_bpf_task_cpu", "s32 {name}(const struct task_struct *p)", _v(6, 12)),
    Kfunc("scx_bpf_task_cgroup", f"struct cgroup *{{name}}({_TASK})", _v(6, 12)),
    Kfunc(
        "scx_bpf_task_set_slice",
        f"bool {{name}}({_TASK}, u64 slice)",
        _v(6, 19),
        note="the checked way to write p->scx.slice",
    ),
    Kfunc(
        "scx_bpf_task_set_dsq_vtime",
        f"bool {{name}}({_TASK}, u64 vtime)",
        _v(6, 19),
        note="the checked way to write p->scx.dsq_vtime",
    ),
    Kfunc(
        "scx_bpf_cpu_rq",
        "struct rq *{name}(s32 cpu)",
        _v(6, 12),
        note="deprecated: dropped by later kernels in favour of scx_bpf_cpu_curr",
    ),
    Kfunc("scx_bpf_cpu_curr", "struct task_struct *{name}(s32 cpu)", _v(6, 18)),
    Kfunc("scx_bpf_sub_dispatch", "bool {name}(u64 cgroup_id)", _v(7, 1)),
    Kfunc(
        "scx_bpf_exit_bstr",
        "void {name}(s64 exit_code, char *fmt, unsigned long long *data, u32 data__sz)",
        _v(6, 12),
    ),
    Kfunc(
        "scx_bpf_error_bstr",
        "void {name}(char *fmt, unsigned long long *data, u32 data_len)",
        _v(6, 12),
    ),
    Kfunc(
        "scx_bpf_dump_bstr",
        "void {name}(char *fmt, unsigned long long *data, u32 data_len)",
        _v(6, 12),
    ),
    Kfunc(
        "scx_bpf_events",
        "void {name}(struct scx_event_stats *events, size_t events__sz)",
        _v(6, 15),
    ),
    Kfunc(
        "scx_bpf_now",
        "u64 {name}(void)",
        _v(6, 14),
        note="rq clock; fall back to bpf_ktime_get_ns() when the weak ksym is absent",
    ),
)

# Generic BPF kfuncs sched_ext schedulers use (cpumasks, task references, RCU, iterators).
_CPUMASK = "const struct cpumask *"
_BPF_CPUMASK = "struct bpf_cpumask *"
GENERIC_KFUNCS: tuple[Kfunc, ...] = (
    Kfunc("bpf_cpumask_create", f"{_BPF_CPUMASK}{{name}}(void)", _v(6, 12)),
    Kfunc("bpf_cpumask_acquire", f"{_BPF_CPUMASK}{{name}}({_BPF_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc("bpf_cpumask_release", f"void {{name}}({_BPF_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc("bpf_cpumask_first", f"u32 {{name}}({_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc("bpf_cpumask_first_zero", f"u32 {{name}}({_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc("bpf_cpumask_set_cpu", f"void {{name}}(u32 cpu, {_BPF_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc("bpf_cpumask_clear_cpu", f"void {{name}}(u32 cpu, {_BPF_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc("bpf_cpumask_test_cpu", f"bool {{name}}(u32 cpu, {_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc(
        "bpf_cpumask_test_and_set_cpu", f"bool {{name}}(u32 cpu, {_BPF_CPUMASK}cpumask)", _v(6, 12)
    ),
    Kfunc(
        "bpf_cpumask_test_and_clear_cpu",
        f"bool {{name}}(u32 cpu, {_BPF_CPUMASK}cpumask)",
        _v(6, 12),
    ),
    Kfunc("bpf_cpumask_setall", f"void {{name}}({_BPF_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc("bpf_cpumask_clear", f"void {{name}}({_BPF_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc(
        "bpf_cpumask_and",
        f"bool {{name}}({_BPF_CPUMASK}dst, {_CPUMASK}src1, {_CPUMASK}src2)",
        _v(6, 12),
    ),
    Kfunc(
        "bpf_cpumask_or",
        f"void {{name}}({_BPF_CPUMASK}dst, {_CPUMASK}src1, {_CPUMASK}src2)",
        _v(6, 12),
    ),
    Kfunc(
        "bpf_cpumask_xor",
        f"void {{name}}({_BPF_CPUMASK}dst, {_CPUMASK}src1, {_CPUMASK}src2)",
        _v(6, 12),
    ),
    Kfunc("bpf_cpumask_equal", f"bool {{name}}({_CPUMASK}src1, {_CPUMASK}src2)", _v(6, 12)),
    Kfunc("bpf_cpumask_intersects", f"bool {{name}}({_CPUMASK}src1, {_CPUMASK}src2)", _v(6, 12)),
    Kfunc("bpf_cpumask_subset", f"bool {{name}}({_CPUMASK}src1, {_CPUMASK}src2)", _v(6, 12)),
    Kfunc("bpf_cpumask_empty", f"bool {{name}}({_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc("bpf_cpumask_full", f"bool {{name}}({_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc("bpf_cpumask_copy", f"void {{name}}({_BPF_CPUMASK}dst, {_CPUMASK}src)", _v(6, 12)),
    Kfunc("bpf_cpumask_any_distribute", f"u32 {{name}}({_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc(
        "bpf_cpumask_any_and_distribute", f"u32 {{name}}({_CPUMASK}src1, {_CPUMASK}src2)", _v(6, 12)
    ),
    Kfunc("bpf_cpumask_weight", f"u32 {{name}}({_CPUMASK}cpumask)", _v(6, 12)),
    Kfunc(
        "bpf_cpumask_populate",
        f"int {{name}}({_BPF_CPUMASK}dst, void *src, size_t src__sz)",
        _v(6, 15),
    ),
    Kfunc("bpf_task_from_pid", "struct task_struct *{name}(s32 pid)", _v(6, 12)),
    Kfunc("bpf_task_acquire", f"struct task_struct *{{name}}({_TASK})", _v(6, 12)),
    Kfunc("bpf_task_release", f"void {{name}}({_TASK})", _v(6, 12)),
    Kfunc("bpf_rcu_read_lock", "void {name}(void)", _v(6, 12)),
    Kfunc("bpf_rcu_read_unlock", "void {name}(void)", _v(6, 12)),
    Kfunc("bpf_iter_num_new", "int {name}(struct bpf_iter_num *it, int start, int end)", _v(6, 12)),
    Kfunc("bpf_iter_num_next", "int *{name}(struct bpf_iter_num *it)", _v(6, 12)),
    Kfunc("bpf_iter_num_destroy", "void {name}(struct bpf_iter_num *it)", _v(6, 12)),
    Kfunc("bpf_cgroup_from_id", "struct cgroup *{name}(u64 cgid)", _v(6, 12)),
    Kfunc("bpf_cgroup_release", "void {name}(struct cgroup *cgrp)", _v(6, 12)),
    Kfunc(
        "bpf_cgroup_ancestor", "struct cgroup *{name}(struct cgroup *cgrp, int level)", _v(6, 12)
    ),
)

KFUNCS: tuple[Kfunc, ...] = SCX_KFUNCS + GENERIC_KFUNCS

# BPF helpers a struct_ops scheduler may call. Numbers are the kernel's `enum bpf_func_id`.
# Deliberately absent: bpf_probe_read/bpf_probe_read_str (unsafe legacy), bpf_loop and
# bpf_for_each_map_elem (callback-driven loops the gate cannot bound), anything tracing- or
# networking-specific.
HELPERS: tuple[Helper, ...] = (
    Helper("bpf_map_lookup_elem", 1, "void *{name}(void *map, const void *key)"),
    Helper(
        "bpf_map_update_elem",
        2,
        "long {name}(void *map, const void *key, const void *value, u64 flags)",
    ),
    Helper("bpf_map_delete_elem", 3, "long {name}(void *map, const void *key)"),
    Helper("bpf_ktime_get_ns", 5, "u64 {name}(void)"),
    Helper(
        "bpf_trace_printk",
        6,
        "long {name}(const char *fmt, u32 fmt_size, ...)",
        "what bpf_printk expands to",
    ),
    Helper("bpf_get_prandom_u32", 7, "u32 {name}(void)"),
    Helper("bpf_get_smp_processor_id", 8, "u32 {name}(void)"),
    Helper("bpf_get_current_pid_tgid", 14, "u64 {name}(void)"),
    Helper("bpf_get_current_comm", 16, "long {name}(void *buf, u32 size_of_buf)"),
    Helper("bpf_get_current_task", 35, "u64 {name}(void)"),
    Helper("bpf_get_numa_node_id", 42, "long {name}(void)"),
    Helper("bpf_map_push_elem", 87, "long {name}(void *map, const void *value, u64 flags)"),
    Helper("bpf_map_pop_elem", 88, "long {name}(void *map, void *value)"),
    Helper("bpf_map_peek_elem", 89, "long {name}(void *map, void *value)"),
    Helper("bpf_spin_lock", 93, "long {name}(struct bpf_spin_lock *lock)"),
    Helper("bpf_spin_unlock", 94, "long {name}(struct bpf_spin_lock *lock)"),
    Helper(
        "bpf_probe_read_kernel", 113, "long {name}(void *dst, u32 size, const void *unsafe_ptr)"
    ),
    Helper(
        "bpf_probe_read_kernel_str", 115, "long {name}(void *dst, u32 size, const void *unsafe_ptr)"
    ),
    Helper("bpf_jiffies64", 118, "u64 {name}(void)"),
    Helper("bpf_ktime_get_boot_ns", 125, "u64 {name}(void)"),
    Helper(
        "bpf_ringbuf_output", 130, "long {name}(void *ringbuf, void *data, u64 size, u64 flags)"
    ),
    Helper("bpf_ringbuf_reserve", 131, "void *{name}(void *ringbuf, u64 size, u64 flags)"),
    Helper("bpf_ringbuf_submit", 132, "void {name}(void *data, u64 flags)"),
    Helper("bpf_ringbuf_discard", 133, "void {name}(void *data, u64 flags)"),
    Helper("bpf_per_cpu_ptr", 153, "void *{name}(const void *percpu_ptr, u32 cpu)"),
    Helper("bpf_this_cpu_ptr", 154, "void *{name}(const void *percpu_ptr)"),
    Helper(
        "bpf_task_storage_get",
        156,
        "void *{name}(void *map, struct task_struct *task, void *value, u64 flags)",
    ),
    Helper("bpf_task_storage_delete", 157, "long {name}(void *map, struct task_struct *task)"),
    Helper("bpf_get_current_task_btf", 158, "struct task_struct *{name}(void)"),
    Helper("bpf_ktime_get_coarse_ns", 160, "u64 {name}(void)"),
)

# Builtins clang turns into instructions (atomics, CO-RE relocations, small memory ops).
BUILTINS: tuple[Builtin, ...] = tuple(
    Builtin(name)
    for name in (
        "__builtin_memcpy",
        "__builtin_memset",
        "__builtin_memmove",
        "__builtin_expect",
        "__builtin_constant_p",
        "__builtin_unreachable",
        "__builtin_bswap16",
        "__builtin_bswap32",
        "__builtin_bswap64",
        "__builtin_ctz",
        "__builtin_ctzll",
        "__builtin_clz",
        "__builtin_clzll",
        "__builtin_preserve_access_index",
        "__builtin_preserve_field_info",
        "__builtin_preserve_type_info",
        "__builtin_preserve_enum_value",
        "__builtin_btf_type_id",
        "__sync_fetch_and_add",
        "__sync_fetch_and_sub",
        "__sync_fetch_and_and",
        "__sync_fetch_and_or",
        "__sync_fetch_and_xor",
        "__sync_add_and_fetch",
        "__sync_sub_and_fetch",
        "__sync_val_compare_and_swap",
        "__sync_bool_compare_and_swap",
        "__sync_lock_test_and_set",
        "__atomic_load_n",
        "__atomic_store_n",
        "__atomic_exchange_n",
        "__atomic_compare_exchange_n",
        "__atomic_fetch_add",
        "__atomic_fetch_sub",
        "__atomic_fetch_and",
        "__atomic_fetch_or",
        "__atomic_fetch_xor",
        "__atomic_add_fetch",
        "__atomic_sub_fetch",
    )
)

# Task fields a sched_ext program may write directly: the kernel's
# bpf_scx_btf_struct_access() allows exactly these (anything else fails with -EACCES).
# Paths are member chains from a `struct task_struct *`. Since 6.19 the kernel marks direct
# writes to slice/dsq_vtime as compat and offers scx_bpf_task_set_slice/_dsq_vtime instead.
WRITABLE_TASK_FIELDS: tuple[tuple[str, ...], ...] = (
    ("scx", "slice"),
    ("scx", "dsq_vtime"),
    ("scx", "disallow"),
)


def kernel_name(local_name: str) -> str:
    """The kernel symbol libbpf binds `local_name` to: drop one trailing `___flavor`.

    Mirrors libbpf's rule: the separator is the last `___` that is neither preceded nor
    followed by another underscore.
    """
    for i in range(len(local_name) - 5, -1, -1):
        s = local_name[i : i + 5]
        if s[0] != "_" and s[1:4] == "___" and s[4] != "_":
            return local_name[: i + 1]
    return local_name


def local_name(kfunc: Kfunc, flavor: str = "compat") -> str:
    """A local C name that binds to `kfunc` (kernel names with `___` need one more flavour)."""
    return f"{kfunc.name}___{flavor}" if kernel_name(kfunc.name) != kfunc.name else kfunc.name


_KFUNC_BY_NAME: dict[str, Kfunc] = {k.name: k for k in KFUNCS}
_KFUNC_BY_OLD_NAME: dict[str, Kfunc] = {r.old_name: k for k in KFUNCS for r in k.renames}
_HELPER_BY_NAME: dict[str, Helper] = {h.name: h for h in HELPERS}
_BUILTIN_BY_NAME: dict[str, Builtin] = {b.name: b for b in BUILTINS}


def kfunc(name: str) -> Kfunc | None:
    """The kfunc exported by the kernel under exactly `name` (no flavour stripping)."""
    return _KFUNC_BY_NAME.get(name)


def resolve_kfunc(name: str) -> Kfunc | None:
    """The kfunc a call to local name `name` reaches: by current or old name, flavours allowed."""
    for candidate in (name, kernel_name(name)):
        found = _KFUNC_BY_NAME.get(candidate) or _KFUNC_BY_OLD_NAME.get(candidate)
        if found is not None:
            return found
    return None


def helper(name: str) -> Helper | None:
    return _HELPER_BY_NAME.get(name)


def builtin(name: str) -> Builtin | None:
    return _BUILTIN_BY_NAME.get(name)


def kind_of(name: str) -> Kind | None:
    """What `name` is when called from BPF C, or None when it is nothing known."""
    if resolve_kfunc(name) is not None:
        return Kind.KFUNC
    if name in _HELPER_BY_NAME:
        return Kind.HELPER
    if name in _BUILTIN_BY_NAME:
        return Kind.BUILTIN
    return None


def name_at(kfunc_: Kfunc, version: KernelVersion) -> str | None:
    """The name `kfunc_` has on kernel `version` (an old name before a rename), or None."""
    for rename in sorted(kfunc_.renames, key=lambda r: r.renamed_in):
        if version < rename.renamed_in:
            return rename.old_name if version >= (6, 12) else None
    return kfunc_.name if version >= kfunc_.since else None


def available(version: KernelVersion) -> tuple[Kfunc, ...]:
    """The kfuncs callable (under some name) on kernel `version`."""
    return tuple(k for k in KFUNCS if name_at(k, version) is not None)


def format_version(version: KernelVersion) -> str:
    return f"{version[0]}.{version[1]}"

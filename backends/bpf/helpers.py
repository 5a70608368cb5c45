"""The small C helpers generated code calls, emitted only when a policy uses them.

Each helper is one block of C plus what it needs (other helpers, kfuncs, kernel fields and
types). `resolve()` closes a set of needed names over those dependencies and returns the
blocks in a fixed order (dependencies first), so the output is deterministic. The helpers that
wrap renamed kfuncs take their bodies from the kernel API level (compat.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from schedlang.backends import semantics
from schedlang.backends.bpf import compat


@dataclass(frozen=True)
class Helper:
    name: str
    text: str
    helpers: tuple[str, ...] = ()
    kfuncs: tuple[str, ...] = ()
    task_fields: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


_FIXED: tuple[Helper, ...] = (
    Helper(
        "sl_for",
        "/* `for v in lo..hi` as an open-coded iterator (bpf_iter_num, 6.4+): the verifier checks\n"
        " * the body until its states repeat instead of once per iteration, which keeps a scan\n"
        " * over every CPU cheap to verify. The cleanup attribute destroys the iterator on every\n"
        " * way out of the loop (break, return), as the verifier requires; the range test after\n"
        " * each step gives the verifier the bounds of v. */\n"
        "#define sl_for(v, lo, hi)\t\t\t\t\t\t\t\t\\\n"
        "\tfor (struct bpf_iter_num sl_it __attribute__((cleanup(bpf_iter_num_destroy))),\t\\\n"
        "\t     *sl_it_started __attribute__((unused)) =\t\t\t\t\\\n"
        "\t\t(bpf_iter_num_new(&sl_it, (lo), (hi)), (void)bpf_iter_num_destroy, (void *)0); \\\n"
        "\t     ({\t\t\t\t\t\t\t\t\t\\\n"
        "\t\tint *sl_next = bpf_iter_num_next(&sl_it);\t\t\t\\\n"
        "\t\tsl_next && ((v) = *sl_next, (v) >= (lo) && (v) < (hi));\t\t\\\n"
        "\t     });)",
        kfuncs=("bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"),
        types=("bpf_iter_num",),
    ),
    Helper(
        "sl_sat_sub",
        "/* `a sat- b`: unsigned subtraction that stops at 0 instead of wrapping. */\n"
        "static __always_inline u64 sl_sat_sub(u64 a, u64 b)\n{\n\treturn a > b ? a - b : 0;\n}",
    ),
    Helper(
        "sl_sdiv",
        "/* Signed division on magnitudes (BPF before ISA v4 divides unsigned only). */\n"
        "static __always_inline s64 sl_sdiv(s64 a, s64 b)\n{\n"
        "\tu64 q = (u64)(a < 0 ? -a : a) / (u64)(b < 0 ? -b : b);\n\n"
        "\treturn (a < 0) != (b < 0) ? -(s64)q : (s64)q;\n}",
    ),
    Helper(
        "sl_smod",
        "/* Signed remainder (sign of the dividend, as in C). */\n"
        "static __always_inline s64 sl_smod(s64 a, s64 b)\n{\n"
        "\tu64 r = (u64)(a < 0 ? -a : a) % (u64)(b < 0 ? -b : b);\n\n"
        "\treturn a < 0 ? -(s64)r : (s64)r;\n}",
    ),
    Helper(
        "sl_min_u64",
        "static __always_inline u64 sl_min_u64(u64 a, u64 b)\n{\n\treturn a < b ? a : b;\n}",
    ),
    Helper(
        "sl_max_u64",
        "static __always_inline u64 sl_max_u64(u64 a, u64 b)\n{\n\treturn a > b ? a : b;\n}",
    ),
    Helper(
        "sl_min_s64",
        "static __always_inline s64 sl_min_s64(s64 a, s64 b)\n{\n\treturn a < b ? a : b;\n}",
    ),
    Helper(
        "sl_max_s64",
        "static __always_inline s64 sl_max_s64(s64 a, s64 b)\n{\n\treturn a > b ? a : b;\n}",
    ),
    Helper("sl_abs", "static __always_inline s64 sl_abs(s64 a)\n{\n\treturn a < 0 ? -a : a;\n}"),
    Helper(
        "sl_nr_cpus",
        "/* nr_cpus: the number of possible CPU ids on this machine. */\n"
        "static __always_inline u32 sl_nr_cpus(void)\n{\n\treturn scx_bpf_nr_cpu_ids();\n}",
        kfuncs=("scx_bpf_nr_cpu_ids",),
    ),
    Helper(
        "sl_checked_cpu",
        "/* A CPU number the policy computed, on its way to the kernel (select_cpu's result,\n"
        " * the previous CPU given to default_cpu). The kernel ejects a policy for a CPU that\n"
        " * does not exist, so such a number becomes p's current CPU instead, counted in\n"
        " * stats.nr_bad_cpu. A CPU outside p's affinity needs no check here: the kernel\n"
        " * itself moves p to an allowed one (select_task_rq) or skips it (the idle picker). */\n"
        "static __always_inline s32 sl_checked_cpu(struct task_struct *p, s32 cpu)\n{\n"
        "\tif (cpu >= 0 && (u32)cpu < sl_nr_cpus())\n\t\treturn cpu;\n"
        "\t__sync_fetch_and_add(&stats.nr_bad_cpu, 1);\n"
        "\treturn scx_bpf_task_cpu(p);\n}",
        helpers=("sl_nr_cpus",),
        kfuncs=("scx_bpf_task_cpu",),
    ),
    Helper(
        "sl_default_cpu",
        "/* default_cpu(): the kernel's idle-CPU picker. .idle says the CPU was idle and is now\n"
        " * claimed for p, so inserting into `local` there runs p without a further wakeup. */\n"
        "struct sl_pick {\n\ts32 cpu;\n\tbool idle;\n};\n\n"
        "static __always_inline struct sl_pick sl_default_cpu(struct task_struct *p, s32 prev, u64 flags)\n"
        "{\n\tstruct sl_pick pick = { .idle = false };\n\n"
        "\tpick.cpu = scx_bpf_select_cpu_dfl(p, prev, flags, &pick.idle);\n\treturn pick;\n}",
        kfuncs=("scx_bpf_select_cpu_dfl",),
    ),
    Helper(
        "sl_consume",
        "/* move_to_local(): take the head of a queue for this CPU; counted in nr_dispatched. */\n"
        "static __always_inline bool sl_consume(u64 dsq_id)\n{\n"
        "\tif (!sl_move_to_local(dsq_id))\n\t\treturn false;\n"
        "\t__sync_fetch_and_add(&stats.nr_dispatched, 1);\n\treturn true;\n}",
        helpers=("sl_move_to_local",),
    ),
    Helper(
        "sl_queued",
        "/* queued(): tasks waiting in a queue (the kfunc returns a negative errno on a bad id). */\n"
        "static __always_inline u64 sl_queued(u64 dsq_id)\n{\n"
        "\ts32 n = scx_bpf_dsq_nr_queued(dsq_id);\n\n\treturn n > 0 ? (u64)n : 0;\n}",
        kfuncs=("scx_bpf_dsq_nr_queued",),
    ),
    Helper(
        "sl_allowed",
        "/* allowed(): whether p's affinity mask lets it run on cpu (false for a negative cpu). */\n"
        "static __always_inline bool sl_allowed(struct task_struct *p, s32 cpu)\n{\n"
        "\treturn cpu >= 0 && bpf_cpumask_test_cpu((u32)cpu, p->cpus_ptr);\n}",
        kfuncs=("bpf_cpumask_test_cpu",),
        task_fields=("cpus_ptr",),
        types=("cpumask",),
    ),
    Helper(
        "sl_insert",
        "/* insert ... into Q: FIFO insert; a refusal (6.19+ reports them) is counted. */\n"
        "static __always_inline void sl_insert(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags)\n"
        "{\n\tif (!sl_dsq_insert(p, dsq_id, slice, enq_flags))\n"
        "\t\t__sync_fetch_and_add(&stats.nr_insert_refused, 1);\n}",
        helpers=("sl_dsq_insert",),
    ),
    Helper(
        "sl_insert_vtime",
        "/* insert ... into Q vtime V: ordered insert; a refusal is counted. */\n"
        "static __always_inline void sl_insert_vtime(struct task_struct *p, u64 dsq_id, u64 slice,\n"
        "\t\t\t\t\t    u64 vtime, u64 enq_flags)\n"
        "{\n\tif (!sl_dsq_insert_vtime(p, dsq_id, slice, vtime, enq_flags))\n"
        "\t\t__sync_fetch_and_add(&stats.nr_insert_refused, 1);\n}",
        helpers=("sl_dsq_insert_vtime",),
    ),
    Helper(
        "sl_local_on",
        "/* insert ... into local on C: CPU c's local queue when c exists and p may run there.\n"
        " * Otherwise the global queue: the task is never lost, and the kernel never ejects the\n"
        " * policy for a bad target (counted in stats.nr_bad_cpu). */\n"
        "static __always_inline u64 sl_local_on(struct task_struct *p, s32 cpu)\n{\n"
        "\tif (cpu >= 0 && (u32)cpu < sl_nr_cpus() && sl_allowed(p, cpu))\n"
        "\t\treturn SCX_DSQ_LOCAL_ON | (u32)cpu;\n"
        "\t__sync_fetch_and_add(&stats.nr_bad_cpu, 1);\n"
        "\treturn SCX_DSQ_GLOBAL;\n}",
        helpers=("sl_nr_cpus", "sl_allowed"),
    ),
    Helper(
        "sl_kick",
        "/* kick C: only a CPU that exists (the kernel ejects a policy that kicks one that does\n"
        " * not); a bad one is skipped and counted in stats.nr_bad_cpu.\n"
        " * A preempting kick zeroes the slice of whatever C runs. Issued from a hot path (every\n"
        " * enqueue, every stop, every tick) it preempts the task C has just picked, again and\n"
        " * again, so tasks are switched in and out without running until the watchdog ejects\n"
        " * the scheduler. So C is preempted at most once per SL_KICK_PREEMPT_GAP_NS: a kick\n"
        " * within that time of the last one only asks C to reschedule (counted in\n"
        " * stats.nr_kick_limited). */\n"
        f"#define SL_KICK_PREEMPT_GAP_NS {semantics.KICK_PREEMPT_GAP_NS}ULL\n"
        "/* Not static: clang would split a static array indexed only by constants into\n"
        " * scalars whose BTF no longer matches, and the kernel refuses the object. */\n"
        "u64 sl_kick_preempted_at[MAX_CPUS];\n\n"
        "static __always_inline void sl_kick(s32 cpu, u64 flags)\n{\n"
        "\tif (cpu < 0 || (u32)cpu >= sl_nr_cpus()) {\n"
        "\t\t__sync_fetch_and_add(&stats.nr_bad_cpu, 1);\n"
        "\t\treturn;\n\t}\n"
        "\tif (flags & SCX_KICK_PREEMPT) {\n"
        "\t\t/* The slot is read back through a volatile and checked in 64 bits, as in the\n"
        "\t\t * array accessors: clang otherwise dropped the check when it knew cpu < 64 (a\n"
        "\t\t * `for c in cpus` loop) and indexed with a copy the verifier cannot bound. */\n"
        "\t\tvolatile u64 slot = (u32)cpu;\n"
        "\t\tu64 at = slot;\n\n"
        "\t\tif (at >= MAX_CPUS) /* more CPUs than slots: the last ones share one */\n"
        "\t\t\tat = MAX_CPUS - 1;\n\n"
        "\t\tu64 *last = &sl_kick_preempted_at[at];\n"
        "\t\tu64 now = sl_now();\n\n"
        "\t\tif (*last && now - *last < SL_KICK_PREEMPT_GAP_NS) {\n"
        "\t\t\tflags &= ~(u64)SCX_KICK_PREEMPT;\n"
        "\t\t\t__sync_fetch_and_add(&stats.nr_kick_limited, 1);\n"
        "\t\t} else {\n"
        "\t\t\t*last = now;\n"
        "\t\t}\n\t}\n"
        "\tscx_bpf_kick_cpu(cpu, flags);\n}",
        helpers=("sl_nr_cpus", "sl_now"),
        kfuncs=("scx_bpf_kick_cpu",),
    ),
    Helper(
        "sl_slice",
        "/* A slice the policy computed (`insert ... slice S`, `t.slice = S`), kept within\n"
        " * [SL_SLICE_MIN_NS, a tenth of the watchdog timeout]. A shorter slice makes a loaded CPU\n"
        " * reschedule faster than its tasks get work done (`t.slice = 0ns` in running switched\n"
        " * every task out as it started); a longer one lets each task ahead in a queue hold the\n"
        " * CPU so long that the one behind waits past the watchdog, which ejects the scheduler.\n"
        " * Each clamp is counted in stats.nr_slice_clamped. */\n"
        f"#define SL_SLICE_MIN_NS {semantics.SLICE_MIN_NS}ULL\n"
        "#define SL_SLICE_MAX_NS (SL_WATCHDOG_NS / 10)\n\n"
        "static __always_inline u64 sl_slice(u64 slice)\n{\n"
        "\tif (slice < SL_SLICE_MIN_NS) {\n"
        "\t\t__sync_fetch_and_add(&stats.nr_slice_clamped, 1);\n"
        "\t\treturn SL_SLICE_MIN_NS;\n\t}\n"
        "\tif (slice > SL_SLICE_MAX_NS) {\n"
        "\t\t__sync_fetch_and_add(&stats.nr_slice_clamped, 1);\n"
        "\t\treturn SL_SLICE_MAX_NS;\n\t}\n"
        "\treturn slice;\n}",
    ),
    Helper(
        "sl_tick_slice",
        "/* `t.slice = S` in tick: 0 ends the running task's slice at this tick (a yield: the\n"
        " * next task gets its own slice); any other value is clamped like every slice. */\n"
        "static __always_inline u64 sl_tick_slice(u64 slice)\n{\n"
        "\treturn slice ? sl_slice(slice) : 0;\n}",
        helpers=("sl_slice",),
    ),
)

# Output order: leaf helpers first, then those calling them.
ORDER: tuple[str, ...] = (
    "sl_now",
    "sl_dsq_insert",
    "sl_dsq_insert_vtime",
    "sl_move_to_local",
    "sl_set_slice",
    "sl_set_vtime",
    *(h.name for h in _FIXED),
)


def _compat_helper(api: compat.KernelApi, op: compat.Operation) -> Helper:
    chosen = api.variants(op)
    kfuncs = tuple(v.kfunc for v in chosen if v.kfunc)
    fields = tuple(f for v in chosen for f in v.task_fields)
    types = tuple(t for v in chosen for t in v.types)
    text = f"/* {op.doc} */\n{op.signature}\n{{\n{compat.helper_body(api, op)}\n}}"
    return Helper(op.helper, text, kfuncs=kfuncs, task_fields=fields, types=types)


def resolve(api: compat.KernelApi, needed: set[str]) -> list[Helper]:
    """The helper blocks for `needed` and everything they call, in output order."""
    table = {h.name: h for h in _FIXED}
    table.update({name: _compat_helper(api, op) for name, op in compat.OPERATIONS.items()})
    todo, seen = list(needed), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in table:
            raise KeyError(f"C backend: no helper named {name}")
        seen.add(name)
        todo += table[name].helpers
    return [table[name] for name in ORDER if name in seen]

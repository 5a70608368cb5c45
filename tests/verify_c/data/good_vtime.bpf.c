/* SPDX-License-Identifier: GPL-2.0 */
/*
 * good_vtime: weighted virtual-time scheduler, written by hand for the verify-c tests.
 *
 * Idea: every task accumulates virtual time in proportion to the CPU time it used divided
 * by its weight; the shared queue is ordered by that vtime, so heavy (high-weight) tasks
 * get more CPU. A task that wakes on an idle CPU goes straight to that CPU's local queue.
 * The policy measures its own wakeup latency (runnable -> running) into a histogram.
 *
 * Self-contained: no vmlinux.h, no scx headers. Kernel types are declared locally with
 * only the fields used, for CO-RE (preserve_access_index); kfuncs are weak ksyms.
 * Layout follows docs/internals.md: ops table `good_vtime_ops` in .struct_ops.link,
 * tunables in .rodata.params, one stats struct in .data.stats.
 */

typedef unsigned char u8;
typedef unsigned int u32;
typedef int s32;
typedef unsigned long long u64;
typedef long long s64;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

#define SEC(name) __attribute__((section(name), used))
#define __ksym __attribute__((section(".ksyms")))
#define __weak __attribute__((weak))
#define __always_inline inline __attribute__((always_inline))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define bpf_ksym_exists(sym) (!!(sym))

/* ---- kernel types (only the members used; libbpf matches them by name) ---- */
enum scx_dsq_id_flags {
	SCX_DSQ_LOCAL = 0x8000000000000002ULL,
};

enum scx_exit_kind {
	SCX_EXIT_NONE = 0,
};

struct sched_ext_entity {
	u32 weight;
	u64 slice;
	u64 dsq_vtime;
} __attribute__((preserve_access_index));

struct task_struct {
	s32 pid;
	struct sched_ext_entity scx;
} __attribute__((preserve_access_index));

struct scx_exit_info {
	enum scx_exit_kind kind;
	s64 exit_code;
	const char *reason;
	char *msg;
} __attribute__((preserve_access_index));

struct sched_ext_ops {
	s32 (*select_cpu)(struct task_struct *p, s32 prev_cpu, u64 wake_flags);
	void (*enqueue)(struct task_struct *p, u64 enq_flags);
	void (*dispatch)(s32 cpu, struct task_struct *prev);
	void (*runnable)(struct task_struct *p, u64 enq_flags);
	void (*running)(struct task_struct *p);
	void (*stopping)(struct task_struct *p, bool runnable);
	void (*enable)(struct task_struct *p);
	s32 (*init)(void);
	void (*exit)(struct scx_exit_info *info);
	u32 timeout_ms;
	char name[128];
};

/* ---- kfuncs and helpers ---- */
extern s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags,
				  bool *is_idle) __ksym __weak;
extern void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice,
			       u64 enq_flags) __ksym __weak;
extern void scx_bpf_dsq_insert_vtime(struct task_struct *p, u64 dsq_id, u64 slice, u64 vtime,
				     u64 enq_flags) __ksym __weak;
extern bool scx_bpf_dsq_move_to_local(u64 dsq_id) __ksym __weak;
extern s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym __weak;
extern u64 scx_bpf_now(void) __ksym __weak;

static void *(*bpf_task_storage_get)(void *map, struct task_struct *task, void *value,
				     u64 flags) = (void *)156;
static u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static long (*bpf_probe_read_kernel_str)(void *dst, u32 size, const void *src) = (void *)115;

/* ---- tunables (the loader may rewrite .rodata.params before load) ---- */
struct good_vtime_params {
	u64 slice_ns;      /* time slice given to every task */
	u64 max_lag_ns;    /* how far behind the queue's vtime a waking task may start */
};

const volatile struct good_vtime_params params SEC(".rodata.params") = {
	.slice_ns = 20000000,
	.max_lag_ns = 20000000,
};

/* ---- stats and exit info: one struct in its own section, read by the loader ---- */
#define NR_HIST 8

struct good_vtime_stats {
	u64 nr_enqueued;
	u64 nr_dispatched;
	u64 nr_direct;
	u64 wakeup_hist[NR_HIST];
	u64 exit_kind;
	s64 exit_code;
	char exit_reason[128];
	char exit_msg[1024];
};

struct good_vtime_stats stats SEC(".data.stats");

/* upper bound (ns) of each wakeup-latency bucket; the last one catches everything */
static const u64 hist_bounds[NR_HIST] = {
	1000, 10000, 100000, 1000000, 5000000, 20000000, 100000000, ~0ULL,
};

/* ---- per-task state: when the task became runnable ---- */
#define BPF_MAP_TYPE_TASK_STORAGE 29
#define BPF_F_NO_PREALLOC 1
#define BPF_LOCAL_STORAGE_GET_F_CREATE 1

struct task_ctx {
	u64 runnable_at;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

/* ---- the shared queue and its clock ---- */
#define SHARED_DSQ 0

static u64 vtime_now;

static __always_inline u64 now(void)
{
	return bpf_ksym_exists(scx_bpf_now) ? scx_bpf_now() : bpf_ktime_get_ns();
}

static __always_inline bool vtime_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

static __always_inline void record_wakeup(u64 delta)
{
	u32 i;

	for (i = 0; i < NR_HIST; i++) {
		if (delta <= hist_bounds[i]) {
			__sync_fetch_and_add(&stats.wakeup_hist[i], 1);
			break;
		}
	}
}

/* ---- callbacks: args come in ctx[], as BPF_PROG would unpack them ---- */
SEC("struct_ops/good_vtime_select_cpu")
s32 good_vtime_select_cpu(u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	s32 prev_cpu = ctx[1];
	u64 wake_flags = ctx[2];
	bool is_idle = false;
	s32 cpu;

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (is_idle) {
		__sync_fetch_and_add(&stats.nr_direct, 1);
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, params.slice_ns, 0);
	}
	return cpu;
}

SEC("struct_ops/good_vtime_enqueue")
void good_vtime_enqueue(u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	u64 enq_flags = ctx[1];
	u64 vtime = p->scx.dsq_vtime;

	__sync_fetch_and_add(&stats.nr_enqueued, 1);
	/* a task that slept long must not bank unlimited credit */
	if (vtime_before(vtime, vtime_now - params.max_lag_ns))
		vtime = vtime_now - params.max_lag_ns;
	scx_bpf_dsq_insert_vtime(p, SHARED_DSQ, params.slice_ns, vtime, enq_flags);
}

SEC("struct_ops/good_vtime_dispatch")
void good_vtime_dispatch(u64 *ctx)
{
	if (scx_bpf_dsq_move_to_local(SHARED_DSQ))
		__sync_fetch_and_add(&stats.nr_dispatched, 1);
}

SEC("struct_ops/good_vtime_runnable")
void good_vtime_runnable(u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	struct task_ctx *tctx;

	tctx = bpf_task_storage_get(&task_ctxs, p, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (tctx)
		tctx->runnable_at = now();
}

SEC("struct_ops/good_vtime_running")
void good_vtime_running(u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	struct task_ctx *tctx;

	if (vtime_before(vtime_now, p->scx.dsq_vtime))
		vtime_now = p->scx.dsq_vtime;
	tctx = bpf_task_storage_get(&task_ctxs, p, NULL, 0);
	if (tctx && tctx->runnable_at) {
		record_wakeup(now() - tctx->runnable_at);
		tctx->runnable_at = 0;
	}
}

SEC("struct_ops/good_vtime_stopping")
void good_vtime_stopping(u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	u32 weight = p->scx.weight ? p->scx.weight : 100;

	/* charge the used part of the slice, scaled by the inverse of the weight */
	p->scx.dsq_vtime += (params.slice_ns - p->scx.slice) * 100 / weight;
}

SEC("struct_ops/good_vtime_enable")
void good_vtime_enable(u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];

	p->scx.dsq_vtime = vtime_now;
}

SEC("struct_ops.s/good_vtime_init")
s32 good_vtime_init(u64 *ctx)
{
	return scx_bpf_create_dsq(SHARED_DSQ, -1);
}

SEC("struct_ops/good_vtime_exit")
void good_vtime_exit(u64 *ctx)
{
	struct scx_exit_info *ei = (void *)ctx[0];

	stats.exit_kind = ei->kind;
	stats.exit_code = ei->exit_code;
	bpf_probe_read_kernel_str(stats.exit_reason, sizeof(stats.exit_reason), ei->reason);
	bpf_probe_read_kernel_str(stats.exit_msg, sizeof(stats.exit_msg), ei->msg);
}

SEC(".struct_ops.link")
struct sched_ext_ops good_vtime_ops = {
	.select_cpu = (void *)good_vtime_select_cpu,
	.enqueue = (void *)good_vtime_enqueue,
	.dispatch = (void *)good_vtime_dispatch,
	.runnable = (void *)good_vtime_runnable,
	.running = (void *)good_vtime_running,
	.stopping = (void *)good_vtime_stopping,
	.enable = (void *)good_vtime_enable,
	.init = (void *)good_vtime_init,
	.exit = (void *)good_vtime_exit,
	.timeout_ms = 5000,
	.name = "good_vtime",
};

char _license[] SEC("license") = "GPL";

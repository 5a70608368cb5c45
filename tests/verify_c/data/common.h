/* Shared declarations for the verify-c test data (self-contained, like generated C). */
#ifndef CGATE_TEST_COMMON_H
#define CGATE_TEST_COMMON_H

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

#define SCX_DSQ_LOCAL 0x8000000000000002ULL
#define SCX_SLICE_DFL 20000000ULL
#define MAX_CPUS 64

struct sched_ext_entity {
	u32 weight;
	u64 slice;
	u64 dsq_vtime;
	bool disallow;
} __attribute__((preserve_access_index));

struct task_struct {
	s32 pid;
	char comm[16];
	struct sched_ext_entity scx;
} __attribute__((preserve_access_index));

struct sched_ext_ops {
	void (*enqueue)(struct task_struct *p, u64 enq_flags);
	void (*dispatch)(s32 cpu, struct task_struct *prev);
	s32 (*init)(void);
	u32 timeout_ms;
	char name[128];
};

extern void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice,
			       u64 enq_flags) __ksym __weak;
extern bool scx_bpf_dsq_move_to_local(u64 dsq_id) __ksym __weak;
extern s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym __weak;
extern u32 scx_bpf_nr_cpu_ids(void) __ksym __weak;
extern s32 scx_bpf_dsq_nr_queued(u64 dsq_id) __ksym __weak;

static u64 (*bpf_ktime_get_ns)(void) = (void *)5;

/* A minimal valid scheduler around the callbacks a test file wants to check. */
#define TEST_SCHEDULER(NAME)                                                   \
	SEC("struct_ops/" #NAME "_enqueue")                                    \
	void NAME##_enqueue(u64 *ctx)                                          \
	{                                                                      \
		scx_bpf_dsq_insert((struct task_struct *)ctx[0], SCX_DSQ_LOCAL, \
				   SCX_SLICE_DFL, 0);                          \
	}                                                                      \
	SEC(".struct_ops.link")                                                \
	struct sched_ext_ops NAME##_ops = {                                    \
		.enqueue = (void *)NAME##_enqueue,                             \
		.name = #NAME,                                                 \
	};                                                                     \
	char _license[] SEC("license") = "GPL";

#endif

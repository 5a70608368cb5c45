/* Hand-written C the verify-c gate rejects (C001): the dispatch loop is bounded by a value
 * known only at run time. `schedlang compile` must report it at its file:line:col and build
 * nothing. */

typedef unsigned long long u64;
typedef int s32;
typedef unsigned int u32;
typedef _Bool bool;

#define SEC(name) __attribute__((section(name), used))
#define __ksym __attribute__((section(".ksyms")))
#define __weak __attribute__((weak))

char _license[] SEC("license") = "GPL";

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

struct sched_ext_ops {
	void (*enqueue)(struct task_struct *p, u64 enq_flags);
	void (*dispatch)(s32 cpu, struct task_struct *prev);
	char name[128];
};

extern void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice,
			       u64 enq_flags) __ksym __weak;
extern bool scx_bpf_dsq_move_to_local(u64 dsq_id) __ksym __weak;

const volatile u32 batch = 4;

SEC("struct_ops/unbounded_enqueue")
void unbounded_enqueue(u64 *ctx)
{
	scx_bpf_dsq_insert((struct task_struct *)ctx[0], 0, 20000000, ctx[1]);
}

SEC("struct_ops/unbounded_dispatch")
void unbounded_dispatch(u64 *ctx)
{
	u32 i;

	for (i = 0; i < batch; i++) /* C001: `batch` is a load-time tunable */
		if (!scx_bpf_dsq_move_to_local(0))
			break;
}

SEC(".struct_ops.link")
struct sched_ext_ops unbounded_ops = {
	.enqueue = (void *)unbounded_enqueue,
	.dispatch = (void *)unbounded_dispatch,
	.name = "unbounded_c",
};

/* C009: scx_bpf_create_dsq (KF_SLEEPABLE) reached from non-sleepable programs. */
#include "common.h"

static s32 make_queues(void)
{
	return scx_bpf_create_dsq(1, -1);			// E[C009]
}

SEC("struct_ops/sleepy_dispatch")
void sleepy_dispatch(u64 *ctx)
{
	if (make_queues())
		scx_bpf_dsq_move_to_local(1);
}

SEC("struct_ops/sleepy_init")
s32 sleepy_init(u64 *ctx)
{
	return scx_bpf_create_dsq(0, -1);			// E[C009]
}

SEC("struct_ops.s/sleepy_init_ok")
s32 sleepy_init_ok(u64 *ctx)
{
	return scx_bpf_create_dsq(2, -1) + make_queues();	/* ok: sleepable */
}

SEC("struct_ops/sleepy_enqueue")
void sleepy_enqueue(u64 *ctx)
{
	scx_bpf_dsq_insert((struct task_struct *)ctx[0], SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
}

SEC(".struct_ops.link")
struct sched_ext_ops sleepy_ops = {
	.enqueue = (void *)sleepy_enqueue,
	.dispatch = (void *)sleepy_dispatch,
	.init = (void *)sleepy_init,
	.name = "sleepy",
};

SEC(".struct_ops.link")
struct sched_ext_ops sleepy_ok_ops = {
	.enqueue = (void *)sleepy_enqueue,
	.init = (void *)sleepy_init_ok,
	.name = "sleepy_ok",
};

char _license[] SEC("license") = "GPL";

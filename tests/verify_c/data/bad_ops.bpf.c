/* C004 (wrong section), C005 (name), C008 (callbacks). */
#include "common.h"

SEC("struct_ops/ops_enqueue")
void ops_enqueue(u64 *ctx)
{
	scx_bpf_dsq_insert((struct task_struct *)ctx[0], SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
}

void plain_dispatch(u64 *ctx)
{
}

s32 missing_init(void);

SEC(".struct_ops.link")
struct sched_ext_ops no_name_ops = {		// E[C005]
	.enqueue = (void *)ops_enqueue,
};

SEC(".struct_ops.link")
struct sched_ext_ops bad_name_ops = {
	.enqueue = (void *)ops_enqueue,
	.dispatch = (void *)plain_dispatch,	// E[C008]
	.init = (void *)missing_init,		// E[C008]
	.name = "bad name!",			// E[C005]
};

struct sched_ext_ops wrong_section_ops = {	// E[C004]
	.enqueue = (void *)ops_enqueue,
	.name = "wrong_section",
};

char _license[] SEC("license") = "GPL";

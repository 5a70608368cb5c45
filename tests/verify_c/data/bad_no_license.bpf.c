/* C006: no license section at all (reported at 1:1). */ // E[C006]
#include "common.h"

SEC("struct_ops/nolic_enqueue")
void nolic_enqueue(u64 *ctx)
{
	scx_bpf_dsq_insert((struct task_struct *)ctx[0], SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
}

SEC(".struct_ops.link")
struct sched_ext_ops nolic_ops = {
	.enqueue = (void *)nolic_enqueue,
	.name = "nolic",
};

/* C006: a license that is not GPL-compatible. */
#include "common.h"

SEC("struct_ops/lic_enqueue")
void lic_enqueue(u64 *ctx)
{
	scx_bpf_dsq_insert((struct task_struct *)ctx[0], SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
}

SEC(".struct_ops.link")
struct sched_ext_ops lic_ops = {
	.enqueue = (void *)lic_enqueue,
	.name = "lic",
};

char _license[] SEC("license") = "Proprietary";	// E[C006]

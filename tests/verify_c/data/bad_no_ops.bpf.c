/* C004: no ops table at all (reported at 1:1). */ // E[C004]
#include "common.h"

SEC("struct_ops/no_ops_enqueue")
void no_ops_enqueue(u64 *ctx)
{
	scx_bpf_dsq_insert((struct task_struct *)ctx[0], SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
}

char _license[] SEC("license") = "GPL";

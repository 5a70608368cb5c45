/* Gate-only (does not compile alone): scx-style macros the gate's prelude supplies. */
#include "common.h"
void BPF_STRUCT_OPS(s_enqueue, struct task_struct *p, u64 enq_flags)
{
	if (p->pid == 0)
		scx_bpf_error("bad pid %d", p->pid);
	p->scx.slice = READ_ONCE(p->scx.slice);	// E[C003]
	p->comm[1] = 0;				// E[C007]
	bpf_printk("x %d", 1);
	scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, enq_flags);
}
s32 BPF_STRUCT_OPS_SLEEPABLE(s_init)
{
	return scx_bpf_create_dsq(0, -1);
}
SEC(".struct_ops.link")
struct sched_ext_ops s_ops = {
	.enqueue = (void *)s_enqueue,
	.init = (void *)s_init,
	.name = "s",
};
char _license[] SEC("license") = "GPL";

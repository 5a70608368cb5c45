/* C003 (unknown callees) and C104 (indirect calls); kfunc flavours and old names pass. */
#include "common.h"

TEST_SCHEDULER(calls)

extern void scx_bpf_dispatch(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym __weak;
extern bool scx_bpf_consume___old(u64 dsq_id) __ksym __weak;
extern void scx_bpf_frobnicate(u64 x) __ksym __weak;	/* not a kernel function */
static long (*bpf_mystery)(void) = (void *)999;

static void helper_in_file(void)
{
}

SEC("struct_ops/calls_dispatch")
void calls_dispatch(u64 *ctx)
{
	void (*fp)(void) = helper_in_file;

	helper_in_file();				/* ok: defined here */
	scx_bpf_consume___old(0);			/* ok: old name, flavoured */
	scx_bpf_dispatch(NULL, 0, 0, 0);		/* ok: pre-6.13 name */
	bpf_ktime_get_ns();				/* ok: helper */
	__sync_fetch_and_add(&ctx[0], 1);		/* ok: builtin */
	scx_bpf_dsq_insrt(NULL, 0, 0, 0);		// E[C003]
	scx_bpf_frobnicate(1);				// E[C003]
	bpf_mystery();					// E[C003]
	fp();						// E[C104]
	(*fp)();					// E[C104]
}

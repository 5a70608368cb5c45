/* C103: inline assembly is reported as not analysed. */
#include "common.h"

TEST_SCHEDULER(asmtest)

SEC("struct_ops/asmtest_dispatch")
void asmtest_dispatch(u64 *ctx)
{
	u64 x = ctx[0];

	asm volatile("" : "+r"(x));			// E[C103]
	if (x)
		scx_bpf_dsq_move_to_local(0);
}

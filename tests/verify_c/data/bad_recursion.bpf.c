/* C002: direct and mutual recursion, reported at the call that closes the cycle. */
#include "common.h"

TEST_SCHEDULER(recursion)

static u64 fact(u64 n)
{
	return n <= 1 ? 1 : n * fact(n - 1);		// E[C002]
}

static u64 ping(u64 n);

static u64 pong(u64 n)
{
	return n ? ping(n - 1) : 0;
}

static u64 ping(u64 n)
{
	return n ? pong(n - 1) : 1;			// E[C002]
}

static u64 leaf(u64 n)
{
	return n + 1;					/* ok: no cycle */
}

SEC("struct_ops/recursion_dispatch")
void recursion_dispatch(u64 *ctx)
{
	if (fact(3) + pong(4) + leaf(1))
		scx_bpf_dsq_move_to_local(0);
}

/* C102: the GNU `?:` operator is outside what the gate parses. */
#include "common.h"

TEST_SCHEDULER(parse)

SEC("struct_ops/parse_dispatch")
void parse_dispatch(u64 *ctx)
{
	u64 x = ctx[0] ?: 1;				// E[C102]

	if (x)
		scx_bpf_dsq_move_to_local(0);
}

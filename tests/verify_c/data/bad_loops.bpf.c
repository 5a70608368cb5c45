/* C001 (loops without a constant bound) and C105 (backward goto); the OK forms pass. */
#include "common.h"

TEST_SCHEDULER(loops)

static u32 nr_cpus;
const volatile u32 nr_tunable = 8; /* load-time tunable: not a compile-time constant */
enum { NR_SLOTS = 4 };
static const int LIMIT = 16;

SEC("struct_ops/loops_dispatch")
void loops_dispatch(u64 *ctx)
{
	u32 i, j;
	int k = 0;

	for (i = 0; i < MAX_CPUS; i++)			/* ok: constant bound */
		scx_bpf_dsq_nr_queued(i);
	for (i = 0; i < nr_cpus && i < MAX_CPUS; i++)	/* ok: runtime && constant */
		scx_bpf_dsq_nr_queued(i);
	for (i = 0; i < NR_SLOTS; i += 2)		/* ok: enum constant, constant step */
		scx_bpf_dsq_nr_queued(i);
	for (j = LIMIT; j > 0; j--)			/* ok: decreasing to a constant */
		scx_bpf_dsq_nr_queued(j);
	for (i = 0; i < nr_cpus; i++)			// E[C001]
		scx_bpf_dsq_nr_queued(i);
	for (i = 0; i < nr_tunable; i++)		// E[C001]
		scx_bpf_dsq_nr_queued(i);
	for (;;) {					// E[C001]
		if (scx_bpf_dsq_move_to_local(0))
			break;
	}
	while (1) {					// E[C001]
		if (scx_bpf_dsq_move_to_local(0))
			break;
	}
	for (i = 0; i < MAX_CPUS; i++) {		// E[C001]
		if (scx_bpf_dsq_nr_queued(i))
			i = 0;
	}
	for (i = 0; i < MAX_CPUS; i--)			// E[C001]
		scx_bpf_dsq_nr_queued(i);
	while (k < 10) {				/* ok: one unconditional step */
		scx_bpf_dsq_nr_queued(k);
		k++;
	}
	k = 0;
	while (k < 10) {				// E[C001]
		if (scx_bpf_dsq_nr_queued(k))
			k++;
	}
	k = 0;
	do {						// E[C001]
		if (scx_bpf_dsq_nr_queued(k))
			continue;
		k += 1;
	} while (k < 10);
	do {						/* ok: not a loop */
		scx_bpf_dsq_nr_queued(1);
	} while (0);
	bpf_for(i, 0, MAX_CPUS)				/* ok: gate's bpf_for, constant bounds */
		scx_bpf_dsq_nr_queued(i);
	bpf_for(i, 0, nr_cpus)				// E[C001]
		scx_bpf_dsq_nr_queued(i);
	bpf_repeat(3)					/* ok */
		scx_bpf_dsq_nr_queued(0);
again:
	if (scx_bpf_dsq_move_to_local(0))
		goto again;				// E[C105]
	goto out;					/* ok: forward */
out:
	return;
}

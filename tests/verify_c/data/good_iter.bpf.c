/* SPDX-License-Identifier: GPL-2.0 */
/*
 * good_iter: least-queued CPU placement with open-coded iterator loops, written by hand for
 * the verify-c tests. Its own `bpf_for` is the libbpf form (a statement expression over the
 * bpf_iter_num kfuncs) so the test covers iterator loops and GNU statement expressions.
 */
#include "common.h"

struct bpf_iter_num {
	u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

/* libbpf's open-coded loop: the kernel bounds it; the gate wants constant start/end. */
#define bpf_for(i, start, end)                                                        \
	for (struct bpf_iter_num ___it __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \
	     *___p __attribute__((unused)) =                                             \
		     (bpf_iter_num_new(&___it, (start), (end)), (void)bpf_iter_num_destroy, (void *)0); \
	     ({                                                                          \
		     int *___t = bpf_iter_num_next(&___it);                              \
		     (___t && ((i) = *___t, (i) >= (start) && (i) < (end)));             \
	     });)

#define USER_DSQS 8

static __attribute__((always_inline)) inline u64 dsq_for_cpu(s32 cpu)
{
	return (u32)cpu % USER_DSQS;
}

SEC("struct_ops/good_iter_enqueue")
void good_iter_enqueue(u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	s32 best = 0, nr_best = 1 << 30;
	int i;

	bpf_for(i, 0, USER_DSQS) {
		s32 nr = scx_bpf_dsq_nr_queued(i);

		if (nr < nr_best) {
			nr_best = nr;
			best = i;
		}
	}
	scx_bpf_dsq_insert(p, dsq_for_cpu(best), SCX_SLICE_DFL, ctx[1]);
}

SEC("struct_ops/good_iter_dispatch")
void good_iter_dispatch(u64 *ctx)
{
	s32 cpu = ctx[0];

	scx_bpf_dsq_move_to_local(dsq_for_cpu(cpu));
}

SEC("struct_ops.s/good_iter_init")
s32 good_iter_init(u64 *ctx)
{
	int i;
	s32 err;

	bpf_for(i, 0, USER_DSQS) {
		err = scx_bpf_create_dsq(i, -1);
		if (err)
			return err;
	}
	return 0;
}

SEC(".struct_ops.link")
struct sched_ext_ops good_iter_ops = {
	.enqueue = (void *)good_iter_enqueue,
	.dispatch = (void *)good_iter_dispatch,
	.init = (void *)good_iter_init,
	.timeout_ms = 5000,
	.name = "good_iter",
};

char _license[] SEC("license") = "GPL";

/* C007: writes to task_struct fields other than scx.slice, scx.dsq_vtime, scx.disallow. */
#include "common.h"

TEST_SCHEDULER(writes)

SEC("struct_ops/writes_dispatch")
void writes_dispatch(u64 *ctx)
{
	struct task_struct *p = (void *)ctx[1];
	struct sched_ext_entity *se = &p->scx;
	s32 pid = p->pid;				/* ok: a read */

	p->scx.slice = SCX_SLICE_DFL;			/* ok */
	p->scx.dsq_vtime += 100;			/* ok */
	p->scx.disallow = true;				/* ok */
	se->slice = 0;					/* ok: same field through the entity */
	p->pid = pid + 1;				// E[C007]
	p->scx.weight = 1;				// E[C007]
	se->weight++;					// E[C007]
	((struct task_struct *)ctx[1])->comm[0] = 'x';	// E[C007]
	(*p).pid = 0;					// E[C007]
	__builtin_memset(&p->scx, 0, sizeof(p->scx));	// E[C007]
	{
		u64 *vt = &p->scx.dsq_vtime;
		u32 *w = &p->scx.weight;

		*vt = 5;				/* ok: alias of an allowed field */
		*w = 3;					// E[C007]
		w[0] = 3;				// E[C007]
	}
}

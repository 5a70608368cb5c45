/*
 * The simulated machine of runtime/sim/machine.py, in C, for a JIT-compiled policy.
 *
 * machine.py is the reference: this file follows it function by function (same names, same
 * order of effects, same counters), so a run gives the same trace, the same figures and the
 * same exit as the Python machine. It exists for speed only: the policy's callbacks are
 * called through function pointers the JIT hands over, and the policy's host calls (`now`,
 * `insert`, `move_to_local`, ...) are compiled as direct calls to the sl_host_* functions
 * below, so a scheduling event never crosses into Python.
 *
 * A task's record (backends/llvm/memory.py's TaskHead, then its task-local storage) is the
 * task's only copy: the machine writes `cpu` and `slice` in it and the policy writes `vtime`
 * and `slice`, as the interpreter shares one SimTask with the Python machine.
 *
 * One run at a time per process (the host calls reach the machine through `S`).
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int64_t i64;
typedef uint64_t u64;

#define DSQ_GLOBAL 0x8000000000000001ULL
#define DSQ_LOCAL 0x8000000000000002ULL
#define DSQ_LOCAL_ON 0xC000000000000000ULL
#define LOCAL_ON_MASK 0xC000000000000000ULL
#define SLICE_DFL_NS 20000000ULL
#define SLICE_INF UINT64_MAX

#define WAKE_FORK 0x04
#define WAKE_TTWU 0x08
#define WAKE_SYNC 0x10
#define ENQ_WAKEUP 0x1ULL
#define ENQ_HEAD (1ULL << 4)
#define ENQ_PREEMPT (1ULL << 32)
#define DEQ_SLEEP 0x1ULL
#define TICK_NS 4000000LL
#define DISPATCH_MAX_LOOPS 32
#define RESCHED_PER_INSTANT 8
#define RESCHED_COST_NS 1000
#define KICK_IDLE 1
#define KICK_PREEMPT 2

enum { NEW, BLOCKED, RUNNABLE, RUNNING, DONE };
enum { CTX_NONE, CTX_SELECT, CTX_ENQUEUE, CTX_DISPATCH };
enum { EV_WAKE, EV_DONE, EV_TICK, EV_WATCHDOG, EV_RESCHED, EV_IPI };
enum { TR_RUN, TR_STOP, TR_IDLE, TR_WAKE, TR_EXIT };
/* rt-app events, as native.py numbers them. */
enum {
	K_RUN, K_RUNTIME, K_SLEEP, K_TIMER, K_YIELD, K_RESUME, K_BROAD, K_SIGNAL, K_SYNC,
	K_WAIT, K_SUSPEND, K_LOCK, K_UNLOCK, K_BARRIER,
};
/* The policy's operations, as bits of sim_config.ops. */
enum {
	OP_INIT, OP_ENABLE, OP_SELECT_CPU, OP_RUNNABLE, OP_ENQUEUE, OP_DISPATCH, OP_RUNNING,
	OP_STOPPING, OP_QUIESCENT, OP_TICK, OP_COUNT,
};

/* backends/llvm/memory.py's TaskHead. */
struct task_rec {
	uint32_t pid, tgid;
	int32_t cpu;
	uint32_t nr_cpus_allowed;
	u64 weight, vtime, slice;
	uint8_t is_kthread;
	char comm[16];
};

struct sim_event { int32_t kind, ref, timer_unique, mode_absolute; i64 ns; };
struct sim_phase { int32_t loop, first, count; };
struct sim_spec { int32_t loop, first_phase, nr_phases; };

/* What Python hands over; every array is Python's and outlives the run. */
struct sim_config {
	int32_t nr_cpus, nr_threads, nr_refs, nr_timer_names;
	i64 until, watchdog_ns, switch_ns, ipi_ns, idle_exit_ns, max_events;
	double jitter;
	u64 ops;
	void *op[OP_COUNT];
	struct task_rec **recs;     /* per thread */
	int32_t *thread_spec;       /* per thread */
	i64 *start_ns;              /* per thread: delay + start jitter */
	u64 *allowed;               /* per thread: CPU mask, 0 = all */
	struct sim_spec *specs;
	struct sim_phase *phases;
	struct sim_event *events;
	int32_t *barrier_users;     /* per ref */
	uint32_t *mt;               /* random.Random's state: 624 words, then the index */
	int32_t trace;
};

struct vec { i64 *v; i64 n, cap; };

static void push_i64(struct vec *a, i64 x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->v = realloc(a->v, a->cap * sizeof(i64));
		if (!a->v)
			abort();
	}
	a->v[a->n++] = x;
}

struct thread {
	struct task_rec *t;
	int spec, state, phase, phase_loop, loop, ev;
	i64 remaining, deadline, runnable_at;
	int woke, queued, local_cpu, in_runnable;
	u64 wake_gen, allowed;
	int last_cpu;
	i64 t_first, run_ns, migrations, switches, misses, ended_at;
	struct vec latencies, slack;
};

struct entry { int th; u64 vtime, seq; };
struct dsq { u64 id; int prio; int n, cap; struct entry *e; };

struct cpu {
	struct dsq local;
	int curr, idle_bit, tick_armed, need_resched, asleep, waking;
	i64 seg_start, resched_at, resched_count, busy_ns;
	u64 gen;
};

struct hev { i64 when; u64 seq; int kind, obj; u64 gen; };
struct dbuf { int th; u64 dsq, slice, vtime; int has_vtime; u64 flags; };
struct trace_ev { i64 ns, cpu, what, pid; };

struct sim {
	struct sim_config c;
	struct cpu *cpus;
	struct thread *th;
	struct dsq global;
	struct dsq *dsqs; int nr_dsqs;
	struct hev *heap; int nheap, capheap;
	u64 seq;
	i64 now;
	int *resched; int rs_head, rs_n;
	int ctx, ctx_cpu, origin;
	struct dbuf *dbuf; int ndbuf, capdbuf;
	int has_ddsp; struct dbuf ddsp;
	int nr_runnable, live, out_of_events;
	int exit_kind; char exit_reason[64]; char exit_message[256];
	i64 ops_calls, machine_events, end_ns;
	struct trace_ev *trace; i64 ntrace, captrace;
	/* rt-app shared objects, by ref id */
	int **waiters; int *w_head, *w_n;
	int *mutex_owner;
	int **barrier_waiting; int *barrier_n;
	u64 *timer_value; uint8_t *timer_set;
	uint32_t mt[624]; int mti;
	jmp_buf ended;
};

static struct sim *S;

/* ---- random.Random's random(): MT19937, state taken from Python ---- */
static uint32_t genrand(struct sim *s)
{
	static const uint32_t mag01[2] = { 0x0U, 0x9908b0dfU };
	uint32_t y;
	if (s->mti >= 624) {
		int kk;
		for (kk = 0; kk < 624 - 397; kk++) {
			y = (s->mt[kk] & 0x80000000U) | (s->mt[kk + 1] & 0x7fffffffU);
			s->mt[kk] = s->mt[kk + 397] ^ (y >> 1) ^ mag01[y & 1U];
		}
		for (; kk < 623; kk++) {
			y = (s->mt[kk] & 0x80000000U) | (s->mt[kk + 1] & 0x7fffffffU);
			s->mt[kk] = s->mt[kk + (397 - 624)] ^ (y >> 1) ^ mag01[y & 1U];
		}
		y = (s->mt[623] & 0x80000000U) | (s->mt[0] & 0x7fffffffU);
		s->mt[623] = s->mt[396] ^ (y >> 1) ^ mag01[y & 1U];
		s->mti = 0;
	}
	y = s->mt[s->mti++];
	y ^= (y >> 11);
	y ^= (y << 7) & 0x9d2c5680U;
	y ^= (y << 15) & 0xefc60000U;
	y ^= (y >> 18);
	return y;
}

static double rand01(struct sim *s)
{
	uint32_t a = genrand(s) >> 5, b = genrand(s) >> 6;
	return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

/* ---- small helpers ---- */
static int may_run_on(struct thread *th, int cpu)
{
	return !th->allowed || (cpu >= 0 && cpu < 64 && (th->allowed >> cpu) & 1);
}

static int min_allowed(struct thread *th)
{
	return __builtin_ctzll(th->allowed);
}

static int has_op(int op) { return (S->c.ops >> op) & 1; }

static void name_of(struct thread *th, char *out, size_t n)
{
	snprintf(out, n, "%s[%u]", th->t->comm, th->t->pid);
}

static void trace_add(i64 ns, int cpu, int what, int pid)
{
	struct sim *s = S;
	if (!s->c.trace)
		return;
	if (s->ntrace == s->captrace) {
		s->captrace = s->captrace ? 2 * s->captrace : 1024;
		s->trace = realloc(s->trace, s->captrace * sizeof(*s->trace));
		if (!s->trace)
			abort();
	}
	s->trace[s->ntrace++] = (struct trace_ev){ ns, cpu, what, pid };
}

static void set_exit(int kind, const char *reason, const char *message)
{
	if (S->exit_kind)
		return;
	S->exit_kind = kind;
	snprintf(S->exit_reason, sizeof(S->exit_reason), "%s", reason);
	snprintf(S->exit_message, sizeof(S->exit_message), "%s", message);
}

static int error(const char *message)
{
	set_exit(1024, "runtime error", message);
	return 0;
}

static void ended(void) { longjmp(S->ended, 1); }

/* ---- queues ---- */
static void dsq_insert_at(struct dsq *q, int at, struct entry e)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 8;
		q->e = realloc(q->e, q->cap * sizeof(*q->e));
		if (!q->e)
			abort();
	}
	memmove(q->e + at + 1, q->e + at, (q->n - at) * sizeof(*q->e));
	q->e[at] = e;
	q->n++;
}

static int dsq_remove_at(struct dsq *q, int at)
{
	int th = q->e[at].th;
	memmove(q->e + at, q->e + at + 1, (q->n - at - 1) * sizeof(*q->e));
	q->n--;
	return th;
}

/* Dsq.take_for: the first task allowed on `cpu`, in queue order. */
static int take_for(struct dsq *q, int cpu)
{
	for (int i = 0; i < q->n; i++)
		if (may_run_on(&S->th[q->e[i].th], cpu))
			return dsq_remove_at(q, i);
	return -1;
}

static struct dsq *user_dsq(u64 id)
{
	for (int i = 0; i < S->nr_dsqs; i++)
		if (S->dsqs[i].id == id)
			return &S->dsqs[i];
	return NULL;
}

static int dsq_index(struct dsq *q) { return q == &S->global ? 0 : 1 + (int)(q - S->dsqs); }

/* ---- the event queue: a binary heap on (when, seq) ---- */
static int hev_less(struct hev *a, struct hev *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void push(i64 when, int kind, int obj, u64 gen)
{
	struct sim *s = S;
	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? 2 * s->capheap : 256;
		s->heap = realloc(s->heap, s->capheap * sizeof(*s->heap));
		if (!s->heap)
			abort();
	}
	struct hev e = { when, ++s->seq, kind, obj, gen };
	int i = s->nheap++;
	while (i > 0) {
		int p = (i - 1) / 2;
		if (!hev_less(&e, &s->heap[p]))
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = e;
}

static struct hev pop(void)
{
	struct sim *s = S;
	struct hev top = s->heap[0], last = s->heap[--s->nheap];
	int i = 0, n = s->nheap;
	for (;;) {
		int l = 2 * i + 1, m = i;
		struct hev *best = &last;
		if (l < n && hev_less(&s->heap[l], best)) {
			m = l;
			best = &s->heap[l];
		}
		if (l + 1 < n && hev_less(&s->heap[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		s->heap[i] = s->heap[m];
		i = m;
	}
	if (n)
		s->heap[i] = last;
	return top;
}

/* ---- calling the policy ---- */
typedef int32_t (*select_fn)(void *, int32_t, u64);
typedef void (*task_u64_fn)(void *, u64);
typedef void (*task_fn)(void *);
typedef void (*task_bool_fn)(void *, int32_t);
typedef void (*cpu_fn)(int32_t);
typedef void (*void_fn)(void);

#define CALL(which, type, ...) (S->ops_calls++, ((type)S->c.op[which])(__VA_ARGS__))

static void runnable_add(struct thread *th)
{
	if (!th->in_runnable) {
		th->in_runnable = 1;
		S->nr_runnable++;
	}
}

static void runnable_discard(struct thread *th)
{
	if (th->in_runnable) {
		th->in_runnable = 0;
		S->nr_runnable--;
	}
}

static void need_resched(int cpu);
static void ask_pick(int cpu);
static int place(struct thread *th, u64 dsq_id, u64 slice_ns, u64 vtime, int has_vtime,
		 u64 flags, int local);

/* ---- sim_abi.Host, as the JIT'd policy calls it ---- */
u64 sl_host_now(void) { return (u64)S->now; }

void sl_host_create_dsq(u64 dsq_id, int32_t vtime_ordered)
{
	(void)vtime_ordered;
	if (user_dsq(dsq_id))
		return;
	S->dsqs = realloc(S->dsqs, (S->nr_dsqs + 1) * sizeof(*S->dsqs));
	if (!S->dsqs)
		abort();
	S->dsqs[S->nr_dsqs++] = (struct dsq){ .id = dsq_id };
}

int32_t sl_host_default_cpu(struct task_rec *t, int32_t prev, u64 wake_flags, uint8_t *idle)
{
	struct sim *s = S;
	struct thread *th = &s->th[t->pid - 100];
	int this = s->ctx_cpu, nr = s->c.nr_cpus;
	*idle = 1;
	if (wake_flags & WAKE_SYNC && s->cpus[this].local.n == 0 && may_run_on(th, this)) {
		for (int i = 0; i < nr; i++)
			if (s->cpus[i].idle_bit)
				return this;
	}
	if (prev >= 0 && prev < nr && s->cpus[prev].idle_bit && may_run_on(th, prev)) {
		s->cpus[prev].idle_bit = 0;
		return prev;
	}
	for (int i = 0; i < nr; i++)
		if (s->cpus[i].idle_bit && may_run_on(th, i)) {
			s->cpus[i].idle_bit = 0;
			return i;
		}
	*idle = 0;
	return prev;
}

int32_t sl_host_insert(struct task_rec *t, u64 dsq_id, u64 slice_ns, u64 vtime, int32_t has_vtime,
		       u64 flags)
{
	struct sim *s = S;
	struct thread *th = &s->th[t->pid - 100];
	char name[40], msg[128];
	if (s->ctx == CTX_DISPATCH) {
		if (s->ndbuf == s->capdbuf) {
			s->capdbuf = s->capdbuf ? 2 * s->capdbuf : 16;
			s->dbuf = realloc(s->dbuf, s->capdbuf * sizeof(*s->dbuf));
			if (!s->dbuf)
				abort();
		}
		s->dbuf[s->ndbuf++] = (struct dbuf){ th - s->th, dsq_id, slice_ns, vtime, has_vtime, flags };
		return 1;
	}
	name_of(th, name, sizeof(name));
	if (s->ctx == CTX_NONE) {
		snprintf(msg, sizeof(msg), "insert of %s outside select_cpu/enqueue/dispatch", name);
		return error(msg);
	}
	if (th->queued >= 0 || s->has_ddsp) {
		snprintf(msg, sizeof(msg), "%s already direct-dispatched", name);
		return error(msg);
	}
	s->has_ddsp = 1;
	s->ddsp = (struct dbuf){ th - s->th, dsq_id, slice_ns, vtime, has_vtime, flags };
	if (s->ctx == CTX_SELECT)
		return 1;
	return place(th, dsq_id, slice_ns, vtime, has_vtime, flags, s->ctx_cpu);
}

static int flush_dispatch(int cpu);
static int consume(struct dsq *q, int cpu);

int32_t sl_host_move_to_local(u64 dsq_id, int32_t cpu)
{
	char msg[64];
	if (S->ctx != CTX_DISPATCH)
		return error("move_to_local outside dispatch");
	flush_dispatch(cpu);
	struct dsq *q = dsq_id == DSQ_GLOBAL ? &S->global : user_dsq(dsq_id);
	if (!q) {
		snprintf(msg, sizeof(msg), "invalid DSQ ID 0x%016llx", (unsigned long long)dsq_id);
		return error(msg);
	}
	return consume(q, cpu);
}

u64 sl_host_queued(u64 dsq_id)
{
	if (dsq_id == DSQ_GLOBAL)
		return S->global.n;
	if (dsq_id == DSQ_LOCAL)
		return S->cpus[S->ctx_cpu].local.n;
	if ((dsq_id & LOCAL_ON_MASK) == DSQ_LOCAL_ON) {
		u64 cpu = dsq_id & 0xFFFFFFFFULL;
		return cpu < (u64)S->c.nr_cpus ? (u64)S->cpus[cpu].local.n : 0;
	}
	struct dsq *q = user_dsq(dsq_id);
	return q ? (u64)q->n : 0;
}

static void charge(int cpu);

void sl_host_kick(int32_t cpu, u64 flags)
{
	char msg[64];
	if (cpu < 0 || cpu >= S->c.nr_cpus) {
		snprintf(msg, sizeof(msg), "invalid CPU %d from kick", cpu);
		error(msg);
		return;
	}
	struct cpu *target = &S->cpus[cpu];
	int preempt = flags & KICK_PREEMPT, idle = !preempt && (flags & KICK_IDLE);
	if (idle && target->curr >= 0)
		return;
	if (preempt && target->curr >= 0) {
		charge(cpu);
		S->th[target->curr].t->slice = 0;
	}
	ask_pick(cpu);
}

int32_t sl_host_cpu_allowed(struct task_rec *t, int32_t cpu)
{
	return may_run_on(&S->th[t->pid - 100], cpu);
}

/* ---- placing and consuming ---- */
static int place(struct thread *th, u64 dsq_id, u64 slice_ns, u64 vtime, int has_vtime,
		 u64 flags, int local)
{
	struct sim *s = S;
	struct task_rec *t = th->t;
	char name[40], msg[160];
	t->slice = slice_ns ? slice_ns : (t->slice ? t->slice : 1);
	if (has_vtime)
		t->vtime = vtime;
	name_of(th, name, sizeof(name));
	if (dsq_id == DSQ_LOCAL || (dsq_id & LOCAL_ON_MASK) == DSQ_LOCAL_ON) {
		u64 cpu = dsq_id == DSQ_LOCAL ? (u64)local : dsq_id & 0xFFFFFFFFULL;
		if (cpu >= (u64)s->c.nr_cpus) {
			snprintf(msg, sizeof(msg), "invalid CPU %llu in SCX_DSQ_LOCAL_ON for %s",
				 (unsigned long long)cpu, name);
			return error(msg);
		}
		if (!may_run_on(th, (int)cpu)) {
			snprintf(msg, sizeof(msg), "SCX_DSQ_LOCAL[_ON] target CPU %llu not allowed for %s",
				 (unsigned long long)cpu, name);
			return error(msg);
		}
		if (has_vtime)
			return error("cannot use vtime ordering for built-in DSQs");
		struct cpu *target = &s->cpus[cpu];
		struct entry e = { th - s->th, 0, 0 };
		dsq_insert_at(&target->local, flags & ENQ_HEAD ? 0 : target->local.n, e);
		th->local_cpu = (int)cpu;
		th->queued = -1;
		if (flags & ENQ_PREEMPT && target->curr >= 0 && &s->th[target->curr] != th) {
			charge((int)cpu);
			s->th[target->curr].t->slice = 0;
			ask_pick((int)cpu);
		} else if (target->curr < 0) {
			ask_pick((int)cpu);
		}
		return 1;
	}
	struct dsq *q;
	if (dsq_id == DSQ_GLOBAL) {
		if (has_vtime)
			return error("cannot use vtime ordering for built-in DSQs");
		q = &s->global;
	} else {
		q = user_dsq(dsq_id);
		if (!q) {
			snprintf(msg, sizeof(msg), "non-existent DSQ 0x%llx for %s",
				 (unsigned long long)dsq_id, name);
			return error(msg);
		}
	}
	if (!has_vtime) {
		if (q->n && q->prio) {
			snprintf(msg, sizeof(msg), "DSQ 0x%llx already had PRIQ-enqueued tasks",
				 (unsigned long long)dsq_id);
			return error(msg);
		}
		q->prio = 0;
		dsq_insert_at(q, flags & ENQ_HEAD ? 0 : q->n, (struct entry){ th - s->th, 0, 0 });
	} else {
		if (q->n && !q->prio) {
			snprintf(msg, sizeof(msg), "DSQ 0x%llx already had FIFO-enqueued tasks",
				 (unsigned long long)dsq_id);
			return error(msg);
		}
		q->prio = 1;
		u64 seq = ++s->seq;
		/* insort on (vtime, seq): after every entry not greater */
		int at = q->n;
		while (at > 0 && (q->e[at - 1].vtime > vtime ||
				  (q->e[at - 1].vtime == vtime && q->e[at - 1].seq > seq)))
			at--;
		dsq_insert_at(q, at, (struct entry){ th - s->th, vtime, seq });
	}
	th->queued = dsq_index(q);
	return 1;
}

static int consume(struct dsq *q, int cpu)
{
	int i = take_for(q, cpu);
	if (i < 0)
		return 0;
	struct thread *th = &S->th[i];
	th->queued = -1;
	dsq_insert_at(&S->cpus[cpu].local, S->cpus[cpu].local.n, (struct entry){ i, 0, 0 });
	th->local_cpu = cpu;
	return 1;
}

static int flush_dispatch(int cpu)
{
	struct sim *s = S;
	int n = s->ndbuf;
	if (!n)
		return 0;
	struct dbuf *buf = malloc(n * sizeof(*buf));
	if (!buf)
		abort();
	memcpy(buf, s->dbuf, n * sizeof(*buf));
	s->ndbuf = 0;
	for (int i = 0; i < n; i++) {
		struct thread *th = &s->th[buf[i].th];
		if (th->state == RUNNABLE && th->queued < 0 && th->local_cpu < 0)
			place(th, buf[i].dsq, buf[i].slice, buf[i].vtime, buf[i].has_vtime,
			      buf[i].flags, cpu);
	}
	free(buf);
	return n;
}

/* ---- running, stopping, picking ---- */
static void need_resched(int cpu)
{
	struct sim *s = S;
	if (!s->cpus[cpu].need_resched) {
		s->cpus[cpu].need_resched = 1;
		s->resched[(s->rs_head + s->rs_n++) % s->c.nr_cpus] = cpu;
	}
}

/* Machine._ask_pick: an IPI from another CPU, an idle exit from a sleeping one. */
static void ask_pick(int c)
{
	struct sim *s = S;
	struct cpu *cpu = &s->cpus[c];
	i64 delay = (c != s->origin ? s->c.ipi_ns : 0) + (cpu->asleep ? s->c.idle_exit_ns : 0);
	if (!delay) {
		need_resched(c);
	} else if (!cpu->waking) {
		cpu->waking = 1;
		push(s->now + delay, EV_IPI, c, 0);
	}
}

static void charge(int c)
{
	struct sim *s = S;
	struct cpu *cpu = &s->cpus[c];
	struct thread *th = &s->th[cpu->curr];
	i64 used = s->now - cpu->seg_start;
	if (used <= 0)
		return;
	cpu->seg_start = s->now;
	th->remaining -= used;
	th->run_ns += used;
	cpu->busy_ns += used;
	u64 sl = th->t->slice;
	if (sl != SLICE_INF)
		th->t->slice = sl > (u64)used ? sl - (u64)used : 0;
}

static void enqueue(struct thread *th, u64 enq_flags, struct dbuf *ddsp);
static void advance(int cpu, struct thread *th);
static void arm_tick(int cpu);

static void put_prev(int c, struct thread *prev)
{
	struct sim *s = S;
	struct cpu *cpu = &s->cpus[c];
	cpu->curr = -1;
	cpu->gen++;
	prev->state = RUNNABLE;
	prev->runnable_at = s->now;
	runnable_add(prev);
	trace_add(s->now, c, TR_STOP, prev->t->pid);
	enqueue(prev, 0, NULL);
}

static void run(int c, struct thread *th)
{
	struct sim *s = S;
	struct cpu *cpu = &s->cpus[c];
	i64 now = s->now + s->c.switch_ns;
	th->state = RUNNING;
	runnable_discard(th);
	cpu->curr = th - s->th;
	cpu->idle_bit = 0;
	cpu->asleep = 0;
	cpu->seg_start = now;
	cpu->gen++;
	if (th->last_cpu >= 0 && th->last_cpu != c)
		th->migrations++;
	th->last_cpu = c;
	th->t->cpu = c;
	th->switches++;
	if (th->woke) {
		push_i64(&th->latencies, now - th->runnable_at);
		th->woke = 0;
	}
	trace_add(s->now, c, TR_RUN, th->t->pid);
	if (has_op(OP_RUNNING))
		CALL(OP_RUNNING, task_fn, th->t);
	if (th->remaining <= 0 && th->deadline == 0) {
		advance(c, th);
		return;
	}
	if (th->deadline)
		th->remaining = th->deadline - now > 0 ? th->deadline - now : 0;
	push(now + th->remaining, EV_DONE, c, cpu->gen);
	arm_tick(c);
}

static void schedule(int c)
{
	struct sim *s = S;
	struct cpu *cpu = &s->cpus[c];
	struct thread *prev = cpu->curr >= 0 ? &s->th[cpu->curr] : NULL;
	s->ctx_cpu = s->origin = c;
	if (prev)
		charge(c);
	int keep = prev && prev->t->slice > 0;
	if (!keep && !cpu->local.n && !consume(&s->global, c)) {
		if (has_op(OP_DISPATCH)) {
			for (int i = 0; i < DISPATCH_MAX_LOOPS; i++) {
				s->ctx = CTX_DISPATCH;
				s->ctx_cpu = c;
				CALL(OP_DISPATCH, cpu_fn, c);
				int inserted = flush_dispatch(c);
				s->ctx = CTX_NONE;
				if (s->exit_kind)
					ended();
				if (cpu->local.n || consume(&s->global, c))
					break;
				if (!inserted)
					break;
			}
		}
		keep = !cpu->local.n && prev;
	}
	if (keep) {
		if (prev->t->slice == 0)
			prev->t->slice = SLICE_DFL_NS;
		return;
	}
	if (prev) {
		if (has_op(OP_STOPPING))
			CALL(OP_STOPPING, task_bool_fn, prev->t, 1);
		put_prev(c, prev);
		if (s->exit_kind)
			ended();
	}
	if (cpu->local.n) {
		int i = dsq_remove_at(&cpu->local, 0);
		s->th[i].local_cpu = -1;
		run(c, &s->th[i]);
	} else {
		cpu->idle_bit = 1;
		cpu->asleep = 1;
		if (prev)
			trace_add(s->now, c, TR_IDLE, 0);
	}
}

static void run_resched(void)
{
	struct sim *s = S;
	while (s->rs_n) {
		int c = s->resched[s->rs_head];
		s->rs_head = (s->rs_head + 1) % s->c.nr_cpus;
		s->rs_n--;
		struct cpu *cpu = &s->cpus[c];
		cpu->need_resched = 0;
		if (cpu->resched_at != s->now) {
			cpu->resched_at = s->now;
			cpu->resched_count = 0;
		}
		cpu->resched_count++;
		if (cpu->resched_count > RESCHED_PER_INSTANT) {
			cpu->resched_at = s->now + RESCHED_COST_NS;
			cpu->resched_count = RESCHED_PER_INSTANT - 1;
			push(cpu->resched_at, EV_RESCHED, c, 0);
			continue;
		}
		schedule(c);
		if (s->exit_kind)
			return;
	}
}

static void arm_tick(int c)
{
	struct cpu *cpu = &S->cpus[c];
	if (!cpu->tick_armed) {
		cpu->tick_armed = 1;
		push((S->now / TICK_NS + 1) * TICK_NS, EV_TICK, c, 0);
	}
}

static void tick(int c)
{
	struct sim *s = S;
	struct cpu *cpu = &s->cpus[c];
	cpu->tick_armed = 0;
	if (cpu->curr < 0)
		return;
	struct thread *th = &s->th[cpu->curr];
	charge(c);
	s->ctx_cpu = s->origin = c;
	if (has_op(OP_TICK)) {
		CALL(OP_TICK, task_fn, th->t);
	}
	if (th->t->slice == 0)
		need_resched(c);
	arm_tick(c);
}

static void block(int c, struct thread *th, int state)
{
	struct sim *s = S;
	struct cpu *cpu = &s->cpus[c];
	if (has_op(OP_STOPPING))
		CALL(OP_STOPPING, task_bool_fn, th->t, 0);
	if (has_op(OP_QUIESCENT))
		CALL(OP_QUIESCENT, task_u64_fn, th->t, DEQ_SLEEP);
	th->state = state;
	cpu->curr = -1;
	cpu->gen++;
	trace_add(s->now, c, state == DONE ? TR_EXIT : TR_STOP, th->t->pid);
	if (state == DONE) {
		th->ended_at = s->now;
		s->live--;
	}
	need_resched(c);
}

/* ---- wakeups and enqueueing ---- */
static void wake(struct thread *th, u64 wake_flags, int waker)
{
	struct sim *s = S;
	struct task_rec *t = th->t;
	int fork = th->state == NEW, nr = s->c.nr_cpus;
	if (fork)
		th->t_first = s->now;
	th->state = RUNNABLE;
	th->runnable_at = s->now;
	th->woke = 1;
	runnable_add(th);
	trace_add(s->now, t->cpu, TR_WAKE, t->pid);
	int prev = t->cpu, cpu;
	s->ctx_cpu = s->origin = waker >= 0 ? waker : prev;
	struct dbuf ddsp, *dp = NULL;
	if ((int)t->nr_cpus_allowed > 1) {
		if (has_op(OP_SELECT_CPU)) {
			s->ctx = CTX_SELECT;
			s->has_ddsp = 0;
			cpu = CALL(OP_SELECT_CPU, select_fn, t, prev, wake_flags);
			s->ctx = CTX_NONE;
			if (s->has_ddsp) {
				ddsp = s->ddsp;
				dp = &ddsp;
			}
			s->has_ddsp = 0;
			if (cpu < 0 || cpu >= nr) {
				char msg[64];
				snprintf(msg, sizeof(msg), "invalid CPU %d from ops.select_cpu()", cpu);
				error(msg);
				ended();
			}
			if (!may_run_on(th, cpu))
				cpu = may_run_on(th, prev) ? prev : min_allowed(th);
		} else {
			uint8_t found;
			cpu = sl_host_default_cpu(t, prev, wake_flags, &found);
			if (found) {
				ddsp = (struct dbuf){ th - s->th, DSQ_LOCAL, SLICE_DFL_NS, 0, 0, 0 };
				dp = &ddsp;
			}
		}
	} else {
		cpu = th->allowed ? min_allowed(th) : 0;
	}
	t->cpu = cpu;
	u64 enq_flags = fork ? 0 : ENQ_WAKEUP;
	if (has_op(OP_RUNNABLE))
		CALL(OP_RUNNABLE, task_u64_fn, t, enq_flags);
	enqueue(th, enq_flags, dp);
	if (s->exit_kind)
		ended();
	if (s->cpus[cpu].curr < 0)
		ask_pick(cpu);
}

static void enqueue(struct thread *th, u64 enq_flags, struct dbuf *ddsp)
{
	struct sim *s = S;
	int cpu = th->t->cpu;
	if (ddsp) {
		place(th, ddsp->dsq, ddsp->slice, ddsp->vtime, ddsp->has_vtime,
		      ddsp->flags | enq_flags, cpu);
	} else if (has_op(OP_ENQUEUE)) {
		s->ctx = CTX_ENQUEUE;
		s->ctx_cpu = cpu;
		s->has_ddsp = 0;
		CALL(OP_ENQUEUE, task_u64_fn, th->t, enq_flags);
		s->ctx = CTX_NONE;
		s->has_ddsp = 0;
	} else {
		th->t->slice = SLICE_DFL_NS;
		place(th, DSQ_GLOBAL, SLICE_DFL_NS, 0, 0, enq_flags, cpu);
	}
}

static void watchdog(void)
{
	struct sim *s = S;
	struct thread *first = NULL;
	for (int i = 0; i < s->c.nr_threads; i++) {
		struct thread *th = &s->th[i];
		if (th->in_runnable && (!first || th->runnable_at < first->runnable_at ||
					(th->runnable_at == first->runnable_at && th->t->pid < first->t->pid)))
			first = th;
	}
	if (!first)
		return;
	i64 waited = s->now - first->runnable_at;
	if (waited > s->c.watchdog_ns) {
		char msg[128];
		i64 ms = waited / 1000000;
		snprintf(msg, sizeof(msg), "%s[%u] failed to run for %lld.%03llds", first->t->comm,
			 first->t->pid, (long long)(ms / 1000), (long long)(ms % 1000));
		set_exit(1026, "runnable task stall", msg);
	}
}

/* ---- the rt-app program ---- */
static struct sim_event *next_event(struct thread *th)
{
	struct sim *s = S;
	struct sim_spec *spec = &s->c.specs[th->spec];
	for (;;) {
		struct sim_phase *phase = &s->c.phases[spec->first_phase + th->phase];
		if (th->ev < phase->count) {
			th->ev++;
			return &s->c.events[phase->first + th->ev - 1];
		}
		th->ev = 0;
		th->phase_loop++;
		if (th->phase_loop < phase->loop)
			continue;
		th->phase_loop = 0;
		th->phase++;
		if (th->phase < spec->nr_phases)
			continue;
		th->phase = 0;
		th->loop++;
		if (spec->loop >= 0 && th->loop >= spec->loop)
			return NULL;
	}
}

static void sleep_until(int c, struct thread *th, i64 when)
{
	th->wake_gen++;
	push(when, EV_WAKE, th - S->th, th->wake_gen);
	block(c, th, BLOCKED);
}

/* rt-app's timer; returns 1 and sets *wake_at, or 0 for a missed period. */
static int timer(struct thread *th, struct sim_event *ev, i64 *wake_at)
{
	struct sim *s = S;
	int stride = s->c.nr_threads + 1;
	int key = ev->ref * stride + (ev->timer_unique ? 1 + (int)(th - s->th) : 0);
	i64 base = s->timer_set[key] ? (i64)s->timer_value[key] : th->t_first;
	i64 t_next = base + ev->ns, slack = t_next - s->now;
	push_i64(&th->slack, slack);
	s->timer_set[key] = 1;
	if (slack > 0) {
		s->timer_value[key] = t_next;
		*wake_at = t_next;
		return 1;
	}
	th->misses++;
	s->timer_value[key] = ev->mode_absolute ? t_next : s->now;
	return 0;
}

static void waiter_push(int key, int th)
{
	struct sim *s = S;
	int n = s->c.nr_threads;
	s->waiters[key][(s->w_head[key] + s->w_n[key]++) % n] = th;
}

static int waiter_pop(int key)
{
	struct sim *s = S;
	int th = s->waiters[key][s->w_head[key]];
	s->w_head[key] = (s->w_head[key] + 1) % s->c.nr_threads;
	s->w_n[key]--;
	return th;
}

/* Conditions, suspend/resume, mutexes, barriers; 1: `th` blocked. Waiter keys: ref ids
 * numbered by native.py per namespace (thread:, cond:, mutex:). */
static int sync_event(int c, struct thread *th, struct sim_event *ev)
{
	struct sim *s = S;
	int kind = ev->kind, ref = ev->ref;
	if (kind == K_RESUME || kind == K_BROAD) {
		int n = s->w_n[ref];
		int *list = malloc((n ? n : 1) * sizeof(int));
		for (int i = 0; i < n; i++)
			list[i] = waiter_pop(ref);
		for (int i = 0; i < n; i++)
			wake(&s->th[list[i]], WAKE_TTWU | WAKE_SYNC, c);
		free(list);
		return 0;
	}
	if (kind == K_SIGNAL || kind == K_SYNC) {
		if (s->w_n[ref])
			wake(&s->th[waiter_pop(ref)], WAKE_TTWU | WAKE_SYNC, c);
		if (kind == K_SIGNAL)
			return 0;
	}
	if (kind == K_WAIT || kind == K_SYNC || kind == K_SUSPEND) {
		waiter_push(ref, th - s->th);
		block(c, th, BLOCKED);
		return 1;
	}
	if (kind == K_LOCK) {
		if (s->mutex_owner[ref] < 0) {
			s->mutex_owner[ref] = th - s->th;
			return 0;
		}
		waiter_push(ref, th - s->th);
		block(c, th, BLOCKED);
		return 1;
	}
	if (kind == K_UNLOCK) {
		if (s->w_n[ref]) {
			int owner = waiter_pop(ref);
			s->mutex_owner[ref] = owner;
			wake(&s->th[owner], WAKE_TTWU | WAKE_SYNC, c);
		} else {
			s->mutex_owner[ref] = -1;
		}
		return 0;
	}
	/* barrier */
	int arrived = s->barrier_n[ref];
	if (arrived + 1 < s->c.barrier_users[ref]) {
		s->barrier_waiting[ref][s->barrier_n[ref]++] = th - s->th;
		block(c, th, BLOCKED);
		return 1;
	}
	s->barrier_n[ref] = 0;
	for (int i = 0; i < arrived; i++)
		wake(&s->th[s->barrier_waiting[ref][i]], WAKE_TTWU, c);
	return 0;
}

static void advance(int c, struct thread *th)
{
	struct sim *s = S;
	struct cpu *cpu = &s->cpus[c];
	th->deadline = 0;
	for (;;) {
		struct sim_event *ev = next_event(th);
		if (!ev) {
			block(c, th, DONE);
			return;
		}
		int kind = ev->kind;
		if (kind == K_RUN) {
			i64 work = ev->ns;
			if (s->c.jitter != 0.0)
				work = (i64)((double)work * (1 + s->c.jitter * (2 * rand01(s) - 1)));
			if (work <= 0)
				continue;
			th->remaining = work;
			break;
		}
		if (kind == K_RUNTIME) {
			if (ev->ns <= 0)
				continue;
			th->deadline = s->now + ev->ns;
			th->remaining = ev->ns;
			break;
		}
		if (kind == K_SLEEP) {
			if (ev->ns > 0) {
				sleep_until(c, th, s->now + ev->ns);
				return;
			}
			continue;
		}
		if (kind == K_TIMER) {
			i64 wake_at;
			if (timer(th, ev, &wake_at)) {
				sleep_until(c, th, wake_at);
				return;
			}
			continue;
		}
		if (kind == K_YIELD) {
			th->t->slice = 0;
			need_resched(c);
			continue;
		}
		if (sync_event(c, th, ev))
			return;
	}
	cpu->gen++;
	i64 start = s->now > cpu->seg_start ? s->now : cpu->seg_start;
	push(start + th->remaining, EV_DONE, c, cpu->gen);
	arm_tick(c);
}

static void loop(void)
{
	struct sim *s = S;
	while (s->nheap) {
		struct hev e = pop();
		if (e.when > s->c.until) {
			s->now = s->c.until;
			return;
		}
		s->now = e.when;
		s->machine_events++;
		if (e.kind == EV_DONE) {
			struct cpu *cpu = &s->cpus[e.obj];
			if (cpu->gen == e.gen && cpu->curr >= 0) {
				s->origin = e.obj;
				charge(e.obj);
				advance(e.obj, &s->th[cpu->curr]);
			}
		} else if (e.kind == EV_WAKE) {
			struct thread *th = &s->th[e.obj];
			if (th->wake_gen == e.gen && (th->state == NEW || th->state == BLOCKED))
				wake(th, th->state == NEW ? WAKE_FORK : WAKE_TTWU, -1);
		} else if (e.kind == EV_TICK) {
			tick(e.obj);
		} else if (e.kind == EV_RESCHED) {
			need_resched(e.obj);
		} else if (e.kind == EV_IPI) {
			s->cpus[e.obj].waking = 0;
			s->cpus[e.obj].asleep = 0;
			need_resched(e.obj);
		} else {
			watchdog();
			push(e.when + s->c.watchdog_ns / 2, EV_WATCHDOG, -1, 0);
		}
		run_resched();
		if (s->exit_kind)
			return;
		if (!s->live || (s->nheap == 1 && s->heap[0].kind == EV_WATCHDOG && !s->nr_runnable))
			return;
		if (s->machine_events == s->c.max_events) {
			s->out_of_events = 1;
			return;
		}
	}
}

/* ---- the Python side's entry points ---- */
struct sim *sim_new(struct sim_config *c)
{
	struct sim *s = calloc(1, sizeof(*s));
	int nr = c->nr_cpus, nt = c->nr_threads, nref = c->nr_refs > 0 ? c->nr_refs : 1;
	s->c = *c;
	s->live = nt;
	s->cpus = calloc(nr, sizeof(*s->cpus));
	s->th = calloc(nt ? nt : 1, sizeof(*s->th));
	s->resched = calloc(nr, sizeof(int));
	s->global.id = DSQ_GLOBAL;
	for (int i = 0; i < nr; i++) {
		s->cpus[i].curr = -1;
		s->cpus[i].idle_bit = 1;
		s->cpus[i].asleep = 1;
		s->cpus[i].resched_at = -1;
	}
	for (int i = 0; i < nt; i++) {
		struct thread *th = &s->th[i];
		th->t = c->recs[i];
		th->spec = c->thread_spec[i];
		th->allowed = c->allowed[i];
		th->queued = th->local_cpu = th->last_cpu = -1;
		th->ended_at = -1;
	}
	s->waiters = calloc(nref, sizeof(int *));
	s->barrier_waiting = calloc(nref, sizeof(int *));
	for (int i = 0; i < nref; i++) {
		s->waiters[i] = calloc(nt ? nt : 1, sizeof(int));
		s->barrier_waiting[i] = calloc(nt ? nt : 1, sizeof(int));
	}
	s->w_head = calloc(nref, sizeof(int));
	s->w_n = calloc(nref, sizeof(int));
	s->barrier_n = calloc(nref, sizeof(int));
	s->mutex_owner = malloc(nref * sizeof(int));
	for (int i = 0; i < nref; i++)
		s->mutex_owner[i] = -1;
	int ntimer = (c->nr_timer_names > 0 ? c->nr_timer_names : 1) * (nt + 1);
	s->timer_value = calloc(ntimer, sizeof(u64));
	s->timer_set = calloc(ntimer, 1);
	memcpy(s->mt, c->mt, sizeof(s->mt));
	s->mti = (int)c->mt[624];
	return s;
}

/* Machine.run: returns 0 (the caller reads the results through the accessors). */
int sim_run(struct sim *s)
{
	S = s;
	if (setjmp(s->ended) == 0) {
		if (has_op(OP_INIT))
			CALL(OP_INIT, void_fn);
		for (int i = 0; i < s->c.nr_threads; i++) {
			if (has_op(OP_ENABLE))
				CALL(OP_ENABLE, task_fn, s->th[i].t);
			push(s->c.start_ns[i], EV_WAKE, i, s->th[i].wake_gen);
		}
		push(s->c.watchdog_ns / 2, EV_WATCHDOG, -1, 0);
		loop();
	}
	s->end_ns = s->now < s->c.until ? s->now : s->c.until;
	for (int i = 0; i < s->c.nr_cpus; i++)
		if (s->cpus[i].curr >= 0 && !s->exit_kind)
			charge(i);
	S = NULL;
	return 0;
}

/* Per thread: state, run_ns, migrations, switches, misses, ended_at (-1: never). */
void sim_thread(struct sim *s, int i, i64 out[6], i64 **lat, i64 *nlat, i64 **slack, i64 *nslack)
{
	struct thread *th = &s->th[i];
	out[0] = th->state;
	out[1] = th->run_ns;
	out[2] = th->migrations;
	out[3] = th->switches;
	out[4] = th->misses;
	out[5] = th->ended_at;
	*lat = th->latencies.v;
	*nlat = th->latencies.n;
	*slack = th->slack.v;
	*nslack = th->slack.n;
}

/* end_ns, ops_calls, machine_events, exit kind, each CPU's busy ns, then out_of_events. */
void sim_totals(struct sim *s, i64 *out)
{
	out[0] = s->end_ns;
	out[1] = s->ops_calls;
	out[2] = s->machine_events;
	out[3] = s->exit_kind;
	for (int i = 0; i < s->c.nr_cpus; i++)
		out[4 + i] = s->cpus[i].busy_ns;
	out[4 + s->c.nr_cpus] = s->out_of_events;
}

const char *sim_exit_reason(struct sim *s) { return s->exit_reason; }
const char *sim_exit_message(struct sim *s) { return s->exit_message; }

i64 sim_trace(struct sim *s, i64 **out)
{
	*out = (i64 *)s->trace;
	return s->ntrace;
}

void sim_free(struct sim *s)
{
	int nref = s->c.nr_refs > 0 ? s->c.nr_refs : 1;
	for (int i = 0; i < s->c.nr_threads; i++) {
		free(s->th[i].latencies.v);
		free(s->th[i].slack.v);
	}
	for (int i = 0; i < nref; i++) {
		free(s->waiters[i]);
		free(s->barrier_waiting[i]);
	}
	for (int i = 0; i < s->nr_dsqs; i++)
		free(s->dsqs[i].e);
	for (int i = 0; i < s->c.nr_cpus; i++)
		free(s->cpus[i].local.e);
	free(s->global.e);
	free(s->waiters); free(s->barrier_waiting); free(s->w_head); free(s->w_n);
	free(s->barrier_n); free(s->mutex_owner); free(s->timer_value); free(s->timer_set);
	free(s->dsqs); free(s->heap); free(s->dbuf); free(s->trace); free(s->resched);
	free(s->cpus); free(s->th); free(s);
}

/*
 * What waking another CPU costs on this machine, for the simulator's ipi_ns and idle_exit_ns
 * (docs/simulator.md, "The machine's rules"):
 *
 *   cc -O2 -o /tmp/wake_cost bench/wake_cost.c
 *   /tmp/wake_cost 0 0 20000     pipe round trips, both processes on CPU 0
 *   /tmp/wake_cost 0 1 20000     the same across CPUs 0 and 1 (each hand-off wakes the other)
 *   /tmp/wake_cost -1 1 300      1 ms sleeps on CPU 1 (timer slack 1 ns): the overshoot
 *
 * Prints the median, 10th and 90th percentile in ns.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		exit(1);
	}
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, long long *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	printf("%s p50 %lld p10 %lld p90 %lld ns\n", what, v[n / 2], v[n / 10], v[9 * n / 10]);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s CPU_A CPU_B COUNT (CPU_A -1: timer sleeps on CPU_B)\n", argv[0]);
		return 2;
	}
	int a = atoi(argv[1]), b = atoi(argv[2]), n = atoi(argv[3]);
	long long *v = malloc(n * sizeof(*v));
	char c = 0;
	if (!v || n < 10)
		return 2;
	if (a < 0) {
		pin(b);
		prctl(PR_SET_TIMERSLACK, 1UL);
		for (int i = 0; i < n; i++) {
			struct timespec d = { 0, 1000000 };
			long long t0 = now_ns();
			clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
			v[i] = now_ns() - t0 - 1000000;
		}
		report("timer overshoot", v, n);
		return 0;
	}
	int there[2], back[2];
	if (pipe(there) || pipe(back))
		return 1;
	if (fork() == 0) {
		pin(b);
		for (int i = 0; i < n; i++)
			if (read(there[0], &c, 1) != 1 || write(back[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	pin(a);
	for (int i = 0; i < n; i++) {
		long long t0 = now_ns();
		if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
			return 1;
		v[i] = now_ns() - t0;
	}
	wait(NULL);
	report("round trip", v, n);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Every vCPU adds 1 to a shared counter N times with atomics, and each
 * vCPU beyond the first answers an IPI from vCPU 0 with an IPI back.
 *
 *   pvisor run --cpus C smp_count.elf -- N
 *
 * prints "smp_count: cpus C total T ok" (T = C * N) and exits 0; a wrong
 * total or an IPI left unanswered for 5 s is reported, status 1.  With
 * one vCPU it counts alone.
 */
#include "args.h"
#include "console.h"
#include "hypercall.h"
#include "irq.h"
#include "kit.h"
#include "smp.h"

#define PING_VECTOR	IRQ_GUEST_VECTOR_FIRST
#define PONG_VECTOR	(IRQ_GUEST_VECTOR_FIRST + 1)
#define ANSWER_NS	5000000000ULL
#define TICK_NS		100000000ULL

static uint64_t counter;
static uint64_t adds;
static uint64_t pongs;

static void count(unsigned int cpu, void *arg)
{
	uint64_t i;

	(void)cpu;
	(void)arg;
	for (i = 0; i < adds; i++)
		__atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
}

/* On a secondary vCPU, from its wait loop: answer vCPU 0. */
static void on_ping(unsigned int vector)
{
	(void)vector;
	pvisor_hc_send_ipi(0, PONG_VECTOR);
}

static void on_pong(unsigned int vector)
{
	(void)vector;
	__atomic_add_fetch(&pongs, 1, __ATOMIC_SEQ_CST);
}

/* IPI @cpu and sleep until it answers: 0, or 1 after ANSWER_NS. */
static int ping(unsigned int cpu)
{
	uint64_t before = __atomic_load_n(&pongs, __ATOMIC_SEQ_CST);
	uint64_t deadline = clock_ns() + ANSWER_NS;
	long r;

	r = pvisor_hc_send_ipi(cpu, PING_VECTOR);
	if (r) {
		printf("smp_count: IPI to vCPU %u: error %ld\n", cpu, r);
		return 1;
	}
	while (__atomic_load_n(&pongs, __ATOMIC_SEQ_CST) == before) {
		if (clock_ns() > deadline) {
			printf("smp_count: vCPU %u did not answer the IPI\n",
			       cpu);
			return 1;
		}
		timer_set(TICK_NS);
		cpu_idle();
	}
	return 0;
}

int main(const struct pvisor_start_info *si)
{
	unsigned int cpus = smp_nr_cpus(), cpu;
	char *argv[ARGS_MAX];
	uint64_t total;
	int r;

	if (args_split(si, argv) != 1 || parse_u64(argv[0], &adds) ||
	    adds > UINT64_MAX / SMP_MAX_CPUS) {
		printf("smp_count: usage: N (additions per vCPU)\n");
		return 2;
	}
	irq_set_handler(PING_VECTOR, on_ping);
	irq_set_handler(PONG_VECTOR, on_pong);

	for (cpu = 1; cpu < cpus; cpu++) {
		r = smp_start(cpu, count, NULL);
		if (r) {
			printf("smp_count: starting vCPU %u: error %d\n", cpu,
			       r);
			return 1;
		}
	}
	count(0, NULL);
	for (cpu = 1; cpu < cpus; cpu++)
		smp_wait(cpu);
	total = __atomic_load_n(&counter, __ATOMIC_SEQ_CST);

	for (cpu = 1; cpu < cpus; cpu++)
		if (ping(cpu))
			return 1;
	timer_set(0);

	if (total != cpus * adds) {
		printf("smp_count: cpus %u total %lu, expected %lu\n", cpus,
		       total, cpus * adds);
		return 1;
	}
	printf("smp_count: cpus %u total %lu ok\n", cpus, total);
	return 0;
}

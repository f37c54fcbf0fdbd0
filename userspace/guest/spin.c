// SPDX-License-Identifier: GPL-2.0
/*
 * Keeps its vCPU busy, for the CPU limit checks: never halts, runs with
 * interrupts off (the VMX-preemption timer still ends every slice), and
 * reads the host's clock between bursts of PAUSE.
 *
 *   pvisor run spin.elf -- SECONDS
 *
 * prints "spin: spinning for SECONDS s" (or "spin: spinning forever" for
 * 0), spins for SECONDS of PVISOR_INFO_CLOCK_NS time, then prints
 * "spin: done" and exits 0.  Status 2 on a bad command line.
 */
#include "args.h"
#include "console.h"
#include "cpu.h"
#include "irq.h"
#include "kit.h"

/* PAUSEs between clock reads: a small fraction of a millisecond in Bochs. */
#define SPIN_BURST	1000
#define NSEC_PER_SEC	1000000000ULL

int main(const struct pvisor_start_info *si)
{
	uint64_t seconds, end = 0;
	char *argv[ARGS_MAX];
	int argc = args_split(si, argv);
	unsigned int i;

	if (argc != 1 || parse_u64(argv[0], &seconds) ||
	    seconds > UINT64_MAX / NSEC_PER_SEC) {
		printf("spin: usage: SECONDS (0: forever)\n");
		return 2;
	}
	if (seconds)
		printf("spin: spinning for %lu s\n", seconds);
	else
		printf("spin: spinning forever\n");
	console_flush();
	if (seconds)
		end = clock_ns() + seconds * NSEC_PER_SEC;
	while (!end || clock_ns() < end)
		for (i = 0; i < SPIN_BURST; i++)
			cpu_relax();
	printf("spin: done\n");
	return 0;
}

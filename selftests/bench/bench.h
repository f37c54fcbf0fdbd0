/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvisor_bench: what its guest half (bench_guest.c) and its host half
 * (pvisor_bench.c, bench_kvm.c) share.  The guest runs from the benchmark
 * binary itself, loaded at its link addresses, so the host finds the
 * guest's copy of bench_results at the GPA that is its own address of it.
 *
 * Every sample is a TSC delta taken inside the guest.  Inside Bochs the TSC
 * counts executed instructions (clock: sync=none), so a delta is the length
 * of the path the guest, the hypervisor and its userspace ran, the same at
 * every boot.
 */
#ifndef PVISOR_BENCH_H
#define PVISOR_BENCH_H

#include <stdint.h>

/* The guest's exit-to-userspace port under KVM (an OUT, KVM_EXIT_IO). */
#define BENCH_KVM_PORT		0x510
/* A hypercall number KVM does not know: it returns -KVM_ENOSYS. */
#define BENCH_KVM_HC_UNKNOWN	0xbe4c

/* Guest RAM from here to the memory map's end is the guest's pool. */
#define BENCH_POOL_BASE		0x1000000ULL

#define BENCH_MAX_SAMPLES	1024
#define BENCH_MSG_MAX		128
#define BENCH_FAIL_VALS		4
/* bench_results.magic once the guest has filled in every row. */
#define BENCH_MAGIC		0x62656e6368646f6eULL	/* "benchdon" */

/* Where the guest found itself: CPUID 0x40000000. */
enum bench_vmm {
	BENCH_VMM_UNKNOWN,
	BENCH_VMM_PVISOR,
	BENCH_VMM_KVM,
};

/* The rows, in the order of the report. */
enum bench_row_id {
	BENCH_HYPERCALL,
	BENCH_CPUID,
	BENCH_USER_EXIT,
	BENCH_FIRST_TOUCH,
	BENCH_DEMAND,
	BENCH_DEMAND_BATCH,
	BENCH_DEMAND_AROUND,
	BENCH_CR3_4_TOUCH,
	BENCH_CR3_4,
	BENCH_CR3_64_TOUCH,
	BENCH_CR3_64,
	BENCH_FORK,
	BENCH_NR_ROWS
};

/* bench_row.state */
#define BENCH_ROW_NOT_RUN	0
#define BENCH_ROW_DONE		1
#define BENCH_ROW_UNSUPPORTED	2	/* reported as "n/a" */

/*
 * One row: @nr samples, each the cost of @per operations (pages, rounds)
 * plus one pair of TSC reads (bench_results.overhead).
 */
struct bench_row {
	uint32_t state;
	uint32_t nr;
	uint32_t per;
	uint32_t padding;
	uint64_t samples[BENCH_MAX_SAMPLES];
};

struct bench_results {
	uint64_t magic;			/* BENCH_MAGIC when complete */
	uint32_t vmm;			/* enum bench_vmm */
	uint32_t failed;		/* nonzero: see msg */
	uint64_t overhead;		/* median of an empty TSC pair */
	char msg[BENCH_MSG_MAX];	/* why the guest stopped early, */
	uint64_t fail_vals[BENCH_FAIL_VALS];	/* with these numbers */
	uint32_t nr_fail_vals;
	uint32_t padding;
	struct bench_row rows[BENCH_NR_ROWS];
};

/* The guest's results; the host reads the guest's copy of it. */
extern struct bench_results bench_results;

/* The guest's entry point: RDI is the start-info GPA. */
void bench_guest(uint64_t start_info);

/* The guest's page-fault gate (assembly in bench_guest.c). */
extern const char bench_pf_entry[];

#endif /* PVISOR_BENCH_H */

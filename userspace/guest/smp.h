/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Several vCPUs.  The launcher starts every vCPU at _start; vCPU 0 runs
 * the kit and main(), the others wait in smp_secondary() (interrupts off,
 * woken by IRQ_WAKE_VECTOR) until smp_start() hands them a function.  When
 * it returns, the vCPU waits again and takes the next one.
 *
 * A function runs on its vCPU's own 64 KiB stack, with interrupts off
 * unless it enables them.  It may use atomics, shared data, interrupt
 * handlers (registered by vCPU 0 beforehand: the table is shared) and
 * hypercalls, but not the console or the channel drivers: those belong to
 * vCPU 0, whose interrupts their completions raise.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdbool.h>
#include <stdnoreturn.h>

#include <linux/pvisor_para.h>

/* The most vCPUs the kit drives (pvisor.ko's own limit). */
#define SMP_MAX_CPUS	64

/* vCPUs in the VM: start_info.nr_vcpus (1 from a launcher without it). */
unsigned int smp_nr_cpus(void);

/* This vCPU's id: 0 without a hypercall when there is one vCPU. */
unsigned int smp_cpu_id(void);

/*
 * Run @fn(@cpu, @arg) on vCPU @cpu (1 to smp_nr_cpus() - 1).  Returns
 * once the call is posted and the vCPU interrupted: 0, -EINVAL (no such
 * vCPU, or vCPU 0), -EBUSY (it still runs the last function).  Call from
 * vCPU 0, or from one vCPU at a time per target.
 */
int smp_start(unsigned int cpu, void (*fn)(unsigned int cpu, void *arg),
	      void *arg);

/* Whether vCPU @cpu has a function that has not returned yet. */
bool smp_cpu_is_busy(unsigned int cpu);

/* Spin until vCPU @cpu's function has returned. */
void smp_wait(unsigned int cpu);

/* Called by kit_init() on vCPU 0. */
void smp_init(const struct pvisor_start_info *si);

/* entry.S: where every vCPU but 0 goes at boot; never returns. */
noreturn void smp_secondary(unsigned int cpu);

#endif /* GUEST_SMP_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hypercalls (uapi/linux/pvisor_para.h): VMCALL with the number in RAX and
 * arguments in RDI, RSI, RDX, R10, R8, R9; the result comes back in RAX and
 * every other register is preserved.  The "memory" clobber orders the call
 * after the stores that fill a buffer the host reads.  Addresses are
 * guest-physical.
 */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include <stdint.h>

#include <linux/pvisor_para.h>

static inline long hypercall0(unsigned long nr)
{
	long ret;

	asm volatile("vmcall"
		     : "=a" (ret)
		     : "a" (nr)
		     : "memory");
	return ret;
}

static inline long hypercall1(unsigned long nr, unsigned long a0)
{
	long ret;

	asm volatile("vmcall"
		     : "=a" (ret)
		     : "a" (nr), "D" (a0)
		     : "memory");
	return ret;
}

static inline long hypercall2(unsigned long nr, unsigned long a0,
			      unsigned long a1)
{
	long ret;

	asm volatile("vmcall"
		     : "=a" (ret)
		     : "a" (nr), "D" (a0), "S" (a1)
		     : "memory");
	return ret;
}

static inline long pvisor_hc_nop(void)
{
	return hypercall0(PVISOR_HC_NOP);
}

/* Bytes written (at most PVISOR_CONSOLE_WRITE_MAX), or -PVISOR_E*. */
static inline long pvisor_hc_console_write(uint64_t gpa, uint64_t len)
{
	return hypercall2(PVISOR_HC_CONSOLE_WRITE, gpa, len);
}

/* Returns only if the host refused. */
static inline long pvisor_hc_shutdown(uint64_t status)
{
	return hypercall1(PVISOR_HC_SHUTDOWN, status);
}

/* @selector is a PVISOR_INFO_*. */
static inline long pvisor_hc_get_info(uint64_t selector)
{
	return hypercall1(PVISOR_HC_GET_INFO, selector);
}

/*
 * Apply @count struct pvisor_mmu_op at @gpa in order: returns how many
 * were applied (below @count: op[result] was refused), or -PVISOR_E*.
 */
static inline long pvisor_hc_mmu_batch(uint64_t gpa, uint64_t count)
{
	return hypercall2(PVISOR_HC_MMU_BATCH, gpa, count);
}

#endif /* GUEST_HYPERCALL_H */

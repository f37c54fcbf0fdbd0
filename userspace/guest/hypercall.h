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

/* RDI, RSI, RDX, R10, R8: the fourth argument is not in RCX as in C. */
static inline long hypercall5(unsigned long nr, unsigned long a0,
			      unsigned long a1, unsigned long a2,
			      unsigned long a3, unsigned long a4)
{
	register unsigned long r10 asm("r10") = a3;
	register unsigned long r8 asm("r8") = a4;
	long ret;

	asm volatile("vmcall"
		     : "=a" (ret)
		     : "a" (nr), "D" (a0), "S" (a1), "d" (a2), "r" (r10),
		       "r" (r8)
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

/*
 * A one-shot timer on this vCPU: @vector in @ns nanoseconds (0 cancels).
 * 0 or -PVISOR_EINVAL.
 */
static inline long pvisor_hc_set_timer(uint64_t ns, uint64_t vector)
{
	return hypercall2(PVISOR_HC_SET_TIMER, ns, vector);
}

/* Raise @vector on vCPU @vcpu (this one included): 0 or -PVISOR_EINVAL. */
static inline long pvisor_hc_send_ipi(uint64_t vcpu, uint64_t vector)
{
	return hypercall2(PVISOR_HC_SEND_IPI, vcpu, vector);
}

/*
 * Write channel @chan's struct pvisor_chan_info at @gpa: 0, or
 * -PVISOR_ENOENT past the last channel.
 */
static inline long pvisor_hc_chan_info(uint64_t chan, uint64_t gpa)
{
	return hypercall2(PVISOR_HC_CHAN_INFO, chan, gpa);
}

/*
 * Attach the zeroed ring at @gpa (@size entries) to @queue of @chan, with
 * @vector raised on this vCPU for its responses: 0 or -PVISOR_E*.
 */
static inline long pvisor_hc_chan_setup(uint64_t chan, uint64_t queue,
					uint64_t gpa, uint64_t size,
					uint64_t vector)
{
	return hypercall5(PVISOR_HC_CHAN_SETUP, chan, queue, gpa, size,
			  vector);
}

/* The doorbell of @queue of @chan. */
static inline long pvisor_hc_chan_notify(uint64_t chan, uint64_t queue)
{
	return hypercall2(PVISOR_HC_CHAN_NOTIFY, chan, queue);
}

#endif /* GUEST_HYPERCALL_H */

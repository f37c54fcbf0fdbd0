/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interrupts in the guest kit.  Vectors PVISOR_IRQ_VECTOR_MIN..255 enter
 * stubs in entry.S that save every general register and call
 * irq_dispatch(), which calls the handler registered for the vector; a
 * vector nobody registered is counted and otherwise ignored (pvisor's
 * interrupts are edge events: nothing to acknowledge).  Handlers run with
 * interrupts off, on the interrupted stack, on whichever vCPU took the
 * interrupt; the kit is built without vector registers, so handlers need
 * not save them.
 *
 * Kit code runs with interrupts off.  To wait for an interrupt, check the
 * condition with interrupts off, then call cpu_idle(): STI holds
 * interrupts back for one more instruction, so one raised after the check
 * wakes the HLT instead of being taken before it.
 */
#ifndef GUEST_IRQ_H
#define GUEST_IRQ_H

#include <stdint.h>

/* The kit's vectors: the channel drivers take theirs from the rest. */
#define IRQ_CHAN_VECTOR_FIRST	0x40	/* chan.c: one per queue, upwards */
#define IRQ_CHAN_VECTOR_LAST	0xdf
#define IRQ_GUEST_VECTOR_FIRST	0xe0	/* 0xe0-0xed: the guest's own */
#define IRQ_GUEST_VECTOR_LAST	0xed
#define IRQ_TIMER_VECTOR	0xee	/* timer_set() */
#define IRQ_WAKE_VECTOR		0xef	/* smp.c: wakes a waiting vCPU */

static inline void irq_enable(void)
{
	asm volatile("sti" : : : "memory");
}

static inline void irq_disable(void)
{
	asm volatile("cli" : : : "memory");
}

/* Sleep until an interrupt has been handled; returns with them off. */
static inline void cpu_idle(void)
{
	asm volatile("sti; hlt; cli" : : : "memory");
}

/*
 * Call @fn(vector) for each interrupt on @vector (NULL: none).  Vectors
 * below PVISOR_IRQ_VECTOR_MIN are exceptions and are refused: -EINVAL.
 */
int irq_set_handler(unsigned int vector, void (*fn)(unsigned int vector));

/* Interrupts that arrived on a vector without a handler. */
uint64_t irq_unhandled(void);

/*
 * Arm this vCPU's one-shot timer: IRQ_TIMER_VECTOR in @ns nanoseconds, 0
 * cancels.  Its handler does nothing; it is there to end a cpu_idle().
 * 0 or -EINVAL.
 */
int timer_set(uint64_t ns);

/* The host's monotonic clock (PVISOR_INFO_CLOCK_NS). */
uint64_t clock_ns(void);

/* Called by kit_init() before interrupts are ever enabled. */
void irq_init(void);

/* Called by the stubs in entry.S. */
void irq_dispatch(unsigned int vector);

#endif /* GUEST_IRQ_H */

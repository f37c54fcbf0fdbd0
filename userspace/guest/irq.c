// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of the interrupt stubs in entry.S: a table of handlers,
 * shared by every vCPU (the IDT is too), and the timer.  Handlers are set
 * with release stores and read with acquire loads, so that a vCPU that
 * takes an interrupt sees what its handler was set up with.
 */
#include "hypercall.h"
#include "irq.h"
#include "kit.h"

static void (*handlers[256])(unsigned int vector);
static uint64_t unhandled;

int irq_set_handler(unsigned int vector, void (*fn)(unsigned int vector))
{
	if (vector < PVISOR_IRQ_VECTOR_MIN || vector >= ARRAY_SIZE(handlers))
		return -EINVAL;
	__atomic_store_n(&handlers[vector], fn, __ATOMIC_RELEASE);
	return 0;
}

uint64_t irq_unhandled(void)
{
	return __atomic_load_n(&unhandled, __ATOMIC_RELAXED);
}

void irq_dispatch(unsigned int vector)
{
	void (*fn)(unsigned int vector) = NULL;

	if (vector < ARRAY_SIZE(handlers))
		fn = __atomic_load_n(&handlers[vector], __ATOMIC_ACQUIRE);
	if (fn)
		fn(vector);
	else
		__atomic_add_fetch(&unhandled, 1, __ATOMIC_RELAXED);
}

/* For interrupts whose only job is to end a HLT. */
static void irq_wakeup(unsigned int vector)
{
	(void)vector;
}

int timer_set(uint64_t ns)
{
	return pvisor_hc_set_timer(ns, IRQ_TIMER_VECTOR) ? -EINVAL : 0;
}

uint64_t clock_ns(void)
{
	return pvisor_hc_get_info(PVISOR_INFO_CLOCK_NS);
}

void irq_init(void)
{
	irq_set_handler(IRQ_TIMER_VECTOR, irq_wakeup);
	irq_set_handler(IRQ_WAKE_VECTOR, irq_wakeup);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wrappers for the instructions the kit uses on paging and for ordering
 * memory shared with pvisor and other vCPUs.  Under pvisor's shadow
 * paging, CR3 loads and INVLPG exit to the host, which rebuilds or zaps its
 * shadow entries: call them only when needed.
 */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include <stdint.h>

/* The linear address of the last page fault. */
static inline uint64_t read_cr2(void)
{
	uint64_t val;

	asm volatile("mov %%cr2, %0" : "=r" (val));
	return val;
}

static inline uint64_t read_cr3(void)
{
	uint64_t val;

	asm volatile("mov %%cr3, %0" : "=r" (val));
	return val;
}

/* Switch page tables; every non-global translation is flushed. */
static inline void write_cr3(uint64_t val)
{
	asm volatile("mov %0, %%cr3" : : "r" (val) : "memory");
}

/* INVLPG: drop the translation of the page, of any size, holding @va. */
static inline void tlb_flush_page(uint64_t va)
{
	asm volatile("invlpg (%0)" : : "r" (va) : "memory");
}

/* Keeps the compiler from moving memory accesses across it. */
static inline void barrier(void)
{
	asm volatile("" : : : "memory");
}

/*
 * A full barrier: earlier stores are visible before later loads, which
 * x86 otherwise lets pass them (a ring index written, then the other
 * side's event index read).
 */
static inline void mb(void)
{
	asm volatile("mfence" : : : "memory");
}

/* In a spin loop: PAUSE, and the loop's loads are redone. */
static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

static inline uint16_t read_cs(void)
{
	uint16_t val;

	asm volatile("mov %%cs, %0" : "=r" (val));
	return val;
}

#endif /* GUEST_CPU_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest helpers of the tests that build their own page tables
 * (paging_test, shadow_test).
 *
 * A guest starts on the launcher's identity map (guest_begin()), builds its
 * tables in a pool of guest memory that the host checks is free
 * (POOL_BASE, paging_start()), and keeps the identity map of its first
 * 512 GiB (image, stack, pool) in every address space it builds, so that a
 * table is reached at its guest-physical address; test mappings live at
 * TEST_VA and above.  One vCPU at a time may allocate from the pool.
 */
#ifndef PVISOR_PAGING_UTIL_H
#define PVISOR_PAGING_UTIL_H

#include "vm_util.h"

/* Guest RAM for the guests' page tables and pages: two 2 MiB pages first. */
#define POOL_BASE	0x2000000ULL
#define POOL_SIZE	0x1000000ULL
#define POOL_BIG_SIZE	0x400000ULL

#define SZ_2M		0x200000ULL
#define SZ_1G		0x40000000ULL
#define SZ_512G		0x8000000000ULL
/* PML4 slot 1: nothing of the launcher's identity map is there. */
#define TEST_VA		0x8000000000ULL
/* A guest-physical address that is not guest memory (below MAXPHYADDR). */
#define BAD_GPA		0x10000000ULL

uint64_t guest_launcher_cr3;
uint64_t guest_pool_next, guest_big_next;

static inline void guest_begin(void)
{
	guest_idt_setup();
	guest_launcher_cr3 = guest_read_cr3();
	guest_big_next = POOL_BASE;
	guest_pool_next = POOL_BASE + POOL_BIG_SIZE;
}

/* Guest memory by its identity-mapped address. */
static inline uint64_t *guest_ptr(uint64_t addr)
{
	return (uint64_t *)addr;
}

/* A zeroed 4 KiB page of the pool (identity mapped: address == GPA). */
static inline uint64_t guest_alloc_page(void)
{
	uint64_t pa = guest_pool_next;
	int i;

	GUEST_ASSERT(pa + GUEST_PAGE_SIZE <= POOL_BASE + POOL_SIZE);
	guest_pool_next += GUEST_PAGE_SIZE;
	for (i = 0; i < 512; i++)
		guest_ptr(pa)[i] = 0;
	return pa;
}

static inline uint64_t guest_alloc_2m(void)
{
	uint64_t pa = guest_big_next;

	GUEST_ASSERT(pa + SZ_2M <= POOL_BASE + POOL_BIG_SIZE);
	guest_big_next += SZ_2M;
	return pa;
}

/*
 * A new address space: its own PML4 and first PDPT, the PDPT a copy of
 * the launcher's, so that the identity map of guest memory stays.
 */
static inline uint64_t guest_as_new(void)
{
	uint64_t *lpml4 = (uint64_t *)(guest_launcher_cr3 & PTE_ADDR);
	uint64_t *lpdpt = (uint64_t *)(lpml4[0] & PTE_ADDR);
	uint64_t pml4 = guest_alloc_page(), pdpt = guest_alloc_page();
	int i;

	for (i = 0; i < 512; i++)
		guest_ptr(pdpt)[i] = lpdpt[i];
	guest_ptr(pml4)[0] = pdpt | PTE_P | PTE_W;
	return pml4;
}

static inline unsigned int pt_index(uint64_t va, int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

/*
 * The entry for @va at @level (4: PML4 .. 1: PT) in the tables rooted at
 * @pml4, creating the tables above it (present, writable, user).
 */
static inline uint64_t *guest_entry(uint64_t pml4, uint64_t va, int level)
{
	uint64_t table = pml4;
	int l;

	for (l = 4; l > level; l--) {
		uint64_t *e = &guest_ptr(table)[pt_index(va, l)];

		if (!(*e & PTE_P))
			*e = guest_alloc_page() | PTE_P | PTE_W | PTE_U;
		GUEST_ASSERT(!(*e & PTE_PS));
		table = *e & PTE_ADDR;
	}
	return &guest_ptr(table)[pt_index(va, level)];
}

/* Map @va to @pa with a page of @level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB). */
static inline void guest_map(uint64_t pml4, uint64_t va, uint64_t pa,
			     int level, uint64_t flags)
{
	*guest_entry(pml4, va, level) = pa | flags | (level > 1 ? PTE_PS : 0);
}

/*
 * Accesses through test mappings, in program order with every other
 * access: the compiler cannot see that two addresses alias one page.
 */
static inline uint64_t guest_peek(uint64_t va)
{
	uint64_t val;

	asm volatile("mov (%1), %0" : "=r" (val) : "r" (va) : "memory");
	return val;
}

static inline void guest_poke(uint64_t va, uint64_t val)
{
	asm volatile("mov %0, (%1)" : : "r" (val), "r" (va) : "memory");
}

/* guest_try() must end in a #PF with @error at @cr2 and @rip. */
#define GUEST_ASSERT_PF(probe, a0, a1, _error, _cr2, _rip) do {	\
	GUEST_ASSERT_EXCEPTION(14, (probe), (a0), (a1));		\
	GUEST_ASSERT_EQ((_error), guest_exc.error);			\
	GUEST_ASSERT_EQ((_cr2), guest_exc.cr2);				\
	GUEST_ASSERT_EQ((_rip), guest_exc.rip);				\
} while (0)

/* Start a paging guest at @fn with @a0, @a1 once the pool is known free. */
static inline void paging_start(struct __test_metadata *_metadata,
				struct test_vm *t, uint64_t fn, uint64_t a0,
				uint64_t a1)
{
	vm_start_mem(_metadata, t, VM_MEM_SIZE, fn, a0, a1);
	ASSERT_LE(t->vm.image_end, POOL_BASE);
	ASSERT_LE(POOL_BASE + POOL_SIZE, t->vm.boot_base);
	ASSERT_GT(BAD_GPA, VM_MEM_SIZE);
}

#define PAGING_START(fn, a0, a1)					\
	paging_start(_metadata, &self->t, (uintptr_t)(fn), (a0), (a1))

#endif /* PVISOR_PAGING_UTIL_H */

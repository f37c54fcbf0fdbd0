// SPDX-License-Identifier: GPL-2.0
/*
 * Guest page tables, 4-level, with leaves at any level that allows them:
 * level 1 (PT, 4 KiB), 2 (PD, 2 MiB), 3 (PDPT, 1 GiB); level 4 is the PML4.
 */
#include "cpu.h"
#include "kit.h"
#include "page_alloc.h"
#include "paging.h"

#define LEAF_FLAGS	(PTE_WRITE | PTE_USER | PTE_PWT | PTE_PCD | \
			 PTE_ACCESSED | PTE_DIRTY | PTE_GLOBAL | PTE_NX)
#define TABLE_FLAGS	(PTE_PRESENT | PTE_WRITE | PTE_USER)

static uint64_t *table(uint64_t pa)
{
	return (uint64_t *)(uintptr_t)(pa & PTE_ADDR);
}

static unsigned int index_at(uint64_t va, int level)
{
	return va >> (12 + 9 * (level - 1)) & 511;
}

/* The level whose leaves are pages of @size, or 0. */
static int leaf_level(uint64_t size)
{
	switch (size) {
	case PAGE_SIZE_4K:
		return 1;
	case PAGE_SIZE_2M:
		return 2;
	case PAGE_SIZE_1G:
		return 3;
	}
	return 0;
}

/* Bits 63:47 all equal. */
static bool is_canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* Does @e map a page itself, rather than point to a table? */
static bool is_leaf(uint64_t e, int level)
{
	return level == 1 || (level < 4 && (e & PTE_LARGE));
}

/*
 * The entry for @va at @level, descending from the PML4 and creating
 * missing tables on the way when @create.
 */
static int find_entry(uint64_t pml4, uint64_t va, int level, bool create,
		      uint64_t **entry)
{
	uint64_t *t = table(pml4), *e, page;
	int l;

	for (l = 4; l > level; l--) {
		e = &t[index_at(va, l)];
		if (!(*e & PTE_PRESENT)) {
			if (!create)
				return -ENOENT;
			page = page_alloc();
			if (!page)
				return -ENOMEM;
			*e = page | TABLE_FLAGS;
		} else if (is_leaf(*e, l)) {
			return -EEXIST;
		}
		t = table(*e);
	}
	*entry = &t[index_at(va, level)];
	return 0;
}

static void flush(uint64_t pml4, uint64_t va)
{
	if ((read_cr3() & PTE_ADDR) == pml4)
		tlb_flush_page(va);
}

uint64_t pt_new_pml4(void)
{
	return page_alloc();
}

int pt_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t size,
	   uint64_t flags)
{
	int level = leaf_level(size);
	uint64_t *e, old;
	int r;

	if (!level || (va | pa) & (size - 1) || pa & ~PTE_ADDR ||
	    flags & ~LEAF_FLAGS || !is_canonical(va))
		return -EINVAL;
	r = find_entry(pml4, va, level, true, &e);
	if (r)
		return r;
	old = *e;
	if ((old & PTE_PRESENT) && !is_leaf(old, level))
		return -EEXIST;
	*e = pa | flags | PTE_PRESENT | (level > 1 ? PTE_LARGE : 0);
	if (old & PTE_PRESENT)
		flush(pml4, va);
	return 0;
}

int pt_unmap(uint64_t pml4, uint64_t va, uint64_t size)
{
	int level = leaf_level(size);
	uint64_t *e;
	int r;

	if (!level || va & (size - 1) || !is_canonical(va))
		return -EINVAL;
	r = find_entry(pml4, va, level, false, &e);
	if (r)
		return r;
	if (!(*e & PTE_PRESENT) || !is_leaf(*e, level))
		return -ENOENT;
	*e = 0;
	flush(pml4, va);
	return 0;
}

uint64_t *pt_walk(uint64_t pml4, uint64_t va, uint64_t *size)
{
	uint64_t *t = table(pml4), *e;
	int l;

	for (l = 4; l >= 1; l--) {
		e = &t[index_at(va, l)];
		if (!(*e & PTE_PRESENT))
			return NULL;
		if (is_leaf(*e, l)) {
			if (size)
				*size = 1ULL << (12 + 9 * (l - 1));
			return e;
		}
		t = table(*e);
	}
	return NULL;
}

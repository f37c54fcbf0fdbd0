/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 4-level page tables for the guest: build an empty PML4, map and unmap
 * 4 KiB, 2 MiB and 1 GiB pages, walk to a leaf.  Tables are addressed by
 * guest-physical address and reached through the identity map, so every
 * table page must be mapped at its physical address in the current page
 * tables.  Intermediate tables come from page_alloc() and are never freed.
 */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#include <stdint.h>

#define PTE_PRESENT	0x001ULL
#define PTE_WRITE	0x002ULL
#define PTE_USER	0x004ULL
#define PTE_PWT		0x008ULL
#define PTE_PCD		0x010ULL
#define PTE_ACCESSED	0x020ULL
#define PTE_DIRTY	0x040ULL
#define PTE_LARGE	0x080ULL	/* PS: a 2 MiB or 1 GiB leaf */
#define PTE_GLOBAL	0x100ULL
#define PTE_NX		0x8000000000000000ULL
#define PTE_ADDR	0x000ffffffffff000ULL

#define PAGE_SIZE_4K	0x1000ULL
#define PAGE_SIZE_2M	0x200000ULL
#define PAGE_SIZE_1G	0x40000000ULL

/* The guest-physical address of an empty PML4, 0 when out of pages. */
uint64_t pt_new_pml4(void);

/*
 * Map the page of @size (PAGE_SIZE_*) at @va to @pa with @flags (PTE_WRITE,
 * PTE_USER, PTE_PWT, PTE_PCD, PTE_ACCESSED, PTE_DIRTY, PTE_GLOBAL, PTE_NX;
 * PTE_PRESENT is implied).
 * A page already there is replaced.  Intermediate tables are created as
 * present, writable and user, so the leaf alone decides.  INVLPG when
 * @pml4 is the current one and a translation was replaced.
 *
 * Returns 0, -EINVAL (size, alignment, flags, non-canonical @va), -EEXIST
 * (a larger page maps @va, or a table of smaller pages is where the leaf
 * would go), or -ENOMEM.
 */
int pt_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t size,
	   uint64_t flags);

/*
 * Unmap the page of @size at @va; INVLPG when @pml4 is the current one.
 * Returns 0, -EINVAL, -EEXIST (a larger page maps @va) or -ENOENT (no page
 * of @size is mapped there).
 */
int pt_unmap(uint64_t pml4, uint64_t va, uint64_t size);

/*
 * The present leaf entry that maps @va, and the size of its page in @size
 * (may be NULL); NULL when @va is not mapped.
 */
uint64_t *pt_walk(uint64_t pml4, uint64_t va, uint64_t *size);

#endif /* GUEST_PAGING_H */

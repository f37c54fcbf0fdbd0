/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 4-level page tables for the guest: build an empty PML4, map and unmap
 * 4 KiB, 2 MiB and 1 GiB pages, walk to a leaf.  Tables are addressed by
 * guest-physical address and reached through the identity map, so every
 * table page must be mapped at its physical address in the current page
 * tables.  Intermediate tables come from page_alloc() and are never freed.
 *
 * Entries are written with PVISOR_HC_MMU_BATCH (Documentation/hypercalls.rst):
 * one hypercall per pt_map() or pt_unmap() carries the entry writes (new
 * tables, the leaf) and the INVLPG a replaced or removed translation needs,
 * so pvisor updates its shadow page tables at once instead of trapping
 * writes to page-table pages.  On a pvisor.ko without the hypercall
 * (-PVISOR_ENOSYS, remembered after the first try) the same writes are
 * plain stores followed by INVLPG.
 *
 * Batches: between pt_batch_begin() and pt_batch_end(), pt_map() and
 * pt_unmap() queue their writes instead, and the queue goes to pvisor
 * PVISOR_MMU_BATCH_MAX ops at a time, when it fills and at pt_batch_end().
 * The kit's own view of the tables (pt_map(), pt_unmap(), pt_walk()) sees
 * the queued writes at once; memory and the translations may not before
 * pt_batch_end().  So inside a batch: do not access the addresses being
 * mapped or unmapped, do not write page-table entries by other means and
 * do not load CR3.  Batches do not nest.
 *
 * The kit runs on one vCPU (kit.h): the queue is not shared.
 */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#include <stdbool.h>
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
 * would go), -ENOMEM, or -EFAULT (pvisor refused an entry: @pa is not
 * guest memory, or has bits at or above MAXPHYADDR).  Inside a batch,
 * -EFAULT comes from whichever call filled the queue, and then from every
 * later call and pt_batch_end().
 */
int pt_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t size,
	   uint64_t flags);

/*
 * Map @n consecutive pages of @size from @va to @pa on, in one batch (or
 * in the current one).  Returns 0 or the first error of pt_map(); pages
 * before the failing one stay mapped.
 */
int pt_map_range(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t n,
		 uint64_t size, uint64_t flags);

/*
 * Unmap the page of @size at @va; INVLPG when @pml4 is the current one.
 * Returns 0, -EINVAL, -EEXIST (a larger page maps @va), -ENOENT (no page
 * of @size is mapped there) or, inside a batch, -EFAULT as pt_map().
 */
int pt_unmap(uint64_t pml4, uint64_t va, uint64_t size);

/*
 * The present leaf entry that maps @va, and the size of its page in @size
 * (may be NULL); NULL when @va is not mapped.  Inside a batch the entry
 * may not hold its queued value yet: read it only after pt_batch_end().
 */
uint64_t *pt_walk(uint64_t pml4, uint64_t va, uint64_t *size);

/* Start queueing the writes of pt_map() and pt_unmap(). */
void pt_batch_begin(void);

/*
 * Apply what is queued and end the batch.  Returns 0, or -EFAULT when
 * pvisor refused an entry of the batch: the writes before it were applied,
 * that one and every later one were not.
 */
int pt_batch_end(void);

/*
 * Whether pt_map() and pt_unmap() use PVISOR_HC_MMU_BATCH (known after the
 * first write): false on a pvisor.ko that lacks it.
 */
bool pt_uses_hypercall(void);

#endif /* GUEST_PAGING_H */

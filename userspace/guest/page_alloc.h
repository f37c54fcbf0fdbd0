/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page frames for the guest: zeroed 4 KiB pages from the RAM entries of the
 * start info's memory map, above the image.  Pages are never freed.
 */
#ifndef GUEST_PAGE_ALLOC_H
#define GUEST_PAGE_ALLOC_H

#include <stdint.h>

#include <linux/pvisor_para.h>

/* Called by entry.S before main(). */
void page_alloc_init(const struct pvisor_start_info *si);

/*
 * The guest-physical address of a zeroed page, or 0 when none is left.
 * Zeroing writes through the identity map: the page must be mapped at its
 * physical address in the current page tables.
 */
uint64_t page_alloc(void);

/*
 * @n physically contiguous zeroed pages (for buffers larger than a page),
 * or 0.  The rest of a memory-map entry too small for them is skipped.
 */
uint64_t page_alloc_contig(unsigned int n);

#endif /* GUEST_PAGE_ALLOC_H */

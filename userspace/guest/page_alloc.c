// SPDX-License-Identifier: GPL-2.0
/*
 * A bump allocator over the start info's memory map: it walks the RAM
 * entries in order and hands out their pages from the image's end up.
 */
#include "kit.h"
#include "page_alloc.h"
#include "string.h"

static const struct pvisor_start_info *start_info;
static unsigned int cur;	/* the memmap entry pages come from */
static uint64_t next;		/* its next free page, 0 before the first */

void page_alloc_init(const struct pvisor_start_info *si)
{
	start_info = si;
	cur = 0;
	next = 0;
}

uint64_t page_alloc(void)
{
	return page_alloc_contig(1);
}

uint64_t page_alloc_contig(unsigned int n)
{
	uint64_t image_end = ALIGN_UP((uintptr_t)__image_end, PAGE_SIZE);
	uint64_t bytes = n * PAGE_SIZE;
	const struct pvisor_memmap_entry *e;
	uint64_t page;

	if (!n)
		return 0;
	for (; cur < start_info->nr_memmap && cur < PVISOR_MEMMAP_MAX;
	     cur++, next = 0) {
		e = &start_info->memmap[cur];
		if (e->type != PVISOR_MEM_RAM)
			continue;
		if (next < e->base)
			next = ALIGN_UP(e->base, PAGE_SIZE);
		if (next < image_end)
			next = image_end;
		if (next < e->base + e->size &&
		    e->base + e->size - next >= bytes) {
			page = next;
			next += bytes;
			memset((void *)(uintptr_t)page, 0, bytes);
			return page;
		}
	}
	return 0;
}

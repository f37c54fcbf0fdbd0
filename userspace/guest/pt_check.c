// SPDX-License-Identifier: GPL-2.0
/*
 * The kit's page-table helpers in a real guest: builds an address space of
 * its own with pt_map_range() (guest memory identity-mapped with 2 MiB
 * pages, hundreds of 4 KiB pages in batches), with a batch of pt_map()
 * calls and with single calls, loads it, and reads every page through its
 * new address; then remaps, unmaps and maps again in the loaded space, and
 * checks that an entry pvisor refuses is reported and stops its batch.
 * Prints "pt_check: ok" and whether the writes went through
 * PVISOR_HC_MMU_BATCH or plain stores (an older pvisor.ko); exits 1 at the
 * first difference.  pvisor run pt_check.elf
 */
#include "console.h"
#include "cpu.h"
#include "kit.h"
#include "page_alloc.h"
#include "paging.h"

#define BASE_VA		0x8000000000ULL	/* PML4 slot 1: nothing else there */
#define BATCH_VA	(BASE_VA + PAGE_SIZE_1G)
#define SINGLE_VA	(BASE_VA + 2 * PAGE_SIZE_1G)
#define REFUSED_VA	(BASE_VA + 3 * PAGE_SIZE_1G)
/* More than one batch of ops and more than one page table. */
#define NR_PAGES	600
#define NR_SINGLE	16
#define TAG(i)		(0x9a9e000000000000ULL | (i))

static uint64_t first_page;

static uint64_t page_pa(uint64_t i)
{
	return first_page + i * PAGE_SIZE_4K;
}

static uint64_t peek(uint64_t va)
{
	return *(uint64_t *)(uintptr_t)va;
}

static int check(const char *what, uint64_t va, uint64_t seen,
		 uint64_t expected)
{
	if (seen == expected)
		return 0;
	printf("pt_check: %s at 0x%llx: 0x%llx, expected 0x%llx\n", what,
	       (unsigned long long)va, (unsigned long long)seen,
	       (unsigned long long)expected);
	return 1;
}

static int check_call(const char *what, int r, int expected)
{
	if (r == expected)
		return 0;
	printf("pt_check: %s returned %d, expected %d\n", what, r, expected);
	return 1;
}

/* NR_PAGES contiguous zeroed pages, each tagged with its number. */
static int alloc_pages(void)
{
	uint64_t i, pa;

	first_page = page_alloc();
	for (i = 0; i < NR_PAGES; i++) {
		pa = i ? page_alloc() : first_page;
		if (pa != page_pa(i)) {
			printf("pt_check: page %llu at 0x%llx is not next to the others\n",
			       (unsigned long long)i, (unsigned long long)pa);
			return 1;
		}
		*(uint64_t *)(uintptr_t)pa = TAG(i);
	}
	return 0;
}

static int build(uint64_t pml4, uint64_t mem_size)
{
	uint64_t i, *e, size;
	int r = 0;

	r |= check_call("pt_map_range(identity, 2 MiB)",
			pt_map_range(pml4, 0, 0, mem_size / PAGE_SIZE_2M,
				     PAGE_SIZE_2M, PTE_WRITE), 0);
	r |= check_call("pt_map_range(4 KiB pages)",
			pt_map_range(pml4, BASE_VA, first_page, NR_PAGES,
				     PAGE_SIZE_4K, PTE_WRITE | PTE_NX), 0);
	/* The same pages backwards, one pt_map() each, in one batch. */
	pt_batch_begin();
	for (i = 0; i < NR_PAGES; i++)
		r |= check_call("pt_map in a batch",
				pt_map(pml4, BATCH_VA + i * PAGE_SIZE_4K,
				       page_pa(NR_PAGES - 1 - i), PAGE_SIZE_4K,
				       PTE_WRITE | PTE_NX), 0);
	r |= check_call("pt_batch_end", pt_batch_end(), 0);
	for (i = 0; i < NR_SINGLE; i++)
		r |= check_call("pt_map",
				pt_map(pml4, SINGLE_VA + i * PAGE_SIZE_2M,
				       page_pa(i), PAGE_SIZE_4K, PTE_NX), 0);
	e = pt_walk(pml4, BASE_VA + 5 * PAGE_SIZE_4K, &size);
	if (!e)
		return check("pt_walk", BASE_VA + 5 * PAGE_SIZE_4K, 0, 1);
	r |= check("pt_walk", BASE_VA + 5 * PAGE_SIZE_4K, *e & PTE_ADDR,
		   page_pa(5));
	r |= check("pt_walk size", BASE_VA, size, PAGE_SIZE_4K);
	return r;
}

static int read_all(void)
{
	uint64_t i, va;
	int r = 0;

	for (i = 0; i < NR_PAGES && !r; i++) {
		va = BASE_VA + i * PAGE_SIZE_4K;
		r |= check("read", va, peek(va), TAG(i));
		va = BATCH_VA + i * PAGE_SIZE_4K;
		r |= check("read", va, peek(va), TAG(NR_PAGES - 1 - i));
	}
	for (i = 0; i < NR_SINGLE && !r; i++) {
		va = SINGLE_VA + i * PAGE_SIZE_2M;
		r |= check("read", va, peek(va), TAG(i));
	}
	return r;
}

/* In the loaded space: remap, unmap then map again, both in one batch. */
static int change_loaded(uint64_t pml4)
{
	int r = 0;

	r |= check_call("pt_map (replace)",
			pt_map(pml4, BASE_VA, page_pa(1), PAGE_SIZE_4K,
			       PTE_WRITE | PTE_NX), 0);
	r |= check("read after remap", BASE_VA, peek(BASE_VA), TAG(1));
	r |= check_call("pt_unmap",
			pt_unmap(pml4, BASE_VA + PAGE_SIZE_4K, PAGE_SIZE_4K), 0);
	r |= check("pt_walk after pt_unmap", BASE_VA + PAGE_SIZE_4K,
		   !!pt_walk(pml4, BASE_VA + PAGE_SIZE_4K, NULL), 0);
	r |= check_call("pt_map (after unmap)",
			pt_map(pml4, BASE_VA + PAGE_SIZE_4K, page_pa(3),
			       PAGE_SIZE_4K, PTE_NX), 0);
	r |= check("read after unmap and map", BASE_VA + PAGE_SIZE_4K,
		   peek(BASE_VA + PAGE_SIZE_4K), TAG(3));

	pt_batch_begin();
	r |= check_call("pt_unmap in a batch",
			pt_unmap(pml4, BASE_VA + 2 * PAGE_SIZE_4K,
				 PAGE_SIZE_4K), 0);
	r |= check_call("pt_map in a batch",
			pt_map(pml4, BASE_VA + 2 * PAGE_SIZE_4K, page_pa(7),
			       PAGE_SIZE_4K, PTE_NX), 0);
	r |= check_call("pt_batch_end", pt_batch_end(), 0);
	r |= check("read after a batched unmap and map",
		   BASE_VA + 2 * PAGE_SIZE_4K,
		   peek(BASE_VA + 2 * PAGE_SIZE_4K), TAG(7));
	return r;
}

/*
 * A page outside guest memory: pvisor refuses the entry (-EFAULT), and in
 * a batch nothing after it is applied; with plain stores nothing checks
 * it (the mapping is never touched, and is removed again).
 */
static int check_refusal(uint64_t pml4, uint64_t mem_size)
{
	uint64_t bad = ALIGN_UP(mem_size, PAGE_SIZE_4K);
	bool hc = pt_uses_hypercall();
	int r = 0, expected = hc ? -EFAULT : 0;

	r |= check_call("pt_map of a page outside guest memory",
			pt_map(pml4, REFUSED_VA, bad, PAGE_SIZE_4K, PTE_NX),
			expected);
	pt_batch_begin();
	pt_map(pml4, REFUSED_VA + PAGE_SIZE_4K, page_pa(1), PAGE_SIZE_4K,
	       PTE_NX);
	pt_map(pml4, REFUSED_VA + 2 * PAGE_SIZE_4K, bad, PAGE_SIZE_4K, PTE_NX);
	pt_map(pml4, REFUSED_VA + 3 * PAGE_SIZE_4K, page_pa(3), PAGE_SIZE_4K,
	       PTE_NX);
	r |= check_call("pt_batch_end of a batch with a refused entry",
			pt_batch_end(), expected);
	r |= check("mapped before the refused entry", REFUSED_VA + PAGE_SIZE_4K,
		   !!pt_walk(pml4, REFUSED_VA + PAGE_SIZE_4K, NULL), 1);
	r |= check("mapped after the refused entry",
		   REFUSED_VA + 3 * PAGE_SIZE_4K,
		   !!pt_walk(pml4, REFUSED_VA + 3 * PAGE_SIZE_4K, NULL), !hc);
	if (!hc) {
		pt_unmap(pml4, REFUSED_VA, PAGE_SIZE_4K);
		pt_unmap(pml4, REFUSED_VA + 2 * PAGE_SIZE_4K, PAGE_SIZE_4K);
	}
	return r;
}

int main(const struct pvisor_start_info *si)
{
	uint64_t launcher = read_cr3(), pml4;
	int r;

	pml4 = pt_new_pml4();
	if (!pml4 || alloc_pages()) {
		printf("pt_check: out of guest memory\n");
		return 1;
	}
	r = build(pml4, si->mem_size);
	if (r)
		return 1;
	write_cr3(pml4);
	r = read_all() || change_loaded(pml4) || check_refusal(pml4, si->mem_size);
	write_cr3(launcher);
	if (r)
		return 1;
	printf("pt_check: ok, %d pages in batches, page-table writes by %s\n",
	       2 * NR_PAGES, pt_uses_hypercall() ? "PVISOR_HC_MMU_BATCH" :
	       "plain stores (pvisor.ko has no PVISOR_HC_MMU_BATCH)");
	return 0;
}

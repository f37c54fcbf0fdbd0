// SPDX-License-Identifier: GPL-2.0
/*
 * Guest page tables, 4-level, with leaves at any level that allows them:
 * level 1 (PT, 4 KiB), 2 (PD, 2 MiB), 3 (PDPT, 1 GiB); level 4 is the PML4.
 *
 * Every entry write and INVLPG is an op in a queue that goes to pvisor in
 * one PVISOR_HC_MMU_BATCH: at the end of each pt_map() and pt_unmap(), or
 * when a batch ends or fills the queue.  Reads of entries look in the
 * queue first, so a table created or an entry written earlier in the same
 * batch is seen before pvisor has applied it.
 */
#include "cpu.h"
#include "hypercall.h"
#include "kit.h"
#include "page_alloc.h"
#include "paging.h"

#define LEAF_FLAGS	(PTE_WRITE | PTE_USER | PTE_PWT | PTE_PCD | \
			 PTE_ACCESSED | PTE_DIRTY | PTE_GLOBAL | PTE_NX)
#define TABLE_FLAGS	(PTE_PRESENT | PTE_WRITE | PTE_USER)

static struct pvisor_mmu_op queue[PVISOR_MMU_BATCH_MAX];
static unsigned int queued;
static bool batching;
/* A refusal inside the current batch: it ends the batch's work. */
static int batch_error;

enum { HC_UNKNOWN, HC_PRESENT, HC_MISSING };
static int hc_state;

/* What an older pvisor.ko gets instead of the hypercall. */
static void apply_with_stores(const struct pvisor_mmu_op *ops, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		switch (ops[i].op) {
		case PVISOR_MMU_SET_PTE:
			*(uint64_t *)(uintptr_t)ops[i].addr = ops[i].val;
			break;
		case PVISOR_MMU_INVLPG:
			tlb_flush_page(ops[i].addr);
			break;
		case PVISOR_MMU_FLUSH:
			write_cr3(read_cr3());
			break;
		}
	}
}

/* Apply and empty the queue: 0 or -EFAULT. */
static int submit(void)
{
	unsigned int n = queued;
	long r;

	queued = 0;
	if (!n)
		return 0;
	if (hc_state != HC_MISSING) {
		r = pvisor_hc_mmu_batch((uintptr_t)queue, n);
		if (r == (long)n) {
			hc_state = HC_PRESENT;
			return 0;
		}
		if (r != -PVISOR_ENOSYS)
			return -EFAULT;
		hc_state = HC_MISSING;
	}
	apply_with_stores(queue, n);
	return 0;
}

static int queue_op(uint32_t op, uint64_t addr, uint64_t val)
{
	struct pvisor_mmu_op *o;
	int r;

	if (queued == ARRAY_SIZE(queue)) {
		r = submit();
		if (r) {
			if (batching)
				batch_error = r;
			return r;
		}
	}
	o = &queue[queued++];
	o->op = op;
	o->flags = 0;
	o->addr = addr;
	o->val = val;
	return 0;
}

static int queue_set(uint64_t *e, uint64_t val)
{
	return queue_op(PVISOR_MMU_SET_PTE, (uintptr_t)e, val);
}

/* The entry as it will be: the last queued write to it, or memory. */
static uint64_t read_entry(const uint64_t *e)
{
	unsigned int i = queued;

	while (i--)
		if (queue[i].op == PVISOR_MMU_SET_PTE &&
		    queue[i].addr == (uintptr_t)e)
			return queue[i].val;
	return *e;
}

/*
 * The end of pt_map() or pt_unmap(): outside a batch, apply what it
 * queued, even when it failed (tables it created stay).  Returns @r, or
 * the error of the submission.
 */
static int finish(int r)
{
	int s;

	if (batching)
		return r;
	s = submit();
	return r ? r : s;
}

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
	uint64_t *t = table(pml4), *e, page, val;
	int l, r;

	for (l = 4; l > level; l--) {
		e = &t[index_at(va, l)];
		val = read_entry(e);
		if (!(val & PTE_PRESENT)) {
			if (!create)
				return -ENOENT;
			page = page_alloc();
			if (!page)
				return -ENOMEM;
			val = page | TABLE_FLAGS;
			r = queue_set(e, val);
			if (r)
				return r;
		} else if (is_leaf(val, l)) {
			return -EEXIST;
		}
		t = table(val);
	}
	*entry = &t[index_at(va, level)];
	return 0;
}

/* INVLPG of @va after its translation changed, if @pml4 is loaded. */
static int flush(uint64_t pml4, uint64_t va)
{
	if ((read_cr3() & PTE_ADDR) != pml4)
		return 0;
	return queue_op(PVISOR_MMU_INVLPG, va, 0);
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
	if (batch_error)
		return batch_error;
	r = find_entry(pml4, va, level, true, &e);
	if (r)
		return finish(r);
	old = read_entry(e);
	if ((old & PTE_PRESENT) && !is_leaf(old, level))
		return finish(-EEXIST);
	r = queue_set(e, pa | flags | PTE_PRESENT |
		      (level > 1 ? PTE_LARGE : 0));
	if (!r && (old & PTE_PRESENT))
		r = flush(pml4, va);
	return finish(r);
}

int pt_map_range(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t n,
		 uint64_t size, uint64_t flags)
{
	bool own = !batching;
	uint64_t i;
	int r = 0, end;

	if (own)
		pt_batch_begin();
	for (i = 0; i < n && !r; i++)
		r = pt_map(pml4, va + i * size, pa + i * size, size, flags);
	if (!own)
		return r;
	end = pt_batch_end();
	return r ? r : end;
}

int pt_unmap(uint64_t pml4, uint64_t va, uint64_t size)
{
	int level = leaf_level(size);
	uint64_t *e, old;
	int r;

	if (!level || va & (size - 1) || !is_canonical(va))
		return -EINVAL;
	if (batch_error)
		return batch_error;
	r = find_entry(pml4, va, level, false, &e);
	if (r)
		return r;
	old = read_entry(e);
	if (!(old & PTE_PRESENT) || !is_leaf(old, level))
		return -ENOENT;
	r = queue_set(e, 0);
	if (!r)
		r = flush(pml4, va);
	return finish(r);
}

uint64_t *pt_walk(uint64_t pml4, uint64_t va, uint64_t *size)
{
	uint64_t *t = table(pml4), *e, val;
	int l;

	for (l = 4; l >= 1; l--) {
		e = &t[index_at(va, l)];
		val = read_entry(e);
		if (!(val & PTE_PRESENT))
			return NULL;
		if (is_leaf(val, l)) {
			if (size)
				*size = 1ULL << (12 + 9 * (l - 1));
			return e;
		}
		t = table(val);
	}
	return NULL;
}

void pt_batch_begin(void)
{
	batching = true;
	batch_error = 0;
}

int pt_batch_end(void)
{
	int r = batch_error;

	if (r)
		queued = 0;
	else
		r = submit();
	batching = false;
	batch_error = 0;
	return r;
}

bool pt_uses_hypercall(void)
{
	return hc_state == HC_PRESENT;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow MMU against the architecture's promise: whatever a guest
 * writes into its page tables, by a store of any kind or by the PV MMU
 * batch hypercall, is what it sees after the flush the architecture asks
 * for (a CR3 load drops every non-global translation, INVLPG one; an entry
 * that turns present needs none), in every address space, however many
 * there are and whichever was loaded when the tables changed.
 *
 * These are the cases a shadow MMU that caches roots across CR3 loads, and
 * write-protects guest page-table pages to keep its shadows in sync, gets
 * wrong first: tables of an address space that is not loaded, a table
 * linked twice, a table that is also a data page (written through that
 * mapping, through a recursive PML4 entry, or not mapped as data at all),
 * a table page that is freed and comes back as data or as a table of
 * another level, more address spaces than any cache holds, accessed and
 * dirty bits per address space, large pages.
 *
 * PVISOR_HC_MMU_BATCH (uapi/linux/pvisor_para.h): entry writes, INVLPGs
 * and flushes take effect in order; the array and each op are checked, and
 * an op that is refused stops the batch with nothing after it applied; CPL
 * 3 may not call it.  The feature is required: a module that returns
 * -PVISOR_ENOSYS fails these tests.
 *
 * The guests build their tables as paging_util.h says.
 */
#include "kselftest_harness.h"
#include "paging_util.h"

#define HC_ERR(e)	((uint64_t)-(int64_t)(e))

/* The recursive PML4 slot: in the upper half, canonical with bit 47 set. */
#define REC_SLOT	510ULL

/* A value that tells which page of a test it was read from. */
#define TAG(n)		(0x7a90000000000000ULL | (n))

/* Fill @page with TAG(@n) in its first and last words. */
static void guest_tag(uint64_t page, uint64_t n)
{
	guest_ptr(page)[0] = TAG(n);
	guest_ptr(page)[511] = TAG(n);
}

/* A new page of the pool tagged with @n. */
static uint64_t guest_tagged_page(uint64_t n)
{
	uint64_t page = guest_alloc_page();

	guest_tag(page, n);
	return page;
}

/* The table that holds the entry of @va at @level. */
static uint64_t guest_table_of(uint64_t pml4, uint64_t va, int level)
{
	return (uintptr_t)guest_entry(pml4, va, level) & ~0xfffULL;
}

/* A read of @va must raise #PF with @error. */
#define GUEST_ASSERT_READ_PF(va, error)					\
	GUEST_ASSERT_PF(guest_read64, (va), 0, (error), (va),		\
			(uintptr_t)guest_read64)

#define GUEST_ASSERT_WRITE_PF(va, error)				\
	GUEST_ASSERT_PF(guest_write64, (va), 0x5a5a, (error), (va),	\
			(uintptr_t)guest_write64)

/* A read of @va must not fault, and find @val. */
#define GUEST_ASSERT_READ(va, val) do {					\
	GUEST_ASSERT_EQ((val), guest_try(guest_read64, (va), 0));	\
	GUEST_ASSERT_EQ(0, guest_exc.count);				\
} while (0)

static void guest_reload_cr3(void)
{
	guest_write_cr3(guest_read_cr3());
}

static void guest_done(void)
{
	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

#define NR_EDIT		4

/*
 * Tables of address spaces that are not loaded change: a leaf remapped, a
 * leaf removed, a whole page directory replaced, a PML4 entry removed.
 * Each space sees its new mappings at its next CR3 load, and the space
 * that made the edits keeps its own.
 */
static void guest_edit_unloaded(void)
{
	uint64_t as[NR_EDIT], fresh[NR_EDIT];
	const uint64_t va_far = TEST_VA + SZ_1G;
	int i, round;

	guest_begin();
	for (i = 0; i < NR_EDIT; i++) {
		uint64_t page = guest_tagged_page(i);

		as[i] = guest_as_new();
		fresh[i] = guest_tagged_page(0x100 + i);
		guest_map(as[i], TEST_VA, page, 1, PTE_P | PTE_W | PTE_NX);
		guest_map(as[i], TEST_VA + 0x1000, page, 1,
			  PTE_P | PTE_W | PTE_NX);
		guest_map(as[i], va_far, page, 1, PTE_P | PTE_W | PTE_NX);
	}
	/* Visit each a few times: every one has shadows now. */
	for (round = 0; round < 3; round++) {
		for (i = 0; i < NR_EDIT; i++) {
			guest_write_cr3(as[i]);
			GUEST_ASSERT_EQ(TAG(i), guest_peek(TEST_VA));
			GUEST_ASSERT_EQ(TAG(i), guest_peek(TEST_VA + 0x1ff8));
			GUEST_ASSERT_EQ(TAG(i), guest_peek(va_far));
		}
	}

	/* From space 0, through the identity map: the others' tables. */
	guest_write_cr3(as[0]);
	for (i = 1; i < NR_EDIT; i++) {
		uint64_t pd = guest_alloc_page(), pt = guest_alloc_page();

		*guest_entry(as[i], TEST_VA, 1) = fresh[i] | PTE_P | PTE_W |
						  PTE_NX;
		*guest_entry(as[i], TEST_VA + 0x1000, 1) = 0;
		guest_ptr(pt)[0] = fresh[i] | PTE_P | PTE_W | PTE_NX;
		guest_ptr(pd)[pt_index(va_far, 2)] = pt | PTE_P | PTE_W | PTE_U;
		*guest_entry(as[i], va_far, 3) = pd | PTE_P | PTE_W | PTE_U;
	}
	GUEST_ASSERT_EQ(TAG(0), guest_peek(TEST_VA));
	GUEST_ASSERT_EQ(TAG(0), guest_peek(TEST_VA + 0x1000));
	GUEST_ASSERT_EQ(TAG(0), guest_peek(va_far));

	for (round = 0; round < 2; round++) {
		for (i = 1; i < NR_EDIT; i++) {
			guest_write_cr3(as[i]);
			GUEST_ASSERT_EQ(TAG(0x100 + i), guest_peek(TEST_VA));
			GUEST_ASSERT_READ_PF(TEST_VA + 0x1000, 0);
			GUEST_ASSERT_EQ(TAG(0x100 + i), guest_peek(va_far));
		}
		guest_write_cr3(as[0]);
		GUEST_ASSERT_EQ(TAG(0), guest_peek(TEST_VA + 0x1000));
	}

	/* From space 1: the PML4 entry of space 2 for TEST_VA goes. */
	guest_write_cr3(as[1]);
	guest_ptr(as[2])[pt_index(TEST_VA, 4)] = 0;
	GUEST_ASSERT_EQ(TAG(0x101), guest_peek(TEST_VA));
	guest_write_cr3(as[2]);
	GUEST_ASSERT_READ_PF(TEST_VA, 0);
	GUEST_ASSERT_READ_PF(va_far, 0);
	guest_write_cr3(as[3]);
	GUEST_ASSERT_EQ(TAG(0x103), guest_peek(va_far));
	guest_done();
}

TEST_F(vm, edit_tables_of_unloaded_spaces)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_edit_unloaded, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/*
 * One page table linked at two places of space A and at a third of space
 * B: a change made once is seen through all three links.
 */
static void guest_shared_table(void)
{
	const uint64_t va_a2 = TEST_VA + 3 * SZ_2M, va_b = TEST_VA + SZ_1G;
	uint64_t a, b, pt, p1, p2, p3;

	guest_begin();
	a = guest_as_new();
	b = guest_as_new();
	pt = guest_alloc_page();
	p1 = guest_tagged_page(1);
	p2 = guest_tagged_page(2);
	p3 = guest_tagged_page(3);
	guest_ptr(pt)[0] = p1 | PTE_P | PTE_W | PTE_NX;
	guest_ptr(pt)[1] = p2 | PTE_P | PTE_W | PTE_NX;
	*guest_entry(a, TEST_VA, 2) = pt | PTE_P | PTE_W | PTE_U;
	*guest_entry(a, va_a2, 2) = pt | PTE_P | PTE_W | PTE_U;
	*guest_entry(b, va_b, 2) = pt | PTE_P | PTE_W | PTE_U;

	guest_write_cr3(a);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));
	GUEST_ASSERT_EQ(TAG(1), guest_peek(va_a2));
	GUEST_ASSERT_EQ(TAG(2), guest_peek(va_a2 + 0x1000));
	guest_write_cr3(b);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(va_b));
	GUEST_ASSERT_EQ(TAG(2), guest_peek(va_b + 0x1000));

	/* Changed in B and flushed there, seen in both links of A. */
	guest_ptr(pt)[0] = p3 | PTE_P | PTE_W | PTE_NX;
	guest_invlpg(va_b);
	GUEST_ASSERT_EQ(TAG(3), guest_peek(va_b));
	guest_write_cr3(a);
	GUEST_ASSERT_EQ(TAG(3), guest_peek(TEST_VA));
	GUEST_ASSERT_EQ(TAG(3), guest_peek(va_a2));

	/* Removed in A, flushed by a CR3 load: gone at all three. */
	guest_ptr(pt)[1] = 0;
	guest_reload_cr3();
	GUEST_ASSERT_READ_PF(TEST_VA + 0x1000, 0);
	GUEST_ASSERT_READ_PF(va_a2 + 0x1000, 0);
	guest_write_cr3(b);
	GUEST_ASSERT_READ_PF(va_b + 0x1000, 0);

	/* A store that makes an entry present needs no flush. */
	guest_ptr(pt)[1] = p1 | PTE_P | PTE_W | PTE_NX;
	GUEST_ASSERT_EQ(TAG(1), guest_peek(va_b + 0x1000));
	guest_write_cr3(a);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(va_a2 + 0x1000));

	/* Unlinked from B while A is loaded: A keeps it, B loses it. */
	*guest_entry(b, va_b, 2) = 0;
	GUEST_ASSERT_EQ(TAG(3), guest_peek(va_a2));
	guest_write_cr3(b);
	GUEST_ASSERT_READ_PF(va_b, 0);
	guest_write_cr3(a);
	GUEST_ASSERT_EQ(TAG(3), guest_peek(TEST_VA));
	guest_done();
}

TEST_F(vm, table_linked_in_two_spaces)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_shared_table, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/*
 * The page table of TEST_VA maps itself as a writable data page at
 * TEST_VA + 256 pages, and the guest edits it through that mapping; space
 * B maps the same table as data and edits it while A is not loaded.
 */
static void guest_table_as_data(void)
{
	const uint64_t alias = TEST_VA + 256 * GUEST_PAGE_SIZE;
	const uint64_t va_b = TEST_VA + SZ_1G;
	uint64_t a, b, pt, p1, p2, p3;

	guest_begin();
	a = guest_as_new();
	b = guest_as_new();
	p1 = guest_tagged_page(1);
	p2 = guest_tagged_page(2);
	p3 = guest_tagged_page(3);
	guest_map(a, TEST_VA, p1, 1, PTE_P | PTE_W | PTE_NX);
	pt = guest_table_of(a, TEST_VA, 1);
	guest_ptr(pt)[256] = pt | PTE_P | PTE_W | PTE_NX;
	guest_map(b, va_b, pt, 1, PTE_P | PTE_W | PTE_NX);

	guest_write_cr3(a);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));
	/* The walk set the accessed bit, seen through the alias. */
	GUEST_ASSERT_EQ(p1 | PTE_P | PTE_W | PTE_NX | PTE_A,
			guest_peek(alias) & ~PTE_D);

	/* Absent to present through the alias: no flush needed. */
	guest_poke(alias + 8, p2 | PTE_P | PTE_W | PTE_NX);
	GUEST_ASSERT_EQ(TAG(2), guest_peek(TEST_VA + 0x1000));
	/* Remapped through the alias, then INVLPG. */
	guest_poke(alias, p3 | PTE_P | PTE_W | PTE_NX);
	guest_invlpg(TEST_VA);
	GUEST_ASSERT_EQ(TAG(3), guest_peek(TEST_VA));
	/* Remapped through the alias, then a CR3 load. */
	guest_poke(alias, p1 | PTE_P | PTE_W | PTE_NX);
	guest_reload_cr3();
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));
	GUEST_ASSERT_EQ(p1 | PTE_P | PTE_W | PTE_NX, guest_ptr(pt)[0] &
			~(PTE_A | PTE_D));
	/* The alias was written: its own entry is dirty. */
	GUEST_ASSERT_EQ(PTE_A | PTE_D, guest_ptr(pt)[256] & (PTE_A | PTE_D));

	/* The alias makes itself read-only: reads work, writes fault. */
	guest_poke(alias + 256 * 8, pt | PTE_P | PTE_NX);
	guest_invlpg(alias);
	GUEST_ASSERT_READ(alias + 8, guest_ptr(pt)[1]);
	GUEST_ASSERT_WRITE_PF(alias + 8, PF_P | PF_W);
	GUEST_ASSERT_EQ(TAG(2), guest_peek(TEST_VA + 0x1000));

	/* Gone from the data view, still a table. */
	guest_ptr(pt)[256] = 0;
	guest_invlpg(alias);
	GUEST_ASSERT_READ_PF(alias, 0);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));

	/* B writes A's table through its own mapping of it. */
	guest_write_cr3(b);
	guest_poke(va_b, p2 | PTE_P | PTE_W | PTE_NX);
	guest_poke(va_b + 8, 0);
	guest_write_cr3(a);
	GUEST_ASSERT_EQ(TAG(2), guest_peek(TEST_VA));
	GUEST_ASSERT_READ_PF(TEST_VA + 0x1000, 0);
	guest_done();
}

TEST_F(vm, table_written_through_data_mapping)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_table_as_data, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/* Sign-extend bit 47. */
static uint64_t canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16);
}

/*
 * Where the recursive slot shows the entry of @va at @level: one more
 * pass through the slot per level above the leaf.
 */
static uint64_t rec_entry_va(uint64_t va, int level)
{
	uint64_t addr = REC_SLOT << 39;
	int i;

	va &= 0xffffffffffffULL;
	for (i = 1; i < level; i++)
		addr = REC_SLOT << 39 | addr >> 9;
	addr |= (va >> (9 * level)) & (0x7ffffffff8ULL >> (9 * (level - 1)));
	return canonical(addr);
}

/*
 * A PML4 that maps itself: the guest reads and writes its tables at every
 * level through the recursive slot, builds a new branch with it, and
 * finally removes the slot through itself.
 */
static void guest_recursive_pml4(void)
{
	const uint64_t va2 = 2 * SZ_512G + 5 * SZ_1G + 7 * SZ_2M;
	uint64_t as, pt, p1, p2, p3, pdpt, pd, pt2;
	int level;

	guest_begin();
	as = guest_as_new();
	p1 = guest_tagged_page(1);
	p2 = guest_tagged_page(2);
	p3 = guest_tagged_page(3);
	guest_map(as, TEST_VA, p1, 1, PTE_P | PTE_W | PTE_NX);
	pt = guest_table_of(as, TEST_VA, 1);
	guest_ptr(as)[REC_SLOT] = as | PTE_P | PTE_W | PTE_NX;
	guest_write_cr3(as);

	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));
	for (level = 1; level <= 4; level++)
		GUEST_ASSERT_EQ(*guest_entry(as, TEST_VA, level),
				guest_peek(rec_entry_va(TEST_VA, level)));
	/* The slot's own entry, seen as a PML4 entry through itself. */
	GUEST_ASSERT_EQ(guest_ptr(as)[REC_SLOT] & ~(PTE_A | PTE_D),
			guest_peek(rec_entry_va(REC_SLOT << 39, 4)) &
			~(PTE_A | PTE_D));

	/* A PTE rewritten through the slot. */
	guest_poke(rec_entry_va(TEST_VA, 1), p2 | PTE_P | PTE_W | PTE_NX);
	guest_invlpg(TEST_VA);
	GUEST_ASSERT_EQ(TAG(2), guest_peek(TEST_VA));
	GUEST_ASSERT_EQ(p2 | PTE_P | PTE_W | PTE_NX,
			guest_ptr(pt)[0] & ~(PTE_A | PTE_D));
	/* A new PTE through the slot, absent before: no flush. */
	guest_poke(rec_entry_va(TEST_VA + 0x5000, 1),
		   p3 | PTE_P | PTE_W | PTE_NX);
	GUEST_ASSERT_EQ(TAG(3), guest_peek(TEST_VA + 0x5000));

	/* A whole new branch, each table linked through the slot. */
	pdpt = guest_alloc_page();
	pd = guest_alloc_page();
	pt2 = guest_alloc_page();
	guest_poke(rec_entry_va(va2, 4), pdpt | PTE_P | PTE_W | PTE_U);
	guest_poke(rec_entry_va(va2, 3), pd | PTE_P | PTE_W | PTE_U);
	guest_poke(rec_entry_va(va2, 2), pt2 | PTE_P | PTE_W | PTE_U);
	guest_poke(rec_entry_va(va2, 1), p1 | PTE_P | PTE_W | PTE_NX);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(va2));
	GUEST_ASSERT_EQ(p1 | PTE_P | PTE_W | PTE_NX,
			guest_ptr(pt2)[pt_index(va2, 1)] & ~(PTE_A | PTE_D));

	/* Removed through the slot. */
	guest_poke(rec_entry_va(TEST_VA, 1), 0);
	guest_invlpg(TEST_VA);
	GUEST_ASSERT_READ_PF(TEST_VA, 0);
	GUEST_ASSERT_EQ(TAG(3), guest_peek(TEST_VA + 0x5000));

	/* The slot removes itself. */
	guest_poke(rec_entry_va(REC_SLOT << 39, 4), 0);
	guest_reload_cr3();
	GUEST_ASSERT_EQ(0, guest_ptr(as)[REC_SLOT]);
	GUEST_ASSERT_READ_PF(rec_entry_va(TEST_VA, 1), 0);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(va2));
	guest_done();
}

TEST_F(vm, recursive_pml4)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_recursive_pml4, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/*
 * A page table is unlinked and comes back as a data page (full of values
 * that look like entries), then as a page directory; another comes back
 * as a PML4 and is loaded.
 */
static void guest_table_reused(void)
{
	const uint64_t va_data = TEST_VA + SZ_1G, va_pd = TEST_VA + 2 * SZ_1G;
	uint64_t as, pt, pt2, pt3, p1, p2, p3, big, *pde;
	int i;

	guest_begin();
	as = guest_as_new();
	p1 = guest_tagged_page(1);
	p2 = guest_tagged_page(2);
	p3 = guest_tagged_page(3);
	big = guest_alloc_2m();
	guest_tag(big + 0x3000, 0x23);
	guest_map(as, TEST_VA, p1, 1, PTE_P | PTE_W | PTE_NX);
	guest_map(as, TEST_VA + 0x1000, p2, 1, PTE_P | PTE_W | PTE_NX);
	guest_map(as, TEST_VA + SZ_2M, p3, 1, PTE_P | PTE_W | PTE_NX);
	pt = guest_table_of(as, TEST_VA, 1);
	pt2 = guest_table_of(as, TEST_VA + SZ_2M, 1);
	guest_write_cr3(as);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));
	GUEST_ASSERT_EQ(TAG(2), guest_peek(TEST_VA + 0x1000));
	GUEST_ASSERT_EQ(TAG(3), guest_peek(TEST_VA + SZ_2M));

	/* Unlinked and flushed. */
	pde = guest_entry(as, TEST_VA, 2);
	*pde = 0;
	guest_reload_cr3();
	GUEST_ASSERT_READ_PF(TEST_VA, 0);
	GUEST_ASSERT_READ_PF(TEST_VA + 0x1000, 0);

	/* Data: entries that would map elsewhere, or nothing at all. */
	guest_map(as, va_data, pt, 1, PTE_P | PTE_W | PTE_NX);
	for (i = 0; i < 512; i++)
		guest_poke(va_data + 8 * i, i & 1 ? BAD_GPA | PTE_P | PTE_W :
					    p3 | PTE_P | PTE_W);
	for (i = 0; i < 512; i++)
		GUEST_ASSERT_EQ(i & 1 ? BAD_GPA | PTE_P | PTE_W :
					p3 | PTE_P | PTE_W,
				guest_ptr(pt)[i]);
	GUEST_ASSERT_READ_PF(TEST_VA, 0);

	/* A page directory, still written through its data mapping. */
	pt3 = guest_alloc_page();
	guest_ptr(pt3)[0] = p1 | PTE_P | PTE_W | PTE_NX;
	for (i = 0; i < 512; i++)
		guest_poke(va_data + 8 * i, 0);
	guest_poke(va_data, pt3 | PTE_P | PTE_W | PTE_U);
	*guest_entry(as, va_pd, 3) = pt | PTE_P | PTE_W | PTE_U;
	GUEST_ASSERT_EQ(TAG(1), guest_peek(va_pd));
	guest_poke(va_data + 8, big | PTE_P | PTE_W | PTE_PS | PTE_NX);
	GUEST_ASSERT_EQ(TAG(0x23), guest_peek(va_pd + SZ_2M + 0x3000));
	guest_poke(va_data, 0);
	guest_invlpg(va_pd);
	GUEST_ASSERT_READ_PF(va_pd, 0);

	/* The other page table becomes a PML4 of its own. */
	*guest_entry(as, TEST_VA + SZ_2M, 2) = 0;
	guest_reload_cr3();
	GUEST_ASSERT_READ_PF(TEST_VA + SZ_2M, 0);
	for (i = 0; i < 512; i++)
		guest_ptr(pt2)[i] = guest_ptr(as)[i];
	guest_write_cr3(pt2);
	GUEST_ASSERT_EQ(TAG(0x23), guest_peek(va_pd + SZ_2M + 0x3000));
	GUEST_ASSERT_READ_PF(TEST_VA, 0);
	guest_ptr(pt2)[pt_index(TEST_VA, 4)] = 0;
	guest_reload_cr3();
	GUEST_ASSERT_READ_PF(va_pd + SZ_2M, 0);
	guest_write_cr3(as);
	GUEST_ASSERT_EQ(TAG(0x23), guest_peek(va_pd + SZ_2M + 0x3000));
	guest_done();
}

TEST_F(vm, table_page_reused_as_data_and_other_levels)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_table_reused, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

#define NR_MANY		128
#define MANY_STRIDE	37	/* coprime with NR_MANY: a scrambled order */

/*
 * More address spaces than any cache of roots holds, each mapping
 * TEST_VA to a page of its own: visited in order, in a scrambled order
 * while each edits the tables of the next one to be visited, and
 * backwards.
 */
static void guest_many_spaces(void)
{
	static uint64_t as[NR_MANY], page[NR_MANY];
	uint64_t shared;
	int i, k;

	guest_begin();
	shared = guest_tagged_page(0xffff);
	for (i = 0; i < NR_MANY; i++) {
		as[i] = guest_as_new();
		page[i] = guest_tagged_page(i);
		guest_map(as[i], TEST_VA, page[i], 1, PTE_P | PTE_W | PTE_NX);
		guest_map(as[i], TEST_VA + 0x1000, shared, 1,
			  PTE_P | PTE_W | PTE_NX);
	}
	for (i = 0; i < NR_MANY; i++) {
		guest_write_cr3(as[i]);
		GUEST_ASSERT_EQ(TAG(i), guest_peek(TEST_VA));
		guest_poke(TEST_VA + 8, i);
		GUEST_ASSERT_EQ(TAG(0xffff), guest_peek(TEST_VA + 0x1000));
	}
	for (i = 0; i < NR_MANY; i++)
		GUEST_ASSERT_EQ(i, guest_ptr(page[i])[1]);

	/* Space n points the next one at the page after its own. */
	for (k = 0; k < NR_MANY; k++) {
		int n = k * MANY_STRIDE % NR_MANY;
		int m = (k + 1) * MANY_STRIDE % NR_MANY;

		guest_write_cr3(as[n]);
		GUEST_ASSERT_EQ(TAG(k ? (n + 1) % NR_MANY : n),
				guest_peek(TEST_VA));
		*guest_entry(as[m], TEST_VA, 1) = page[(m + 1) % NR_MANY] |
						  PTE_P | PTE_W | PTE_NX;
		if (m % 8 == 0)
			*guest_entry(as[m], TEST_VA + 0x1000, 1) = 0;
	}
	for (i = NR_MANY - 1; i >= 0; i--) {
		guest_write_cr3(as[i]);
		GUEST_ASSERT_EQ(TAG((i + 1) % NR_MANY), guest_peek(TEST_VA));
		if (i % 8 == 0)
			GUEST_ASSERT_READ_PF(TEST_VA + 0x1000, 0);
		else
			GUEST_ASSERT_EQ(TAG(0xffff),
					guest_peek(TEST_VA + 0x1000));
	}
	guest_done();
}

TEST_F_TIMEOUT(vm, many_address_spaces, 120)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_many_spaces, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/*
 * Two spaces map one page through tables of their own: each access sets
 * the bits of the space that made it, and bits cleared while a space is
 * not loaded are set again after it is.
 */
static void guest_ad_per_space(void)
{
	uint64_t a, b, page, *ea, *eb;

	guest_begin();
	a = guest_as_new();
	b = guest_as_new();
	page = guest_tagged_page(1);
	guest_map(a, TEST_VA, page, 1, PTE_P | PTE_W | PTE_NX);
	guest_map(b, TEST_VA, page, 1, PTE_P | PTE_W | PTE_NX);
	ea = guest_entry(a, TEST_VA, 1);
	eb = guest_entry(b, TEST_VA, 1);

	guest_write_cr3(a);
	guest_peek(TEST_VA);
	GUEST_ASSERT_EQ(PTE_A, *ea & (PTE_A | PTE_D));
	GUEST_ASSERT_EQ(0, *eb & (PTE_A | PTE_D));
	guest_write_cr3(b);
	guest_poke(TEST_VA + 8, 1);
	GUEST_ASSERT_EQ(PTE_A | PTE_D, *eb & (PTE_A | PTE_D));
	GUEST_ASSERT_EQ(PTE_A, *ea & (PTE_A | PTE_D));
	guest_write_cr3(a);
	guest_peek(TEST_VA);
	GUEST_ASSERT_EQ(PTE_A, *ea & (PTE_A | PTE_D));
	guest_poke(TEST_VA + 8, 2);
	GUEST_ASSERT_EQ(PTE_A | PTE_D, *ea & (PTE_A | PTE_D));

	/* Cleared in A from B: A's next accesses set them again. */
	guest_write_cr3(b);
	*ea &= ~(PTE_A | PTE_D);
	guest_poke(TEST_VA + 8, 3);
	guest_write_cr3(a);
	GUEST_ASSERT_EQ(0, *ea & (PTE_A | PTE_D));
	guest_peek(TEST_VA);
	GUEST_ASSERT_EQ(PTE_A, *ea & (PTE_A | PTE_D));
	guest_poke(TEST_VA + 8, 4);
	GUEST_ASSERT_EQ(PTE_A | PTE_D, *ea & (PTE_A | PTE_D));

	/* Dirty cleared while A is loaded, then a CR3 load: set again. */
	*ea &= ~PTE_D;
	guest_reload_cr3();
	guest_poke(TEST_VA + 8, 5);
	GUEST_ASSERT_EQ(PTE_A | PTE_D, *ea & (PTE_A | PTE_D));
	/* And B's bits were left alone by all of A's accesses. */
	*eb &= ~(PTE_A | PTE_D);
	guest_write_cr3(a);
	guest_poke(TEST_VA + 8, 6);
	GUEST_ASSERT_EQ(0, *eb & (PTE_A | PTE_D));
	GUEST_ASSERT_EQ(6, guest_ptr(page)[1]);
	guest_done();
}

TEST_F(vm, accessed_dirty_per_space)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_ad_per_space, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/*
 * A space whose identity map leaves out its own page table (the 2 MiB
 * page around it split into 4 KiB pages): the table still translates,
 * the data view of it faults; made read-only, a write to it is the
 * guest's #PF, not a fault for pvisor to resolve; made writable, a write
 * to it changes the mapping.
 */
static void guest_table_without_data_view(void)
{
	uint64_t as, pt, p1, p2, pdpt, pd, lpd, idmap, region, *id_pte;
	int i;

	guest_begin();
	lpd = guest_ptr(guest_launcher_cr3 & PTE_ADDR)[0] & PTE_ADDR;
	lpd = guest_ptr(lpd)[0] & PTE_ADDR;
	p1 = guest_tagged_page(1);
	p2 = guest_tagged_page(2);
	as = guest_as_new();
	guest_map(as, TEST_VA, p1, 1, PTE_P | PTE_W | PTE_NX);
	pt = guest_table_of(as, TEST_VA, 1);
	region = pt & ~(SZ_2M - 1);

	/* The launcher's PD for the first GiB, copied, one entry split. */
	pdpt = guest_ptr(as)[0] & PTE_ADDR;
	pd = guest_alloc_page();
	idmap = guest_alloc_page();
	GUEST_ASSERT_EQ(region, idmap & ~(SZ_2M - 1));
	for (i = 0; i < 512; i++)
		guest_ptr(pd)[i] = guest_ptr(lpd)[i];
	for (i = 0; i < 512; i++)
		guest_ptr(idmap)[i] = (region + i * GUEST_PAGE_SIZE) |
				      PTE_P | PTE_W;
	id_pte = &guest_ptr(idmap)[pt_index(pt, 1)];
	*id_pte = 0;
	guest_ptr(pd)[pt_index(region, 2)] = idmap | PTE_P | PTE_W;
	guest_ptr(pdpt)[0] = pd | PTE_P | PTE_W;

	guest_write_cr3(as);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));
	GUEST_ASSERT_READ_PF(pt, 0);
	GUEST_ASSERT_WRITE_PF(pt, PF_W);

	*id_pte = pt | PTE_P;
	guest_invlpg(pt);
	GUEST_ASSERT_READ(pt + 8, 0);
	GUEST_ASSERT_WRITE_PF(pt, PF_P | PF_W);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));

	*id_pte = pt | PTE_P | PTE_W;
	guest_invlpg(pt);
	guest_ptr(pt)[0] = p2 | PTE_P | PTE_W | PTE_NX;
	guest_invlpg(TEST_VA);
	GUEST_ASSERT_EQ(TAG(2), guest_peek(TEST_VA));
	guest_done();
}

TEST_F(vm, table_not_mapped_as_data)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_table_without_data_view, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/*
 * 2 MiB and 1 GiB pages in two spaces, their entries changed while the
 * space is not loaded: remapped, split into smaller pages, removed.
 */
static void guest_large_pages_cached(void)
{
	const uint64_t va_1g = TEST_VA + SZ_1G;
	uint64_t a, b, big1, big2, p, pt, pd;
	bool gbpages = guest_cpuid(0x80000001, 0).edx & (1u << 26);

	guest_begin();
	a = guest_as_new();
	b = guest_as_new();
	big1 = guest_alloc_2m();
	big2 = guest_alloc_2m();
	guest_tag(big1 + 0x3000, 0x13);
	guest_tag(big1 + 0x1ff000, 0x1f);
	guest_tag(big2 + 0x3000, 0x23);
	guest_tag(big2 + 0x1ff000, 0x2f);
	p = guest_tagged_page(7);
	guest_map(a, TEST_VA, big1, 2, PTE_P | PTE_W | PTE_NX);
	guest_map(b, TEST_VA, big2, 2, PTE_P | PTE_W | PTE_NX);
	/* Both map guest memory at va_1g: a 1 GiB page, or 2 MiB pages. */
	if (gbpages) {
		guest_map(a, va_1g, 0, 3, PTE_P | PTE_W | PTE_NX);
		guest_map(b, va_1g, 0, 3, PTE_P | PTE_W | PTE_NX);
	} else {
		guest_map(a, va_1g + big2, big2, 2, PTE_P | PTE_W | PTE_NX);
		guest_map(b, va_1g + big1, big1, 2, PTE_P | PTE_W | PTE_NX);
	}

	guest_write_cr3(a);
	GUEST_ASSERT_EQ(TAG(0x13), guest_peek(TEST_VA + 0x3000));
	GUEST_ASSERT_EQ(TAG(0x1f), guest_peek(TEST_VA + 0x1ff000));
	GUEST_ASSERT_EQ(TAG(0x23), guest_peek(va_1g + big2 + 0x3000));
	guest_write_cr3(b);
	GUEST_ASSERT_EQ(TAG(0x23), guest_peek(TEST_VA + 0x3000));
	GUEST_ASSERT_EQ(TAG(0x13), guest_peek(va_1g + big1 + 0x3000));

	/* From B: A's 2 MiB page moves to the other 2 MiB of memory. */
	*guest_entry(a, TEST_VA, 2) = big2 | PTE_P | PTE_W | PTE_PS | PTE_NX;
	guest_write_cr3(a);
	GUEST_ASSERT_EQ(TAG(0x23), guest_peek(TEST_VA + 0x3000));
	GUEST_ASSERT_EQ(TAG(0x2f), guest_peek(TEST_VA + 0x1ff000));

	/* From A: B's 2 MiB page becomes a table with one 4 KiB page. */
	pt = guest_alloc_page();
	guest_ptr(pt)[3] = p | PTE_P | PTE_W | PTE_NX;
	*guest_entry(b, TEST_VA, 2) = pt | PTE_P | PTE_W | PTE_U;
	guest_write_cr3(b);
	GUEST_ASSERT_EQ(TAG(7), guest_peek(TEST_VA + 0x3000));
	GUEST_ASSERT_READ_PF(TEST_VA + 0x4000, 0);
	GUEST_ASSERT_READ_PF(TEST_VA + 0x1ff000, 0);

	/* From B: A's 1 GiB page (or its directory) becomes another. */
	pd = guest_alloc_page();
	guest_ptr(pd)[1] = big2 | PTE_P | PTE_W | PTE_PS | PTE_NX;
	*guest_entry(a, va_1g, 3) = pd | PTE_P | PTE_W | PTE_U;
	guest_write_cr3(a);
	GUEST_ASSERT_EQ(TAG(0x23), guest_peek(va_1g + SZ_2M + 0x3000));
	GUEST_ASSERT_READ_PF(va_1g + big2 + 0x3000, 0);
	/* And from A: B's goes entirely. */
	*guest_entry(b, va_1g, 3) = 0;
	guest_write_cr3(b);
	GUEST_ASSERT_READ_PF(va_1g + big1 + 0x3000, 0);
	GUEST_ASSERT_EQ(TAG(7), guest_peek(TEST_VA + 0x3000));
	guest_done();
}

TEST_F(vm, large_pages_in_cached_spaces)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_large_pages_cached, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/* PVISOR_HC_MMU_BATCH. */

static struct pvisor_mmu_op guest_ops[PVISOR_MMU_BATCH_MAX + 1];

static uint64_t guest_mmu_batch(const void *ops, uint64_t count)
{
	return guest_hypercall(PVISOR_HC_MMU_BATCH, (uintptr_t)ops, count);
}

static void guest_op(unsigned int i, uint32_t op, uint64_t addr, uint64_t val)
{
	guest_ops[i].op = op;
	guest_ops[i].flags = 0;
	guest_ops[i].addr = addr;
	guest_ops[i].val = val;
}

static void guest_set_pte(unsigned int i, uint64_t *entry, uint64_t val)
{
	guest_op(i, PVISOR_MMU_SET_PTE, (uintptr_t)entry, val);
}

/* The hypercall is required: -PVISOR_ENOSYS is a failure of its own. */
static void guest_batch_expect(uint64_t count, uint64_t expected, int line)
{
	uint64_t r = guest_mmu_batch(guest_ops, count);

	if (r == HC_ERR(PVISOR_ENOSYS))
		guest_fail("PVISOR_HC_MMU_BATCH: -PVISOR_ENOSYS, no PV MMU in this module\n",
			   line);
	if (r != expected)
		guest_fail_eq(GUEST_WHERE "PVISOR_HC_MMU_BATCH result",
			      expected, r, line);
}

/* Apply guest_ops[0 .. @n): all must be taken. */
#define GUEST_BATCH(n)		guest_batch_expect((n), (n), __LINE__)
/* Apply guest_ops[0 .. @n) and expect @result. */
#define GUEST_BATCH_RESULT(n, result)					\
	guest_batch_expect((n), (result), __LINE__)

/*
 * SET_PTE maps (no flush needed for an absent entry), remaps and unmaps
 * with INVLPG or FLUSH, takes rights away, links new tables and writes
 * the tables of a space that is not loaded; the guest's entry holds
 * exactly the value written, and the walk's accessed and dirty bits land
 * on top of it.
 */
static void guest_batch_set_pte(void)
{
	uint64_t a, b, p1, p2, p3, pt, *e0, *e1, *e2, *pde, *eb;
	const uint64_t va_new = TEST_VA + 4 * SZ_2M, va_b = TEST_VA + SZ_1G;

	guest_begin();
	a = guest_as_new();
	b = guest_as_new();
	p1 = guest_tagged_page(1);
	p2 = guest_tagged_page(2);
	p3 = guest_tagged_page(3);
	guest_map(a, TEST_VA, p1, 1, PTE_P | PTE_W | PTE_NX);
	e0 = guest_entry(a, TEST_VA, 1);
	e1 = guest_entry(a, TEST_VA + 0x1000, 1);
	e2 = guest_entry(a, TEST_VA + 0x2000, 1);
	guest_map(b, va_b, p1, 1, PTE_P | PTE_W | PTE_NX);
	eb = guest_entry(b, va_b, 1);
	guest_write_cr3(a);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));

	/* Absent to present: one op, no flush. */
	guest_set_pte(0, e1, p2 | PTE_P | PTE_W | PTE_NX);
	GUEST_BATCH(1);
	GUEST_ASSERT_EQ(p2 | PTE_P | PTE_W | PTE_NX, *e1);
	GUEST_ASSERT_EQ(TAG(2), guest_peek(TEST_VA + 0x1000));
	GUEST_ASSERT_EQ(p2 | PTE_P | PTE_W | PTE_NX | PTE_A, *e1);

	/* Remapped, then INVLPG. */
	guest_set_pte(0, e0, p3 | PTE_P | PTE_W | PTE_NX);
	guest_op(1, PVISOR_MMU_INVLPG, TEST_VA, 0);
	GUEST_BATCH(2);
	GUEST_ASSERT_EQ(TAG(3), guest_peek(TEST_VA));
	guest_poke(TEST_VA + 8, 1);
	GUEST_ASSERT_EQ(p3 | PTE_P | PTE_W | PTE_NX | PTE_A | PTE_D, *e0);

	/* Made read-only, then INVLPG: writes fault, reads do not. */
	guest_set_pte(0, e0, p3 | PTE_P | PTE_NX);
	guest_op(1, PVISOR_MMU_INVLPG, TEST_VA, 0);
	GUEST_BATCH(2);
	GUEST_ASSERT_WRITE_PF(TEST_VA + 8, PF_P | PF_W);
	GUEST_ASSERT_READ(TEST_VA + 8, 1);

	/* Unmapped, then INVLPG. */
	guest_set_pte(0, e0, 0);
	guest_op(1, PVISOR_MMU_INVLPG, TEST_VA, 0);
	GUEST_BATCH(2);
	GUEST_ASSERT_EQ(0, *e0);
	GUEST_ASSERT_READ_PF(TEST_VA, 0);

	/* Two remapped, then FLUSH. */
	guest_set_pte(0, e0, p2 | PTE_P | PTE_W | PTE_NX);
	guest_set_pte(1, e1, p1 | PTE_P | PTE_W | PTE_NX);
	guest_op(2, PVISOR_MMU_FLUSH, 0, 0);
	GUEST_BATCH(3);
	GUEST_ASSERT_EQ(TAG(2), guest_peek(TEST_VA));
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA + 0x1000));

	/* An absent entry may hold anything: it stays absent. */
	guest_set_pte(0, e2, BAD_GPA | PTE_W | PTE_NX);
	GUEST_BATCH(1);
	GUEST_ASSERT_EQ(BAD_GPA | PTE_W | PTE_NX, *e2);
	GUEST_ASSERT_READ_PF(TEST_VA + 0x2000, 0);

	/* A new table, filled and then linked in one batch. */
	pt = guest_alloc_page();
	pde = guest_entry(a, va_new, 2);
	guest_set_pte(0, &guest_ptr(pt)[pt_index(va_new, 1)],
		      p3 | PTE_P | PTE_W | PTE_NX);
	guest_set_pte(1, pde, pt | PTE_P | PTE_W | PTE_U);
	GUEST_BATCH(2);
	GUEST_ASSERT_EQ(TAG(3), guest_peek(va_new));
	GUEST_ASSERT_EQ(pt | PTE_P | PTE_W | PTE_U | PTE_A, *pde);

	/* Space B's table, B not loaded: seen at B's next CR3 load. */
	guest_write_cr3(b);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(va_b));
	guest_write_cr3(a);
	guest_set_pte(0, eb, p2 | PTE_P | PTE_W | PTE_NX);
	guest_set_pte(1, eb + 1, p3 | PTE_P | PTE_W | PTE_NX);
	GUEST_BATCH(2);
	guest_write_cr3(b);
	GUEST_ASSERT_EQ(TAG(2), guest_peek(va_b));
	GUEST_ASSERT_EQ(TAG(3), guest_peek(va_b + 0x1000));
	guest_done();
}

TEST_F(vm, batch_set_pte)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_batch_set_pte, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/*
 * The largest batch: 256 new pages mapped by one call, then half of them
 * unmapped with 128 INVLPGs in the next.
 */
static void guest_batch_max(void)
{
	uint64_t as, pt, page[PVISOR_MMU_BATCH_MAX];
	int i;

	guest_begin();
	as = guest_as_new();
	pt = guest_table_of(as, TEST_VA, 1);
	guest_write_cr3(as);
	for (i = 0; i < PVISOR_MMU_BATCH_MAX; i++) {
		page[i] = guest_tagged_page(i);
		guest_set_pte(i, &guest_ptr(pt)[i],
			      page[i] | PTE_P | PTE_W | PTE_NX);
	}
	GUEST_BATCH(PVISOR_MMU_BATCH_MAX);
	for (i = 0; i < PVISOR_MMU_BATCH_MAX; i++) {
		GUEST_ASSERT_EQ(page[i] | PTE_P | PTE_W | PTE_NX,
				guest_ptr(pt)[i]);
		GUEST_ASSERT_EQ(TAG(i), guest_peek(TEST_VA + i * 0x1000));
	}
	for (i = 0; i < PVISOR_MMU_BATCH_MAX / 2; i++) {
		guest_set_pte(2 * i, &guest_ptr(pt)[2 * i], 0);
		guest_op(2 * i + 1, PVISOR_MMU_INVLPG,
			 TEST_VA + 2 * i * 0x1000, 0);
	}
	GUEST_BATCH(PVISOR_MMU_BATCH_MAX);
	for (i = 0; i < PVISOR_MMU_BATCH_MAX; i++) {
		if (i % 2 == 0)
			GUEST_ASSERT_READ_PF(TEST_VA + i * 0x1000, 0);
		else
			GUEST_ASSERT_EQ(TAG(i),
					guest_peek(TEST_VA + i * 0x1000));
	}
	guest_done();
}

TEST_F(vm, batch_of_256_ops)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_batch_max, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/* Array-level refusals: nothing is applied, the VM lives on. */
static void guest_batch_bad_array(void)
{
	struct pvisor_mmu_op *last;
	uint64_t as, page, mem_size, *e;
	int i;

	guest_begin();
	mem_size = guest_get_info(PVISOR_INFO_MEM_SIZE);
	as = guest_as_new();
	page = guest_tagged_page(1);
	e = guest_entry(as, TEST_VA, 1);
	guest_write_cr3(as);
	for (i = 0; i <= PVISOR_MMU_BATCH_MAX; i++)
		guest_set_pte(i, e, page | PTE_P | PTE_W | PTE_NX);

	/* One op too many. */
	GUEST_BATCH_RESULT(PVISOR_MMU_BATCH_MAX + 1, HC_ERR(PVISOR_EINVAL));
	GUEST_ASSERT_EQ(0, *e);
	GUEST_ASSERT_EQ(HC_ERR(PVISOR_EINVAL), guest_mmu_batch(guest_ops, ~0ULL));
	GUEST_ASSERT_EQ(0, *e);
	/* Misaligned. */
	GUEST_ASSERT_EQ(HC_ERR(PVISOR_EINVAL),
			guest_mmu_batch((char *)guest_ops + 4, 1));
	GUEST_ASSERT_EQ(0, *e);
	/* Outside guest memory, wholly or in part. */
	GUEST_ASSERT_EQ(HC_ERR(PVISOR_EFAULT),
			guest_mmu_batch((void *)BAD_GPA, 1));
	GUEST_ASSERT_EQ(HC_ERR(PVISOR_EFAULT),
			guest_mmu_batch((void *)-8ULL, 1));
	GUEST_ASSERT_EQ(HC_ERR(PVISOR_EFAULT),
			guest_mmu_batch((void *)(mem_size - 8), 1));
	GUEST_ASSERT_EQ(HC_ERR(PVISOR_EFAULT),
			guest_mmu_batch((void *)(mem_size -
						 sizeof(guest_ops[0])), 2));
	GUEST_ASSERT_EQ(0, *e);
	/* The last op of memory is read: zeroes are an unknown op. */
	last = (struct pvisor_mmu_op *)(mem_size - sizeof(*last));
	last->op = 0;
	last->flags = 0;
	GUEST_ASSERT_EQ(0, guest_mmu_batch(last, 1));
	GUEST_ASSERT_READ_PF(TEST_VA, 0);
	/* After all that, a good one. */
	GUEST_BATCH(1);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));
	guest_done();
}

TEST_F(vm, batch_refuses_bad_arrays)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_batch_bad_array, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

enum bad_op {
	BAD_OP_ZERO, BAD_OP_NEXT, BAD_OP_ALL_ONES, BAD_FLAGS_SET_PTE,
	BAD_FLAGS_INVLPG, BAD_FLAGS_TOP, BAD_ADDR_MISALIGNED,
	BAD_ADDR_OUTSIDE, BAD_ADDR_END, BAD_ADDR_WRAP, BAD_VAL_MAXPHYADDR,
	BAD_VAL_BIT51, BAD_VAL_OUTSIDE, BAD_VAL_END, NR_BAD_OPS
};

static uint64_t guest_bad_results[NR_BAD_OPS];

/*
 * Op @kind as op 1 of 3 (between two good SET_PTEs), then as op 0 of 2:
 * the result is the index of the bad op, and neither it nor any op after
 * it changed an entry.  Returns false when the CPU cannot express @kind.
 */
static bool guest_bad_op(enum bad_op kind, uint64_t mem_size,
			 unsigned int maxphyaddr, uint64_t *e, uint64_t page)
{
	struct pvisor_mmu_op *op = &guest_ops[1];
	uint64_t good = page | PTE_P | PTE_W | PTE_NX;
	int i;

	guest_set_pte(0, &e[0], good);
	guest_set_pte(1, &e[1], good);
	guest_set_pte(2, &e[2], good);
	switch (kind) {
	case BAD_OP_ZERO:
		op->op = 0;
		break;
	case BAD_OP_NEXT:
		op->op = PVISOR_MMU_FLUSH + 1;
		break;
	case BAD_OP_ALL_ONES:
		op->op = ~0U;
		break;
	case BAD_FLAGS_SET_PTE:
		op->flags = 1;
		break;
	case BAD_FLAGS_INVLPG:
		guest_op(1, PVISOR_MMU_INVLPG, TEST_VA, 0);
		op->flags = 2;
		break;
	case BAD_FLAGS_TOP:
		op->flags = 0x80000000;
		break;
	case BAD_ADDR_MISALIGNED:
		op->addr += 4;
		break;
	case BAD_ADDR_OUTSIDE:
		op->addr = BAD_GPA;
		break;
	case BAD_ADDR_END:
		op->addr = mem_size;
		break;
	case BAD_ADDR_WRAP:
		op->addr = -8ULL;
		break;
	case BAD_VAL_MAXPHYADDR:
		if (maxphyaddr >= 52)
			return false;
		op->val |= BIT_ULL(maxphyaddr);
		break;
	case BAD_VAL_BIT51:
		if (maxphyaddr >= 52)
			return false;
		op->val |= BIT_ULL(51);
		break;
	case BAD_VAL_OUTSIDE:
		op->val = BAD_GPA | PTE_P | PTE_W;
		break;
	case BAD_VAL_END:
		op->val = mem_size | PTE_P | PTE_W;
		break;
	case NR_BAD_OPS:
		return false;
	}
	GUEST_BATCH_RESULT(3, 1);
	GUEST_ASSERT_EQ(good, e[0]);
	GUEST_ASSERT_EQ(0, e[1]);
	GUEST_ASSERT_EQ(0, e[2]);
	GUEST_ASSERT_EQ(0, e[3]);

	/* First of two: nothing at all. */
	e[0] = 0;
	guest_invlpg(TEST_VA);
	guest_ops[0] = guest_ops[1];
	guest_set_pte(1, &e[1], good);
	GUEST_BATCH_RESULT(2, 0);
	for (i = 0; i < 4; i++)
		GUEST_ASSERT_EQ(0, e[i]);
	return true;
}

/* Every kind of bad op, as op 1 and as op 0, then as op 255 of 256. */
static void guest_batch_bad_ops(void)
{
	unsigned int maxphyaddr = guest_cpuid(0x80000008, 0).eax & 0xff;
	uint64_t as, page, mem_size, pt, *e;
	int kind, i;

	guest_begin();
	mem_size = guest_get_info(PVISOR_INFO_MEM_SIZE);
	as = guest_as_new();
	page = guest_tagged_page(1);
	pt = guest_table_of(as, TEST_VA, 1);
	e = guest_ptr(pt);
	guest_write_cr3(as);
	for (kind = 0; kind < NR_BAD_OPS; kind++) {
		guest_bad_results[kind] = guest_bad_op(kind, mem_size,
						       maxphyaddr, e, page);
		GUEST_ASSERT_READ_PF(TEST_VA, 0);
	}

	for (i = 0; i < PVISOR_MMU_BATCH_MAX; i++)
		guest_set_pte(i, &e[i], page | PTE_P | PTE_W | PTE_NX);
	guest_ops[PVISOR_MMU_BATCH_MAX - 1].op = 0;
	GUEST_BATCH_RESULT(PVISOR_MMU_BATCH_MAX, PVISOR_MMU_BATCH_MAX - 1);
	GUEST_ASSERT_EQ(0, e[PVISOR_MMU_BATCH_MAX - 1]);
	GUEST_ASSERT_EQ(page | PTE_P | PTE_W | PTE_NX,
			e[PVISOR_MMU_BATCH_MAX - 2]);
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA));
	GUEST_ASSERT_EQ(TAG(1), guest_peek(TEST_VA + 254 * 0x1000));
	GUEST_ASSERT_READ_PF(TEST_VA + 255 * 0x1000, 0);
	guest_done();
}

TEST_F(vm, batch_stops_at_bad_op)
{
	uint64_t *done;
	int kind;

	RETURN_IF_SKIPPED();
	PAGING_START(guest_batch_bad_ops, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	done = *GUEST_VAR(&self->t, guest_bad_results);
	for (kind = 0; kind < NR_BAD_OPS; kind++)
		if (!done[kind])
			TH_LOG("bad op %d not tried: MAXPHYADDR is 52", kind);
}

/*
 * The operands the ABI says are 0 (INVLPG's value, FLUSH's address and
 * value) are checked like flags: anything else is refused.
 */
static void guest_batch_reserved_operands(void)
{
	uint64_t as, page, *e;
	int i;

	guest_begin();
	as = guest_as_new();
	page = guest_tagged_page(1);
	e = guest_entry(as, TEST_VA, 1);
	guest_write_cr3(as);
	for (i = 0; i < 3; i++) {
		guest_set_pte(0, e, page | PTE_P | PTE_W | PTE_NX);
		switch (i) {
		case 0:
			guest_op(1, PVISOR_MMU_INVLPG, TEST_VA, 1);
			break;
		case 1:
			guest_op(1, PVISOR_MMU_FLUSH, TEST_VA, 0);
			break;
		case 2:
			guest_op(1, PVISOR_MMU_FLUSH, 0, 1);
			break;
		}
		guest_set_pte(2, e, 0);
		GUEST_BATCH_RESULT(3, 1);
		GUEST_ASSERT_EQ(page | PTE_P | PTE_W | PTE_NX, *e);
		*e = 0;
		guest_invlpg(TEST_VA);
	}
	guest_done();
}

TEST_F(vm, batch_refuses_nonzero_reserved_operands)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_batch_reserved_operands, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/* CPL 3: the batch in RDI (one SET_PTE), its result kept in R12. */
GUEST_ASM(void, guest_user_batch, (void),
	  "	mov $" GUEST_STR(PVISOR_HC_MMU_BATCH) ", %eax\n"
	  "	mov $1, %esi\n"
	  "	vmcall\n"
	  "	mov %rax, %r12\n"
	  "	int $" GUEST_STR(GUEST_USER_VECTOR) "\n"
	  "	ud2\n");

static uint64_t guest_user_stack[512];
static uint64_t *guest_user_entry;

static void guest_user_back(struct guest_frame *f)
{
	if (f->vector != GUEST_USER_VECTOR)
		guest_exception_fatal(f, "guest: exception at CPL 3, vector ");
	guest_exc_hook = NULL;
	GUEST_ASSERT_EQ(3, f->cs & 3);
	GUEST_ASSERT_EQ(HC_ERR(PVISOR_EPERM), f->r12);
	GUEST_ASSERT_EQ(0, *guest_user_entry);
	/* The same batch from CPL 0 is taken. */
	GUEST_BATCH(1);
	GUEST_ASSERT_EQ(guest_ops[0].val, *guest_user_entry);
	guest_shutdown(0x600d);
}

static void guest_batch_cpl3(void)
{
	uint64_t page;

	guest_begin();
	guest_user_setup();
	page = guest_tagged_page(1);
	guest_user_entry = guest_entry(guest_read_cr3() & PTE_ADDR, TEST_VA,
				       1);
	guest_set_pte(0, guest_user_entry, page | PTE_P | PTE_W | PTE_NX);
	guest_exc_hook = guest_user_back;
	guest_enter_user((uintptr_t)guest_user_batch,
			 (uintptr_t)(guest_user_stack +
				     ARRAY_SIZE(guest_user_stack)),
			 (uintptr_t)guest_ops);
}

TEST_F(vm, batch_from_cpl3_is_refused)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_batch_cpl3, 0, 0);
	ASSERT_EQ(0x600d, VM_RUN_TO_SHUTDOWN(&self->t));
}

TEST_HARNESS_MAIN

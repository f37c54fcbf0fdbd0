// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow paging: each vCPU has 4-level shadow page tables, loaded as the
 * real CR3, that map guest-virtual addresses to host-physical pages.  They
 * are filled on demand at guest page faults from a walk of the guest's own
 * page tables and behave like a TLB: a CR3 load empties them, INVLPG drops
 * one translation, and what the guest changes in its tables becomes visible
 * at those events, as the architecture promises.  Guest large pages (2 MiB,
 * 1 GiB) are shadowed with 4 KiB pages; the shadow entry above them is
 * marked so that INVLPG drops the whole large page.
 *
 * The walk sets accessed and dirty bits in the guest's entries as the CPU
 * would; a page the guest may write but has not dirtied is shadowed
 * read-only, so the first write faults and sets the dirty bit.
 *
 * Context: the fault and INVLPG paths run with preemption disabled and must
 * not sleep, so shadow table pages come from a per-vCPU cache that the run
 * loop refills (pvisor_mmu_topup) when a fault finds it empty.  Guest page
 * tables are read through the pinned pages of the memory slots, under
 * slots_lock held for reading.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <asm/io.h>
#include <asm/page.h>
#include <asm/traps.h>
#include <asm/trap_pf.h>
#include <asm/vmx.h>

#include "capabilities.h"
#include "pvisor.h"
#include "vmx.h"
#include "vmx_ops.h"

#define PTE_P		BIT_ULL(0)
#define PTE_W		BIT_ULL(1)
#define PTE_U		BIT_ULL(2)
#define PTE_A		BIT_ULL(5)
#define PTE_D		BIT_ULL(6)
#define PTE_PS		BIT_ULL(7)
#define PTE_NX		BIT_ULL(63)
#define PTE_ADDR	GENMASK_ULL(51, 12)
/* Shadow only: the table below shadows one guest large page. */
#define SPTE_LARGE	BIT_ULL(9)

#define LEVEL_SHIFT(l)	(PAGE_SHIFT + 9 * ((l) - 1))

static unsigned int pt_index(unsigned long gva, int level)
{
	return (gva >> LEVEL_SHIFT(level)) & 511;
}

int pvisor_mmu_init(struct pvisor_vcpu *vcpu)
{
	struct page *root = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!root)
		return -ENOMEM;
	vcpu->mmu.root = page_address(root);
	vcpu->mmu.nr_pages = 1;
	return 0;
}

/* Refill the cache of zeroed shadow table pages; may sleep. */
int pvisor_mmu_topup(struct pvisor_vcpu *vcpu)
{
	struct pvisor_mmu *mmu = &vcpu->mmu;

	while (mmu->nr_cache < PVISOR_SHADOW_CACHE) {
		struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

		if (!page)
			return -ENOMEM;
		mmu->cache[mmu->nr_cache++] = page;
	}
	return 0;
}

static u64 *cache_take(struct pvisor_mmu *mmu)
{
	if (!mmu->nr_cache)
		return NULL;
	mmu->nr_pages++;
	return page_address(mmu->cache[--mmu->nr_cache]);
}

/* Free a shadow table of @level (3: PDPT .. 1: PT) and all below it. */
static unsigned long free_table(u64 *table, int level)
{
	unsigned long freed = 1;
	int i;

	if (level > 1)
		for (i = 0; i < 512; i++)
			if (table[i] & PTE_P)
				freed += free_table(__va(table[i] & PTE_ADDR),
						    level - 1);
	free_page((unsigned long)table);
	return freed;
}

static void zap_entry(struct pvisor_mmu *mmu, u64 *entry, int level)
{
	mmu->nr_pages -= free_table(__va(*entry & PTE_ADDR), level - 1);
	*entry = 0;
	mmu->need_flush = true;
}

void pvisor_mmu_zap_all(struct pvisor_vcpu *vcpu)
{
	struct pvisor_mmu *mmu = &vcpu->mmu;
	int i;

	for (i = 0; i < 512; i++)
		if (mmu->root[i] & PTE_P)
			zap_entry(mmu, &mmu->root[i], 4);
}

void pvisor_mmu_destroy(struct pvisor_vcpu *vcpu)
{
	struct pvisor_mmu *mmu = &vcpu->mmu;

	if (!mmu->root)
		return;
	pvisor_mmu_zap_all(vcpu);
	free_page((unsigned long)mmu->root);
	mmu->root = NULL;
	while (mmu->nr_cache)
		__free_page(mmu->cache[--mmu->nr_cache]);
}

/* INVLPG: drop the translation of @gva, or of the large page holding it. */
void pvisor_mmu_invlpg(struct pvisor_vcpu *vcpu, unsigned long gva)
{
	struct pvisor_mmu *mmu = &vcpu->mmu;
	u64 *table = mmu->root, *e;
	int level;

	for (level = 4; level > 1; level--) {
		e = &table[pt_index(gva, level)];
		if (!(*e & PTE_P))
			return;
		if (*e & SPTE_LARGE) {
			zap_entry(mmu, e, level);
			return;
		}
		table = __va(*e & PTE_ADDR);
	}
	table[pt_index(gva, 1)] = 0;
	mmu->need_flush = true;
}

struct guest_walk {
	u64 *entries[4];	/* the guest entry used at each level */
	int leaf_level;
	u64 gpa;		/* guest-physical page of the translation */
	bool writable, user, nx, dirty;
};

enum walk_result { WALK_OK, WALK_FAULT, WALK_RETRY, WALK_BAD_TABLE };

/* Set @bit in a guest entry as the CPU would: atomically. */
static bool set_guest_bit(u64 *entry, u64 bit)
{
	u64 old = READ_ONCE(*entry);

	if (old & bit)
		return true;
	return cmpxchg64(entry, old, old | bit) == old;
}

/*
 * Walk the guest page tables for @gva.  On WALK_FAULT, *@error is the
 * page-fault error code the guest must see; on WALK_BAD_TABLE, *@bad_gpa is
 * the table address outside guest memory.
 */
static enum walk_result guest_walk(struct pvisor_vcpu *vcpu, unsigned long gva,
				   u32 access, struct guest_walk *w,
				   u32 *error, u64 *bad_gpa)
{
	bool nxe = vcpu->efer & EFER_NX;
	u64 rsvd = 0, table = vcpu->cr3 & PTE_ADDR, pte = 0;
	u32 fault = access & (X86_PF_WRITE | X86_PF_USER | X86_PF_INSTR);
	u64 size;
	int level;

	if (pvisor_caps.maxphyaddr < 52)
		rsvd |= GENMASK_ULL(51, pvisor_caps.maxphyaddr);
	if (!nxe)
		rsvd |= PTE_NX;

	w->writable = true;
	w->user = true;
	w->nx = false;
	for (level = 4; level >= 1; level--) {
		u64 gpa = table + pt_index(gva, level) * 8, bad = rsvd;
		u64 *entry = pvisor_vm_gpa_to_hva(vcpu->vm, gpa, NULL);

		if (!entry) {
			*bad_gpa = gpa;
			return WALK_BAD_TABLE;
		}
		pte = READ_ONCE(*entry);
		if (!(pte & PTE_P)) {
			*error = fault;
			return WALK_FAULT;
		}
		if (level == 4)
			bad |= PTE_PS;
		else if (level == 3 && (pte & PTE_PS))
			bad |= GENMASK_ULL(29, 13) |
			       (boot_cpu_has(X86_FEATURE_GBPAGES) ? 0 : PTE_PS);
		else if (level == 2 && (pte & PTE_PS))
			bad |= GENMASK_ULL(20, 13);
		if (pte & bad) {
			*error = fault | X86_PF_PROT | X86_PF_RSVD;
			return WALK_FAULT;
		}
		w->entries[level - 1] = entry;
		w->writable &= !!(pte & PTE_W);
		w->user &= !!(pte & PTE_U);
		w->nx |= nxe && (pte & PTE_NX);
		if (level == 1 || (pte & PTE_PS))
			break;
		table = pte & PTE_ADDR;
	}
	w->leaf_level = level;
	size = BIT_ULL(LEVEL_SHIFT(level));
	w->gpa = (pte & PTE_ADDR & ~(size - 1)) | (gva & (size - 1) & PAGE_MASK);
	w->dirty = pte & PTE_D;

	/* Permissions (CR0.WP is always set for pvisor guests). */
	if (((access & X86_PF_USER) && !w->user) ||
	    ((access & X86_PF_WRITE) && !w->writable) ||
	    ((access & X86_PF_INSTR) && w->nx) ||
	    ((access & X86_PF_INSTR) && !(access & X86_PF_USER) && w->user &&
	     (vcpu->cr4 & X86_CR4_SMEP)) ||
	    (!(access & (X86_PF_INSTR | X86_PF_USER)) && w->user &&
	     (vcpu->cr4 & X86_CR4_SMAP) &&
	     !(pvisor_vmread(GUEST_RFLAGS) & X86_EFLAGS_AC))) {
		*error = fault | X86_PF_PROT;
		return WALK_FAULT;
	}

	/* Accessed bits on the way down, dirty on the leaf for a write. */
	for (level = 4; level >= w->leaf_level; level--)
		if (!set_guest_bit(w->entries[level - 1], PTE_A))
			return WALK_RETRY;
	if (access & X86_PF_WRITE) {
		if (!set_guest_bit(w->entries[w->leaf_level - 1], PTE_D))
			return WALK_RETRY;
		w->dirty = true;
	}
	return WALK_OK;
}

/* Map @gva in the shadow tables as the walk @w says. */
static int shadow_map(struct pvisor_vcpu *vcpu, unsigned long gva,
		      const struct guest_walk *w, struct page *page)
{
	struct pvisor_mmu *mmu = &vcpu->mmu;
	u64 *table = mmu->root, spte;
	int level;

	for (level = 4; level > 1; level--) {
		u64 *e = &table[pt_index(gva, level)];

		if (!(*e & PTE_P)) {
			u64 *child = cache_take(mmu);

			if (!child)
				return PVISOR_TOPUP;
			*e = __pa(child) | PTE_P | PTE_W | PTE_U | PTE_A;
		}
		/* The table below now holds (part of) a guest large page. */
		if (level == w->leaf_level)
			*e |= SPTE_LARGE;
		table = __va(*e & PTE_ADDR);
	}
	spte = page_to_phys(page) | PTE_P | PTE_A | PTE_D;
	if (w->writable && w->dirty)
		spte |= PTE_W;
	if (w->user)
		spte |= PTE_U;
	if (w->nx)
		spte |= PTE_NX;
	/*
	 * No flush: the CPU caches no translation for an absent entry, and
	 * the fault that brought us here dropped any stale one for @gva.
	 */
	table[pt_index(gva, 1)] = spte;
	return PVISOR_RESUME;
}

/*
 * A #PF VM exit at @gva with the hardware's @error code: either fill in
 * the shadow from the guest tables, or give the fault to the guest.
 */
int pvisor_mmu_page_fault(struct pvisor_vcpu *vcpu, unsigned long gva,
			  u32 error)
{
	struct guest_walk w;
	struct page *page;
	u32 guest_error;
	u64 bad_gpa;

	switch (guest_walk(vcpu, gva, error, &w, &guest_error, &bad_gpa)) {
	case WALK_FAULT:
		vcpu->cr2 = gva;
		pvisor_vmx_queue_exception(vcpu, X86_TRAP_PF, true,
					   guest_error);
		return PVISOR_RESUME;
	case WALK_RETRY:
		return PVISOR_RESUME;
	case WALK_BAD_TABLE:
		pvisor_vm_kill(vcpu, PVISOR_KILL_BAD_PAGE_TABLE, bad_gpa);
		return PVISOR_TO_USER;
	case WALK_OK:
		break;
	}
	if (!pvisor_vm_gpa_to_hva(vcpu->vm, w.gpa, &page)) {
		pvisor_vm_kill(vcpu, PVISOR_KILL_BAD_GPA, w.gpa);
		return PVISOR_TO_USER;
	}
	return shadow_map(vcpu, gva, &w, page);
}

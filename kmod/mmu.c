// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow paging.  The real CR3 of a running vCPU points at shadow page
 * tables that map guest-virtual addresses straight to host-physical pages.
 * They are built on demand, at guest page faults, from walks of the guest's
 * own tables (Documentation/design.rst, "Shadow paging", has the picture).
 *
 * Shadow pages ("sp") belong to the VM and are shared by its vCPUs.  Each
 * one shadows one guest table page at one level, seen through one set of
 * upper-level rights (the role), and is found again by that guest frame
 * number in a hash table: a guest table linked into several address spaces
 * has one shadow, and a CR3 load finds its root there.  Shadow pages stay
 * after the last entry or root reference to them goes, still in sync, so a
 * CR3 load of an address space seen before finds its whole shadow again.
 * The bound is the VM's shadow-page budget (max_sps, from its memory size):
 * beyond it the least recently used shadow pages that no vCPU has loaded as
 * its root are zapped.  A shadow page that nothing links to and that the
 * guest writes is zapped at the next sync rather than synced (its frame is
 * most likely no longer a page table).
 *
 * Guest large pages (2 MiB, 1 GiB) are shadowed by "direct" shadow pages of
 * 4 KiB entries that shadow no guest table; they hang below the entry of
 * the guest table that maps the large page.
 *
 * Coherence.  Every guest frame that a shadow page shadows is write-
 * protected: each leaf shadow entry mapping it is read-only (the reverse
 * map of a frame, slot->rmap, lists those entries).  The guest's first
 * write to such a frame faults; pvisor then marks the frame's shadow pages
 * "unsync", leaves the frame writable and lets the write go on (there is
 * no instruction emulator).  An unsync shadow page may be stale until the
 * guest loads CR3, executes INVLPG or asks for a flush, which is exactly
 * when the architecture lets a TLB be stale: then every unsync page is
 * compared with its guest table (each shadow entry remembers the guest
 * entry it was built from, in sp->gptes), changed entries are dropped, and
 * the frame is write-protected again.  Not-present guest entries are never
 * cached, so a new mapping needs no flush.  This is the scheme of KVM's
 * unsync shadow pages, applied at every level.
 *
 * Locking.  vm->mmu.lock (a spinlock) covers the shadow pages, the hash,
 * the reverse maps and the root cache.  A page fault walks the guest
 * tables and sets their accessed and dirty bits without it, so that vCPUs
 * fault in parallel; under the lock it checks that each guest entry still
 * holds the value the walk read before it links a shadow entry to it, and
 * starts over if not.  A guest write racing with the walk either hit a
 * protected frame (and then waited for the lock) or hit an unsync one
 * (and then the next sync sees the difference).  Shadow entries that are
 * dropped, and frames that are write-protected, are flushed from every
 * vCPU's TLB (an IPI to vCPUs in guest mode, which exit) before the lock is
 * released, and freed shadow pages are freed only after that flush.
 *
 * Context: the fault, INVLPG and hypercall paths run in VM exit handlers
 * with preemption disabled and must not sleep: shadow pages and list nodes
 * come from per-vCPU caches that the run loop refills (pvisor_mmu_topup)
 * where sleeping is allowed.  Guest tables are read through the pinned
 * pages of the memory slots, under slots_lock held for reading.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/io.h>
#include <asm/page.h>
#include <asm/traps.h>
#include <asm/trap_pf.h>
#include <asm/vmx.h>
#include <linux/pvisor_para.h>

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

#define LEVEL_SHIFT(l)	(PAGE_SHIFT + 9 * ((l) - 1))
/* 4 KiB pages below one entry of a table of level @l. */
#define LEVEL_PAGES(l)	(1ULL << (9 * ((l) - 1)))

/* Rights a translation has, accumulated down the levels. */
#define ACC_W		1
#define ACC_U		2
#define ACC_X		4
#define ACC_ALL		(ACC_W | ACC_U | ACC_X)

/*
 * The shadow-page budget of a VM: one per 32 pages of guest memory (a
 * shadow page takes two pages), at least 512.
 */
#define PVISOR_MIN_SPS		512
#define PVISOR_SPS_RATIO	32

/*
 * Most objects one fault takes from the caches: a shadow page per level
 * (each with its table and its gptes page), and a list node per level for
 * the parent links and one for the reverse map.
 */
#define FAULT_SPS	4
#define FAULT_PAGES	(2 * FAULT_SPS)
#define FAULT_DESCS	(FAULT_SPS + 1)

static unsigned int pt_index(unsigned long gva, int level)
{
	return (gva >> LEVEL_SHIFT(level)) & 511;
}

union pvisor_sp_role {
	u32 word;
	struct {
		u32 level:3;	/* 4: PML4 .. 1: page table */
		u32 direct:1;	/* part of a guest large page */
		u32 access:3;	/* ACC_* of the levels above */
		u32 nxe:1;	/* EFER.NX when it was built */
	};
};

struct pvisor_sp {
	u64 *spt;		/* the 512 shadow entries */
	u64 *gptes;		/* not direct: the guest entry of each */
	u64 gfn;		/* the guest table, or the first page */
	union pvisor_sp_role role;
	struct hlist_node hash_link;	/* not direct */
	struct list_head unsync_link;
	/* On mmu->active, most recently used first; then on mmu->zapped. */
	struct list_head link;
	unsigned long parents;	/* pte list of the entries linking here */
	int root_count;		/* vCPUs using it as their root */
	u16 pcid;		/* level 4: the PCID of its TLB entries, or 0 */
	bool unsync;
};

/*
 * A list of shadow entries: 0, one entry pointer (bit 0 clear), or a chain
 * of descriptors (bit 0 set).  Used for reverse maps and parent links.
 */
#define PTE_LIST_EXT	14

struct pte_list_desc {
	struct pte_list_desc *more;
	unsigned long nr;
	u64 *sptes[PTE_LIST_EXT];
};

static void *cache_take(struct pvisor_mmu_cache *c)
{
	if (WARN_ON_ONCE(!c->nr))
		return NULL;
	return c->objs[--c->nr];
}

static bool caches_ready(struct pvisor_mmu *mmu)
{
	return mmu->pages.nr >= FAULT_PAGES && mmu->sps.nr >= FAULT_SPS &&
	       mmu->descs.nr >= FAULT_DESCS;
}

static void pte_list_add(struct pvisor_mmu *mmu, unsigned long *head,
			 u64 *spte)
{
	struct pte_list_desc *desc;

	if (!*head) {
		*head = (unsigned long)spte;
		return;
	}
	if (!(*head & 1)) {
		desc = cache_take(&mmu->descs);
		desc->more = NULL;
		desc->sptes[0] = (u64 *)*head;
		desc->sptes[1] = spte;
		desc->nr = 2;
		*head = (unsigned long)desc | 1;
		return;
	}
	desc = (struct pte_list_desc *)(*head & ~1ul);
	if (desc->nr == PTE_LIST_EXT) {
		struct pte_list_desc *first = cache_take(&mmu->descs);

		first->more = desc;
		first->nr = 0;
		desc = first;
		*head = (unsigned long)desc | 1;
	}
	desc->sptes[desc->nr++] = spte;
}

static void pte_list_remove(unsigned long *head, u64 *spte)
{
	struct pte_list_desc *first, *desc;
	unsigned long i;

	if (!(*head & 1)) {
		WARN_ON_ONCE((u64 *)*head != spte);
		*head = 0;
		return;
	}
	first = (struct pte_list_desc *)(*head & ~1ul);
	for (desc = first; desc; desc = desc->more) {
		for (i = 0; i < desc->nr; i++) {
			if (desc->sptes[i] != spte)
				continue;
			/* Fill the hole with the last entry of the first. */
			desc->sptes[i] = first->sptes[--first->nr];
			if (!first->nr) {
				*head = first->more ?
					(unsigned long)first->more | 1 : 0;
				kfree(first);
			}
			return;
		}
	}
	WARN_ON_ONCE(1);
}

/* Call @fn on each entry of the list at @head. */
static void pte_list_walk(unsigned long head, void (*fn)(u64 *spte, void *),
			  void *arg)
{
	struct pte_list_desc *desc;
	unsigned long i;

	if (!head)
		return;
	if (!(head & 1)) {
		fn((u64 *)head, arg);
		return;
	}
	for (desc = (void *)(head & ~1ul); desc; desc = desc->more)
		for (i = 0; i < desc->nr; i++)
			fn(desc->sptes[i], arg);
}

static void pte_list_free(unsigned long *head)
{
	struct pte_list_desc *desc, *next;

	if (*head & 1)
		for (desc = (void *)(*head & ~1ul); desc; desc = next) {
			next = desc->more;
			kfree(desc);
		}
	*head = 0;
}

static unsigned long *gfn_to_rmap(struct pvisor_vm *vm, u64 gfn)
{
	int i;

	for (i = 0; i < PVISOR_NR_MEMSLOTS; i++) {
		struct pvisor_memslot *slot = &vm->slots[i];
		u64 first = slot->gpa >> PAGE_SHIFT;

		if (gfn >= first && gfn - first < slot->npages)
			return &slot->rmap[gfn - first];
	}
	return NULL;
}

static struct pvisor_sp *spte_to_sp(u64 spte)
{
	return (struct pvisor_sp *)page_private(pfn_to_page((spte & PTE_ADDR) >>
							    PAGE_SHIFT));
}

/* The guest frame a leaf entry maps. */
static u64 leaf_gfn(const struct pvisor_sp *sp, unsigned int i)
{
	if (sp->role.direct)
		return sp->gfn + i;
	return (sp->gptes[i] & PTE_ADDR) >> PAGE_SHIFT;
}

/* Is @gfn a guest table whose shadow is in sync (and so write-protected)? */
static bool gfn_is_protected(struct pvisor_vm_mmu *m, u64 gfn)
{
	struct pvisor_sp *sp;

	hash_for_each_possible(m->hash, sp, hash_link, gfn)
		if (sp->gfn == gfn && !sp->unsync)
			return true;
	return false;
}

static void zap_sp(struct pvisor_vm *vm, struct pvisor_sp *sp);

/*
 * Drop shadow entry @i of @sp.  A direct child left without parents is
 * zapped: nothing could find it again.  Other children stay.
 */
static void drop_spte(struct pvisor_vm *vm, struct pvisor_sp *sp,
		      unsigned int i)
{
	u64 spte = sp->spt[i];
	struct pvisor_sp *child;

	if (!(spte & PTE_P))
		return;
	WRITE_ONCE(sp->spt[i], 0);
	vm->mmu.flush_all = true;
	if (sp->role.level == 1) {
		unsigned long *rmap = gfn_to_rmap(vm, leaf_gfn(sp, i));

		if (!WARN_ON_ONCE(!rmap))
			pte_list_remove(rmap, &sp->spt[i]);
		return;
	}
	child = spte_to_sp(spte);
	pte_list_remove(&child->parents, &sp->spt[i]);
	if (!child->parents && child->role.direct)
		zap_sp(vm, child);
}

static void unlink_parent(u64 *spte, void *arg)
{
	WRITE_ONCE(*spte, 0);
}

/*
 * Take @sp out of the shadow; its memory goes to mmu->zapped, freed after
 * the TLB flush that mmu_unlock() does.
 */
static void zap_sp(struct pvisor_vm *vm, struct pvisor_sp *sp)
{
	struct pvisor_vm_mmu *m = &vm->mmu;
	unsigned int i;

	for (i = 0; i < 512; i++)
		drop_spte(vm, sp, i);
	/* The entries that link here become absent: the guest refaults. */
	pte_list_walk(sp->parents, unlink_parent, NULL);
	pte_list_free(&sp->parents);
	if (!sp->role.direct)
		hash_del(&sp->hash_link);
	if (sp->unsync)
		list_del(&sp->unsync_link);
	/* The flush below also drops the TLB entries tagged with it. */
	if (sp->pcid)
		clear_bit(sp->pcid, m->pcids);
	m->nr_sps--;
	m->flush_all = true;
	list_move(&sp->link, &m->zapped);
}

static void free_sp(struct pvisor_sp *sp)
{
	free_page((unsigned long)sp->spt);
	free_page((unsigned long)sp->gptes);
	kfree(sp);
}

static void noop_ipi(void *arg)
{
}

/*
 * Make every vCPU of @vm flush its TLB before it next enters the guest, and
 * wait until those in guest mode have left it: the IPI makes them exit.
 */
static void flush_all_vcpus(struct pvisor_vm *vm)
{
	struct pvisor_mmu *mmu;
	int me = get_cpu();

	list_for_each_entry(mmu, &vm->mmu.vcpus, link)
		WRITE_ONCE(mmu->flush_request, true);
	/* Pairs with the barrier in pvisor_mmu_before_entry(). */
	smp_mb();
	list_for_each_entry(mmu, &vm->mmu.vcpus, link) {
		struct pvisor_vcpu *v = container_of(mmu, struct pvisor_vcpu,
						     mmu);
		int cpu = READ_ONCE(v->cpu);

		if (READ_ONCE(mmu->in_guest) && cpu >= 0 && cpu != me)
			smp_call_function_single(cpu, noop_ipi, NULL, true);
	}
	put_cpu();
}

static void mmu_lock(struct pvisor_vm *vm)
	__acquires(&vm->mmu.lock)
{
	spin_lock(&vm->mmu.lock);
}

static void mmu_unlock(struct pvisor_vm *vm)
	__releases(&vm->mmu.lock)
{
	struct pvisor_vm_mmu *m = &vm->mmu;
	struct pvisor_sp *sp, *tmp;
	LIST_HEAD(zapped);

	if (m->flush_all) {
		m->flush_all = false;
		flush_all_vcpus(vm);
	}
	list_splice_init(&m->zapped, &zapped);
	spin_unlock(&m->lock);
	list_for_each_entry_safe(sp, tmp, &zapped, link)
		free_sp(sp);
}

static void clear_writable(u64 *spte, void *arg)
{
	u64 old = READ_ONCE(*spte);

	if (old & PTE_W) {
		WRITE_ONCE(*spte, old & ~PTE_W);
		*(bool *)arg = true;
	}
}

/*
 * Write-protect guest frame @gfn in every shadow leaf that maps it.  The
 * protection holds only once no vCPU has the frame writable in its TLB:
 * before relying on it (reading the frame's entries as final), flush with
 * protect_flush().
 */
static void protect_gfn(struct pvisor_vm *vm, u64 gfn)
{
	unsigned long *rmap = gfn_to_rmap(vm, gfn);
	bool changed = false;

	if (!rmap)
		return;
	pte_list_walk(*rmap, clear_writable, &changed);
	if (changed)
		vm->mmu.protect_flush = true;
}

/*
 * Make the protections done so far hold now: a vCPU still in guest mode
 * with a writable translation could otherwise store to a table after
 * pvisor read it.  The IPIs of flush_all_vcpus() wait until every such
 * vCPU has left guest mode; it flushes before it enters again.
 */
static void protect_flush(struct pvisor_vm *vm)
{
	if (vm->mmu.protect_flush) {
		vm->mmu.protect_flush = false;
		vm->mmu.flush_all = false;
		flush_all_vcpus(vm);
	}
}

/* Let the guest write table frame @gfn: its shadows go out of sync. */
static void unsync_gfn(struct pvisor_vm *vm, u64 gfn)
{
	struct pvisor_vm_mmu *m = &vm->mmu;
	struct pvisor_sp *sp;

	hash_for_each_possible(m->hash, sp, hash_link, gfn) {
		if (sp->gfn != gfn || sp->unsync)
			continue;
		sp->unsync = true;
		list_add(&sp->unsync_link, &m->unsync);
		m->nr_unsync++;
	}
}

/*
 * Bring @sp in line with its guest table and write-protect it again; or,
 * when nothing links to it, zap it: the guest wrote a frame that it no
 * longer uses as a table, and protecting it again would only cost the
 * guest more write faults.
 */
static void sync_sp(struct pvisor_vm *vm, struct pvisor_sp *sp)
{
	u64 *table = pvisor_vm_gpa_to_hva(vm, sp->gfn << PAGE_SHIFT, NULL);
	unsigned int i;

	if (!sp->parents && !sp->root_count) {
		zap_sp(vm, sp);
		return;
	}
	for (i = 0; i < 512; i++)
		if ((sp->spt[i] & PTE_P) &&
		    (!table || READ_ONCE(table[i]) != sp->gptes[i]))
			drop_spte(vm, sp, i);
	sp->unsync = false;
	list_del(&sp->unsync_link);
	vm->mmu.nr_syncs++;
}

/*
 * A CR3 load, INVLPG or flush: every unsync shadow page syncs.  Their
 * frames are write-protected, and the protection made to hold, before any
 * comparison: a store that lands after the comparison would otherwise
 * leave a stale entry in a page marked in sync.
 */
static void sync_all(struct pvisor_vm *vm)
{
	struct pvisor_vm_mmu *m = &vm->mmu;
	struct pvisor_sp *sp;

	if (list_empty(&m->unsync))
		return;
	list_for_each_entry(sp, &m->unsync, unsync_link)
		protect_gfn(vm, sp->gfn);
	protect_flush(vm);
	/* A sync may zap other unsync pages: take the first each time. */
	while (!list_empty(&m->unsync))
		sync_sp(vm, list_first_entry(&m->unsync, struct pvisor_sp,
					     unsync_link));
}

static struct pvisor_sp *find_sp(struct pvisor_vm_mmu *m, u64 gfn,
				 union pvisor_sp_role role)
{
	struct pvisor_sp *sp;

	hash_for_each_possible(m->hash, sp, hash_link, gfn)
		if (sp->gfn == gfn && sp->role.word == role.word)
			return sp;
	return NULL;
}

static struct pvisor_sp *new_sp(struct pvisor_vcpu *vcpu, u64 gfn,
				union pvisor_sp_role role)
{
	struct pvisor_vm *vm = vcpu->vm;
	struct pvisor_sp *sp = cache_take(&vcpu->mmu.sps);

	sp->spt = cache_take(&vcpu->mmu.pages);
	set_page_private(virt_to_page(sp->spt), (unsigned long)sp);
	sp->gfn = gfn;
	sp->role = role;
	list_add(&sp->link, &vm->mmu.active);
	vm->mmu.nr_sps++;
	if (role.direct) {
		/* Its table page goes back: direct pages have no gptes. */
		sp->gptes = NULL;
		return sp;
	}
	sp->gptes = cache_take(&vcpu->mmu.pages);
	hash_add(vm->mmu.hash, &sp->hash_link, gfn);
	if (role.level == 4 && pvisor_caps.has_pcid) {
		unsigned long pcid = find_next_zero_bit(vm->mmu.pcids,
							PVISOR_NR_PCIDS, 1);

		if (pcid < PVISOR_NR_PCIDS) {
			set_bit(pcid, vm->mmu.pcids);
			sp->pcid = pcid;
		}
	}
	/* The caller reads the frame's entries next: protect them for good. */
	protect_gfn(vm, gfn);
	protect_flush(vm);
	return sp;
}

/*
 * Keep the VM within its shadow-page budget: zap the least recently used
 * shadow pages that are no vCPU's root.
 */
static void reclaim(struct pvisor_vm *vm)
{
	struct pvisor_vm_mmu *m = &vm->mmu;
	struct pvisor_sp *sp;
	bool found;

	while (m->nr_sps > m->max_sps) {
		found = false;
		/* A zap may take others with it: rescan after each. */
		list_for_each_entry_reverse(sp, &m->active, link) {
			if (!sp->root_count) {
				found = true;
				break;
			}
		}
		if (!found)
			return;
		zap_sp(vm, sp);
		m->nr_reclaimed++;
	}
}

/* The access rights a guest entry grants. */
static unsigned int pte_access(u64 pte, bool nxe)
{
	unsigned int acc = ACC_X;

	if (pte & PTE_W)
		acc |= ACC_W;
	if (pte & PTE_U)
		acc |= ACC_U;
	if (nxe && (pte & PTE_NX))
		acc &= ~ACC_X;
	return acc;
}

static void cache_free(struct pvisor_mmu_cache *c, bool pages)
{
	while (c->nr) {
		void *obj = c->objs[--c->nr];

		if (pages)
			free_page((unsigned long)obj);
		else
			kfree(obj);
	}
}

/* Refill the vCPU's caches of shadow pages and list nodes; may sleep. */
int pvisor_mmu_topup(struct pvisor_vcpu *vcpu)
{
	struct pvisor_mmu *mmu = &vcpu->mmu;

	while (mmu->pages.nr < PVISOR_MMU_CACHE) {
		void *p = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!p)
			return -ENOMEM;
		mmu->pages.objs[mmu->pages.nr++] = p;
	}
	while (mmu->sps.nr < PVISOR_MMU_CACHE) {
		struct pvisor_sp *sp = kzalloc(sizeof(*sp), GFP_KERNEL_ACCOUNT);

		if (!sp)
			return -ENOMEM;
		mmu->sps.objs[mmu->sps.nr++] = sp;
	}
	while (mmu->descs.nr < PVISOR_MMU_CACHE) {
		struct pte_list_desc *desc = kzalloc(sizeof(*desc),
						     GFP_KERNEL_ACCOUNT);

		if (!desc)
			return -ENOMEM;
		mmu->descs.objs[mmu->descs.nr++] = desc;
	}
	return 0;
}

void pvisor_vm_mmu_init(struct pvisor_vm *vm)
{
	struct pvisor_vm_mmu *m = &vm->mmu;

	spin_lock_init(&m->lock);
	hash_init(m->hash);
	INIT_LIST_HEAD(&m->active);
	INIT_LIST_HEAD(&m->unsync);
	INIT_LIST_HEAD(&m->zapped);
	INIT_LIST_HEAD(&m->vcpus);
	m->max_sps = PVISOR_MIN_SPS;
}

/* A memory slot changed: the shadow-page bound follows guest memory. */
static void update_max_sps(struct pvisor_vm *vm)
{
	vm->mmu.max_sps = max_t(unsigned long, PVISOR_MIN_SPS,
				(pvisor_vm_mem_size(vm) >> PAGE_SHIFT) /
				PVISOR_SPS_RATIO);
}

/*
 * Drop every shadow page.  Called when no vCPU runs (a memory slot changes,
 * or the VM goes), after each vCPU dropped its root.
 */
void pvisor_vm_mmu_zap_all(struct pvisor_vm *vm)
{
	struct pvisor_vm_mmu *m = &vm->mmu;
	struct pvisor_mmu *mmu;

	mmu_lock(vm);
	list_for_each_entry(mmu, &m->vcpus, link) {
		if (mmu->root)
			mmu->root->root_count--;
		mmu->root = NULL;
	}
	while (!list_empty(&m->active))
		zap_sp(vm, list_first_entry(&m->active, struct pvisor_sp,
					    link));
	WARN_ON_ONCE(m->nr_sps);
	update_max_sps(vm);
	mmu_unlock(vm);
}

int pvisor_mmu_init(struct pvisor_vcpu *vcpu)
{
	struct pvisor_vm *vm = vcpu->vm;

	mmu_lock(vm);
	list_add(&vcpu->mmu.link, &vm->mmu.vcpus);
	mmu_unlock(vm);
	return pvisor_mmu_topup(vcpu);
}

void pvisor_mmu_destroy(struct pvisor_vcpu *vcpu)
{
	struct pvisor_mmu *mmu = &vcpu->mmu;
	struct pvisor_vm *vm = vcpu->vm;

	if (mmu->link.next) {
		mmu_lock(vm);
		if (mmu->root)
			mmu->root->root_count--;
		mmu->root = NULL;
		list_del(&mmu->link);
		mmu_unlock(vm);
	}
	cache_free(&mmu->pages, true);
	cache_free(&mmu->sps, false);
	cache_free(&mmu->descs, false);
}

static union pvisor_sp_role root_role(struct pvisor_vcpu *vcpu)
{
	union pvisor_sp_role role = { .word = 0 };

	role.level = 4;
	role.access = ACC_ALL;
	role.nxe = !!(vcpu->efer & EFER_NX);
	return role;
}

/* The vCPU stops using its root; the next entry loads one for its CR3. */
void pvisor_mmu_drop_root(struct pvisor_vcpu *vcpu)
{
	struct pvisor_vm *vm = vcpu->vm;

	if (!vcpu->mmu.root)
		return;
	mmu_lock(vm);
	vcpu->mmu.root->root_count--;
	vcpu->mmu.root = NULL;
	mmu_unlock(vm);
}

/*
 * Under the lock: drop the vCPU's root (if any) and switch to the root of
 * its CR3, found in the cache or built.  Syncs unsync pages first, as a
 * CR3 load requires.
 */
static void switch_root(struct pvisor_vcpu *vcpu)
{
	struct pvisor_vm *vm = vcpu->vm;
	struct pvisor_vm_mmu *m = &vm->mmu;
	union pvisor_sp_role role = root_role(vcpu);
	u64 gfn = (vcpu->cr3 & PTE_ADDR) >> PAGE_SHIFT;
	struct pvisor_sp *sp;

	sync_all(vm);
	sp = find_sp(m, gfn, role);
	if (sp)
		list_move(&sp->link, &m->active);
	else
		sp = new_sp(vcpu, gfn, role);
	sp->root_count++;
	if (vcpu->mmu.root)
		vcpu->mmu.root->root_count--;
	vcpu->mmu.root = sp;
	reclaim(vm);
}

/*
 * With this vCPU's VMCS current: switch to the root of the guest's CR3.
 * Returns PVISOR_RESUME, or PVISOR_TOPUP when the caches must be refilled
 * first (the vCPU then has no root, and the run loop calls
 * pvisor_mmu_load_root() after the refill).
 */
int pvisor_mmu_new_cr3(struct pvisor_vcpu *vcpu)
{
	struct pvisor_vm *vm = vcpu->vm;

	if (!caches_ready(&vcpu->mmu)) {
		pvisor_mmu_drop_root(vcpu);
		return PVISOR_TOPUP;
	}
	mmu_lock(vm);
	switch_root(vcpu);
	mmu_unlock(vm);
	pvisor_vmwrite(GUEST_CR3, __pa(vcpu->mmu.root->spt) |
		       vcpu->mmu.root->pcid);
	/*
	 * The TLB entries tagged with the root's PCID are exact: every change
	 * to the shadow since they were filled was followed by a flush of
	 * every vCPU (and unsync pages were synced just now).  An untagged
	 * root shares PCID 0 with every other one.
	 */
	if (!vcpu->mmu.root->pcid)
		vcpu->mmu.need_flush = true;
	return PVISOR_RESUME;
}

/* Before each entry: load a root if the vCPU has none. */
int pvisor_mmu_load_root(struct pvisor_vcpu *vcpu)
{
	if (likely(vcpu->mmu.root))
		return PVISOR_RESUME;
	return pvisor_mmu_new_cr3(vcpu);
}

/*
 * INVLPG: pvisor caches no translation beyond its shadow, and a shadow in
 * sync is exact, so syncing the unsync pages and flushing the TLB is all.
 */
void pvisor_mmu_invlpg(struct pvisor_vcpu *vcpu, unsigned long gva)
{
	struct pvisor_vm *vm = vcpu->vm;

	mmu_lock(vm);
	sync_all(vm);
	mmu_unlock(vm);
	vcpu->mmu.need_flush = true;
}

/* With interrupts disabled, right before VM entry. */
void pvisor_mmu_before_entry(struct pvisor_vcpu *vcpu)
{
	struct pvisor_mmu *mmu = &vcpu->mmu;

	WRITE_ONCE(mmu->in_guest, true);
	/* Pairs with the barrier in flush_all_vcpus(). */
	smp_mb();
	if (READ_ONCE(mmu->flush_request)) {
		WRITE_ONCE(mmu->flush_request, false);
		mmu->need_flush = true;
	}
	if (mmu->need_flush)
		pvisor_vmx_flush_tlb(vcpu);
}

struct guest_walk {
	u64 *entries[4];	/* the guest entry used at each level */
	u64 ptes[4];		/* its value, accessed (and dirty) bits set */
	int leaf_level;
	u64 gpa;		/* guest-physical page of the translation */
	bool writable, user, nx, dirty;
};

enum walk_result { WALK_OK, WALK_FAULT, WALK_RETRY, WALK_BAD_TABLE };

/* Set @bit in a guest entry as the CPU would: atomically. */
static bool set_guest_bit(u64 *entry, u64 *val, u64 bit)
{
	u64 old = *val;

	if (old & bit)
		return true;
	if (cmpxchg64(entry, old, old | bit) != old)
		return false;
	*val = old | bit;
	return true;
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
		w->ptes[level - 1] = pte;
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
		if (!set_guest_bit(w->entries[level - 1], &w->ptes[level - 1],
				   PTE_A))
			return WALK_RETRY;
	if (access & X86_PF_WRITE) {
		if (!set_guest_bit(w->entries[w->leaf_level - 1],
				   &w->ptes[w->leaf_level - 1], PTE_D))
			return WALK_RETRY;
		w->dirty = true;
	}
	return WALK_OK;
}

/* The shadow leaf for a guest page: @page, with the rights of @access. */
static u64 make_leaf(struct pvisor_vm *vm, struct page *page, u64 gfn,
		     unsigned int access, bool dirty)
{
	u64 spte = page_to_phys(page) | PTE_P | PTE_A | PTE_D;

	/* Clean pages stay read-only, so that the first write sets D. */
	if ((access & ACC_W) && dirty && !gfn_is_protected(&vm->mmu, gfn))
		spte |= PTE_W;
	if (access & ACC_U)
		spte |= PTE_U;
	if (!(access & ACC_X))
		spte |= PTE_NX;
	return spte;
}

/* Set leaf entry @i of @sp to @spte, which maps @gfn as guest entry @gpte. */
static void set_leaf(struct pvisor_vcpu *vcpu, struct pvisor_sp *sp,
		     unsigned int i, u64 spte, u64 gfn, u64 gpte)
{
	struct pvisor_vm *vm = vcpu->vm;
	u64 old = sp->spt[i];
	unsigned long *rmap;

	if ((old & PTE_P) && leaf_gfn(sp, i) == gfn &&
	    (old & PTE_ADDR) == (spte & PTE_ADDR)) {
		/* The same page: the rights change in place. */
		if ((old & ~spte & (PTE_W | PTE_U)) || (spte & ~old & PTE_NX))
			vm->mmu.flush_all = true;
	} else {
		drop_spte(vm, sp, i);
		rmap = gfn_to_rmap(vm, gfn);
		if (WARN_ON_ONCE(!rmap))
			return;
		pte_list_add(&vcpu->mmu, rmap, &sp->spt[i]);
	}
	if (!sp->role.direct)
		sp->gptes[i] = gpte;
	WRITE_ONCE(sp->spt[i], spte);
}

/*
 * Under the lock, with the caches ready: link the shadow of @gva down to
 * its leaf as the walk @w found it.  When a guest entry no longer holds
 * what the walk read, stop: the guest faults again and walks anew.
 */
static void shadow_install(struct pvisor_vcpu *vcpu, unsigned long gva,
			   const struct guest_walk *w, struct page *page,
			   bool write)
{
	struct pvisor_vm *vm = vcpu->vm;
	struct pvisor_vm_mmu *m = &vm->mmu;
	struct pvisor_sp *sp = vcpu->mmu.root, *child;
	bool nxe = sp->role.nxe;
	unsigned int access = ACC_ALL, i;
	union pvisor_sp_role role;
	u64 gpte = 0, gfn;
	int level;

	for (level = 4; ; level--) {
		i = pt_index(gva, level);
		if (sp->role.direct) {
			access = sp->role.access;
		} else {
			gpte = w->ptes[level - 1];
			if (READ_ONCE(*w->entries[level - 1]) != gpte)
				return;
			/* An unsync table changed here since it was shadowed. */
			if ((sp->spt[i] & PTE_P) && sp->gptes[i] != gpte)
				drop_spte(vm, sp, i);
			access &= pte_access(gpte, nxe);
		}
		if (level == 1)
			break;
		if (sp->spt[i] & PTE_P) {
			sp = spte_to_sp(sp->spt[i]);
			continue;
		}
		role.word = 0;
		role.level = level - 1;
		role.access = access;
		role.nxe = nxe;
		if (sp->role.direct || level == w->leaf_level) {
			/* Below a guest large page: 4 KiB pieces of it. */
			role.direct = 1;
			if (sp->role.direct)
				gfn = sp->gfn + i * LEVEL_PAGES(level);
			else
				gfn = ((gpte & PTE_ADDR) >> PAGE_SHIFT) &
				      ~(LEVEL_PAGES(level) - 1);
			child = new_sp(vcpu, gfn, role);
		} else {
			gfn = (gpte & PTE_ADDR) >> PAGE_SHIFT;
			child = find_sp(m, gfn, role);
			if (child)
				list_move(&child->link, &m->active);
			else
				child = new_sp(vcpu, gfn, role);
		}
		pte_list_add(&vcpu->mmu, &child->parents, &sp->spt[i]);
		if (!sp->role.direct)
			sp->gptes[i] = gpte;
		WRITE_ONCE(sp->spt[i],
			   __pa(child->spt) | PTE_P | PTE_W | PTE_U | PTE_A);
		sp = child;
	}

	gfn = w->gpa >> PAGE_SHIFT;
	/* The guest writes one of its tables: let it, and sync later. */
	if (write && gfn_is_protected(m, gfn))
		unsync_gfn(vm, gfn);
	set_leaf(vcpu, sp, i, make_leaf(vm, page, gfn, access, w->dirty), gfn,
		 gpte);
}

/*
 * A #PF VM exit at @gva with the hardware's @error code: either fill in
 * the shadow from the guest tables, or give the fault to the guest.
 */
int pvisor_mmu_page_fault(struct pvisor_vcpu *vcpu, unsigned long gva,
			  u32 error)
{
	struct pvisor_vm *vm = vcpu->vm;
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
	if (!pvisor_vm_gpa_to_hva(vm, w.gpa, &page)) {
		pvisor_vm_kill(vcpu, PVISOR_KILL_BAD_GPA, w.gpa);
		return PVISOR_TO_USER;
	}
	if (!caches_ready(&vcpu->mmu))
		return PVISOR_TOPUP;

	mmu_lock(vm);
	reclaim(vm);
	if (vcpu->mmu.root)
		shadow_install(vcpu, gva, &w, page, error & X86_PF_WRITE);
	mmu_unlock(vm);
	return PVISOR_RESUME;
}

/* PVISOR_HC_MMU_BATCH ops (Documentation/hypercalls.rst). */

/* Map guest entry @gpte of @sp's table at once, if it is usable as is. */
static void prefetch_leaf(struct pvisor_vcpu *vcpu, struct pvisor_sp *sp,
			  unsigned int i, u64 gpte)
{
	struct pvisor_vm *vm = vcpu->vm;
	u64 gfn = (gpte & PTE_ADDR) >> PAGE_SHIFT;
	unsigned int access;
	struct page *page;

	/* As the CPU, map only what is accessed (and dirty, to write). */
	if (!(gpte & PTE_P) || !(gpte & PTE_A) || !vcpu->mmu.descs.nr)
		return;
	if (!pvisor_vm_gpa_to_hva(vm, gfn << PAGE_SHIFT, &page))
		return;
	access = sp->role.access & pte_access(gpte, sp->role.nxe);
	set_leaf(vcpu, sp, i, make_leaf(vm, page, gfn, access, gpte & PTE_D),
		 gfn, gpte);
}

static bool op_set_pte(struct pvisor_vcpu *vcpu, u64 gpa, u64 val)
{
	struct pvisor_vm *vm = vcpu->vm;
	struct pvisor_vm_mmu *m = &vm->mmu;
	u64 gfn = gpa >> PAGE_SHIFT, rsvd = 0, *entry;
	unsigned int i = offset_in_page(gpa) / 8;
	struct pvisor_sp *sp;

	if (gpa & 7)
		return false;
	entry = pvisor_vm_gpa_to_hva(vm, gpa, NULL);
	if (!entry)
		return false;
	if (val & PTE_P) {
		if (pvisor_caps.maxphyaddr < 52)
			rsvd |= GENMASK_ULL(51, pvisor_caps.maxphyaddr);
		if (!(vcpu->efer & EFER_NX))
			rsvd |= PTE_NX;
		if ((val & rsvd) ||
		    !pvisor_vm_gpa_to_hva(vm, val & PTE_ADDR, NULL))
			return false;
	}

	mmu_lock(vm);
	xchg(entry, val);
again:
	/* A drop may zap shadow pages of this bucket: look again after. */
	hash_for_each_possible(m->hash, sp, hash_link, gfn) {
		if (sp->gfn == gfn && (sp->spt[i] & PTE_P) &&
		    sp->gptes[i] != val) {
			drop_spte(vm, sp, i);
			goto again;
		}
	}
	hash_for_each_possible(m->hash, sp, hash_link, gfn)
		if (sp->gfn == gfn && sp->role.level == 1 &&
		    !(sp->spt[i] & PTE_P))
			prefetch_leaf(vcpu, sp, i, val);
	mmu_unlock(vm);
	return true;
}

static bool read_guest_u64(struct pvisor_vm *vm, u64 gpa, u64 *val)
{
	u64 *p = pvisor_vm_gpa_to_hva(vm, gpa, NULL);

	if (!p)
		return false;
	*val = READ_ONCE(*p);
	return true;
}

static bool do_mmu_op(struct pvisor_vcpu *vcpu, u64 gpa)
{
	struct pvisor_vm *vm = vcpu->vm;
	u64 head, addr, val;
	u32 op, flags;

	/* Each field read once; the array was checked to be guest memory. */
	if (!read_guest_u64(vm, gpa, &head) ||
	    !read_guest_u64(vm, gpa + 8, &addr) ||
	    !read_guest_u64(vm, gpa + 16, &val))
		return false;
	op = head;
	flags = head >> 32;
	if (flags)
		return false;
	switch (op) {
	case PVISOR_MMU_SET_PTE:
		return op_set_pte(vcpu, addr, val);
	case PVISOR_MMU_INVLPG:
		if (val)
			return false;
		pvisor_mmu_invlpg(vcpu, addr);
		return true;
	case PVISOR_MMU_FLUSH:
		if (addr || val)
			return false;
		pvisor_mmu_invlpg(vcpu, 0);
		return true;
	}
	return false;
}

/*
 * PVISOR_HC_MMU_BATCH(@gpa, @count): apply the ops in order, stop at the
 * first invalid one, return how many were applied.
 */
long pvisor_mmu_batch(struct pvisor_vcpu *vcpu, u64 gpa, u64 count)
{
	u64 size = count * sizeof(struct pvisor_mmu_op), p, i;

	BUILD_BUG_ON(sizeof(struct pvisor_mmu_op) != 24);
	if (count > PVISOR_MMU_BATCH_MAX || (gpa & 7))
		return -PVISOR_EINVAL;
	if (gpa + size < gpa)
		return -PVISOR_EFAULT;
	for (p = gpa & PAGE_MASK; p < gpa + size; p += PAGE_SIZE)
		if (!pvisor_vm_gpa_to_hva(vcpu->vm, p, NULL))
			return -PVISOR_EFAULT;
	for (i = 0; i < count; i++)
		if (!do_mmu_op(vcpu, gpa + i * sizeof(struct pvisor_mmu_op)))
			break;
	return i;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow paging with several vCPUs of one VM (four, or two), each run by a
 * thread of its own: the vCPUs map, touch and unmap many pages at once in
 * one shared address space (entries of the same page tables) and in their
 * own, and check every translation; a TLB shootdown (one vCPU unmaps or
 * remaps, every vCPU flushes, every vCPU then sees the change), by stores
 * and INVLPG, by a CR3 load, and by PVISOR_HC_MMU_BATCH; and a vCPU that
 * keeps switching a page directory entry between two tables while the
 * others read through it, who must only ever see one of the two pages.
 *
 * On one host CPU the threads interleave; on several they run at once.
 * PVISOR_SMP_VCPUS (2 to 4, default 4) sets the number of vCPUs and
 * PVISOR_SMP_ROUNDS (default 4) how long each test runs.
 *
 * The guests build their tables as paging_util.h says; each vCPU
 * allocates from a slice of the pool of its own, and finds its own state
 * through GS (guest_cpu()), where it catches its own page faults.
 */
#include "kselftest_harness.h"
#include "paging_util.h"

#define SMP_MAX		4
#define SMP_STACK	0x4000
/* Pages each vCPU maps per round, interleaved with the others' pages. */
#define SMP_PAGES	128
#define SMP_TIMEOUT	240
#define MSR_GS_BASE	0xc0000101

#define TAG(cpu, k, round)						\
	(0x5e90000000000000ULL | (uint64_t)(cpu) << 32 |		\
	 (uint64_t)(k) << 16 | (round))

struct guest_cpu {
	struct guest_cpu *self;		/* at %gs:0 */
	uint64_t id;
	uint64_t pool_next, pool_end;
	bool expect;			/* a probe may fault */
	uint64_t vector, error, cr2, count;
	uint64_t barrier_gen;
	uint64_t reads;			/* of remap_while_reading */
};

static uint64_t guest_stacks[SMP_MAX][SMP_STACK / 8];
static struct guest_cpu guest_cpus[SMP_MAX];
static uint64_t guest_rounds;
static uint64_t guest_nr_cpus;
/* vCPU 0 has built the shared tables: the others may start. */
static uint64_t guest_go;
static uint64_t guest_barrier_count;
/* The shared address space and what vCPU 0 put in it. */
static uint64_t guest_shared_as;
static uint64_t guest_shared_pt;
static uint64_t guest_flip_done;

static struct guest_cpu *guest_cpu(void)
{
	struct guest_cpu *c;

	asm volatile("mov %%gs:0, %0" : "=r" (c));
	return c;
}

/* A zeroed page of this vCPU's slice of the pool. */
static uint64_t guest_smp_alloc(void)
{
	struct guest_cpu *c = guest_cpu();
	uint64_t pa = c->pool_next;
	int i;

	GUEST_ASSERT(pa + GUEST_PAGE_SIZE <= c->pool_end);
	c->pool_next += GUEST_PAGE_SIZE;
	for (i = 0; i < 512; i++)
		guest_ptr(pa)[i] = 0;
	return pa;
}

/*
 * An address space of this vCPU: the launcher's identity map (its PDPT
 * copied) and, at TEST_VA, a page table that it returns.
 */
static uint64_t guest_smp_as_new(uint64_t *pt)
{
	uint64_t *lpml4 = (uint64_t *)(guest_launcher_cr3 & PTE_ADDR);
	uint64_t *lpdpt = (uint64_t *)(lpml4[0] & PTE_ADDR);
	uint64_t pml4 = guest_smp_alloc(), pdpt = guest_smp_alloc();
	uint64_t pdpt1 = guest_smp_alloc(), pd = guest_smp_alloc();
	int i;

	*pt = guest_smp_alloc();
	for (i = 0; i < 512; i++)
		guest_ptr(pdpt)[i] = lpdpt[i];
	guest_ptr(pml4)[0] = pdpt | PTE_P | PTE_W;
	guest_ptr(pml4)[pt_index(TEST_VA, 4)] = pdpt1 | PTE_P | PTE_W;
	guest_ptr(pdpt1)[pt_index(TEST_VA, 3)] = pd | PTE_P | PTE_W;
	guest_ptr(pd)[pt_index(TEST_VA, 2)] = *pt | PTE_P | PTE_W;
	return pml4;
}

static uint64_t guest_smp_tagged_page(uint64_t tag)
{
	uint64_t page = guest_smp_alloc();

	guest_ptr(page)[0] = tag;
	return page;
}

/* Page faults land in the state of the vCPU that took them. */
static void guest_smp_exc(struct guest_frame *f)
{
	struct guest_cpu *c = guest_cpu();

	c->vector = f->vector;
	c->error = f->error;
	c->cr2 = guest_read_cr2();
	c->count++;
	if (!c->expect)
		guest_exception_fatal(f, "guest: unexpected exception on a vCPU, vector ");
	c->expect = false;
	f->rip = *(uint64_t *)f->rsp;
	f->rsp += 8;
	f->rax = GUEST_FAULTED;
}

static uint64_t guest_smp_read(uint64_t va)
{
	struct guest_cpu *c = guest_cpu();
	uint64_t r;

	c->count = 0;
	c->vector = GUEST_NO_VECTOR;
	c->expect = true;
	r = guest_read64(va, 0);
	c->expect = false;
	return r;
}

/* A read of @va by this vCPU must raise #PF (not present). */
#define SMP_ASSERT_READ_PF(va) do {					\
	struct guest_cpu *__c = guest_cpu();				\
									\
	GUEST_ASSERT_EQ(GUEST_FAULTED, guest_smp_read(va));		\
	GUEST_ASSERT_EQ(14, __c->vector);				\
	GUEST_ASSERT_EQ(1, __c->count);					\
	GUEST_ASSERT_EQ(0, __c->error);					\
	GUEST_ASSERT_EQ((va), __c->cr2);				\
} while (0)

/* A read of @va by this vCPU must find @val without a fault. */
#define SMP_ASSERT_READ(va, val) do {					\
	GUEST_ASSERT_EQ((val), guest_smp_read(va));			\
	GUEST_ASSERT_EQ(0, guest_cpu()->count);				\
} while (0)

/* Every vCPU waits here until all have arrived. */
static void guest_barrier(void)
{
	struct guest_cpu *c = guest_cpu();
	uint64_t target = ++c->barrier_gen * guest_nr_cpus;

	__atomic_add_fetch(&guest_barrier_count, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&guest_barrier_count, __ATOMIC_ACQUIRE) < target)
		asm volatile("pause" ::: "memory");
}

/*
 * Common start: this vCPU's state behind GS and its slice of the pool;
 * vCPU 0 builds the shared address space (one page table at TEST_VA) and
 * calls @setup, while the others wait for it.
 */
static void guest_smp_begin(uint64_t id, uint64_t nr, void (*setup)(void))
{
	struct guest_cpu *c = &guest_cpus[id];
	uint64_t slice = (POOL_SIZE - POOL_BIG_SIZE) / SMP_MAX;

	c->self = c;
	c->id = id;
	c->pool_next = POOL_BASE + POOL_BIG_SIZE + id * slice;
	c->pool_end = c->pool_next + slice;
	guest_wrmsr(MSR_GS_BASE, (uintptr_t)c);
	guest_idt_setup();
	if (id) {
		while (!__atomic_load_n(&guest_go, __ATOMIC_ACQUIRE))
			asm volatile("pause" ::: "memory");
		return;
	}
	guest_launcher_cr3 = guest_read_cr3();
	guest_nr_cpus = nr;
	guest_exc_hook = guest_smp_exc;
	guest_shared_as = guest_smp_as_new(&guest_shared_pt);
	if (setup)
		setup();
	__atomic_store_n(&guest_go, 1, __ATOMIC_RELEASE);
}

static noreturn void guest_smp_done(void)
{
	guest_barrier();
	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

static void guest_reload_cr3(void)
{
	guest_write_cr3(guest_read_cr3());
}

/* Page @k of vCPU @cpu in the shared space: all vCPUs' pages interleave. */
static uint64_t shared_va(uint64_t cpu, int k)
{
	return TEST_VA + (k * guest_nr_cpus + cpu) * GUEST_PAGE_SIZE;
}

/*
 * Each vCPU maps its pages into the shared page table (entries next to
 * the other vCPUs'), reads and writes them; after a barrier every vCPU
 * checks every vCPU's pages; then each maps the same addresses to its own
 * pages in an address space of its own, edited while not loaded, and
 * finally unmaps its pages from the shared space with INVLPG.
 */
static void guest_smp_map(uint64_t si, uint64_t id, uint64_t nr)
{
	static uint64_t pages[SMP_MAX][SMP_PAGES];
	uint64_t own, own_pt, *spt, r;
	int j, k;

	guest_smp_begin(id, nr, NULL);
	GUEST_ASSERT(nr * SMP_PAGES <= 512);
	spt = guest_ptr(guest_shared_pt);
	own = guest_smp_as_new(&own_pt);
	for (k = 0; k < SMP_PAGES; k++)
		pages[id][k] = guest_smp_alloc();

	for (r = 0; r < guest_rounds; r++) {
		guest_write_cr3(guest_shared_as);
		for (k = 0; k < SMP_PAGES; k++) {
			guest_ptr(pages[id][k])[0] = TAG(id, k, r);
			spt[k * nr + id] = pages[id][k] | PTE_P | PTE_W | PTE_NX;
		}
		for (k = 0; k < SMP_PAGES; k++) {
			SMP_ASSERT_READ(shared_va(id, k), TAG(id, k, r));
			guest_poke(shared_va(id, k) + 8, r + 1);
		}
		guest_barrier();

		guest_reload_cr3();
		for (j = 0; j < (int)nr; j++) {
			for (k = 0; k < SMP_PAGES; k++) {
				SMP_ASSERT_READ(shared_va(j, k), TAG(j, k, r));
				GUEST_ASSERT_EQ(r + 1,
						guest_peek(shared_va(j, k) + 8));
			}
		}
		guest_barrier();

		/* The same addresses, this vCPU's pages in another order. */
		for (k = 0; k < SMP_PAGES; k++)
			guest_ptr(own_pt)[k] = pages[id][(k + r) % SMP_PAGES] |
					       PTE_P | PTE_W | PTE_NX;
		guest_write_cr3(own);
		for (k = 0; k < SMP_PAGES; k++)
			SMP_ASSERT_READ(TEST_VA + k * GUEST_PAGE_SIZE,
					TAG(id, (k + r) % SMP_PAGES, r));
		SMP_ASSERT_READ_PF(TEST_VA + SMP_PAGES * GUEST_PAGE_SIZE);

		guest_write_cr3(guest_shared_as);
		for (k = 0; k < SMP_PAGES; k++) {
			spt[k * nr + id] = 0;
			guest_invlpg(shared_va(id, k));
		}
		for (k = 0; k < SMP_PAGES; k += 16)
			SMP_ASSERT_READ_PF(shared_va(id, k));
		guest_barrier();
	}
	guest_smp_done();
}

/* Pages of the shootdown and remap tests, set up by vCPU 0. */
static uint64_t guest_page_a, guest_page_b, guest_page_a2;
static uint64_t guest_pt2, guest_pt_b;

#define TAG_A		TAG(0xa, 0, 0)
#define TAG_B		TAG(0xb, 0, 0)
#define TAG_A2		TAG(0xa2, 0, 0)

/* The page directory entry of @va in the shared space. */
static uint64_t *guest_shared_pde(uint64_t va)
{
	uint64_t pdpt = guest_ptr(guest_shared_as)[pt_index(va, 4)] & PTE_ADDR;
	uint64_t pd = guest_ptr(pdpt)[pt_index(va, 3)] & PTE_ADDR;

	return &guest_ptr(pd)[pt_index(va, 2)];
}

/*
 * The shared table maps TEST_VA to A and the next page to B; a second
 * table, linked at TEST_VA + 2 MiB, maps it to A.
 */
static void guest_shootdown_setup(void)
{
	guest_page_a = guest_smp_tagged_page(TAG_A);
	guest_page_b = guest_smp_tagged_page(TAG_B);
	guest_pt2 = guest_smp_alloc();
	guest_ptr(guest_shared_pt)[0] = guest_page_a | PTE_P | PTE_W | PTE_NX;
	guest_ptr(guest_shared_pt)[1] = guest_page_b | PTE_P | PTE_W | PTE_NX;
	guest_ptr(guest_pt2)[0] = guest_page_a | PTE_P | PTE_W | PTE_NX;
	*guest_shared_pde(TEST_VA + SZ_2M) = guest_pt2 | PTE_P | PTE_W;
}

static struct pvisor_mmu_op guest_ops[SMP_MAX][4];

/* Apply this vCPU's @n ops; all must be taken. */
static void guest_smp_batch(unsigned int n, int line)
{
	uint64_t r = guest_hypercall(PVISOR_HC_MMU_BATCH,
				     (uintptr_t)guest_ops[guest_cpu()->id], n);

	if (r == (uint64_t)-PVISOR_ENOSYS)
		guest_fail("PVISOR_HC_MMU_BATCH: -PVISOR_ENOSYS, no PV MMU in this module\n",
			   line);
	if (r != n)
		guest_fail_eq(GUEST_WHERE "PVISOR_HC_MMU_BATCH result", n, r,
			      line);
}

static void guest_smp_op(unsigned int i, uint32_t op, uint64_t addr,
			 uint64_t val)
{
	struct pvisor_mmu_op *o = &guest_ops[guest_cpu()->id][i];

	o->op = op;
	o->flags = 0;
	o->addr = addr;
	o->val = val;
}

/*
 * Write @val to the shared entry @e: a store (@pv false) or a SET_PTE,
 * then INVLPG of @va on this vCPU.
 */
static void guest_set_and_flush(bool pv, uint64_t *e, uint64_t val,
				uint64_t va)
{
	if (!pv) {
		*e = val;
		guest_invlpg(va);
		return;
	}
	guest_smp_op(0, PVISOR_MMU_SET_PTE, (uintptr_t)e, val);
	guest_smp_op(1, PVISOR_MMU_INVLPG, va, 0);
	guest_smp_batch(2, __LINE__);
}

/* This vCPU's half of a shootdown: INVLPG of @va, or a full flush. */
static void guest_flush(bool pv, bool full, uint64_t va)
{
	if (pv) {
		if (full)
			guest_smp_op(0, PVISOR_MMU_FLUSH, 0, 0);
		else
			guest_smp_op(0, PVISOR_MMU_INVLPG, va, 0);
		guest_smp_batch(1, __LINE__);
	} else if (full) {
		guest_reload_cr3();
	} else {
		guest_invlpg(va);
	}
}

/*
 * Every vCPU has TEST_VA (A), TEST_VA + 4 KiB (B) and TEST_VA + 2 MiB (A,
 * through a second table) in its TLB; vCPU 0 unmaps the first, remaps the
 * second to A and unlinks the second table, flushing on itself; then each
 * other vCPU flushes (INVLPG, or a CR3 load every other round), and every
 * vCPU must see the changes.  @pv makes both sides use the batch.
 */
static void guest_shootdown(uint64_t id, uint64_t nr, bool pv)
{
	uint64_t *pt, *pde2, r;
	const uint64_t va2 = TEST_VA + SZ_2M;

	guest_smp_begin(id, nr, guest_shootdown_setup);
	pt = guest_ptr(guest_shared_pt);
	pde2 = guest_shared_pde(va2);
	guest_write_cr3(guest_shared_as);
	for (r = 0; r < guest_rounds * 4; r++) {
		bool full = r & 1;

		SMP_ASSERT_READ(TEST_VA, TAG_A);
		SMP_ASSERT_READ(TEST_VA + 0x1000, TAG_B);
		SMP_ASSERT_READ(va2, TAG_A);
		guest_barrier();

		if (id == 0) {
			guest_set_and_flush(pv, &pt[0], 0, TEST_VA);
			guest_set_and_flush(pv, &pt[1], guest_page_a | PTE_P |
					    PTE_W | PTE_NX, TEST_VA + 0x1000);
			guest_set_and_flush(pv, pde2, 0, va2);
		}
		guest_barrier();

		if (id) {
			guest_flush(pv, full, TEST_VA);
			if (!full) {
				guest_flush(pv, false, TEST_VA + 0x1000);
				guest_flush(pv, false, va2);
			}
		}
		SMP_ASSERT_READ_PF(TEST_VA);
		SMP_ASSERT_READ(TEST_VA + 0x1000, TAG_A);
		SMP_ASSERT_READ_PF(va2);
		guest_barrier();

		/* Back as they were: absent entries need no flush, B does. */
		if (id == 0) {
			guest_set_and_flush(pv, &pt[0], guest_page_a | PTE_P |
					    PTE_W | PTE_NX, TEST_VA);
			guest_set_and_flush(pv, &pt[1], guest_page_b | PTE_P |
					    PTE_W | PTE_NX, TEST_VA + 0x1000);
			guest_set_and_flush(pv, pde2, guest_pt2 | PTE_P | PTE_W,
					    va2);
		}
		guest_barrier();
		if (id)
			guest_flush(pv, full, TEST_VA + 0x1000);
	}
	guest_smp_done();
}

static void guest_smp_shootdown(uint64_t si, uint64_t id, uint64_t nr)
{
	guest_shootdown(id, nr, false);
}

static void guest_smp_shootdown_pv(uint64_t si, uint64_t id, uint64_t nr)
{
	guest_shootdown(id, nr, true);
}

/*
 * TEST_VA through table 1 maps A (or A2), through table 2 maps B; vCPU 0
 * keeps switching the page directory entry between the two tables and
 * table 1's entry between A and A2, while the others read TEST_VA: they
 * must see A, A2 or B, never a fault or anything else.
 */
static void guest_remap_setup(void)
{
	guest_page_a = guest_smp_tagged_page(TAG_A);
	guest_page_a2 = guest_smp_tagged_page(TAG_A2);
	guest_page_b = guest_smp_tagged_page(TAG_B);
	guest_pt_b = guest_smp_alloc();
	guest_ptr(guest_shared_pt)[0] = guest_page_a | PTE_P | PTE_W | PTE_NX;
	guest_ptr(guest_pt_b)[0] = guest_page_b | PTE_P | PTE_W | PTE_NX;
}

static void guest_smp_remap(uint64_t si, uint64_t id, uint64_t nr)
{
	uint64_t *pde, *pte, n, v, expect;

	guest_smp_begin(id, nr, guest_remap_setup);
	pde = guest_shared_pde(TEST_VA);
	pte = &guest_ptr(guest_shared_pt)[0];
	guest_write_cr3(guest_shared_as);
	SMP_ASSERT_READ(TEST_VA, TAG_A);
	guest_barrier();

	if (id == 0) {
		for (n = 1; n <= guest_rounds * 64; n++) {
			bool a2 = n & 2;

			*pte = (a2 ? guest_page_a2 : guest_page_a) | PTE_P |
			       PTE_W | PTE_NX;
			*pde = (n & 1 ? guest_pt_b : guest_shared_pt) | PTE_P |
			       PTE_W;
			if (n % 4 == 0)
				guest_reload_cr3();
			else
				guest_invlpg(TEST_VA);
			expect = n & 1 ? TAG_B : a2 ? TAG_A2 : TAG_A;
			SMP_ASSERT_READ(TEST_VA, expect);
		}
		__atomic_store_n(&guest_flip_done, 1, __ATOMIC_RELEASE);
	} else {
		while (!__atomic_load_n(&guest_flip_done, __ATOMIC_ACQUIRE)) {
			v = guest_peek(TEST_VA);
			if (v != TAG_A && v != TAG_A2 && v != TAG_B)
				guest_fail_eq(GUEST_WHERE "a page neither A, A2 nor B",
					      TAG_A, v, __LINE__);
			if (++guest_cpu()->reads % 8 == 0)
				guest_invlpg(TEST_VA);
		}
	}
	guest_barrier();
	guest_reload_cr3();
	SMP_ASSERT_READ(TEST_VA, guest_rounds * 64 % 2 ? TAG_B :
			guest_rounds * 64 & 2 ? TAG_A2 : TAG_A);
	guest_smp_done();
}

FIXTURE(smp) {
	struct test_vm t;
	struct test_vcpu v[SMP_MAX];
	int nr_vcpus;
};

/* A number from 1 to @max from the environment, else @def. */
static long smp_env(const char *name, long def, long max)
{
	const char *s = getenv(name);
	long n = s ? strtol(s, NULL, 10) : 0;

	return n > 0 && n <= max ? n : def;
}

FIXTURE_SETUP(smp)
{
	int i;

	vm_init(&self->t);
	memset(self->v, 0, sizeof(self->v));
	for (i = 0; i < SMP_MAX; i++)
		self->v[i].fd = -1;
	self->nr_vcpus = smp_env("PVISOR_SMP_VCPUS", SMP_MAX, SMP_MAX);
	PVISOR_VM_OR_SKIP();
}

FIXTURE_TEARDOWN(smp)
{
	int i;

	for (i = 0; i < SMP_MAX; i++)
		vm_vcpu_release(&self->v[i]);
	vm_destroy(&self->t);
}

/* Start @fn on every vCPU (RSI = its id, RDX = their number) and run. */
static void smp_run(struct __test_metadata *_metadata, struct test_vm *t,
		    struct test_vcpu *v, int nr, uint64_t fn)
{
	uint64_t top;
	int i;

	ASSERT_LE(nr, SMP_MAX);
	ASSERT_LE(2, nr);
	paging_start(_metadata, t, fn, 0, nr);
	*GUEST_VAR(t, guest_rounds) = smp_env("PVISOR_SMP_ROUNDS", 4, 1000);
	vm_vcpu0(t, &v[0]);
	for (i = 1; i < nr; i++) {
		top = ((uintptr_t)guest_stacks[i] + SMP_STACK) & ~15ULL;
		vm_vcpu_add(_metadata, t, &v[i], i, fn, i, nr, top);
	}
	vm_vcpus_run(_metadata, v, nr, SMP_TIMEOUT);
}

TEST_F_TIMEOUT(smp, map_pages_concurrently, SMP_TIMEOUT + 30)
{
	RETURN_IF_SKIPPED();
	smp_run(_metadata, &self->t, self->v, self->nr_vcpus,
		(uintptr_t)guest_smp_map);
}

TEST_F_TIMEOUT(smp, tlb_shootdown, SMP_TIMEOUT + 30)
{
	RETURN_IF_SKIPPED();
	smp_run(_metadata, &self->t, self->v, self->nr_vcpus,
		(uintptr_t)guest_smp_shootdown);
}

TEST_F_TIMEOUT(smp, tlb_shootdown_batch, SMP_TIMEOUT + 30)
{
	RETURN_IF_SKIPPED();
	smp_run(_metadata, &self->t, self->v, self->nr_vcpus,
		(uintptr_t)guest_smp_shootdown_pv);
}

TEST_F_TIMEOUT(smp, remap_while_others_read, SMP_TIMEOUT + 30)
{
	uint64_t reads = 0;
	int i;

	RETURN_IF_SKIPPED();
	smp_run(_metadata, &self->t, self->v, self->nr_vcpus,
		(uintptr_t)guest_smp_remap);
	for (i = 1; i < self->nr_vcpus; i++)
		reads += (*GUEST_VAR(&self->t, guest_cpus))[i].reads;
	TH_LOG("%llu reads while the tables changed",
	       (unsigned long long)reads);
}

TEST_HARNESS_MAIN

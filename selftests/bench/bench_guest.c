// SPDX-License-Identifier: GPL-2.0
/*
 * The guest half of pvisor_bench: one code base that runs under pvisor and
 * under KVM, told apart by CPUID 0x40000000.  It measures each row with
 * TSC reads around the operation and leaves the samples in bench_results
 * for the host; it talks to the host only to leave (pvisor: the SHUTDOWN
 * hypercall; KVM: HLT, which exits to userspace without an in-kernel
 * irqchip) and in the exit-to-userspace row.
 *
 * It starts on the launcher's identity map (2 MiB pages over all guest
 * memory) and moves at once to an address space of its own whose PML4
 * slot 0 is the launcher's (code, data, stack, and every page table by
 * its physical address) and whose other slots hold the 4 KiB mappings the
 * paging rows measure, built from a pool of guest memory above the image.
 *
 * Compiled with -mgeneral-regs-only: the page-fault handler is C called
 * from a stub that saves only the general registers.  Other exceptions go
 * to guest_util.h's stubs and end the run with the exception in msg.
 */
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm_para.h>

#include "bench.h"
#include "guest_util.h"

#define SZ_1G		0x40000000ULL

/* PML4 slot 1 and up: nothing of the launcher's identity map. */
#define BENCH_VA	0x8000000000ULL
#define TOUCH_VA	BENCH_VA
#define DEMAND_VA(i)	(BENCH_VA + (1 + (uint64_t)(i)) * SZ_1G)
#define AS_VA		(BENCH_VA + 8 * SZ_1G)
#define FORK_VA		(BENCH_VA + 16 * SZ_1G)

#define WARMUP		16
#define NR_SIMPLE	1000	/* samples of the exit rows */
#define GROUP		16	/* pages per sample of the page rows */
#define NR_TOUCH	2048	/* fresh pages for the first-touch row */
#define NR_DEMAND	1024	/* pages each demand-fault row maps */
#define NR_AS		64
#define NR_CR3		512	/* samples of each CR3 row */
#define FORK_PAGES	64
#define FORK_TABLES	4	/* PML4, PDPT, PD, PT */
#define NR_FORK		128

struct bench_results bench_results;

static enum bench_vmm vmm;
static uint64_t pool_next, pool_end;
static uint64_t launcher_pml4, main_pml4;
/* NR_TOUCH pages in a row, untouched until the first-touch row. */
static uint64_t frames;

/* What the page-fault handler maps: demand-row pages at @va. */
enum demand_mode { DEMAND_STORE, DEMAND_BATCH, DEMAND_AROUND };
static struct {
	uint64_t va;
	enum demand_mode mode;
	bool active;
} demand;
static struct pvisor_mmu_op mmu_ops[GROUP];

/* Tables freed by the fork row, reused by its next round. */
static uint64_t free_tables[FORK_TABLES];
static int nr_free_tables;

static uint64_t as_pml4[NR_AS];

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a" (lo), "=d" (hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* One store instruction, never merged or moved by the compiler. */
static inline void touch(uint64_t va, uint64_t val)
{
	asm volatile("movq %1, (%0)" : : "r" (va), "r" (val) : "memory");
}

static inline uint64_t *table(uint64_t pa)
{
	return (uint64_t *)pa;	/* identity-mapped through PML4 slot 0 */
}

static noreturn void bench_leave(void)
{
	if (vmm == BENCH_VMM_PVISOR)
		guest_hypercall(PVISOR_HC_SHUTDOWN, 0, 0);
	for (;;)
		asm volatile("cli; hlt" : : : "memory");
}

/* Stop with @msg and up to BENCH_FAIL_VALS numbers for the host to print. */
static noreturn void bench_fail_n(const char *msg, const uint64_t *vals,
				  uint32_t nr)
{
	uint32_t i;

	for (i = 0; msg[i] && i < BENCH_MSG_MAX - 1; i++)
		bench_results.msg[i] = msg[i];
	for (i = 0; i < nr && i < BENCH_FAIL_VALS; i++)
		bench_results.fail_vals[i] = vals[i];
	bench_results.nr_fail_vals = i;
	bench_results.failed = 1;
	bench_leave();
}

static noreturn void bench_fail(const char *msg, uint64_t val)
{
	bench_fail_n(msg, &val, 1);
}

static void exception_fatal(struct guest_frame *f)
{
	uint64_t vals[] = { f->vector, f->error, f->rip, guest_read_cr2() };

	bench_fail_n("exception (vector, error code, RIP, CR2)", vals, 4);
}

/* Pool pages: zeroed tables and, apart, frames the guest has not touched. */
static uint64_t pool_alloc(uint64_t nr_pages)
{
	uint64_t pa = pool_next;

	if (nr_pages > (pool_end - pool_next) / GUEST_PAGE_SIZE)
		bench_fail("guest pool exhausted at", pool_next);
	pool_next += nr_pages * GUEST_PAGE_SIZE;
	return pa;
}

static uint64_t table_alloc(void)
{
	uint64_t pa;
	int i;

	if (nr_free_tables)
		return free_tables[--nr_free_tables];
	pa = pool_alloc(1);
	for (i = 0; i < 512; i++)
		table(pa)[i] = 0;
	return pa;
}

/* A table whose entries are all clear again. */
static void table_free(uint64_t pa)
{
	if (nr_free_tables == FORK_TABLES)
		bench_fail("table free list full at", pa);
	free_tables[nr_free_tables++] = pa;
}

/* The PTE of @va under @pml4, creating missing tables when @create. */
static uint64_t *pte_of(uint64_t pml4, uint64_t va, bool create)
{
	uint64_t *t = table(pml4);
	int level;

	for (level = 4; level > 1; level--) {
		uint64_t *e = &t[(va >> (3 + 9 * level)) & 511];

		if (!(*e & PTE_P)) {
			if (!create)
				bench_fail("no page table for", va);
			*e = table_alloc() | PTE_P | PTE_W;
		}
		t = table(*e & PTE_ADDR);
	}
	return &t[(va >> 12) & 511];
}

/* A new address space: the launcher's slot 0, nothing else yet. */
static uint64_t as_create(void)
{
	uint64_t pml4 = table_alloc();

	table(pml4)[0] = table(launcher_pml4)[0];
	return pml4;
}

static struct bench_row *row(enum bench_row_id id, uint32_t per)
{
	struct bench_row *r = &bench_results.rows[id];

	r->state = BENCH_ROW_DONE;
	r->per = per;
	return r;
}

static void row_add(struct bench_row *r, uint64_t sample)
{
	if (r->nr < BENCH_MAX_SAMPLES)
		r->samples[r->nr++] = sample;
}

static void row_unsupported(enum bench_row_id id)
{
	bench_results.rows[id].state = BENCH_ROW_UNSUPPORTED;
}

/* The exit rows: each op times itself. */
static uint64_t op_hypercall(void)
{
	uint64_t nr, expected, ret, t0, t1;

	if (vmm == BENCH_VMM_PVISOR) {
		nr = PVISOR_HC_NOP;
		expected = 0;
	} else {
		nr = BENCH_KVM_HC_UNKNOWN;
		expected = -(uint64_t)KVM_ENOSYS;
	}
	t0 = tsc();
	ret = guest_hypercall(nr, 0, 0);
	t1 = tsc();
	if (ret != expected)
		bench_fail("null hypercall returned", ret);
	return t1 - t0;
}

static uint64_t op_cpuid(void)
{
	uint64_t t0, t1;

	t0 = tsc();
	guest_cpuid(0, 0);
	t1 = tsc();
	return t1 - t0;
}

static uint64_t op_user_exit(void)
{
	uint64_t ret = 0, t0, t1;

	t0 = tsc();
	if (vmm == BENCH_VMM_PVISOR)
		ret = guest_hypercall(PVISOR_HC_CONSOLE_WRITE,
				      (uintptr_t)&bench_results, 0);
	else
		asm volatile("outb %%al, %%dx"
			     : : "a" (0), "d" (BENCH_KVM_PORT) : "memory");
	t1 = tsc();
	if (ret)
		bench_fail("empty console write returned", ret);
	return t1 - t0;
}

static void run_simple(enum bench_row_id id, uint64_t (*op)(void))
{
	struct bench_row *r = row(id, 1);
	int i;

	for (i = 0; i < WARMUP + NR_SIMPLE; i++) {
		uint64_t cost = op();

		if (i >= WARMUP)
			row_add(r, cost);
	}
}

/* Write GROUP pages from @va on: one sample of a page row. */
static uint64_t touch_group(uint64_t va)
{
	uint64_t t0, t1;
	int i;

	t0 = tsc();
	for (i = 0; i < GROUP; i++)
		touch(va + i * GUEST_PAGE_SIZE, i);
	t1 = tsc();
	return t1 - t0;
}

/* Map every frame at TOUCH_VA first, then write each page once. */
static void bench_first_touch(void)
{
	struct bench_row *r = row(BENCH_FIRST_TOUCH, GROUP);
	uint64_t i;

	for (i = 0; i < NR_TOUCH; i++)
		*pte_of(main_pml4, TOUCH_VA + i * GUEST_PAGE_SIZE, true) =
			(frames + i * GUEST_PAGE_SIZE) | PTE_P | PTE_W;
	for (i = 0; i < NR_TOUCH; i += GROUP)
		row_add(r, touch_group(TOUCH_VA + i * GUEST_PAGE_SIZE));
}

static uint64_t demand_pte(uint64_t idx)
{
	return (frames + idx * GUEST_PAGE_SIZE) | PTE_P | PTE_W;
}

static void demand_batch(uint64_t first, uint64_t nr)
{
	uint64_t i, ret;

	for (i = 0; i < nr; i++) {
		mmu_ops[i].op = PVISOR_MMU_SET_PTE;
		mmu_ops[i].flags = 0;
		mmu_ops[i].addr = (uintptr_t)pte_of(main_pml4, demand.va +
						    (first + i) * GUEST_PAGE_SIZE,
						    false);
		/*
		 * A paravirtual kernel maps the page for the access that
		 * faulted, so it sets accessed and dirty itself (as Linux's
		 * pte_mkyoung() and pte_mkdirty() do): pvisor then fills the
		 * shadow entry at once and the access does not fault again.
		 */
		mmu_ops[i].val = demand_pte(first + i) | PTE_A | PTE_D;
	}
	ret = guest_hypercall(PVISOR_HC_MMU_BATCH, (uintptr_t)mmu_ops, nr);
	if (ret != nr)
		bench_fail("PVISOR_HC_MMU_BATCH returned", ret);
}

/* Called by bench_pf_entry with CR2: map the page, as a kernel would. */
void bench_pf_handle(uint64_t cr2)
{
	uint64_t idx = (cr2 - demand.va) / GUEST_PAGE_SIZE;

	if (!demand.active || cr2 < demand.va || idx >= NR_DEMAND)
		bench_fail("page fault outside the demand rows at", cr2);
	switch (demand.mode) {
	case DEMAND_STORE:
		*pte_of(main_pml4, cr2, false) = demand_pte(idx);
		break;
	case DEMAND_BATCH:
		demand_batch(idx, 1);
		break;
	case DEMAND_AROUND:
		demand_batch(idx & ~(uint64_t)(GROUP - 1), GROUP);
		break;
	}
}

/*
 * The #PF gate: save the registers C may clobber (no vector registers:
 * this file is general-regs-only), call bench_pf_handle(CR2), drop the
 * error code.  The CPU pushed six words on a 16-byte aligned stack; nine
 * more and one for alignment make the call aligned.
 */
asm(".pushsection .text\n"
"	.globl bench_pf_entry\n"
"bench_pf_entry:\n"
"	push %rax\n"
"	push %rcx\n"
"	push %rdx\n"
"	push %rsi\n"
"	push %rdi\n"
"	push %r8\n"
"	push %r9\n"
"	push %r10\n"
"	push %r11\n"
"	sub $8, %rsp\n"
"	mov %cr2, %rdi\n"
"	cld\n"
"	call bench_pf_handle\n"
"	add $8, %rsp\n"
"	pop %r11\n"
"	pop %r10\n"
"	pop %r9\n"
"	pop %r8\n"
"	pop %rdi\n"
"	pop %rsi\n"
"	pop %rdx\n"
"	pop %rcx\n"
"	pop %rax\n"
"	add $8, %rsp\n"
"	iretq\n"
"	.popsection\n");

/* Point IDT vector 14 of guest_idt_setup()'s table at bench_pf_entry. */
static void install_pf_gate(void)
{
	uint64_t addr = (uintptr_t)bench_pf_entry, base = 0;
	struct guest_idt_gate *gate;
	uint16_t dtr[5];		/* limit, then base */
	int i;

	asm volatile("sidt %0" : "=m" (dtr));
	for (i = 0; i < 4; i++)
		base |= (uint64_t)dtr[1 + i] << (16 * i);
	gate = (struct guest_idt_gate *)base + 14;
	gate->offset_low = addr;
	gate->offset_mid = addr >> 16;
	gate->offset_high = addr >> 32;
}

/*
 * A region whose page tables exist and whose PTEs are clear: every page
 * faults once and the handler maps it (with the whole GROUP around it in
 * DEMAND_AROUND mode).  The frames are the first-touch row's, so the
 * hypervisor has seen them before.
 */
static void bench_demand(enum bench_row_id id, enum demand_mode mode, int nr)
{
	struct bench_row *r = row(id, GROUP);
	uint64_t i;

	demand.va = DEMAND_VA(nr);
	demand.mode = mode;
	for (i = 0; i < NR_DEMAND; i++)
		pte_of(main_pml4, demand.va + i * GUEST_PAGE_SIZE, true);
	demand.active = true;
	for (i = 0; i < NR_DEMAND; i += GROUP)
		row_add(r, touch_group(demand.va + i * GUEST_PAGE_SIZE));
	demand.active = false;
}

static void bench_demand_rows(void)
{
	bench_demand(BENCH_DEMAND, DEMAND_STORE, 0);
	/* Both PV rows need pvisor's PVISOR_HC_MMU_BATCH. */
	if (vmm != BENCH_VMM_PVISOR ||
	    guest_hypercall(PVISOR_HC_MMU_BATCH, (uintptr_t)mmu_ops, 0) ==
	    -(uint64_t)PVISOR_ENOSYS) {
		row_unsupported(BENCH_DEMAND_BATCH);
		row_unsupported(BENCH_DEMAND_AROUND);
		return;
	}
	bench_demand(BENCH_DEMAND_BATCH, DEMAND_BATCH, 1);
	bench_demand(BENCH_DEMAND_AROUND, DEMAND_AROUND, 2);
}

/*
 * Round-robin over @nr address spaces, each with one page of its own at
 * AS_VA: the CR3 write alone, and with the first write after it.  The
 * first round only warms up.
 */
static void bench_cr3(enum bench_row_id with_touch, enum bench_row_id alone,
		      int nr)
{
	struct bench_row *rt = row(with_touch, 1), *ra = row(alone, 1);
	uint64_t t0, t1, t2;
	int i;

	for (i = 0; i < nr + NR_CR3; i++) {
		uint64_t pml4 = as_pml4[i % nr];

		t0 = tsc();
		guest_write_cr3(pml4);
		t1 = tsc();
		touch(AS_VA, i);
		t2 = tsc();
		if (i >= nr) {
			row_add(rt, t2 - t0);
			row_add(ra, t1 - t0);
		}
	}
	guest_write_cr3(main_pml4);
}

static void bench_cr3_rows(void)
{
	int i;

	for (i = 0; i < NR_AS; i++) {
		as_pml4[i] = as_create();
		*pte_of(as_pml4[i], AS_VA, true) = table_alloc() | PTE_P | PTE_W;
	}
	bench_cr3(BENCH_CR3_4_TOUCH, BENCH_CR3_4, 4);
	bench_cr3(BENCH_CR3_64_TOUCH, BENCH_CR3_64, NR_AS);
}

/* Clear what one fork round mapped and give its tables back. */
static void fork_teardown(uint64_t pml4)
{
	uint64_t *l4 = table(pml4), *l3, *l2, *l1;
	uint64_t pdpt, pd, pt;
	int i;

	pdpt = l4[(FORK_VA >> 39) & 511] & PTE_ADDR;
	l3 = table(pdpt);
	pd = l3[(FORK_VA >> 30) & 511] & PTE_ADDR;
	l2 = table(pd);
	pt = l2[(FORK_VA >> 21) & 511] & PTE_ADDR;
	l1 = table(pt);
	for (i = 0; i < FORK_PAGES; i++)
		l1[((FORK_VA >> 12) & 511) + i] = 0;
	l2[(FORK_VA >> 21) & 511] = 0;
	l3[(FORK_VA >> 30) & 511] = 0;
	l4[(FORK_VA >> 39) & 511] = 0;
	l4[0] = 0;
	table_free(pt);
	table_free(pd);
	table_free(pdpt);
	table_free(pml4);
}

/*
 * A fork-like round: a new address space mapping FORK_PAGES pages, loaded,
 * every page written, left, torn down.  The frames are first-touch ones.
 */
static uint64_t fork_round(void)
{
	uint64_t pml4, t0, t1;
	int i;

	t0 = tsc();
	pml4 = as_create();
	for (i = 0; i < FORK_PAGES; i++)
		*pte_of(pml4, FORK_VA + i * GUEST_PAGE_SIZE, true) =
			(frames + i * GUEST_PAGE_SIZE) | PTE_P | PTE_W;
	guest_write_cr3(pml4);
	for (i = 0; i < FORK_PAGES; i++)
		touch(FORK_VA + i * GUEST_PAGE_SIZE, i);
	guest_write_cr3(main_pml4);
	fork_teardown(pml4);
	t1 = tsc();
	return t1 - t0;
}

static void bench_fork(void)
{
	struct bench_row *r = row(BENCH_FORK, 1);
	int i;

	for (i = 0; i < 2 + NR_FORK; i++) {
		uint64_t cost = fork_round();

		if (i >= 2)
			row_add(r, cost);
	}
}

/* The median of empty TSC pairs, which every sample includes once. */
static uint64_t tsc_overhead(void)
{
	uint64_t d[64], t0, t1, tmp;
	int i, j;

	for (i = 0; i < 64; i++) {
		t0 = tsc();
		t1 = tsc();
		d[i] = t1 - t0;
	}
	for (i = 1; i < 64; i++)
		for (j = i; j > 0 && d[j - 1] > d[j]; j--) {
			tmp = d[j];
			d[j] = d[j - 1];
			d[j - 1] = tmp;
		}
	return d[32];
}

static enum bench_vmm detect_vmm(void)
{
	struct guest_cpuid c = guest_cpuid(0x40000000, 0);

	/* "KVMKVMKVM\0\0\0" and "pvisorpvisor" in EBX, ECX, EDX. */
	if (c.ebx == 0x4b4d564b && c.ecx == 0x564b4d56 && c.edx == 0x4d)
		return BENCH_VMM_KVM;
	if (c.ebx == 0x73697670 && c.ecx == 0x7670726f && c.edx == 0x726f7369)
		return BENCH_VMM_PVISOR;
	return BENCH_VMM_UNKNOWN;
}

void bench_guest(uint64_t start_info)
{
	const struct pvisor_start_info *si = (const void *)start_info;

	vmm = detect_vmm();
	bench_results.vmm = vmm;
	if (vmm == BENCH_VMM_UNKNOWN)
		bench_fail("no pvisor or KVM signature at CPUID", 0x40000000);
	guest_idt_setup();
	guest_exc_hook = exception_fatal;
	install_pf_gate();

	pool_next = BENCH_POOL_BASE;	/* the host checked the image is below */
	pool_end = si->memmap[0].base + si->memmap[0].size;
	frames = pool_alloc(NR_TOUCH);
	launcher_pml4 = guest_read_cr3() & PTE_ADDR;
	main_pml4 = as_create();
	guest_write_cr3(main_pml4);

	bench_results.overhead = tsc_overhead();
	run_simple(BENCH_HYPERCALL, op_hypercall);
	run_simple(BENCH_CPUID, op_cpuid);
	run_simple(BENCH_USER_EXIT, op_user_exit);
	bench_first_touch();
	bench_demand_rows();
	bench_cr3_rows();
	bench_fork();

	bench_results.magic = BENCH_MAGIC;
	bench_leave();
}

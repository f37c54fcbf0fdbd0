// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow paging, seen from guests that build their own page tables: 4 KiB,
 * 2 MiB and 1 GiB pages map the right memory; the page faults a guest gets
 * (read-only, NX, not present, reserved bits, CPL 3 on a supervisor page)
 * carry the right error code, CR2 and RIP; accessed and dirty bits are
 * set as the CPU would; CR3 loads switch among many address spaces; INVLPG
 * drops 4 KiB and 2 MiB translations; page tables and pages outside guest
 * memory kill the VM.  The guests build their tables as paging_util.h
 * says.
 */
#include "kselftest_harness.h"
#include "paging_util.h"

static uint64_t guest_results[8];

static void guest_map_4k(void)
{
	uint64_t as, page, other;

	guest_begin();
	as = guest_as_new();
	page = guest_alloc_page();
	other = guest_alloc_page();
	guest_map(as, TEST_VA, page, 1, PTE_P | PTE_W | PTE_NX);
	guest_map(as, TEST_VA + 0x1000, page, 1, PTE_P | PTE_W | PTE_NX);
	guest_map(as, TEST_VA + SZ_2M + 0x7000, page, 1, PTE_P | PTE_W | PTE_NX);
	guest_map(as, TEST_VA + 0x2000, other, 1, PTE_P | PTE_W | PTE_NX);
	guest_write_cr3(as);

	/* Through the new mapping, then the identity map and an alias. */
	guest_poke(TEST_VA + 8, 0x1111);
	GUEST_ASSERT_EQ(0x1111, guest_ptr(page)[1]);
	GUEST_ASSERT_EQ(0x1111, guest_peek(TEST_VA + 0x1000 + 8));
	guest_poke(TEST_VA + 0xff8, 0x2222);
	GUEST_ASSERT_EQ(0x2222, guest_ptr(page)[511]);
	/* Through the identity map, then the aliases (one in another PT). */
	guest_ptr(page)[2] = 0x3333;
	GUEST_ASSERT_EQ(0x3333, guest_peek(TEST_VA + 16));
	GUEST_ASSERT_EQ(0x3333, guest_peek(TEST_VA + SZ_2M + 0x7000 + 16));
	/* A neighbouring page is another page. */
	guest_poke(TEST_VA + 0x2000 + 16, 0x4444);
	GUEST_ASSERT_EQ(0x4444, guest_ptr(other)[2]);
	GUEST_ASSERT_EQ(0x3333, guest_ptr(page)[2]);

	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, map_4k)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_map_4k, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

static void guest_map_2m(void)
{
	uint64_t as, big, va = TEST_VA + SZ_1G + 5 * SZ_2M;

	guest_begin();
	as = guest_as_new();
	big = guest_alloc_2m();
	guest_map(as, va, big, 2, PTE_P | PTE_W | PTE_NX);
	/* A 4 KiB alias of a page inside the large page. */
	guest_map(as, TEST_VA, big + 0x5000, 1, PTE_P | PTE_W | PTE_NX);
	guest_write_cr3(as);

	guest_poke(va + 8, 0x1111);
	GUEST_ASSERT_EQ(0x1111, guest_ptr(big)[1]);
	guest_poke(va + 0x1ff008, 0x2222);
	GUEST_ASSERT_EQ(0x2222, guest_ptr(big + 0x1ff000)[1]);
	guest_ptr(big + 0x123000)[5] = 0x3333;
	GUEST_ASSERT_EQ(0x3333, guest_peek(va + 0x123028));
	guest_poke(va + 0x5010, 0x4444);
	GUEST_ASSERT_EQ(0x4444, guest_peek(TEST_VA + 0x10));

	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, map_2m)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_map_2m, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/*
 * A 1 GiB page at 4 GiB that maps guest-physical 0..1 GiB: only the 64 MiB
 * of guest memory at its start are touched.
 */
static void guest_map_1g(void)
{
	const uint64_t va = 4 * SZ_1G;
	uint64_t as, big;

	if (!(guest_cpuid(0x80000001, 0).edx & (1u << 26)))
		GUEST_SKIP("no 1 GiB pages (CPUID.80000001H:EDX.Page1GB)\n");
	guest_begin();
	as = guest_as_new();
	big = guest_alloc_2m();
	guest_map(as, va, 0, 3, PTE_P | PTE_W | PTE_NX);
	guest_write_cr3(as);

	guest_ptr(big)[3] = 0x1111;
	GUEST_ASSERT_EQ(0x1111, guest_peek(va + big + 24));
	guest_poke(va + big + 0x1ffff8, 0x2222);
	GUEST_ASSERT_EQ(0x2222, guest_ptr(big + 0x1ff000)[511]);
	/* The image is there too, at its physical address. */
	guest_results[0] = 0x3333;
	GUEST_ASSERT_EQ(0x3333, guest_peek(va + (uintptr_t)&guest_results[0]));

	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, map_1g)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_map_1g, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

static void guest_write_read_only(void)
{
	uint64_t as, page;

	guest_begin();
	as = guest_as_new();
	page = guest_alloc_page();
	guest_ptr(page)[2] = 0x1234;
	guest_map(as, TEST_VA, page, 1, PTE_P | PTE_NX);
	guest_map(as, TEST_VA + 0x1000, page, 1, PTE_P | PTE_W | PTE_NX);
	guest_write_cr3(as);

	GUEST_ASSERT_EQ(0x1234, guest_try(guest_read64, TEST_VA + 16, 0));
	GUEST_ASSERT_EQ(0, guest_exc.count);
	GUEST_ASSERT_PF(guest_write64, TEST_VA + 16, 0x5678, PF_P | PF_W,
			TEST_VA + 16, (uintptr_t)guest_write64);
	GUEST_ASSERT_EQ(0x1234, guest_ptr(page)[2]);
	/* The writable alias of the same page still writes. */
	GUEST_ASSERT_EQ(0, guest_try(guest_write64, TEST_VA + 0x1010, 0x5678));
	GUEST_ASSERT_EQ(0, guest_exc.count);
	GUEST_ASSERT_EQ(0x5678, guest_ptr(page)[2]);

	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, write_read_only_page)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_write_read_only, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/* mov $0x1234, %eax; ret */
static const uint8_t guest_code[] = { 0xb8, 0x34, 0x12, 0x00, 0x00, 0xc3 };

static void guest_exec_nx(void)
{
	uint64_t as, page, va_nx = TEST_VA + 0x1000, va_pde_nx = TEST_VA + SZ_2M;
	uint64_t (*code)(uint64_t a0, uint64_t a1);
	unsigned int i;

	guest_begin();
	as = guest_as_new();
	page = guest_alloc_page();
	for (i = 0; i < sizeof(guest_code); i++)
		((uint8_t *)page)[i] = guest_code[i];
	guest_map(as, TEST_VA, page, 1, PTE_P | PTE_W);
	guest_map(as, va_nx, page, 1, PTE_P | PTE_W | PTE_NX);
	/* NX in the page directory entry above an executable PTE. */
	guest_map(as, va_pde_nx, page, 1, PTE_P | PTE_W);
	*guest_entry(as, va_pde_nx, 2) |= PTE_NX;
	guest_write_cr3(as);

	code = (void *)TEST_VA;
	GUEST_ASSERT_EQ(0x1234, guest_try(code, 0, 0));
	GUEST_ASSERT_EQ(0, guest_exc.count);
	code = (void *)va_nx;
	GUEST_ASSERT_PF(code, 0, 0, PF_P | PF_I, va_nx, va_nx);
	code = (void *)va_pde_nx;
	GUEST_ASSERT_PF(code, 0, 0, PF_P | PF_I, va_pde_nx, va_pde_nx);

	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, execute_nx_page)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_exec_nx, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

static void guest_not_present(void)
{
	uint64_t as, page, va_absent = TEST_VA + 0x1000;
	const uint64_t va_no_pml4e = 3ULL << 39;
	uint64_t (*code)(uint64_t a0, uint64_t a1) = (void *)va_absent;

	guest_begin();
	as = guest_as_new();
	page = guest_alloc_page();
	guest_map(as, TEST_VA, page, 1, PTE_P | PTE_W | PTE_NX);
	guest_write_cr3(as);

	GUEST_ASSERT_EQ(0, guest_try(guest_read64, TEST_VA, 0));
	GUEST_ASSERT_PF(guest_read64, va_absent + 8, 0, 0, va_absent + 8,
			(uintptr_t)guest_read64);
	GUEST_ASSERT_PF(guest_write64, va_absent + 8, 1, PF_W, va_absent + 8,
			(uintptr_t)guest_write64);
	GUEST_ASSERT_PF(code, 0, 0, PF_I, va_absent, va_absent);
	/* No PML4 entry at all. */
	GUEST_ASSERT_PF(guest_read64, va_no_pml4e, 0, 0, va_no_pml4e,
			(uintptr_t)guest_read64);
	GUEST_ASSERT_PF(guest_write64, va_no_pml4e, 1, PF_W, va_no_pml4e,
			(uintptr_t)guest_write64);

	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, not_present_page)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_not_present, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

static void guest_reserved_bits(void)
{
	uint64_t as, page, va_pde = TEST_VA + SZ_2M, va_pml4e = 2ULL << 39;
	const uint64_t bit51 = BIT_ULL(51);
	unsigned int maxphyaddr;

	maxphyaddr = guest_cpuid(0x80000008, 0).eax & 0xff;
	if (maxphyaddr >= 52)
		GUEST_SKIP("MAXPHYADDR is 52: no reserved address bit\n");
	guest_begin();
	as = guest_as_new();
	page = guest_alloc_page();
	/* Bit 51 in a PTE, in a PDE above a good PTE; PS in a PML4E. */
	guest_map(as, TEST_VA, page, 1, PTE_P | PTE_W | PTE_NX | bit51);
	guest_map(as, va_pde, page, 1, PTE_P | PTE_W | PTE_NX);
	*guest_entry(as, va_pde, 2) |= bit51;
	guest_map(as, va_pml4e, page, 1, PTE_P | PTE_W | PTE_NX);
	*guest_entry(as, va_pml4e, 4) |= PTE_PS;
	guest_write_cr3(as);

	GUEST_ASSERT_PF(guest_read64, TEST_VA, 0, PF_P | PF_RSVD, TEST_VA,
			(uintptr_t)guest_read64);
	GUEST_ASSERT_PF(guest_write64, TEST_VA, 1, PF_P | PF_W | PF_RSVD,
			TEST_VA, (uintptr_t)guest_write64);
	GUEST_ASSERT_PF(guest_read64, va_pde, 0, PF_P | PF_RSVD, va_pde,
			(uintptr_t)guest_read64);
	GUEST_ASSERT_PF(guest_read64, va_pml4e, 0, PF_P | PF_RSVD, va_pml4e,
			(uintptr_t)guest_read64);

	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, reserved_bit_fault)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_reserved_bits, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/* Accessed on every level after a read, dirty on the leaf after a write. */
static void guest_check_ad(uint64_t as, uint64_t va, int leaf)
{
	uint64_t *e[5];
	int l;

	for (l = 4; l >= leaf; l--)
		e[l] = guest_entry(as, va, l);
	GUEST_ASSERT_EQ(0, *e[leaf] & (PTE_A | PTE_D));

	guest_peek(va);
	for (l = 4; l >= leaf; l--)
		GUEST_ASSERT_EQ(PTE_A, *e[l] & PTE_A);
	GUEST_ASSERT_EQ(0, *e[leaf] & PTE_D);

	guest_poke(va, 1);
	GUEST_ASSERT_EQ(PTE_D, *e[leaf] & PTE_D);

	/* Cleared and flushed, the bits are set again by the next accesses. */
	*e[leaf] &= ~(PTE_A | PTE_D);
	guest_invlpg(va);
	guest_peek(va);
	GUEST_ASSERT_EQ(PTE_A, *e[leaf] & (PTE_A | PTE_D));
	guest_poke(va, 2);
	GUEST_ASSERT_EQ(PTE_A | PTE_D, *e[leaf] & (PTE_A | PTE_D));
}

static void guest_accessed_dirty(void)
{
	uint64_t as, va_2m = TEST_VA + SZ_1G;

	guest_begin();
	as = guest_as_new();
	guest_map(as, TEST_VA, guest_alloc_page(), 1, PTE_P | PTE_W | PTE_NX);
	guest_map(as, va_2m, guest_alloc_2m(), 2, PTE_P | PTE_W | PTE_NX);
	guest_write_cr3(as);

	guest_check_ad(as, TEST_VA, 1);
	guest_check_ad(as, va_2m, 2);

	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, accessed_and_dirty_bits)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_accessed_dirty, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

#define NR_SPACES	16

/* Address spaces that map TEST_VA to different pages, visited in turn. */
static void guest_cr3_switch(void)
{
	uint64_t as[NR_SPACES], page[NR_SPACES];
	int i, round;

	guest_begin();
	for (i = 0; i < NR_SPACES; i++) {
		as[i] = guest_as_new();
		page[i] = guest_alloc_page();
		guest_ptr(page[i])[0] = 0xa5a50000 + i;
		guest_map(as[i], TEST_VA, page[i], 1, PTE_P | PTE_W | PTE_NX);
	}
	for (round = 0; round < 4; round++) {
		for (i = 0; i < NR_SPACES; i++) {
			/* Forwards, then backwards. */
			int n = round & 1 ? NR_SPACES - 1 - i : i;

			guest_write_cr3(as[n]);
			GUEST_ASSERT_EQ(0xa5a50000 + n, guest_peek(TEST_VA));
			guest_poke(TEST_VA + 8, round * NR_SPACES + n);
		}
		for (i = 0; i < NR_SPACES; i++)
			GUEST_ASSERT_EQ(round * NR_SPACES + i,
					guest_ptr(page[i])[1]);
	}
	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, cr3_switch)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_cr3_switch, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

static void guest_invlpg_4k(void)
{
	uint64_t as, a, b;
	uint64_t *pte;

	guest_begin();
	as = guest_as_new();
	a = guest_alloc_page();
	b = guest_alloc_page();
	guest_ptr(a)[0] = 0xaaaa;
	guest_ptr(b)[0] = 0xbbbb;
	guest_map(as, TEST_VA, a, 1, PTE_P | PTE_W | PTE_NX);
	pte = guest_entry(as, TEST_VA, 1);
	guest_write_cr3(as);
	GUEST_ASSERT_EQ(0xaaaa, guest_peek(TEST_VA));

	/* Remapped: the old translation may last until INVLPG. */
	*pte = b | PTE_P | PTE_W | PTE_NX;
	guest_results[0] = guest_peek(TEST_VA);
	GUEST_ASSERT(guest_results[0] == 0xaaaa || guest_results[0] == 0xbbbb);
	guest_invlpg(TEST_VA);
	GUEST_ASSERT_EQ(0xbbbb, guest_peek(TEST_VA));

	/* Made read-only, then not present: INVLPG drops permissions too. */
	guest_poke(TEST_VA + 8, 1);
	*pte = b | PTE_P | PTE_NX;
	guest_invlpg(TEST_VA);
	GUEST_ASSERT_PF(guest_write64, TEST_VA + 8, 2, PF_P | PF_W,
			TEST_VA + 8, (uintptr_t)guest_write64);
	*pte = 0;
	guest_invlpg(TEST_VA);
	GUEST_ASSERT_PF(guest_read64, TEST_VA, 0, 0, TEST_VA,
			(uintptr_t)guest_read64);
	GUEST_ASSERT_EQ(1, guest_ptr(b)[1]);

	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, invlpg_4k)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_invlpg_4k, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	TH_LOG("before INVLPG the remapped page read %#llx (old: 0xaaaa)",
	       (unsigned long long)(*GUEST_VAR(&self->t, guest_results))[0]);
}

/*
 * INVLPG of any address in a 2 MiB page drops the translation of the
 * whole page (SDM 4.10.4.1), also when a 4 KiB page shares its 1 GiB.
 */
static void guest_invlpg_2m(void)
{
	uint64_t as, a, b, small, va = TEST_VA + SZ_2M;
	uint64_t *pde;

	guest_begin();
	as = guest_as_new();
	small = guest_alloc_page();
	a = guest_alloc_2m();
	b = guest_alloc_2m();
	guest_ptr(a + 0x3000)[0] = 0xa3;
	guest_ptr(a + 0x5000)[0] = 0xa5;
	guest_ptr(b + 0x3000)[0] = 0xb3;
	guest_ptr(b + 0x5000)[0] = 0xb5;
	guest_map(as, TEST_VA, small, 1, PTE_P | PTE_W | PTE_NX);
	guest_map(as, va, a, 2, PTE_P | PTE_W | PTE_NX);
	pde = guest_entry(as, va, 2);
	guest_write_cr3(as);

	guest_peek(TEST_VA);
	GUEST_ASSERT_EQ(0xa3, guest_peek(va + 0x3000));
	GUEST_ASSERT_EQ(0xa5, guest_peek(va + 0x5000));
	*pde = b | PTE_P | PTE_W | PTE_PS | PTE_NX;
	guest_invlpg(va + 0x5000);
	GUEST_ASSERT_EQ(0xb3, guest_peek(va + 0x3000));
	GUEST_ASSERT_EQ(0xb5, guest_peek(va + 0x5000));

	guest_write_cr3(guest_launcher_cr3);
	guest_shutdown(0);
}

TEST_F(vm, invlpg_2m)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_invlpg_2m, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

/* CPL 3 code: one access to RDI, then #UD if it did not fault. */
GUEST_ASM(void, guest_user_read64, (void),
	  "	mov (%rdi), %rax\n"
	  "	ud2\n");
GUEST_ASM(void, guest_user_write64, (void),
	  "	movq $1, (%rdi)\n"
	  "	ud2\n");

static uint64_t guest_user_stack[512];

/* The exception from CPL 3 is in guest_exc for the host to check. */
static void guest_user_fault(struct guest_frame *f)
{
	guest_shutdown(0x600d);
}

/*
 * At CPL 3: read a supervisor page (@write = 0), or write a read-only user
 * page (@write = 1).  The launcher's tables get user test pages at TEST_VA.
 */
static void guest_user_access(uint64_t si, uint64_t write)
{
	uint64_t pml4, page;

	guest_begin();
	guest_user_setup();
	pml4 = guest_read_cr3() & PTE_ADDR;
	page = guest_alloc_page();
	guest_map(pml4, TEST_VA, page, 1, PTE_P | PTE_W | PTE_NX);
	guest_map(pml4, TEST_VA + 0x1000, page, 1, PTE_P | PTE_U | PTE_NX);
	guest_write_cr3(guest_read_cr3());
	guest_exc_hook = guest_user_fault;
	guest_enter_user(write ? (uintptr_t)guest_user_write64 :
				 (uintptr_t)guest_user_read64,
			 (uintptr_t)(guest_user_stack + ARRAY_SIZE(guest_user_stack)),
			 write ? TEST_VA + 0x1008 : TEST_VA + 8);
}

static void check_user_fault(struct __test_metadata *_metadata,
			     struct test_vm *t, uint64_t error, uint64_t cr2,
			     uint64_t rip)
{
	struct guest_exc_record *exc;

	ASSERT_EQ(0x600d, VM_RUN_TO_SHUTDOWN(t));
	exc = GUEST_VAR(t, guest_exc);
	EXPECT_EQ(14, exc->vector);
	EXPECT_EQ(error, exc->error);
	EXPECT_EQ(cr2, exc->cr2);
	EXPECT_EQ(rip, exc->rip);
	EXPECT_EQ(GUEST_USER_CS, exc->cs);
}

TEST_F(vm, user_read_of_supervisor_page)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_user_access, 0, 0);
	check_user_fault(_metadata, &self->t, PF_P | PF_U, TEST_VA + 8,
			 (uintptr_t)guest_user_read64);
}

TEST_F(vm, user_write_of_read_only_page)
{
	RETURN_IF_SKIPPED();
	PAGING_START(guest_user_access, 1, 0);
	check_user_fault(_metadata, &self->t, PF_P | PF_W | PF_U,
			 TEST_VA + 0x1008, (uintptr_t)guest_user_write64);
}

/* A PML4 entry that points outside guest memory, then a touch below it. */
static void guest_bad_page_table(void)
{
	uint64_t as;

	guest_begin();
	as = guest_as_new();
	guest_ptr(as)[2] = BAD_GPA | PTE_P | PTE_W;
	guest_write_cr3(as);
	guest_read64(2ULL << 39, 0);
	guest_shutdown(0xbad);
}

TEST_F(vm, page_table_outside_memory_kills)
{
	struct pvisor_run *run;

	RETURN_IF_SKIPPED();
	PAGING_START(guest_bad_page_table, 0, 0);
	VM_RUN_TO_KILL(&self->t, PVISOR_KILL_BAD_PAGE_TABLE);
	run = self->t.vm.run;
	/* The table at BAD_GPA (its entry 0, or its start). */
	EXPECT_EQ(BAD_GPA, run->killed.data & ~0xfffULL)
		TH_LOG("%s", vm_describe(&self->t));
	EXPECT_EQ((uintptr_t)guest_read64, run->killed.rip);
	vm_assert_dead(_metadata, &self->t);
}

/* A PTE whose page is outside guest memory, then a touch of it. */
static void guest_bad_gpa(void)
{
	uint64_t as;

	guest_begin();
	as = guest_as_new();
	guest_map(as, TEST_VA, BAD_GPA, 1, PTE_P | PTE_W | PTE_NX);
	guest_write_cr3(as);
	guest_read64(TEST_VA + 0x10, 0);
	guest_shutdown(0xbad);
}

TEST_F(vm, page_outside_memory_kills)
{
	struct pvisor_run *run;

	RETURN_IF_SKIPPED();
	PAGING_START(guest_bad_gpa, 0, 0);
	VM_RUN_TO_KILL(&self->t, PVISOR_KILL_BAD_GPA);
	run = self->t.vm.run;
	/* The page, or the address in it. */
	EXPECT_EQ(BAD_GPA, run->killed.data & ~0xfffULL)
		TH_LOG("%s", vm_describe(&self->t));
	EXPECT_EQ((uintptr_t)guest_read64, run->killed.rip);
	vm_assert_dead(_metadata, &self->t);
}

TEST_HARNESS_MAIN

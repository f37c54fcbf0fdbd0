// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile guests and launchers: hypercalls with wild pointers and lengths,
 * instructions a pvisor guest may not use (I/O ports, unknown MSRs, VMX,
 * MONITOR/MWAIT, debug registers, control-register and XCR0 values outside
 * the rules) get the documented exception, a CR3 outside memory kills the
 * VM, a launcher killed while its guest runs leaves nothing behind, and
 * after all that pvisor.ko can be removed and loaded again.
 *
 * The tests that unload pvisor.ko come last (fixture "unload") and load it
 * again, so that the lab's unload_pvisor still finds it.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vm_util.h"

#define HC_ERR(e)	((uint64_t)-(int64_t)(e))
#define BAD_GPA		0x10000000ULL

#define MSR_IA32_TSC		0x10
#define MSR_IA32_APICBASE	0x1b
#define MSR_IA32_FEAT_CTL	0x3a
#define MSR_IA32_SPEC_CTRL	0x48
#define MSR_IA32_PRED_CMD	0x49
#define MSR_IA32_BIOS_SIGN_ID	0x8b
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_IA32_CR_PAT		0x277
#define MSR_IA32_VMX_BASIC	0x480
#define MSR_EFER		0xc0000080
#define MSR_TSC_AUX		0xc0000103

#define EFER_SCE	0x001ULL
#define EFER_LME	0x100ULL
#define EFER_LMA	0x400ULL
#define EFER_NXE	0x800ULL
#define EFER_SVME	0x1000ULL

#define X86_CR0_CD	BIT_ULL(30)
#define X86_CR0_WP	BIT_ULL(16)
#define X86_CR0_PG	BIT_ULL(31)
#define X86_CR0_TS	BIT_ULL(3)
#define X86_CR4_PAE	BIT_ULL(5)
#define X86_CR4_PGE	BIT_ULL(7)
#define X86_CR4_LA57	BIT_ULL(12)
#define X86_CR4_VMXE	BIT_ULL(13)
#define X86_CR4_PCIDE	BIT_ULL(17)

static uint64_t guest_results[16];

/* Probes for instructions a pvisor guest may not execute. */
GUEST_PROBE(guest_probe_inb, "	in $0x80, %al");
GUEST_PROBE(guest_probe_outb, "	out %al, $0x80");
GUEST_PROBE(guest_probe_inb_dx, "	mov %edi, %edx\n	inb %dx, %al");
GUEST_PROBE(guest_probe_outl_dx, "	mov %edi, %edx\n	outl %eax, %dx");
GUEST_PROBE(guest_probe_outsb, "	mov %edi, %edx\n	outsb");
GUEST_PROBE(guest_probe_rdmsr, "	mov %edi, %ecx\n	rdmsr\n"
	    "	shl $32, %rdx\n	or %rdx, %rax");
GUEST_PROBE(guest_probe_wrmsr, "	mov %edi, %ecx\n	mov %rsi, %rax\n"
	    "	mov %rsi, %rdx\n	shr $32, %rdx\n	wrmsr\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_vmxon, "	vmxon (%rdi)\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_vmxoff, "	vmxoff\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_vmread, "	vmread %rdi, %rax");
GUEST_PROBE(guest_probe_vmwrite, "	vmwrite %rsi, %rdi\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_vmclear, "	vmclear (%rdi)\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_vmptrld, "	vmptrld (%rdi)\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_vmptrst, "	vmptrst (%rdi)\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_vmlaunch, "	vmlaunch\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_vmresume, "	vmresume\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_invept, "	invept (%rdi), %rsi\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_invvpid, "	invvpid (%rdi), %rsi\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_monitor, "	mov %rdi, %rax\n	xor %ecx, %ecx\n"
	    "	xor %edx, %edx\n	monitor\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_mwait, "	xor %eax, %eax\n	xor %ecx, %ecx\n	mwait");
GUEST_PROBE(guest_probe_mov_from_dr7, "	mov %dr7, %rax");
GUEST_PROBE(guest_probe_mov_to_dr0, "	mov %rdi, %dr0\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_mov_to_cr0, "	mov %rdi, %cr0\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_mov_to_cr3, "	mov %rdi, %cr3\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_mov_to_cr4, "	mov %rdi, %cr4\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_xsetbv0, "	xor %ecx, %ecx\n	mov %edi, %eax\n"
	    "	mov %rdi, %rdx\n	shr $32, %rdx\n	xsetbv\n	xor %eax, %eax");
GUEST_PROBE(guest_probe_xsetbv1, "	mov $1, %ecx\n	mov %edi, %eax\n"
	    "	mov %rdi, %rdx\n	shr $32, %rdx\n	xsetbv\n	xor %eax, %eax");

#define GUEST_ASSERT_GP(probe, a0, a1) do {				\
	GUEST_ASSERT_EXCEPTION(13, (probe), (a0), (a1));		\
	GUEST_ASSERT_EQ(0, guest_exc.error);				\
} while (0)

#define GUEST_ASSERT_UD(probe, a0, a1)					\
	GUEST_ASSERT_EXCEPTION(6, (probe), (a0), (a1))

/* The probe must not fault. */
#define GUEST_ASSERT_NO_FAULT(probe, a0, a1) ({				\
	uint64_t __v = guest_try((probe), (a0), (a1));			\
									\
	GUEST_ASSERT_EQ(0, guest_exc.count);				\
	__v;								\
})

static const struct {
	uint64_t gpa, len;
} guest_bad_ranges[] = {
	{ ~0ULL, 1 },
	{ ~0ULL - 15, 16 },			/* ends exactly at 2^64 */
	{ 1ULL << 63, 16 },
	{ 0x123456789000ULL, 64 },		/* nowhere */
	{ VM_MEM_SIZE - 16, ~0ULL },
	{ ~0ULL, ~0ULL },
	{ 1ULL << 63, 1ULL << 63 },
	/* A valid start and a huge length: cut to the maximum, or refused. */
	{ 0x1000, 1ULL << 63 },
	{ 0x1000, ~0ULL },
};

#define NR_UNAMBIGUOUS	7

static void guest_wild_hypercalls(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(guest_bad_ranges); i++)
		guest_results[i] = guest_hypercall(PVISOR_HC_CONSOLE_WRITE,
						   guest_bad_ranges[i].gpa,
						   guest_bad_ranges[i].len);
	/* Still alive and well. */
	GUEST_ASSERT_EQ(0, guest_hypercall(PVISOR_HC_NOP, 0, 0));
	GUEST_ASSERT_EQ(VM_MEM_SIZE, guest_get_info(PVISOR_INFO_MEM_SIZE));
	guest_print("alive\n");
	guest_shutdown(0);
}

TEST_F(vm, wild_hypercall_pointers)
{
	uint64_t *res;
	uint64_t printed = 6;	/* "alive\n" */
	unsigned int i;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_wild_hypercalls, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	res = *GUEST_VAR(&self->t, guest_results);
	for (i = 0; i < ARRAY_SIZE(guest_bad_ranges); i++) {
		uint64_t gpa = guest_bad_ranges[i].gpa;
		uint64_t len = guest_bad_ranges[i].len;

		if (i < NR_UNAMBIGUOUS) {
			EXPECT_EQ(HC_ERR(PVISOR_EFAULT), res[i])
				TH_LOG("CONSOLE_WRITE(%#llx, %#llx) returned %#llx",
				       (unsigned long long)gpa,
				       (unsigned long long)len,
				       (unsigned long long)res[i]);
			continue;
		}
		EXPECT_TRUE(res[i] == HC_ERR(PVISOR_EFAULT) ||
			    res[i] == PVISOR_CONSOLE_WRITE_MAX)
			TH_LOG("CONSOLE_WRITE(%#llx, %#llx) returned %#llx",
			       (unsigned long long)gpa, (unsigned long long)len,
			       (unsigned long long)res[i]);
		TH_LOG("CONSOLE_WRITE(%#llx, %#llx): %s",
		       (unsigned long long)gpa, (unsigned long long)len,
		       res[i] == HC_ERR(PVISOR_EFAULT) ? "refused" : "cut");
		if (res[i] == PVISOR_CONSOLE_WRITE_MAX)
			printed += PVISOR_CONSOLE_WRITE_MAX;
	}
	EXPECT_EQ(printed, self->t.console_total);
	ASSERT_GE(self->t.console_len, 6);
	EXPECT_STREQ("alive\n", self->t.console + self->t.console_len - 6);
}

static void guest_io_ports(void)
{
	guest_idt_setup();
	GUEST_ASSERT_GP(guest_probe_inb, 0, 0);
	GUEST_ASSERT_GP(guest_probe_outb, 0, 0);
	GUEST_ASSERT_GP(guest_probe_inb_dx, 0x3f8, 0);
	/* The lab's serial port: nothing may reach it. */
	GUEST_ASSERT_GP(guest_probe_outl_dx, 0x3f8, 0);
	GUEST_ASSERT_GP(guest_probe_outsb, 0x3f8, (uintptr_t)"x");
	GUEST_ASSERT_GP(guest_probe_inb_dx, 0xcf8, 0);
	guest_shutdown(0);
}

TEST_F(vm, io_ports_raise_gp)
{
	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_io_ports, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

static const uint32_t guest_unknown_msrs[] = {
	MSR_IA32_APICBASE, MSR_IA32_FEAT_CTL, MSR_IA32_SPEC_CTRL,
	MSR_IA32_BIOS_SIGN_ID, MSR_IA32_MISC_ENABLE, MSR_IA32_VMX_BASIC,
	MSR_TSC_AUX, 0x40000000, 0xdeadbeef,
};

static void guest_msrs(void)
{
	const uint64_t efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	unsigned int i;

	guest_idt_setup();
	for (i = 0; i < ARRAY_SIZE(guest_unknown_msrs); i++) {
		guest_results[0] = guest_unknown_msrs[i];
		GUEST_ASSERT_GP(guest_probe_rdmsr, guest_unknown_msrs[i], 0);
		GUEST_ASSERT_GP(guest_probe_wrmsr, guest_unknown_msrs[i], 0);
	}
	GUEST_ASSERT_GP(guest_probe_wrmsr, MSR_IA32_PRED_CMD, 1);

	/* What pvisor emulates: EFER, PAT, the TSC (read only). */
	GUEST_ASSERT_EQ(efer, GUEST_ASSERT_NO_FAULT(guest_probe_rdmsr, MSR_EFER, 0));
	GUEST_ASSERT_GP(guest_probe_wrmsr, MSR_EFER, efer & ~EFER_LME);
	GUEST_ASSERT_GP(guest_probe_wrmsr, MSR_EFER, efer & ~EFER_LMA);
	GUEST_ASSERT_GP(guest_probe_wrmsr, MSR_EFER, efer | EFER_SVME);
	GUEST_ASSERT_EQ(efer, GUEST_ASSERT_NO_FAULT(guest_probe_rdmsr, MSR_EFER, 0));
	GUEST_ASSERT_EQ(0x0007040600070406ULL,
			GUEST_ASSERT_NO_FAULT(guest_probe_rdmsr, MSR_IA32_CR_PAT, 0));
	GUEST_ASSERT_NO_FAULT(guest_probe_wrmsr, MSR_IA32_CR_PAT,
			      0x0000000100070406ULL);
	GUEST_ASSERT_EQ(0x0000000100070406ULL,
			GUEST_ASSERT_NO_FAULT(guest_probe_rdmsr, MSR_IA32_CR_PAT, 0));
	/* Memory type 2 does not exist. */
	GUEST_ASSERT_GP(guest_probe_wrmsr, MSR_IA32_CR_PAT, 0x0000000200070406ULL);
	GUEST_ASSERT_NO_FAULT(guest_probe_rdmsr, MSR_IA32_TSC, 0);
	GUEST_ASSERT_GP(guest_probe_wrmsr, MSR_IA32_TSC, 0);
	guest_shutdown(0);
}

TEST_F(vm, unknown_msrs_raise_gp)
{
	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_msrs, 0, 0);
	EXPECT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t))
		TH_LOG("last MSR tried: %#llx", (unsigned long long)
		       (*GUEST_VAR(&self->t, guest_results))[0]);
}

/* Operands for VMX instructions: they never get to use them. */
static uint64_t guest_vmx_page[512];
static uint64_t guest_desc[2];

static void guest_vmx(void)
{
	uint64_t page = (uintptr_t)guest_vmx_page;
	uint64_t desc = (uintptr_t)guest_desc;

	guest_idt_setup();
	GUEST_ASSERT_UD(guest_probe_vmxon, page, 0);
	GUEST_ASSERT_UD(guest_probe_vmxoff, 0, 0);
	GUEST_ASSERT_UD(guest_probe_vmread, 0x6c16, 0);	/* HOST_RIP */
	GUEST_ASSERT_UD(guest_probe_vmwrite, 0x6c16, 0);
	GUEST_ASSERT_UD(guest_probe_vmclear, page, 0);
	GUEST_ASSERT_UD(guest_probe_vmptrld, page, 0);
	GUEST_ASSERT_UD(guest_probe_vmptrst, page, 0);
	GUEST_ASSERT_UD(guest_probe_vmlaunch, 0, 0);
	GUEST_ASSERT_UD(guest_probe_vmresume, 0, 0);
	GUEST_ASSERT_UD(guest_probe_invept, desc, 2);
	GUEST_ASSERT_UD(guest_probe_invvpid, desc, 2);
	guest_shutdown(0);
}

TEST_F(vm, vmx_instructions_raise_ud)
{
	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_vmx, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

static void guest_monitor_mwait_dr(void)
{
	guest_idt_setup();
	GUEST_ASSERT_UD(guest_probe_monitor, (uintptr_t)guest_results, 0);
	GUEST_ASSERT_UD(guest_probe_mwait, 0, 0);
	GUEST_ASSERT_GP(guest_probe_mov_from_dr7, 0, 0);
	GUEST_ASSERT_GP(guest_probe_mov_to_dr0, 0x1000, 0);
	guest_shutdown(0);
}

TEST_F(vm, monitor_mwait_and_debug_registers)
{
	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_monitor_mwait_dr, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

static void guest_control_registers(void)
{
	uint64_t cr0 = guest_read_cr0(), cr3 = guest_read_cr3();
	uint64_t cr4 = guest_read_cr4();
	unsigned int maxphyaddr = guest_cpuid(0x80000008, 0).eax & 0xff;

	guest_idt_setup();
	GUEST_ASSERT_GP(guest_probe_mov_to_cr0, cr0 & ~X86_CR0_PG, 0);
	GUEST_ASSERT_GP(guest_probe_mov_to_cr0, cr0 & ~X86_CR0_WP, 0);
	GUEST_ASSERT_GP(guest_probe_mov_to_cr0, cr0 | X86_CR0_CD, 0);
	GUEST_ASSERT_NO_FAULT(guest_probe_mov_to_cr0, cr0 | X86_CR0_TS, 0);
	GUEST_ASSERT_NO_FAULT(guest_probe_mov_to_cr0, cr0, 0);
	GUEST_ASSERT_EQ(cr0, guest_read_cr0());

	GUEST_ASSERT_GP(guest_probe_mov_to_cr4, cr4 & ~X86_CR4_PAE, 0);
	GUEST_ASSERT_GP(guest_probe_mov_to_cr4, cr4 | X86_CR4_VMXE, 0);
	GUEST_ASSERT_GP(guest_probe_mov_to_cr4, cr4 | X86_CR4_PCIDE, 0);
	GUEST_ASSERT_GP(guest_probe_mov_to_cr4, cr4 | X86_CR4_LA57, 0);
	GUEST_ASSERT_NO_FAULT(guest_probe_mov_to_cr4, cr4 | X86_CR4_PGE, 0);
	GUEST_ASSERT_NO_FAULT(guest_probe_mov_to_cr4, cr4, 0);
	GUEST_ASSERT_EQ(cr4, guest_read_cr4());

	if (maxphyaddr < 52)
		GUEST_ASSERT_GP(guest_probe_mov_to_cr3, cr3 | 1ULL << maxphyaddr, 0);
	GUEST_ASSERT_GP(guest_probe_mov_to_cr3, cr3 | 1ULL << 62, 0);
	GUEST_ASSERT_GP(guest_probe_mov_to_cr3, cr3 | 0x800, 0);
	GUEST_ASSERT_NO_FAULT(guest_probe_mov_to_cr3, cr3, 0);
	GUEST_ASSERT_EQ(cr3, guest_read_cr3());

	/* XCR0: x87 always, AVX only with SSE, nothing the host lacks. */
	if (guest_cpuid(1, 0).ecx & (1u << 26)) {
		guest_write_cr4(cr4 | X86_CR4_OSXSAVE);
		GUEST_ASSERT_GP(guest_probe_xsetbv0, 0, 0);
		GUEST_ASSERT_GP(guest_probe_xsetbv0, 2, 0);
		GUEST_ASSERT_GP(guest_probe_xsetbv0, 5, 0);
		GUEST_ASSERT_GP(guest_probe_xsetbv0, 1 | 1ULL << 9, 0);
		GUEST_ASSERT_GP(guest_probe_xsetbv0, 1 | 1ULL << 62, 0);
		GUEST_ASSERT_GP(guest_probe_xsetbv1, 1, 0);
		GUEST_ASSERT_NO_FAULT(guest_probe_xsetbv0, 3, 0);
		GUEST_ASSERT_NO_FAULT(guest_probe_xsetbv0, 1, 0);
	}
	guest_shutdown(0);
}

TEST_F(vm, bad_control_register_values_raise_gp)
{
	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_control_registers, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
}

static void guest_cr3_outside_memory(void)
{
	guest_write_cr3(BAD_GPA);
	guest_shutdown(0xbad);
}

/* The next fetch walks a PML4 that is not guest memory. */
TEST_F(vm, cr3_outside_memory_kills)
{
	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_cr3_outside_memory, 0, 0);
	VM_RUN_TO_KILL(&self->t, PVISOR_KILL_BAD_PAGE_TABLE);
	EXPECT_EQ(BAD_GPA, self->t.vm.run->killed.data & ~0xfffULL)
		TH_LOG("%s", vm_describe(&self->t));
	vm_assert_dead(_metadata, &self->t);
}

static void guest_spin(void)
{
	for (;;)
		asm volatile("pause");
}

/* In a child: build a spinning guest, say so on @fd, run it forever. */
static noreturn void spin_child(int fd)
{
	struct pvisor_vm vm;

	if (pvisor_vm_create(&vm, 8 << 20) ||
	    pvisor_vm_load_elf(&vm, "/proc/self/exe"))
		_exit(2);
	vm.entry = (uintptr_t)guest_spin;
	if (pvisor_vm_setup_boot(&vm, NULL))
		_exit(3);
	if (write(fd, "r", 1) != 1)
		_exit(4);
	ioctl(vm.vcpu_fd, PVISOR_RUN, 0);
	_exit(5);
}

/* SIGKILL of a launcher inside PVISOR_RUN frees its VM. */
TEST_F(vm, launcher_killed_while_running)
{
	long before, after = -1;
	int pipefd[2], status, i;
	pid_t pid;
	char c;

	RETURN_IF_SKIPPED();
	before = module_refcnt("pvisor");
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		spin_child(pipefd[1]);
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1)) {
		waitpid(pid, &status, 0);
		TH_LOG("the child failed to build its guest (status %#x)",
		       status);
	}
	close(pipefd[0]);
	usleep(200 * 1000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status)) TH_LOG("child status %#x", status);
	EXPECT_EQ(SIGKILL, WTERMSIG(status));

	if (before < 0) {
		TH_LOG("no /sys/module/pvisor/refcnt: references not checked");
		return;
	}
	for (i = 0; i < 100; i++) {
		after = module_refcnt("pvisor");
		if (after == before)
			break;
		usleep(20 * 1000);
	}
	EXPECT_EQ(before, after) TH_LOG("module references left behind");
}

static void guest_shutdown_with(uint64_t si, uint64_t status)
{
	guest_shutdown(status);
}

/*
 * Tests that unload pvisor.ko: they run after every TEST_F(vm, ...), and
 * load it again before they end.
 */
FIXTURE(unload) {
	int unused;
};

FIXTURE_SETUP(unload)
{
	if (!module_is_loaded("pvisor"))
		SKIP(return, "pvisor.ko not loaded");
	if (access(pvisor_ko_path(), R_OK))
		SKIP(return, "%s not readable (set PVISOR_KO)",
		     pvisor_ko_path());
}

FIXTURE_TEARDOWN(unload)
{
}

/* Unload (must work: no fds are open) and load pvisor.ko again. */
static void reload_pvisor(struct __test_metadata *_metadata)
{
	int ret;

	ret = unload_module("pvisor");
	if (!ret)
		ret = load_module(pvisor_ko_path());
	else
		TH_LOG("delete_module(pvisor): %s", strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("unload or load of pvisor.ko: %s",
				 strerror(-ret));
	ASSERT_TRUE(module_is_loaded("pvisor"));
	ASSERT_EQ(0, access(PVISOR_DEV, F_OK));
}

#define NR_VMS	8

/*
 * Eight VMs, each with memory and a vCPU that ran, closed in random order:
 * the module stays busy until the last is closed, then unloads.
 */
TEST_F(unload, eight_vms_closed_in_random_order)
{
	struct test_vm *vms = calloc(NR_VMS, sizeof(*vms));
	unsigned int seed = time(NULL) ^ getpid();
	int order[NR_VMS], i, j, tmp, ret;
	char list[64] = "";

	RETURN_IF_SKIPPED();
	ASSERT_NE(NULL, vms);
	for (i = 0; i < NR_VMS; i++) {
		vm_init(&vms[i]);
		vm_start_mem(_metadata, &vms[i], 8 << 20,
			     (uintptr_t)guest_shutdown_with, 0x100 + i, 0);
		ASSERT_EQ(0x100 + i, VM_RUN_TO_SHUTDOWN(&vms[i]));
		order[i] = i;
	}
	srand(seed);
	for (i = NR_VMS - 1; i > 0; i--) {
		j = rand() % (i + 1);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < NR_VMS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 " %d", order[i]);
	TH_LOG("closing in the order%s (seed %u)", list, seed);

	for (i = 0; i < NR_VMS; i++) {
		ret = unload_module("pvisor");
		EXPECT_EQ(-EWOULDBLOCK, ret)
			TH_LOG("delete_module with %d VMs open: %s",
			       NR_VMS - i, strerror(-ret));
		if (!ret)
			ASSERT_EQ(0, load_module(pvisor_ko_path()));
		vm_destroy(&vms[order[i]]);
	}
	free(vms);
	reload_pvisor(_metadata);
}

static void guest_cr3_bad(void)
{
	guest_write_cr3(BAD_GPA);
}

/*
 * Last: after guests that were killed, interrupted and shut down, and
 * their fds closed, pvisor.ko unloads, loads again and runs a guest.
 */
TEST_F(unload, rmmod_and_reload)
{
	struct test_vm t;

	RETURN_IF_SKIPPED();
	vm_init(&t);
	vm_start(&t, guest_cr3_bad, 0, 0);
	VM_RUN_TO_KILL(&t, PVISOR_KILL_BAD_PAGE_TABLE);
	vm_destroy(&t);

	reload_pvisor(_metadata);

	vm_init(&t);
	vm_start(&t, guest_shutdown_with, 0x10ad, 0);
	EXPECT_EQ(0x10ad, VM_RUN_TO_SHUTDOWN(&t));
	vm_destroy(&t);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * Running guests: shutdown, every hypercall and its errors, hypercalls from
 * CPL 3, CPUID, signals (a spinning guest and a halted one), a triple
 * fault, registers into and out of the guest, the guest's initial FPU
 * state, memory changes while a vCPU runs, and the launcher's own state
 * after a guest that clobbers vector registers and the syscall, FS and GS
 * MSRs.
 */
#include <cpuid.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <asm/prctl.h>

#include "kselftest_harness.h"
#include "vm_util.h"

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102

#define HC_ERR(e)		((uint64_t)-(int64_t)(e))

/* Results a guest leaves for the host to check after its shutdown. */
static uint64_t guest_results[16];

static void guest_shutdown_with(uint64_t si, uint64_t status)
{
	guest_shutdown(status);
}

TEST_F(vm, shutdown_status)
{
	const uint64_t status = 0x0123456789abcdefULL;
	struct pvisor_regs before, after;
	struct pvisor_run *run;
	int i;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_shutdown_with, status, 0);
	ASSERT_EQ(status, VM_RUN_TO_SHUTDOWN(&self->t));
	run = self->t.vm.run;

	/* Every later RUN returns the same exit; the guest stays stopped. */
	IOCTL_OK(self->t.vm.vcpu_fd, PVISOR_GET_REGS, &before);
	for (i = 0; i < 3; i++) {
		run->exit_reason = PVISOR_EXIT_NONE;
		run->shutdown.status = 0;
		ASSERT_EQ(0, IOCTL_OK(self->t.vm.vcpu_fd, PVISOR_RUN, 0));
		ASSERT_EXIT(&self->t, PVISOR_EXIT_SHUTDOWN);
		EXPECT_EQ(status, run->shutdown.status)
			TH_LOG("RUN %d after the shutdown", i + 2);
	}
	IOCTL_OK(self->t.vm.vcpu_fd, PVISOR_GET_REGS, &after);
	EXPECT_EQ(before.rip, after.rip);
}

/*
 * NOP with a pattern in every register but RAX and RSP: stores RAX and
 * the registers after the call to out[0..13] (RDI keeps @out).
 */
GUEST_ASM(void, guest_nop_regs, (uint64_t *out),
	  "	push %rbx\n"
	  "	push %rbp\n"
	  "	push %r12\n"
	  "	push %r13\n"
	  "	push %r14\n"
	  "	push %r15\n"
	  "	movabs $0x5a5a5a5a00000001, %rbx\n"
	  "	movabs $0x5a5a5a5a00000002, %rcx\n"
	  "	movabs $0x5a5a5a5a00000003, %rdx\n"
	  "	movabs $0x5a5a5a5a00000004, %rsi\n"
	  "	movabs $0x5a5a5a5a00000005, %rbp\n"
	  "	movabs $0x5a5a5a5a00000008, %r8\n"
	  "	movabs $0x5a5a5a5a00000009, %r9\n"
	  "	movabs $0x5a5a5a5a0000000a, %r10\n"
	  "	movabs $0x5a5a5a5a0000000b, %r11\n"
	  "	movabs $0x5a5a5a5a0000000c, %r12\n"
	  "	movabs $0x5a5a5a5a0000000d, %r13\n"
	  "	movabs $0x5a5a5a5a0000000e, %r14\n"
	  "	movabs $0x5a5a5a5a0000000f, %r15\n"
	  "	mov $" GUEST_STR(PVISOR_HC_NOP) ", %eax\n"
	  "	vmcall\n"
	  "	mov %rax, 0(%rdi)\n"
	  "	mov %rbx, 8(%rdi)\n"
	  "	mov %rcx, 16(%rdi)\n"
	  "	mov %rdx, 24(%rdi)\n"
	  "	mov %rsi, 32(%rdi)\n"
	  "	mov %rbp, 40(%rdi)\n"
	  "	mov %r8, 48(%rdi)\n"
	  "	mov %r9, 56(%rdi)\n"
	  "	mov %r10, 64(%rdi)\n"
	  "	mov %r11, 72(%rdi)\n"
	  "	mov %r12, 80(%rdi)\n"
	  "	mov %r13, 88(%rdi)\n"
	  "	mov %r14, 96(%rdi)\n"
	  "	mov %r15, 104(%rdi)\n"
	  "	pop %r15\n"
	  "	pop %r14\n"
	  "	pop %r13\n"
	  "	pop %r12\n"
	  "	pop %rbp\n"
	  "	pop %rbx\n"
	  "	ret\n");

static uint64_t guest_nop_out[14];

static void guest_hypercalls(void)
{
	guest_results[0] = guest_hypercall(PVISOR_HC_NOP, 0, 0);
	guest_results[1] = guest_hypercall(PVISOR_HC_NOP, ~0ULL, ~0ULL);
	guest_results[2] = guest_get_info(PVISOR_INFO_MEM_SIZE);
	guest_results[3] = guest_get_info(PVISOR_INFO_VCPU_ID);
	guest_results[4] = guest_get_info(PVISOR_INFO_VERSION);
	guest_results[5] = guest_get_info(PVISOR_INFO_CLOCK_NS + 1);
	guest_results[6] = guest_get_info(~0ULL);
	guest_results[7] = guest_get_info(1ULL << 32 | PVISOR_INFO_VCPU_ID);
	guest_results[8] = guest_hypercall(PVISOR_HC_CHAN_NOTIFY + 1, 0, 0);
	guest_results[9] = guest_hypercall(0x7fffffff, 0, 0);
	guest_results[10] = guest_hypercall(~0ULL, 0, 0);
	guest_results[11] = guest_hypercall(1ULL << 32 | PVISOR_HC_NOP, 0, 0);
	guest_nop_regs(guest_nop_out);
	guest_shutdown(0);
}

TEST_F(vm, hypercalls)
{
	static const struct {
		uint64_t value;
		const char *what;
	} expect[] = {
		{ 0, "NOP" },
		{ 0, "NOP with arguments" },
		{ VM_MEM_SIZE, "GET_INFO(MEM_SIZE)" },
		{ 0, "GET_INFO(VCPU_ID)" },
		{ PVISOR_PARA_VERSION, "GET_INFO(VERSION)" },
		{ HC_ERR(PVISOR_EINVAL), "GET_INFO(4)" },
		{ HC_ERR(PVISOR_EINVAL), "GET_INFO(~0)" },
		{ HC_ERR(PVISOR_EINVAL), "GET_INFO(2^32 + VCPU_ID)" },
		{ HC_ERR(PVISOR_ENOSYS), "hypercall 10 (past the last)" },
		{ HC_ERR(PVISOR_ENOSYS), "hypercall 0x7fffffff" },
		{ HC_ERR(PVISOR_ENOSYS), "hypercall ~0" },
		{ HC_ERR(PVISOR_ENOSYS), "hypercall 2^32 (NOP + 2^32)" },
	};
	uint64_t *res, *regs;
	unsigned int i;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_hypercalls, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	EXPECT_EQ(0, self->t.console_total);

	res = *GUEST_VAR(&self->t, guest_results);
	for (i = 0; i < ARRAY_SIZE(expect); i++) {
		const char *what = expect[i].what;

		EXPECT_EQ(expect[i].value, res[i])
			TH_LOG("%s returned %#llx", what,
			       (unsigned long long)res[i]);
	}

	/* Every register but RAX survives a hypercall. */
	regs = *GUEST_VAR(&self->t, guest_nop_out);
	EXPECT_EQ(0, regs[0]) TH_LOG("RAX after NOP");
	for (i = 1; i < ARRAY_SIZE(guest_nop_out); i++) {
		/* rbx rcx rdx rsi rbp, then r8..r15 */
		uint64_t nr = i <= 5 ? i : i + 2;

		EXPECT_EQ(0x5a5a5a5a00000000ULL | nr, regs[i])
			TH_LOG("register %u of guest_nop_regs changed", i);
	}
}

static const char guest_hello[] = "hello from the guest\n";
static char guest_long[PVISOR_CONSOLE_WRITE_MAX + 952];

static char long_byte(unsigned int i)
{
	return 'a' + i % 26;
}

static void guest_console(void)
{
	unsigned int i;

	guest_results[0] = guest_console_write(guest_hello,
					       sizeof(guest_hello) - 1);
	guest_results[1] = guest_console_write(guest_hello, 0);
	for (i = 0; i < sizeof(guest_long); i++)
		guest_long[i] = 'a' + i % 26;
	guest_results[2] = guest_console_write(guest_long, sizeof(guest_long));
	guest_shutdown(0);
}

TEST_F(vm, console_write)
{
	struct pvisor_run *run;
	uint64_t *res;
	unsigned int i;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_console, 0, 0);
	run = self->t.vm.run;

	IOCTL_OK(self->t.vm.vcpu_fd, PVISOR_RUN, 0);
	ASSERT_EXIT(&self->t, PVISOR_EXIT_CONSOLE);
	ASSERT_EQ(sizeof(guest_hello) - 1, run->console.len);
	EXPECT_EQ(0, memcmp(guest_hello, run->console.data,
			    sizeof(guest_hello) - 1));

	/* An empty write may or may not exit, but prints nothing. */
	IOCTL_OK(self->t.vm.vcpu_fd, PVISOR_RUN, 0);
	if (run->exit_reason == PVISOR_EXIT_CONSOLE && !run->console.len)
		IOCTL_OK(self->t.vm.vcpu_fd, PVISOR_RUN, 0);

	/* A long write is cut to PVISOR_CONSOLE_WRITE_MAX bytes. */
	ASSERT_EXIT(&self->t, PVISOR_EXIT_CONSOLE);
	ASSERT_EQ(PVISOR_CONSOLE_WRITE_MAX, run->console.len);
	for (i = 0; i < PVISOR_CONSOLE_WRITE_MAX; i++)
		ASSERT_EQ(long_byte(i), run->console.data[i])
			TH_LOG("console byte %u", i);

	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	res = *GUEST_VAR(&self->t, guest_results);
	EXPECT_EQ(sizeof(guest_hello) - 1, res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_EQ(PVISOR_CONSOLE_WRITE_MAX, res[2]);
}

static void guest_console_bad_ranges(uint64_t si, uint64_t mem_size)
{
	uint64_t hc = PVISOR_HC_CONSOLE_WRITE;

	guest_results[0] = guest_hypercall(hc, mem_size, 1);
	guest_results[1] = guest_hypercall(hc, mem_size - 16, 32);
	guest_results[2] = guest_hypercall(hc, ~0ULL - 7, 16);
	guest_results[3] = guest_hypercall(hc, ~0ULL, 2);
	guest_results[4] = guest_hypercall(hc, 1ULL << 40, 8);
	guest_results[5] = guest_hypercall(hc, mem_size - 8, 8);
	guest_shutdown(0);
}

TEST_F(vm, console_write_bad_ranges)
{
	static const char *const what[] = {
		"one byte past the end of memory",
		"16 bytes before the end, 32 long",
		"wrapping at 2^64",
		"at ~0, 2 long",
		"at 1 TiB",
		"the last 8 bytes of memory",
	};
	uint64_t *res;
	unsigned int i;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_console_bad_ranges, VM_MEM_SIZE, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	res = *GUEST_VAR(&self->t, guest_results);
	for (i = 0; i < 5; i++)
		EXPECT_EQ(HC_ERR(PVISOR_EFAULT), res[i])
			TH_LOG("CONSOLE_WRITE %s returned %#llx", what[i],
			       (unsigned long long)res[i]);
	EXPECT_EQ(8, res[5]) TH_LOG("CONSOLE_WRITE %s", what[5]);
	/* The failed writes printed nothing. */
	EXPECT_EQ(8, self->t.console_total);
}

/* GPAs of a second slot, and where it ends. */
#define SLOT1_GPA	0x40000000ULL
#define SLOT1_SIZE	0x200000ULL

static void guest_second_slot(void)
{
	uint64_t hc = PVISOR_HC_CONSOLE_WRITE;

	guest_results[0] = guest_get_info(PVISOR_INFO_MEM_SIZE);
	guest_results[1] = guest_hypercall(hc, SLOT1_GPA, 9);
	guest_results[2] = guest_hypercall(hc, SLOT1_GPA + SLOT1_SIZE - 4, 8);
	guest_results[3] = guest_hypercall(hc, VM_MEM_SIZE - 4, 8);
	guest_results[4] = guest_hypercall(hc, SLOT1_GPA - 4, 8);
	guest_shutdown(0);
}

/* Hypercall ranges are checked against every slot, and not across holes. */
TEST_F(vm, second_memory_slot)
{
	struct pvisor_memory_region region;
	uint64_t *res;
	char *mem;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_second_slot, 0, 0);
	mem = mmap(NULL, SLOT1_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memcpy(mem, "slot one\n", 9);
	memset(&region, 0, sizeof(region));
	region.slot = 1;
	region.guest_phys_addr = SLOT1_GPA;
	region.memory_size = SLOT1_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	IOCTL_OK(self->t.vm.vm_fd, PVISOR_SET_MEMORY_REGION, &region);

	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	res = *GUEST_VAR(&self->t, guest_results);
	EXPECT_EQ(VM_MEM_SIZE + SLOT1_SIZE, res[0]);
	EXPECT_EQ(9, res[1]);
	EXPECT_STREQ("slot one\n", self->t.console);
	EXPECT_EQ(HC_ERR(PVISOR_EFAULT), res[2]) TH_LOG("end of slot 1");
	EXPECT_EQ(HC_ERR(PVISOR_EFAULT), res[3]) TH_LOG("end of slot 0");
	EXPECT_EQ(HC_ERR(PVISOR_EFAULT), res[4]) TH_LOG("start of slot 1");
	vm_destroy(&self->t);
	munmap(mem, SLOT1_SIZE);
}

/*
 * CPL 3 code: three hypercalls, their results in R12..R14, then back to
 * CPL 0 through GUEST_USER_VECTOR.
 */
GUEST_ASM(void, guest_user_hypercalls, (void),
	  "	mov $" GUEST_STR(PVISOR_HC_SHUTDOWN) ", %eax\n"
	  "	mov $0xbad, %edi\n"
	  "	vmcall\n"
	  "	mov %rax, %r12\n"
	  "	mov $" GUEST_STR(PVISOR_HC_GET_INFO) ", %eax\n"
	  "	mov $" GUEST_STR(PVISOR_INFO_VERSION) ", %edi\n"
	  "	vmcall\n"
	  "	mov %rax, %r13\n"
	  "	mov $" GUEST_STR(PVISOR_HC_CONSOLE_WRITE) ", %eax\n"
	  "	lea guest_user_msg(%rip), %rdi\n"
	  "	mov $4, %esi\n"
	  "	vmcall\n"
	  "	mov %rax, %r14\n"
	  "	int $" GUEST_STR(GUEST_USER_VECTOR) "\n"
	  "	ud2\n"
	  "guest_user_msg:\n"
	  "	.ascii \"user\"\n");

static uint64_t guest_user_stack[512];

static void guest_user_back(struct guest_frame *f)
{
	if (f->vector != GUEST_USER_VECTOR)
		guest_exception_fatal(f, "guest: exception at CPL 3, vector ");
	guest_results[0] = f->r12;
	guest_results[1] = f->r13;
	guest_results[2] = f->r14;
	guest_results[3] = f->cs;
	guest_shutdown(0x600d);
}

static void guest_cpl3_hypercalls(void)
{
	guest_idt_setup();
	guest_user_setup();
	guest_exc_hook = guest_user_back;
	guest_enter_user((uintptr_t)guest_user_hypercalls,
			 (uintptr_t)(guest_user_stack + ARRAY_SIZE(guest_user_stack)),
			 0);
}

/* VMCALL at CPL 3 returns -PVISOR_EPERM and does nothing. */
TEST_F(vm, hypercalls_from_cpl3)
{
	uint64_t *res;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_cpl3_hypercalls, 0, 0);
	/* Not 0xbad: the SHUTDOWN from CPL 3 did not stop the guest. */
	ASSERT_EQ(0x600d, VM_RUN_TO_SHUTDOWN(&self->t));
	res = *GUEST_VAR(&self->t, guest_results);
	EXPECT_EQ(3, res[3] & 3)
		TH_LOG("CS %#llx: not CPL 3", (unsigned long long)res[3]);
	EXPECT_EQ(HC_ERR(PVISOR_EPERM), res[0]) TH_LOG("SHUTDOWN");
	EXPECT_EQ(HC_ERR(PVISOR_EPERM), res[1]) TH_LOG("GET_INFO");
	EXPECT_EQ(HC_ERR(PVISOR_EPERM), res[2]) TH_LOG("CONSOLE_WRITE");
	EXPECT_EQ(0, self->t.console_total) TH_LOG("console: %s",
						   self->t.console);
}

static struct guest_cpuid guest_leaves[4];

static void guest_cpuid_leaves(void)
{
	guest_leaves[0] = guest_cpuid(PVISOR_CPUID_SIGNATURE, 0);
	guest_leaves[1] = guest_cpuid(PVISOR_CPUID_SIGNATURE + 1, 0);
	guest_leaves[2] = guest_cpuid(1, 0);
	guest_leaves[3] = guest_cpuid(0x80000001, 0);
	guest_shutdown(0);
}

TEST_F(vm, cpuid)
{
	static const struct {
		int bit;
		const char *name;
	} hidden[] = {
		{ 3, "MONITOR" }, { 5, "VMX" }, { 17, "PCID" },
		{ 21, "x2APIC" }, { 24, "TSC deadline" },
	};
	struct guest_cpuid *l;
	uint32_t sig[3];
	unsigned int i;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_cpuid_leaves, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	l = *GUEST_VAR(&self->t, guest_leaves);

	sig[0] = l[0].ebx;
	sig[1] = l[0].ecx;
	sig[2] = l[0].edx;
	EXPECT_EQ(0, memcmp(sig, "pvisorpvisor", 12))
		TH_LOG("signature %.12s", (char *)sig);
	EXPECT_EQ(PVISOR_CPUID_SIGNATURE + 1, l[0].eax);
	EXPECT_EQ(PVISOR_PARA_VERSION, l[1].eax);
	EXPECT_TRUE(l[2].ecx & (1u << 31)) TH_LOG("no hypervisor bit");
	for (i = 0; i < ARRAY_SIZE(hidden); i++) {
		const char *name = hidden[i].name;

		EXPECT_FALSE(l[2].ecx & (1u << hidden[i].bit))
			TH_LOG("CPUID.1:ECX shows %s", name);
	}
	EXPECT_FALSE(l[3].edx & (1u << 27)) TH_LOG("CPUID shows RDTSCP");
}

/* A thread that sends SIGUSR1 to another every @period_ms until stopped. */
struct kicker {
	pthread_t thread;
	pthread_t target;
	long period_ms;
	bool stop;
};

static void noop_handler(int sig)
{
}

static void *kicker_loop(void *arg)
{
	struct kicker *k = arg;
	struct timespec ts = {
		.tv_sec = k->period_ms / 1000,
		.tv_nsec = k->period_ms % 1000 * 1000000,
	};

	while (!__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
		nanosleep(&ts, NULL);
		if (__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE))
			break;
		pthread_kill(k->target, SIGUSR1);
	}
	return NULL;
}

/* SIGUSR1 interrupts system calls: no SA_RESTART. */
static void kicker_start(struct __test_metadata *_metadata, struct kicker *k,
			 pthread_t target, long period_ms)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	memset(k, 0, sizeof(*k));
	k->target = target;
	k->period_ms = period_ms;
	ASSERT_EQ(0, pthread_create(&k->thread, NULL, kicker_loop, k));
}

static void kicker_stop(struct kicker *k)
{
	__atomic_store_n(&k->stop, true, __ATOMIC_RELEASE);
	pthread_join(k->thread, NULL);
}

static int64_t ns_of(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void guest_spin(void)
{
	for (;;)
		asm volatile("pause");
}

/* A signal ends RUN of a guest that never exits by itself, each time. */
TEST_F(vm, signal_interrupts_spinning_guest)
{
	struct pvisor_regs regs;
	struct kicker k;
	int round;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_spin, 0, 0);
	kicker_start(_metadata, &k, pthread_self(), 100);
	for (round = 0; round < 3; round++) {
		self->t.vm.run->exit_reason = PVISOR_EXIT_NONE;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->t.vm.vcpu_fd, PVISOR_RUN, 0));
		EXPECT_EQ(EINTR, errno) TH_LOG("round %d: %s", round,
					       strerror(errno));
		EXPECT_EQ(PVISOR_EXIT_INTR, self->t.vm.run->exit_reason)
			TH_LOG("round %d: %s", round, vm_describe(&self->t));
	}
	kicker_stop(&k);
	/* The guest is still alive; closing its fds (teardown) ends it. */
	IOCTL_OK(self->t.vm.vcpu_fd, PVISOR_GET_REGS, &regs);
}

static void guest_halt(void)
{
	asm volatile("hlt");
	guest_shutdown(0x4a17);
}

/*
 * HLT sleeps until a signal (the thread uses no CPU meanwhile); the next
 * RUN continues after the HLT.
 */
TEST_F(vm, hlt_sleeps_until_signal)
{
	int64_t wall, cpu;
	struct kicker k;
	int ret, err, i;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_halt, 0, 0);
	kicker_start(_metadata, &k, pthread_self(), 500);
	wall = ns_of(CLOCK_MONOTONIC);
	cpu = ns_of(CLOCK_THREAD_CPUTIME_ID);
	ret = ioctl(self->t.vm.vcpu_fd, PVISOR_RUN, 0);
	err = errno;
	cpu = ns_of(CLOCK_THREAD_CPUTIME_ID) - cpu;
	wall = ns_of(CLOCK_MONOTONIC) - wall;
	kicker_stop(&k);

	ASSERT_EQ(-1, ret) TH_LOG("RUN returned %d: %s", ret,
				  vm_describe(&self->t));
	ASSERT_EQ(EINTR, err) TH_LOG("%s", strerror(err));
	ASSERT_EQ(PVISOR_EXIT_INTR, self->t.vm.run->exit_reason);
	TH_LOG("halted for %lld ms, %lld ms of CPU", (long long)wall / 1000000,
	       (long long)cpu / 1000000);
	EXPECT_GE(wall, 400 * 1000000LL);
	EXPECT_LT(cpu * 100, wall * 30) TH_LOG("the halted vCPU used CPU");

	/* A signal may still be on its way: retry RUN after EINTR. */
	for (i = 0; i < 10; i++) {
		ret = ioctl(self->t.vm.vcpu_fd, PVISOR_RUN, 0);
		if (ret == 0 || errno != EINTR)
			break;
	}
	ASSERT_EQ(0, ret) TH_LOG("RUN: %s", strerror(errno));
	ASSERT_EXIT(&self->t, PVISOR_EXIT_SHUTDOWN);
	EXPECT_EQ(0x4a17, self->t.vm.run->shutdown.status);
}

static void guest_triple_fault(void)
{
	guest_lidt(NULL, 0);
	asm volatile("ud2");
}

/* An exception without an IDT triple-faults: the VM is dead. */
TEST_F(vm, triple_fault_kills)
{
	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_triple_fault, 0, 0);
	VM_RUN_TO_KILL(&self->t, PVISOR_KILL_TRIPLE_FAULT);
	EXPECT_EQ(0, self->t.vm.run->killed.data);
	vm_assert_dead(_metadata, &self->t);
}

/* Stores every general register and RFLAGS as the guest starts. */
GUEST_ASM(void, guest_regs_store, (void),
	  "	mov %rax, guest_regs_seen + 0(%rip)\n"
	  "	mov %rbx, guest_regs_seen + 8(%rip)\n"
	  "	mov %rcx, guest_regs_seen + 16(%rip)\n"
	  "	mov %rdx, guest_regs_seen + 24(%rip)\n"
	  "	mov %rsi, guest_regs_seen + 32(%rip)\n"
	  "	mov %rdi, guest_regs_seen + 40(%rip)\n"
	  "	mov %rsp, guest_regs_seen + 48(%rip)\n"
	  "	mov %rbp, guest_regs_seen + 56(%rip)\n"
	  "	mov %r8, guest_regs_seen + 64(%rip)\n"
	  "	mov %r9, guest_regs_seen + 72(%rip)\n"
	  "	mov %r10, guest_regs_seen + 80(%rip)\n"
	  "	mov %r11, guest_regs_seen + 88(%rip)\n"
	  "	mov %r12, guest_regs_seen + 96(%rip)\n"
	  "	mov %r13, guest_regs_seen + 104(%rip)\n"
	  "	mov %r14, guest_regs_seen + 112(%rip)\n"
	  "	mov %r15, guest_regs_seen + 120(%rip)\n"
	  "	pushfq\n"
	  "	popq guest_regs_seen + 128(%rip)\n"
	  "	mov $" GUEST_STR(PVISOR_HC_SHUTDOWN) ", %eax\n"
	  "	xor %edi, %edi\n"
	  "	vmcall\n"
	  "	ud2\n");

/* Same order as struct pvisor_regs, which starts with rax..r15, rip. */
uint64_t guest_regs_seen[17];

/* The guest starts with the registers PVISOR_SET_REGS gave it. */
TEST_F(vm, registers_in)
{
	struct pvisor_regs regs;
	uint64_t *seen;
	__u64 *in;
	int i;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_regs_store, 0, 0);
	IOCTL_OK(self->t.vm.vcpu_fd, PVISOR_GET_REGS, &regs);
	in = &regs.rax;
	for (i = 0; i < 16; i++)
		if (i != 6)	/* RSP: keep the launcher's stack */
			in[i] = 0x1122334455667700ULL + i;
	/* CF, PF, ZF, SF, OF: visible, harmless. */
	regs.rflags = 0x2 | 0x1 | 0x4 | 0x40 | 0x80 | 0x800;
	IOCTL_OK(self->t.vm.vcpu_fd, PVISOR_SET_REGS, &regs);

	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	seen = *GUEST_VAR(&self->t, guest_regs_seen);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(in[i], seen[i]) TH_LOG("register %d of pvisor_regs",
						 i);
	EXPECT_EQ(regs.rflags, seen[16] & 0xfff);
}

/* Where guest_regs_load() continues after its VMCALL. */
uint64_t guest_regs_load_rip;

/* Sets every general register, CF and DF, then shuts down. */
GUEST_ASM(void, guest_regs_load, (void),
	  "	lea 1f(%rip), %rax\n"
	  "	mov %rax, guest_regs_load_rip(%rip)\n"
	  "	movabs $0x0101010101010101, %rbx\n"
	  "	movabs $0x0202020202020202, %rcx\n"
	  "	movabs $0x0303030303030303, %rdx\n"
	  "	movabs $0x0404040404040404, %rsi\n"
	  "	movabs $0x0606060606060606, %rsp\n"
	  "	movabs $0x0707070707070707, %rbp\n"
	  "	movabs $0x0808080808080808, %r8\n"
	  "	movabs $0x0909090909090909, %r9\n"
	  "	movabs $0x0a0a0a0a0a0a0a0a, %r10\n"
	  "	movabs $0x0b0b0b0b0b0b0b0b, %r11\n"
	  "	movabs $0x0c0c0c0c0c0c0c0c, %r12\n"
	  "	movabs $0x0d0d0d0d0d0d0d0d, %r13\n"
	  "	movabs $0x0e0e0e0e0e0e0e0e, %r14\n"
	  "	movabs $0x0f0f0f0f0f0f0f0f, %r15\n"
	  "	mov $0x51a7, %edi\n"
	  "	mov $" GUEST_STR(PVISOR_HC_SHUTDOWN) ", %eax\n"
	  "	stc\n"
	  "	std\n"
	  "	vmcall\n"
	  "1:	ud2\n");

/* PVISOR_GET_REGS sees what the guest left in its registers. */
TEST_F(vm, registers_out)
{
	struct pvisor_regs regs;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_regs_load, 0, 0);
	ASSERT_EQ(0x51a7, VM_RUN_TO_SHUTDOWN(&self->t));
	memset(&regs, 0xa5, sizeof(regs));
	IOCTL_OK(self->t.vm.vcpu_fd, PVISOR_GET_REGS, &regs);
	EXPECT_EQ(0x0101010101010101ULL, regs.rbx);
	EXPECT_EQ(0x0202020202020202ULL, regs.rcx);
	EXPECT_EQ(0x0303030303030303ULL, regs.rdx);
	EXPECT_EQ(0x0404040404040404ULL, regs.rsi);
	EXPECT_EQ(0x51a7, regs.rdi);
	EXPECT_EQ(0x0606060606060606ULL, regs.rsp);
	EXPECT_EQ(0x0707070707070707ULL, regs.rbp);
	EXPECT_EQ(0x0808080808080808ULL, regs.r8);
	EXPECT_EQ(0x0909090909090909ULL, regs.r9);
	EXPECT_EQ(0x0a0a0a0a0a0a0a0aULL, regs.r10);
	EXPECT_EQ(0x0b0b0b0b0b0b0b0bULL, regs.r11);
	EXPECT_EQ(0x0c0c0c0c0c0c0c0cULL, regs.r12);
	EXPECT_EQ(0x0d0d0d0d0d0d0d0dULL, regs.r13);
	EXPECT_EQ(0x0e0e0e0e0e0e0e0eULL, regs.r14);
	EXPECT_EQ(0x0f0f0f0f0f0f0f0fULL, regs.r15);
	/* The VMCALL is done: RIP is past it. */
	EXPECT_EQ(*GUEST_VAR(&self->t, guest_regs_load_rip), regs.rip);
	EXPECT_EQ(0x401, regs.rflags & 0x401) TH_LOG("CF and DF: %#llx",
						     (unsigned long long)regs.rflags);
	EXPECT_EQ(0, regs.flags);
	EXPECT_EQ(0, regs.padding);
	EXPECT_EQ(0, regs.reserved[0] | regs.reserved[1] | regs.reserved[2] |
		     regs.reserved[3]);
}

static void guest_fpu_state(void)
{
	uint32_t mxcsr;
	uint16_t fcw, fsw;
	uint32_t lo, hi;

	asm volatile("stmxcsr %0" : "=m" (mxcsr));
	asm volatile("fnstcw %0" : "=m" (fcw));
	asm volatile("fnstsw %0" : "=m" (fsw));
	guest_results[0] = mxcsr;
	guest_results[1] = fcw;
	guest_results[2] = fsw;
	guest_results[3] = ~0ULL;
	if (guest_cpuid(1, 0).ecx & (1u << 26)) {
		guest_write_cr4(guest_read_cr4() | X86_CR4_OSXSAVE);
		asm volatile("xgetbv" : "=a" (lo), "=d" (hi) : "c" (0));
		guest_results[3] = (uint64_t)hi << 32 | lo;
	}
	guest_shutdown(0);
}

/* The guest's FPU starts in its initialization state, with XCR0 = 1. */
TEST_F(vm, fpu_initial_state)
{
	uint64_t *res;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_fpu_state, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	res = *GUEST_VAR(&self->t, guest_results);
	EXPECT_EQ(0x1f80, res[0]) TH_LOG("MXCSR");
	EXPECT_EQ(0x037f, res[1]) TH_LOG("x87 control word");
	EXPECT_EQ(0, res[2]) TH_LOG("x87 status word");
	if (res[3] == ~0ULL) {
		TH_LOG("no XSAVE: XCR0 not checked");
		return;
	}
	EXPECT_EQ(1, res[3]) TH_LOG("XCR0");
}

struct vcpu_thread {
	struct test_vm *t;
	int ret;
	int err;
};

static void *run_vcpu(void *arg)
{
	struct vcpu_thread *v = arg;

	v->ret = ioctl(v->t->vm.vcpu_fd, PVISOR_RUN, 0);
	v->err = errno;
	return NULL;
}

/* Memory slots do not change under a running vCPU. */
TEST_F(vm, set_memory_region_while_running)
{
	struct pvisor_memory_region remove_slot7;
	struct vcpu_thread v = { .t = &self->t };
	struct sigaction sa;
	pthread_t thread;
	int64_t deadline;
	int ret = 0, err = 0;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_halt, 0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	/* Removing an unused slot succeeds while no vCPU runs. */
	memset(&remove_slot7, 0, sizeof(remove_slot7));
	remove_slot7.slot = 7;
	IOCTL_OK(self->t.vm.vm_fd, PVISOR_SET_MEMORY_REGION, &remove_slot7);

	ASSERT_EQ(0, pthread_create(&thread, NULL, run_vcpu, &v));
	deadline = ns_of(CLOCK_MONOTONIC) + 10 * 1000000000LL;
	while (ns_of(CLOCK_MONOTONIC) < deadline) {
		ret = ioctl(self->t.vm.vm_fd, PVISOR_SET_MEMORY_REGION,
			    &remove_slot7);
		err = errno;
		if (ret)
			break;
		usleep(10000);
	}
	pthread_kill(thread, SIGUSR1);
	pthread_join(thread, NULL);

	EXPECT_EQ(-1, ret) TH_LOG("never EBUSY while the vCPU was halted");
	EXPECT_EQ(EBUSY, err) TH_LOG("%s", strerror(err));
	EXPECT_EQ(-1, v.ret);
	EXPECT_EQ(EINTR, v.err) TH_LOG("RUN: %s", strerror(v.err));
	IOCTL_OK(self->t.vm.vm_fd, PVISOR_SET_MEMORY_REGION, &remove_slot7);
}

#define REP16(m)	m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7) m(8) m(9) \
			m(10) m(11) m(12) m(13) m(14) m(15)
/* Basic asm (guest functions) and extended asm (the launcher) spellings. */
#define XMM_LOAD(i)	"	movdqu " #i "*16(%rdi), %xmm" #i "\n"
#define XMM_STORE(i)	"	movdqu %xmm" #i ", " #i "*16(%rbx)\n"
#define YMM_LOAD(i)	"	vmovdqu " #i "*32(%rdi), %ymm" #i "\n"
#define YMM_STORE(i)	"	vmovdqu %ymm" #i ", " #i "*32(%rbx)\n"
#define HOST_XMM_LOAD(i)	"movdqu " #i "*16(%[in]), %%xmm" #i "\n\t"
#define HOST_XMM_STORE(i)	"movdqu %%xmm" #i ", " #i "*16(%[out])\n\t"
#define HOST_YMM_LOAD(i)	"vmovdqu " #i "*32(%[in]), %%ymm" #i "\n\t"
#define HOST_YMM_STORE(i)	"vmovdqu %%ymm" #i ", " #i "*32(%[out])\n\t"
#define VEC_CLOBBERS	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",	\
			"xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", \
			"xmm12", "xmm13", "xmm14", "xmm15"

/*
 * Guest side of the launcher-state test: vector registers loaded from
 * @in, a console write of @msg (an exit to the launcher), vector
 * registers stored to @out.  RBX keeps @out across the hypercall.
 */
#define VEC_ACROSS_EXIT(load, store)					\
	"	push %rbx\n"						\
	"	mov %rsi, %rbx\n"					\
	REP16(load)							\
	"	mov %rdx, %rdi\n"					\
	"	mov %rcx, %rsi\n"					\
	"	mov $" GUEST_STR(PVISOR_HC_CONSOLE_WRITE) ", %eax\n"	\
	"	vmcall\n"						\
	REP16(store)							\
	"	pop %rbx\n"						\
	"	ret\n"

GUEST_ASM(void, guest_xmm_across_exit,
	  (const void *in, void *out, const char *msg, uint64_t len),
	  VEC_ACROSS_EXIT(XMM_LOAD, XMM_STORE));
GUEST_ASM(void, guest_ymm_across_exit,
	  (const void *in, void *out, const char *msg, uint64_t len),
	  VEC_ACROSS_EXIT(YMM_LOAD, YMM_STORE));

static uint8_t guest_vec_in[16 * 32], guest_vec_out[16 * 32];
static const char guest_clobbered[] = "clobbered\n";

static const struct {
	uint32_t msr;
	uint64_t value;
} guest_msrs[] = {
	{ MSR_STAR, 0x0023001000000000ULL },
	{ MSR_LSTAR, 0xffffffff81234560ULL },
	{ MSR_CSTAR, 0xffffffff81234570ULL },
	{ MSR_SYSCALL_MASK, 0 },
	{ MSR_FS_BASE, 0x1234000 },
	{ MSR_GS_BASE, 0x2345000 },
	{ MSR_KERNEL_GS_BASE, 0xffff888812345000ULL },
	{ MSR_IA32_SYSENTER_CS, 0x10 },
	{ MSR_IA32_SYSENTER_ESP, 0xffff888800010000ULL },
	{ MSR_IA32_SYSENTER_EIP, 0xffffffff81000000ULL },
};

/*
 * Clobber what the launcher must get back: the syscall, SYSENTER, FS and
 * GS MSRs, every vector register, MXCSR and the x87 control word and
 * stack; then exit to the launcher and check that all of it is still the
 * guest's.
 */
static void guest_clobber(void)
{
	uint16_t fcw = 0x027f, fcw_seen;
	uint32_t mxcsr = 0x3f80, mxcsr_seen;
	uint64_t x87[2];
	unsigned int i, n;
	bool avx;

	avx = guest_enable_avx();
	n = avx ? 16 * 32 : 16 * 16;
	for (i = 0; i < sizeof(guest_vec_in); i++)
		guest_vec_in[i] = 0xa0 ^ i;
	for (i = 0; i < ARRAY_SIZE(guest_msrs); i++)
		guest_wrmsr(guest_msrs[i].msr, guest_msrs[i].value);
	asm volatile("ldmxcsr %0" : : "m" (mxcsr));
	asm volatile("fninit\n\tfldcw %0\n\tfld1\n\tfldpi" : : "m" (fcw));

	if (avx)
		guest_ymm_across_exit(guest_vec_in, guest_vec_out,
				      guest_clobbered,
				      sizeof(guest_clobbered) - 1);
	else
		guest_xmm_across_exit(guest_vec_in, guest_vec_out,
				      guest_clobbered,
				      sizeof(guest_clobbered) - 1);

	asm volatile("stmxcsr %0" : "=m" (mxcsr_seen));
	asm volatile("fnstcw %0\n\tfstpl %1\n\tfstpl %2"
		     : "=m" (fcw_seen), "=m" (x87[0]), "=m" (x87[1]));
	GUEST_ASSERT_EQ(mxcsr, mxcsr_seen);
	GUEST_ASSERT_EQ(fcw, fcw_seen);
	GUEST_ASSERT_EQ(0x400921fb54442d18ULL, x87[0]);	/* pi */
	GUEST_ASSERT_EQ(0x3ff0000000000000ULL, x87[1]);	/* 1.0 */
	for (i = 0; i < n; i++)
		GUEST_ASSERT_EQ(guest_vec_in[i], guest_vec_out[i]);
	for (i = 0; i < ARRAY_SIZE(guest_msrs); i++)
		GUEST_ASSERT_EQ(guest_msrs[i].value,
				guest_rdmsr(guest_msrs[i].msr));
	guest_shutdown(avx ? 0x5afe : 0x55e);
}

static bool host_has_avx(void)
{
	unsigned int a, b, c, d;
	uint32_t lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	if (!(c & bit_OSXSAVE) || !(c & bit_AVX))
		return false;
	asm volatile("xgetbv" : "=a" (lo), "=d" (hi) : "c" (0));
	return (lo & 6) == 6;
}

struct host_fpu {
	uint32_t mxcsr;
	uint16_t fcw;
};

/*
 * PVISOR_RUN by a raw system call with a pattern in the vector registers,
 * MXCSR and the x87 control word, and their values after the call in @out
 * and @after: no C code runs in between.
 */
static long run_with_vectors(int vcpu_fd, bool avx, const uint8_t *in,
			     uint8_t *out, const struct host_fpu *before,
			     struct host_fpu *after)
{
	long ret;

	if (avx)
		asm volatile("ldmxcsr %[mxcsr_in]\n\t"
			     "fldcw %[fcw_in]\n\t"
			     REP16(HOST_YMM_LOAD)
			     "syscall\n\t"
			     REP16(HOST_YMM_STORE)
			     "stmxcsr %[mxcsr_out]\n\t"
			     "fnstcw %[fcw_out]\n\t"
			     "vzeroupper"
			     : "=a" (ret), [mxcsr_out] "=m" (after->mxcsr),
			       [fcw_out] "=m" (after->fcw)
			     : "a" (SYS_ioctl), "D" (vcpu_fd), "S" (PVISOR_RUN),
			       "d" (0), [in] "r" (in), [out] "r" (out),
			       [mxcsr_in] "m" (before->mxcsr),
			       [fcw_in] "m" (before->fcw)
			     : "rcx", "r11", "memory", VEC_CLOBBERS);
	else
		asm volatile("ldmxcsr %[mxcsr_in]\n\t"
			     "fldcw %[fcw_in]\n\t"
			     REP16(HOST_XMM_LOAD)
			     "syscall\n\t"
			     REP16(HOST_XMM_STORE)
			     "stmxcsr %[mxcsr_out]\n\t"
			     "fnstcw %[fcw_out]"
			     : "=a" (ret), [mxcsr_out] "=m" (after->mxcsr),
			       [fcw_out] "=m" (after->fcw)
			     : "a" (SYS_ioctl), "D" (vcpu_fd), "S" (PVISOR_RUN),
			       "d" (0), [in] "r" (in), [out] "r" (out),
			       [mxcsr_in] "m" (before->mxcsr),
			       [fcw_in] "m" (before->fcw)
			     : "rcx", "r11", "memory", VEC_CLOBBERS);
	return ret;
}

static __thread int tls_canary = 0x7e57;

struct host_state {
	uint64_t fs_base, gs_base;
	uint16_t ds, es, fs, gs, ss;
	pid_t pid;
};

static void read_host_state(struct host_state *s)
{
	memset(s, 0, sizeof(*s));
	syscall(SYS_arch_prctl, ARCH_GET_FS, &s->fs_base);
	syscall(SYS_arch_prctl, ARCH_GET_GS, &s->gs_base);
	asm volatile("mov %%ds, %0" : "=r" (s->ds));
	asm volatile("mov %%es, %0" : "=r" (s->es));
	asm volatile("mov %%fs, %0" : "=r" (s->fs));
	asm volatile("mov %%gs, %0" : "=r" (s->gs));
	asm volatile("mov %%ss, %0" : "=r" (s->ss));
	s->pid = syscall(SYS_getpid);
}

static void *thread_canary(void *arg)
{
	return (void *)(long)tls_canary;
}

/*
 * The launcher's registers, FPU/SSE/AVX state, segments, FS and GS bases,
 * TLS and system calls are as before PVISOR_RUN, whatever the guest did to
 * its own copies and to the MSRs it reaches directly.
 */
TEST_F(vm, launcher_state_survives)
{
	static const struct host_fpu fpu_in = { .mxcsr = 0x7f80, .fcw = 0x007f };
	static const struct host_fpu fpu_default = { .mxcsr = 0x1f80,
						     .fcw = 0x037f };
	uint8_t in[16 * 32], out[16 * 32];
	struct host_state before, after;
	struct host_fpu fpu_out;
	bool avx = host_has_avx();
	size_t n = avx ? sizeof(in) : 16 * 16;
	unsigned int i, exits = 0;
	pthread_t thread;
	void *canary;
	long ret;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_clobber, 0, 0);
	for (i = 0; i < sizeof(in); i++)
		in[i] = i * 7 + 1;
	read_host_state(&before);
	TH_LOG("checking %s registers", avx ? "YMM" : "XMM");

	for (;;) {
		memset(out, 0, sizeof(out));
		memset(&fpu_out, 0, sizeof(fpu_out));
		ret = run_with_vectors(self->t.vm.vcpu_fd, avx, in, out,
				       &fpu_in, &fpu_out);
		asm volatile("ldmxcsr %0\n\tfldcw %1"
			     : : "m" (fpu_default.mxcsr), "m" (fpu_default.fcw));
		ASSERT_EQ(0, ret) TH_LOG("PVISOR_RUN: %s", strerror(-ret));
		exits++;

		for (i = 0; i < n; i++)
			ASSERT_EQ(in[i], out[i])
				TH_LOG("exit %u: byte %u of the vector registers",
				       exits, i);
		EXPECT_EQ(fpu_in.mxcsr, fpu_out.mxcsr);
		EXPECT_EQ(fpu_in.fcw, fpu_out.fcw);

		read_host_state(&after);
		EXPECT_EQ(before.fs_base, after.fs_base);
		EXPECT_EQ(before.gs_base, after.gs_base);
		EXPECT_EQ(before.ds, after.ds);
		EXPECT_EQ(before.es, after.es);
		EXPECT_EQ(before.fs, after.fs);
		EXPECT_EQ(before.gs, after.gs);
		EXPECT_EQ(before.ss, after.ss);
		EXPECT_EQ(getpid(), after.pid);
		EXPECT_EQ(0x7e57, tls_canary);

		if (self->t.vm.run->exit_reason != PVISOR_EXIT_CONSOLE)
			break;
		vm_console_append(&self->t);
	}
	ASSERT_EXIT(&self->t, PVISOR_EXIT_SHUTDOWN);
	EXPECT_EQ(2, exits) TH_LOG("a console exit, then the shutdown");
	EXPECT_STREQ(guest_clobbered, self->t.console);
	/* 0x5afe: the guest checked its YMM registers, 0x55e: XMM only. */
	EXPECT_TRUE(self->t.vm.run->shutdown.status == 0x5afe ||
		    self->t.vm.run->shutdown.status == 0x55e)
		TH_LOG("%s", vm_describe(&self->t));

	/* Threads (clone, TLS setup) still work. */
	ASSERT_EQ(0, pthread_create(&thread, NULL, thread_canary, NULL));
	ASSERT_EQ(0, pthread_join(thread, &canary));
	EXPECT_EQ(0x7e57, (long)canary);
}

TEST_HARNESS_MAIN

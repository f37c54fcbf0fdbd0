// SPDX-License-Identifier: GPL-2.0
/*
 * Virtual interrupts and the one-shot timer: a timer interrupt arrives
 * through the guest's IDT no sooner than asked; HLT sleeps until it and
 * costs no host CPU meanwhile; an interrupt waits while RFLAGS.IF is clear
 * and through the STI shadow, and arrives right after; a cancelled timer
 * stays silent and a replaced one fires once with its new vector; bad
 * arguments are refused.  Two vCPUs update a shared counter with atomics
 * and interrupt each other with PVISOR_HC_SEND_IPI, one of them halted
 * between IPIs.  Durations come from PVISOR_INFO_CLOCK_NS, the lab kernel's
 * own clock.
 */
#include <time.h>

#include "kselftest_harness.h"
#include "vm_util.h"

#define HC_ERR(e)	((uint64_t)-(int64_t)(e))
#define MS		1000000ULL

#define TIMER_VECTOR	0x40
#define OTHER_VECTOR	0x41

struct guest_irq_log {
	uint64_t count[256];
	uint64_t last_vector;
	uint64_t first_ns;	/* clock at the first interrupt */
};

static struct guest_irq_log guest_irqs;
static uint64_t guest_results[8];

static uint64_t guest_clock(void)
{
	return guest_get_info(PVISOR_INFO_CLOCK_NS);
}

static uint64_t guest_set_timer(uint64_t ns, uint64_t vector)
{
	return guest_hypercall(PVISOR_HC_SET_TIMER, ns, vector);
}

/* Interrupts (vectors 32-255) are counted; exceptions are fatal. */
static void guest_irq_hook(struct guest_frame *f)
{
	if (f->vector < PVISOR_IRQ_VECTOR_MIN)
		guest_exception_fatal(f, "guest: unexpected exception, vector ");
	if (!guest_irqs.first_ns)
		guest_irqs.first_ns = guest_clock();
	guest_irqs.count[f->vector]++;
	guest_irqs.last_vector = f->vector;
}

static void guest_irq_setup(void)
{
	guest_idt_setup();
	guest_exc_hook = guest_irq_hook;
}

static uint64_t guest_total_irqs(void)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < 256; i++)
		n += __atomic_load_n(&guest_irqs.count[i], __ATOMIC_RELAXED);
	return n;
}

/* Spin with interrupts as they are until @ns have passed. */
static void guest_spin_ns(uint64_t ns)
{
	uint64_t end = guest_clock() + ns;

	while (guest_clock() < end)
		;
}

/* Arm a @delay_ms timer, enable interrupts, spin until it fires. */
static void guest_timer_spin(uint64_t si, uint64_t delay_ms)
{
	uint64_t start, limit;

	guest_irq_setup();
	start = guest_clock();
	limit = start + 10000 * MS;
	GUEST_ASSERT_EQ(0, guest_set_timer(delay_ms * MS, TIMER_VECTOR));
	asm volatile("sti");
	while (!guest_total_irqs() && guest_clock() < limit)
		;
	asm volatile("cli");
	guest_results[0] = guest_irqs.first_ns - start;
	guest_results[1] = guest_total_irqs();
	guest_results[2] = guest_irqs.last_vector;
	guest_shutdown(0);
}

TEST_F(vm, timer_interrupt)
{
	uint64_t *res;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_timer_spin, 20, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	res = *GUEST_VAR(&self->t, guest_results);
	ASSERT_EQ(1, res[1]) TH_LOG("interrupts seen");
	EXPECT_EQ(TIMER_VECTOR, res[2]);
	TH_LOG("a 20 ms timer fired after %llu us",
	       (unsigned long long)res[0] / 1000);
	EXPECT_GE(res[0], 20 * MS);
	/* Generous: the emulated machine has other work (its own ticks). */
	EXPECT_LT(res[0], 2000 * MS);
}

/* Arm a timer, HLT with interrupts on; report what the HLT took. */
static void guest_timer_halt(uint64_t si, uint64_t delay_ms)
{
	uint64_t start;

	guest_irq_setup();
	start = guest_clock();
	GUEST_ASSERT_EQ(0, guest_set_timer(delay_ms * MS, TIMER_VECTOR));
	asm volatile("sti; hlt; cli" ::: "memory");
	guest_results[0] = guest_clock() - start;
	guest_results[1] = guest_total_irqs();
	guest_shutdown(0);
}

static int64_t ns_of(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* An idle guest costs no host CPU: HLT sleeps until the timer. */
TEST_F(vm, halt_until_timer_sleeps)
{
	int64_t wall, cpu;
	uint64_t *res;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_timer_halt, 500, 0);
	wall = ns_of(CLOCK_MONOTONIC);
	cpu = ns_of(CLOCK_THREAD_CPUTIME_ID);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	cpu = ns_of(CLOCK_THREAD_CPUTIME_ID) - cpu;
	wall = ns_of(CLOCK_MONOTONIC) - wall;
	res = *GUEST_VAR(&self->t, guest_results);

	EXPECT_EQ(1, res[1]) TH_LOG("interrupts seen");
	EXPECT_GE(res[0], 500 * MS) TH_LOG("HLT ended before the timer");
	TH_LOG("a 500 ms HLT: %lld ms of wall time, %lld ms of host CPU",
	       (long long)wall / 1000000, (long long)cpu / 1000000);
	EXPECT_GE(wall, 500 * 1000000LL);
	/* Boot and setup of the guest count too: well under a tenth. */
	EXPECT_LT(cpu * 10, wall) TH_LOG("the halted vCPU used host CPU");
}

/*
 * With RFLAGS.IF clear the timer's interrupt waits; STI lets it in after
 * the one instruction that STI shields.
 */
static void guest_window(void)
{
	uint64_t in_shadow, after;

	guest_irq_setup();
	asm volatile("cli");
	GUEST_ASSERT_EQ(0, guest_set_timer(1 * MS, TIMER_VECTOR));
	guest_spin_ns(30 * MS);
	guest_results[0] = guest_total_irqs();
	asm volatile("sti\n\t"
		     "mov %[count], %[shadow]\n\t"
		     "nop\n\t"
		     "cli\n\t"
		     "mov %[count], %[after]"
		     : [shadow] "=&r" (in_shadow), [after] "=r" (after)
		     : [count] "m" (guest_irqs.count[TIMER_VECTOR])
		     : "memory");
	guest_results[1] = in_shadow;
	guest_results[2] = after;
	guest_shutdown(0);
}

TEST_F(vm, interrupt_waits_for_if_and_sti_shadow)
{
	uint64_t *res;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_window, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	res = *GUEST_VAR(&self->t, guest_results);
	EXPECT_EQ(0, res[0]) TH_LOG("delivered with RFLAGS.IF clear");
	EXPECT_EQ(0, res[1]) TH_LOG("delivered inside the STI shadow");
	EXPECT_EQ(1, res[2]) TH_LOG("not delivered once IF was set");
}

/* Cancel, replace, and refuse. */
static void guest_timer_rules(void)
{
	guest_irq_setup();
	guest_results[0] = guest_set_timer(1 * MS, 31);
	guest_results[1] = guest_set_timer(1 * MS, 256);
	guest_results[2] = guest_set_timer(1ULL << 63, TIMER_VECTOR);

	/* Cancelled: nothing in 50 ms. */
	GUEST_ASSERT_EQ(0, guest_set_timer(5 * MS, TIMER_VECTOR));
	GUEST_ASSERT_EQ(0, guest_set_timer(0, TIMER_VECTOR));
	asm volatile("sti");
	guest_spin_ns(50 * MS);
	guest_results[3] = guest_total_irqs();

	/* Replaced: the second setting alone fires, once. */
	GUEST_ASSERT_EQ(0, guest_set_timer(5 * MS, TIMER_VECTOR));
	GUEST_ASSERT_EQ(0, guest_set_timer(2 * MS, OTHER_VECTOR));
	guest_spin_ns(50 * MS);
	asm volatile("cli");
	guest_results[4] = guest_irqs.count[TIMER_VECTOR];
	guest_results[5] = guest_irqs.count[OTHER_VECTOR];
	guest_shutdown(0);
}

TEST_F(vm, timer_cancel_replace_and_errors)
{
	uint64_t *res;

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_timer_rules, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	res = *GUEST_VAR(&self->t, guest_results);
	EXPECT_EQ(HC_ERR(PVISOR_EINVAL), res[0]) TH_LOG("vector 31");
	EXPECT_EQ(HC_ERR(PVISOR_EINVAL), res[1]) TH_LOG("vector 256");
	EXPECT_EQ(HC_ERR(PVISOR_EINVAL), res[2]) TH_LOG("2^63 ns");
	EXPECT_EQ(0, res[3]) TH_LOG("a cancelled timer fired");
	EXPECT_EQ(0, res[4]) TH_LOG("a replaced timer fired");
	EXPECT_EQ(1, res[5]) TH_LOG("the replacing timer's interrupts");
}

/* A timer left armed when the VM goes must not touch freed memory. */
static void guest_arm_and_stop(void)
{
	GUEST_ASSERT_EQ(0, guest_set_timer(20 * MS, TIMER_VECTOR));
	guest_shutdown(0);
}

TEST_F(vm, armed_timer_at_close)
{
	struct timespec wait = { 0, 50 * 1000 * 1000 };

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_arm_and_stop, 0, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&self->t));
	vm_destroy(&self->t);
	vm_init(&self->t);
	/* The timer would have fired by now; the kernel log must stay clean. */
	nanosleep(&wait, NULL);
}

/* Two vCPUs: IPIs both ways, a self-IPI, and a shared atomic counter. */
#define IPI_VECTOR	0x50
#define SELF_VECTOR	0x51
#define IPI_ROUNDS	50
#define IPI_ADDS	20000
#define IPI_TIMEOUT_S	120

static uint64_t guest_counter;
static uint64_t guest_ipis[2][256];
static uint64_t guest_ready;
static uint64_t guest_ipi_results[2][8];
static uint64_t guest_stack1[16384 / 8];

static void guest_ipi_hook(struct guest_frame *f)
{
	uint64_t id = guest_get_info(PVISOR_INFO_VCPU_ID);

	if (f->vector < PVISOR_IRQ_VECTOR_MIN || id > 1)
		guest_exception_fatal(f, "guest: unexpected exception, vector ");
	__atomic_add_fetch(&guest_ipis[id][f->vector], 1, __ATOMIC_SEQ_CST);
}

static uint64_t guest_seen(uint64_t id, unsigned int vector)
{
	return __atomic_load_n(&guest_ipis[id][vector], __ATOMIC_SEQ_CST);
}

/* Wait, interrupts on, until @id has seen @n of @vector; HLT if @halt. */
static void guest_wait_seen(uint64_t id, unsigned int vector, uint64_t n,
			    bool halt)
{
	uint64_t limit = guest_clock() + 60000 * MS;

	while (guest_seen(id, vector) < n) {
		GUEST_ASSERT(guest_clock() < limit);
		if (halt)
			asm volatile("sti; hlt; cli" ::: "memory");
		else
			asm volatile("sti; nop; cli" ::: "memory");
	}
}

static void guest_ipi(uint64_t si, uint64_t id)
{
	uint64_t *res = guest_ipi_results[id];
	int i;

	/* vCPU 0 fills the IDT, vCPU 1 then loads the same one. */
	if (id == 0) {
		guest_idt_setup();
		guest_exc_hook = guest_ipi_hook;
		__atomic_store_n(&guest_ready, 1, __ATOMIC_RELEASE);
	} else {
		while (!__atomic_load_n(&guest_ready, __ATOMIC_ACQUIRE))
			;
		guest_idt_setup();
		__atomic_store_n(&guest_ready, 2, __ATOMIC_RELEASE);
	}

	for (i = 0; i < IPI_ADDS; i++)
		__atomic_add_fetch(&guest_counter, 1, __ATOMIC_SEQ_CST);

	if (id == 1) {
		/* Halted between IPIs: each one must wake it. */
		guest_wait_seen(1, IPI_VECTOR, IPI_ROUNDS, true);
		res[0] = guest_hypercall(PVISOR_HC_SEND_IPI, 0, IPI_VECTOR);
	} else {
		while (__atomic_load_n(&guest_ready, __ATOMIC_ACQUIRE) < 2)
			;
		for (i = 1; i <= IPI_ROUNDS; i++) {
			GUEST_ASSERT_EQ(0, guest_hypercall(PVISOR_HC_SEND_IPI,
							   1, IPI_VECTOR));
			guest_wait_seen(1, IPI_VECTOR, i, false);
		}
		guest_wait_seen(0, IPI_VECTOR, 1, true);
		res[0] = guest_hypercall(PVISOR_HC_SEND_IPI, 0, SELF_VECTOR);
		asm volatile("sti; nop; cli" ::: "memory");
		res[1] = guest_seen(0, SELF_VECTOR);
		res[2] = guest_hypercall(PVISOR_HC_SEND_IPI, 2, IPI_VECTOR);
		res[3] = guest_hypercall(PVISOR_HC_SEND_IPI, 1, 31);
		res[4] = guest_hypercall(PVISOR_HC_SEND_IPI, 1, 256);
		res[5] = guest_hypercall(PVISOR_HC_SEND_IPI, 64, IPI_VECTOR);
	}
	/* Both done adding before either reports. */
	while (__atomic_load_n(&guest_counter, __ATOMIC_SEQ_CST) <
	       2 * IPI_ADDS)
		;
	guest_shutdown(0);
}

FIXTURE(ipi) {
	struct test_vm t;
	struct test_vcpu v[2];
};

FIXTURE_SETUP(ipi)
{
	vm_init(&self->t);
	memset(self->v, 0, sizeof(self->v));
	self->v[0].fd = -1;
	self->v[1].fd = -1;
	PVISOR_VM_OR_SKIP();
}

FIXTURE_TEARDOWN(ipi)
{
	vm_vcpu_release(&self->v[1]);
	vm_destroy(&self->t);
}

TEST_F_TIMEOUT(ipi, two_vcpus_interrupt_each_other, IPI_TIMEOUT_S + 30)
{
	uint64_t top = ((uintptr_t)guest_stack1 + sizeof(guest_stack1)) &
		       ~15ULL;
	uint64_t (*res)[8], (*seen)[256];

	RETURN_IF_SKIPPED();
	vm_start(&self->t, guest_ipi, 0, 0);
	vm_vcpu0(&self->t, &self->v[0]);
	vm_vcpu_add(_metadata, &self->t, &self->v[1], 1, (uintptr_t)guest_ipi,
		    1, 0, top);
	vm_vcpus_run(_metadata, self->v, 2, IPI_TIMEOUT_S);

	res = *GUEST_VAR(&self->t, guest_ipi_results);
	seen = *GUEST_VAR(&self->t, guest_ipis);
	EXPECT_EQ(2 * IPI_ADDS, *GUEST_VAR(&self->t, guest_counter));
	EXPECT_EQ(IPI_ROUNDS, seen[1][IPI_VECTOR]) TH_LOG("IPIs to vCPU 1");
	EXPECT_EQ(1, seen[0][IPI_VECTOR]) TH_LOG("IPIs to vCPU 0");
	EXPECT_EQ(0, res[1][0]) TH_LOG("SEND_IPI from vCPU 1");
	EXPECT_EQ(0, res[0][0]) TH_LOG("self-IPI");
	EXPECT_EQ(1, res[0][1]) TH_LOG("self-IPI delivered after STI");
	EXPECT_EQ(HC_ERR(PVISOR_EINVAL), res[0][2]) TH_LOG("no vCPU 2");
	EXPECT_EQ(HC_ERR(PVISOR_EINVAL), res[0][3]) TH_LOG("vector 31");
	EXPECT_EQ(HC_ERR(PVISOR_EINVAL), res[0][4]) TH_LOG("vector 256");
	EXPECT_EQ(HC_ERR(PVISOR_EINVAL), res[0][5]) TH_LOG("vCPU 64");
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * Mailboxes for the vCPUs beyond the first.  A secondary vCPU runs before
 * vCPU 0 has zeroed the BSS, and maybe before it has filled the IDT, so
 * everything it reads before its first function lives in .data: its
 * mailbox, and the IDT register entry.S loads.  It waits with interrupts
 * off, checks its mailbox, and sleeps in cpu_idle(); smp_start() fills
 * the mailbox and only then sends the wake IPI, and it is only called
 * from main(), after the IDT is complete.  An IPI sent between the check
 * and the HLT stays pending through the STI shadow and ends the HLT.
 */
#include "cpu.h"
#include "hypercall.h"
#include "irq.h"
#include "kit.h"
#include "smp.h"

struct smp_mailbox {
	void (*fn)(unsigned int cpu, void *arg);	/* NULL: idle */
	void *arg;
} __aligned(64);

static struct smp_mailbox mailboxes[SMP_MAX_CPUS] __section(".data");
static unsigned int nr_cpus = 1;

void smp_init(const struct pvisor_start_info *si)
{
	nr_cpus = si->nr_vcpus;
	if (nr_cpus < 1)
		nr_cpus = 1;
	if (nr_cpus > SMP_MAX_CPUS)
		nr_cpus = SMP_MAX_CPUS;
}

unsigned int smp_nr_cpus(void)
{
	return nr_cpus;
}

unsigned int smp_cpu_id(void)
{
	if (nr_cpus == 1)
		return 0;
	return pvisor_hc_get_info(PVISOR_INFO_VCPU_ID);
}

int smp_start(unsigned int cpu, void (*fn)(unsigned int cpu, void *arg),
	      void *arg)
{
	struct smp_mailbox *m;

	if (cpu == 0 || cpu >= nr_cpus || !fn)
		return -EINVAL;
	m = &mailboxes[cpu];
	if (__atomic_load_n(&m->fn, __ATOMIC_ACQUIRE))
		return -EBUSY;
	m->arg = arg;
	__atomic_store_n(&m->fn, fn, __ATOMIC_RELEASE);
	if (pvisor_hc_send_ipi(cpu, IRQ_WAKE_VECTOR))
		return -EINVAL;
	return 0;
}

bool smp_cpu_is_busy(unsigned int cpu)
{
	if (cpu == 0 || cpu >= nr_cpus)
		return false;
	return __atomic_load_n(&mailboxes[cpu].fn, __ATOMIC_ACQUIRE);
}

void smp_wait(unsigned int cpu)
{
	while (smp_cpu_is_busy(cpu))
		cpu_relax();
}

noreturn void smp_secondary(unsigned int cpu)
{
	void (*fn)(unsigned int cpu, void *arg);
	struct smp_mailbox *m;

	/* Beyond the kit's limit: never used, never in the way. */
	while (cpu >= SMP_MAX_CPUS)
		cpu_idle();
	m = &mailboxes[cpu];
	for (;;) {
		fn = __atomic_load_n(&m->fn, __ATOMIC_ACQUIRE);
		if (!fn) {
			cpu_idle();
			continue;
		}
		fn(cpu, m->arg);
		irq_disable();
		__atomic_store_n(&m->fn, NULL, __ATOMIC_RELEASE);
	}
}

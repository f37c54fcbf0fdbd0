// SPDX-License-Identifier: GPL-2.0
/*
 * VMX root operation: a VMXON region per CPU, CR4.VMXE, VMXON and VMXOFF.
 *
 * pvisor enters VMX root operation on every online CPU when the module is
 * loaded and leaves it when the module is unloaded (Documentation/design.rst
 * says why).  A CPU that comes online enters it through a cpuhp state, a CPU
 * that goes offline leaves it first.  VMX is also left before reboot and
 * kexec (reboot notifier) and suspend (syscore ops): VMX operation blocks
 * INIT, so a CPU still in it could not be restarted.
 *
 * Context: vmx_enter_this_cpu() and vmx_leave_this_cpu() run on the CPU they
 * change with interrupts disabled, so that another hypervisor enabling VMX
 * by IPI (kvm_intel does) cannot interleave between the CR4.VMXE check and
 * VMXON on the same CPU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/smp.h>
#include <linux/syscore_ops.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/perf_event.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>

#include "capabilities.h"
#include "vmx.h"
#include "vmx_ops.h"
#include "vmx_root.h"

struct pvisor_cpu {
	struct page *vmxon_page;
	bool vmx_on;
};

static DEFINE_PER_CPU(struct pvisor_cpu, pvisor_cpu);
static enum cpuhp_state pvisor_cpuhp_state;
/* Set by the reboot notifier: VMX stays off from then on. */
static bool pvisor_rebooting;

static bool cr_is_valid(unsigned long cr, u64 fixed0, u64 fixed1)
{
	return (cr & fixed0) == fixed0 && (cr & ~fixed1) == 0;
}

static int vmx_enter_this_cpu(void)
{
	struct pvisor_cpu *pc = this_cpu_ptr(&pvisor_cpu);
	int cpu = smp_processor_id();
	u64 fc, basic;
	int ret;

	lockdep_assert_irqs_disabled();
	if (pc->vmx_on || pvisor_rebooting)
		return 0;

	if (cr4_read_shadow() & X86_CR4_VMXE) {
		pr_err("CPU %d: VMX is in use by another hypervisor (CR4.VMXE is set)\n",
		       cpu);
		return -EBUSY;
	}
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc) ||
	    !(fc & FEAT_CTL_LOCKED) || !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("CPU %d: VMX disabled by firmware (IA32_FEATURE_CONTROL)\n",
		       cpu);
		return -EOPNOTSUPP;
	}
	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic) ||
	    basic != pvisor_caps.basic) {
		pr_err("CPU %d: IA32_VMX_BASIC differs from the boot CPU's\n",
		       cpu);
		return -EIO;
	}
	if (!cr_is_valid(read_cr0(), pvisor_caps.cr0_fixed0,
			 pvisor_caps.cr0_fixed1) ||
	    !cr_is_valid(cr4_read_shadow() | X86_CR4_VMXE,
			 pvisor_caps.cr4_fixed0, pvisor_caps.cr4_fixed1)) {
		pr_err("CPU %d: CR0 or CR4 not allowed in VMX operation\n", cpu);
		return -EIO;
	}

	/* Intel PT must not trace across VMX transitions on older CPUs. */
	intel_pt_handle_vmx(1);
	cr4_set_bits(X86_CR4_VMXE);
	ret = pvisor_vmxon(page_to_phys(pc->vmxon_page));
	if (ret) {
		cr4_clear_bits(X86_CR4_VMXE);
		intel_pt_handle_vmx(0);
		pr_err("CPU %d: VMXON failed (%d)\n", cpu, ret);
		return -EIO;
	}
	pc->vmx_on = true;
	return 0;
}

static void vmx_leave_this_cpu(void)
{
	struct pvisor_cpu *pc = this_cpu_ptr(&pvisor_cpu);

	lockdep_assert_irqs_disabled();
	if (!pc->vmx_on)
		return;
	pvisor_vmx_clear_all_on_this_cpu();
	/* VMXOFF can only fail if something else left VMX behind our back. */
	if (pvisor_vmxoff())
		pr_warn_once("CPU %d: VMXOFF failed\n", smp_processor_id());
	cr4_clear_bits(X86_CR4_VMXE);
	intel_pt_handle_vmx(0);
	pc->vmx_on = false;
}

static int pvisor_cpu_online(unsigned int cpu)
{
	unsigned long flags;
	int ret;

	local_irq_save(flags);
	ret = vmx_enter_this_cpu();
	local_irq_restore(flags);
	return ret;
}

static int pvisor_cpu_offline(unsigned int cpu)
{
	unsigned long flags;

	local_irq_save(flags);
	vmx_leave_this_cpu();
	local_irq_restore(flags);
	return 0;
}

static void vmx_leave_ipi(void *unused)
{
	vmx_leave_this_cpu();
}

static int pvisor_reboot(struct notifier_block *nb, unsigned long code,
			 void *unused)
{
	pr_info("leaving VMX root operation for reboot\n");
	pvisor_rebooting = true;
	on_each_cpu(vmx_leave_ipi, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block pvisor_reboot_nb = {
	.notifier_call = pvisor_reboot,
};

/* Syscore callbacks run on the last online CPU with interrupts disabled. */
static int pvisor_suspend(void)
{
	vmx_leave_this_cpu();
	return 0;
}

static void pvisor_resume(void)
{
	if (vmx_enter_this_cpu())
		pr_err("CPU %d: could not re-enter VMX root operation after resume\n",
		       smp_processor_id());
}

static struct syscore_ops pvisor_syscore_ops = {
	.suspend = pvisor_suspend,
	.resume = pvisor_resume,
};

static void vmx_probe_ipi(void *mask)
{
	u64 vmcs;

	if (!pvisor_vmptrst(&vmcs))
		cpumask_set_cpu(smp_processor_id(), mask);
}

/*
 * The CPUs on which a VMX instruction succeeds right now: the proof that VMX
 * root operation is really on, rather than the module's bookkeeping of it.
 */
void pvisor_vmx_root_cpus(struct cpumask *mask)
{
	cpumask_clear(mask);
	cpus_read_lock();
	on_each_cpu(vmx_probe_ipi, mask, 1);
	cpus_read_unlock();
}

static void free_vmxon_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct pvisor_cpu *pc = per_cpu_ptr(&pvisor_cpu, cpu);

		if (pc->vmxon_page)
			__free_page(pc->vmxon_page);
		pc->vmxon_page = NULL;
	}
}

static int alloc_vmxon_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct pvisor_cpu *pc = per_cpu_ptr(&pvisor_cpu, cpu);
		struct page *page;

		page = alloc_pages_node(cpu_to_node(cpu),
					GFP_KERNEL | __GFP_ZERO, 0);
		if (!page)
			return -ENOMEM;
		/* The VMXON region starts with the VMCS revision identifier. */
		*(u32 *)page_address(page) = pvisor_caps.revision;
		pc->vmxon_page = page;
	}
	return 0;
}

int pvisor_vmx_root_init(void)
{
	int ret;

	pvisor_vmx_init_percpu();
	ret = alloc_vmxon_pages();
	if (ret)
		goto out_free_pages;

	/* Enters VMX on every online CPU; undoes all of it if one fails. */
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "pvisor:online",
				pvisor_cpu_online, pvisor_cpu_offline);
	if (ret < 0)
		goto out_free_pages;
	pvisor_cpuhp_state = ret;

	ret = register_reboot_notifier(&pvisor_reboot_nb);
	if (ret)
		goto out_remove_cpuhp;
	register_syscore_ops(&pvisor_syscore_ops);
	return 0;

out_remove_cpuhp:
	cpuhp_remove_state(pvisor_cpuhp_state);
out_free_pages:
	free_vmxon_pages();
	return ret;
}

void pvisor_vmx_root_exit(void)
{
	unregister_syscore_ops(&pvisor_syscore_ops);
	unregister_reboot_notifier(&pvisor_reboot_nb);
	cpuhp_remove_state(pvisor_cpuhp_state);
	free_vmxon_pages();
	pvisor_vmx_exit_percpu();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Probe VMX support once, at module load, in process context on whichever
 * CPU runs the init call.  Each reason to refuse gets one pr_err and its own
 * errno:
 *   -ENODEV      the CPU has no VMX (CPUID.1:ECX.VMX is clear)
 *   -EOPNOTSUPP  firmware or the kernel left VMX disabled (IA32_FEATURE_CONTROL)
 *   -EIO         the CPU reports a VMX layout pvisor cannot use
 * Whether another hypervisor already owns VMX is a per-CPU question answered
 * in vmx_root.c when VMX is entered.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <asm/cpufeature.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/tsc.h>
#include <asm/vmx.h>
#include <linux/pvisor.h>

#include "capabilities.h"

struct pvisor_caps pvisor_caps __ro_after_init;

/* Read a capability MSR that the CPU must have, or report which one failed. */
static int read_cap_msr(u32 msr, u64 *val)
{
	if (rdmsrl_safe(msr, val)) {
		pr_err("cannot read VMX capability MSR %#x\n", msr);
		return -EIO;
	}
	return 0;
}

static int probe_feature_control(void)
{
	u64 fc;

	if (!boot_cpu_has(X86_FEATURE_MSR_IA32_FEAT_CTL) ||
	    rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc)) {
		pr_err("VMX disabled: IA32_FEATURE_CONTROL is not readable or was not set up by the kernel\n");
		return -EOPNOTSUPP;
	}
	if (!(fc & FEAT_CTL_LOCKED) || !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("VMX disabled by firmware (IA32_FEATURE_CONTROL=%#llx): enable VT-x in the BIOS setup\n",
		       fc);
		return -EOPNOTSUPP;
	}
	if (!boot_cpu_has(X86_FEATURE_VMX)) {
		pr_err("VMX disabled by the kernel (the vmx flag is missing from /proc/cpuinfo)\n");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int probe_basic(struct pvisor_caps *c)
{
	int ret = read_cap_msr(MSR_IA32_VMX_BASIC, &c->basic);

	if (ret)
		return ret;
	c->revision = c->basic & PVISOR_BASIC_REVISION_MASK;
	c->vmcs_size = PVISOR_BASIC_VMCS_SIZE(c->basic);
	c->has_true_ctls = c->basic & PVISOR_BASIC_TRUE_CTLS;

	if (c->vmcs_size == 0 || c->vmcs_size > PAGE_SIZE) {
		pr_err("unsupported VMCS size %u\n", c->vmcs_size);
		return -EIO;
	}
	if (c->basic & PVISOR_BASIC_32BIT_ADDR) {
		pr_err("VMX limited to 32-bit physical addresses\n");
		return -EIO;
	}
	if (PVISOR_BASIC_MEM_TYPE(c->basic) != PVISOR_BASIC_MEM_TYPE_WB) {
		pr_err("VMCS memory type %llu is not write-back\n",
		       PVISOR_BASIC_MEM_TYPE(c->basic));
		return -EIO;
	}
	return 0;
}

static int probe_controls(struct pvisor_caps *c)
{
	bool t = c->has_true_ctls;
	int ret;

	ret = read_cap_msr(t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
			   MSR_IA32_VMX_PINBASED_CTLS, &c->pinbased);
	ret = ret ?: read_cap_msr(t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
				  MSR_IA32_VMX_PROCBASED_CTLS, &c->procbased);
	ret = ret ?: read_cap_msr(t ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
				  MSR_IA32_VMX_EXIT_CTLS, &c->exit);
	ret = ret ?: read_cap_msr(t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
				  MSR_IA32_VMX_ENTRY_CTLS, &c->entry);
	ret = ret ?: read_cap_msr(MSR_IA32_VMX_MISC, &c->misc);
	ret = ret ?: read_cap_msr(MSR_IA32_VMX_CR0_FIXED0, &c->cr0_fixed0);
	ret = ret ?: read_cap_msr(MSR_IA32_VMX_CR0_FIXED1, &c->cr0_fixed1);
	ret = ret ?: read_cap_msr(MSR_IA32_VMX_CR4_FIXED0, &c->cr4_fixed0);
	ret = ret ?: read_cap_msr(MSR_IA32_VMX_CR4_FIXED1, &c->cr4_fixed1);
	if (ret)
		return ret;

	if (pvisor_ctl_allowed(c->procbased) &
	    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) {
		ret = read_cap_msr(MSR_IA32_VMX_PROCBASED_CTLS2,
				   &c->procbased2);
		if (ret)
			return ret;
	}
	if (pvisor_ctl_allowed(c->procbased2) &
	    (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID))
		ret = read_cap_msr(MSR_IA32_VMX_EPT_VPID_CAP, &c->ept_vpid);
	return ret;
}

/*
 * Pick the settings of one control: @want must be 1, @opt may be 1; bits the
 * CPU requires are added.  Fails if the CPU cannot set a wanted bit.
 */
static int adjust_ctl(const char *name, u64 msr, u32 want, u32 opt, u32 *ctl)
{
	u32 v = (want | opt | pvisor_ctl_required(msr)) & pvisor_ctl_allowed(msr);

	if ((v & want) != want) {
		pr_err("the CPU lacks %s controls %#x\n", name, want & ~v);
		return -EIO;
	}
	*ctl = v;
	return 0;
}

static int setup_controls(struct pvisor_caps *c)
{
	u32 proc = CPU_BASED_HLT_EXITING | CPU_BASED_INVLPG_EXITING |
		   CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
		   CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |
		   CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCOND_IO_EXITING |
		   CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MWAIT_EXITING |
		   CPU_BASED_MONITOR_EXITING | CPU_BASED_RDPMC_EXITING;
	u32 vpid_bits = VMX_VPID_INVVPID_BIT | VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT;
	int ret;

	ret = adjust_ctl("pin-based", c->pinbased,
			 PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING,
			 PIN_BASED_VMX_PREEMPTION_TIMER, &c->ctl_pin);
	ret = ret ?: adjust_ctl("processor-based", c->procbased, proc,
				CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
				&c->ctl_proc);
	ret = ret ?: adjust_ctl("VM-exit", c->exit,
				VM_EXIT_HOST_ADDR_SPACE_SIZE |
				VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_EFER,
				0, &c->ctl_exit);
	ret = ret ?: adjust_ctl("VM-entry", c->entry,
				VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER, 0,
				&c->ctl_entry);
	if (ret)
		return ret;

	c->has_vpid = pvisor_ctl_allowed(c->procbased2) &
		      SECONDARY_EXEC_ENABLE_VPID &&
		      ((c->ept_vpid >> 32) & vpid_bits) == vpid_bits;
	if (c->ctl_proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) {
		ret = adjust_ctl("secondary", c->procbased2, 0,
				 c->has_vpid ? SECONDARY_EXEC_ENABLE_VPID : 0,
				 &c->ctl_proc2);
		if (ret)
			return ret;
	}
	c->has_vpid = c->ctl_proc2 & SECONDARY_EXEC_ENABLE_VPID;
	/*
	 * Each shadow root gets a PCID of pvisor's choosing in the guest's
	 * real CR3, so a CR3 switch keeps the TLB entries of other roots.
	 * Without VPID every entry and exit flushes them anyway.
	 */
	c->has_pcid = c->has_vpid && boot_cpu_has(X86_FEATURE_PCID) &&
		      (c->cr4_fixed1 & X86_CR4_PCIDE);
	c->maxphyaddr = boot_cpu_data.x86_phys_bits;
	if (c->ctl_pin & PIN_BASED_VMX_PREEMPTION_TIMER)
		c->preemption_timer = min_t(u64, U32_MAX,
					    ((u64)tsc_khz * PVISOR_GUEST_SLICE_MS) >>
					    (c->misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK));
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		c->host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	return 0;
}

int pvisor_caps_probe(void)
{
	struct pvisor_caps c = {};
	int ret;

	/*
	 * Raw CPUID rather than the kernel's feature flag: the kernel clears
	 * X86_FEATURE_VMX when firmware disabled VMX, and that case deserves
	 * its own message.
	 */
	if (!(cpuid_ecx(1) & BIT(X86_FEATURE_VMX & 31))) {
		pr_err("no VMX: this CPU does not support Intel VT-x (CPUID.1:ECX.VMX=0)\n");
		return -ENODEV;
	}
	ret = probe_feature_control();
	ret = ret ?: probe_basic(&c);
	ret = ret ?: probe_controls(&c);
	ret = ret ?: setup_controls(&c);
	if (ret)
		return ret;

	pvisor_caps = c;
	return 0;
}

bool pvisor_caps_has_secondary(u32 secondary_bit)
{
	return pvisor_ctl_allowed(pvisor_caps.procbased2) & secondary_bit;
}

/* The PVISOR_VMX_FEAT_* summary that PVISOR_GET_VMX_INFO reports. */
u32 pvisor_caps_features(void)
{
	u32 f = 0;

	if (pvisor_caps.has_true_ctls)
		f |= PVISOR_VMX_FEAT_TRUE_CTLS;
	if (pvisor_caps_has_secondary(SECONDARY_EXEC_ENABLE_EPT))
		f |= PVISOR_VMX_FEAT_EPT;
	if (pvisor_caps_has_secondary(SECONDARY_EXEC_ENABLE_VPID))
		f |= PVISOR_VMX_FEAT_VPID;
	if (pvisor_caps_has_secondary(SECONDARY_EXEC_UNRESTRICTED_GUEST))
		f |= PVISOR_VMX_FEAT_UNRESTRICTED;
	if (pvisor_caps_has_secondary(SECONDARY_EXEC_SHADOW_VMCS))
		f |= PVISOR_VMX_FEAT_SHADOW_VMCS;
	if (pvisor_caps_has_secondary(SECONDARY_EXEC_ENABLE_PML))
		f |= PVISOR_VMX_FEAT_PML;
	return f;
}

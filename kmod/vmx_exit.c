// SPDX-License-Identifier: GPL-2.0
/*
 * VM exit handlers, one per basic exit reason, in a table.  An exit pvisor
 * does not expect kills the VM with the reason in struct pvisor_run; there
 * is no default that carries on.
 *
 * Context: preemption disabled, interrupts enabled, this vCPU's VMCS
 * current.  Handlers must not sleep; what needs to (halting, refilling the
 * shadow page cache) is returned as PVISOR_HALT or PVISOR_TOPUP for the run
 * loop to do.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <asm/cpufeature.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/traps.h>
#include <asm/vmx.h>
#include <linux/pvisor_para.h>

#include "capabilities.h"
#include "pvisor.h"
#include "vmx.h"
#include "vmx_ops.h"

static int kill(struct pvisor_vcpu *vcpu, u32 reason, u64 data)
{
	return pvisor_vm_kill(vcpu, reason, data);
}

static int inject_gp(struct pvisor_vcpu *vcpu)
{
	pvisor_vmx_queue_exception(vcpu, X86_TRAP_GP, true, 0);
	return PVISOR_RESUME;
}

static int inject_ud(struct pvisor_vcpu *vcpu)
{
	pvisor_vmx_queue_exception(vcpu, X86_TRAP_UD, false, 0);
	return PVISOR_RESUME;
}

static int skip_and_resume(struct pvisor_vcpu *vcpu)
{
	pvisor_vmx_skip_insn(vcpu);
	return PVISOR_RESUME;
}

static int handle_resume(struct pvisor_vcpu *vcpu)
{
	return PVISOR_RESUME;
}

static int handle_exception_nmi(struct pvisor_vcpu *vcpu)
{
	u32 intr = pvisor_vmread(VM_EXIT_INTR_INFO);
	u8 vector = intr & INTR_INFO_VECTOR_MASK;

	/* The NMI went to the host handler right after the exit. */
	if ((intr & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
		return PVISOR_RESUME;
	if (vector == X86_TRAP_PF)
		return pvisor_mmu_page_fault(vcpu, vcpu->exit_qual,
					     pvisor_vmread(VM_EXIT_INTR_ERROR_CODE));
	return kill(vcpu, PVISOR_KILL_UNEXPECTED_EXIT, intr);
}

static int handle_triple_fault(struct pvisor_vcpu *vcpu)
{
	return kill(vcpu, PVISOR_KILL_TRIPLE_FAULT, 0);
}

static void cpuid_filter(struct pvisor_vcpu *vcpu, u32 leaf, u32 *eax,
			 u32 *ebx, u32 *ecx, u32 *edx)
{
	switch (leaf) {
	case 0:
		*eax = min(*eax, 0xdu);
		break;
	case 1:
		*ecx &= ~(BIT(X86_FEATURE_VMX & 31) | BIT(X86_FEATURE_SMX & 31) |
			  BIT(X86_FEATURE_MWAIT & 31) | BIT(X86_FEATURE_PCID & 31) |
			  BIT(X86_FEATURE_X2APIC & 31) | BIT(X86_FEATURE_DTES64 & 31) |
			  BIT(X86_FEATURE_DSCPL & 31) | BIT(X86_FEATURE_EST & 31) |
			  BIT(X86_FEATURE_TM2 & 31) | BIT(X86_FEATURE_XTPR & 31) |
			  BIT(X86_FEATURE_PDCM & 31) |
			  BIT(X86_FEATURE_TSC_DEADLINE_TIMER & 31) |
			  BIT(X86_FEATURE_OSXSAVE & 31));
		*ecx |= BIT(X86_FEATURE_HYPERVISOR & 31);
		if (vcpu->cr4 & X86_CR4_OSXSAVE)
			*ecx |= BIT(X86_FEATURE_OSXSAVE & 31);
		*edx &= ~(BIT(X86_FEATURE_APIC & 31) | BIT(X86_FEATURE_ACPI & 31) |
			  BIT(X86_FEATURE_DS & 31) | BIT(X86_FEATURE_ACC & 31));
		/* Initial APIC ID: the vCPU id. */
		*ebx = (*ebx & 0x00ffffff) | (vcpu->id << 24);
		break;
	case 6:
	case 0xa:
		/* No thermal or performance-monitoring interface. */
		*eax = *ebx = *ecx = *edx = 0;
		break;
	case 7:
		*ebx &= ~(BIT(X86_FEATURE_INVPCID & 31) |
			  BIT(X86_FEATURE_INTEL_PT & 31) |
			  BIT(X86_FEATURE_SGX & 31) | BIT(X86_FEATURE_RTM & 31) |
			  BIT(X86_FEATURE_HLE & 31));
		*ecx &= ~(BIT(X86_FEATURE_PKU & 31) | BIT(X86_FEATURE_OSPKE & 31) |
			  BIT(X86_FEATURE_LA57 & 31) |
			  BIT(X86_FEATURE_WAITPKG & 31) |
			  BIT(X86_FEATURE_SGX_LC & 31));
		/* The speculation-control MSRs are not the guest's. */
		*edx = 0;
		break;
	case 0x80000001:
		*edx &= ~BIT(X86_FEATURE_RDTSCP & 31);
		*ecx &= ~BIT(X86_FEATURE_SVM & 31);
		break;
	}
}

static int handle_cpuid(struct pvisor_vcpu *vcpu)
{
	u32 leaf = vcpu->regs[PVISOR_RAX], sub = vcpu->regs[PVISOR_RCX];
	u32 eax, ebx, ecx, edx;

	if (leaf == PVISOR_CPUID_SIGNATURE) {
		/* "pvisorpvisor" in EBX, ECX, EDX. */
		eax = PVISOR_CPUID_SIGNATURE + 1;
		ebx = 0x73697670;
		ecx = 0x7670726f;
		edx = 0x726f7369;
	} else if (leaf == PVISOR_CPUID_SIGNATURE + 1) {
		eax = PVISOR_PARA_VERSION;
		ebx = 0;
		ecx = 0;
		edx = 0;
	} else if ((leaf >= 0x40000000 && leaf < 0x80000000) ||
		   leaf > 0x80000008) {
		eax = 0;
		ebx = 0;
		ecx = 0;
		edx = 0;
	} else {
		cpuid_count(leaf, sub, &eax, &ebx, &ecx, &edx);
		cpuid_filter(vcpu, leaf, &eax, &ebx, &ecx, &edx);
	}
	vcpu->regs[PVISOR_RAX] = eax;
	vcpu->regs[PVISOR_RBX] = ebx;
	vcpu->regs[PVISOR_RCX] = ecx;
	vcpu->regs[PVISOR_RDX] = edx;
	return skip_and_resume(vcpu);
}

static int handle_hlt(struct pvisor_vcpu *vcpu)
{
	vcpu->halt_if = pvisor_vmread(GUEST_RFLAGS) & X86_EFLAGS_IF;
	pvisor_vmx_skip_insn(vcpu);
	/* An interrupt the guest can take now ends the halt at once. */
	if (vcpu->halt_if && pvisor_irq_pending(vcpu))
		return PVISOR_RESUME;
	vcpu->stat_halts++;
	return PVISOR_HALT;
}

static int handle_invlpg(struct pvisor_vcpu *vcpu)
{
	pvisor_mmu_invlpg(vcpu, vcpu->exit_qual);
	return skip_and_resume(vcpu);
}

static int handle_vmcall(struct pvisor_vcpu *vcpu)
{
	pvisor_vmx_skip_insn(vcpu);
	if (pvisor_vmx_guest_cpl()) {
		vcpu->regs[PVISOR_RAX] = -PVISOR_EPERM;
		return PVISOR_RESUME;
	}
	return pvisor_hc_dispatch(vcpu);
}

static int mov_to_cr0(struct pvisor_vcpu *vcpu, unsigned long val)
{
	if (!pvisor_vmx_cr0_is_valid(val))
		return inject_gp(vcpu);
	pvisor_vmx_write_cr0(vcpu, val);
	return skip_and_resume(vcpu);
}

static int mov_to_cr3(struct pvisor_vcpu *vcpu, unsigned long val)
{
	if (!pvisor_vmx_cr3_is_valid(val))
		return inject_gp(vcpu);
	vcpu->cr3 = val;
	pvisor_vmx_skip_insn(vcpu);
	/* Syncs what the guest changed, finds or builds the root. */
	return pvisor_mmu_new_cr3(vcpu);
}

static int mov_to_cr4(struct pvisor_vcpu *vcpu, unsigned long val)
{
	unsigned long changed = val ^ vcpu->cr4;

	if (!pvisor_vmx_cr4_is_valid(val))
		return inject_gp(vcpu);
	pvisor_vmx_write_cr4(vcpu, val);
	/* These change what a translation means: flush, as the CPU would. */
	if (changed & (X86_CR4_PGE | X86_CR4_PSE | X86_CR4_SMEP |
		       X86_CR4_SMAP)) {
		pvisor_vmx_skip_insn(vcpu);
		return pvisor_mmu_new_cr3(vcpu);
	}
	return skip_and_resume(vcpu);
}

static int handle_cr(struct pvisor_vcpu *vcpu)
{
	unsigned long q = vcpu->exit_qual;
	int cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
	unsigned long val = reg == PVISOR_RSP ? pvisor_vmread(GUEST_RSP) :
			    vcpu->regs[reg];
	unsigned long cr0;

	switch (type) {
	case 0:		/* MOV to CR */
		switch (cr) {
		case 0:
			return mov_to_cr0(vcpu, val);
		case 3:
			return mov_to_cr3(vcpu, val);
		case 4:
			return mov_to_cr4(vcpu, val);
		case 8:
			if (val > 15)
				return inject_gp(vcpu);
			vcpu->tpr = val;
			return skip_and_resume(vcpu);
		}
		break;
	case 1:		/* MOV from CR */
		if (cr == 3 || cr == 8) {
			val = cr == 3 ? vcpu->cr3 : vcpu->tpr;
			if (reg == PVISOR_RSP)
				pvisor_vmwrite(GUEST_RSP, val);
			else
				vcpu->regs[reg] = val;
			return skip_and_resume(vcpu);
		}
		break;
	case 2:		/* CLTS */
		return mov_to_cr0(vcpu, pvisor_vmx_guest_cr0(vcpu) &
				  ~X86_CR0_TS);
	case 3:		/* LMSW: sets PE, MP, EM, TS; cannot clear PE */
		cr0 = pvisor_vmx_guest_cr0(vcpu);
		cr0 = (cr0 & ~0xeul) | ((q >> 16) & 0xf);
		return mov_to_cr0(vcpu, cr0);
	}
	return kill(vcpu, PVISOR_KILL_UNEXPECTED_EXIT, q);
}

static int handle_rdmsr(struct pvisor_vcpu *vcpu)
{
	u32 msr = vcpu->regs[PVISOR_RCX];
	u64 val;

	switch (msr) {
	case MSR_EFER:
		val = vcpu->efer;
		break;
	case MSR_IA32_CR_PAT:
		val = vcpu->pat;
		break;
	case MSR_IA32_TSC:
		val = rdtsc();
		break;
	default:
		return inject_gp(vcpu);
	}
	vcpu->regs[PVISOR_RAX] = (u32)val;
	vcpu->regs[PVISOR_RDX] = val >> 32;
	return skip_and_resume(vcpu);
}

static bool pat_is_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (i * 8);

		if (type == 2 || type == 3 || type > 7)
			return false;
	}
	return true;
}

static int handle_wrmsr(struct pvisor_vcpu *vcpu)
{
	u32 msr = vcpu->regs[PVISOR_RCX];
	u64 val = (u32)vcpu->regs[PVISOR_RAX] |
		  (u64)vcpu->regs[PVISOR_RDX] << 32;

	switch (msr) {
	case MSR_EFER:
		if (!pvisor_vmx_efer_is_valid(val))
			return inject_gp(vcpu);
		if ((val ^ vcpu->efer) & EFER_NX) {
			/* Shadow pages built for the other NX setting stay. */
			pvisor_vmx_write_efer(vcpu, val);
			pvisor_vmx_skip_insn(vcpu);
			return pvisor_mmu_new_cr3(vcpu);
		}
		pvisor_vmx_write_efer(vcpu, val);
		break;
	case MSR_IA32_CR_PAT:
		/* Kept for the guest to read back; guest memory is WB. */
		if (!pat_is_valid(val))
			return inject_gp(vcpu);
		vcpu->pat = val;
		break;
	default:
		return inject_gp(vcpu);
	}
	return skip_and_resume(vcpu);
}

static int handle_xsetbv(struct pvisor_vcpu *vcpu)
{
	u64 val = (u32)vcpu->regs[PVISOR_RAX] |
		  (u64)vcpu->regs[PVISOR_RDX] << 32;
	u64 ok = pvisor_caps.host_xcr0 &
		 (XFEATURE_MASK_FP | XFEATURE_MASK_SSE | XFEATURE_MASK_YMM);

	if (vcpu->regs[PVISOR_RCX] != 0 || !(val & XFEATURE_MASK_FP) ||
	    (val & ~ok) ||
	    ((val & XFEATURE_MASK_YMM) && !(val & XFEATURE_MASK_SSE)))
		return inject_gp(vcpu);
	vcpu->xcr0 = val;
	return skip_and_resume(vcpu);
}

static int handle_entry_failure(struct pvisor_vcpu *vcpu)
{
	return kill(vcpu, PVISOR_KILL_ENTRY_FAILED, vcpu->exit_qual);
}

typedef int (*exit_handler)(struct pvisor_vcpu *vcpu);

static const exit_handler handlers[] = {
	[EXIT_REASON_EXCEPTION_NMI]	= handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT] = handle_resume,
	[EXIT_REASON_INTERRUPT_WINDOW]	= handle_resume,
	[EXIT_REASON_TRIPLE_FAULT]	= handle_triple_fault,
	[EXIT_REASON_CPUID]		= handle_cpuid,
	[EXIT_REASON_HLT]		= handle_hlt,
	[EXIT_REASON_INVD]		= skip_and_resume,
	[EXIT_REASON_INVLPG]		= handle_invlpg,
	[EXIT_REASON_RDPMC]		= inject_gp,
	[EXIT_REASON_VMCALL]		= handle_vmcall,
	[EXIT_REASON_VMCLEAR]		= inject_ud,
	[EXIT_REASON_VMLAUNCH]		= inject_ud,
	[EXIT_REASON_VMPTRLD]		= inject_ud,
	[EXIT_REASON_VMPTRST]		= inject_ud,
	[EXIT_REASON_VMREAD]		= inject_ud,
	[EXIT_REASON_VMRESUME]		= inject_ud,
	[EXIT_REASON_VMWRITE]		= inject_ud,
	[EXIT_REASON_VMOFF]		= inject_ud,
	[EXIT_REASON_VMON]		= inject_ud,
	[EXIT_REASON_CR_ACCESS]		= handle_cr,
	/* Debug registers and I/O ports are not part of the PV machine. */
	[EXIT_REASON_DR_ACCESS]		= inject_gp,
	[EXIT_REASON_IO_INSTRUCTION]	= inject_gp,
	[EXIT_REASON_MSR_READ]		= handle_rdmsr,
	[EXIT_REASON_MSR_WRITE]		= handle_wrmsr,
	[EXIT_REASON_INVALID_STATE]	= handle_entry_failure,
	[EXIT_REASON_MSR_LOAD_FAIL]	= handle_entry_failure,
	[EXIT_REASON_MWAIT_INSTRUCTION]	= inject_ud,
	[EXIT_REASON_MONITOR_INSTRUCTION] = inject_ud,
	[EXIT_REASON_INVEPT]		= inject_ud,
	[EXIT_REASON_INVVPID]		= inject_ud,
	[EXIT_REASON_XSETBV]		= handle_xsetbv,
	[EXIT_REASON_VMFUNC]		= inject_ud,
	[EXIT_REASON_PREEMPTION_TIMER]	= handle_resume,
};

int pvisor_vmx_handle_exit(struct pvisor_vcpu *vcpu)
{
	u32 reason = vcpu->exit_reason;
	int ret;

	vcpu->stat_exits++;
	if (reason == PVISOR_EXIT_VMFAIL ||
	    (reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
		ret = handle_entry_failure(vcpu);
	else if ((u16)reason >= ARRAY_SIZE(handlers) ||
		 !handlers[(u16)reason])
		ret = kill(vcpu, PVISOR_KILL_UNEXPECTED_EXIT, (u16)reason);
	else
		ret = handlers[(u16)reason](vcpu);
	if (vcpu->triple_fault)
		ret = kill(vcpu, PVISOR_KILL_TRIPLE_FAULT, 0);
	if (vcpu->run->exit_reason == PVISOR_EXIT_KILLED)
		vcpu->run->killed.rip = pvisor_vmread(GUEST_RIP);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * VMCS life cycle and the VM entry path.
 *
 * A vCPU's VMCS is active on at most one CPU (vcpu->cpu).  It is loaded
 * with preemption disabled at each entry: when the thread moved, the VMCS is
 * cleared on its old CPU by IPI first, as the SDM requires.  Each CPU keeps
 * a list of the VMCSs active on it, so that they are cleared before the CPU
 * leaves VMX operation (offline, reboot, suspend).  That list is touched
 * only on its own CPU with interrupts disabled.
 *
 * pvisor_vmx_enter() runs with interrupts disabled; everything else here
 * runs with preemption disabled and this vCPU's VMCS current.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <asm/cpu_entry_area.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/xcr.h>
#include <asm/io.h>
#include <asm/mmu_context.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/traps.h>
#include <asm/vmx.h>

#include "capabilities.h"
#include "pvisor.h"
#include "vmx.h"
#include "vmx_ops.h"

/* CR0 bits the guest changes without a VM exit. */
#define GUEST_OWNED_CR0	(X86_CR0_TS | X86_CR0_MP | X86_CR0_EM | X86_CR0_AM)
#define CR0_REQUIRED	(X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | \
			 X86_CR0_PG)
#define CR0_KNOWN	(CR0_REQUIRED | GUEST_OWNED_CR0)
#define EFER_KNOWN	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)
#define EFER_REQUIRED	(EFER_LME | EFER_LMA)

/* MSRs the guest owns: loaded at VM entry, saved and replaced at exit. */
static const u32 swapped_msrs[] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
};

/* MSRs the guest reads and writes without a VM exit. */
static const u32 passthrough_msrs[] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	MSR_FS_BASE, MSR_GS_BASE, MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

#define HOST_MSR_AREA	2048	/* offset of the host list in msr_areas */
#define GUEST_DR7_RESET	0x400

static DEFINE_PER_CPU(struct pvisor_vcpu *, current_vcpu);
static DEFINE_PER_CPU(struct pvisor_vcpu *, last_vcpu);
static DEFINE_PER_CPU(struct list_head, loaded_vcpus);
static DEFINE_IDA(vpid_ida);
static struct desc_ptr host_idt;
static bool l1d_flush;

void pvisor_vmx_init_percpu(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		INIT_LIST_HEAD(per_cpu_ptr(&loaded_vcpus, cpu));
	store_idt(&host_idt);
	l1d_flush = boot_cpu_has_bug(X86_BUG_L1TF) &&
		    boot_cpu_has(X86_FEATURE_FLUSH_L1D) &&
		    l1tf_mitigation != L1TF_MITIGATION_OFF;
}

void pvisor_vmx_exit_percpu(void)
{
	ida_destroy(&vpid_ida);
}

void pvisor_vmx_insn_failed(const char *insn, unsigned long field,
			    unsigned long value)
{
	pr_err_ratelimited("%s %#lx (%#lx) failed: VM-instruction error %lu\n",
			   insn, field, value,
			   pvisor_vmread(VM_INSTRUCTION_ERROR));
}

/* Runs on vcpu->cpu with interrupts disabled. */
static void clear_this_cpu(struct pvisor_vcpu *vcpu)
{
	if (vcpu->cpu != smp_processor_id())
		return;
	if (pvisor_vmclear(page_to_phys(vcpu->vmcs)))
		pr_warn_once("VMCLEAR failed on CPU %d\n", vcpu->cpu);
	if (this_cpu_read(current_vcpu) == vcpu)
		this_cpu_write(current_vcpu, NULL);
	list_del_init(&vcpu->loaded_link);
	vcpu->launched = false;
	/* The list entry is gone before anyone sees the VMCS as free. */
	smp_wmb();
	WRITE_ONCE(vcpu->cpu, -1);
}

static void clear_ipi(void *vcpu)
{
	clear_this_cpu(vcpu);
}

static void clear_vcpu(struct pvisor_vcpu *vcpu)
{
	int cpu = READ_ONCE(vcpu->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, clear_ipi, vcpu, 1);
}

/* Before this CPU leaves VMX operation; interrupts are disabled. */
void pvisor_vmx_clear_all_on_this_cpu(void)
{
	struct pvisor_vcpu *vcpu, *tmp;

	list_for_each_entry_safe(vcpu, tmp, this_cpu_ptr(&loaded_vcpus),
				 loaded_link)
		clear_this_cpu(vcpu);
}

static void write_percpu_host_state(int cpu)
{
	u64 msr;

	pvisor_vmwrite(HOST_TR_BASE,
		       (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	pvisor_vmwrite(HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	pvisor_vmwrite(HOST_GS_BASE, cpu_kernelmode_gs_base(cpu));
	rdmsrl(MSR_IA32_SYSENTER_ESP, msr);
	pvisor_vmwrite(HOST_IA32_SYSENTER_ESP, msr);
}

void pvisor_vmx_flush_tlb(struct pvisor_vcpu *vcpu)
{
	if (vcpu->vpid)
		pvisor_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vcpu->vpid, 0);
	vcpu->mmu.need_flush = false;
}

/*
 * Make @vcpu's VMCS current on this CPU.  Preemption is disabled.  Returns
 * -EIO when VMPTRLD fails (VMX was left for reboot).
 */
int pvisor_vmx_vcpu_load(struct pvisor_vcpu *vcpu)
{
	int cpu = smp_processor_id();

	if (READ_ONCE(vcpu->cpu) != cpu) {
		clear_vcpu(vcpu);
		/* Seen the list removal on the old CPU before adding here. */
		smp_rmb();
		local_irq_disable();
		list_add(&vcpu->loaded_link, this_cpu_ptr(&loaded_vcpus));
		WRITE_ONCE(vcpu->cpu, cpu);
		local_irq_enable();
		this_cpu_write(current_vcpu, NULL);
		/* TLB entries tagged with this VPID may be stale here. */
		vcpu->mmu.need_flush = true;
	}
	if (this_cpu_read(current_vcpu) != vcpu) {
		if (pvisor_vmptrld(page_to_phys(vcpu->vmcs)))
			return -EIO;
		this_cpu_write(current_vcpu, vcpu);
		if (this_cpu_read(last_vcpu) != vcpu) {
			/* Another guest's branch predictions must not leak. */
			indirect_branch_prediction_barrier();
			this_cpu_write(last_vcpu, vcpu);
		}
		write_percpu_host_state(cpu);
	}
	if (vcpu->mmu.need_flush)
		pvisor_vmx_flush_tlb(vcpu);
	return 0;
}

/* Segment fields in the order of struct pvisor_sregs. */
enum {
	SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS, SEG_TR, SEG_LDT,
	NR_SEGS
};

static const struct {
	u32 sel, base, limit, ar;
} seg_fields[NR_SEGS] = {
	[SEG_CS] = { GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT,
		     GUEST_CS_AR_BYTES },
	[SEG_DS] = { GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT,
		     GUEST_DS_AR_BYTES },
	[SEG_ES] = { GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT,
		     GUEST_ES_AR_BYTES },
	[SEG_FS] = { GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT,
		     GUEST_FS_AR_BYTES },
	[SEG_GS] = { GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT,
		     GUEST_GS_AR_BYTES },
	[SEG_SS] = { GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT,
		     GUEST_SS_AR_BYTES },
	[SEG_TR] = { GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT,
		     GUEST_TR_AR_BYTES },
	[SEG_LDT] = { GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT,
		      GUEST_LDTR_AR_BYTES },
};

static struct pvisor_segment *sregs_seg(struct pvisor_sregs *s, int i)
{
	struct pvisor_segment *segs[NR_SEGS] = {
		&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt,
	};

	return segs[i];
}

static u32 seg_to_ar(const struct pvisor_segment *s)
{
	if (s->unusable)
		return VMX_AR_UNUSABLE_MASK;
	return (s->type & 0xf) | (s->s << 4) | (s->dpl << 5) |
	       (s->present << 7) | (s->avl << 12) | (s->l << 13) |
	       (s->db << 14) | (s->g << 15);
}

static void ar_to_seg(u32 ar, struct pvisor_segment *s)
{
	s->unusable = !!(ar & VMX_AR_UNUSABLE_MASK);
	s->type = ar & 0xf;
	s->s = (ar >> 4) & 1;
	s->dpl = (ar >> 5) & 3;
	s->present = (ar >> 7) & 1;
	s->avl = (ar >> 12) & 1;
	s->l = (ar >> 13) & 1;
	s->db = (ar >> 14) & 1;
	s->g = (ar >> 15) & 1;
}

static void write_seg(int i, const struct pvisor_segment *s)
{
	pvisor_vmwrite(seg_fields[i].sel, s->selector);
	pvisor_vmwrite(seg_fields[i].base, s->base);
	pvisor_vmwrite(seg_fields[i].limit, s->limit);
	pvisor_vmwrite(seg_fields[i].ar, seg_to_ar(s));
}

static unsigned long guest_cr0(struct pvisor_vcpu *vcpu)
{
	return (vcpu->cr0 & ~GUEST_OWNED_CR0) |
	       (pvisor_vmread(GUEST_CR0) & GUEST_OWNED_CR0);
}

static bool fixed_bits_ok(u64 val, u64 fixed0, u64 fixed1)
{
	return (val & fixed0) == fixed0 && !(val & ~fixed1);
}

bool pvisor_vmx_cr0_is_valid(unsigned long cr0)
{
	return (cr0 & CR0_REQUIRED) == CR0_REQUIRED && !(cr0 & ~CR0_KNOWN) &&
	       fixed_bits_ok(cr0, pvisor_caps.cr0_fixed0,
			     pvisor_caps.cr0_fixed1);
}

/* The CR4 bits a guest may set, given what the host CPU has. */
static unsigned long cr4_allowed(void)
{
	unsigned long ok = X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE |
			   X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_DE |
			   X86_CR4_TSD | X86_CR4_MCE | X86_CR4_PCE;

	if (boot_cpu_has(X86_FEATURE_XSAVE))
		ok |= X86_CR4_OSXSAVE;
	if (boot_cpu_has(X86_FEATURE_FSGSBASE))
		ok |= X86_CR4_FSGSBASE;
	if (boot_cpu_has(X86_FEATURE_SMEP))
		ok |= X86_CR4_SMEP;
	if (boot_cpu_has(X86_FEATURE_SMAP))
		ok |= X86_CR4_SMAP;
	if (boot_cpu_has(X86_FEATURE_UMIP))
		ok |= X86_CR4_UMIP;
	return ok;
}

bool pvisor_vmx_cr4_is_valid(unsigned long cr4)
{
	return (cr4 & X86_CR4_PAE) && !(cr4 & ~cr4_allowed()) &&
	       fixed_bits_ok(cr4 | X86_CR4_VMXE, pvisor_caps.cr4_fixed0,
			     pvisor_caps.cr4_fixed1);
}

void pvisor_vmx_write_cr0(struct pvisor_vcpu *vcpu, unsigned long cr0)
{
	vcpu->cr0 = cr0;
	pvisor_vmwrite(GUEST_CR0, cr0);
	pvisor_vmwrite(CR0_READ_SHADOW, cr0);
}

void pvisor_vmx_write_cr4(struct pvisor_vcpu *vcpu, unsigned long cr4)
{
	vcpu->cr4 = cr4;
	/* PCIDE: the real CR3 carries pvisor's PCID of the shadow root. */
	pvisor_vmwrite(GUEST_CR4, cr4 | X86_CR4_VMXE |
		       (pvisor_caps.has_pcid ? X86_CR4_PCIDE : 0));
	pvisor_vmwrite(CR4_READ_SHADOW, cr4);
}

static void write_efer(struct pvisor_vcpu *vcpu, u64 efer)
{
	vcpu->efer = efer;
	pvisor_vmwrite(GUEST_IA32_EFER, efer);
}

/*
 * A new vCPU: 64-bit mode at RIP 0 with flat segments and CR3 0.  Valid for
 * VM entry, useless until userspace sets registers.
 */
static void set_initial_state(struct pvisor_vcpu *vcpu)
{
	struct pvisor_segment code = {
		.limit = 0xffffffff, .selector = 0x08, .type = 0xb,
		.present = 1, .s = 1, .l = 1, .g = 1,
	};
	struct pvisor_segment data = {
		.limit = 0xffffffff, .selector = 0x10, .type = 0x3,
		.present = 1, .s = 1, .db = 1, .g = 1,
	};
	struct pvisor_segment tr = {
		.limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1,
	};
	struct pvisor_segment ldt = { .unusable = 1 };
	int i;

	write_seg(SEG_CS, &code);
	for (i = SEG_DS; i <= SEG_SS; i++)
		write_seg(i, &data);
	write_seg(SEG_TR, &tr);
	write_seg(SEG_LDT, &ldt);
	pvisor_vmwrite(GUEST_GDTR_BASE, 0);
	pvisor_vmwrite(GUEST_GDTR_LIMIT, 0);
	pvisor_vmwrite(GUEST_IDTR_BASE, 0);
	pvisor_vmwrite(GUEST_IDTR_LIMIT, 0);
	pvisor_vmx_write_cr0(vcpu, CR0_REQUIRED);
	pvisor_vmx_write_cr4(vcpu, X86_CR4_PAE);
	write_efer(vcpu, EFER_REQUIRED);
	vcpu->cr3 = 0;
	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->pat = 0x0007040600070406ULL;
	/* The shadow root is loaded before the first entry. */
	pvisor_vmwrite(GUEST_CR3, 0);
	pvisor_vmwrite(GUEST_RIP, 0);
	pvisor_vmwrite(GUEST_RSP, 0);
	pvisor_vmwrite(GUEST_RFLAGS, X86_EFLAGS_FIXED);
	pvisor_vmwrite(GUEST_DR7, GUEST_DR7_RESET);
	pvisor_vmwrite(GUEST_IA32_DEBUGCTL, 0);
	pvisor_vmwrite(GUEST_SYSENTER_CS, 0);
	pvisor_vmwrite(GUEST_SYSENTER_ESP, 0);
	pvisor_vmwrite(GUEST_SYSENTER_EIP, 0);
	pvisor_vmwrite(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	pvisor_vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0);
	pvisor_vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	pvisor_vmwrite(VMCS_LINK_POINTER, -1ull);
}

static void setup_vmcs(struct pvisor_vcpu *vcpu)
{
	const struct pvisor_caps *c = &pvisor_caps;
	u64 areas = page_to_phys(vcpu->msr_areas), msr;

	pvisor_vmwrite(PIN_BASED_VM_EXEC_CONTROL, c->ctl_pin);
	pvisor_vmwrite(CPU_BASED_VM_EXEC_CONTROL, c->ctl_proc);
	if (c->ctl_proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
		pvisor_vmwrite(SECONDARY_VM_EXEC_CONTROL, c->ctl_proc2);
	pvisor_vmwrite(VM_EXIT_CONTROLS, c->ctl_exit);
	pvisor_vmwrite(VM_ENTRY_CONTROLS, c->ctl_entry);
	/* Shadow paging sees every guest page fault first. */
	pvisor_vmwrite(EXCEPTION_BITMAP, BIT(X86_TRAP_PF));
	pvisor_vmwrite(PAGE_FAULT_ERROR_CODE_MASK, 0);
	pvisor_vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	pvisor_vmwrite(CR3_TARGET_COUNT, 0);
	pvisor_vmwrite(CR0_GUEST_HOST_MASK, ~(unsigned long)GUEST_OWNED_CR0);
	pvisor_vmwrite(CR4_GUEST_HOST_MASK, ~0ul);
	pvisor_vmwrite(TSC_OFFSET, 0);
	pvisor_vmwrite(MSR_BITMAP, page_to_phys(vcpu->msr_bitmap));
	pvisor_vmwrite(VM_ENTRY_MSR_LOAD_ADDR, areas);
	pvisor_vmwrite(VM_ENTRY_MSR_LOAD_COUNT, ARRAY_SIZE(swapped_msrs));
	pvisor_vmwrite(VM_EXIT_MSR_STORE_ADDR, areas);
	pvisor_vmwrite(VM_EXIT_MSR_STORE_COUNT, ARRAY_SIZE(swapped_msrs));
	pvisor_vmwrite(VM_EXIT_MSR_LOAD_ADDR, areas + HOST_MSR_AREA);
	pvisor_vmwrite(VM_EXIT_MSR_LOAD_COUNT, ARRAY_SIZE(swapped_msrs));
	pvisor_vmwrite(VM_ENTRY_INTR_INFO_FIELD, 0);
	/* Reloaded from this field at every entry (no save on exit). */
	if (c->preemption_timer)
		pvisor_vmwrite(VMX_PREEMPTION_TIMER_VALUE,
			       c->preemption_timer);
	if (vcpu->vpid)
		pvisor_vmwrite(VIRTUAL_PROCESSOR_ID, vcpu->vpid);

	/* Host state that is the same on every CPU and every entry. */
	pvisor_vmwrite(HOST_CR0, read_cr0());
	pvisor_vmwrite(HOST_CS_SELECTOR, __KERNEL_CS);
	pvisor_vmwrite(HOST_SS_SELECTOR, __KERNEL_DS);
	pvisor_vmwrite(HOST_DS_SELECTOR, 0);
	pvisor_vmwrite(HOST_ES_SELECTOR, 0);
	pvisor_vmwrite(HOST_FS_SELECTOR, 0);
	pvisor_vmwrite(HOST_GS_SELECTOR, 0);
	pvisor_vmwrite(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	pvisor_vmwrite(HOST_IDTR_BASE, host_idt.address);
	pvisor_vmwrite(HOST_RIP, (unsigned long)pvisor_vmx_vmexit);
	rdmsrl(MSR_IA32_SYSENTER_CS, msr);
	pvisor_vmwrite(HOST_IA32_SYSENTER_CS, msr);
	rdmsrl(MSR_IA32_SYSENTER_EIP, msr);
	pvisor_vmwrite(HOST_IA32_SYSENTER_EIP, msr);
	rdmsrl(MSR_EFER, msr);
	pvisor_vmwrite(HOST_IA32_EFER, msr);
	vcpu->host_cr3 = __get_current_cr3_fast();
	pvisor_vmwrite(HOST_CR3, vcpu->host_cr3);
	vcpu->host_cr4 = cr4_read_shadow();
	pvisor_vmwrite(HOST_CR4, vcpu->host_cr4);

	set_initial_state(vcpu);
}

static void msr_bitmap_pass(u8 *bitmap, u32 msr)
{
	u32 base;

	if (msr <= 0x1fff) {
		base = 0;
	} else if (msr >= 0xc0000000 && msr <= 0xc0001fff) {
		base = 1024;
		msr -= 0xc0000000;
	} else {
		return;
	}
	__clear_bit(msr, (unsigned long *)(bitmap + base));
	__clear_bit(msr, (unsigned long *)(bitmap + base + 2048));
}

static struct page *alloc_vmx_page(void)
{
	return alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
}

int pvisor_vmx_vcpu_init(struct pvisor_vcpu *vcpu)
{
	struct vmx_msr_entry *msrs;
	u8 *bitmap;
	int i, ret;

	vcpu->cpu = -1;
	INIT_LIST_HEAD(&vcpu->loaded_link);
	vcpu->vmcs = alloc_vmx_page();
	vcpu->msr_bitmap = alloc_vmx_page();
	vcpu->msr_areas = alloc_vmx_page();
	if (!vcpu->vmcs || !vcpu->msr_bitmap || !vcpu->msr_areas)
		return -ENOMEM;

	*(u32 *)page_address(vcpu->vmcs) = pvisor_caps.revision;
	bitmap = page_address(vcpu->msr_bitmap);
	memset(bitmap, 0xff, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
		msr_bitmap_pass(bitmap, passthrough_msrs[i]);
	msrs = page_address(vcpu->msr_areas);
	for (i = 0; i < ARRAY_SIZE(swapped_msrs); i++) {
		msrs[i].index = swapped_msrs[i];
		msrs[HOST_MSR_AREA / sizeof(*msrs) + i].index = swapped_msrs[i];
	}

	if (pvisor_caps.has_vpid) {
		ret = ida_alloc_range(&vpid_ida, 1, 0xffff, GFP_KERNEL);
		if (ret < 0)
			return ret;
		vcpu->vpid = ret;
	}

	preempt_disable();
	ret = pvisor_vmclear(page_to_phys(vcpu->vmcs));
	if (!ret)
		ret = pvisor_vmx_vcpu_load(vcpu);
	if (!ret)
		setup_vmcs(vcpu);
	preempt_enable();
	return ret ? -EIO : 0;
}

void pvisor_vmx_vcpu_free(struct pvisor_vcpu *vcpu)
{
	if (vcpu->vmcs) {
		clear_vcpu(vcpu);
		__free_page(vcpu->vmcs);
	}
	if (vcpu->msr_bitmap)
		__free_page(vcpu->msr_bitmap);
	if (vcpu->msr_areas)
		__free_page(vcpu->msr_areas);
	if (vcpu->vpid)
		ida_free(&vpid_ida, vcpu->vpid);
}

/*
 * At the start of PVISOR_RUN: the host values that VM exits must restore
 * and that stay the same while this thread runs the vCPU.
 */
void pvisor_vmx_run_begin(struct pvisor_vcpu *vcpu)
{
	struct vmx_msr_entry *host = page_address(vcpu->msr_areas) +
				     HOST_MSR_AREA;
	int i;

	savesegment(ds, vcpu->host_ds);
	savesegment(es, vcpu->host_es);
	savesegment(fs, vcpu->host_fs);
	savesegment(gs, vcpu->host_gs);
	rdmsrl(MSR_FS_BASE, vcpu->host_fs_base);
	for (i = 0; i < ARRAY_SIZE(swapped_msrs); i++)
		rdmsrl(host[i].index, host[i].value);
	vcpu->host_fs_base_written = false;
}

/* At the end of PVISOR_RUN: what VM exits left different for userspace. */
void pvisor_vmx_run_end(struct pvisor_vcpu *vcpu)
{
	struct vmx_msr_entry *host = page_address(vcpu->msr_areas) +
				     HOST_MSR_AREA;

	if (vcpu->host_ds)
		loadsegment(ds, vcpu->host_ds);
	if (vcpu->host_es)
		loadsegment(es, vcpu->host_es);
	if (vcpu->host_fs) {
		loadsegment(fs, vcpu->host_fs);
		wrmsrl(MSR_FS_BASE, vcpu->host_fs_base);
	}
	if (vcpu->host_gs) {
		/* KERNEL_GS_BASE is the last entry of the host MSR list. */
		load_gs_index(vcpu->host_gs);
		wrmsrl(MSR_KERNEL_GS_BASE,
		       host[ARRAY_SIZE(swapped_msrs) - 1].value);
	}
}

static void set_intr_window(struct pvisor_vcpu *vcpu, bool on)
{
	if (vcpu->intr_window == on)
		return;
	vcpu->intr_window = on;
	pvisor_vmwrite(CPU_BASED_VM_EXEC_CONTROL, pvisor_caps.ctl_proc |
		       (on ? CPU_BASED_INTR_WINDOW_EXITING : 0));
}

/*
 * Queue the highest pending interrupt for this entry if the guest can take
 * it; otherwise ask for an exit as soon as it can (interrupt window).  An
 * exception or an interrupted event goes first.
 */
static void queue_interrupt(struct pvisor_vcpu *vcpu)
{
	struct pvisor_event *e = &vcpu->event;
	unsigned int vector;

	if (!pvisor_irq_pending(vcpu)) {
		set_intr_window(vcpu, false);
		return;
	}
	if (e->pending ||
	    !(pvisor_vmread(GUEST_RFLAGS) & X86_EFLAGS_IF) ||
	    (pvisor_vmread(GUEST_INTERRUPTIBILITY_INFO) &
	     (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))) {
		set_intr_window(vcpu, true);
		return;
	}
	vector = find_last_bit(vcpu->irq_pending, 256);
	if (!test_and_clear_bit(vector, vcpu->irq_pending))
		return;
	e->pending = true;
	e->vector = vector;
	vcpu->stat_irqs++;
	e->type = INTR_TYPE_EXT_INTR >> 8;
	e->has_error = false;
	e->insn_len = 0;
	/* Another one waits for the next window. */
	set_intr_window(vcpu, pvisor_irq_pending(vcpu));
}

static void inject_pending_event(struct pvisor_vcpu *vcpu)
{
	struct pvisor_event *e = &vcpu->event;
	u32 info = e->vector | (e->type << 8) | INTR_INFO_VALID_MASK;

	if (!e->pending)
		return;
	if (e->has_error) {
		info |= INTR_INFO_DELIVER_CODE_MASK;
		pvisor_vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, e->error);
	}
	if (e->insn_len)
		pvisor_vmwrite(VM_ENTRY_INSTRUCTION_LEN, e->insn_len);
	pvisor_vmwrite(VM_ENTRY_INTR_INFO_FIELD, info);
	e->pending = false;
}

/* An event whose delivery a VM exit interrupted is delivered again. */
static void save_vectoring_event(struct pvisor_vcpu *vcpu)
{
	u32 info = pvisor_vmread(IDT_VECTORING_INFO_FIELD);
	struct pvisor_event *e = &vcpu->event;
	u8 type;

	e->pending = false;
	if (!(info & VECTORING_INFO_VALID_MASK))
		return;
	type = (info & VECTORING_INFO_TYPE_MASK) >> 8;
	e->pending = true;
	e->vector = info & VECTORING_INFO_VECTOR_MASK;
	e->type = type;
	e->has_error = info & VECTORING_INFO_DELIVER_CODE_MASK;
	e->error = e->has_error ? pvisor_vmread(IDT_VECTORING_ERROR_CODE) : 0;
	e->insn_len = 0;
	if (type == INTR_TYPE_SOFT_INTR >> 8 ||
	    type == INTR_TYPE_SOFT_EXCEPTION >> 8 ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION >> 8)
		e->insn_len = pvisor_vmread(VM_EXIT_INSTRUCTION_LEN);
}

static bool is_contributory(u8 vector)
{
	return vector == X86_TRAP_DE || vector == X86_TRAP_TS ||
	       vector == X86_TRAP_NP || vector == X86_TRAP_SS ||
	       vector == X86_TRAP_GP;
}

/*
 * Deliver a hardware exception at the next entry, combined with an event
 * whose delivery was interrupted as the SDM's double-fault rules say.  A
 * fault while delivering #DF is a triple fault: the caller learns of it as
 * vcpu->event.vector == X86_TRAP_DF with pending already set.
 */
void pvisor_vmx_queue_exception(struct pvisor_vcpu *vcpu, u8 vector,
				bool has_error, u32 error)
{
	struct pvisor_event *e = &vcpu->event;

	if (e->pending && e->type == INTR_TYPE_HARD_EXCEPTION >> 8) {
		bool first_pf = e->vector == X86_TRAP_PF;

		if (e->vector == X86_TRAP_DF) {
			vcpu->triple_fault = true;
			return;
		}
		if ((first_pf && (vector == X86_TRAP_PF ||
				  is_contributory(vector))) ||
		    (is_contributory(e->vector) && is_contributory(vector))) {
			vector = X86_TRAP_DF;
			has_error = true;
			error = 0;
		}
	}
	e->pending = true;
	e->vector = vector;
	e->type = INTR_TYPE_HARD_EXCEPTION >> 8;
	e->has_error = has_error;
	e->error = error;
	e->insn_len = 0;
}

void pvisor_vmx_skip_insn(struct pvisor_vcpu *vcpu)
{
	unsigned long rip = pvisor_vmread(GUEST_RIP);
	u32 intr = pvisor_vmread(GUEST_INTERRUPTIBILITY_INFO);

	pvisor_vmwrite(GUEST_RIP, rip + pvisor_vmread(VM_EXIT_INSTRUCTION_LEN));
	/* Blocking by STI or MOV SS ends with the next instruction. */
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		pvisor_vmwrite(GUEST_INTERRUPTIBILITY_INFO,
			       intr & ~(GUEST_INTR_STATE_STI |
					GUEST_INTR_STATE_MOV_SS));
}

/* In VMX non-root operation the CPL is SS.DPL. */
int pvisor_vmx_guest_cpl(void)
{
	return (pvisor_vmread(GUEST_SS_AR_BYTES) >> 5) & 3;
}

/*
 * Enter the guest and come back.  Interrupts and preemption are disabled
 * and @vcpu's VMCS is current.  Sets vcpu->exit_reason (PVISOR_EXIT_VMFAIL
 * if the entry failed) and vcpu->exit_qual.
 */
void pvisor_vmx_enter(struct pvisor_vcpu *vcpu)
{
	unsigned long cr3 = __get_current_cr3_fast(), cr4 = cr4_read_shadow();
	u64 host_xcr0 = pvisor_caps.host_xcr0;
	u32 intr;
	int fail;

	lockdep_assert_irqs_disabled();
	if (unlikely(cr3 != vcpu->host_cr3)) {
		pvisor_vmwrite(HOST_CR3, cr3);
		vcpu->host_cr3 = cr3;
	}
	if (unlikely(cr4 != vcpu->host_cr4)) {
		pvisor_vmwrite(HOST_CR4, cr4);
		vcpu->host_cr4 = cr4;
	}
	if (unlikely(!vcpu->host_fs_base_written)) {
		pvisor_vmwrite(HOST_FS_BASE, vcpu->host_fs_base);
		vcpu->host_fs_base_written = true;
	}
	queue_interrupt(vcpu);
	inject_pending_event(vcpu);

	if (native_read_cr2() != vcpu->cr2)
		native_write_cr2(vcpu->cr2);
	if (host_xcr0 && vcpu->xcr0 != host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	if (l1d_flush)
		wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);

	fail = pvisor_vmx_vmenter(vcpu->regs, vcpu->launched);

	vcpu->cr2 = native_read_cr2();
	if (host_xcr0 && vcpu->xcr0 != host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, host_xcr0);
	/* A VM exit leaves the GDT and IDT limits at 0xffff, TR at 0x67. */
	load_fixmap_gdt(smp_processor_id());
	load_idt(&host_idt);
	invalidate_tss_limit();

	if (unlikely(fail)) {
		vcpu->exit_reason = PVISOR_EXIT_VMFAIL;
		vcpu->exit_qual = pvisor_vmread(VM_INSTRUCTION_ERROR);
		return;
	}
	vcpu->launched = true;
	vcpu->exit_reason = pvisor_vmread(VM_EXIT_REASON);
	vcpu->exit_qual = pvisor_vmread(EXIT_QUALIFICATION);
	if ((u16)vcpu->exit_reason == EXIT_REASON_EXCEPTION_NMI) {
		intr = pvisor_vmread(VM_EXIT_INTR_INFO);
		if ((intr & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
			pvisor_host_nmi();
	}
	save_vectoring_event(vcpu);
}

/* Guest register state: PVISOR_GET/SET_REGS and PVISOR_GET/SET_SREGS. */

static const u8 regs_order[] = {
	PVISOR_RAX, PVISOR_RBX, PVISOR_RCX, PVISOR_RDX, PVISOR_RSI, PVISOR_RDI,
	PVISOR_RSP, PVISOR_RBP, PVISOR_R8, PVISOR_R9, PVISOR_R10, PVISOR_R11,
	PVISOR_R12, PVISOR_R13, PVISOR_R14, PVISOR_R15,
};

void pvisor_vmx_get_regs(struct pvisor_vcpu *vcpu, struct pvisor_regs *r)
{
	u64 *out = &r->rax;
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < ARRAY_SIZE(regs_order); i++)
		out[i] = vcpu->regs[regs_order[i]];
	r->rsp = pvisor_vmread(GUEST_RSP);
	r->rip = pvisor_vmread(GUEST_RIP);
	r->rflags = pvisor_vmread(GUEST_RFLAGS);
}

static bool is_canonical(u64 addr)
{
	return __is_canonical_address(addr, 48);
}

#define RFLAGS_RESERVED	(GENMASK_ULL(63, 22) | BIT(15) | BIT(5) | BIT(3))

int pvisor_vmx_set_regs(struct pvisor_vcpu *vcpu, const struct pvisor_regs *r)
{
	const u64 *in = &r->rax;
	int i;

	if (r->flags || r->padding || memchr_inv(r->reserved, 0,
						 sizeof(r->reserved)))
		return -EINVAL;
	if (!is_canonical(r->rip) || !(r->rflags & X86_EFLAGS_FIXED) ||
	    (r->rflags & (RFLAGS_RESERVED | X86_EFLAGS_VM)))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(regs_order); i++)
		vcpu->regs[regs_order[i]] = in[i];
	pvisor_vmwrite(GUEST_RSP, r->rsp);
	pvisor_vmwrite(GUEST_RIP, r->rip);
	pvisor_vmwrite(GUEST_RFLAGS, r->rflags);
	return 0;
}

void pvisor_vmx_get_sregs(struct pvisor_vcpu *vcpu, struct pvisor_sregs *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < NR_SEGS; i++) {
		struct pvisor_segment *seg = sregs_seg(s, i);

		seg->selector = pvisor_vmread(seg_fields[i].sel);
		seg->base = pvisor_vmread(seg_fields[i].base);
		seg->limit = pvisor_vmread(seg_fields[i].limit);
		ar_to_seg(pvisor_vmread(seg_fields[i].ar), seg);
	}
	s->gdt.base = pvisor_vmread(GUEST_GDTR_BASE);
	s->gdt.limit = pvisor_vmread(GUEST_GDTR_LIMIT);
	s->idt.base = pvisor_vmread(GUEST_IDTR_BASE);
	s->idt.limit = pvisor_vmread(GUEST_IDTR_LIMIT);
	s->cr0 = guest_cr0(vcpu);
	s->cr2 = vcpu->cr2;
	s->cr3 = vcpu->cr3;
	s->cr4 = vcpu->cr4;
	s->efer = vcpu->efer;
}

static bool seg_limit_is_valid(const struct pvisor_segment *s)
{
	if (s->g && (s->limit & 0xfff) != 0xfff)
		return false;
	return s->g || !(s->limit >> 20);
}

/* The VM-entry checks on a 64-bit guest's segments (SDM 27.3.1.2). */
static bool seg_is_valid(int i, const struct pvisor_segment *s)
{
	u8 rpl = s->selector & 3;
	bool code = s->type & 8;

	if (memchr_inv(s->padding, 0, sizeof(s->padding)) ||
	    s->unusable > 1)
		return false;
	if (s->unusable)
		return i != SEG_CS && i != SEG_TR;
	if (s->type > 0xf || s->s > 1 || s->dpl > 3 || s->present != 1 ||
	    s->db > 1 || s->l > 1 || s->g > 1 || s->avl > 1 ||
	    !seg_limit_is_valid(s))
		return false;
	if (i == SEG_FS || i == SEG_GS || i == SEG_TR || i == SEG_LDT) {
		if (!is_canonical(s->base))
			return false;
	} else if (s->base >> 32) {
		return false;
	}

	switch (i) {
	case SEG_CS:
		return s->s && code && (s->type & 1) && s->l && !s->db &&
		       s->dpl == rpl;
	case SEG_SS:
		return s->s && (s->type == 3 || s->type == 7) &&
		       s->dpl == rpl;
	case SEG_TR:
		return !s->s && s->type == 0xb && !(s->selector & 4);
	case SEG_LDT:
		return !s->s && s->type == 2 && !(s->selector & 4);
	default:
		/* DS, ES, FS, GS: accessed; readable if code; DPL >= RPL. */
		return s->s && (s->type & 1) && (!code || (s->type & 2)) &&
		       (s->type >= 12 || s->dpl >= rpl);
	}
}

static bool cr3_is_valid(u64 cr3)
{
	return !(cr3 >> pvisor_caps.maxphyaddr) &&
	       !(cr3 & 0xfff & ~(X86_CR3_PWT | X86_CR3_PCD));
}

static bool sregs_are_valid(const struct pvisor_sregs *s)
{
	int i;

	if (s->flags || s->padding ||
	    memchr_inv(s->reserved, 0, sizeof(s->reserved)) ||
	    memchr_inv(s->gdt.padding, 0, sizeof(s->gdt.padding)) ||
	    memchr_inv(s->idt.padding, 0, sizeof(s->idt.padding)))
		return false;
	for (i = 0; i < NR_SEGS; i++)
		if (!seg_is_valid(i, sregs_seg((struct pvisor_sregs *)s, i)))
			return false;
	/* CPL is CS.RPL; SS must agree. */
	if (!s->ss.unusable && (s->ss.selector & 3) != (s->cs.selector & 3))
		return false;
	if (!is_canonical(s->gdt.base) || !is_canonical(s->idt.base))
		return false;
	if ((s->efer & EFER_REQUIRED) != EFER_REQUIRED ||
	    (s->efer & ~EFER_KNOWN))
		return false;
	return pvisor_vmx_cr0_is_valid(s->cr0) &&
	       pvisor_vmx_cr4_is_valid(s->cr4) && cr3_is_valid(s->cr3);
}

int pvisor_vmx_set_sregs(struct pvisor_vcpu *vcpu,
			 const struct pvisor_sregs *s)
{
	int i;

	if (!sregs_are_valid(s))
		return -EINVAL;
	for (i = 0; i < NR_SEGS; i++)
		write_seg(i, sregs_seg((struct pvisor_sregs *)s, i));
	pvisor_vmwrite(GUEST_GDTR_BASE, s->gdt.base);
	pvisor_vmwrite(GUEST_GDTR_LIMIT, s->gdt.limit);
	pvisor_vmwrite(GUEST_IDTR_BASE, s->idt.base);
	pvisor_vmwrite(GUEST_IDTR_LIMIT, s->idt.limit);
	pvisor_vmx_write_cr0(vcpu, s->cr0);
	pvisor_vmx_write_cr4(vcpu, s->cr4);
	write_efer(vcpu, s->efer);
	vcpu->cr2 = s->cr2;
	vcpu->cr3 = s->cr3;
	pvisor_mmu_drop_root(vcpu);
	vcpu->mmu.need_flush = true;
	return 0;
}

void pvisor_vmx_write_efer(struct pvisor_vcpu *vcpu, u64 efer)
{
	write_efer(vcpu, efer);
}

bool pvisor_vmx_efer_is_valid(u64 efer)
{
	return (efer & EFER_REQUIRED) == EFER_REQUIRED && !(efer & ~EFER_KNOWN);
}

bool pvisor_vmx_cr3_is_valid(u64 cr3)
{
	return cr3_is_valid(cr3);
}

unsigned long pvisor_vmx_guest_cr0(struct pvisor_vcpu *vcpu)
{
	return guest_cr0(vcpu);
}

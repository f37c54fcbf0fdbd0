/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the CPU offers for VMX, probed once at module load from CPUID and the
 * IA32_VMX_* capability MSRs.  Everything else reads pvisor_caps; nothing
 * re-reads the MSRs except the per-CPU consistency check in vmx_root.c.
 */
#ifndef PVISOR_CAPABILITIES_H
#define PVISOR_CAPABILITIES_H

#include <linux/types.h>
#include <linux/bits.h>

/* IA32_VMX_BASIC fields (SDM Vol. 3D, A.1). */
#define PVISOR_BASIC_REVISION_MASK	GENMASK_ULL(30, 0)
#define PVISOR_BASIC_VMCS_SIZE(b)	(((b) >> 32) & 0x1fff)
#define PVISOR_BASIC_32BIT_ADDR		BIT_ULL(48)
#define PVISOR_BASIC_MEM_TYPE(b)	(((b) >> 50) & 0xf)
#define PVISOR_BASIC_MEM_TYPE_WB	6
#define PVISOR_BASIC_TRUE_CTLS		BIT_ULL(55)

/*
 * A control MSR holds the allowed-0 settings in bits 31:0 (a 1 there means
 * the control must be 1) and the allowed-1 settings in bits 63:32.
 */
static inline u32 pvisor_ctl_required(u64 msr)
{
	return (u32)msr;
}

static inline u32 pvisor_ctl_allowed(u64 msr)
{
	return (u32)(msr >> 32);
}

/*
 * The longest a guest runs without a VM exit: the VMX-preemption timer
 * guarantees the host regains the CPU even if no interrupt reaches it.
 */
#define PVISOR_GUEST_SLICE_MS	4

struct pvisor_caps {
	u64 basic;
	u32 revision;
	u32 vmcs_size;
	bool has_true_ctls;
	/* TRUE_* variants where the CPU has them. */
	u64 pinbased;
	u64 procbased;
	u64 procbased2;		/* 0 unless secondary controls exist */
	u64 exit;
	u64 entry;
	u64 ept_vpid;		/* 0 unless EPT or VPID exist */
	u64 misc;
	u64 cr0_fixed0;
	u64 cr0_fixed1;
	u64 cr4_fixed0;
	u64 cr4_fixed1;

	/* VM-execution controls pvisor uses, computed once from the above. */
	u32 ctl_pin;
	u32 ctl_proc;
	u32 ctl_proc2;
	u32 ctl_exit;
	u32 ctl_entry;
	bool has_vpid;		/* VPID with single-context INVVPID */
	bool has_pcid;		/* shadow roots tagged with PCIDs (needs VPID) */
	u32 preemption_timer;	/* VMX-preemption timer value, 0 if none */
	u8 maxphyaddr;
	u64 host_xcr0;
};

extern struct pvisor_caps pvisor_caps;

int pvisor_caps_probe(void);
bool pvisor_caps_has_secondary(u32 secondary_bit);
u32 pvisor_caps_features(void);

#endif /* PVISOR_CAPABILITIES_H */

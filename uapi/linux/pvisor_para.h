/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pvisor guest ABI: hypercalls and the start-info page
 * (Documentation/hypercalls.rst).
 *
 * A hypercall is VMCALL at guest CPL 0 with the number in RAX and arguments
 * in RDI, RSI, RDX, R10, R8, R9; the result comes back in RAX, negative
 * PVISOR_E* on error.  Other registers are preserved.  Addresses passed in
 * hypercalls are guest-physical.
 */
#ifndef _UAPI_LINUX_PVISOR_PARA_H
#define _UAPI_LINUX_PVISOR_PARA_H

#include <linux/types.h>

#define PVISOR_PARA_VERSION	1

/*
 * CPUID leaf 0x40000000 returns the largest hypervisor leaf in EAX and
 * "pvisorpvisor" in EBX, ECX, EDX; leaf 0x40000001 returns
 * PVISOR_PARA_VERSION in EAX.
 */
#define PVISOR_CPUID_SIGNATURE	0x40000000

/* Hypercall numbers. */
#define PVISOR_HC_NOP		0	/* returns 0 */
#define PVISOR_HC_CONSOLE_WRITE	1	/* (gpa, len): returns len written */
#define PVISOR_HC_SHUTDOWN	2	/* (status): does not return */
#define PVISOR_HC_GET_INFO	3	/* (PVISOR_INFO_*): returns the value */
#define PVISOR_HC_MMU_BATCH	4	/* (gpa, count): returns ops applied */
#define PVISOR_HC_SET_TIMER	5	/* (ns, vector): one-shot timer; 0 */
#define PVISOR_HC_SEND_IPI	6	/* (vcpu id, vector): interrupt it; 0 */

/* PVISOR_HC_GET_INFO selectors. */
#define PVISOR_INFO_MEM_SIZE	0	/* bytes of guest memory in all slots */
#define PVISOR_INFO_VCPU_ID	1	/* this vCPU's id */
#define PVISOR_INFO_VERSION	2	/* PVISOR_PARA_VERSION */
#define PVISOR_INFO_CLOCK_NS	3	/* the host's monotonic clock, in ns */

/* Hypercall errors, returned negated in RAX. */
#define PVISOR_EPERM		1	/* called from guest CPL > 0 */
#define PVISOR_EFAULT		14	/* an address outside guest memory */
#define PVISOR_EINVAL		22	/* a bad argument */
#define PVISOR_ENOSYS		38	/* unknown hypercall number */

/* Most bytes one PVISOR_HC_CONSOLE_WRITE takes; longer writes are cut. */
#define PVISOR_CONSOLE_WRITE_MAX	2048

/*
 * Interrupts: vectors PVISOR_IRQ_VECTOR_MIN..255 reach the guest's IDT as
 * external interrupts, highest vector first, when RFLAGS.IF is set and no
 * STI or MOV SS shadow blocks them.  They are edge events: no EOI, and a
 * vector raised again before its delivery is delivered once.
 *
 * PVISOR_HC_SET_TIMER: RDI nanoseconds from now (0 cancels the timer), RSI
 * the vector it raises.  One timer per vCPU; setting it replaces the last.
 *
 * PVISOR_HC_SEND_IPI: raise vector RSI on the vCPU whose id is RDI (the
 * caller included).
 */
#define PVISOR_IRQ_VECTOR_MIN	32

/*
 * PVISOR_HC_MMU_BATCH: RDI is the guest-physical address of an array of
 * RSI struct pvisor_mmu_op (at most PVISOR_MMU_BATCH_MAX, 8-byte aligned,
 * in guest memory).  The ops are applied in order; the result is the
 * number applied.  A result below the count means that op[result] was
 * refused and nothing after it was applied; a negative result
 * (-PVISOR_EFAULT, -PVISOR_EINVAL) means the array itself was refused.
 */
#define PVISOR_MMU_BATCH_MAX	256

/*
 * Write @val to the page-table entry at guest-physical @addr (8-byte
 * aligned, in guest memory), as a locked store would, and update pvisor's
 * shadow of it at once.  A present @val must have no bits set at or above
 * MAXPHYADDR (and no NX bit unless EFER.NX), and must point at guest
 * memory.  Like a store, it flushes nothing: add PVISOR_MMU_INVLPG or
 * PVISOR_MMU_FLUSH when a translation is removed or its rights reduced.
 */
#define PVISOR_MMU_SET_PTE	1
/* INVLPG of the guest-virtual address @addr on this vCPU; @val is 0. */
#define PVISOR_MMU_INVLPG	2
/* Flush this vCPU's non-global translations, as a CR3 reload; 0, 0. */
#define PVISOR_MMU_FLUSH	3

struct pvisor_mmu_op {
	__u32 op;		/* PVISOR_MMU_* */
	__u32 flags;		/* none defined yet: 0 */
	__u64 addr;
	__u64 val;
};

/*
 * Start-info page: the launcher puts it in guest memory and passes its
 * guest-physical address in RDI at the guest's entry point.
 */
#define PVISOR_START_MAGIC	0x49535650	/* "PVSI" */
#define PVISOR_MEMMAP_MAX	16

#define PVISOR_MEM_RAM		1	/* free for the guest to use */
#define PVISOR_MEM_RESERVED	2	/* launcher structures: page tables,
					 * GDT, TSS, this page, command line
					 */

struct pvisor_memmap_entry {
	__u64 base;
	__u64 size;
	__u32 type;		/* PVISOR_MEM_* */
	__u32 padding;
};

struct pvisor_start_info {
	__u32 magic;		/* PVISOR_START_MAGIC */
	__u32 version;		/* PVISOR_PARA_VERSION */
	__u32 vcpu_id;
	__u32 nr_memmap;
	__u64 mem_size;		/* bytes of guest memory */
	__u64 cmdline;		/* guest-physical address, NUL-terminated */
	__u64 cmdline_len;	/* without the NUL */
	__u64 reserved[4];
	struct pvisor_memmap_entry memmap[PVISOR_MEMMAP_MAX];
};

#endif /* _UAPI_LINUX_PVISOR_PARA_H */

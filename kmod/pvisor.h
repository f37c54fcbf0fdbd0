/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvisor's objects: a VM (memory slots, vCPUs) and a vCPU (registers, VMX
 * state, shadow MMU).  Each is owned by its file descriptor; a vCPU holds a
 * reference on its VM, so the VM is freed when its fd and all vCPU fds are
 * closed.
 */
#ifndef PVISOR_H
#define PVISOR_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <linux/pvisor.h>

#define PVISOR_NR_MEMSLOTS	8
#define PVISOR_MAX_VCPUS	64
/* Guest-physical addresses pvisor accepts: 2^46 (64 TiB). */
#define PVISOR_GPA_BITS		46

struct pvisor_memslot {
	u64 gpa;
	u64 npages;		/* 0: slot unused */
	u64 uaddr;
	struct page **pages;	/* pinned for the slot's lifetime */
};

struct pvisor_vm {
	struct kref ref;
	/*
	 * Memory slots change only with slots_lock held for writing, which
	 * SET_MEMORY_REGION takes only while no vCPU runs (-EBUSY
	 * otherwise); RUN holds it for reading.
	 */
	struct rw_semaphore slots_lock;
	struct pvisor_memslot slots[PVISOR_NR_MEMSLOTS];
	struct mutex lock;	/* vCPU creation */
	struct pvisor_vcpu *vcpus[PVISOR_MAX_VCPUS];
	struct mm_struct *mm;	/* owner of the slots' pages */
	/* Set once by pvisor_vm_kill(); every ioctl then returns -EIO. */
	bool dead;
};

/* Guest general-purpose registers, in the x86 encoding order. */
enum pvisor_reg {
	PVISOR_RAX, PVISOR_RCX, PVISOR_RDX, PVISOR_RBX,
	PVISOR_RSP, PVISOR_RBP, PVISOR_RSI, PVISOR_RDI,
	PVISOR_R8, PVISOR_R9, PVISOR_R10, PVISOR_R11,
	PVISOR_R12, PVISOR_R13, PVISOR_R14, PVISOR_R15,
	PVISOR_NR_REGS
};

#define PVISOR_SHADOW_CACHE	8

/* A vCPU's shadow page tables: a cache of its guest's translations. */
struct pvisor_mmu {
	u64 *root;		/* shadow PML4, loaded as the real CR3 */
	struct page *cache[PVISOR_SHADOW_CACHE];
	int nr_cache;
	unsigned long nr_pages;	/* shadow table pages, root included */
	bool need_flush;	/* the TLB may hold zapped translations */
};

/* An exception to deliver to the guest at the next VM entry. */
struct pvisor_event {
	bool pending;
	bool has_error;
	u8 vector;
	u8 type;		/* INTR_TYPE_* >> 8 */
	u32 error;
	u32 insn_len;		/* for software interrupts and exceptions */
};

struct pvisor_vcpu {
	struct pvisor_vm *vm;
	u32 id;
	struct mutex mutex;	/* one ioctl at a time */
	struct pvisor_run *run;	/* shared with userspace by mmap */

	/* Guest state that the VMCS does not hold, or holds differently. */
	unsigned long regs[PVISOR_NR_REGS];	/* RSP lives in the VMCS */
	unsigned long cr0;	/* as the guest sees it */
	unsigned long cr2;
	unsigned long cr3;	/* the guest's page-table root */
	unsigned long cr4;
	u64 efer;
	u64 xcr0;
	u64 pat;
	u8 tpr;			/* CR8 */
	struct fpu_guest fpu;
	struct pvisor_event event;
	bool triple_fault;	/* an exception while delivering #DF */
	bool shutdown;		/* the guest called PVISOR_HC_SHUTDOWN */
	u64 shutdown_status;

	/* VMX. */
	struct page *vmcs;
	struct page *msr_bitmap;
	struct page *msr_areas;	/* guest load/store list, host load list */
	int cpu;		/* where the VMCS is active, or -1 */
	struct list_head loaded_link;	/* on that CPU's list */
	bool launched;
	u16 vpid;
	unsigned long host_cr3, host_cr4;
	/* Saved at the start of RUN, restored for userspace at its end. */
	unsigned long host_fs_base;
	bool host_fs_base_written;
	u16 host_ds, host_es, host_fs, host_gs;

	/* VM exit being handled. */
	u32 exit_reason;
	unsigned long exit_qual;

	struct pvisor_mmu mmu;
};

/* Results of exit handlers and of parts of the run loop. */
enum pvisor_resume {
	PVISOR_TO_USER = 0,	/* return to userspace, run->exit_reason set */
	PVISOR_RESUME = 1,	/* enter the guest again */
	PVISOR_HALT = 2,	/* sleep until an event, then resume */
	PVISOR_TOPUP = 3,	/* refill the shadow page cache, then resume */
};

/* vm.c */
void pvisor_vm_get(struct pvisor_vm *vm);
void pvisor_vm_put(struct pvisor_vm *vm);
int pvisor_vm_create_fd(void);
void *pvisor_vm_gpa_to_hva(struct pvisor_vm *vm, u64 gpa, struct page **page);
u64 pvisor_vm_mem_size(struct pvisor_vm *vm);
int pvisor_vm_kill(struct pvisor_vcpu *vcpu, u32 reason, u64 data);

/* vcpu.c */
int pvisor_vcpu_create_fd(struct pvisor_vm *vm, unsigned long id);
void pvisor_vcpu_destroy(struct pvisor_vcpu *vcpu);

/* hypercall.c */
int pvisor_hc_dispatch(struct pvisor_vcpu *vcpu);

/* mmu.c */
int pvisor_mmu_init(struct pvisor_vcpu *vcpu);
void pvisor_mmu_destroy(struct pvisor_vcpu *vcpu);
int pvisor_mmu_topup(struct pvisor_vcpu *vcpu);
void pvisor_mmu_zap_all(struct pvisor_vcpu *vcpu);
void pvisor_mmu_invlpg(struct pvisor_vcpu *vcpu, unsigned long gva);
int pvisor_mmu_page_fault(struct pvisor_vcpu *vcpu, unsigned long gva,
			  u32 error);

#endif /* PVISOR_H */

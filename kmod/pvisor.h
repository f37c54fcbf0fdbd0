/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvisor's objects: a VM (memory slots, vCPUs) and a vCPU (registers, VMX
 * state, shadow MMU).  Each is owned by its file descriptor; a vCPU holds a
 * reference on its VM, so the VM is freed when its fd and all vCPU fds are
 * closed.
 */
#ifndef PVISOR_H
#define PVISOR_H

#include <linux/hashtable.h>
#include <linux/hrtimer.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <linux/pvisor.h>

#define PVISOR_NR_MEMSLOTS	8
#define PVISOR_MAX_VCPUS	64
#define PVISOR_MAX_CHANNELS	16
/* Guest-physical addresses pvisor accepts: 2^46 (64 TiB). */
#define PVISOR_GPA_BITS		46

struct pvisor_memslot {
	u64 gpa;
	u64 npages;		/* 0: slot unused */
	u64 uaddr;
	struct page **pages;	/* pinned for the slot's lifetime */
	/* Per page: the shadow leaf entries that map it (mmu.c). */
	unsigned long *rmap;
};

#define PVISOR_MMU_HASH_BITS	10
/* PCIDs for shadow roots: 1..4095; 0 means untagged (flush at switch). */
#define PVISOR_NR_PCIDS		4096

/*
 * The shadow MMU of a VM (mmu.c): shadow page tables shared by its vCPUs,
 * found by the guest table they shadow, and kept across CR3 switches
 * within a budget.  Everything here is under @lock.
 */
struct pvisor_vm_mmu {
	spinlock_t lock;		/* the shadow; see mmu.c */
	DECLARE_HASHTABLE(hash, PVISOR_MMU_HASH_BITS);
	struct list_head active;	/* shadow pages, most recent first */
	struct list_head unsync;	/* shadows of tables left writable */
	struct list_head zapped;	/* freed after the next TLB flush */
	struct list_head vcpus;		/* every vCPU, for TLB flushes */
	DECLARE_BITMAP(pcids, PVISOR_NR_PCIDS);	/* in use by roots */
	unsigned long nr_sps;		/* shadow pages in use */
	unsigned long max_sps;		/* the budget of nr_sps */
	bool flush_all;			/* every vCPU must flush its TLB */
	bool protect_flush;		/* ... before protections hold */
	/* Statistics, for the benchmarks and tests. */
	unsigned long nr_unsync, nr_syncs, nr_reclaimed;
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
	/*
	 * vCPU creation and removal.  vcpus[] is also read under RCU (an
	 * IPI's target): a vCPU leaves it a grace period before it is freed.
	 */
	struct mutex lock;
	struct pvisor_vm_mmu mmu;
	struct pvisor_vcpu *vcpus[PVISOR_MAX_VCPUS];
	/* Channels (channel.c): like vcpus[], under vm->lock and RCU. */
	struct pvisor_channel *channels[PVISOR_MAX_CHANNELS];
	/* The VM fd and vCPU fds: when none is left, nothing can run. */
	atomic_t users;
	struct mm_struct *mm;	/* owner of the slots' pages */
	/* Why the VM was killed: set once, before @dead. */
	u32 kill_reason;
	u64 kill_data;
	/* Set once by pvisor_vm_kill*(); every ioctl then returns -EIO. */
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

/* Objects a fault may need, allocated beforehand where sleeping is fine. */
#define PVISOR_MMU_CACHE	16

struct pvisor_mmu_cache {
	int nr;
	void *objs[PVISOR_MMU_CACHE];
};

struct pvisor_sp;

/* A vCPU's view of the shadow MMU. */
struct pvisor_mmu {
	struct pvisor_sp *root;	/* loaded as the real CR3; NULL: load one */
	struct list_head link;	/* on vm->mmu.vcpus */
	struct pvisor_mmu_cache pages, sps, descs;
	bool need_flush;	/* flush this vCPU's TLB before entry */
	bool flush_request;	/* set by other CPUs under vm->mmu.lock */
	bool in_guest;		/* between the last check and the VM exit */
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

	/* Virtual interrupts (events.c). */
	DECLARE_BITMAP(irq_pending, 256);
	struct hrtimer timer;
	u8 timer_vector;
	bool halt_if;		/* RFLAGS.IF at the HLT being waited out */
	bool intr_window;	/* interrupt-window exiting is on */
	wait_queue_head_t wq;	/* HLT sleeps here */

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

	/* Statistics (PVISOR_GET_VM_STATS); written by this vCPU only. */
	u64 stat_exits, stat_halts, stat_irqs;

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
void pvisor_vm_kill_async(struct pvisor_vm *vm, u32 reason, u64 data);
int pvisor_write_guest(struct pvisor_vm *vm, u64 gpa, const void *src,
		       size_t len);
void pvisor_vm_put_user(struct pvisor_vm *vm);

/* vcpu.c */
int pvisor_vcpu_create_fd(struct pvisor_vm *vm, unsigned long id);
void pvisor_vcpu_destroy(struct pvisor_vcpu *vcpu);

/* events.c */
void pvisor_events_init(struct pvisor_vcpu *vcpu);
void pvisor_events_destroy(struct pvisor_vcpu *vcpu);
void pvisor_raise_irq(struct pvisor_vcpu *vcpu, unsigned int vector);
bool pvisor_raise_irq_id(struct pvisor_vm *vm, u64 id, unsigned int vector);
void pvisor_kick_all(struct pvisor_vm *vm);
long pvisor_hc_set_timer(struct pvisor_vcpu *vcpu, u64 ns, u64 vector);
long pvisor_hc_send_ipi(struct pvisor_vcpu *vcpu, u64 id, u64 vector);
void pvisor_halt(struct pvisor_vcpu *vcpu);

/* Is any interrupt pending?  Checked before every entry: kept inline. */
static inline bool pvisor_irq_pending(struct pvisor_vcpu *vcpu)
{
	const unsigned long *p = vcpu->irq_pending;

	BUILD_BUG_ON(BITS_TO_LONGS(256) != 4);
	return READ_ONCE(p[0]) | READ_ONCE(p[1]) | READ_ONCE(p[2]) |
	       READ_ONCE(p[3]);
}

/* channel.c */
int pvisor_channel_create(struct pvisor_vm *vm, void __user *argp);
void pvisor_channels_wake_all(struct pvisor_vm *vm);
void pvisor_channel_fill_stats(struct pvisor_channel *ch,
			       struct pvisor_channel_stats *st);
long pvisor_hc_chan_info(struct pvisor_vcpu *vcpu, u64 chan, u64 gpa);
long pvisor_hc_chan_setup(struct pvisor_vcpu *vcpu, u64 chan, u64 queue,
			  u64 gpa, u64 size, u64 vector);
long pvisor_hc_chan_notify(struct pvisor_vcpu *vcpu, u64 chan, u64 queue);

/* hypercall.c */
int pvisor_hc_dispatch(struct pvisor_vcpu *vcpu);

/* mmu.c */
void pvisor_vm_mmu_init(struct pvisor_vm *vm);
void pvisor_vm_mmu_zap_all(struct pvisor_vm *vm);
int pvisor_mmu_init(struct pvisor_vcpu *vcpu);
void pvisor_mmu_destroy(struct pvisor_vcpu *vcpu);
int pvisor_mmu_topup(struct pvisor_vcpu *vcpu);
void pvisor_mmu_drop_root(struct pvisor_vcpu *vcpu);
int pvisor_mmu_load_root(struct pvisor_vcpu *vcpu);
int pvisor_mmu_new_cr3(struct pvisor_vcpu *vcpu);
void pvisor_mmu_invlpg(struct pvisor_vcpu *vcpu, unsigned long gva);
int pvisor_mmu_page_fault(struct pvisor_vcpu *vcpu, unsigned long gva,
			  u32 error);
long pvisor_mmu_batch(struct pvisor_vcpu *vcpu, u64 gpa, u64 count);
void pvisor_mmu_before_entry(struct pvisor_vcpu *vcpu);

#endif /* PVISOR_H */

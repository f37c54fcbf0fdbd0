/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pvisor host ABI: ioctls on /dev/pvisor and on the fds it hands out.
 *
 * Rules (Documentation/api.rst): fixed-size types only, pointers as __u64,
 * explicit padding, every input structure has flags and reserved space that
 * must be zero.  A changed structure gets a new ioctl and a new capability.
 */
#ifndef _UAPI_LINUX_PVISOR_H
#define _UAPI_LINUX_PVISOR_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Bumped only for an incompatible change; new features are capabilities. */
#define PVISOR_API_VERSION	1

/* Not listed in Documentation/userspace-api/ioctl/ioctl-number.rst (6.1). */
#define PVISORIO		'Y'

/*
 * Number ranges per fd kind:
 *   0x00-0x3f  system fd (/dev/pvisor)
 *   0x40-0x7f  VM fd
 *   0x80-0xbf  vCPU fd
 *   0xc0-0xff  channel fd
 */

/* System ioctls. */
#define PVISOR_GET_API_VERSION	_IO(PVISORIO, 0x00)
#define PVISOR_CHECK_EXTENSION	_IO(PVISORIO, 0x01)
#define PVISOR_GET_VMX_INFO	_IOR(PVISORIO, 0x02, struct pvisor_vmx_info)
#define PVISOR_CREATE_VM	_IO(PVISORIO, 0x03)
#define PVISOR_GET_VCPU_MMAP_SIZE _IO(PVISORIO, 0x04)

/* VM ioctls. */
#define PVISOR_SET_MEMORY_REGION _IOW(PVISORIO, 0x40, struct pvisor_memory_region)
#define PVISOR_CREATE_VCPU	_IO(PVISORIO, 0x41)
#define PVISOR_CREATE_CHANNEL	_IOWR(PVISORIO, 0x42, struct pvisor_channel_config)
#define PVISOR_GET_VM_STATS	_IOR(PVISORIO, 0x43, struct pvisor_vm_stats)

/* vCPU ioctls. */
#define PVISOR_RUN		_IO(PVISORIO, 0x80)
#define PVISOR_GET_REGS		_IOR(PVISORIO, 0x81, struct pvisor_regs)
#define PVISOR_SET_REGS		_IOW(PVISORIO, 0x82, struct pvisor_regs)
#define PVISOR_GET_SREGS	_IOR(PVISORIO, 0x83, struct pvisor_sregs)
#define PVISOR_SET_SREGS	_IOW(PVISORIO, 0x84, struct pvisor_sregs)

/* ioctls on a channel fd, 0xc0-0xff */
#define PVISOR_CHANNEL_SERVE	_IO(PVISORIO, 0xc0)
#define PVISOR_CHANNEL_GET_STATS _IOR(PVISORIO, 0xc1, struct pvisor_channel_stats)
#define PVISOR_CHANNEL_SET_LIMITS _IOW(PVISORIO, 0xc2, struct pvisor_channel_limits)
#define PVISOR_CHANNEL_GET_LIMITS _IOR(PVISORIO, 0xc3, struct pvisor_channel_limits)

/* Capabilities for PVISOR_CHECK_EXTENSION; 0 is never a capability. */
#define PVISOR_CAP_VMX_INFO	1
#define PVISOR_CAP_VM		2	/* VMs, vCPUs, memory, RUN, shadow paging */
#define PVISOR_CAP_NR_MEMSLOTS	3	/* returns the number of memory slots */
#define PVISOR_CAP_MAX_VCPUS	4	/* returns the vCPUs a VM may have */
#define PVISOR_CAP_CHANNELS	5	/* returns the channels a VM may have */
#define PVISOR_CAP_LIMITS	6	/* channel token buckets, VM statistics */

/* pvisor_vmx_info.features */
#define PVISOR_VMX_FEAT_TRUE_CTLS	0x01
#define PVISOR_VMX_FEAT_EPT		0x02
#define PVISOR_VMX_FEAT_VPID		0x04
#define PVISOR_VMX_FEAT_UNRESTRICTED	0x08
#define PVISOR_VMX_FEAT_SHADOW_VMCS	0x10
#define PVISOR_VMX_FEAT_PML		0x20

/*
 * What the module probed from CPUID and the IA32_VMX_* MSRs at load, and how
 * many CPUs are in VMX root operation now.  Output only.
 */
struct pvisor_vmx_info {
	__u32 features;		/* PVISOR_VMX_FEAT_* */
	__u32 vmcs_revision;	/* IA32_VMX_BASIC[30:0] */
	__u32 vmcs_size;	/* IA32_VMX_BASIC[44:32] */
	__u32 nr_cpus_vmx;	/* CPUs in VMX root operation */
	__u64 basic;		/* raw IA32_VMX_BASIC */
	__u64 pinbased_ctls;	/* raw capability MSRs, TRUE_* where present */
	__u64 procbased_ctls;
	__u64 procbased_ctls2;
	__u64 exit_ctls;
	__u64 entry_ctls;
	__u64 ept_vpid_cap;
	__u64 misc;
	__u64 reserved[8];	/* zero */
};

/* PVISOR_SET_MEMORY_REGION: launcher memory seen by the guest. */
struct pvisor_memory_region {
	__u32 slot;
	__u32 flags;		/* none defined yet: 0 */
	__u64 guest_phys_addr;	/* page aligned */
	__u64 memory_size;	/* page aligned; 0 removes the slot */
	__u64 userspace_addr;	/* page aligned */
	__u64 reserved[4];	/* zero */
};

/* PVISOR_GET_REGS, PVISOR_SET_REGS: general-purpose registers. */
struct pvisor_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
	__u32 flags;		/* none defined yet: 0 */
	__u32 padding;		/* zero */
	__u64 reserved[4];	/* zero */
};

struct pvisor_segment {
	__u64 base;
	__u32 limit;
	__u16 selector;
	__u8 type;		/* the descriptor's 4-bit type */
	__u8 present, dpl, db, s, l, g, avl;
	__u8 unusable;		/* a null selector in a data segment */
	__u8 padding[9];	/* zero */
};

struct pvisor_dtable {
	__u64 base;
	__u16 limit;
	__u16 padding[3];	/* zero */
};

/* PVISOR_GET_SREGS, PVISOR_SET_SREGS: system registers. */
struct pvisor_sregs {
	struct pvisor_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct pvisor_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, efer;
	__u32 flags;		/* none defined yet: 0 */
	__u32 padding;		/* zero */
	__u64 reserved[4];	/* zero */
};

/*
 * PVISOR_CREATE_CHANNEL: attach a device to the VM, backed by files the
 * caller opened.  Returns a channel fd; @id (out) is the channel's number
 * for the guest (PVISOR_HC_CHAN_INFO).  The module holds its own
 * references to the files.
 *  - PVISOR_CHAN_CONSOLE: output to @fd, input from @in_fd (-1: none).
 *  - PVISOR_CHAN_BLOCK: a disk of @fd's size rounded down to 512 bytes;
 *    PVISOR_CHANNEL_F_READONLY refuses writes (else @fd must be writable).
 *    An @fd that is O_DIRECT at creation gets direct I/O on the guest's
 *    pages, which must then be 512-byte aligned (PVISOR_CHAN_INFO_ALIGNED).
 *  - PVISOR_CHAN_NET: frames to and from @fd, a tap device opened with
 *    IFF_TAP | IFF_NO_PI; @mac is the guest's address.
 */
#define PVISOR_CHANNEL_F_READONLY	0x1

struct pvisor_channel_config {
	__u32 type;		/* PVISOR_CHAN_* (linux/pvisor_para.h) */
	__u32 flags;		/* PVISOR_CHANNEL_F_* */
	__s32 fd;
	__s32 in_fd;		/* console input, or -1; otherwise -1 */
	__u32 id;		/* out: the channel's number */
	__u8 mac[6];		/* net: the guest's MAC address */
	__u8 padding[2];	/* zero */
	__u64 reserved[5];	/* zero */
};

/*
 * PVISOR_CHANNEL_GET_STATS: counters since the channel was created.
 * Queue 0 and 1 are the channel's queues (linux/pvisor_para.h).
 */
struct pvisor_channel_stats {
	__u64 requests[2];	/* requests completed, per queue */
	__u64 bytes[2];		/* bytes moved, per queue */
	__u64 errors[2];	/* requests answered with an error */
	__u64 doorbells;	/* PVISOR_HC_CHAN_NOTIFY calls */
	__u64 interrupts;	/* completion interrupts raised */
	__u64 dropped;		/* net: frames that did not fit a buffer */
	__u64 throttled_ns[2];	/* time a queue waited for its buckets */
	__u32 type;		/* PVISOR_CHAN_* */
	__u32 id;		/* the channel's number */
	__u64 reserved[4];
};

/*
 * A token bucket (Documentation/api.rst, "PVISOR_CHANNEL_SET_LIMITS"):
 * @size tokens (bytes or requests) that refill from empty in @refill_ns,
 * so the rate is size / refill_ns; @one_time_burst tokens more, spent
 * first and never refilled.  @size 0 means no limit.  A bucket starts
 * full (plus its burst) whenever its limits are set.
 */
struct pvisor_bucket {
	__u64 size;
	__u64 one_time_burst;
	__u64 refill_ns;
};

/*
 * PVISOR_CHANNEL_SET_LIMITS: index 0 is queue 0 (a disk's requests, a
 * net channel's transmit), index 1 is queue 1 (a net channel's receive).
 * A console takes no limits.
 */
struct pvisor_channel_limits {
	__u32 flags;		/* none defined yet: 0 */
	__u32 padding;		/* zero */
	struct pvisor_bucket bytes[2];
	struct pvisor_bucket ops[2];
	__u64 reserved[4];	/* zero */
};

/* PVISOR_GET_VM_STATS: the VM's counters and each channel's. */
#define PVISOR_STATS_CHANNELS	16

struct pvisor_vm_stats {
	__u32 nr_vcpus;
	__u32 nr_channels;	/* valid entries of channels[] */
	__u64 mem_bytes;	/* guest memory in all slots */
	__u64 exits;		/* VM exits of all vCPUs */
	__u64 halts;		/* HLTs that slept */
	__u64 irqs;		/* interrupts injected */
	__u64 reserved[11];
	struct pvisor_channel_stats channels[PVISOR_STATS_CHANNELS];
};

/* struct pvisor_run.exit_reason */
#define PVISOR_EXIT_NONE	0
#define PVISOR_EXIT_CONSOLE	1	/* console: print data[0..len) */
#define PVISOR_EXIT_SHUTDOWN	2	/* shutdown: the guest is done */
#define PVISOR_EXIT_KILLED	3	/* killed: the VM is dead */
#define PVISOR_EXIT_INTR	4	/* RUN returned -EINTR for a signal */

/* struct pvisor_run.killed.reason */
#define PVISOR_KILL_UNEXPECTED_EXIT	1  /* a VM exit pvisor does not handle */
#define PVISOR_KILL_TRIPLE_FAULT	2  /* the guest triple-faulted */
#define PVISOR_KILL_ENTRY_FAILED	3  /* VM entry failed */
#define PVISOR_KILL_BAD_PAGE_TABLE	4  /* a page table outside guest memory */
#define PVISOR_KILL_BAD_STATE		5  /* the guest set a state pvisor refuses */
#define PVISOR_KILL_NO_MEMORY		6  /* the host ran out of memory */
#define PVISOR_KILL_BAD_GPA		7  /* a mapping of a nonexistent guest-physical address */
#define PVISOR_KILL_BAD_RING		8  /* a malformed channel ring or descriptor */

#define PVISOR_CONSOLE_MAX	2048

/*
 * Shared with userspace by mmap of the vCPU fd (PVISOR_GET_VCPU_MMAP_SIZE
 * bytes at offset 0).  Valid after PVISOR_RUN returns.
 */
struct pvisor_run {
	__u32 exit_reason;	/* PVISOR_EXIT_* */
	__u8 immediate_exit;	/* in: nonzero makes RUN return -EINTR */
	__u8 padding[3];
	union {
		/* PVISOR_EXIT_CONSOLE */
		struct {
			__u32 len;
			__u32 padding;
			__u8 data[PVISOR_CONSOLE_MAX];
		} console;
		/* PVISOR_EXIT_SHUTDOWN */
		struct {
			__u64 status;
		} shutdown;
		/* PVISOR_EXIT_KILLED */
		struct {
			__u32 reason;		/* PVISOR_KILL_* */
			__u32 vmx_exit_reason;	/* basic exit reason, if any */
			__u64 qualification;	/* exit qualification */
			__u64 rip;		/* guest RIP at the exit */
			__u64 data;		/* reason-specific detail */
		} killed;
		__u8 raw[4088];
	};
};

#endif /* _UAPI_LINUX_PVISOR_H */

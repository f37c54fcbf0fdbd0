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
#define PVISOR_HC_CHAN_INFO	7	/* (chan, gpa): describe channel; 0 */
#define PVISOR_HC_CHAN_SETUP	8	/* (chan, queue, ring gpa, size, vector) */
#define PVISOR_HC_CHAN_NOTIFY	9	/* (chan, queue): doorbell; 0 */

/* PVISOR_HC_GET_INFO selectors. */
#define PVISOR_INFO_MEM_SIZE	0	/* bytes of guest memory in all slots */
#define PVISOR_INFO_VCPU_ID	1	/* this vCPU's id */
#define PVISOR_INFO_VERSION	2	/* PVISOR_PARA_VERSION */
#define PVISOR_INFO_CLOCK_NS	3	/* the host's monotonic clock, in ns */

/* Hypercall errors, returned negated in RAX. */
#define PVISOR_EPERM		1	/* called from guest CPL > 0 */
#define PVISOR_ENOENT		2	/* no such channel or queue */
#define PVISOR_EIO		5	/* the backend's I/O failed */
#define PVISOR_EBUSY		16	/* the queue is already set up */
#define PVISOR_EFAULT		14	/* an address outside guest memory */
#define PVISOR_EINVAL		22	/* a bad argument */
#define PVISOR_ERANGE		34	/* beyond the end of the disk */
#define PVISOR_ENOSYS		38	/* unknown hypercall number */
#define PVISOR_EOPNOTSUPP	95	/* the backend cannot do this op */
#define PVISOR_EROFS		30	/* a write to a read-only disk */

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
	__u32 nr_vcpus;		/* vCPUs 0..nr_vcpus-1 exist */
	__u32 padding;
	__u64 reserved[3];
	struct pvisor_memmap_entry memmap[PVISOR_MEMMAP_MAX];
};

/*
 * Channels (Documentation/hypercalls.rst, "Channels"): devices that the
 * launcher attaches to the VM (PVISOR_CREATE_CHANNEL), numbered 0, 1, ...
 * in the order it attached them.  Each has one or more queues; each queue
 * is one ring in guest memory that the guest sets up with
 * PVISOR_HC_CHAN_SETUP.
 *
 * PVISOR_HC_CHAN_INFO(chan, gpa): write a struct pvisor_chan_info at gpa
 * (8-byte aligned, in guest memory); -PVISOR_ENOENT past the last channel.
 */
#define PVISOR_CHAN_CONSOLE	1	/* queue 0: output, queue 1: input */
#define PVISOR_CHAN_BLOCK	2	/* queue 0: requests */
#define PVISOR_CHAN_NET		3	/* queue 0: transmit, queue 1: receive */

#define PVISOR_CHAN_INFO_READONLY	0x1	/* block: writes fail */
#define PVISOR_CHAN_INFO_ALIGNED	0x2	/* block: buffers 512-aligned */

struct pvisor_chan_info {
	__u32 type;		/* PVISOR_CHAN_* */
	__u32 flags;		/* PVISOR_CHAN_INFO_* */
	__u32 nr_queues;
	__u32 max_ring;		/* most entries a ring may have */
	__u64 capacity;		/* block: bytes, a multiple of 512 */
	__u8 mac[6];		/* net: the guest's MAC address */
	__u16 mtu;		/* net: bytes of payload above Ethernet */
	__u32 max_buf;		/* most bytes one descriptor may cover */
	__u32 padding;
	__u64 reserved[4];
};

/*
 * A ring: a page-aligned struct pvisor_ring with @size entries (a power of
 * two, 1..PVISOR_RING_MAX), within one page of guest memory.
 *
 * The guest writes requests into ring[req_prod % size] and then advances
 * req_prod; pvisor reads each request once, in order, and later writes
 * its response into ring[rsp_prod % size] (a slot whose request it has
 * already read) and advances rsp_prod.  Responses come in completion
 * order (for input buffers: filled in the order they were posted): @id
 * says which request each answers.  Indexes are free-running 32-bit
 * counters.  The guest writes a slot only after it consumed the response
 * in it, so it has at most @size requests without a consumed response;
 * req_prod - rsp_prod > size, or req_prod moved back behind a request
 * pvisor has read, is a malformed ring and kills the VM.
 *
 * Notification suppression, in both directions:
 *  - the guest rings the doorbell (PVISOR_HC_CHAN_NOTIFY) after moving
 *    req_prod from old to new only if new - req_event < new - old
 *    (unsigned); pvisor sets req_event to 1 at setup, and to its next
 *    request index + 1 before it waits, so a busy queue needs no doorbell;
 *  - pvisor raises the queue's vector after moving rsp_prod from old to
 *    new only if new - rsp_event < new - old; the guest sets rsp_event to
 *    one past the last response it has consumed before it waits.
 */
#define PVISOR_RING_MAX		64
/* Most bytes one descriptor covers. */
#define PVISOR_CHAN_BUF_MAX	65536

struct pvisor_desc {
	__u64 id;		/* the guest's cookie, copied to the response */
	__u64 addr;		/* guest-physical address of the buffer */
	__u64 offset;		/* block: byte offset on the disk */
	__u32 len;		/* request: buffer bytes; response: bytes done */
	__u16 op;		/* PVISOR_OP_*; the response keeps it */
	__s16 status;		/* response: 0 or -PVISOR_E* */
};

struct pvisor_ring {
	__u32 req_prod;		/* guest: requests written */
	__u32 req_event;	/* pvisor: doorbell when req_prod passes it */
	__u32 rsp_prod;		/* pvisor: responses written */
	__u32 rsp_event;	/* guest: interrupt when rsp_prod passes it */
	__u32 padding[12];
	struct pvisor_desc ring[];
};

/*
 * Ops.  A buffer is guest-physical memory [addr, addr + len), len at most
 * max_buf: a buffer outside guest memory or longer than that kills the VM.
 *
 *  - PVISOR_OP_READ: block: read len bytes at offset; console input and
 *    net receive: a buffer for pvisor to fill, the response's len says how
 *    much it did (a net buffer gets one whole frame, and must hold
 *    mtu + 14 bytes).  Console input at end of file answers len 0.
 *  - PVISOR_OP_WRITE: block: write len bytes at offset; console output: the
 *    bytes to print; net transmit: one Ethernet frame (14 to mtu + 14
 *    bytes).
 *  - PVISOR_OP_FLUSH: block: everything written before it is completed
 *    reaches stable storage (the file's fsync); addr, len, offset 0.
 *  - PVISOR_OP_DISCARD: block: the range may read back as zeroes from now
 *    on; -PVISOR_EOPNOTSUPP where the file cannot punch holes.
 *
 * Block offsets and lengths are multiples of 512 (-PVISOR_EINVAL
 * otherwise), and so are buffer addresses on a disk the host opened for
 * direct I/O (PVISOR_CHAN_INFO_ALIGNED); a range past the capacity gets
 * -PVISOR_ERANGE; a write or discard on a read-only disk -PVISOR_EROFS; a
 * failed file operation -PVISOR_EIO; an op the queue does not take
 * -PVISOR_EINVAL.
 */
#define PVISOR_OP_READ		1
#define PVISOR_OP_WRITE		2
#define PVISOR_OP_FLUSH		3
#define PVISOR_OP_DISCARD	4

/*
 * PVISOR_HC_CHAN_SETUP(chan, queue, gpa, size, vector): attach the ring at
 * guest-physical gpa (page aligned) with size entries, and raise vector
 * (PVISOR_IRQ_VECTOR_MIN..255) on the calling vCPU when rsp_prod passes
 * rsp_event.  The guest zeroes the ring first.  A queue is set up once;
 * -PVISOR_EBUSY after that.
 *
 * PVISOR_HC_CHAN_NOTIFY(chan, queue): the doorbell; pvisor reads the ring
 * after the guest's exit, off the vCPU's path.
 */

#endif /* _UAPI_LINUX_PVISOR_PARA_H */

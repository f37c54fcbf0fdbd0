/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest kit's common ground: sizes, error codes, the image's bounds
 * from guest.ld, and the contract with entry.S (main, guest_exit).
 *
 * Kit code runs at CPL 0 with interrupts off (irq.h enables them only
 * inside cpu_idle() unless the guest asks), and relies on the image being
 * mapped at its physical address: a pointer to kit data is also its
 * guest-physical address.  The console and the channel drivers belong to
 * vCPU 0; other vCPUs run what smp_start() gives them (smp.h).
 * __printf() comes from the Makefile, as compiler_attributes.h provides it
 * to the kernel, and so do __section() and __aligned().
 */
#ifndef GUEST_KIT_H
#define GUEST_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include <linux/pvisor_para.h>

#define PAGE_SIZE		0x1000ULL
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* Kit functions return 0 or one of these, negated, as the kernel does. */
#define ENOENT			2
#define ENOMEM			12
#define EFAULT			14
#define EEXIST			17
#define EAGAIN			11
#define EBUSY			16
#define EINVAL			22
#define ENOSPC			28
#define ETIMEDOUT		110

/* guest.ld: the loaded image, page aligned at both ends. */
extern char __image_start[], __image_end[];

/* entry.S: the IDT, and the stubs its gates lead to. */
#define NR_VECTORS		256
#define IRQ_STUB_SIZE		16	/* irq_stubs + (vector - 32) * 16 */

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint16_t flags;		/* IST 0, type, DPL, present */
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};

extern struct idt_gate idt[NR_VECTORS];
extern const uint64_t exception_stubs[PVISOR_IRQ_VECTOR_MIN];
extern const char irq_stubs[];

/*
 * Called by entry.S on vCPU 0 after the BSS is zeroed and the IDT loaded:
 * interrupt handlers, the page allocator, SMP bookkeeping, the console.
 */
void kit_init(const struct pvisor_start_info *si);

/* The guest's own code starts here; its result is the shutdown status. */
int main(const struct pvisor_start_info *si);

/* Flush the console and shut the guest down with @status. */
noreturn void guest_exit(int status);

#endif /* GUEST_KIT_H */

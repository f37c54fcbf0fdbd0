/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest kit's common ground: sizes, error codes, the image's bounds
 * from guest.ld, and the contract with entry.S (main, guest_exit).
 *
 * Kit code runs at CPL 0 on one vCPU with interrupts off, and relies on
 * the image being mapped at its physical address: a pointer to kit data is
 * also its guest-physical address.  __printf() comes from the Makefile,
 * as compiler_attributes.h provides it to the kernel.
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
#define EINVAL			22

/* guest.ld: the loaded image, page aligned at both ends. */
extern char __image_start[], __image_end[];

/* The guest's own code starts here; its result is the shutdown status. */
int main(const struct pvisor_start_info *si);

/* Flush the console and shut the guest down with @status. */
noreturn void guest_exit(int status);

#endif /* GUEST_KIT_H */

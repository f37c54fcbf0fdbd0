/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Building a guest from userspace: one VM with one slot of guest memory at
 * guest-physical 0, one or more vCPUs, an ELF image, and the initial 64-bit
 * state (identity page tables, GDT, TSS, a stack per vCPU, start-info
 * page).  Shared by the launcher and the selftests.
 *
 * Guest memory, the ELF loader and the boot layout need no /dev/pvisor:
 * pvisor_vm_alloc_mem(), pvisor_vm_load_elf() and pvisor_vm_layout_boot()
 * build the same guest for another VMM (selftests/bench runs it under KVM
 * too), which then sets the registers they computed.
 *
 * Every function returns 0 or -1; on -1, vm->err holds a message that names
 * the failing step (and the ioctl and errno where one failed), and errno is
 * left as the failing system call set it.
 */
#ifndef PVISOR_BOOT_H
#define PVISOR_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/pvisor.h>
#include <linux/pvisor_para.h>

/*
 * Guest memory: a multiple of 2 MiB (the identity map's page size), at most
 * what one page-directory-pointer table maps.
 */
#define PVISOR_BOOT_MEM_ALIGN	(2ULL << 20)
#define PVISOR_BOOT_MEM_MIN	PVISOR_BOOT_MEM_ALIGN
#define PVISOR_BOOT_MEM_MAX	(512ULL << 30)

/* The command line gets one page, NUL included. */
#define PVISOR_BOOT_CMDLINE_MAX	4096

/* Each vCPU starts on a stack of its own of this size. */
#define PVISOR_BOOT_STACK_SIZE	0x10000ULL

struct pvisor_vm {
	int sys_fd;
	int vm_fd;
	int vcpu_fd;		/* vCPU 0 */
	struct pvisor_run *run;	/* mmap of vCPU 0's fd */
	size_t run_size;

	/*
	 * vCPUs the layout is planned for (one stack each), 1 unless
	 * pvisor_vm_create_vcpus() raised it.  Once that created them,
	 * vcpu_fds[i] and runs[i] are vCPU i's fd and run structure, with
	 * [0] the same as vcpu_fd and run; both are NULL before.
	 */
	unsigned int nr_vcpus;
	int *vcpu_fds;
	struct pvisor_run **runs;

	uint8_t *mem;		/* guest-physical 0 in the launcher */
	uint64_t mem_size;

	uint64_t image_end;	/* first byte above the loaded ELF image */
	uint64_t entry;		/* the ELF's entry point */
	uint64_t boot_base;	/* launcher structures: [boot_base, mem_size) */
	uint64_t pml4;		/* guest-physical address of the page tables */
	uint64_t start_info;	/* guest-physical address of the start info */
	uint64_t stack_top;	/* vCPU 0's; vCPU i's is i stacks below */

	char err[256];
};

/*
 * Only the guest memory: validate @mem_size, map it (zeroed) and plan the
 * launcher structures; the fds stay -1.  pvisor_vm_create() starts here.
 */
int pvisor_vm_alloc_mem(struct pvisor_vm *vm, uint64_t mem_size);

/* Open /dev/pvisor, check the API, create the VM, its memory and vCPU 0. */
int pvisor_vm_create(struct pvisor_vm *vm, uint64_t mem_size);

/*
 * Give the VM @nr_vcpus vCPUs in all (vCPU 0 exists: ids 1 to @nr_vcpus - 1
 * are created), at most PVISOR_CAP_MAX_VCPUS, and plan a stack for each.
 * Before pvisor_vm_setup_boot(); the stacks grow the reserved part of
 * guest memory downwards, so an ELF image already loaded must stay below
 * it.  Called once.
 */
int pvisor_vm_create_vcpus(struct pvisor_vm *vm, unsigned int nr_vcpus);

/*
 * Load the PT_LOAD segments of a 64-bit x86 ELF executable at their physical
 * addresses (p_paddr) and remember its entry point.
 */
int pvisor_vm_load_elf(struct pvisor_vm *vm, const char *path);

/*
 * Lay out the launcher structures at the top of guest memory and compute
 * the registers with which vCPU 0 starts at vm->entry in 64-bit mode, RDI
 * pointing at the start-info page, RSI = 0 (the vCPU id), RSP near the top
 * of its stack.  vCPU i differs only in RSI = i and RSP, i stacks lower.
 * @cmdline may be NULL.  No ioctl.
 */
int pvisor_vm_layout_boot(struct pvisor_vm *vm, const char *cmdline,
			  struct pvisor_regs *regs, struct pvisor_sregs *sregs);

/* pvisor_vm_layout_boot(), then set the registers of every vCPU. */
int pvisor_vm_setup_boot(struct pvisor_vm *vm, const char *cmdline);

/* Guest-physical address to launcher pointer, NULL outside guest memory. */
void *pvisor_vm_gpa(struct pvisor_vm *vm, uint64_t gpa, uint64_t len);

/* Close everything; safe on a partly created VM. */
void pvisor_vm_destroy(struct pvisor_vm *vm);

/* A readable name for PVISOR_KILL_* reasons. */
const char *pvisor_kill_reason_name(uint32_t reason);

#endif /* PVISOR_BOOT_H */

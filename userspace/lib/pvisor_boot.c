// SPDX-License-Identifier: GPL-2.0
/*
 * Building a guest from userspace: the VM, its one memory slot and its
 * vCPUs, the ELF loader, and the launcher structures a guest starts with.
 *
 * Guest memory, from guest-physical 0 up:
 *
 *   [0, boot_base)         RAM: the ELF image and whatever the guest wants
 *   [boot_base, mem_size)  RESERVED, in this order: a 64 KiB stack per vCPU
 *                          (the last vCPU's lowest, vCPU 0's highest), the
 *                          page tables (PML4, one PDPT, a PD per GiB, all of
 *                          memory identity-mapped with 2 MiB pages), the GDT,
 *                          the TSS, the start-info page, the command line
 *
 * Every page of the reserved part is computed from mem_size and nr_vcpus
 * alone, so the ELF loader can refuse an image that would overlap it.  The
 * vCPUs share the GDT and the TSS: they run at CPL 0 without task switches
 * or I/O bitmaps, so nothing in the TSS is per-CPU until a guest sets up
 * its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/elf.h>

#include "pvisor_boot.h"

#define PVISOR_DEV	"/dev/pvisor"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define PAGE_SIZE	0x1000ULL
#define SZ_2M		0x200000ULL
#define SZ_1G		0x40000000ULL
#define STACK_SIZE	PVISOR_BOOT_STACK_SIZE

#define PTE_PRESENT	0x001ULL
#define PTE_WRITE	0x002ULL
#define PTE_LARGE	0x080ULL	/* PS: a 2 MiB page in a PD */

/* GDT selectors; the TSS descriptor takes two slots. */
#define GDT_CODE	0x08
#define GDT_DATA	0x10
#define GDT_TSS		0x18
#define GDT_SIZE	0x28
#define TSS_SIZE	104
#define TSS_IOMAP_BASE	102	/* offset of the I/O map base field */

/* Descriptor types (bits 43:40), s = 1 for code and data. */
#define SEG_TYPE_CODE	0xb	/* execute/read, accessed */
#define SEG_TYPE_DATA	0x3	/* read/write, accessed */
#define SEG_TYPE_TSS	0xb	/* busy 64-bit TSS */

#define CR0_PE		0x1ULL
#define CR0_MP		0x2ULL
#define CR0_ET		0x10ULL
#define CR0_NE		0x20ULL
#define CR0_WP		0x10000ULL
#define CR0_PG		0x80000000ULL
#define CR4_PAE		0x20ULL
#define CR4_OSFXSR	0x200ULL
#define CR4_OSXMMEXCPT	0x400ULL
#define EFER_SCE	0x1ULL
#define EFER_LME	0x100ULL
#define EFER_LMA	0x400ULL
#define EFER_NXE	0x800ULL

#define RFLAGS_FIXED	0x2ULL	/* bit 1 always reads as 1 */

/* Pages at the top of guest memory, counted down from mem_size. */
#define TOP_CMDLINE	1
#define TOP_START_INFO	2
#define TOP_TSS		3
#define TOP_GDT		4

#define ELF_MAX_PHDRS	64

static const char truncated[] = "file truncated";

/* Format vm->err and evaluate to -1, with errno kept for the caller. */
#define fail(vm, ...) ({						\
	int __err = errno;						\
	snprintf((vm)->err, sizeof((vm)->err), __VA_ARGS__);		\
	errno = __err;							\
	-1;								\
})

static int fail_ioctl(struct pvisor_vm *vm, const char *name)
{
	return fail(vm, "%s: %s", name, strerror(errno));
}

static int open_dev(struct pvisor_vm *vm)
{
	vm->sys_fd = open(PVISOR_DEV, O_RDWR | O_CLOEXEC);
	if (vm->sys_fd >= 0)
		return 0;
	if (errno == ENOENT)
		return fail(vm,
			    "%s: %s: is pvisor.ko loaded? (insmod pvisor.ko; dmesg says why it refused)",
			    PVISOR_DEV, strerror(errno));
	if (errno == EACCES)
		return fail(vm, "%s: %s: run as root", PVISOR_DEV,
			    strerror(errno));
	return fail(vm, "%s: %s", PVISOR_DEV, strerror(errno));
}

static int check_module(struct pvisor_vm *vm)
{
	int r;

	r = ioctl(vm->sys_fd, PVISOR_GET_API_VERSION, 0);
	if (r < 0)
		return fail_ioctl(vm, "PVISOR_GET_API_VERSION");
	if (r != PVISOR_API_VERSION)
		return fail(vm,
			    "pvisor.ko speaks API version %d, this program version %d: build and load them from the same tree",
			    r, PVISOR_API_VERSION);
	r = ioctl(vm->sys_fd, PVISOR_CHECK_EXTENSION, PVISOR_CAP_VM);
	if (r < 0)
		return fail_ioctl(vm, "PVISOR_CHECK_EXTENSION");
	if (!r)
		return fail(vm, "pvisor.ko lacks PVISOR_CAP_VM: this module cannot run guests");
	return 0;
}

static uint64_t top_page(const struct pvisor_vm *vm, int nr)
{
	return vm->mem_size - nr * PAGE_SIZE;
}

/* The reserved part of guest memory, from mem_size and nr_vcpus alone. */
static void plan_layout(struct pvisor_vm *vm)
{
	uint64_t nr_pds = (vm->mem_size + SZ_1G - 1) / SZ_1G;

	vm->start_info = top_page(vm, TOP_START_INFO);
	vm->pml4 = top_page(vm, TOP_GDT) - (2 + nr_pds) * PAGE_SIZE;
	vm->stack_top = vm->pml4;
	vm->boot_base = vm->stack_top - vm->nr_vcpus * STACK_SIZE;
}

static uint64_t vcpu_stack_top(const struct pvisor_vm *vm, unsigned int id)
{
	return vm->stack_top - id * STACK_SIZE;
}

int pvisor_vm_alloc_mem(struct pvisor_vm *vm, uint64_t mem_size)
{
	memset(vm, 0, sizeof(*vm));
	vm->sys_fd = -1;
	vm->vm_fd = -1;
	vm->vcpu_fd = -1;
	vm->nr_vcpus = 1;

	if (mem_size < PVISOR_BOOT_MEM_MIN || mem_size > PVISOR_BOOT_MEM_MAX ||
	    mem_size % PVISOR_BOOT_MEM_ALIGN)
		return fail(vm,
			    "guest memory of %llu bytes: must be a multiple of 2 MiB from %llu MiB to %llu GiB",
			    (unsigned long long)mem_size,
			    PVISOR_BOOT_MEM_MIN >> 20, PVISOR_BOOT_MEM_MAX >> 30);
	vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		return fail(vm, "mmap of %llu MiB of guest memory: %s",
			    (unsigned long long)mem_size >> 20, strerror(errno));
	}
	vm->mem_size = mem_size;
	plan_layout(vm);
	return 0;
}

static int map_run(struct pvisor_vm *vm, int vcpu_fd, unsigned int id,
		   struct pvisor_run **run)
{
	*run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    vcpu_fd, 0);
	if (*run != MAP_FAILED)
		return 0;
	*run = NULL;
	return fail(vm, "mmap of the fd of vCPU %u: %s", id, strerror(errno));
}

int pvisor_vm_create(struct pvisor_vm *vm, uint64_t mem_size)
{
	struct pvisor_memory_region region;
	int r;

	if (pvisor_vm_alloc_mem(vm, mem_size) || open_dev(vm) ||
	    check_module(vm))
		return -1;

	vm->vm_fd = ioctl(vm->sys_fd, PVISOR_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail_ioctl(vm, "PVISOR_CREATE_VM");

	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = mem_size;
	region.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, PVISOR_SET_MEMORY_REGION, &region))
		return fail_ioctl(vm, "PVISOR_SET_MEMORY_REGION");

	vm->vcpu_fd = ioctl(vm->vm_fd, PVISOR_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return fail_ioctl(vm, "PVISOR_CREATE_VCPU");

	r = ioctl(vm->sys_fd, PVISOR_GET_VCPU_MMAP_SIZE, 0);
	if (r < 0)
		return fail_ioctl(vm, "PVISOR_GET_VCPU_MMAP_SIZE");
	if ((size_t)r < sizeof(struct pvisor_run))
		return fail(vm,
			    "PVISOR_GET_VCPU_MMAP_SIZE: %d bytes, less than struct pvisor_run (%zu)",
			    r, sizeof(struct pvisor_run));
	vm->run_size = r;
	return map_run(vm, vm->vcpu_fd, 0, &vm->run);
}

int pvisor_vm_create_vcpus(struct pvisor_vm *vm, unsigned int nr_vcpus)
{
	unsigned int id;
	uint64_t room;
	int max;

	if (vm->vcpu_fds || vm->vcpu_fd < 0 || !vm->run)
		return fail(vm, "%s: %s", __func__,
			    vm->vcpu_fds ? "called twice" :
			    "the VM has no vCPU 0 yet");
	max = ioctl(vm->sys_fd, PVISOR_CHECK_EXTENSION, PVISOR_CAP_MAX_VCPUS);
	if (max < 0)
		return fail_ioctl(vm, "PVISOR_CHECK_EXTENSION(PVISOR_CAP_MAX_VCPUS)");
	if (!nr_vcpus || nr_vcpus > (unsigned int)max)
		return fail(vm, "%u vCPUs: this pvisor.ko allows 1 to %d",
			    nr_vcpus, max);
	room = vm->stack_top - vm->image_end;
	if ((uint64_t)nr_vcpus * STACK_SIZE > room)
		return fail(vm,
			    "%u vCPUs: no room for %u stacks of %llu KiB below the page tables in %llu MiB of guest memory",
			    nr_vcpus, nr_vcpus, STACK_SIZE >> 10,
			    (unsigned long long)vm->mem_size >> 20);

	vm->vcpu_fds = calloc(nr_vcpus, sizeof(*vm->vcpu_fds));
	vm->runs = calloc(nr_vcpus, sizeof(*vm->runs));
	if (!vm->vcpu_fds || !vm->runs) {
		free(vm->vcpu_fds);
		free(vm->runs);
		vm->vcpu_fds = NULL;
		vm->runs = NULL;
		return fail(vm, "out of memory for %u vCPUs", nr_vcpus);
	}
	vm->vcpu_fds[0] = vm->vcpu_fd;
	vm->runs[0] = vm->run;
	for (id = 1; id < nr_vcpus; id++)
		vm->vcpu_fds[id] = -1;
	/* From here on pvisor_vm_destroy() closes what exists. */
	vm->nr_vcpus = nr_vcpus;
	plan_layout(vm);

	for (id = 1; id < nr_vcpus; id++) {
		vm->vcpu_fds[id] = ioctl(vm->vm_fd, PVISOR_CREATE_VCPU,
					 (unsigned long)id);
		if (vm->vcpu_fds[id] < 0)
			return fail(vm, "PVISOR_CREATE_VCPU %u: %s", id,
				    strerror(errno));
		if (map_run(vm, vm->vcpu_fds[id], id, &vm->runs[id]))
			return -1;
	}
	return 0;
}

/* Read exactly @len bytes: NULL, or what went wrong. */
static const char *read_at(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return strerror(errno);
		if (!n)
			return truncated;
		p += n;
		off += n;
		len -= n;
	}
	return NULL;
}

static int check_ehdr(struct pvisor_vm *vm, const char *path,
		      const struct elf64_hdr *eh)
{
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return fail(vm, "%s: not an ELF file", path);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		return fail(vm, "%s: not a 64-bit x86 ELF file", path);
	if (eh->e_type != ET_EXEC)
		return fail(vm,
			    "%s: not an ELF executable (a shared object, PIE or object file?): link it -static -no-pie",
			    path);
	if (eh->e_phentsize != sizeof(struct elf64_phdr) || !eh->e_phnum ||
	    eh->e_phnum > ELF_MAX_PHDRS)
		return fail(vm, "%s: %u program headers of %u bytes: expected 1 to %d of %zu",
			    path, eh->e_phnum, eh->e_phentsize, ELF_MAX_PHDRS,
			    sizeof(struct elf64_phdr));
	return 0;
}

static int load_segment(struct pvisor_vm *vm, const char *path, int fd,
			int i, const struct elf64_phdr *ph)
{
	uint64_t end = ph->p_paddr + ph->p_memsz;
	const char *err;

	if (ph->p_filesz > ph->p_memsz)
		return fail(vm, "%s: segment %d: file size above memory size",
			    path, i);
	if (end < ph->p_paddr || end > vm->boot_base)
		return fail(vm,
			    "%s: segment %d at [0x%llx, 0x%llx) does not fit in %llu MiB of guest memory (launcher structures from 0x%llx)",
			    path, i, (unsigned long long)ph->p_paddr,
			    (unsigned long long)end,
			    (unsigned long long)vm->mem_size >> 20,
			    (unsigned long long)vm->boot_base);
	err = read_at(fd, vm->mem + ph->p_paddr, ph->p_filesz, ph->p_offset);
	if (err)
		return fail(vm, "%s: segment %d: %s", path, i, err);
	memset(vm->mem + ph->p_paddr + ph->p_filesz, 0,
	       ph->p_memsz - ph->p_filesz);
	if (end > vm->image_end)
		vm->image_end = end;
	return 0;
}

static bool is_executable_at(const struct elf64_phdr *ph, int nr, uint64_t addr)
{
	int i;

	for (i = 0; i < nr; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) &&
		    addr >= ph[i].p_paddr &&
		    addr - ph[i].p_paddr < ph[i].p_memsz)
			return true;
	return false;
}

int pvisor_vm_load_elf(struct pvisor_vm *vm, const char *path)
{
	struct elf64_phdr ph[ELF_MAX_PHDRS];
	struct elf64_hdr eh;
	const char *err;
	int fd, i, nr_load = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(vm, "%s: %s", path, strerror(errno));
	err = read_at(fd, &eh, sizeof(eh), 0);
	if (err) {
		fail(vm, "%s: %s", path, err == truncated ? "not an ELF file" : err);
		goto out_close;
	}
	if (check_ehdr(vm, path, &eh))
		goto out_close;
	err = read_at(fd, ph, eh.e_phnum * sizeof(*ph), eh.e_phoff);
	if (err) {
		fail(vm, "%s: program headers: %s", path, err);
		goto out_close;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (load_segment(vm, path, fd, i, &ph[i]))
			goto out_close;
		nr_load++;
	}
	if (!nr_load) {
		fail(vm, "%s: no PT_LOAD segment", path);
		goto out_close;
	}
	if (!is_executable_at(ph, eh.e_phnum, eh.e_entry)) {
		fail(vm, "%s: entry point 0x%llx is not in an executable segment",
		     path, (unsigned long long)eh.e_entry);
		goto out_close;
	}
	vm->entry = eh.e_entry;
	close(fd);
	return 0;
out_close:
	close(fd);
	return -1;
}

void *pvisor_vm_gpa(struct pvisor_vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa > vm->mem_size || len > vm->mem_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

/* Identity map of all of guest memory: PML4 -> one PDPT -> 2 MiB pages. */
static void write_page_tables(struct pvisor_vm *vm)
{
	uint64_t *pml4 = pvisor_vm_gpa(vm, vm->pml4, PAGE_SIZE);
	uint64_t pdpt_gpa = vm->pml4 + PAGE_SIZE;
	uint64_t *pdpt = pvisor_vm_gpa(vm, pdpt_gpa, PAGE_SIZE);
	uint64_t pd_gpa = pdpt_gpa + PAGE_SIZE;
	uint64_t *pd = pvisor_vm_gpa(vm, pd_gpa, vm->mem_size / SZ_2M * 8);
	uint64_t addr;

	pml4[0] = pdpt_gpa | PTE_PRESENT | PTE_WRITE;
	for (addr = 0; addr < vm->mem_size; addr += SZ_1G)
		pdpt[addr / SZ_1G] = (pd_gpa + addr / SZ_1G * PAGE_SIZE) |
				     PTE_PRESENT | PTE_WRITE;
	for (addr = 0; addr < vm->mem_size; addr += SZ_2M)
		pd[addr / SZ_2M] = addr | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
}

/* A code or data descriptor: base 0, limit 0xfffff in 4 KiB units. */
static uint64_t flat_desc(uint64_t type, uint64_t l, uint64_t db)
{
	return 0xffffULL | type << 40 | 1ULL << 44 /* s */ | 1ULL << 47 /* p */ |
	       0xfULL << 48 | l << 53 | db << 54 | 1ULL << 55 /* g */;
}

static void write_gdt_tss(struct pvisor_vm *vm, uint64_t gdt_gpa,
			  uint64_t tss_gpa)
{
	uint64_t *gdt = pvisor_vm_gpa(vm, gdt_gpa, GDT_SIZE);
	uint8_t *tss = pvisor_vm_gpa(vm, tss_gpa, TSS_SIZE);
	uint16_t iomap_base = TSS_SIZE;	/* beyond the limit: no I/O bitmap */

	gdt[0] = 0;
	gdt[GDT_CODE / 8] = flat_desc(SEG_TYPE_CODE, 1, 0);
	gdt[GDT_DATA / 8] = flat_desc(SEG_TYPE_DATA, 0, 1);
	gdt[GDT_TSS / 8] = (TSS_SIZE - 1) | (tss_gpa & 0xffffff) << 16 |
			   (uint64_t)SEG_TYPE_TSS << 40 | 1ULL << 47 /* p */ |
			   (tss_gpa >> 24 & 0xff) << 56;
	gdt[GDT_TSS / 8 + 1] = tss_gpa >> 32;

	memset(tss, 0, TSS_SIZE);
	memcpy(tss + TSS_IOMAP_BASE, &iomap_base, sizeof(iomap_base));
}

static void write_start_info(struct pvisor_vm *vm, uint64_t cmdline_gpa,
			     size_t cmdline_len)
{
	struct pvisor_start_info *si = pvisor_vm_gpa(vm, vm->start_info,
						     sizeof(*si));

	memset(si, 0, sizeof(*si));
	si->magic = PVISOR_START_MAGIC;
	si->version = PVISOR_PARA_VERSION;
	si->vcpu_id = 0;
	si->nr_vcpus = vm->nr_vcpus;
	si->mem_size = vm->mem_size;
	si->cmdline = cmdline_gpa;
	si->cmdline_len = cmdline_len;
	si->nr_memmap = 2;
	si->memmap[0].base = 0;
	si->memmap[0].size = vm->boot_base;
	si->memmap[0].type = PVISOR_MEM_RAM;
	si->memmap[1].base = vm->boot_base;
	si->memmap[1].size = vm->mem_size - vm->boot_base;
	si->memmap[1].type = PVISOR_MEM_RESERVED;
}

static void flat_segment(struct pvisor_segment *seg, uint16_t selector,
			 uint8_t type, uint8_t l, uint8_t db)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = selector;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;
	seg->l = l;
	seg->db = db;
	seg->g = 1;
}

/* The 64-bit state at the entry point, from the layout alone. */
static void initial_registers(struct pvisor_vm *vm, uint64_t gdt_gpa,
			      uint64_t tss_gpa, struct pvisor_regs *regs,
			      struct pvisor_sregs *sregs)
{
	memset(sregs, 0, sizeof(*sregs));
	flat_segment(&sregs->cs, GDT_CODE, SEG_TYPE_CODE, 1, 0);
	flat_segment(&sregs->ds, GDT_DATA, SEG_TYPE_DATA, 0, 1);
	sregs->es = sregs->ds;
	sregs->fs = sregs->ds;
	sregs->gs = sregs->ds;
	sregs->ss = sregs->ds;
	sregs->tr.base = tss_gpa;
	sregs->tr.limit = TSS_SIZE - 1;
	sregs->tr.selector = GDT_TSS;
	sregs->tr.type = SEG_TYPE_TSS;
	sregs->tr.present = 1;
	sregs->ldt.unusable = 1;
	sregs->gdt.base = gdt_gpa;
	sregs->gdt.limit = GDT_SIZE - 1;
	sregs->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs->cr3 = vm->pml4;
	sregs->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs->efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;

	memset(regs, 0, sizeof(*regs));
	regs->rip = vm->entry;
	regs->rsp = vm->stack_top - 8;	/* as if _start had been called */
	regs->rdi = vm->start_info;
	regs->rflags = RFLAGS_FIXED;
}

int pvisor_vm_layout_boot(struct pvisor_vm *vm, const char *cmdline,
			  struct pvisor_regs *regs, struct pvisor_sregs *sregs)
{
	uint64_t cmdline_gpa = top_page(vm, TOP_CMDLINE);
	uint64_t gdt_gpa = top_page(vm, TOP_GDT);
	uint64_t tss_gpa = top_page(vm, TOP_TSS);
	size_t len = cmdline ? strlen(cmdline) : 0;

	if (len >= PVISOR_BOOT_CMDLINE_MAX)
		return fail(vm, "command line of %zu bytes: at most %d fit",
			    len, PVISOR_BOOT_CMDLINE_MAX - 1);
	write_page_tables(vm);
	write_gdt_tss(vm, gdt_gpa, tss_gpa);
	memcpy(pvisor_vm_gpa(vm, cmdline_gpa, len + 1), cmdline ? cmdline : "",
	       len + 1);
	write_start_info(vm, cmdline_gpa, len);
	initial_registers(vm, gdt_gpa, tss_gpa, regs, sregs);
	return 0;
}

int pvisor_vm_setup_boot(struct pvisor_vm *vm, const char *cmdline)
{
	struct pvisor_sregs sregs;
	struct pvisor_regs regs;
	unsigned int id;
	int fd;

	if (pvisor_vm_layout_boot(vm, cmdline, &regs, &sregs))
		return -1;
	for (id = 0; id < vm->nr_vcpus; id++) {
		fd = id ? vm->vcpu_fds[id] : vm->vcpu_fd;
		regs.rsi = id;
		regs.rsp = vcpu_stack_top(vm, id) - 8;
		if (ioctl(fd, PVISOR_SET_SREGS, &sregs))
			return fail(vm, "PVISOR_SET_SREGS on vCPU %u: %s", id,
				    strerror(errno));
		if (ioctl(fd, PVISOR_SET_REGS, &regs))
			return fail(vm, "PVISOR_SET_REGS on vCPU %u: %s", id,
				    strerror(errno));
	}
	return 0;
}

void pvisor_vm_destroy(struct pvisor_vm *vm)
{
	unsigned int id;

	/* vCPUs 1 and up; [0] is vcpu_fd and run, closed below. */
	for (id = 1; vm->vcpu_fds && id < vm->nr_vcpus; id++) {
		if (vm->runs[id])
			munmap(vm->runs[id], vm->run_size);
		if (vm->vcpu_fds[id] >= 0)
			close(vm->vcpu_fds[id]);
	}
	free(vm->vcpu_fds);
	free(vm->runs);
	vm->vcpu_fds = NULL;
	vm->runs = NULL;
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->sys_fd >= 0)
		close(vm->sys_fd);
	vm->run = NULL;
	vm->mem = NULL;
	vm->vcpu_fd = -1;
	vm->vm_fd = -1;
	vm->sys_fd = -1;
}

const char *pvisor_kill_reason_name(uint32_t reason)
{
	static const char *const names[] = {
		[PVISOR_KILL_UNEXPECTED_EXIT] = "unexpected VM exit",
		[PVISOR_KILL_TRIPLE_FAULT] = "triple fault",
		[PVISOR_KILL_ENTRY_FAILED] = "VM entry failed",
		[PVISOR_KILL_BAD_PAGE_TABLE] = "page table outside guest memory",
		[PVISOR_KILL_BAD_STATE] = "guest state refused",
		[PVISOR_KILL_NO_MEMORY] = "host out of memory",
		[PVISOR_KILL_BAD_GPA] = "guest page outside guest memory",
		[PVISOR_KILL_BAD_RING] = "malformed channel ring or descriptor",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "unknown reason";
}

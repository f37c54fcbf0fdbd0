// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM half of pvisor_bench: the guest that pvisor runs, built by the
 * same pvisor_boot code (image, identity map, GDT, TSS, start info, the
 * 64-bit registers), run through /dev/kvm.  No in-kernel irqchip, so the
 * guest's HLT comes back as KVM_EXIT_HLT; its OUT to BENCH_KVM_PORT is the
 * exit-to-userspace row.
 *
 * Guest memory is populated before the guest runs and kept out of
 * transparent huge pages where the kernel has them: pvisor pins (and so
 * populates) its memory when the slot is set and maps 4 KiB pages, so both
 * VMMs pay the same for a first touch: no host page fault, one 4 KiB
 * mapping.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "bench_host.h"
#include "pvisor_boot.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

#define KVM_DEV		"/dev/kvm"
/* KVM_SET_TSS_ADDR: three pages outside guest memory, where QEMU puts them. */
#define KVM_TSS_ADDR	0xfeffd000UL
#define CPUID_ENTRIES	128

struct kvm_bench {
	struct pvisor_vm img;	/* guest memory and layout; no pvisor fds */
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	char *err;
	size_t err_len;
};

static int kvm_fail(struct kvm_bench *k, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->err, k->err_len, fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

static int kvm_fail_ioctl(struct kvm_bench *k, const char *name)
{
	return kvm_fail(k, "%s: %s", name, strerror(errno));
}

static void kvm_segment_from(struct kvm_segment *to,
			     const struct pvisor_segment *from)
{
	memset(to, 0, sizeof(*to));
	to->base = from->base;
	to->limit = from->limit;
	to->selector = from->selector;
	to->type = from->type;
	to->present = from->present;
	to->dpl = from->dpl;
	to->db = from->db;
	to->s = from->s;
	to->l = from->l;
	to->g = from->g;
	to->avl = from->avl;
	to->unusable = from->unusable;
}

static void kvm_dtable_from(struct kvm_dtable *to,
			    const struct pvisor_dtable *from)
{
	memset(to, 0, sizeof(*to));
	to->base = from->base;
	to->limit = from->limit;
}

/* KVM's own sregs, with everything pvisor_boot computed put in. */
static int kvm_set_state(struct kvm_bench *k, const struct pvisor_regs *pr,
			 const struct pvisor_sregs *ps)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(k->vcpu_fd, KVM_GET_SREGS, &sregs))
		return kvm_fail_ioctl(k, "KVM_GET_SREGS");
	kvm_segment_from(&sregs.cs, &ps->cs);
	kvm_segment_from(&sregs.ds, &ps->ds);
	kvm_segment_from(&sregs.es, &ps->es);
	kvm_segment_from(&sregs.fs, &ps->fs);
	kvm_segment_from(&sregs.gs, &ps->gs);
	kvm_segment_from(&sregs.ss, &ps->ss);
	kvm_segment_from(&sregs.tr, &ps->tr);
	kvm_segment_from(&sregs.ldt, &ps->ldt);
	kvm_dtable_from(&sregs.gdt, &ps->gdt);
	kvm_dtable_from(&sregs.idt, &ps->idt);
	sregs.cr0 = ps->cr0;
	sregs.cr2 = ps->cr2;
	sregs.cr3 = ps->cr3;
	sregs.cr4 = ps->cr4;
	sregs.efer = ps->efer;
	if (ioctl(k->vcpu_fd, KVM_SET_SREGS, &sregs))
		return kvm_fail_ioctl(k, "KVM_SET_SREGS");

	/* The same general registers, RIP and RFLAGS, in the same order. */
	static_assert(sizeof(regs) == offsetof(struct pvisor_regs, flags),
		      "struct kvm_regs is a prefix of struct pvisor_regs");
	static_assert(offsetof(struct kvm_regs, rip) ==
		      offsetof(struct pvisor_regs, rip), "rip");
	memcpy(&regs, pr, sizeof(regs));
	if (ioctl(k->vcpu_fd, KVM_SET_REGS, &regs))
		return kvm_fail_ioctl(k, "KVM_SET_REGS");
	return 0;
}

/* Everything KVM supports, including its 0x40000000 signature leaf. */
static int kvm_set_cpuid(struct kvm_bench *k)
{
	struct kvm_cpuid2 *cpuid;
	int ret = 0;

	cpuid = calloc(1, sizeof(*cpuid) +
		       CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!cpuid)
		return kvm_fail(k, "out of memory");
	cpuid->nent = CPUID_ENTRIES;
	if (ioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
		ret = kvm_fail_ioctl(k, "KVM_GET_SUPPORTED_CPUID");
	else if (ioctl(k->vcpu_fd, KVM_SET_CPUID2, cpuid))
		ret = kvm_fail_ioctl(k, "KVM_SET_CPUID2");
	free(cpuid);
	return ret;
}

static int kvm_memory(struct kvm_bench *k, uint64_t mem_size)
{
	struct kvm_userspace_memory_region region;

	if (pvisor_vm_alloc_mem(&k->img, mem_size))
		return kvm_fail(k, "%s", k->img.err);
	/* Kernels without transparent huge pages refuse the advice. */
	madvise(k->img.mem, mem_size, MADV_NOHUGEPAGE);
	if (madvise(k->img.mem, mem_size, MADV_POPULATE_WRITE)) {
		uint64_t off;

		/* Before Linux 5.14: one write per page. */
		for (off = 0; off < mem_size; off += 4096)
			k->img.mem[off] = 0;
	}

	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = mem_size;
	region.userspace_addr = (uintptr_t)k->img.mem;
	if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
		return kvm_fail_ioctl(k, "KVM_SET_USER_MEMORY_REGION");
	return 0;
}

static int kvm_create(struct kvm_bench *k, uint64_t mem_size)
{
	struct pvisor_sregs sregs;
	struct pvisor_regs regs;
	int r;

	k->kvm_fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (k->kvm_fd < 0)
		return kvm_fail(k, "%s: %s: is kvm_intel loaded?", KVM_DEV,
				strerror(errno));
	r = ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION)
		return kvm_fail(k, "KVM_GET_API_VERSION: %d, expected %d", r,
				KVM_API_VERSION);
	k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0)
		return kvm_fail_ioctl(k, "KVM_CREATE_VM");
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR))
		return kvm_fail_ioctl(k, "KVM_SET_TSS_ADDR");
	if (kvm_memory(k, mem_size))
		return -1;

	k->vcpu_fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, 0);
	if (k->vcpu_fd < 0)
		return kvm_fail_ioctl(k, "KVM_CREATE_VCPU");
	r = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run))
		return kvm_fail_ioctl(k, "KVM_GET_VCPU_MMAP_SIZE");
	k->run = mmap(NULL, r, PROT_READ | PROT_WRITE, MAP_SHARED,
		      k->vcpu_fd, 0);
	if (k->run == MAP_FAILED) {
		k->run = NULL;
		return kvm_fail(k, "mmap of the vCPU fd: %s", strerror(errno));
	}
	k->run_size = r;
	if (kvm_set_cpuid(k))
		return -1;

	if (bench_load_image(&k->img, k->err, k->err_len))
		return -1;
	k->img.entry = (uintptr_t)bench_guest;
	if (pvisor_vm_layout_boot(&k->img, NULL, &regs, &sregs))
		return kvm_fail(k, "%s", k->img.err);
	return kvm_set_state(k, &regs, &sregs);
}

/* KVM_RUN until the guest's HLT; the OUTs of the exit row just resume. */
static int kvm_run_guest(struct kvm_bench *k)
{
	for (;;) {
		if (ioctl(k->vcpu_fd, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			return kvm_fail_ioctl(k, "KVM_RUN");
		}
		switch (k->run->exit_reason) {
		case KVM_EXIT_IO:
			if (k->run->io.port != BENCH_KVM_PORT)
				return kvm_fail(k, "guest OUT to port %#x",
						k->run->io.port);
			break;
		case KVM_EXIT_HLT:
			return 0;
		case KVM_EXIT_FAIL_ENTRY:
			return kvm_fail(k, "KVM_EXIT_FAIL_ENTRY, reason %#llx",
					(unsigned long long)
					k->run->fail_entry.hardware_entry_failure_reason);
		case KVM_EXIT_INTERNAL_ERROR:
			return kvm_fail(k, "KVM_EXIT_INTERNAL_ERROR, suberror %u",
					k->run->internal.suberror);
		default:
			return kvm_fail(k, "unexpected KVM exit %u",
					k->run->exit_reason);
		}
	}
}

int bench_run_kvm(struct bench_results *res, char *err, size_t err_len)
{
	struct kvm_bench k = {
		.img = { .sys_fd = -1, .vm_fd = -1, .vcpu_fd = -1 },
		.kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1,
		.err = err, .err_len = err_len,
	};
	int ret;

	ret = kvm_create(&k, BENCH_MEM_SIZE);
	if (!ret)
		ret = kvm_run_guest(&k);
	if (!ret)
		ret = bench_copy_results(&k.img, res, err, err_len);
	if (k.run)
		munmap(k.run, k.run_size);
	if (k.vcpu_fd >= 0)
		close(k.vcpu_fd);
	if (k.vm_fd >= 0)
		close(k.vm_fd);
	if (k.kvm_fd >= 0)
		close(k.kvm_fd);
	pvisor_vm_destroy(&k.img);
	return ret;
}

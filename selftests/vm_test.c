// SPDX-License-Identifier: GPL-2.0
/*
 * The VM and vCPU ioctls without running guests: PVISOR_CREATE_VM and
 * PVISOR_GET_VCPU_MMAP_SIZE, every rule of PVISOR_SET_MEMORY_REGION,
 * PVISOR_CREATE_VCPU, the vCPU mapping, register round trips and every
 * state PVISOR_SET_REGS and PVISOR_SET_SREGS must refuse, unknown ioctls on
 * VM and vCPU fds, and fds used from another process.
 */
#include <cpuid.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "pvisor_util.h"

#define PAGE		4096UL

#define X86_CR0_PE	BIT_ULL(0)
#define X86_CR0_MP	BIT_ULL(1)
#define X86_CR0_EM	BIT_ULL(2)
#define X86_CR0_TS	BIT_ULL(3)
#define X86_CR0_ET	BIT_ULL(4)
#define X86_CR0_NE	BIT_ULL(5)
#define X86_CR0_WP	BIT_ULL(16)
#define X86_CR0_AM	BIT_ULL(18)
#define X86_CR0_PG	BIT_ULL(31)
#define CR0_REQUIRED	(X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | \
			 X86_CR0_PG)
#define CR0_GUEST_OWNED	(X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_AM)

#define X86_CR4_PAE	BIT_ULL(5)
/* TSD DE PSE MCE PGE PCE OSFXSR OSXMMEXCPT: allowed on every host. */
#define CR4_ALWAYS_OK	(BIT_ULL(2) | BIT_ULL(3) | BIT_ULL(4) | BIT_ULL(6) | \
			 BIT_ULL(7) | BIT_ULL(8) | BIT_ULL(9) | BIT_ULL(10))

#define EFER_SCE	BIT_ULL(0)
#define EFER_LME	BIT_ULL(8)
#define EFER_LMA	BIT_ULL(10)
#define EFER_NXE	BIT_ULL(11)

#define RFLAGS_FIXED	0x2ULL
#define RFLAGS_VM	BIT_ULL(17)

#define NONCANONICAL	BIT_ULL(47)

FIXTURE(vm) {
	int sys;
	int vm;
	long nr_slots;
	long max_vcpus;
	size_t run_size;
};

FIXTURE_SETUP(vm)
{
	self->vm = -1;
	PVISOR_OPEN_OR_SKIP(self->sys);
	if (ioctl(self->sys, PVISOR_CHECK_EXTENSION, PVISOR_CAP_VM) <= 0)
		SKIP(return, "pvisor.ko lacks PVISOR_CAP_VM");
	self->nr_slots = IOCTL_OK(self->sys, PVISOR_CHECK_EXTENSION,
				  PVISOR_CAP_NR_MEMSLOTS);
	self->max_vcpus = IOCTL_OK(self->sys, PVISOR_CHECK_EXTENSION,
				   PVISOR_CAP_MAX_VCPUS);
	self->run_size = IOCTL_OK(self->sys, PVISOR_GET_VCPU_MMAP_SIZE, 0);
	self->vm = IOCTL_OK(self->sys, PVISOR_CREATE_VM, 0);
}

FIXTURE_TEARDOWN(vm)
{
	if (self->vm >= 0)
		close(self->vm);
	if (self->sys >= 0)
		close(self->sys);
}

TEST_F(vm, capabilities)
{
	RETURN_IF_SKIPPED();
	EXPECT_EQ(8, self->nr_slots);
	EXPECT_EQ(64, self->max_vcpus);
}

TEST_F(vm, create_vm_rejects_argument)
{
	RETURN_IF_SKIPPED();
	IOCTL_ERR(self->sys, PVISOR_CREATE_VM, 1UL, EINVAL);
	IOCTL_ERR(self->sys, PVISOR_CREATE_VM, 0x100000000UL, EINVAL);
	IOCTL_ERR(self->sys, PVISOR_CREATE_VM, ~0UL, EINVAL);
}

TEST_F(vm, vcpu_mmap_size)
{
	RETURN_IF_SKIPPED();
	EXPECT_GE(self->run_size, sizeof(struct pvisor_run));
	EXPECT_EQ(0, self->run_size % PAGE);
	IOCTL_ERR(self->sys, PVISOR_GET_VCPU_MMAP_SIZE, 1UL, EINVAL);
	IOCTL_ERR(self->sys, PVISOR_GET_VCPU_MMAP_SIZE, ~0UL, EINVAL);
}

TEST_F(vm, fds_are_close_on_exec)
{
	int vcpu;

	RETURN_IF_SKIPPED();
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->vm, F_GETFD) & FD_CLOEXEC);
	vcpu = IOCTL_OK(self->vm, PVISOR_CREATE_VCPU, 0);
	EXPECT_EQ(FD_CLOEXEC, fcntl(vcpu, F_GETFD) & FD_CLOEXEC);
	close(vcpu);
}

#define NR_VMS	32

/*
 * Many VMs with a vCPU each at once; each fd holds a reference on the
 * module, and closing them drops every one.
 */
TEST_F(vm, many_vms)
{
	int vms[NR_VMS], vcpus[NR_VMS], i, j;
	long before = module_refcnt("pvisor");
	struct pvisor_regs regs;

	RETURN_IF_SKIPPED();
	for (i = 0; i < NR_VMS; i++) {
		vms[i] = IOCTL_OK(self->sys, PVISOR_CREATE_VM, 0);
		vcpus[i] = IOCTL_OK(vms[i], PVISOR_CREATE_VCPU, 0);
		for (j = 0; j < i; j++)
			ASSERT_NE(vms[j], vms[i]);
	}
	if (before >= 0)
		EXPECT_EQ(before + 2 * NR_VMS, module_refcnt("pvisor"));
	for (i = 0; i < NR_VMS; i++)
		EXPECT_EQ(0, ioctl(vcpus[i], PVISOR_GET_REGS, &regs))
			TH_LOG("vCPU of VM %d: %s", i, strerror(errno));
	for (i = 0; i < NR_VMS; i++) {
		close(vcpus[i]);
		close(vms[i]);
	}
	if (before < 0) {
		TH_LOG("no /sys/module/pvisor/refcnt: references not checked");
		return;
	}
	EXPECT_EQ(before, module_refcnt("pvisor"));
}

/* A vCPU keeps its VM alive after the VM fd is closed, and vice versa. */
TEST_F(vm, close_order)
{
	struct pvisor_regs regs;
	long before;
	int vm, vcpu;

	RETURN_IF_SKIPPED();
	before = module_refcnt("pvisor");
	vm = IOCTL_OK(self->sys, PVISOR_CREATE_VM, 0);
	vcpu = IOCTL_OK(vm, PVISOR_CREATE_VCPU, 0);
	close(vm);
	IOCTL_OK(vcpu, PVISOR_GET_REGS, &regs);
	close(vcpu);
	if (before >= 0)
		EXPECT_EQ(before, module_refcnt("pvisor"));

	vm = IOCTL_OK(self->sys, PVISOR_CREATE_VM, 0);
	vcpu = IOCTL_OK(vm, PVISOR_CREATE_VCPU, 0);
	close(vcpu);
	/* The id is free again. */
	close(IOCTL_OK(vm, PVISOR_CREATE_VCPU, 0));
	close(vm);
}

/* Page-aligned, writable memory of @pages pages, or MAP_FAILED. */
static void *alloc_pages(int pages, int prot)
{
	return mmap(NULL, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
}

static struct pvisor_memory_region region(uint32_t slot, uint64_t gpa,
					  uint64_t size, const void *mem)
{
	struct pvisor_memory_region r;

	memset(&r, 0, sizeof(r));
	r.slot = slot;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = (uintptr_t)mem;
	return r;
}

#define SET_REGION_OK(fd, r) do {					\
	struct pvisor_memory_region __region = (r);			\
									\
	IOCTL_OK((fd), PVISOR_SET_MEMORY_REGION, &__region);		\
} while (0)

#define SET_REGION_ERR(fd, r, err, what) do {				\
	struct pvisor_memory_region __region = (r);			\
	long __ret = ioctl((fd), PVISOR_SET_MEMORY_REGION, &__region);	\
	int __e = errno;						\
									\
	EXPECT_EQ(-1, __ret) TH_LOG("%s: accepted", (what));		\
	EXPECT_EQ((err), __e) TH_LOG("%s: %s, expected %s", (what),	\
				     strerror(__e), strerror(err));	\
} while (0)

TEST_F(vm, memory_region_flags_and_reserved)
{
	struct pvisor_memory_region r;
	char what[64];
	void *mem;
	int i;

	RETURN_IF_SKIPPED();
	mem = alloc_pages(1, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, mem);
	for (i = 0; i < 32; i++) {
		r = region(0, 0, PAGE, mem);
		r.flags = 1u << i;
		snprintf(what, sizeof(what), "flags bit %d", i);
		SET_REGION_ERR(self->vm, r, EINVAL, what);
	}
	for (i = 0; i < 4; i++) {
		r = region(0, 0, PAGE, mem);
		r.reserved[i] = 1ULL << (i * 21);
		snprintf(what, sizeof(what), "reserved[%d]", i);
		SET_REGION_ERR(self->vm, r, EINVAL, what);
	}
	/* Removal checks them too. */
	r = region(0, 0, 0, NULL);
	r.flags = 1;
	SET_REGION_ERR(self->vm, r, EINVAL, "flags on a removal");
	/* The same region without them is fine. */
	SET_REGION_OK(self->vm, region(0, 0, PAGE, mem));
	munmap(mem, PAGE);
}

TEST_F(vm, memory_region_slot_range)
{
	void *mem;

	RETURN_IF_SKIPPED();
	mem = alloc_pages(1, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, mem);
	SET_REGION_ERR(self->vm, region(self->nr_slots, 0, PAGE, mem), EINVAL,
		       "slot PVISOR_CAP_NR_MEMSLOTS");
	SET_REGION_ERR(self->vm, region(~0u, 0, PAGE, mem), EINVAL,
		       "slot ~0");
	SET_REGION_ERR(self->vm, region(self->nr_slots, 0, 0, NULL), EINVAL,
		       "removal of slot PVISOR_CAP_NR_MEMSLOTS");
	SET_REGION_OK(self->vm, region(self->nr_slots - 1, 0, PAGE, mem));
	munmap(mem, PAGE);
}

TEST_F(vm, memory_region_alignment_and_limits)
{
	const uint64_t top = 1ULL << 46;
	char *mem;

	RETURN_IF_SKIPPED();
	mem = alloc_pages(2, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, mem);
	SET_REGION_ERR(self->vm, region(0, 0x800, PAGE, mem), EINVAL,
		       "unaligned GPA");
	SET_REGION_ERR(self->vm, region(0, 1, PAGE, mem), EINVAL,
		       "GPA 1");
	SET_REGION_ERR(self->vm, region(0, 0, 0x1800, mem), EINVAL,
		       "unaligned size");
	SET_REGION_ERR(self->vm, region(0, 0, 0x800, mem), EINVAL,
		       "size below a page");
	SET_REGION_ERR(self->vm, region(0, 0, PAGE, mem + 0x10), EINVAL,
		       "unaligned user address");
	SET_REGION_ERR(self->vm, region(0, ~0xfffULL, 2 * PAGE, mem), EINVAL,
		       "GPA range wraps");
	SET_REGION_ERR(self->vm, region(0, top - PAGE, 2 * PAGE, mem), EINVAL,
		       "GPA range ends above 2^46");
	SET_REGION_ERR(self->vm, region(0, top, PAGE, mem), EINVAL,
		       "GPA 2^46");
	SET_REGION_ERR(self->vm, region(0, 0, 2 * PAGE, (void *)~0xfffUL),
		       EINVAL, "user range wraps");
	SET_REGION_ERR(self->vm, region(0, 0, PAGE,
					(void *)0xffff888000000000UL),
		       EINVAL, "kernel address");
	/* The last page below 2^46 is fine. */
	SET_REGION_OK(self->vm, region(0, top - PAGE, PAGE, mem));
	munmap(mem, 2 * PAGE);
}

TEST_F(vm, memory_region_overlaps)
{
	const uint64_t base = 0x100000;
	char *mem;

	RETURN_IF_SKIPPED();
	mem = alloc_pages(16, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, mem);
	SET_REGION_OK(self->vm, region(0, base, 4 * PAGE, mem));

	SET_REGION_ERR(self->vm, region(1, base + 2 * PAGE, 4 * PAGE,
					mem + 4 * PAGE),
		       EINVAL, "overlaps the end");
	SET_REGION_ERR(self->vm, region(1, base - PAGE, 2 * PAGE,
					mem + 4 * PAGE),
		       EINVAL, "overlaps the start");
	SET_REGION_ERR(self->vm, region(1, base - 2 * PAGE, 8 * PAGE,
					mem + 4 * PAGE),
		       EINVAL, "contains the slot");
	SET_REGION_ERR(self->vm, region(1, base + PAGE, PAGE,
					mem + 4 * PAGE),
		       EINVAL, "inside the slot");
	SET_REGION_ERR(self->vm, region(1, base, 4 * PAGE, mem + 4 * PAGE),
		       EINVAL, "the same range");
	/* Neighbours touch without overlapping. */
	SET_REGION_OK(self->vm, region(1, base + 4 * PAGE, PAGE,
				       mem + 8 * PAGE));
	SET_REGION_OK(self->vm, region(2, base - PAGE, PAGE, mem + 9 * PAGE));
	/* The same user memory in two slots is allowed. */
	SET_REGION_OK(self->vm, region(3, 0x200000, 4 * PAGE, mem));

	/* Size 0 removes: the range is free for another slot. */
	SET_REGION_OK(self->vm, region(0, 0, 0, NULL));
	SET_REGION_OK(self->vm, region(4, base, 4 * PAGE, mem + 12 * PAGE));
	/* Removing an unused slot succeeds. */
	SET_REGION_OK(self->vm, region(5, 0, 0, NULL));
	SET_REGION_OK(self->vm, region(5, 0, 0, NULL));
	munmap(mem, 16 * PAGE);
}

TEST_F(vm, memory_region_replace)
{
	const uint64_t base = 0x100000;
	char *mem;

	RETURN_IF_SKIPPED();
	mem = alloc_pages(8, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, mem);
	SET_REGION_OK(self->vm, region(0, base, 4 * PAGE, mem));
	/* Setting a used slot replaces it, even over its own old range. */
	SET_REGION_OK(self->vm, region(0, base + 2 * PAGE, 4 * PAGE,
				       mem + 4 * PAGE));
	/* The old range's start is free, its end is the new slot's. */
	SET_REGION_OK(self->vm, region(1, base, 2 * PAGE, mem));
	SET_REGION_ERR(self->vm, region(2, base + 2 * PAGE, PAGE, mem),
		       EINVAL, "the replaced slot's new range");
	munmap(mem, 8 * PAGE);
}

TEST_F(vm, memory_region_bad_user_memory)
{
	char *mem, *ro;

	RETURN_IF_SKIPPED();
	mem = alloc_pages(4, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, munmap(mem + 2 * PAGE, 2 * PAGE));
	SET_REGION_ERR(self->vm, region(0, 0, 2 * PAGE, mem + 2 * PAGE),
		       EFAULT, "unmapped memory");
	SET_REGION_ERR(self->vm, region(0, 0, 4 * PAGE, mem), EFAULT,
		       "memory whose second half is unmapped");

	ro = alloc_pages(2, PROT_READ);
	ASSERT_NE(MAP_FAILED, ro);
	SET_REGION_ERR(self->vm, region(0, 0, 2 * PAGE, ro), EFAULT,
		       "read-only memory");

	/* The failures left the slot and its range unused. */
	SET_REGION_OK(self->vm, region(1, 0, 2 * PAGE, mem));
	SET_REGION_OK(self->vm, region(0, 0x100000, 2 * PAGE, mem));

	IOCTL_ERR(self->vm, PVISOR_SET_MEMORY_REGION, NULL, EFAULT);
	munmap(mem, 2 * PAGE);
	munmap(ro, 2 * PAGE);
}

TEST_F(vm, create_vcpu)
{
	unsigned long last;
	int vcpu, again;

	RETURN_IF_SKIPPED();
	last = self->max_vcpus - 1;
	IOCTL_ERR(self->vm, PVISOR_CREATE_VCPU, (unsigned long)self->max_vcpus,
		  EINVAL);
	IOCTL_ERR(self->vm, PVISOR_CREATE_VCPU, 1UL << 32, EINVAL);
	IOCTL_ERR(self->vm, PVISOR_CREATE_VCPU, ~0UL, EINVAL);

	vcpu = IOCTL_OK(self->vm, PVISOR_CREATE_VCPU, last);
	IOCTL_ERR(self->vm, PVISOR_CREATE_VCPU, last, EEXIST);
	close(vcpu);
	again = IOCTL_OK(self->vm, PVISOR_CREATE_VCPU, last);
	IOCTL_ERR(self->vm, PVISOR_CREATE_VCPU, last, EEXIST);
	close(again);
}

TEST_F(vm, vcpu_mmap)
{
	struct pvisor_run *run;
	void *p;
	int vcpu;

	RETURN_IF_SKIPPED();
	vcpu = IOCTL_OK(self->vm, PVISOR_CREATE_VCPU, 0);
	run = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu, 0);
	ASSERT_NE(MAP_FAILED, run) TH_LOG("mmap: %s", strerror(errno));
	/* Nothing ran yet. */
	EXPECT_EQ(PVISOR_EXIT_NONE, run->exit_reason);
	munmap(run, self->run_size);

	errno = 0;
	p = mmap(NULL, self->run_size + PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED, vcpu, 0);
	EXPECT_EQ(MAP_FAILED, p) TH_LOG("one page too many accepted");
	EXPECT_EQ(EINVAL, errno) TH_LOG("%s", strerror(errno));
	if (p != MAP_FAILED)
		munmap(p, self->run_size + PAGE);

	errno = 0;
	p = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 vcpu, PAGE);
	EXPECT_EQ(MAP_FAILED, p) TH_LOG("offset of a page accepted");
	EXPECT_EQ(EINVAL, errno) TH_LOG("%s", strerror(errno));
	if (p != MAP_FAILED)
		munmap(p, self->run_size);
	close(vcpu);
}

/* The state api.rst promises for a new vCPU. */
TEST_F(vm, vcpu_initial_state)
{
	struct pvisor_sregs s;
	struct pvisor_regs r;
	int vcpu;

	RETURN_IF_SKIPPED();
	vcpu = IOCTL_OK(self->vm, PVISOR_CREATE_VCPU, 0);
	memset(&s, 0xa5, sizeof(s));
	memset(&r, 0xa5, sizeof(r));
	IOCTL_OK(vcpu, PVISOR_GET_SREGS, &s);
	IOCTL_OK(vcpu, PVISOR_GET_REGS, &r);

	EXPECT_EQ(CR0_REQUIRED, s.cr0);
	EXPECT_EQ(X86_CR4_PAE, s.cr4);
	EXPECT_EQ(EFER_LME | EFER_LMA, s.efer);
	EXPECT_EQ(0, s.cr3);
	EXPECT_EQ(0x08, s.cs.selector);
	EXPECT_EQ(1, s.cs.l);
	EXPECT_EQ(0, s.cs.db);
	EXPECT_EQ(1, s.cs.s);
	EXPECT_EQ(1, s.cs.present);
	EXPECT_EQ(8, s.cs.type & 8);
	EXPECT_EQ(0, s.cs.base);
	EXPECT_EQ(0x10, s.ds.selector);
	EXPECT_EQ(0x10, s.ss.selector);
	EXPECT_EQ(0, s.ds.type & 8);
	EXPECT_EQ(0x18, s.tr.selector);
	EXPECT_EQ(0, s.tr.base);
	EXPECT_EQ(0x67, s.tr.limit);
	EXPECT_EQ(11, s.tr.type);
	EXPECT_EQ(0, s.tr.s);
	EXPECT_EQ(1, s.tr.present);
	EXPECT_EQ(0, s.flags);
	EXPECT_EQ(0, s.padding);
	EXPECT_EQ(0, s.reserved[0] | s.reserved[1] | s.reserved[2] |
		     s.reserved[3]);
	EXPECT_EQ(0, r.rip);
	EXPECT_EQ(0, r.rsp);
	EXPECT_EQ(RFLAGS_FIXED, r.rflags);
	EXPECT_EQ(0, r.flags);
	EXPECT_EQ(0, r.padding);
	EXPECT_EQ(0, r.reserved[0] | r.reserved[1] | r.reserved[2] |
		     r.reserved[3]);
	close(vcpu);
}

/* A fixture with a vCPU and its registers as the tests set them. */
FIXTURE(vcpu) {
	int sys, vm, vcpu;
	struct pvisor_regs regs;
	struct pvisor_sregs sregs;
	unsigned int maxphyaddr;
};

FIXTURE_SETUP(vcpu)
{
	unsigned int a, b, c, d;

	self->vm = -1;
	self->vcpu = -1;
	PVISOR_OPEN_OR_SKIP(self->sys);
	if (ioctl(self->sys, PVISOR_CHECK_EXTENSION, PVISOR_CAP_VM) <= 0)
		SKIP(return, "pvisor.ko lacks PVISOR_CAP_VM");
	self->vm = IOCTL_OK(self->sys, PVISOR_CREATE_VM, 0);
	self->vcpu = IOCTL_OK(self->vm, PVISOR_CREATE_VCPU, 0);
	IOCTL_OK(self->vcpu, PVISOR_GET_REGS, &self->regs);
	IOCTL_OK(self->vcpu, PVISOR_GET_SREGS, &self->sregs);
	self->maxphyaddr = 36;
	if (__get_cpuid(0x80000008, &a, &b, &c, &d))
		self->maxphyaddr = a & 0xff;
}

FIXTURE_TEARDOWN(vcpu)
{
	if (self->vcpu >= 0)
		close(self->vcpu);
	if (self->vm >= 0)
		close(self->vm);
	if (self->sys >= 0)
		close(self->sys);
}

TEST_F(vcpu, regs_round_trip)
{
	struct pvisor_regs in = self->regs, out;
	__u64 *gpr = &in.rax;
	int i;

	RETURN_IF_SKIPPED();
	for (i = 0; i < 16; i++)
		gpr[i] = 0x0123456789abcdefULL ^ ((__u64)i << 56) ^ i;
	in.rip = 0xffffffff81000000ULL;
	/* CF PF AF ZF SF TF IF DF OF IOPL NT RF AC ID: all allowed. */
	in.rflags = RFLAGS_FIXED | 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 |
		    0x200 | 0x400 | 0x800 | 0x3000 | 0x4000 | 0x10000 |
		    0x40000 | 0x200000;
	IOCTL_OK(self->vcpu, PVISOR_SET_REGS, &in);
	memset(&out, 0xa5, sizeof(out));
	IOCTL_OK(self->vcpu, PVISOR_GET_REGS, &out);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(gpr[i], (&out.rax)[i]) TH_LOG("register %d", i);
	EXPECT_EQ(in.rip, out.rip);
	EXPECT_EQ(in.rflags, out.rflags);
	EXPECT_EQ(0, memcmp(&in, &out, sizeof(in)));

	IOCTL_ERR(self->vcpu, PVISOR_SET_REGS, NULL, EFAULT);
	IOCTL_ERR(self->vcpu, PVISOR_GET_REGS, NULL, EFAULT);
}

#define SET_REGS_EINVAL(what, ...) do {					\
	struct pvisor_regs r = self->regs;				\
	long __ret;							\
	int __e;							\
									\
	__VA_ARGS__;							\
	__ret = ioctl(self->vcpu, PVISOR_SET_REGS, &r);			\
	__e = errno;							\
	EXPECT_EQ(-1, __ret) TH_LOG("%s: accepted", what);		\
	EXPECT_EQ(EINVAL, __e) TH_LOG("%s: %s", what, strerror(__e));	\
} while (0)

TEST_F(vcpu, set_regs_refuses)
{
	static const int rflags_reserved[] = { 3, 5, 15, 22, 31, 32, 63 };
	struct pvisor_regs after;
	char what[64];
	int i;

	RETURN_IF_SKIPPED();
	self->regs.rax = 0x1234;
	IOCTL_OK(self->vcpu, PVISOR_SET_REGS, &self->regs);

	for (i = 0; i < 32; i++) {
		snprintf(what, sizeof(what), "flags bit %d", i);
		SET_REGS_EINVAL(what, r.flags = 1u << i);
	}
	SET_REGS_EINVAL("padding 1", r.padding = 1);
	SET_REGS_EINVAL("padding bit 31", r.padding = 0x80000000u);
	for (i = 0; i < 4; i++) {
		snprintf(what, sizeof(what), "reserved[%d]", i);
		SET_REGS_EINVAL(what, r.reserved[i] = 1);
	}
	SET_REGS_EINVAL("RIP 2^47", r.rip = NONCANONICAL);
	SET_REGS_EINVAL("RIP 0xffff7fffffffffff",
			r.rip = 0xffff7fffffffffffULL);
	SET_REGS_EINVAL("RIP 2^63", r.rip = 1ULL << 63);
	SET_REGS_EINVAL("RFLAGS 0", r.rflags = 0);
	SET_REGS_EINVAL("RFLAGS without bit 1", r.rflags = 0x202 & ~2ULL);
	for (i = 0; i < (int)ARRAY_SIZE(rflags_reserved); i++) {
		snprintf(what, sizeof(what), "RFLAGS bit %d",
			 rflags_reserved[i]);
		SET_REGS_EINVAL(what, r.rflags = RFLAGS_FIXED |
						 1ULL << rflags_reserved[i]);
	}
	SET_REGS_EINVAL("RFLAGS.VM", r.rflags = RFLAGS_FIXED | RFLAGS_VM);

	/* Nothing of the refused states was taken. */
	memset(&after, 0xa5, sizeof(after));
	IOCTL_OK(self->vcpu, PVISOR_GET_REGS, &after);
	EXPECT_EQ(0, memcmp(&self->regs, &after, sizeof(after)));

	/* Canonical upper-half RIP is fine. */
	self->regs.rip = 0xffff800000000000ULL;
	IOCTL_OK(self->vcpu, PVISOR_SET_REGS, &self->regs);
}

/* A valid state that differs from the initial one in every field. */
static void busy_sregs(struct pvisor_sregs *s, unsigned int maxphyaddr)
{
	s->cr0 |= X86_CR0_MP | X86_CR0_AM;
	s->cr2 = 0xffff800012345678ULL;
	s->cr3 = ((1ULL << maxphyaddr) - PAGE) | 0x18;	/* PWT, PCD */
	s->cr4 |= 1ULL << 9 | 1ULL << 10 | 1ULL << 7;	/* OSFXSR OSXMMEXCPT PGE */
	s->efer |= EFER_SCE | EFER_NXE;
	s->gdt.base = 0xffff800000001000ULL;
	s->gdt.limit = 0x3f;
	s->idt.base = 0x2000;
	s->idt.limit = 0xfff;
	s->fs.base = 0xffff800000000000ULL;
	s->gs.base = 0x00007fffffff0000ULL;
	s->ds.limit = 0xfffff;
	s->ds.g = 0;
	s->es.base = 0xfffff000;
	s->es.avl = 1;
	s->tr.base = 0xffff800000002000ULL;
	s->ldt.unusable = 0;
	s->ldt.selector = 0x28;
	s->ldt.type = 2;
	s->ldt.present = 1;
	s->ldt.limit = 0xffff;
	s->ldt.base = 0xffff800000003000ULL;
}

TEST_F(vcpu, sregs_round_trip)
{
	struct pvisor_sregs in = self->sregs, out;

	RETURN_IF_SKIPPED();
	/* The initial state is valid as it is. */
	IOCTL_OK(self->vcpu, PVISOR_SET_SREGS, &in);
	memset(&out, 0xa5, sizeof(out));
	IOCTL_OK(self->vcpu, PVISOR_GET_SREGS, &out);
	EXPECT_EQ(0, memcmp(&in, &out, sizeof(in)));

	busy_sregs(&in, self->maxphyaddr);
	IOCTL_OK(self->vcpu, PVISOR_SET_SREGS, &in);
	memset(&out, 0xa5, sizeof(out));
	IOCTL_OK(self->vcpu, PVISOR_GET_SREGS, &out);
	EXPECT_EQ(in.cr0, out.cr0);
	EXPECT_EQ(in.cr2, out.cr2);
	EXPECT_EQ(in.cr3, out.cr3);
	EXPECT_EQ(in.cr4, out.cr4);
	EXPECT_EQ(in.efer, out.efer);
	EXPECT_EQ(in.gdt.base, out.gdt.base);
	EXPECT_EQ(in.gdt.limit, out.gdt.limit);
	EXPECT_EQ(in.idt.base, out.idt.base);
	EXPECT_EQ(in.idt.limit, out.idt.limit);
	EXPECT_EQ(0, memcmp(&in.cs, &out.cs, sizeof(in.cs)));
	EXPECT_EQ(0, memcmp(&in.ds, &out.ds, sizeof(in.ds)));
	EXPECT_EQ(0, memcmp(&in.es, &out.es, sizeof(in.es)));
	EXPECT_EQ(0, memcmp(&in.fs, &out.fs, sizeof(in.fs)));
	EXPECT_EQ(0, memcmp(&in.gs, &out.gs, sizeof(in.gs)));
	EXPECT_EQ(0, memcmp(&in.ss, &out.ss, sizeof(in.ss)));
	EXPECT_EQ(0, memcmp(&in.tr, &out.tr, sizeof(in.tr)));
	EXPECT_EQ(0, memcmp(&in.ldt, &out.ldt, sizeof(in.ldt)));
	EXPECT_EQ(0, memcmp(&in, &out, sizeof(in)));

	IOCTL_ERR(self->vcpu, PVISOR_SET_SREGS, NULL, EFAULT);
	IOCTL_ERR(self->vcpu, PVISOR_GET_SREGS, (void *)8, EFAULT);
}

static void set_sregs_expect(struct __test_metadata *_metadata, int vcpu,
			     const struct pvisor_sregs *s, int err,
			     const char *what)
{
	long ret = ioctl(vcpu, PVISOR_SET_SREGS, s);
	int e = errno;

	if (!err) {
		EXPECT_EQ(0, ret) TH_LOG("%s: %s", what, strerror(e));
		return;
	}
	EXPECT_EQ(-1, ret) TH_LOG("%s: accepted", what);
	EXPECT_EQ(err, e) TH_LOG("%s: %s, expected %s", what, strerror(e),
				 strerror(err));
}

/* Apply the statements to a copy of the valid state "s"; SET must fail. */
#define SREGS_EINVAL(...) do {						\
	struct pvisor_sregs s = self->sregs;				\
									\
	__VA_ARGS__;							\
	set_sregs_expect(_metadata, self->vcpu, &s, EINVAL, #__VA_ARGS__); \
} while (0)

#define SREGS_OK(...) do {						\
	struct pvisor_sregs s = self->sregs;				\
									\
	__VA_ARGS__;							\
	set_sregs_expect(_metadata, self->vcpu, &s, 0, #__VA_ARGS__);	\
} while (0)

static bool cpuinfo_has(const char *flag)
{
	char line[4096], word[64];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	snprintf(word, sizeof(word), " %s ", flag);
	while (!found && fgets(line, sizeof(line), f)) {
		char *nl = strchr(line, '\n');

		if (strncmp(line, "flags", 5))
			continue;
		if (nl)
			*nl = ' ';
		found = !!strstr(line, word);
	}
	fclose(f);
	return found;
}

TEST_F(vcpu, set_sregs_control_registers)
{
	static const struct {
		int bit;
		const char *flag;
	} cr4_host[] = {
		{ 11, "umip" }, { 16, "fsgsbase" }, { 18, "xsave" },
		{ 20, "smep" }, { 21, "smap" },
	};
	char what[64];
	int bit, i;

	RETURN_IF_SKIPPED();
	/* EFER: LME and LMA always, SCE and NXE at will, nothing else. */
	for (bit = 0; bit < 64; bit++) {
		uint64_t mask = 1ULL << bit;
		struct pvisor_sregs s = self->sregs;
		int err = EINVAL;

		if (mask & (EFER_LME | EFER_LMA)) {
			s.efer &= ~mask;
		} else {
			s.efer |= mask;
			if (mask & (EFER_SCE | EFER_NXE))
				err = 0;
		}
		snprintf(what, sizeof(what), "EFER %#llx",
			 (unsigned long long)s.efer);
		set_sregs_expect(_metadata, self->vcpu, &s, err, what);
	}

	/* CR0: PE ET NE WP PG always, MP EM TS AM at will, no CD NW. */
	for (bit = 0; bit < 64; bit++) {
		uint64_t mask = 1ULL << bit;
		struct pvisor_sregs s = self->sregs;
		int err = EINVAL;

		if (mask & CR0_REQUIRED) {
			s.cr0 &= ~mask;
		} else {
			s.cr0 |= mask;
			if (mask & CR0_GUEST_OWNED)
				err = 0;
		}
		snprintf(what, sizeof(what), "CR0 %#llx",
			 (unsigned long long)s.cr0);
		set_sregs_expect(_metadata, self->vcpu, &s, err, what);
	}

	/* CR4: PAE always; no VMXE, PCIDE, LA57, PKE, VME, PVI, ... */
	SREGS_EINVAL(s.cr4 &= ~X86_CR4_PAE);
	for (bit = 0; bit < 64; bit++) {
		uint64_t mask = 1ULL << bit;
		struct pvisor_sregs s = self->sregs;
		int err = mask & CR4_ALWAYS_OK ? 0 : EINVAL;

		for (i = 0; i < (int)ARRAY_SIZE(cr4_host); i++)
			if (bit == cr4_host[i].bit &&
			    cpuinfo_has(cr4_host[i].flag))
				err = 0;
		if (mask & X86_CR4_PAE)
			continue;
		s.cr4 |= mask;
		snprintf(what, sizeof(what), "CR4 %#llx",
			 (unsigned long long)s.cr4);
		set_sregs_expect(_metadata, self->vcpu, &s, err, what);
	}

	/* CR3: an address below MAXPHYADDR, PWT and PCD. */
	SREGS_OK(s.cr3 = 0x1018);
	SREGS_OK(s.cr3 = (1ULL << self->maxphyaddr) - PAGE);
	if (self->maxphyaddr < 64)
		SREGS_EINVAL(s.cr3 = 1ULL << self->maxphyaddr);
	SREGS_EINVAL(s.cr3 = 1ULL << 52);
	SREGS_EINVAL(s.cr3 = 1ULL << 63);
	for (bit = 0; bit < 12; bit++) {
		struct pvisor_sregs s = self->sregs;

		if (bit == 3 || bit == 4)
			continue;
		s.cr3 = 0x1000 | 1ULL << bit;
		snprintf(what, sizeof(what), "CR3 %#llx",
			 (unsigned long long)s.cr3);
		set_sregs_expect(_metadata, self->vcpu, &s, EINVAL, what);
	}
}

TEST_F(vcpu, set_sregs_segments)
{
	RETURN_IF_SKIPPED();
	/* CS: present, accessed, 64-bit code, DPL = RPL, base < 4 GiB. */
	SREGS_EINVAL(s.cs.l = 0);
	SREGS_EINVAL(s.cs.l = 0; s.cs.db = 1);
	SREGS_EINVAL(s.cs.db = 1);
	SREGS_EINVAL(s.cs.dpl = 3);
	SREGS_EINVAL(s.cs.selector = 0x0b);
	SREGS_EINVAL(s.cs.type = 3);
	SREGS_EINVAL(s.cs.type = 0xa);
	SREGS_EINVAL(s.cs.s = 0);
	SREGS_EINVAL(s.cs.present = 0);
	SREGS_EINVAL(s.cs.unusable = 1);
	SREGS_EINVAL(s.cs.base = 1ULL << 32);
	SREGS_OK(s.cs.type = 9);
	/* CPL 3: CS and SS agree. */
	SREGS_OK(s.cs.selector = 0x0b; s.cs.dpl = 3;
		 s.ss.selector = 0x13; s.ss.dpl = 3);

	/* SS: present read/write data, DPL = RPL = CS.RPL, or unusable. */
	SREGS_EINVAL(s.ss.type = 0xb);
	SREGS_EINVAL(s.ss.type = 1);
	SREGS_EINVAL(s.ss.s = 0);
	SREGS_EINVAL(s.ss.dpl = 3);
	SREGS_EINVAL(s.ss.selector = 0x13; s.ss.dpl = 3);
	SREGS_EINVAL(s.ss.present = 0);
	SREGS_OK(s.ss.unusable = 1);

	/* DS, ES, FS, GS: accessed, readable if code, DPL >= RPL. */
	SREGS_EINVAL(s.ds.type = 2);
	SREGS_EINVAL(s.es.type = 9);
	SREGS_EINVAL(s.ds.selector = 0x13);
	SREGS_EINVAL(s.fs.present = 0);
	SREGS_EINVAL(s.gs.s = 0);
	SREGS_EINVAL(s.ds.base = 1ULL << 32);
	SREGS_OK(s.es.type = 0xb);
	SREGS_OK(s.ds.unusable = 1; s.es.unusable = 1; s.fs.unusable = 1;
		 s.gs.unusable = 1);
	SREGS_OK(s.ds.selector = 0x13; s.ds.dpl = 3);
	SREGS_EINVAL(s.fs.base = NONCANONICAL);
	SREGS_EINVAL(s.gs.base = 0xffff7fffffffffffULL);
	SREGS_OK(s.fs.base = 0xffff800000000000ULL;
		 s.gs.base = 0x00007ffffffff000ULL);

	/* TR: a present busy 64-bit TSS in the GDT. */
	SREGS_EINVAL(s.tr.type = 9);
	SREGS_EINVAL(s.tr.type = 3);
	SREGS_EINVAL(s.tr.s = 1);
	SREGS_EINVAL(s.tr.selector = 0x1c);
	SREGS_EINVAL(s.tr.unusable = 1);
	SREGS_EINVAL(s.tr.present = 0);
	SREGS_EINVAL(s.tr.base = NONCANONICAL);

	/* LDT: unusable, or a present LDT in the GDT. */
	SREGS_OK(s.ldt.unusable = 0; s.ldt.selector = 0x28; s.ldt.type = 2;
		 s.ldt.present = 1; s.ldt.limit = 0xffff);
	SREGS_EINVAL(s.ldt.unusable = 0; s.ldt.selector = 0x28;
		     s.ldt.type = 3; s.ldt.present = 1);
	SREGS_EINVAL(s.ldt.unusable = 0; s.ldt.selector = 0x28;
		     s.ldt.type = 9; s.ldt.present = 1);
	SREGS_EINVAL(s.ldt.unusable = 0; s.ldt.selector = 0x28;
		     s.ldt.type = 2; s.ldt.present = 0);
	SREGS_EINVAL(s.ldt.unusable = 0; s.ldt.selector = 0x2c;
		     s.ldt.type = 2; s.ldt.present = 1);
	SREGS_EINVAL(s.ldt.unusable = 0; s.ldt.selector = 0x28;
		     s.ldt.type = 2; s.ldt.present = 1;
		     s.ldt.base = NONCANONICAL);

	/* Limits against granularity. */
	SREGS_EINVAL(s.ds.g = 1; s.ds.limit = 0xfffff000);
	SREGS_EINVAL(s.ds.g = 1; s.ds.limit = 0xfffffffe);
	SREGS_EINVAL(s.ds.g = 0; s.ds.limit = 0x100000);
	SREGS_OK(s.ds.g = 0; s.ds.limit = 0xfffff);
	SREGS_OK(s.ds.g = 1; s.ds.limit = 0xfff);

	/* Descriptor tables. */
	SREGS_EINVAL(s.gdt.base = NONCANONICAL);
	SREGS_EINVAL(s.idt.base = NONCANONICAL);

	/* Values a descriptor cannot hold. */
	SREGS_EINVAL(s.ds.type = 0x13);
	SREGS_EINVAL(s.ds.present = 2);
	SREGS_EINVAL(s.ds.s = 2);
	SREGS_EINVAL(s.ds.dpl = 4);
	SREGS_EINVAL(s.ds.db = 2);
	SREGS_EINVAL(s.ds.g = 2);
	SREGS_EINVAL(s.ds.avl = 2);
	SREGS_EINVAL(s.cs.l = 2);
	SREGS_EINVAL(s.ds.unusable = 2);
}

TEST_F(vcpu, set_sregs_flags_padding_reserved)
{
	struct pvisor_sregs after;
	char what[64];
	int i, j;

	RETURN_IF_SKIPPED();
	for (i = 0; i < 32; i++) {
		struct pvisor_sregs s = self->sregs;

		s.flags = 1u << i;
		snprintf(what, sizeof(what), "flags bit %d", i);
		set_sregs_expect(_metadata, self->vcpu, &s, EINVAL, what);
	}
	SREGS_EINVAL(s.padding = 1);
	for (i = 0; i < 4; i++) {
		struct pvisor_sregs s = self->sregs;

		s.reserved[i] = 1ULL << 40;
		snprintf(what, sizeof(what), "reserved[%d]", i);
		set_sregs_expect(_metadata, self->vcpu, &s, EINVAL, what);
	}
	for (i = 0; i < 3; i++) {
		struct pvisor_sregs s = self->sregs;

		s.gdt.padding[i] = 1;
		snprintf(what, sizeof(what), "gdt.padding[%d]", i);
		set_sregs_expect(_metadata, self->vcpu, &s, EINVAL, what);
		s = self->sregs;
		s.idt.padding[i] = 0x8000;
		snprintf(what, sizeof(what), "idt.padding[%d]", i);
		set_sregs_expect(_metadata, self->vcpu, &s, EINVAL, what);
	}
	for (i = 0; i < 8; i++) {
		for (j = 0; j < 9; j++) {
			struct pvisor_sregs s = self->sregs;
			struct pvisor_segment *segs[] = {
				&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss,
				&s.tr, &s.ldt,
			};

			segs[i]->padding[j] = 0x80;
			snprintf(what, sizeof(what),
				 "padding[%d] of segment %d", j, i);
			set_sregs_expect(_metadata, self->vcpu, &s, EINVAL,
					 what);
		}
	}

	/* Nothing of the refused states was taken. */
	memset(&after, 0xa5, sizeof(after));
	IOCTL_OK(self->vcpu, PVISOR_GET_SREGS, &after);
	EXPECT_EQ(0, memcmp(&self->sregs, &after, sizeof(after)));
}

struct bad_ioctl {
	unsigned long cmd;
	const char *what;
};

static void expect_enotty(struct __test_metadata *_metadata, int fd,
			  const struct bad_ioctl *bad, int n)
{
	static char buf[PAGE];
	int i;

	for (i = 0; i < n; i++) {
		memset(buf, 0, sizeof(buf));
		errno = 0;
		EXPECT_EQ(-1, ioctl(fd, bad[i].cmd, buf))
			TH_LOG("%s (%#lx) succeeded", bad[i].what, bad[i].cmd);
		EXPECT_EQ(ENOTTY, errno)
			TH_LOG("%s (%#lx): %s", bad[i].what, bad[i].cmd,
			       strerror(errno));
	}
}

TEST_F(vcpu, unknown_ioctls)
{
	static const struct bad_ioctl vm_bad[] = {
		{ _IO(PVISORIO, 0x43), "next unused VM number" },
		{ _IO(PVISORIO, 0x42), "CREATE_CHANNEL's number without its size and direction" },
		{ _IO(PVISORIO, 0x7f), "last VM number" },
		{ PVISOR_GET_API_VERSION, "system: GET_API_VERSION" },
		{ PVISOR_CHECK_EXTENSION, "system: CHECK_EXTENSION" },
		{ PVISOR_GET_VMX_INFO, "system: GET_VMX_INFO" },
		{ PVISOR_CREATE_VM, "system: CREATE_VM" },
		{ PVISOR_GET_VCPU_MMAP_SIZE, "system: GET_VCPU_MMAP_SIZE" },
		{ PVISOR_RUN, "vCPU: RUN" },
		{ PVISOR_GET_REGS, "vCPU: GET_REGS" },
		{ PVISOR_SET_SREGS, "vCPU: SET_SREGS" },
		{ _IOR(PVISORIO, 0x40, struct pvisor_memory_region),
		  "SET_MEMORY_REGION, wrong direction" },
		{ _IOW(PVISORIO, 0x40, __u64),
		  "SET_MEMORY_REGION, wrong size" },
		{ _IOW(PVISORIO, 0x41, int), "CREATE_VCPU with a size" },
		{ _IO(0xAE, 0x41), "KVM_CREATE_VCPU" },
		{ 0x5401, "TCGETS" },
	};
	static const struct bad_ioctl vcpu_bad[] = {
		{ _IO(PVISORIO, 0x85), "next unused vCPU number" },
		{ _IO(PVISORIO, 0xbf), "last vCPU number" },
		{ _IO(PVISORIO, 0xc0), "above the vCPU range" },
		{ PVISOR_SET_MEMORY_REGION, "VM: SET_MEMORY_REGION" },
		{ PVISOR_CREATE_VCPU, "VM: CREATE_VCPU" },
		{ PVISOR_GET_API_VERSION, "system: GET_API_VERSION" },
		{ PVISOR_CREATE_VM, "system: CREATE_VM" },
		{ PVISOR_GET_VMX_INFO, "system: GET_VMX_INFO" },
		{ _IOW(PVISORIO, 0x81, struct pvisor_regs),
		  "GET_REGS, wrong direction" },
		{ _IOR(PVISORIO, 0x82, struct pvisor_regs),
		  "SET_REGS, wrong direction" },
		{ _IOR(PVISORIO, 0x83, __u64), "GET_SREGS, wrong size" },
		{ _IOW(PVISORIO, 0x80, int), "RUN with a size" },
		{ _IO(0xAE, 0x80), "KVM_RUN" },
		{ 0x5401, "TCGETS" },
	};

	RETURN_IF_SKIPPED();
	expect_enotty(_metadata, self->vm, vm_bad, ARRAY_SIZE(vm_bad));
	expect_enotty(_metadata, self->vcpu, vcpu_bad, ARRAY_SIZE(vcpu_bad));
}

/* VM and vCPU fds work only in the process that created the VM. */
TEST_F(vcpu, other_process_gets_eio)
{
	struct pvisor_memory_region r;
	struct pvisor_regs regs;
	int status, fd;
	pid_t pid;
	void *mem;

	RETURN_IF_SKIPPED();
	mem = alloc_pages(1, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, mem);
	r = region(0, 0, PAGE, mem);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* Exit status: the number of the first check that failed. */
		if (ioctl(self->vm, PVISOR_CREATE_VCPU, 1) != -1 ||
		    errno != EIO)
			_exit(1);
		if (ioctl(self->vm, PVISOR_SET_MEMORY_REGION, &r) != -1 ||
		    errno != EIO)
			_exit(2);
		if (ioctl(self->vcpu, PVISOR_GET_REGS, &regs) != -1 ||
		    errno != EIO)
			_exit(3);
		if (ioctl(self->vcpu, PVISOR_SET_SREGS, &self->sregs) != -1 ||
		    errno != EIO)
			_exit(4);
		if (ioctl(self->vcpu, PVISOR_RUN, 0) != -1 || errno != EIO)
			_exit(5);
		/* The system fd is not tied to a process. */
		fd = ioctl(self->sys, PVISOR_CREATE_VM, 0);
		if (fd < 0)
			_exit(6);
		if (ioctl(fd, PVISOR_CREATE_VCPU, 0) < 0)
			_exit(7);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	/*
	 * 1-5: not EIO for CREATE_VCPU, SET_MEMORY_REGION, GET_REGS,
	 * SET_SREGS, RUN; 6, 7: the child could not make a VM of its own.
	 */
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("check %d of the child failed", WEXITSTATUS(status));

	/* The creator still can. */
	IOCTL_OK(self->vcpu, PVISOR_GET_REGS, &regs);
	IOCTL_OK(self->vm, PVISOR_SET_MEMORY_REGION, &r);
	close(IOCTL_OK(self->vm, PVISOR_CREATE_VCPU, 1));
	munmap(mem, PAGE);
}

TEST_HARNESS_MAIN

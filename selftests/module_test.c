// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading pvisor.ko: a load/unload loop leaves nothing behind,
 * and pvisor and another hypervisor (kvm_intel) each refuse cleanly when the
 * other one owns VMX, in either order.  Runs with pvisor.ko not loaded.
 */
#include <sys/mman.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "pvisor_util.h"

#define KMEMLEAK	"/sys/kernel/debug/kmemleak"

static long meminfo_kb(const char *field)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");
	size_t len = strlen(field);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			kb = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return kb;
}

static void drop_page_cache(void)
{
	sync();
	write_text("/proc/sys/vm/drop_caches", "3");
}

/* Load, check VMX on every CPU, unload. */
static void load_check_unload(struct __test_metadata *_metadata)
{
	char vmx[256], online[256];
	int ret;

	ret = load_module(pvisor_ko_path());
	ASSERT_EQ(0, ret) TH_LOG("finit_module(%s): %s", pvisor_ko_path(),
				 strerror(-ret));
	ASSERT_EQ(0, access(PVISOR_DEV, F_OK));
	ASSERT_EQ(0, read_text(PVISOR_SYSFS "/vmx_cpus", vmx, sizeof(vmx)));
	ASSERT_EQ(0, read_text("/sys/devices/system/cpu/online", online,
			       sizeof(online)));
	ASSERT_STREQ(online, vmx);
	ret = unload_module("pvisor");
	ASSERT_EQ(0, ret) TH_LOG("delete_module(pvisor): %s", strerror(-ret));
	ASSERT_FALSE(module_is_loaded("pvisor"));
	ASSERT_NE(0, access(PVISOR_DEV, F_OK));
}

FIXTURE(mod) {
	int unused;
};

FIXTURE_SETUP(mod)
{
	if (access(pvisor_ko_path(), R_OK))
		SKIP(return, "%s not found (set PVISOR_KO)", pvisor_ko_path());
	if (module_is_loaded("pvisor"))
		ASSERT_EQ(0, unload_module("pvisor"));
}

FIXTURE_TEARDOWN(mod)
{
}

TEST_F(mod, load_unload_loop)
{
	const char *env = getenv("PVISOR_LOAD_LOOPS");
	int loops = env ? atoi(env) : 50;
	long free_before, free_after, cpus = sysconf(_SC_NPROCESSORS_ONLN);
	bool kmemleak = access(KMEMLEAK, W_OK) == 0;
	char report[4096];
	int i;

	RETURN_IF_SKIPPED();

	/* Warm up so that caches and per-CPU page lists settle. */
	for (i = 0; i < 3; i++)
		load_check_unload(_metadata);
	if (kmemleak)
		ASSERT_EQ(0, write_text(KMEMLEAK, "clear"));
	drop_page_cache();
	free_before = meminfo_kb("MemFree");

	for (i = 0; i < loops; i++)
		load_check_unload(_metadata);

	drop_page_cache();
	free_after = meminfo_kb("MemFree");
	/*
	 * pvisor allocates one VMXON page per CPU at each load; a leak of
	 * that page alone would cost loops * cpus * 4 KiB.  Allow half of it
	 * as noise.
	 */
	TH_LOG("%d loads: MemFree %ld -> %ld kB", loops, free_before,
	       free_after);
	EXPECT_LT(free_before - free_after, loops * cpus * 4 / 2);

	if (!kmemleak) {
		TH_LOG("no kmemleak on this kernel: checked MemFree only");
		return;
	}
	/* kmemleak reports objects older than 5 s: scan, wait, scan. */
	ASSERT_EQ(0, write_text(KMEMLEAK, "scan"));
	sleep(6);
	ASSERT_EQ(0, write_text(KMEMLEAK, "scan"));
	ASSERT_EQ(0, read_text(KMEMLEAK, report, sizeof(report)));
	EXPECT_STREQ("", report);
}

static int kvm_create_vm(int kvm)
{
	return ioctl(kvm, KVM_CREATE_VM, 0);
}

/*
 * kvm_intel in 6.1 enters VMX when its first VM is created: whichever
 * hypervisor enters VMX first owns it, and the other must refuse cleanly.
 */
TEST_F(mod, other_hypervisor_first)
{
	int kvm, vm, kmsg, ret;

	RETURN_IF_SKIPPED();

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		SKIP(return, "/dev/kvm: %s (load kvm_intel)", strerror(errno));
	vm = kvm_create_vm(kvm);
	ASSERT_GE(vm, 0) TH_LOG("KVM_CREATE_VM: %s", strerror(errno));

	kmsg = kmsg_open_at_end();
	ASSERT_GE(kmsg, 0);
	ret = load_module(pvisor_ko_path());
	EXPECT_EQ(-EBUSY, ret) TH_LOG("finit_module: %s", strerror(-ret));
	EXPECT_TRUE(kmsg_contains(kmsg, "in use by another hypervisor"));
	EXPECT_FALSE(module_is_loaded("pvisor"));
	close(kmsg);

	/* Once KVM lets go, pvisor loads. */
	close(vm);
	load_check_unload(_metadata);
	close(kvm);
}

TEST_F(mod, pvisor_first)
{
	int kvm, vm, ret;

	RETURN_IF_SKIPPED();

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		SKIP(return, "/dev/kvm: %s (load kvm_intel)", strerror(errno));
	ret = load_module(pvisor_ko_path());
	ASSERT_EQ(0, ret) TH_LOG("finit_module: %s", strerror(-ret));

	vm = kvm_create_vm(kvm);
	EXPECT_EQ(-1, vm);
	EXPECT_EQ(EBUSY, errno) TH_LOG("KVM_CREATE_VM: %s", strerror(errno));
	if (vm >= 0)
		close(vm);

	ASSERT_EQ(0, unload_module("pvisor"));
	vm = kvm_create_vm(kvm);
	EXPECT_GE(vm, 0) TH_LOG("KVM_CREATE_VM after rmmod pvisor: %s",
				strerror(errno));
	if (vm >= 0)
		close(vm);
	close(kvm);
}

TEST_HARNESS_MAIN

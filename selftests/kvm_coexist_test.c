// SPDX-License-Identifier: GPL-2.0
/*
 * pvisor beside another hypervisor: kvm_intel (6.1) enters VMX when its
 * first VM is created, and whichever hypervisor enters VMX first owns it;
 * the other must refuse cleanly, in either order.  Runs with pvisor.ko not
 * loaded and kvm_intel loaded.
 */
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "pvisor_util.h"

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

static int kvm_create_vm(int kvm)
{
	return ioctl(kvm, KVM_CREATE_VM, 0);
}

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

// SPDX-License-Identifier: GPL-2.0
/*
 * While pvisor.ko is loaded every online CPU is in VMX root operation:
 * /sys/class/misc/pvisor/vmx_cpus lists the CPUs on which a VMX instruction
 * (VMPTRST) really succeeds, and it must equal the online CPUs.
 */
#include "kselftest_harness.h"
#include "pvisor_util.h"

TEST(vmx_on_every_online_cpu)
{
	char vmx[256], online[256];

	if (access(PVISOR_DEV, F_OK))
		SKIP(return, PVISOR_DEV " missing: pvisor.ko not loaded");
	read_cpu_lists(_metadata, vmx, online, sizeof(vmx));
	EXPECT_STREQ(online, vmx);
	EXPECT_EQ(sysconf(_SC_NPROCESSORS_ONLN), nr_vmx_cpus());
	TH_LOG("online %s, in VMX root operation %s", online, vmx);
}

TEST(vmx_cpus_is_read_only)
{
	if (access(PVISOR_DEV, F_OK))
		SKIP(return, PVISOR_DEV " missing: pvisor.ko not loaded");
	EXPECT_EQ(-EACCES, write_text(PVISOR_SYSFS "/vmx_cpus", "0"));
}

TEST_HARNESS_MAIN

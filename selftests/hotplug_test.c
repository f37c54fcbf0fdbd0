// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug with pvisor.ko loaded: a CPU going offline leaves VMX root
 * operation and one coming online enters it (the lab's two-CPU lane).
 */
#include "kselftest_harness.h"
#include "pvisor_util.h"

/* Offline and online every CPU but 0, checking VMX follows each change. */
TEST(cpu_hotplug)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	char vmx[256], online[256], path[96];
	int round, cpu;

	if (access(PVISOR_DEV, F_OK))
		SKIP(return, PVISOR_DEV " missing: pvisor.ko not loaded");
	if (n < 2)
		SKIP(return, "one CPU: nothing to offline");

	for (round = 0; round < 3; round++) {
		for (cpu = 1; cpu < n; cpu++) {
			snprintf(path, sizeof(path),
				 "/sys/devices/system/cpu/cpu%d/online", cpu);
			ASSERT_EQ(0, write_text(path, "0"))
				TH_LOG("offline cpu%d", cpu);
			read_cpu_lists(_metadata, vmx, online, sizeof(vmx));
			EXPECT_STREQ(online, vmx);
			EXPECT_EQ(n - 1, nr_vmx_cpus());

			ASSERT_EQ(0, write_text(path, "1"))
				TH_LOG("online cpu%d", cpu);
			read_cpu_lists(_metadata, vmx, online, sizeof(vmx));
			EXPECT_STREQ(online, vmx);
			EXPECT_EQ(n, nr_vmx_cpus());
		}
	}
}

TEST_HARNESS_MAIN

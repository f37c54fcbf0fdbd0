// SPDX-License-Identifier: GPL-2.0
/*
 * On a CPU without VMX, pvisor.ko refuses to load with -ENODEV and one clear
 * message, and leaves nothing behind (a second try behaves the same).
 */
#include "kselftest_harness.h"
#include "pvisor_util.h"

static bool cpu_has_vmx(void)
{
	char line[4096];
	bool vmx = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) && strstr(line, " vmx"))
			vmx = true;
	fclose(f);
	return vmx;
}

TEST(refuses_without_vmx)
{
	int attempt, kmsg, ret;

	if (cpu_has_vmx())
		SKIP(return, "this CPU has VMX");
	if (access(pvisor_ko_path(), R_OK))
		SKIP(return, "%s not found (set PVISOR_KO)", pvisor_ko_path());

	for (attempt = 0; attempt < 2; attempt++) {
		kmsg = kmsg_open_at_end();
		ASSERT_GE(kmsg, 0);
		ret = load_module(pvisor_ko_path());
		EXPECT_EQ(-ENODEV, ret) TH_LOG("finit_module: %s",
					       strerror(-ret));
		EXPECT_TRUE(kmsg_contains(kmsg, "pvisor: no VMX"));
		close(kmsg);
		EXPECT_FALSE(module_is_loaded("pvisor"));
		EXPECT_NE(0, access(PVISOR_DEV, F_OK));
	}
}

TEST_HARNESS_MAIN

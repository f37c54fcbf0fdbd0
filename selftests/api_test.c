// SPDX-License-Identifier: GPL-2.0
/*
 * System ioctls on /dev/pvisor: API version, capabilities, VMX information,
 * rejection of unknown ioctls and arguments, permissions, and many threads
 * opening and closing the device at once.
 */
#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "pvisor_util.h"

FIXTURE(sys) {
	int fd;
};

FIXTURE_SETUP(sys)
{
	PVISOR_OPEN_OR_SKIP(self->fd);
}

FIXTURE_TEARDOWN(sys)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(sys, api_version)
{
	RETURN_IF_SKIPPED();

	ASSERT_EQ(PVISOR_API_VERSION,
		  IOCTL_OK(self->fd, PVISOR_GET_API_VERSION, 0));
}

TEST_F(sys, api_version_rejects_argument)
{
	RETURN_IF_SKIPPED();

	IOCTL_ERR(self->fd, PVISOR_GET_API_VERSION, 1UL, EINVAL);
	IOCTL_ERR(self->fd, PVISOR_GET_API_VERSION, ~0UL, EINVAL);
}

TEST_F(sys, check_extension_known)
{
	RETURN_IF_SKIPPED();

	ASSERT_EQ(1, IOCTL_OK(self->fd, PVISOR_CHECK_EXTENSION,
			      PVISOR_CAP_VMX_INFO));
	ASSERT_EQ(1, IOCTL_OK(self->fd, PVISOR_CHECK_EXTENSION,
			      PVISOR_CAP_VM));
	ASSERT_EQ(8, IOCTL_OK(self->fd, PVISOR_CHECK_EXTENSION,
			      PVISOR_CAP_NR_MEMSLOTS));
	ASSERT_EQ(64, IOCTL_OK(self->fd, PVISOR_CHECK_EXTENSION,
			       PVISOR_CAP_MAX_VCPUS));
	ASSERT_EQ(16, IOCTL_OK(self->fd, PVISOR_CHECK_EXTENSION,
			       PVISOR_CAP_CHANNELS));
	ASSERT_EQ(1, IOCTL_OK(self->fd, PVISOR_CHECK_EXTENSION,
			      PVISOR_CAP_LIMITS));
}

TEST_F(sys, check_extension_unknown)
{
	static const unsigned long unknown[] = {
		0, PVISOR_CAP_LIMITS + 1, 63, 64, 0x7fffffff, 0x80000000UL,
		~0UL,
	};
	unsigned int i;

	RETURN_IF_SKIPPED();

	for (i = 0; i < ARRAY_SIZE(unknown); i++)
		EXPECT_EQ(0, ioctl(self->fd, PVISOR_CHECK_EXTENSION,
				   unknown[i]))
			TH_LOG("capability %#lx", unknown[i]);
}

TEST_F(sys, unknown_ioctls)
{
	static const struct {
		unsigned long cmd;
		const char *what;
	} bad[] = {
		{ _IO(PVISORIO, 0x05), "next unused system number" },
		{ _IO(PVISORIO, 0x3f), "last system number" },
		{ _IO(PVISORIO, 0x40), "VM range on the system fd" },
		{ _IO(PVISORIO, 0x80), "vCPU range on the system fd" },
		{ _IO(0xAE, 0x00), "another driver's type byte" },
		{ _IOW(PVISORIO, 0x00, int), "API version with a size" },
		{ _IOR(PVISORIO, 0x02, __u32), "VMX info, wrong size" },
		{ _IOW(PVISORIO, 0x02, struct pvisor_vmx_info),
		  "VMX info, wrong direction" },
		{ 0x5401, "TCGETS" },
	};
	unsigned int i;

	RETURN_IF_SKIPPED();

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, bad[i].cmd, 0))
			TH_LOG("%s (%#lx) succeeded", bad[i].what, bad[i].cmd);
		EXPECT_EQ(ENOTTY, errno)
			TH_LOG("%s (%#lx): %s", bad[i].what, bad[i].cmd,
			       strerror(errno));
	}
}

TEST_F(sys, vmx_info)
{
	struct pvisor_vmx_info info;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int i;

	RETURN_IF_SKIPPED();

	memset(&info, 0xa5, sizeof(info));
	IOCTL_OK(self->fd, PVISOR_GET_VMX_INFO, &info);

	EXPECT_NE(0, info.vmcs_revision);
	EXPECT_EQ(info.vmcs_revision, info.basic & 0x7fffffff);
	EXPECT_GT(info.vmcs_size, 0);
	EXPECT_LE(info.vmcs_size, 4096);
	EXPECT_EQ(online, info.nr_cpus_vmx);
	EXPECT_NE(0, info.pinbased_ctls);
	EXPECT_NE(0, info.procbased_ctls);
	EXPECT_NE(0, info.exit_ctls);
	EXPECT_NE(0, info.entry_ctls);
	/* Every output byte is written: no stale kernel or user memory. */
	for (i = 0; i < ARRAY_SIZE(info.reserved); i++)
		EXPECT_EQ(0, info.reserved[i]);
	EXPECT_EQ(0, info.features & ~0x3fu);
	TH_LOG("revision %#x, VMCS %u bytes, features %#x, %u CPUs",
	       info.vmcs_revision, info.vmcs_size, info.features,
	       info.nr_cpus_vmx);
}

TEST_F(sys, vmx_info_bad_pointer)
{
	RETURN_IF_SKIPPED();

	IOCTL_ERR(self->fd, PVISOR_GET_VMX_INFO, NULL, EFAULT);
	IOCTL_ERR(self->fd, PVISOR_GET_VMX_INFO, (void *)8, EFAULT);
	IOCTL_ERR(self->fd, PVISOR_GET_VMX_INFO, (void *)~0UL, EFAULT);
}

TEST_F(sys, no_read_write)
{
	char c;

	RETURN_IF_SKIPPED();

	EXPECT_EQ(-1, read(self->fd, &c, 1));
	EXPECT_EQ(-1, write(self->fd, &c, 1));
}

TEST(device_is_root_only)
{
	struct stat st;
	pid_t pid;
	int status;

	if (stat(PVISOR_DEV, &st) && errno == ENOENT)
		SKIP(return, PVISOR_DEV " missing: pvisor.ko not loaded");
	ASSERT_EQ(0, stat(PVISOR_DEV, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);

	/* An unprivileged user cannot open it. */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (open(PVISOR_DEV, O_RDWR) >= 0)
			_exit(3);
		_exit(errno == EACCES ? 0 : 4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: 2 setuid failed, 3 open succeeded, 4 wrong errno");
}

#define OPEN_THREADS	16
#define OPEN_ROUNDS	200

static void *open_close_loop(void *arg)
{
	long failures = 0;
	int i, fd;

	for (i = 0; i < OPEN_ROUNDS; i++) {
		fd = open(PVISOR_DEV, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			failures++;
			continue;
		}
		if (ioctl(fd, PVISOR_GET_API_VERSION, 0) != PVISOR_API_VERSION)
			failures++;
		if (close(fd))
			failures++;
	}
	return (void *)failures;
}

TEST(open_close_many_threads)
{
	pthread_t threads[OPEN_THREADS];
	long total = 0;
	void *failures;
	int i;

	if (access(PVISOR_DEV, F_OK))
		SKIP(return, PVISOR_DEV " missing: pvisor.ko not loaded");
	for (i = 0; i < OPEN_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL,
					    open_close_loop, NULL));
	for (i = 0; i < OPEN_THREADS; i++) {
		ASSERT_EQ(0, pthread_join(threads[i], &failures));
		total += (long)failures;
	}
	EXPECT_EQ(0, total);
}

TEST_HARNESS_MAIN

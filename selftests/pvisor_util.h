/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the pvisor selftests: opening /dev/pvisor (SKIP when the
 * module is not loaded), ioctl wrappers that name the failing ioctl and
 * errno, module loading with finit_module(2), and reading new kernel log
 * records from /dev/kmsg.
 */
#ifndef PVISOR_UTIL_H
#define PVISOR_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/pvisor.h>

#include "harness_list.h"

#ifndef BIT_ULL
#define BIT_ULL(nr)	(1ULL << (nr))
#endif

#define PVISOR_DEV	"/dev/pvisor"
#define PVISOR_SYSFS	"/sys/class/misc/pvisor"

/* Open /dev/pvisor in a fixture or test, or SKIP when the module is absent. */
#define PVISOR_OPEN_OR_SKIP(fd) do {					\
	(fd) = open(PVISOR_DEV, O_RDWR | O_CLOEXEC);			\
	if ((fd) < 0 && errno == ENOENT)				\
		SKIP(return, PVISOR_DEV " missing: pvisor.ko not loaded"); \
	ASSERT_GE((fd), 0) TH_LOG("open(" PVISOR_DEV "): %s",		\
				  strerror(errno));			\
} while (0)

/*
 * kselftest_harness.h in 6.1 runs a test's body even when its fixture setup
 * called SKIP(); every TEST_F body starts with this.
 */
#define RETURN_IF_SKIPPED() do {					\
	if (_metadata->skip)						\
		return;							\
} while (0)

/* An ioctl that must succeed; evaluates to its return value. */
#define IOCTL_OK(fd, cmd, arg) ({					\
	long __r = ioctl((fd), (cmd), (arg));				\
	ASSERT_GE(__r, 0) TH_LOG(#cmd " failed: %s", strerror(errno));	\
	__r;								\
})

/* An ioctl that must fail with errno @err. */
#define IOCTL_ERR(fd, cmd, arg, err) do {				\
	long __r = ioctl((fd), (cmd), (arg));				\
	int __e = errno;						\
	ASSERT_EQ(-1, __r) TH_LOG(#cmd " succeeded (%ld), expected %s",	\
				   __r, strerror(err));			\
	ASSERT_EQ((err), __e) TH_LOG(#cmd ": got %s, expected %s",	\
				     strerror(__e), strerror(err));	\
} while (0)

/* Read a small text file into @buf, without the trailing newline. */
static inline int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

static inline int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -errno : 0;
}

static inline const char *pvisor_ko_path(void)
{
	const char *p = getenv("PVISOR_KO");

	return p ? p : "/pvisor/pvisor.ko";
}

/* finit_module(2) directly: busybox insmod retries a failed load once. */
static inline int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret, err;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	err = errno;
	close(fd);
	return ret ? -err : 0;
}

static inline int unload_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static inline bool module_is_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/*
 * The module's reference count (every open pvisor fd holds one), or -1
 * when the kernel does not show it.
 */
static inline long module_refcnt(const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	if (read_text(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/* A /dev/kmsg reader positioned at the end of the log. */
static inline int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* True when a record logged since kmsg_open_at_end() contains @needle. */
static inline bool kmsg_contains(int fd, const char *needle)
{
	char rec[2048];
	bool found = false;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: keep going */
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, needle))
			found = true;
	}
	return found;
}

/* The CPUs in VMX root operation (sysfs) and the online CPUs. */
static inline void read_cpu_lists(struct __test_metadata *_metadata,
				  char *vmx, char *online, size_t size)
{
	ASSERT_EQ(0, read_text(PVISOR_SYSFS "/vmx_cpus", vmx, size));
	ASSERT_EQ(0, read_text("/sys/devices/system/cpu/online", online,
			       size));
}

/* CPUs in VMX root operation as PVISOR_GET_VMX_INFO counts them. */
static inline int nr_vmx_cpus(void)
{
	struct pvisor_vmx_info info;
	int fd = open(PVISOR_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, PVISOR_GET_VMX_INFO, &info))
		info.nr_cpus_vmx = -1;
	close(fd);
	return info.nr_cpus_vmx;
}

/* Load, check VMX on every CPU, unload. */
static inline void load_check_unload(struct __test_metadata *_metadata)
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

#endif /* PVISOR_UTIL_H */

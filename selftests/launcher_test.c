// SPDX-License-Identifier: GPL-2.0
/*
 * The launcher's resource control without the module: the parsing of
 * sizes, names, CPU limits and token buckets (limits.c), the guest's
 * cgroup (cgroup.c: create, enter, limits, a stale group replaced, a live
 * one refused, leave and remove) and the control socket's claim on a name
 * (control.c).  The cgroup tests SKIP where cgroup v2 is not mounted or
 * not writable.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "harness_list.h"
#include "cgroup.h"
#include "control.h"
#include "resources.h"

TEST(sizes)
{
	uint64_t v;
	char buf[32];

	ASSERT_TRUE(pvisor_parse_size("0", &v));
	EXPECT_EQ(0, v);
	ASSERT_TRUE(pvisor_parse_size("10M", &v));
	EXPECT_EQ(10ULL << 20, v);
	ASSERT_TRUE(pvisor_parse_size("3k", &v));
	EXPECT_EQ(3072, v);
	ASSERT_TRUE(pvisor_parse_size("16G", &v));
	EXPECT_EQ(16ULL << 30, v);
	EXPECT_FALSE(pvisor_parse_size("", &v));
	EXPECT_FALSE(pvisor_parse_size("-1", &v));
	EXPECT_FALSE(pvisor_parse_size(" 1", &v));
	EXPECT_FALSE(pvisor_parse_size("1T", &v));
	EXPECT_FALSE(pvisor_parse_size("1MB", &v));
	EXPECT_FALSE(pvisor_parse_size("18446744073709551616", &v));
	EXPECT_FALSE(pvisor_parse_size("17179869184G", &v));
	EXPECT_FALSE(pvisor_parse_u64("1K", &v));
	pvisor_format_size(64ULL << 20, buf, sizeof(buf));
	EXPECT_STREQ("64M", buf);
	pvisor_format_size(1536 * 1024, buf, sizeof(buf));
	EXPECT_STREQ("1536K", buf);
	pvisor_format_size(100, buf, sizeof(buf));
	EXPECT_STREQ("100", buf);
}

TEST(names)
{
	char long_name[PVISOR_NAME_MAX + 2];

	EXPECT_TRUE(pvisor_name_is_valid("web-1.a_b"));
	EXPECT_FALSE(pvisor_name_is_valid(""));
	EXPECT_FALSE(pvisor_name_is_valid("."));
	EXPECT_FALSE(pvisor_name_is_valid(".."));
	EXPECT_FALSE(pvisor_name_is_valid("a/b"));
	EXPECT_FALSE(pvisor_name_is_valid("a b"));
	memset(long_name, 'x', sizeof(long_name));
	long_name[PVISOR_NAME_MAX] = '\0';
	EXPECT_TRUE(pvisor_name_is_valid(long_name));
	long_name[PVISOR_NAME_MAX] = 'x';
	long_name[PVISOR_NAME_MAX + 1] = '\0';
	EXPECT_FALSE(pvisor_name_is_valid(long_name));
}

TEST(cpu_options)
{
	unsigned int v;
	char err[256];

	ASSERT_EQ(0, pvisor_parse_cpu_max("25", 1, &v, err, sizeof(err)));
	EXPECT_EQ(25, v);
	ASSERT_EQ(0, pvisor_parse_cpu_max("400", 4, &v, err, sizeof(err)));
	EXPECT_EQ(400, v);
	EXPECT_EQ(-1, pvisor_parse_cpu_max("401", 4, &v, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "1 to 400"));
	EXPECT_EQ(-1, pvisor_parse_cpu_max("0", 4, &v, err, sizeof(err)));
	EXPECT_EQ(-1, pvisor_parse_cpu_max("-5", 4, &v, err, sizeof(err)));
	EXPECT_EQ(-1, pvisor_parse_cpu_max("50%", 4, &v, err, sizeof(err)));
	ASSERT_EQ(0, pvisor_parse_weight("10000", &v, err, sizeof(err)));
	EXPECT_EQ(10000, v);
	EXPECT_EQ(-1, pvisor_parse_weight("0", &v, err, sizeof(err)));
	EXPECT_EQ(-1, pvisor_parse_weight("10001", &v, err, sizeof(err)));
	/* Guest memory, the module's shadow pages, the launcher. */
	EXPECT_EQ((64ULL << 20) + (2ULL << 20) + (16ULL << 20),
		  pvisor_mem_needed(64ULL << 20));
}

TEST(bucket_arithmetic)
{
	struct pvisor_bucket b;

	/* 10 MiB/s: 100 ms worth, refilled in 100 ms. */
	ASSERT_EQ(0, pvisor_bucket_from_rate(10ULL << 20, 0, 0, &b));
	EXPECT_EQ(1ULL << 20, b.size);
	EXPECT_EQ(100000000ULL, b.refill_ns);
	EXPECT_EQ(0, b.one_time_burst);
	/* An explicit bucket and burst: 64K at 1M/s is 62.5 ms. */
	ASSERT_EQ(0, pvisor_bucket_from_rate(1 << 20, 64 << 10, 4096, &b));
	EXPECT_EQ(64 << 10, b.size);
	EXPECT_EQ(62500000ULL, b.refill_ns);
	EXPECT_EQ(4096, b.one_time_burst);
	/* 3 per second: a bucket of at least 1, refilled in 1/3 s, rounded. */
	ASSERT_EQ(0, pvisor_bucket_from_rate(3, 0, 0, &b));
	EXPECT_EQ(1, b.size);
	EXPECT_EQ(333333333ULL, b.refill_ns);
	/* A huge rate still refills in at least 1 ns. */
	ASSERT_EQ(0, pvisor_bucket_from_rate(UINT64_MAX, 1, 0, &b));
	EXPECT_EQ(1, b.refill_ns);
	/* A huge bucket at 1 byte/s does not fit 64-bit nanoseconds. */
	EXPECT_EQ(-1, pvisor_bucket_from_rate(1, 1ULL << 40, 0, &b));
	EXPECT_EQ(-1, pvisor_bucket_from_rate(0, 1, 0, &b));
}

TEST(limit_keys)
{
	struct pvisor_limit_spec spec = {}, change = {};
	struct pvisor_channel_limits l;
	char err[256];

	EXPECT_EQ(1, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK, "bw=10M",
					   err, sizeof(err)));
	EXPECT_EQ(1, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK, "iops=500",
					   err, sizeof(err)));
	EXPECT_EQ(1, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK,
					   "bw-burst=1M", err, sizeof(err)));
	EXPECT_EQ(0, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK, "ro",
					   err, sizeof(err)));
	EXPECT_EQ(0, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK,
					   "tx-bw=1M", err, sizeof(err)));
	EXPECT_EQ(0, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK,
					   "bw-bucketx=1", err, sizeof(err)));
	EXPECT_EQ(-1, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK, "bw=0",
					    err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "bw=0"));
	EXPECT_EQ(-1, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK,
					    "iops=1K", err, sizeof(err)));
	EXPECT_EQ(-1, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK, "bw=",
					    err, sizeof(err)));
	ASSERT_EQ(0, pvisor_limit_spec_to_limits(&spec, PVISOR_CHAN_BLOCK, &l,
						 err, sizeof(err)));
	EXPECT_EQ(1 << 20, l.bytes[0].size);
	EXPECT_EQ(1 << 20, l.bytes[0].one_time_burst);
	EXPECT_EQ(50, l.ops[0].size);
	EXPECT_EQ(100000000ULL, l.ops[0].refill_ns);
	EXPECT_EQ(0, l.bytes[1].size);
	EXPECT_EQ(0, l.ops[1].size);
	EXPECT_EQ(0, l.flags);

	/* Network: transmit is index 0, receive index 1. */
	memset(&spec, 0, sizeof(spec));
	EXPECT_EQ(1, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_NET, "rx-bw=5M",
					   err, sizeof(err)));
	EXPECT_EQ(1, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_NET,
					   "tx-ops=100", err, sizeof(err)));
	EXPECT_EQ(0, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_NET, "bw=1M",
					   err, sizeof(err)));
	ASSERT_EQ(0, pvisor_limit_spec_to_limits(&spec, PVISOR_CHAN_NET, &l,
						 err, sizeof(err)));
	EXPECT_EQ(0, l.bytes[0].size);
	EXPECT_EQ(512 << 10, l.bytes[1].size);
	EXPECT_EQ(10, l.ops[0].size);
	EXPECT_EQ(0, l.ops[1].size);

	/* A bucket without a rate is refused, naming the key. */
	memset(&spec, 0, sizeof(spec));
	EXPECT_EQ(1, pvisor_limit_parse_kv(&spec, PVISOR_CHAN_NET,
					   "tx-bw-bucket=64K", err, sizeof(err)));
	EXPECT_EQ(-1, pvisor_limit_spec_to_limits(&spec, PVISOR_CHAN_NET, &l,
						  err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "tx-bw-bucket without tx-bw"));

	/* Merging: a new rate drops the old bucket, others stay. */
	memset(&spec, 0, sizeof(spec));
	pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK, "bw=10M", err, sizeof(err));
	pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK, "bw-bucket=4M", err,
			      sizeof(err));
	pvisor_limit_parse_kv(&spec, PVISOR_CHAN_BLOCK, "iops=100", err,
			      sizeof(err));
	pvisor_limit_parse_kv(&change, PVISOR_CHAN_BLOCK, "bw=20M", err,
			      sizeof(err));
	pvisor_limit_spec_merge(&spec, &change);
	ASSERT_EQ(0, pvisor_limit_spec_to_limits(&spec, PVISOR_CHAN_BLOCK, &l,
						 err, sizeof(err)));
	EXPECT_EQ(2 << 20, l.bytes[0].size);
	EXPECT_EQ(10, l.ops[0].size);
}

/* The cgroup v2 mount, if this process may create groups in it. */
static bool cgroup_usable(char *mount, size_t len)
{
	char probe[PATH_MAX];

	if (pvisor_cgroup_find_mount(mount, len))
		return false;
	snprintf(probe, sizeof(probe), "%s/pvisor-launcher-test-%d", mount,
		 getpid());
	if (mkdir(probe, 0755))
		return false;
	rmdir(probe);
	return true;
}

#define CGROUP_OR_SKIP(mount)						\
	do {								\
		if (!cgroup_usable(mount, sizeof(mount)))		\
			SKIP(return, "cgroup v2 not mounted or not writable"); \
	} while (0)

static bool in_cgroup(const char *mount, const char *dir)
{
	char line[PATH_MAX + 8], want[PATH_MAX + 8];
	bool found = false;
	FILE *f = fopen("/proc/self/cgroup", "r");

	if (!f)
		return false;
	snprintf(want, sizeof(want), "0::%s\n",
		 dir[strlen(mount)] ? dir + strlen(mount) : "/");
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, want))
			found = true;
	fclose(f);
	return found;
}

static bool file_has(const char *dir, const char *file, const char *s)
{
	char path[PATH_MAX + 64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, s);
}

TEST(cgroup_enter_and_leave)
{
	struct pvisor_cgroup cg;
	char mount[PATH_MAX], pid[32], home[PATH_MAX];
	uint64_t usage, throttled;

	CGROUP_OR_SKIP(mount);
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	ASSERT_EQ(0, pvisor_cgroup_enter(&cg, mount, "launcher-test"));
	strcpy(home, cg.home);
	EXPECT_TRUE(in_cgroup(mount, cg.group)) TH_LOG("not in %s", cg.group);
	EXPECT_TRUE(file_has(cg.group, "cgroup.procs", pid));
	EXPECT_EQ(0, pvisor_cgroup_cpu_stat(&cg, &usage, &throttled));
	pvisor_cgroup_leave(&cg);
	EXPECT_TRUE(in_cgroup(mount, home)) TH_LOG("not back in %s", home);
	EXPECT_NE(0, access(cg.group, F_OK)) TH_LOG("%s left behind", cg.group);
}

TEST(cgroup_limits)
{
	struct pvisor_cgroup cg;
	char mount[PATH_MAX], err[512];

	CGROUP_OR_SKIP(mount);
	ASSERT_EQ(0, pvisor_cgroup_enter(&cg, mount, "launcher-test"));
	if (access(cg.group, F_OK) || !file_has(cg.group, "../cgroup.subtree_control", "cpu")) {
		/* The controller is elsewhere: the error must say so. */
		EXPECT_EQ(-1, pvisor_cgroup_set_cpu_max(&cg, 25, err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, "cpu controller"));
		pvisor_cgroup_leave(&cg);
		SKIP(return, "no cpu controller in cgroup v2 here: %s", err);
	}
	EXPECT_EQ(0, pvisor_cgroup_set_cpu_max(&cg, 25, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_TRUE(file_has(cg.group, "cpu.max", "25000 100000"));
	EXPECT_EQ(0, pvisor_cgroup_set_cpu_max(&cg, 0, err, sizeof(err)));
	EXPECT_TRUE(file_has(cg.group, "cpu.max", "max 100000"));
	EXPECT_EQ(0, pvisor_cgroup_set_cpu_weight(&cg, 300, err, sizeof(err)));
	EXPECT_TRUE(file_has(cg.group, "cpu.weight", "300"));
	/*
	 * io.weight where iocost is built in, io.bfq.weight with BFQ, and
	 * an error that says which without either.
	 */
	if (!file_has(cg.group, "../cgroup.subtree_control", "io")) {
		TH_LOG("no io controller for the group: io.weight not tried");
	} else {
		if (!pvisor_cgroup_set_io_weight(&cg, 300, err, sizeof(err))) {
			EXPECT_TRUE(file_has(cg.group, "io.weight", "default 300") ||
				    file_has(cg.group, "io.bfq.weight", "default 300"));
		} else {
			EXPECT_NE(NULL, strstr(err, "proportional I/O policy"))
				TH_LOG("%s", err);
		}
	}
	if (file_has(cg.group, "../cgroup.subtree_control", "memory")) {
		EXPECT_EQ(0, pvisor_cgroup_set_mem_max(&cg, 256ULL << 20, err,
						       sizeof(err)));
		EXPECT_TRUE(file_has(cg.group, "memory.max", "268435456"));
	}
	pvisor_cgroup_leave(&cg);
}

TEST(cgroup_stale_group_replaced)
{
	struct pvisor_cgroup cg;
	char mount[PATH_MAX], group[PATH_MAX + 32];

	CGROUP_OR_SKIP(mount);
	snprintf(group, sizeof(group), "%s/pvisor", mount);
	mkdir(group, 0755);
	snprintf(group, sizeof(group), "%s/pvisor/launcher-test", mount);
	ASSERT_TRUE(!mkdir(group, 0755) || errno == EEXIST);
	ASSERT_EQ(0, pvisor_cgroup_enter(&cg, mount, "launcher-test"));
	EXPECT_TRUE(in_cgroup(mount, cg.group));
	pvisor_cgroup_leave(&cg);
	EXPECT_NE(0, access(group, F_OK));
}

TEST(cgroup_live_group_refused)
{
	struct pvisor_cgroup cg, other;
	char mount[PATH_MAX];
	int pipefd[2], status;
	char c;
	pid_t pid;

	CGROUP_OR_SKIP(mount);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		/* Another launcher running guest "launcher-test". */
		close(pipefd[0]);
		c = pvisor_cgroup_enter(&other, mount, "launcher-test") ? 'n' : 'y';
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	ASSERT_EQ('y', c);
	EXPECT_EQ(-1, pvisor_cgroup_enter(&cg, mount, "launcher-test"));
	EXPECT_FALSE(cg.entered);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* Its launcher died without cleaning up: the next start takes over. */
	ASSERT_EQ(0, pvisor_cgroup_enter(&cg, mount, "launcher-test"));
	pvisor_cgroup_leave(&cg);
}

FIXTURE(control)
{
	char dir[64];
};

FIXTURE_SETUP(control)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/pvisor-launcher-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	setenv("PVISOR_RUN_DIR", self->dir, 1);
}

FIXTURE_TEARDOWN(control)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/g1.sock", self->dir);
	unlink(path);
	rmdir(self->dir);
}

TEST_F(control, socket_claims_the_name)
{
	struct pvisor_control a = {}, b = {};
	struct stat st;
	char path[128];

	snprintf(path, sizeof(path), "%s/g1.sock", self->dir);
	ASSERT_EQ(0, pvisor_control_bind(&a, "g1"));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 0777);
	/* A live launcher answers: refused. */
	EXPECT_EQ(-1, pvisor_control_bind(&b, "g1"));
	/* A dead one's socket file is replaced. */
	close(a.listen_fd);
	a.listen_fd = -1;
	ASSERT_EQ(0, access(path, F_OK));
	ASSERT_EQ(0, pvisor_control_bind(&b, "g1"));
	pvisor_control_destroy(&b);
	EXPECT_NE(0, access(path, F_OK));
}

TEST_F(control, answers)
{
	struct pvisor_control ctl = { .listen_fd = -1, .name = "g1", .vm_fd = -1 };
	char *buf = NULL;
	size_t size = 0;
	FILE *out;

	out = open_memstream(&buf, &size);
	ASSERT_NE(NULL, out);
	pvisor_control_answer(&ctl, "limit cpu-max=50", out);
	pvisor_control_answer(&ctl, "limit disk0 bw=1M", out);
	pvisor_control_answer(&ctl, "limit", out);
	pvisor_control_answer(&ctl, "reboot", out);
	pvisor_control_answer(&ctl, "stats", out);
	fclose(out);
	EXPECT_NE(NULL, strstr(buf, "error: cpu-max=50: the guest runs without a cgroup"));
	EXPECT_NE(NULL, strstr(buf, "invalid: disk0: no such limit or channel"));
	EXPECT_NE(NULL, strstr(buf, "error: limit what?"));
	EXPECT_NE(NULL, strstr(buf, "error: unknown command"));
	EXPECT_NE(NULL, strstr(buf, "error: PVISOR_GET_VM_STATS: Bad file descriptor"));
	free(buf);
}

TEST_HARNESS_MAIN

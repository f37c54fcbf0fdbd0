// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's cgroup v2 group (cgroup.h).  The layout, where systemd owns
 * the tree and what is left behind are in Documentation/launcher.rst.
 *
 * Runs in the launcher's main thread (pvisor_cgroup_enter() before any
 * other thread exists) and in its control thread (setters, statistics).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"

#define PARENT_NAME	"pvisor"
#define LAUNCHER_LEAF	"pvisor-launcher"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char * const controllers[] = { "cpu", "memory", "io" };

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* @s into @dir/@file: 0 or -errno. */
static int write_file(const char *dir, const char *file, const char *s)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(s))
		err = -EIO;
	close(fd);
	return err;
}

/* @dir/@file into @buf, NUL-terminated: its length or -errno. */
static ssize_t read_file(const char *dir, const char *file, char *buf,
			 size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

int pvisor_cgroup_find_mount(char *buf, size_t len)
{
	char line[4096], *sep, *mnt;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -1;

	if (!f)
		return -1;
	/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE ... */
	while (ret && fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		mnt = line;
		for (int i = 0; i < 4 && mnt; i++) {
			mnt = strchr(mnt, ' ');
			if (mnt)
				mnt++;
		}
		if (!mnt)
			continue;
		*strchrnul(mnt, ' ') = '\0';
		snprintf(buf, len, "%s", mnt);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* Our cgroup v2 path ("/..." from the "0::" line of /proc/self/cgroup). */
static int own_cgroup(char *buf, size_t len)
{
	char line[PATH_MAX + 8];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int ret = -1;

	if (!f)
		return -1;
	while (ret && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		ret = (size_t)snprintf(buf, len, "%s", line + 3) < len ? 0 : -1;
	}
	fclose(f);
	return ret;
}

/*
 * Enable whichever of the cpu, memory and io controllers @dir has for its
 * children: 0, or the -errno of the first write that failed.
 */
static int enable_controllers(const char *dir)
{
	char avail[512], *tok, *save, op[16];
	int err = 0, ret;
	size_t i;

	if (read_file(dir, "cgroup.controllers", avail, sizeof(avail)) < 0)
		return 0;
	for (tok = strtok_r(avail, "\n ", &save); tok;
	     tok = strtok_r(NULL, "\n ", &save)) {
		for (i = 0; i < ARRAY_SIZE(controllers); i++) {
			if (strcmp(tok, controllers[i]))
				continue;
			snprintf(op, sizeof(op), "+%s", tok);
			ret = write_file(dir, "cgroup.subtree_control", op);
			if (ret && !err)
				err = ret;
		}
	}
	return err;
}

/* The first PID in @dir other than ours, 0 if none, -errno. */
static long other_pid(const char *dir)
{
	char buf[4096], *p, *end;
	long pid;
	ssize_t n;

	n = read_file(dir, "cgroup.procs", buf, sizeof(buf));
	if (n < 0)
		return n;
	for (p = buf; *p; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid != getpid())
			return pid;
	}
	return 0;
}

static int move_to(const char *dir)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_file(dir, "cgroup.procs", pid);
}

/* An rmdir that waits out the moment a group still counts exited tasks. */
static int remove_group(const char *dir)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 100; i++) {
		if (!rmdir(dir) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	return -errno;
}

static bool is_denied(int err)
{
	return err == -EACCES || err == -EPERM || err == -EROFS;
}

/*
 * Where systemd owns the tree, the launcher works in its own cgroup
 * @base, if that is delegated to us.  cgroup v2 lets a group enable
 * controllers for its children only while it holds no process (the
 * no-internal-process rule), so the launcher first steps into the leaf
 * @base/pvisor-launcher, which is also where it returns at exit; any
 * other process in @base defeats this.
 */
static int enter_delegated(struct pvisor_cgroup *cg, const char *base)
{
	char leaf[PATH_MAX];
	long pid;
	int err;

	if ((size_t)snprintf(leaf, sizeof(leaf), "%s/%s", base,
			     LAUNCHER_LEAF) >= sizeof(leaf))
		return -1;
	if (access(base, W_OK)) {
		fprintf(stderr,
			"pvisor: cgroup: %s: %s: the launcher's own cgroup is not delegated to it\n",
			base, strerror(errno));
		return -1;
	}
	if (mkdir(leaf, 0755) && errno != EEXIST) {
		fprintf(stderr, "pvisor: cgroup: mkdir %s: %s\n", leaf,
			strerror(errno));
		return -1;
	}
	err = move_to(leaf);
	if (err) {
		fprintf(stderr, "pvisor: cgroup: moving to %s: %s\n", leaf,
			strerror(-err));
		return -1;
	}
	pid = other_pid(base);
	if (pid) {
		fprintf(stderr,
			"pvisor: cgroup: the delegated cgroup %s holds other processes (PID %ld): run each launcher in a unit of its own, e.g. systemd-run --scope -p Delegate=yes pvisor run ...\n",
			base, pid);
		goto fail_back;
	}
	err = enable_controllers(base);
	if (err) {
		fprintf(stderr,
			"pvisor: cgroup: %s/cgroup.subtree_control: %s\n",
			base, strerror(-err));
		goto fail_back;
	}
	snprintf(cg->home, sizeof(cg->home), "%s", leaf);
	cg->delegated = true;
	return 0;
fail_back:
	move_to(base);
	remove_group(leaf);
	return -1;
}

/* A fresh @parent/@name: a stale one is removed, a live one refused. */
static int create_group(struct pvisor_cgroup *cg, const char *parent,
			const char *name)
{
	long pid;

	if ((size_t)snprintf(cg->group, sizeof(cg->group), "%s/%s", parent,
			     name) >= sizeof(cg->group)) {
		fprintf(stderr, "pvisor: cgroup: %s/%s: path too long\n",
			parent, name);
		goto fail;
	}
	if (!mkdir(cg->group, 0755))
		return 0;
	if (errno != EEXIST) {
		fprintf(stderr, "pvisor: cgroup: mkdir %s: %s\n", cg->group,
			strerror(errno));
		goto fail;
	}
	pid = other_pid(cg->group);
	if (pid > 0) {
		fprintf(stderr,
			"pvisor: a guest named %s is already running (PID %ld in %s)\n",
			name, pid, cg->group);
		goto fail;
	}
	/* Left by a launcher that died without cleaning up. */
	if (pid < 0 || remove_group(cg->group) || mkdir(cg->group, 0755)) {
		fprintf(stderr,
			"pvisor: cgroup: %s exists and cannot be replaced: %s\n",
			cg->group, strerror(pid < 0 ? (int)-pid : errno));
		goto fail;
	}
	return 0;
fail:
	cg->group[0] = '\0';
	return -1;
}

int pvisor_cgroup_enter(struct pvisor_cgroup *cg, const char *mount,
			const char *name)
{
	char own[PATH_MAX], base[PATH_MAX], parent[PATH_MAX + 8];
	int err;

	memset(cg, 0, sizeof(*cg));
	snprintf(cg->mount, sizeof(cg->mount), "%s", mount);
	if (own_cgroup(own, sizeof(own))) {
		fprintf(stderr,
			"pvisor: cgroup: /proc/self/cgroup has no cgroup v2 line\n");
		return -1;
	}
	snprintf(cg->home, sizeof(cg->home), "%s%s", mount,
		 strcmp(own, "/") ? own : "");
	snprintf(base, sizeof(base), "%s", mount);
	snprintf(parent, sizeof(parent), "%s/%s", base, PARENT_NAME);

	err = enable_controllers(base);
	if (!is_denied(err) && (!mkdir(parent, 0755) || errno == EEXIST))
		goto have_parent;
	if (!is_denied(err))
		err = -errno;
	if (!is_denied(err) || !strcmp(own, "/")) {
		fprintf(stderr,
			"pvisor: cgroup: cannot create %s: %s (run as root, or pass --no-cgroup to run the guest without limits)\n",
			parent, strerror(-err));
		return -1;
	}
	snprintf(base, sizeof(base), "%s", cg->home);
	if (enter_delegated(cg, base)) {
		fprintf(stderr,
			"pvisor: cgroup: %s is not writable (%s) and no delegated subtree is usable: run under systemd-run --scope -p Delegate=yes, or pass --no-cgroup to run the guest without limits\n",
			mount, strerror(-err));
		goto fail_home;
	}
	snprintf(parent, sizeof(parent), "%s/%s", base, PARENT_NAME);
	if (mkdir(parent, 0755) && errno != EEXIST) {
		fprintf(stderr, "pvisor: cgroup: mkdir %s: %s\n", parent,
			strerror(errno));
		goto fail_home;
	}
have_parent:
	/* What fails here shows as a missing cpu.max or memory.max. */
	enable_controllers(parent);
	if (create_group(cg, parent, name))
		goto fail_home;
	err = move_to(cg->group);
	if (err) {
		fprintf(stderr, "pvisor: cgroup: moving the launcher to %s: %s\n",
			cg->group, strerror(-err));
		goto fail_group;
	}
	cg->entered = true;
	return 0;
fail_group:
	remove_group(cg->group);
	cg->group[0] = '\0';
fail_home:
	/* In the delegated case the process stays in its leaf. */
	return -1;
}

/* A limit file of the group; names the controller when it is missing. */
static int set_limit(struct pvisor_cgroup *cg, const char *file,
		     const char *controller, const char *value, char *err,
		     size_t errlen)
{
	int ret = write_file(cg->group, file, value);

	if (ret == -ENOENT)
		say(err, errlen,
		    "%s/%s: no such file: the %s controller is not enabled for the guest's cgroup (is it bound to a cgroup v1 hierarchy?)",
		    cg->group, file, controller);
	else if (ret)
		say(err, errlen, "%s/%s: writing %s: %s", cg->group, file,
		    value, strerror(-ret));
	return ret ? -1 : 0;
}

int pvisor_cgroup_set_cpu_max(struct pvisor_cgroup *cg, unsigned int percent,
			      char *err, size_t errlen)
{
	char value[64];

	if (percent)
		snprintf(value, sizeof(value), "%llu 100000",
			 percent * 1000ULL);
	else
		snprintf(value, sizeof(value), "max 100000");
	return set_limit(cg, "cpu.max", "cpu", value, err, errlen);
}

int pvisor_cgroup_set_cpu_weight(struct pvisor_cgroup *cg, unsigned int weight,
				 char *err, size_t errlen)
{
	char value[32];

	snprintf(value, sizeof(value), "%u", weight);
	return set_limit(cg, "cpu.weight", "cpu", value, err, errlen);
}

/*
 * io.weight is iocost's file (CONFIG_BLK_CGROUP_IOCOST), io.bfq.weight
 * BFQ's (1 to 1000); a kernel has either, both or neither, and which one
 * acts depends on each device, so both are written where they exist.
 */
int pvisor_cgroup_set_io_weight(struct pvisor_cgroup *cg, unsigned int weight,
				char *err, size_t errlen)
{
	static const char * const files[] = { "io.weight", "io.bfq.weight" };
	static const unsigned int max[] = { 10000, 1000 };
	int ret, found = 0;
	char value[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(value, sizeof(value), "default %u",
			 weight < max[i] ? weight : max[i]);
		ret = write_file(cg->group, files[i], value);
		if (ret == -ENOENT)
			continue;
		if (ret) {
			say(err, errlen, "%s/%s: writing %s: %s", cg->group,
			    files[i], value, strerror(-ret));
			return -1;
		}
		found++;
	}
	if (!found) {
		say(err, errlen,
		    "%s: neither io.weight nor io.bfq.weight: the io controller is not enabled for the guest's cgroup, or the kernel has no proportional I/O policy (CONFIG_BLK_CGROUP_IOCOST or BFQ)",
		    cg->group);
		return -1;
	}
	return 0;
}

int pvisor_cgroup_set_mem_max(struct pvisor_cgroup *cg, uint64_t bytes,
			      char *err, size_t errlen)
{
	char value[32];

	snprintf(value, sizeof(value), "%llu", (unsigned long long)bytes);
	return set_limit(cg, "memory.max", "memory", value, err, errlen);
}

int pvisor_cgroup_cpu_stat(const struct pvisor_cgroup *cg, uint64_t *usage_usec,
			   uint64_t *throttled_usec)
{
	char buf[2048], *p;

	*usage_usec = 0;
	*throttled_usec = 0;
	if (!cg->entered || read_file(cg->group, "cpu.stat", buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "usage_usec ");
	if (p)
		*usage_usec = strtoull(p + 11, NULL, 10);
	p = strstr(buf, "throttled_usec ");
	if (p)
		*throttled_usec = strtoull(p + 15, NULL, 10);
	return 0;
}

void pvisor_cgroup_leave(struct pvisor_cgroup *cg)
{
	int err;

	if (!cg->entered)
		return;
	err = move_to(cg->home);
	if (err)
		fprintf(stderr, "pvisor: cgroup: moving back to %s: %s\n",
			cg->home, strerror(-err));
	err = remove_group(cg->group);
	if (err)
		fprintf(stderr, "pvisor: cgroup: rmdir %s: %s\n", cg->group,
			strerror(-err));
	cg->entered = false;
}

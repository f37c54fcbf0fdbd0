// SPDX-License-Identifier: GPL-2.0
/*
 * pvisor: the launcher.  A thin driver of the ioctls on /dev/pvisor.
 *
 *   pvisor info     what the module found: API version, VMX features, and
 *                   the CPUs in VMX root operation
 *   pvisor run      run a 64-bit ELF guest (lib/pvisor_boot.c builds it)
 *                   on one thread per vCPU, with a console and the disks
 *                   and networks asked for (channels.c, one I/O thread
 *                   each), in a cgroup of its own (cgroup.c) with a
 *                   control socket (control.c), and exit with its
 *                   shutdown status
 *   pvisor ps       list the running guests (control.c)
 *   pvisor limit    change a running guest's limits (control.c)
 *
 * Exit status: 0 success, 1 failure, 2 usage error; for run, the guest's
 * status, or 128 + the signal that stopped it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pvisor.h>

#include "cgroup.h"
#include "channels.h"
#include "control.h"
#include "resources.h"
#include "lib/pvisor_boot.h"

#define PVISOR_DEV	"/dev/pvisor"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define MEM_DEFAULT	(64ULL << 20)

static const char usage_text[] =
"Usage: pvisor [OPTIONS] COMMAND\n"
"\n"
"Commands:\n"
"  info        show the API version, the VMX features pvisor.ko found and\n"
"              the CPUs in VMX root operation\n"
"  run [OPTIONS] GUEST.elf [-- ARGS...]\n"
"              run a 64-bit ELF guest, with ARGS joined by spaces as its\n"
"              command line; its console is on stdin and stdout\n"
"  ps          list the running guests: vCPUs, memory, CPU time, and\n"
"              bytes, operations and throttled time of each channel\n"
"  limit NAME cpu-max=PERCENT|max | cpu-weight=N | io-weight=N |\n"
"             mem-max=SIZE\n"
"  limit NAME diskN|netN KEY=VALUE...|none\n"
"              change a limit of the running guest NAME (the keys of\n"
"              --disk and --net; none removes all of the channel's)\n"
"\n"
"Options:\n"
"  -h, --help     show this help and exit\n"
"  -V, --version  show the launcher's API version and exit\n"
"\n"
"Options of run:\n"
"  -m, --mem SIZE guest memory in bytes, or with a K, M or G suffix (powers\n"
"                 of 1024); a multiple of 2M from 2M to 512G; default 64M\n"
"  -c, --cpus N   N vCPUs, one thread each (default 1, at most what\n"
"                 pvisor.ko allows)\n"
"  --console stdio|pty\n"
"                 the console (channel 0) on stdin and stdout (default),\n"
"                 or on a new pseudo-terminal whose name goes to stderr\n"
"  -d, --disk FILE[,ro][,direct][,bw=RATE][,iops=N][,bw-bucket=SIZE]\n"
"             [,bw-burst=SIZE][,iops-bucket=N][,iops-burst=N]\n"
"                 a disk backed by FILE (its size rounded down to 512\n"
"                 bytes), read-only with ,ro, opened O_DIRECT (no host\n"
"                 page cache) with ,direct; repeatable: channels 1, 2...\n"
"                 after the console, in the order given; disk0, disk1...\n"
"                 to pvisor limit.  bw= bytes and iops= requests per\n"
"                 second; a bucket holds 100 ms of its rate unless\n"
"                 -bucket= says otherwise, and a -burst= is spent once\n"
"  -n, --net tap:NAME[,mac=xx:xx:xx:xx:xx:xx][,tx-bw=RATE][,rx-bw=RATE]\n"
"            [,tx-ops=N][,rx-ops=N][,KEY-bucket=...][,KEY-burst=...]\n"
"                 a network on the tap NAME (created if missing, needs\n"
"                 CAP_NET_ADMIN); the guest's MAC defaults to\n"
"                 52:54:00:12:34:50, 51... per network; repeatable; net0,\n"
"                 net1... to pvisor limit; limits as for --disk, with\n"
"                 transmit (guest to host) and receive apart\n"
"  -s, --stats    at exit, print each channel's counters to stderr\n"
"  --name NAME    the guest's name (A-Z a-z 0-9 _ . -, at most 64), for\n"
"                 pvisor ps and limit, its cgroup and /run/pvisor/NAME.sock;\n"
"                 default pvisor-PID\n"
"  --cpu-max PERCENT\n"
"                 at most PERCENT of one CPU (up to 100 per host CPU)\n"
"  --cpu-weight N its share of contended CPUs, 1 to 10000 (default 100)\n"
"  --io-weight N  its share of contended block devices, 1 to 10000\n"
"                 (default 100; acts where the device has iocost or BFQ)\n"
"  --mem-max SIZE at most SIZE of memory for the whole guest process\n"
"  --no-cgroup    no cgroup: run without limits where cgroup v2 is\n"
"                 missing or not writable\n"
"RATE and SIZE are bytes, or numbers with a K, M or G suffix (powers of\n"
"1024).  The guest's cgroup is <cgroup2>/pvisor/NAME, or under the\n"
"launcher's own cgroup where systemd delegated it.\n"
"\n"
"Exit status: 0 on success, 1 on failure, 2 on a usage error.  run exits\n"
"with the shutdown status (0-255) of the first vCPU that shut down, 1 if\n"
"pvisor killed the guest, 130 or 143 when SIGINT or SIGTERM stopped it.\n";

/* The SIGINT or SIGTERM that asked to stop the guest, or 0. */
static atomic_int stop_signal;

/*
 * How the run ended: the first of a vCPU's shutdown or death, a failed
 * I/O thread, or a stop signal.  Whoever sets it posts wake_main.
 */
static pthread_mutex_t outcome_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool outcome_set;
static int outcome_status;
static sem_t wake_main;

/* Set before the main thread kicks the vCPU threads out of PVISOR_RUN. */
static atomic_bool vcpus_stopping;

struct vcpu_thread {
	unsigned int id;
	int fd;
	struct pvisor_run *run;
	pthread_t thread;
	bool started;
};

static int open_dev(void)
{
	int fd = open(PVISOR_DEV, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		fprintf(stderr,
			"pvisor: %s: %s: is pvisor.ko loaded? (insmod pvisor.ko; dmesg says why it refused)\n",
			PVISOR_DEV, strerror(errno));
	else if (errno == EACCES)
		fprintf(stderr, "pvisor: %s: %s: run as root\n", PVISOR_DEV,
			strerror(errno));
	else
		fprintf(stderr, "pvisor: %s: %s\n", PVISOR_DEV,
			strerror(errno));
	return -1;
}

static void print_features(unsigned int features)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ PVISOR_VMX_FEAT_TRUE_CTLS, "true_ctls" },
		{ PVISOR_VMX_FEAT_EPT, "ept" },
		{ PVISOR_VMX_FEAT_VPID, "vpid" },
		{ PVISOR_VMX_FEAT_UNRESTRICTED, "unrestricted_guest" },
		{ PVISOR_VMX_FEAT_SHADOW_VMCS, "shadow_vmcs" },
		{ PVISOR_VMX_FEAT_PML, "pml" },
	};
	size_t i;

	printf("vmx features:");
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (features & names[i].bit)
			printf(" %s", names[i].name);
	printf("\n");
}

static int cmd_info(void)
{
	struct pvisor_vmx_info info;
	char cpus[256] = "?";
	FILE *f;
	int fd, version;

	fd = open_dev();
	if (fd < 0)
		return 1;
	version = ioctl(fd, PVISOR_GET_API_VERSION, 0);
	if (version < 0) {
		fprintf(stderr, "pvisor: PVISOR_GET_API_VERSION: %s\n",
			strerror(errno));
		goto fail;
	}
	printf("api version: %d (launcher built for %d)\n", version,
	       PVISOR_API_VERSION);
	if (ioctl(fd, PVISOR_CHECK_EXTENSION, PVISOR_CAP_VMX_INFO) <= 0) {
		fprintf(stderr, "pvisor: module lacks PVISOR_CAP_VMX_INFO\n");
		goto fail;
	}
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, PVISOR_GET_VMX_INFO, &info)) {
		fprintf(stderr, "pvisor: PVISOR_GET_VMX_INFO: %s\n",
			strerror(errno));
		goto fail;
	}
	f = fopen("/sys/class/misc/pvisor/vmx_cpus", "r");
	if (f) {
		if (!fgets(cpus, sizeof(cpus), f))
			strcpy(cpus, "?");
		cpus[strcspn(cpus, "\n")] = '\0';
		fclose(f);
	}
	printf("vmcs revision: %#x, size %u bytes\n", info.vmcs_revision,
	       info.vmcs_size);
	print_features(info.features);
	printf("cpus in vmx root operation: %u (%s)\n", info.nr_cpus_vmx,
	       cpus);
	close(fd);
	return 0;
fail:
	close(fd);
	return 1;
}

static void on_stop_signal(int sig)
{
	stop_signal = sig;
	sem_post(&wake_main);
}

static int parse_mem(const char *arg, uint64_t *mem_size)
{
	if (!pvisor_parse_size(arg, mem_size))
		fprintf(stderr,
			"pvisor run: --mem %s: not a size (bytes, or a number with a K, M or G suffix)\n",
			arg);
	else if (*mem_size < PVISOR_BOOT_MEM_MIN)
		fprintf(stderr, "pvisor run: --mem %s: less than the minimum, %lluM\n",
			arg, PVISOR_BOOT_MEM_MIN >> 20);
	else if (*mem_size > PVISOR_BOOT_MEM_MAX)
		fprintf(stderr, "pvisor run: --mem %s: more than the maximum, %lluG\n",
			arg, PVISOR_BOOT_MEM_MAX >> 30);
	else if (*mem_size % PVISOR_BOOT_MEM_ALIGN)
		fprintf(stderr, "pvisor run: --mem %s: not a multiple of %lluM\n",
			arg, PVISOR_BOOT_MEM_ALIGN >> 20);
	else
		return 0;
	return -1;
}

/* The guest's arguments joined by spaces; NULL when out of memory. */
static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s, *p;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	p = s;
	*p = '\0';
	for (i = 0; i < argc; i++) {
		if (i)
			*p++ = ' ';
		p = stpcpy(p, argv[i]);
	}
	return s;
}

/* Gives up on EINTR once the vCPUs are stopping: stdout may never drain. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR && !vcpus_stopping)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * SIGINT and SIGTERM reach only the main thread (the others block them):
 * the handler records the signal and wakes it, and it stops the vCPUs.
 */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * Record how the run ended, if nothing did before, and wake the main
 * thread; true for the first, which alone says why.
 */
static bool set_outcome(int status)
{
	bool first;

	pthread_mutex_lock(&outcome_lock);
	first = !outcome_set;
	if (first) {
		outcome_status = status;
		outcome_set = true;
	}
	pthread_mutex_unlock(&outcome_lock);
	sem_post(&wake_main);
	return first;
}

/* An I/O thread failed (it said why): the guest lost a device. */
static void on_io_failed(void)
{
	set_outcome(1);
}

/* One vCPU in its own thread, until it or another one ends the run. */
static void *vcpu_thread(void *arg)
{
	struct vcpu_thread *v = arg;
	struct pvisor_run *run = v->run;
	uint32_t len;
	int err;

	while (!vcpus_stopping) {
		if (ioctl(v->fd, PVISOR_RUN, 0)) {
			if (errno == EINTR)
				continue;
			err = errno;
			if (set_outcome(1))
				fprintf(stderr, "pvisor: PVISOR_RUN (vCPU %u): %s\n",
					v->id, strerror(err));
			break;
		}
		switch (run->exit_reason) {
		case PVISOR_EXIT_CONSOLE:
			len = run->console.len;
			if (len > PVISOR_CONSOLE_MAX)
				len = PVISOR_CONSOLE_MAX;
			if (!write_all(STDOUT_FILENO, run->console.data, len))
				continue;
			err = errno;
			if (set_outcome(1))
				fprintf(stderr, "pvisor: stdout: %s\n",
					strerror(err));
			return NULL;
		case PVISOR_EXIT_SHUTDOWN:
			set_outcome(run->shutdown.status & 0xff);
			return NULL;
		case PVISOR_EXIT_KILLED:
			if (set_outcome(1))
				fprintf(stderr,
					"pvisor: guest killed: %s (vCPU %u, VM exit reason %u, qualification 0x%llx, rip 0x%llx, data 0x%llx)\n",
					pvisor_kill_reason_name(run->killed.reason),
					v->id, run->killed.vmx_exit_reason,
					run->killed.qualification,
					run->killed.rip, run->killed.data);
			return NULL;
		default:
			if (set_outcome(1))
				fprintf(stderr,
					"pvisor: PVISOR_RUN (vCPU %u): unexpected exit reason %u\n",
					v->id, run->exit_reason);
			return NULL;
		}
	}
	return NULL;
}

/*
 * Run the guest: the I/O threads of @cs (NULL: no channels) and the
 * control thread, then a thread per vCPU; wait for the outcome, then stop
 * and join every thread.
 */
static int run_guest(struct pvisor_vm *vm, struct pvisor_chans *cs,
		     struct pvisor_control *ctl)
{
	unsigned int i, nr = vm->nr_vcpus;
	struct vcpu_thread *v;
	sigset_t block, old;
	int err;

	v = calloc(nr, sizeof(*v));
	if (!v) {
		fprintf(stderr, "pvisor: out of memory\n");
		return 1;
	}
	sem_init(&wake_main, 0, 0);
	pvisor_kick_signal_init();
	catch_stop_signals();

	/* The threads inherit the mask: stop signals go to this thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (cs) {
		cs->fatal = on_io_failed;
		if (pvisor_chans_start(cs))
			set_outcome(1);
	}
	if (!outcome_set && pvisor_control_start(ctl))
		set_outcome(1);
	for (i = 0; i < nr && !outcome_set; i++) {
		v[i].id = i;
		v[i].fd = vm->vcpu_fds ? vm->vcpu_fds[i] : vm->vcpu_fd;
		v[i].run = vm->runs ? vm->runs[i] : vm->run;
		err = pthread_create(&v[i].thread, NULL, vcpu_thread, &v[i]);
		if (err) {
			if (set_outcome(1))
				fprintf(stderr, "pvisor: the thread of vCPU %u: %s\n",
					i, strerror(err));
			break;
		}
		v[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	while (!outcome_set && !stop_signal)
		sem_wait(&wake_main);
	if (stop_signal && set_outcome(128 + stop_signal))
		fprintf(stderr, "pvisor: %s: guest stopped\n",
			stop_signal == SIGINT ? "SIGINT" : "SIGTERM");

	/* immediate_exit catches a vCPU between its check and PVISOR_RUN. */
	vcpus_stopping = true;
	for (i = 0; i < nr; i++) {
		if (!v[i].started)
			continue;
		v[i].run->immediate_exit = 1;
		pvisor_thread_stop(v[i].thread);
	}
	pvisor_control_stop(ctl);
	if (cs)
		pvisor_chans_stop(cs);
	free(v);
	return outcome_status;
}

static int parse_cpus(const char *arg, unsigned int *nr_cpus)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end || errno || n > UINT_MAX) {
		fprintf(stderr, "pvisor run: --cpus %s: not a number\n", arg);
		return -1;
	}
	if (!n) {
		fprintf(stderr, "pvisor run: --cpus 0: a guest needs at least one vCPU\n");
		return -1;
	}
	*nr_cpus = n;
	return 0;
}

/*
 * The module's PVISOR_CAP_CHANNELS, or -1.  A module without channels runs
 * guests without them, unless an option asked for one.
 */
static int channels_max(struct pvisor_vm *vm, struct pvisor_chans *cs)
{
	int max = ioctl(vm->sys_fd, PVISOR_CHECK_EXTENSION, PVISOR_CAP_CHANNELS);

	if (max < 0) {
		fprintf(stderr,
			"pvisor: PVISOR_CHECK_EXTENSION(PVISOR_CAP_CHANNELS): %s\n",
			strerror(errno));
		return -1;
	}
	if (!max && pvisor_chans_requested(cs)) {
		fprintf(stderr,
			"pvisor: this pvisor.ko has no channels (no PVISOR_CAP_CHANNELS): --disk, --net and --console pty need a newer module\n");
		return -1;
	}
	if (pvisor_chans_have_limits(cs) &&
	    ioctl(vm->sys_fd, PVISOR_CHECK_EXTENSION, PVISOR_CAP_LIMITS) <= 0) {
		fprintf(stderr,
			"pvisor: this pvisor.ko has no channel limits (no PVISOR_CAP_LIMITS): bw=, iops=, tx-bw=, rx-bw=, tx-ops= and rx-ops= need a newer module\n");
		return -1;
	}
	return max;
}

enum {
	OPT_CONSOLE = 0x100,
	OPT_NAME,
	OPT_CPU_MAX,
	OPT_CPU_WEIGHT,
	OPT_IO_WEIGHT,
	OPT_MEM_MAX,
	OPT_NO_CGROUP,
};

/* What --name, the cgroup limits and --no-cgroup asked. */
struct run_limits {
	char name[PVISOR_NAME_MAX + 1];
	unsigned int cpu_max;		/* percent; 0: not given */
	unsigned int cpu_weight;	/* 0: not given */
	unsigned int io_weight;		/* 0: not given */
	uint64_t mem_max;		/* 0: not given */
	bool no_cgroup;
};

/* One of the options above; 0, or -1 after a message (a usage error). */
static int parse_limit_opt(struct run_limits *rl, int opt, const char *arg)
{
	char err[256];

	switch (opt) {
	case OPT_NAME:
		if (!pvisor_name_is_valid(arg)) {
			fprintf(stderr,
				"pvisor run: --name %s: 1 to %d characters of A-Z a-z 0-9 _ . -\n",
				arg, PVISOR_NAME_MAX);
			return -1;
		}
		snprintf(rl->name, sizeof(rl->name), "%s", arg);
		return 0;
	case OPT_CPU_MAX:
		if (!pvisor_parse_cpu_max(arg, sysconf(_SC_NPROCESSORS_ONLN),
					  &rl->cpu_max, err, sizeof(err)))
			return 0;
		fprintf(stderr, "pvisor run: --cpu-max %s\n", err);
		return -1;
	case OPT_CPU_WEIGHT:
		if (!pvisor_parse_weight(arg, &rl->cpu_weight, err, sizeof(err)))
			return 0;
		fprintf(stderr, "pvisor run: --cpu-weight %s\n", err);
		return -1;
	case OPT_IO_WEIGHT:
		if (!pvisor_parse_weight(arg, &rl->io_weight, err, sizeof(err)))
			return 0;
		fprintf(stderr, "pvisor run: --io-weight %s\n", err);
		return -1;
	case OPT_MEM_MAX:
		if (pvisor_parse_size(arg, &rl->mem_max) && rl->mem_max)
			return 0;
		fprintf(stderr,
			"pvisor run: --mem-max %s: not a size (bytes, or a number with a K, M or G suffix)\n",
			arg);
		return -1;
	}
	rl->no_cgroup = true;
	return 0;
}

/* The options together, once all are known; 0 or -1 (a usage error). */
static int check_limits(struct run_limits *rl, uint64_t mem_size)
{
	char mem[32], max[32], need[32];

	if (rl->no_cgroup && (rl->cpu_max || rl->cpu_weight || rl->io_weight ||
			      rl->mem_max)) {
		fprintf(stderr,
			"pvisor run: --cpu-max, --cpu-weight, --io-weight and --mem-max need the guest's cgroup: drop --no-cgroup\n");
		return -1;
	}
	if (rl->mem_max && pvisor_mem_needed(mem_size) > rl->mem_max) {
		pvisor_format_size(mem_size, mem, sizeof(mem));
		pvisor_format_size(rl->mem_max, max, sizeof(max));
		pvisor_format_size(pvisor_mem_needed(mem_size), need, sizeof(need));
		fprintf(stderr,
			"pvisor run: guest memory %s does not fit --mem-max %s (the guest process needs up to %s with the module's page tables and the launcher)\n",
			mem, max, need);
		return -1;
	}
	if (!rl->name[0])
		snprintf(rl->name, sizeof(rl->name), "pvisor-%d", getpid());
	return 0;
}

/*
 * The guest's cgroup with its limits, before guest memory or any thread
 * exists, so that all of them are charged to it.  0 or -1.
 */
static int enter_cgroup(struct run_limits *rl, struct pvisor_cgroup *cg,
			struct pvisor_control *ctl)
{
	char mount[PATH_MAX], err[512];

	if (pvisor_cgroup_find_mount(mount, sizeof(mount))) {
		fprintf(stderr,
			"pvisor: no cgroup v2 hierarchy is mounted (no cgroup2 in /proc/self/mountinfo): pass --no-cgroup to run the guest without limits\n");
		return -1;
	}
	if (pvisor_cgroup_enter(cg, mount, rl->name))
		return -1;
	if ((rl->cpu_max &&
	     pvisor_cgroup_set_cpu_max(cg, rl->cpu_max, err, sizeof(err))) ||
	    (rl->cpu_weight &&
	     pvisor_cgroup_set_cpu_weight(cg, rl->cpu_weight, err, sizeof(err))) ||
	    (rl->io_weight &&
	     pvisor_cgroup_set_io_weight(cg, rl->io_weight, err, sizeof(err))) ||
	    (rl->mem_max &&
	     pvisor_cgroup_set_mem_max(cg, rl->mem_max, err, sizeof(err)))) {
		fprintf(stderr, "pvisor: %s\n", err);
		pvisor_cgroup_leave(cg);
		return -1;
	}
	ctl->cg = cg;
	ctl->cpu_max = rl->cpu_max;
	ctl->cpu_weight = rl->cpu_weight;
	ctl->io_weight = rl->io_weight;
	ctl->mem_max = rl->mem_max;
	return 0;
}

/* pvisor run [OPTIONS] GUEST.elf [-- ARGS...]; argv[0] is "run". */
static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "disk", required_argument, NULL, 'd' },
		{ "net", required_argument, NULL, 'n' },
		{ "stats", no_argument, NULL, 's' },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "cpu-max", required_argument, NULL, OPT_CPU_MAX },
		{ "cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT },
		{ "io-weight", required_argument, NULL, OPT_IO_WEIGHT },
		{ "mem-max", required_argument, NULL, OPT_MEM_MAX },
		{ "no-cgroup", no_argument, NULL, OPT_NO_CGROUP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pvisor_control ctl = { .listen_fd = -1 };
	struct run_limits rl = { .name = "" };
	uint64_t mem_size = MEM_DEFAULT;
	struct pvisor_cgroup cg = {};
	unsigned int nr_cpus = 1;
	struct pvisor_chans cs;
	struct pvisor_vm vm;
	bool stats = false;
	const char *path;
	int c, max, ret = 2;
	char *cmdline;

	if (pvisor_chans_init(&cs))
		return 1;
	argv[0] = "pvisor run";	/* getopt's messages start with argv[0] */
	optind = 0;		/* a new scan of a new argv */
	while ((c = getopt_long(argc, argv, "+m:c:d:n:sh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_mem(optarg, &mem_size))
				goto out_chans;
			break;
		case 'c':
			if (parse_cpus(optarg, &nr_cpus))
				goto out_chans;
			break;
		case OPT_CONSOLE:
			if (pvisor_chans_console_opt(&cs, optarg))
				goto out_chans;
			break;
		case 'd':
			if (pvisor_chans_disk_opt(&cs, optarg))
				goto out_chans;
			break;
		case 'n':
			if (pvisor_chans_net_opt(&cs, optarg))
				goto out_chans;
			break;
		case 's':
			stats = true;
			break;
		case OPT_NAME:
		case OPT_CPU_MAX:
		case OPT_CPU_WEIGHT:
		case OPT_IO_WEIGHT:
		case OPT_MEM_MAX:
		case OPT_NO_CGROUP:
			if (parse_limit_opt(&rl, c, optarg))
				goto out_chans;
			break;
		case 'h':
			fputs(usage_text, stdout);
			ret = 0;
			goto out_chans;
		default:
			fputs(usage_text, stderr);
			goto out_chans;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "pvisor run: no GUEST.elf given\n");
		goto out_chans;
	}
	path = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--")) {
		fprintf(stderr,
			"pvisor run: unexpected argument %s: the guest's arguments go after --\n",
			argv[optind]);
		goto out_chans;
	}
	if (optind < argc)
		optind++;
	if (check_limits(&rl, mem_size))
		goto out_chans;
	ret = 1;
	cmdline = join_args(argc - optind, argv + optind);
	if (!cmdline) {
		fprintf(stderr, "pvisor: out of memory\n");
		goto out_chans;
	}
	if (!rl.no_cgroup && enter_cgroup(&rl, &cg, &ctl))
		goto out_cmdline;
	if (pvisor_control_bind(&ctl, rl.name))
		goto out_cgroup;
	if (pvisor_chans_open(&cs))
		goto out_control;

	if (pvisor_vm_create(&vm, mem_size) ||
	    (nr_cpus > 1 && pvisor_vm_create_vcpus(&vm, nr_cpus)) ||
	    pvisor_vm_load_elf(&vm, path) ||
	    pvisor_vm_setup_boot(&vm, cmdline)) {
		fprintf(stderr, "pvisor: %s\n", vm.err);
		goto out_vm;
	}
	max = channels_max(&vm, &cs);
	if (max < 0)
		goto out_vm;
	if (max && pvisor_chans_attach(&cs, vm.vm_fd, max))
		goto out_vm;
	ctl.vm_fd = vm.vm_fd;
	ctl.nr_vcpus = vm.nr_vcpus;
	ctl.mem_bytes = vm.mem_size;
	ctl.cs = max ? &cs : NULL;
	ctl.ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	ret = run_guest(&vm, max ? &cs : NULL, &ctl);
	if (stats)
		pvisor_chans_print_stats(&cs);
out_vm:
	pvisor_vm_destroy(&vm);
out_control:
	pvisor_control_destroy(&ctl);
out_cgroup:
	pvisor_cgroup_leave(&cg);
out_cmdline:
	free(cmdline);
out_chans:
	pvisor_chans_destroy(&cs);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("pvisor launcher, API version %d\n",
			       PVISOR_API_VERSION);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "info") && optind + 1 == argc)
		return cmd_info();
	if (!strcmp(argv[optind], "run"))
		return cmd_run(argc - optind, argv + optind);
	if (!strcmp(argv[optind], "ps"))
		return pvisor_cmd_ps(argc - optind, argv + optind);
	if (!strcmp(argv[optind], "limit"))
		return pvisor_cmd_limit(argc - optind, argv + optind);
	fprintf(stderr, "pvisor: unknown command or extra arguments: %s\n",
		argv[optind]);
	fputs(usage_text, stderr);
	return 2;
}

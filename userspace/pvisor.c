// SPDX-License-Identifier: GPL-2.0
/*
 * pvisor: the launcher.  A thin driver of the ioctls on /dev/pvisor.
 *
 *   pvisor info     what the module found: API version, VMX features, and
 *                   the CPUs in VMX root operation
 *   pvisor run      run a 64-bit ELF guest on one vCPU (lib/pvisor_boot.c
 *                   builds it), copy its console to stdout, exit with its
 *                   shutdown status
 *
 * Exit status: 0 success, 1 failure, 2 usage error; for run, the guest's
 * status, or 128 + the signal that stopped it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pvisor.h>

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
"  run [--mem SIZE] GUEST.elf [-- ARGS...]\n"
"              run a 64-bit ELF guest on one vCPU, with ARGS joined by\n"
"              spaces as its command line; its console goes to stdout\n"
"\n"
"Options:\n"
"  -h, --help     show this help and exit\n"
"  -V, --version  show the launcher's API version and exit\n"
"\n"
"Options of run:\n"
"  -m, --mem SIZE guest memory in bytes, or with a K, M or G suffix (powers\n"
"                 of 1024); a multiple of 2M from 2M to 512G; default 64M\n"
"\n"
"Exit status: 0 on success, 1 on failure, 2 on a usage error.  run exits\n"
"with the guest's shutdown status (0-255), 1 if pvisor killed the guest,\n"
"130 or 143 when SIGINT or SIGTERM stopped it.\n";

/* The SIGINT or SIGTERM that asked to stop the guest, or 0. */
static atomic_int stop_signal;
/* The running vCPU's shared run structure, for the signal handler. */
static struct pvisor_run *running;

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
	/* Makes PVISOR_RUN return even if the signal came just before it. */
	if (running)
		running->immediate_exit = 1;
}

/* Bytes, with an optional K, M or G suffix (powers of 1024). */
static bool parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long n;
	int shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	}
	if (shift)
		end++;
	if (*end || n > ULLONG_MAX >> shift)
		return false;
	*bytes = n << shift;
	return true;
}

static int parse_mem(const char *arg, uint64_t *mem_size)
{
	if (!parse_size(arg, mem_size))
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

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * SIGINT and SIGTERM interrupt PVISOR_RUN (no SA_RESTART, and
 * run->immediate_exit for a signal that lands just before the call) and stop
 * the guest; any other EINTR just re-enters it.
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

static int run_vcpu(struct pvisor_vm *vm)
{
	struct pvisor_run *run = vm->run;
	uint32_t len;

	running = run;
	catch_stop_signals();
	for (;;) {
		if (stop_signal) {
			fprintf(stderr, "pvisor: %s: guest stopped\n",
				stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
			return 128 + stop_signal;
		}
		if (ioctl(vm->vcpu_fd, PVISOR_RUN, 0)) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "pvisor: PVISOR_RUN: %s\n",
				strerror(errno));
			return 1;
		}
		switch (run->exit_reason) {
		case PVISOR_EXIT_CONSOLE:
			len = run->console.len;
			if (len > PVISOR_CONSOLE_MAX)
				len = PVISOR_CONSOLE_MAX;
			if (write_all(STDOUT_FILENO, run->console.data, len)) {
				fprintf(stderr, "pvisor: stdout: %s\n",
					strerror(errno));
				return 1;
			}
			break;
		case PVISOR_EXIT_SHUTDOWN:
			return run->shutdown.status & 0xff;
		case PVISOR_EXIT_KILLED:
			fprintf(stderr,
				"pvisor: guest killed: %s (VM exit reason %u, qualification 0x%llx, rip 0x%llx)\n",
				pvisor_kill_reason_name(run->killed.reason),
				run->killed.vmx_exit_reason,
				run->killed.qualification, run->killed.rip);
			return 1;
		default:
			fprintf(stderr, "pvisor: PVISOR_RUN: unexpected exit reason %u\n",
				run->exit_reason);
			return 1;
		}
	}
}

/* pvisor run [--mem SIZE] GUEST.elf [-- ARGS...]; argv[0] is "run". */
static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t mem_size = MEM_DEFAULT;
	struct pvisor_vm vm;
	const char *path;
	char *cmdline;
	int c, ret;

	argv[0] = "pvisor run";	/* getopt's messages start with argv[0] */
	optind = 0;		/* a new scan of a new argv */
	while ((c = getopt_long(argc, argv, "+m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_mem(optarg, &mem_size))
				return 2;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "pvisor run: no GUEST.elf given\n");
		return 2;
	}
	path = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--")) {
		fprintf(stderr,
			"pvisor run: unexpected argument %s: the guest's arguments go after --\n",
			argv[optind]);
		return 2;
	}
	if (optind < argc)
		optind++;
	cmdline = join_args(argc - optind, argv + optind);
	if (!cmdline) {
		fprintf(stderr, "pvisor: out of memory\n");
		return 1;
	}

	if (pvisor_vm_create(&vm, mem_size) ||
	    pvisor_vm_load_elf(&vm, path) ||
	    pvisor_vm_setup_boot(&vm, cmdline)) {
		fprintf(stderr, "pvisor: %s\n", vm.err);
		ret = 1;
	} else {
		ret = run_vcpu(&vm);
	}
	pvisor_vm_destroy(&vm);
	free(cmdline);
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
	fprintf(stderr, "pvisor: unknown command or extra arguments: %s\n",
		argv[optind]);
	fputs(usage_text, stderr);
	return 2;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * pvisor_bench: path lengths of pvisor and of KVM on the same CPU, in
 * emulated TSC cycles (Documentation/benchmarks.rst).
 *
 *   pvisor_bench run --vmm pvisor|kvm [--label NAME]
 *	run the guest of bench_guest.c under one VMM; print a table and one
 *	"BENCH label row median min samples" line per row
 *   pvisor_bench report [FILE...]
 *	read the BENCH lines of several runs (files or stdin) and print one
 *	table with pvisor's ratio to each KVM mode
 *
 * The labels are kvm-ept and kvm-shadow (from kvm_intel's ept parameter)
 * and pvisor; the report knows those three and shows any other label too.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>

#include "bench_host.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define LABEL_MAX	32
#define MAX_RUNS	8
#define LINE_MAX_LEN	256
#define KVM_EPT_PARAM	"/sys/module/kvm_intel/parameters/ept"

static const struct {
	const char *key;
	const char *title;
} rows[BENCH_NR_ROWS] = {
	[BENCH_HYPERCALL]	= { "hypercall", "null hypercall round trip" },
	[BENCH_CPUID]		= { "cpuid", "CPUID round trip" },
	[BENCH_USER_EXIT]	= { "user-exit", "exit to userspace and back" },
	[BENCH_FIRST_TOUCH]	= { "first-touch", "first write to a mapped page, per page" },
	[BENCH_DEMAND]		= { "demand-fault", "guest demand fault, PTE store, per page" },
	[BENCH_DEMAND_BATCH]	= { "demand-batch", "  ... PV batch, 1 SET_PTE a fault" },
	[BENCH_DEMAND_AROUND]	= { "demand-around", "  ... PV batch, fault-around 16, per page" },
	[BENCH_CR3_4_TOUCH]	= { "cr3-4-touch", "CR3 load + first touch, 4 spaces" },
	[BENCH_CR3_4]		= { "cr3-4", "CR3 load alone, 4 spaces" },
	[BENCH_CR3_64_TOUCH]	= { "cr3-64-touch", "CR3 load + first touch, 64 spaces" },
	[BENCH_CR3_64]		= { "cr3-64", "CR3 load alone, 64 spaces" },
	[BENCH_FORK]		= { "fork", "fork-like churn, 64 pages, per round" },
};

/* One row of one run; median < 0: n/a. */
struct summary {
	long long median, min;
	unsigned int nr;
};

struct run {
	char label[LABEL_MAX];
	struct summary stats[BENCH_NR_ROWS];
	bool seen[BENCH_NR_ROWS];
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Per-operation costs: the TSC pair's overhead off, divided by row->per. */
static struct summary summarize(const struct bench_results *res,
				const struct bench_row *row)
{
	uint64_t v[BENCH_MAX_SAMPLES];
	struct summary s = { .median = -1, .min = -1, .nr = 0 };
	unsigned int i, n = row->nr;

	if (row->state != BENCH_ROW_DONE || !n || n > BENCH_MAX_SAMPLES ||
	    !row->per)
		return s;
	for (i = 0; i < n; i++) {
		uint64_t c = row->samples[i];

		c = c > res->overhead ? c - res->overhead : 0;
		v[i] = (c + row->per / 2) / row->per;
	}
	qsort(v, n, sizeof(v[0]), cmp_u64);
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.min = v[0];
	s.nr = n;
	return s;
}

int bench_copy_results(struct pvisor_vm *img, struct bench_results *res,
		       char *err, size_t err_len)
{
	const struct bench_results *guest;
	size_t n;
	uint32_t i;

	guest = pvisor_vm_gpa(img, (uintptr_t)&bench_results, sizeof(*res));
	if (!guest) {
		snprintf(err, err_len, "bench_results is not in guest memory");
		return -1;
	}
	memcpy(res, guest, sizeof(*res));
	res->msg[BENCH_MSG_MAX - 1] = '\0';
	if (res->failed) {
		n = snprintf(err, err_len, "guest: %s", res->msg);
		for (i = 0; i < res->nr_fail_vals && i < BENCH_FAIL_VALS &&
		     n < err_len; i++)
			n += snprintf(err + n, err_len - n, " %#llx",
				      (unsigned long long)res->fail_vals[i]);
		return -1;
	}
	if (res->magic != BENCH_MAGIC) {
		snprintf(err, err_len, "the guest left before its last row");
		return -1;
	}
	return 0;
}

static int pvisor_run_guest(struct pvisor_vm *vm, char *err, size_t err_len)
{
	const struct pvisor_run *run = vm->run;

	for (;;) {
		if (ioctl(vm->vcpu_fd, PVISOR_RUN, 0)) {
			if (errno == EINTR)
				continue;
			snprintf(err, err_len, "PVISOR_RUN: %s", strerror(errno));
			return -1;
		}
		switch (run->exit_reason) {
		case PVISOR_EXIT_CONSOLE:
		case PVISOR_EXIT_INTR:
			break;
		case PVISOR_EXIT_SHUTDOWN:
			return 0;
		case PVISOR_EXIT_KILLED:
			snprintf(err, err_len,
				 "guest killed: %s, VMX exit reason %u, qualification %#llx, RIP %#llx",
				 pvisor_kill_reason_name(run->killed.reason),
				 run->killed.vmx_exit_reason,
				 (unsigned long long)run->killed.qualification,
				 (unsigned long long)run->killed.rip);
			return -1;
		default:
			snprintf(err, err_len, "unexpected pvisor exit %u",
				 run->exit_reason);
			return -1;
		}
	}
}

int bench_load_image(struct pvisor_vm *img, char *err, size_t err_len)
{
	if (pvisor_vm_load_elf(img, "/proc/self/exe")) {
		snprintf(err, err_len, "%s", img->err);
		return -1;
	}
	if (img->image_end > BENCH_POOL_BASE) {
		snprintf(err, err_len,
			 "the image ends at %#llx, above the guest's pool at %#llx",
			 (unsigned long long)img->image_end, BENCH_POOL_BASE);
		return -1;
	}
	return 0;
}

int bench_run_pvisor(struct bench_results *res, char *err, size_t err_len)
{
	struct pvisor_vm vm;
	int ret = -1;

	if (pvisor_vm_create(&vm, BENCH_MEM_SIZE)) {
		snprintf(err, err_len, "%s", vm.err);
		goto out;
	}
	if (bench_load_image(&vm, err, err_len))
		goto out;
	vm.entry = (uintptr_t)bench_guest;
	if (pvisor_vm_setup_boot(&vm, NULL)) {
		snprintf(err, err_len, "%s", vm.err);
		goto out;
	}
	if (pvisor_run_guest(&vm, err, err_len))
		goto out;
	ret = bench_copy_results(&vm, res, err, err_len);
out:
	pvisor_vm_destroy(&vm);
	return ret;
}

static const char *kvm_label(void)
{
	FILE *f = fopen(KVM_EPT_PARAM, "r");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	if (c == 'Y' || c == '1')
		return "kvm-ept";
	if (c == 'N' || c == '0')
		return "kvm-shadow";
	return "kvm";
}

static void print_stat(FILE *out, long long v)
{
	if (v < 0)
		fprintf(out, " %14s", "n/a");
	else
		fprintf(out, " %14lld", v);
}

static int cmd_run(const char *vmm, const char *label)
{
	static struct bench_results res;
	struct utsname uts;
	char err[512];
	int i, r;

	if (!strcmp(vmm, "pvisor")) {
		r = bench_run_pvisor(&res, err, sizeof(err));
	} else if (!strcmp(vmm, "kvm")) {
		r = bench_run_kvm(&res, err, sizeof(err));
		if (!label)
			label = kvm_label();
	} else {
		fprintf(stderr, "pvisor_bench: unknown VMM '%s': pvisor or kvm\n",
			vmm);
		return 2;
	}
	if (!label)
		label = vmm;
	if (r) {
		fprintf(stderr, "pvisor_bench: %s: %s\n", label, err);
		return 1;
	}
	if (uname(&uts))
		strcpy(uts.release, "unknown");
	printf("# pvisor_bench %s, kernel %s: emulated TSC cycles per operation\n",
	       label, uts.release);
	printf("# (the %llu of one pair of TSC reads subtracted)\n",
	       (unsigned long long)res.overhead);
	printf("# %-42s %14s %14s %8s\n", "path", "median", "min", "samples");
	for (i = 0; i < BENCH_NR_ROWS; i++) {
		struct summary s = summarize(&res, &res.rows[i]);

		printf("# %-42s", rows[i].title);
		print_stat(stdout, s.median);
		print_stat(stdout, s.min);
		printf(" %8u\n", s.nr);
	}
	for (i = 0; i < BENCH_NR_ROWS; i++) {
		struct summary s = summarize(&res, &res.rows[i]);

		if (s.median < 0)
			printf("BENCH %s %s n/a\n", label, rows[i].key);
		else
			printf("BENCH %s %s %lld %lld %u\n", label, rows[i].key,
			       s.median, s.min, s.nr);
	}
	return 0;
}

static int row_by_key(const char *key)
{
	int i;

	for (i = 0; i < BENCH_NR_ROWS; i++)
		if (!strcmp(rows[i].key, key))
			return i;
	return -1;
}

static struct run *run_by_label(struct run *runs, int *nr, const char *label)
{
	int i;

	for (i = 0; i < *nr; i++)
		if (!strcmp(runs[i].label, label))
			return &runs[i];
	if (*nr == MAX_RUNS || strlen(label) >= LABEL_MAX)
		return NULL;
	memset(&runs[*nr], 0, sizeof(runs[*nr]));
	strcpy(runs[*nr].label, label);
	return &runs[(*nr)++];
}

/* Take the BENCH lines of @f; every other line is ignored. */
static int read_runs(FILE *f, const char *name, struct run *runs, int *nr)
{
	char line[LINE_MAX_LEN], label[LABEL_MAX], key[LABEL_MAX], med[24];
	long long min;
	unsigned int n;
	struct run *run;
	int row, fields;

	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "BENCH ", 6))
			continue;
		fields = sscanf(line, "BENCH %31s %31s %23s %lld %u", label,
				key, med, &min, &n);
		row = fields >= 3 ? row_by_key(key) : -1;
		run = row >= 0 ? run_by_label(runs, nr, label) : NULL;
		if (!run) {
			fprintf(stderr, "pvisor_bench: %s: cannot use: %s", name,
				line);
			return -1;
		}
		run->seen[row] = true;
		if (fields == 5) {
			run->stats[row].median = atoll(med);
			run->stats[row].min = min;
			run->stats[row].nr = n;
		} else {
			run->stats[row].median = -1;
			run->stats[row].min = -1;
		}
	}
	return 0;
}

/* The known labels first, in this order, then the others as they came. */
static int label_rank(const char *label)
{
	static const char *const order[] = { "kvm-ept", "kvm-shadow", "pvisor" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(order); i++)
		if (!strcmp(order[i], label))
			return i;
	return ARRAY_SIZE(order);
}

static int cmp_runs(const void *a, const void *b)
{
	return label_rank(((const struct run *)a)->label) -
	       label_rank(((const struct run *)b)->label);
}

static void print_cell(const struct run *run, int row)
{
	const struct summary *s = &run->stats[row];
	char cell[40];

	if (!run->seen[row])
		snprintf(cell, sizeof(cell), "-");
	else if (s->median < 0)
		snprintf(cell, sizeof(cell), "n/a");
	else
		snprintf(cell, sizeof(cell), "%lld (%lld)", s->median, s->min);
	printf(" %17s", cell);
}

/* pvisor's median over @base's, or NULL. */
static const char *ratio(const struct run *pv, const struct run *base,
			 int row, char *buf, size_t len)
{
	const struct summary *p = &pv->stats[row], *b = &base->stats[row];

	if (!pv->seen[row] || !base->seen[row] || p->median < 0 ||
	    b->median <= 0)
		return NULL;
	snprintf(buf, len, "%.2f", (double)p->median / b->median);
	return buf;
}

static int cmd_report(int nr_files, char **files)
{
	struct run runs[MAX_RUNS], *pv = NULL;
	int nr = 0, i, j;
	char buf[32];
	const char *r;

	if (!nr_files && read_runs(stdin, "stdin", runs, &nr))
		return 1;
	for (i = 0; i < nr_files; i++) {
		FILE *f = fopen(files[i], "r");
		int ret;

		if (!f) {
			fprintf(stderr, "pvisor_bench: %s: %s\n", files[i],
				strerror(errno));
			return 1;
		}
		ret = read_runs(f, files[i], runs, &nr);
		fclose(f);
		if (ret)
			return 1;
	}
	if (!nr) {
		fprintf(stderr, "pvisor_bench: no BENCH lines to report\n");
		return 1;
	}
	qsort(runs, nr, sizeof(runs[0]), cmp_runs);
	for (i = 0; i < nr; i++)
		if (!strcmp(runs[i].label, "pvisor"))
			pv = &runs[i];

	printf("Emulated TSC cycles (instructions executed in Bochs), median (min)\n\n");
	printf("%-42s", "path");
	for (i = 0; i < nr; i++)
		printf(" %17s", runs[i].label);
	for (i = 0; pv && i < nr; i++) {
		if (&runs[i] == pv)
			continue;
		/* "pvisor/LABEL" right-aligned like the other columns */
		printf(" %*s%s", 17 - (int)strlen(runs[i].label), "pvisor/",
		       runs[i].label);
	}
	printf("\n");
	for (j = 0; j < BENCH_NR_ROWS; j++) {
		printf("%-42s", rows[j].title);
		for (i = 0; i < nr; i++)
			print_cell(&runs[i], j);
		for (i = 0; pv && i < nr; i++) {
			if (&runs[i] == pv)
				continue;
			r = ratio(pv, &runs[i], j, buf, sizeof(buf));
			printf(" %17s", r ? r : "-");
		}
		printf("\n");
	}
	printf("\n");
	for (j = 0; j < BENCH_NR_ROWS; j++)
		for (i = 0; pv && i < nr; i++) {
			if (&runs[i] == pv)
				continue;
			r = ratio(pv, &runs[i], j, buf, sizeof(buf));
			printf("BENCH-RATIO pvisor/%s %s %s\n", runs[i].label,
			       rows[j].key, r ? r : "n/a");
		}
	return 0;
}

static void print_usage(FILE *out)
{
	fprintf(out,
		"usage: pvisor_bench run --vmm pvisor|kvm [--label NAME]\n"
		"       pvisor_bench report [FILE...]\n"
		"\n"
		"run     run the benchmark guest under pvisor.ko or kvm_intel (loaded\n"
		"        alone: each owns VMX) and print its table and BENCH lines;\n"
		"        KVM's label says kvm-ept or kvm-shadow, from kvm_intel's ept\n"
		"report  one table of the BENCH lines in FILEs (or stdin), with\n"
		"        pvisor's ratio to each other run\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vmm", required_argument, NULL, 'v' },
		{ "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vmm = NULL, *label = NULL, *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "+v:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			vmm = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		print_usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	if (!strcmp(cmd, "run")) {
		/* Options may also follow the command. */
		while ((c = getopt_long(argc, argv, "v:l:", opts, NULL)) != -1) {
			if (c == 'v') {
				vmm = optarg;
			} else if (c == 'l') {
				label = optarg;
			} else {
				print_usage(stderr);
				return 2;
			}
		}
		if (!vmm || optind != argc) {
			print_usage(stderr);
			return 2;
		}
		return cmd_run(vmm, label);
	}
	if (!strcmp(cmd, "report") && !vmm && !label)
		return cmd_report(argc - optind, argv + optind);
	print_usage(stderr);
	return 2;
}

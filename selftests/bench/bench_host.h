/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host half of pvisor_bench: one function per VMM that builds the
 * guest of bench_guest.c with userspace/lib/pvisor_boot, runs it to its
 * end and copies its results out.
 */
#ifndef PVISOR_BENCH_HOST_H
#define PVISOR_BENCH_HOST_H

#include <stddef.h>

#include "bench.h"
#include "pvisor_boot.h"

/* Guest memory: the image at 4 MiB, the guest's pool from 16 MiB. */
#define BENCH_MEM_SIZE	(64ULL << 20)

/*
 * Each returns 0 with the guest's results in @res, or -1 with a message
 * that names the failing step (ioctl and errno, or the guest's own
 * message) in @err.
 */
int bench_run_pvisor(struct bench_results *res, char *err, size_t err_len);
int bench_run_kvm(struct bench_results *res, char *err, size_t err_len);

/* Load /proc/self/exe into @img and check it ends below the pool. */
int bench_load_image(struct pvisor_vm *img, char *err, size_t err_len);

/* Copy the guest's bench_results out of @img's memory and check them. */
int bench_copy_results(struct pvisor_vm *img, struct bench_results *res,
		       char *err, size_t err_len);

#endif /* PVISOR_BENCH_HOST_H */

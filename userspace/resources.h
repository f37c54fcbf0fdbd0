/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The launcher's resource limits as the user writes them: sizes and rates
 * with K, M and G suffixes, guest names, CPU percentages, and the token
 * bucket keys of --disk, --net and `pvisor limit` (bw=, iops=, tx-bw=...)
 * turned into struct pvisor_channel_limits.
 *
 * Pure functions of their arguments, no I/O: messages go into a caller's
 * buffer so that the option parser and the control socket can both say
 * what is wrong (selftests/launcher_test.c tests them on any host).
 */
#ifndef PVISOR_RESOURCES_H
#define PVISOR_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/pvisor.h>
#include <linux/pvisor_para.h>

#define PVISOR_NAME_MAX		64

/* The buckets of a channel: bytes[0], bytes[1], ops[0], ops[1]. */
#define PVISOR_LIMIT_BYTES0	0
#define PVISOR_LIMIT_BYTES1	1
#define PVISOR_LIMIT_OPS0	2
#define PVISOR_LIMIT_OPS1	3
#define PVISOR_NR_LIMITS	4

/*
 * What the user asked for a channel: per bucket a rate (bytes or
 * operations per second), a bucket size and a one-time burst; 0 is
 * "not given" (a bucket of 0 then means rate / 10, at least 1).
 */
struct pvisor_limit_spec {
	uint64_t rate[PVISOR_NR_LIMITS];
	uint64_t size[PVISOR_NR_LIMITS];
	uint64_t burst[PVISOR_NR_LIMITS];
};

/* Bytes, or a number with a K, M or G suffix (powers of 1024). */
bool pvisor_parse_size(const char *s, uint64_t *bytes);

/* A plain decimal number without sign, that fits 64 bits. */
bool pvisor_parse_u64(const char *s, uint64_t *n);

/* "64M", "1536K", "100": the shortest exact way to write @bytes. */
void pvisor_format_size(uint64_t bytes, char *buf, size_t len);

/*
 * What memory.max must allow for a guest of @mem bytes: its memory, the
 * module's shadow page tables (at most one page per 32 guest pages) and
 * 16M for the launcher.
 */
uint64_t pvisor_mem_needed(uint64_t mem);

/* [A-Za-z0-9_.-], 1 to PVISOR_NAME_MAX characters, not "." or "..". */
bool pvisor_name_is_valid(const char *name);

/*
 * --cpu-max PERCENT: 1 to 100 * @ncpus; 0 and an error message in @err
 * otherwise.
 */
int pvisor_parse_cpu_max(const char *s, unsigned int ncpus,
			 unsigned int *percent, char *err, size_t errlen);

/* --cpu-weight N and --io-weight N: 1 to 10000. */
int pvisor_parse_weight(const char *s, unsigned int *weight, char *err,
			size_t errlen);

/*
 * The bucket of a rate: size @size (0: @rate / 10, at least 1), refilled
 * in size * 1e9 / rate nanoseconds (rounded, at least 1), with
 * @one_time_burst.  -1 when the refill time does not fit 64 bits.
 */
int pvisor_bucket_from_rate(uint64_t rate, uint64_t size,
			    uint64_t one_time_burst, struct pvisor_bucket *b);

/*
 * One KEY=VALUE of a channel of @type (PVISOR_CHAN_BLOCK or _NET) into
 * @spec: bw, iops, bw-bucket, bw-burst, iops-bucket, iops-burst for a
 * disk; tx-bw, rx-bw, tx-ops, rx-ops and their -bucket and -burst for a
 * network.  Returns 1 for a limit key, 0 for a key that is not one (the
 * caller's own, such as ro or mac=), -1 with a message for a bad value.
 */
int pvisor_limit_parse_kv(struct pvisor_limit_spec *spec, uint32_t type,
			  const char *kv, char *err, size_t errlen);

/* Whether @spec asks for any limit. */
bool pvisor_limit_spec_is_set(const struct pvisor_limit_spec *spec);

/*
 * Apply the keys given in @change on top of @cur: a new rate takes the
 * bucket and burst given with it, or the defaults; a bucket or burst
 * alone changes that of the current rate (pvisor_limit_spec_to_limits()
 * refuses one without a rate).
 */
void pvisor_limit_spec_merge(struct pvisor_limit_spec *cur,
			     const struct pvisor_limit_spec *change);

/*
 * The ioctl's structure for @spec; 0, or -1 with a message (a bucket
 * without a rate, a refill time that overflows).
 */
int pvisor_limit_spec_to_limits(const struct pvisor_limit_spec *spec,
				uint32_t type, struct pvisor_channel_limits *l,
				char *err, size_t errlen);

#endif /* PVISOR_RESOURCES_H */

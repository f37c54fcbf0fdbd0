// SPDX-License-Identifier: GPL-2.0
/*
 * The launcher's resource limits as the user writes them (resources.h).
 * Integer arithmetic only; nothing here does I/O.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resources.h"

#define NSEC_PER_SEC	1000000000ULL
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

bool pvisor_parse_u64(const char *s, uint64_t *n)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*n = v;
	return true;
}

bool pvisor_parse_size(const char *s, uint64_t *bytes)
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

void pvisor_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char suffix[] = "KMG";
	int i = -1;

	while (i < 2 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes,
			 suffix[i]);
}

uint64_t pvisor_mem_needed(uint64_t mem)
{
	return mem + mem / 32 + (16ULL << 20);
}

bool pvisor_name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (!len || len > PVISOR_NAME_MAX || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return false;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && !strchr("_.-", *name))
			return false;
	return true;
}

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int pvisor_parse_cpu_max(const char *s, unsigned int ncpus,
			 unsigned int *percent, char *err, size_t errlen)
{
	uint64_t n;

	if (!pvisor_parse_u64(s, &n)) {
		say(err, errlen, "%s: not a percentage (a whole number)", s);
		return -1;
	}
	if (n < 1 || n > 100ULL * ncpus) {
		say(err, errlen,
		    "%s: out of range: 1 to %u (percent of one CPU, %u CPUs)",
		    s, 100 * ncpus, ncpus);
		return -1;
	}
	*percent = n;
	return 0;
}

int pvisor_parse_weight(const char *s, unsigned int *weight, char *err,
			size_t errlen)
{
	uint64_t n;

	if (!pvisor_parse_u64(s, &n) || n < 1 || n > 10000) {
		say(err, errlen, "%s: not a weight from 1 to 10000", s);
		return -1;
	}
	*weight = n;
	return 0;
}

int pvisor_bucket_from_rate(uint64_t rate, uint64_t size,
			    uint64_t one_time_burst, struct pvisor_bucket *b)
{
	unsigned __int128 ns;

	if (!rate)
		return -1;
	if (!size)
		size = rate / 10 ? rate / 10 : 1;
	ns = ((unsigned __int128)size * NSEC_PER_SEC + rate / 2) / rate;
	if (ns > UINT64_MAX)
		return -1;
	b->size = size;
	b->refill_ns = ns ? (uint64_t)ns : 1;
	b->one_time_burst = one_time_burst;
	return 0;
}

/* The limit keys: NAME, NAME-bucket and NAME-burst of each. */
static const struct {
	uint32_t type;
	const char *name;
	int bucket;
	bool bytes;
} limit_keys[] = {
	{ PVISOR_CHAN_BLOCK, "bw", PVISOR_LIMIT_BYTES0, true },
	{ PVISOR_CHAN_BLOCK, "iops", PVISOR_LIMIT_OPS0, false },
	{ PVISOR_CHAN_NET, "tx-bw", PVISOR_LIMIT_BYTES0, true },
	{ PVISOR_CHAN_NET, "rx-bw", PVISOR_LIMIT_BYTES1, true },
	{ PVISOR_CHAN_NET, "tx-ops", PVISOR_LIMIT_OPS0, false },
	{ PVISOR_CHAN_NET, "rx-ops", PVISOR_LIMIT_OPS1, false },
};

enum { FIELD_RATE, FIELD_SIZE, FIELD_BURST };

int pvisor_limit_parse_kv(struct pvisor_limit_spec *spec, uint32_t type,
			  const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '='), *value, *rest;
	size_t i, n, keylen;
	int field = -1;
	uint64_t v;
	bool ok;

	if (!eq)
		return 0;
	keylen = eq - kv;
	value = eq + 1;
	for (i = 0; i < ARRAY_SIZE(limit_keys); i++) {
		n = strlen(limit_keys[i].name);
		if (limit_keys[i].type != type || keylen < n ||
		    strncmp(kv, limit_keys[i].name, n))
			continue;
		rest = kv + n;
		if (rest == eq)
			field = FIELD_RATE;
		else if (eq - rest == 7 && !strncmp(rest, "-bucket", 7))
			field = FIELD_SIZE;
		else if (eq - rest == 6 && !strncmp(rest, "-burst", 6))
			field = FIELD_BURST;
		else
			continue;
		break;
	}
	if (field < 0)
		return 0;
	ok = limit_keys[i].bytes ? pvisor_parse_size(value, &v) :
				   pvisor_parse_u64(value, &v);
	if (!ok) {
		say(err, errlen, "%.*s=%s: not %s", (int)keylen, kv, value,
		    limit_keys[i].bytes ?
		    "a number of bytes (with an optional K, M or G suffix)" :
		    "a number of operations");
		return -1;
	}
	if (!v && field != FIELD_BURST) {
		say(err, errlen, "%.*s=%s: must be at least 1 (to remove a limit: none)",
		    (int)keylen, kv, value);
		return -1;
	}
	switch (field) {
	case FIELD_RATE:
		spec->rate[limit_keys[i].bucket] = v;
		break;
	case FIELD_SIZE:
		spec->size[limit_keys[i].bucket] = v;
		break;
	default:
		spec->burst[limit_keys[i].bucket] = v;
		break;
	}
	return 1;
}

bool pvisor_limit_spec_is_set(const struct pvisor_limit_spec *spec)
{
	int i;

	for (i = 0; i < PVISOR_NR_LIMITS; i++)
		if (spec->rate[i] || spec->size[i] || spec->burst[i])
			return true;
	return false;
}

static const char *bucket_name(uint32_t type, int i)
{
	static const char * const disk[] = { "bw", "", "iops", "" };
	static const char * const net[] = { "tx-bw", "rx-bw", "tx-ops", "rx-ops" };

	return type == PVISOR_CHAN_NET ? net[i] : disk[i];
}

void pvisor_limit_spec_merge(struct pvisor_limit_spec *cur,
			     const struct pvisor_limit_spec *change)
{
	struct pvisor_limit_spec next = *cur;
	int i;

	for (i = 0; i < PVISOR_NR_LIMITS; i++) {
		if (change->rate[i]) {
			next.rate[i] = change->rate[i];
			next.size[i] = change->size[i];
			next.burst[i] = change->burst[i];
			continue;
		}
		if (change->size[i])
			next.size[i] = change->size[i];
		if (change->burst[i])
			next.burst[i] = change->burst[i];
	}
	*cur = next;
}

int pvisor_limit_spec_to_limits(const struct pvisor_limit_spec *spec,
				uint32_t type, struct pvisor_channel_limits *l,
				char *err, size_t errlen)
{
	struct pvisor_bucket *b;
	int i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < PVISOR_NR_LIMITS; i++) {
		b = i < 2 ? &l->bytes[i] : &l->ops[i - 2];
		if (!spec->rate[i] && (spec->size[i] || spec->burst[i])) {
			say(err, errlen, "%s-%s without %s: a bucket needs a rate",
			    bucket_name(type, i),
			    spec->size[i] ? "bucket" : "burst",
			    bucket_name(type, i));
			return -1;
		}
		if (!spec->rate[i])
			continue;
		if (pvisor_bucket_from_rate(spec->rate[i], spec->size[i],
					    spec->burst[i], b)) {
			say(err, errlen,
			    "%s=%llu with a bucket of %llu: the refill time overflows",
			    bucket_name(type, i),
			    (unsigned long long)spec->rate[i],
			    (unsigned long long)spec->size[i]);
			return -1;
		}
	}
	return 0;
}

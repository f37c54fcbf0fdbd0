// SPDX-License-Identifier: GPL-2.0
/*
 * Token buckets: the rate limits of a channel's queues.
 *
 * A bucket holds up to cfg.size tokens (bytes or requests) and refills
 * from empty to full in cfg.refill_ns, continuously; cfg.one_time_burst
 * tokens more are spent first and never come back.  It starts full when
 * it is set.  A request waits until the bucket holds as many tokens as it
 * costs, or a full bucket if it costs more than the bucket holds; then it
 * takes them all, and a large request leaves the bucket below zero.  So a
 * stream of requests gets the rate size / refill_ns over time, whatever
 * their sizes, and nothing is split or dropped.
 *
 * Everything is integer nanoseconds.  Sizes and refill times are limited
 * (pvisor_tb_check()) so that no product below overflows: elapsed time is
 * only ever multiplied while it is below refill_ns.
 */
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/time64.h>

#include "throttle.h"

/* 2^50: a petabyte per bucket, or 13 days to refill one. */
#define TB_MAX		BIT_ULL(50)
/* Waits are computed up to this, then recomputed after it. */
#define TB_WAIT_MAX	NSEC_PER_SEC

int pvisor_tb_check(const struct pvisor_bucket *cfg)
{
	if (!cfg->size)
		return cfg->one_time_burst || cfg->refill_ns ? -EINVAL : 0;
	if (cfg->size > TB_MAX || !cfg->refill_ns || cfg->refill_ns > TB_MAX ||
	    cfg->one_time_burst > TB_MAX)
		return -EINVAL;
	return 0;
}

void pvisor_tb_set(struct pvisor_tbucket *b, const struct pvisor_bucket *cfg,
		   u64 now)
{
	b->cfg = *cfg;
	b->burst = cfg->one_time_burst;
	b->budget = cfg->size;
	b->last_ns = now;
}

static void tb_refill(struct pvisor_tbucket *b, u64 now)
{
	u64 size = b->cfg.size, refill = b->cfg.refill_ns;
	u64 elapsed = now - b->last_ns, periods, need, tokens;

	if (b->budget >= (s64)size) {
		b->last_ns = now;
		return;
	}
	/* Whole periods first: each brings @size tokens. */
	need = DIV64_U64_ROUND_UP(size - b->budget, size);
	periods = div64_u64(elapsed, refill);
	if (periods >= need) {
		b->budget = size;
		b->last_ns = now;
		return;
	}
	b->budget += periods * size;
	b->last_ns += periods * refill;
	elapsed -= periods * refill;
	/* Then the part of one: elapsed < refill, so this cannot overflow. */
	tokens = mul_u64_u64_div_u64(elapsed, size, refill);
	if (!tokens)
		return;
	b->budget = min_t(s64, size, b->budget + tokens);
	/* Only the time those whole tokens took: no fraction is lost. */
	b->last_ns += mul_u64_u64_div_u64(tokens, refill, size);
}

/* Nanoseconds until @tokens may be taken: 0 if now. */
u64 pvisor_tb_wait_ns(struct pvisor_tbucket *b, u64 tokens, u64 now)
{
	u64 size = b->cfg.size, refill = b->cfg.refill_ns, missing, q;
	s64 have;

	if (!size)
		return 0;
	tb_refill(b, now);
	tokens = min(tokens, size);
	have = b->budget + (s64)b->burst;
	if (have >= (s64)tokens)
		return 0;
	missing = tokens - have;	/* have < tokens: positive */
	/* Burst tokens never refill: only the budget's refill counts. */
	q = missing / size;
	if (q >= TB_WAIT_MAX / refill + 1)
		return TB_WAIT_MAX;
	/* Rounded up by a nanosecond: never wake before the tokens. */
	return min_t(u64, TB_WAIT_MAX,
		     q * refill +
		     mul_u64_u64_div_u64(missing % size, refill, size) + 1);
}

void pvisor_tb_take(struct pvisor_tbucket *b, u64 tokens)
{
	u64 from_burst;

	if (!b->cfg.size)
		return;
	from_burst = min(tokens, b->burst);
	b->burst -= from_burst;
	b->budget -= tokens - from_burst;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Token buckets for channels (throttle.c, Documentation/api.rst
 * "PVISOR_CHANNEL_SET_LIMITS").  Integer nanosecond arithmetic; the caller
 * serializes access to a bucket.
 */
#ifndef PVISOR_THROTTLE_H
#define PVISOR_THROTTLE_H

#include <linux/types.h>
#include <linux/pvisor.h>

struct pvisor_tbucket {
	struct pvisor_bucket cfg;	/* as set; cfg.size 0: no limit */
	u64 burst;		/* one-time tokens left */
	s64 budget;		/* refilling tokens; below 0 after a large take */
	u64 last_ns;		/* budget is up to date at this time */
};

int pvisor_tb_check(const struct pvisor_bucket *cfg);
void pvisor_tb_set(struct pvisor_tbucket *b, const struct pvisor_bucket *cfg,
		   u64 now);
u64 pvisor_tb_wait_ns(struct pvisor_tbucket *b, u64 tokens, u64 now);
void pvisor_tb_take(struct pvisor_tbucket *b, u64 tokens);

#endif /* PVISOR_THROTTLE_H */

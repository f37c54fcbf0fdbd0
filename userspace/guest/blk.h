/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block devices: the PVISOR_CHAN_BLOCK channels, one request queue each.
 * Offsets and lengths are in bytes, multiples of 512 (pvisor answers
 * -PVISOR_EINVAL otherwise); buffers are kit pointers, which are their
 * guest-physical addresses (kit.h), physically contiguous for their whole
 * length (static data, or page_alloc_contig()).
 *
 * Synchronous calls return 0 or the first -PVISOR_E* of their requests,
 * splitting a range into requests of at most max_io bytes and keeping
 * several in flight; they need the queue to themselves (-EBUSY while
 * asynchronous requests are in flight).
 *
 * Asynchronous calls are for throughput: blk_submit() as many requests as
 * there is room for (at most max_io bytes each), blk_kick() once, then
 * blk_reap() the completions, in whatever order they come, by cookie.
 *
 * vCPU 0 only, interrupts off (chan.h).
 */
#ifndef GUEST_BLK_H
#define GUEST_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "chan.h"

struct blk {
	unsigned int chan;
	uint64_t capacity;	/* bytes */
	bool read_only;
	bool aligned;		/* buffers at multiples of 512 (host direct I/O) */
	uint32_t max_io;	/* most bytes in one request, a multiple of 512 */
	struct chan_queue q;
};

struct blk_completion {
	uint64_t cookie;	/* blk_submit()'s */
	int status;		/* 0 or -PVISOR_E* */
	uint32_t len;		/* bytes done */
	uint16_t op;		/* PVISOR_OP_* */
};

/*
 * Open the @index-th block channel (0 for the first --disk): 0, -ENOENT
 * when there are fewer, or chan_queue_setup()'s error.
 */
int blk_open(struct blk *b, unsigned int index);

int blk_read(struct blk *b, uint64_t offset, void *buf, uint64_t len);
int blk_write(struct blk *b, uint64_t offset, const void *buf, uint64_t len);

/* Everything completed before it reaches stable storage. */
int blk_flush(struct blk *b);

/* The range may read back as zeroes; -PVISOR_EOPNOTSUPP if unsupported. */
int blk_discard(struct blk *b, uint64_t offset, uint64_t len);

/*
 * Queue one request of @op (PVISOR_OP_*) for blk_kick(): 0, -ENOSPC when
 * the ring is full, -EINVAL when @len is above max_io.
 */
int blk_submit(struct blk *b, uint16_t op, uint64_t offset, void *buf,
	       uint32_t len, uint64_t cookie);

/* Let pvisor see the requests submitted so far. */
void blk_kick(struct blk *b);

/*
 * The next completion into @c: 1, or 0 when there is none (none yet, if
 * @wait is false; none in flight at all otherwise).  Waiting publishes
 * what was submitted first.
 */
int blk_reap(struct blk *b, struct blk_completion *c, bool wait);

/* Requests submitted and not yet reaped. */
static inline unsigned int blk_inflight(const struct blk *b)
{
	return chan_pending(&b->q);
}

#endif /* GUEST_BLK_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The block driver: PVISOR_OP_READ, WRITE, FLUSH and DISCARD requests on
 * a block channel's queue 0.  The synchronous calls are built on the
 * asynchronous ones: they fill the ring with pieces of the range, refill
 * it as pieces complete and remember the first error.  Their cookies are
 * the pieces' lengths, so that a short completion reads as -PVISOR_EIO.
 */
#include "blk.h"
#include "kit.h"

#define SECTOR_SIZE	512

int blk_open(struct blk *b, unsigned int index)
{
	struct pvisor_chan_info info;
	int chan, r;

	chan = chan_find(PVISOR_CHAN_BLOCK, index, &info);
	if (chan < 0)
		return chan;
	*b = (struct blk) {
		.chan = chan,
		.capacity = info.capacity,
		.read_only = info.flags & PVISOR_CHAN_INFO_READONLY,
		.aligned = info.flags & PVISOR_CHAN_INFO_ALIGNED,
		.max_io = chan_max_buf(&info) & ~(SECTOR_SIZE - 1),
	};
	if (!b->max_io)
		return -EINVAL;
	r = chan_queue_setup(&b->q, chan, &info, 0, PVISOR_RING_MAX);
	return r;
}

int blk_submit(struct blk *b, uint16_t op, uint64_t offset, void *buf,
	       uint32_t len, uint64_t cookie)
{
	struct pvisor_desc d = {
		.id = cookie,
		.addr = (uintptr_t)buf,
		.offset = offset,
		.len = len,
		.op = op,
	};

	if (len > b->max_io)
		return -EINVAL;
	return chan_put(&b->q, &d);
}

void blk_kick(struct blk *b)
{
	chan_kick(&b->q);
}

int blk_reap(struct blk *b, struct blk_completion *c, bool wait)
{
	struct pvisor_desc rsp;

	if (wait ? chan_wait(&b->q, &rsp) : !chan_get(&b->q, &rsp))
		return 0;
	*c = (struct blk_completion) {
		.cookie = rsp.id,
		.status = rsp.status,
		.len = rsp.len,
		.op = rsp.op,
	};
	return 1;
}

/* @op over [@offset, @offset + @len) from @addr on, in max_io pieces. */
static int blk_sync(struct blk *b, uint16_t op, uint64_t offset,
		    uintptr_t addr, uint64_t len)
{
	struct blk_completion c;
	uint64_t done = 0;
	uint32_t piece;
	int err = 0;

	if (blk_inflight(b))
		return -EBUSY;
	do {
		while (done < len && !err && chan_space(&b->q)) {
			piece = len - done < b->max_io ? len - done : b->max_io;
			blk_submit(b, op, offset + done,
				   addr ? (void *)(addr + done) : NULL, piece,
				   piece);
			done += piece;
		}
		if (!blk_reap(b, &c, true))
			break;
		if (!err && c.status)
			err = c.status;
		else if (!err && op != PVISOR_OP_DISCARD && c.len < c.cookie)
			err = -PVISOR_EIO;
	} while (done < len || blk_inflight(b));
	return err;
}

int blk_read(struct blk *b, uint64_t offset, void *buf, uint64_t len)
{
	return blk_sync(b, PVISOR_OP_READ, offset, (uintptr_t)buf, len);
}

int blk_write(struct blk *b, uint64_t offset, const void *buf, uint64_t len)
{
	return blk_sync(b, PVISOR_OP_WRITE, offset, (uintptr_t)buf, len);
}

int blk_discard(struct blk *b, uint64_t offset, uint64_t len)
{
	return blk_sync(b, PVISOR_OP_DISCARD, offset, 0, len);
}

int blk_flush(struct blk *b)
{
	struct blk_completion c;
	int r;

	if (blk_inflight(b))
		return -EBUSY;
	r = blk_submit(b, PVISOR_OP_FLUSH, 0, NULL, 0, 0);
	if (r)
		return r;
	if (!blk_reap(b, &c, true))
		return -EINVAL;
	return c.status;
}

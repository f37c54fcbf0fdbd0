/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Channels (uapi/linux/pvisor_para.h, "Channels"): the devices the
 * launcher attached, numbered from 0, each with queues that are rings in
 * guest memory.  This is the ring protocol every driver shares (console.c,
 * blk.c, net.c); the drivers give their requests' ids and buffers meaning.
 *
 * A queue: chan_put() writes requests, chan_kick() publishes them and
 * rings the doorbell when pvisor asked for one (req_event), chan_get()
 * takes the next response, chan_wait() sleeps until there is one.
 * Responses come in completion order, each with the id of its request.
 * A slot is free again once its response has been taken, so at most
 * @size requests are written and not yet answered-and-taken.
 *
 * A queue's completion interrupt reaches the vCPU that set it up: use a
 * queue from that vCPU only, with interrupts off (kit.h).
 */
#ifndef GUEST_CHAN_H
#define GUEST_CHAN_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/pvisor_para.h>

struct chan_queue {
	struct pvisor_ring *ring;
	unsigned int chan;
	unsigned int queue;
	unsigned int size;	/* entries, a power of two */
	unsigned int vector;
	uint32_t req_prod;	/* requests written */
	uint32_t req_pub;	/* ring->req_prod: requests published */
	uint32_t rsp_cons;	/* responses taken */
	/*
	 * How many responses a wait asks to be woken for (at most those
	 * pending; 0 or 1: each one).  A deep queue that waits for half its
	 * requests at a time takes one interrupt for many completions.
	 */
	unsigned int wake_batch;

	/* For benchmarks: VM exits are doorbells plus idles. */
	uint64_t requests;
	uint64_t responses;
	uint64_t doorbells;	/* PVISOR_HC_CHAN_NOTIFY calls */
	uint64_t idles;		/* cpu_idle() calls, one HLT exit each */
	uint64_t interrupts;	/* completion interrupts taken */
};

/*
 * Describe channel @chan in @info: 0, -ENOENT past the last one (or on a
 * pvisor.ko without channels), -EINVAL.
 */
int chan_info(unsigned int chan, struct pvisor_chan_info *info);

/*
 * The number of the @nth channel (from 0) of @type (PVISOR_CHAN_*), with
 * its description in @info; -ENOENT when there are fewer.
 */
int chan_find(uint32_t type, unsigned int nth, struct pvisor_chan_info *info);

/*
 * Set up queue @queue of channel @chan (described by @info) with a ring of
 * at most @size entries (rounded down to a power of two, and to what the
 * channel and PVISOR_RING_MAX allow) in a new page, and a completion
 * vector of its own.  0, -ENOMEM, -ENOSPC (no vector left), -EINVAL,
 * -EBUSY (already set up), -ENOENT.
 */
int chan_queue_setup(struct chan_queue *q, unsigned int chan,
		     const struct pvisor_chan_info *info, unsigned int queue,
		     unsigned int size);

/* Most bytes one descriptor may cover on a channel. */
uint32_t chan_max_buf(const struct pvisor_chan_info *info);

/* Requests written whose responses have not been taken. */
static inline unsigned int chan_pending(const struct chan_queue *q)
{
	return q->req_prod - q->rsp_cons;
}

/* Requests chan_put() can take now. */
static inline unsigned int chan_space(const struct chan_queue *q)
{
	return q->size - chan_pending(q);
}

/*
 * Write @req into the next slot; pvisor sees it after chan_kick().
 * 0, or -ENOSPC when every slot is taken.
 */
int chan_put(struct chan_queue *q, const struct pvisor_desc *req);

/* Publish the requests written so far; the doorbell if pvisor waits. */
void chan_kick(struct chan_queue *q);

/* chan_put() and chan_kick(). */
int chan_submit(struct chan_queue *q, const struct pvisor_desc *req);

/* Take the next response into @rsp if there is one. */
bool chan_get(struct chan_queue *q, struct pvisor_desc *rsp);

/*
 * Ask for the completion interrupt at the next response, then look
 * again: true if a response is there already (do not sleep then).  For
 * waiting on several queues at once: arm each, cpu_idle() if none had one.
 */
bool chan_arm(struct chan_queue *q);

/*
 * Publish what is written, then take the next response into @rsp,
 * sleeping until there is one.  -ENOENT when no request is pending (it
 * would sleep forever).
 */
int chan_wait(struct chan_queue *q, struct pvisor_desc *rsp);

#endif /* GUEST_CHAN_H */

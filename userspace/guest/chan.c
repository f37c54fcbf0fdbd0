// SPDX-License-Identifier: GPL-2.0
/*
 * The ring protocol of pvisor's channels, on the guest's side.  The ring
 * is shared with a host thread that runs concurrently: the guest's
 * indexes are written with release stores after what they cover, pvisor's
 * read with acquire loads before the slots they cover, and each "write my
 * index, then read the other side's event index" pair has a full barrier
 * between them, or a store still in the store buffer could be missed by
 * the host while the guest decides not to notify or to sleep.
 *
 * Suppression (pvisor_para.h): after moving req_prod from old to new, the
 * doorbell is rung only if new - req_event < new - old; before sleeping,
 * rsp_event = rsp_cons + 1 asks for an interrupt when the next response
 * is written.
 */
#include "chan.h"
#include "cpu.h"
#include "hypercall.h"
#include "irq.h"
#include "kit.h"
#include "page_alloc.h"

/* Which queue each completion vector belongs to, for its counters. */
static struct chan_queue *vector_queue[IRQ_CHAN_VECTOR_LAST + 1];
static unsigned int next_vector = IRQ_CHAN_VECTOR_FIRST;

int chan_info(unsigned int chan, struct pvisor_chan_info *info)
{
	long r = pvisor_hc_chan_info(chan, (uintptr_t)info);

	if (r == -PVISOR_ENOENT || r == -PVISOR_ENOSYS)
		return -ENOENT;
	return r ? -EINVAL : 0;
}

int chan_find(uint32_t type, unsigned int nth, struct pvisor_chan_info *info)
{
	unsigned int chan;
	int r;

	for (chan = 0; (r = chan_info(chan, info)) == 0; chan++)
		if (info->type == type && nth-- == 0)
			return chan;
	return r;
}

uint32_t chan_max_buf(const struct pvisor_chan_info *info)
{
	if (!info->max_buf || info->max_buf > PVISOR_CHAN_BUF_MAX)
		return PVISOR_CHAN_BUF_MAX;
	return info->max_buf;
}

static void chan_irq(unsigned int vector)
{
	struct chan_queue *q = vector_queue[vector];

	if (q)
		q->interrupts++;
}

int chan_queue_setup(struct chan_queue *q, unsigned int chan,
		     const struct pvisor_chan_info *info, unsigned int queue,
		     unsigned int size)
{
	unsigned int max = PVISOR_RING_MAX;
	uint64_t page;
	long r;

	if (info->max_ring && info->max_ring < max)
		max = info->max_ring;
	if (size > max)
		size = max;
	while (size & (size - 1))
		size &= size - 1;	/* the highest bit alone */
	if (!size || queue >= info->nr_queues)
		return -EINVAL;
	if (next_vector > IRQ_CHAN_VECTOR_LAST)
		return -ENOSPC;
	page = page_alloc();
	if (!page)
		return -ENOMEM;

	*q = (struct chan_queue) {
		.ring = (struct pvisor_ring *)(uintptr_t)page,
		.chan = chan,
		.queue = queue,
		.size = size,
		.vector = next_vector,
	};
	/*
	 * As Xen's SHARED_RING_INIT: pvisor has read nothing, so the first
	 * request needs the doorbell; a zero here would suppress it until
	 * pvisor writes req_event on its own.
	 */
	q->ring->req_event = 1;
	vector_queue[q->vector] = q;
	irq_set_handler(q->vector, chan_irq);
	r = pvisor_hc_chan_setup(chan, queue, page, size, q->vector);
	if (r) {
		/* The page is lost: the kit never frees pages. */
		irq_set_handler(q->vector, NULL);
		vector_queue[q->vector] = NULL;
		if (r == -PVISOR_EBUSY)
			return -EBUSY;
		return r == -PVISOR_ENOENT ? -ENOENT : -EINVAL;
	}
	next_vector++;
	return 0;
}

int chan_put(struct chan_queue *q, const struct pvisor_desc *req)
{
	if (!chan_space(q))
		return -ENOSPC;
	q->ring->ring[q->req_prod & (q->size - 1)] = *req;
	q->req_prod++;
	q->requests++;
	return 0;
}

void chan_kick(struct chan_queue *q)
{
	uint32_t old = q->req_pub, new = q->req_prod, event;

	if (old == new)
		return;
	/* After the slots it covers: x86 keeps stores in order. */
	__atomic_store_n(&q->ring->req_prod, new, __ATOMIC_RELEASE);
	q->req_pub = new;
	/* pvisor may have stopped before seeing req_prod: look after it. */
	mb();
	event = __atomic_load_n(&q->ring->req_event, __ATOMIC_ACQUIRE);
	if ((uint32_t)(new - event) < (uint32_t)(new - old)) {
		pvisor_hc_chan_notify(q->chan, q->queue);
		q->doorbells++;
	}
}

int chan_submit(struct chan_queue *q, const struct pvisor_desc *req)
{
	int r = chan_put(q, req);

	if (!r)
		chan_kick(q);
	return r;
}

bool chan_get(struct chan_queue *q, struct pvisor_desc *rsp)
{
	uint32_t prod = __atomic_load_n(&q->ring->rsp_prod, __ATOMIC_ACQUIRE);

	if (prod == q->rsp_cons)
		return false;
	/* The acquire load orders this read after rsp_prod's. */
	*rsp = q->ring->ring[q->rsp_cons & (q->size - 1)];
	barrier();
	q->rsp_cons++;
	q->responses++;
	return true;
}

bool chan_arm(struct chan_queue *q)
{
	unsigned int n = q->wake_batch, pending = chan_pending(q);

	if (n > pending)
		n = pending;
	if (!n)
		n = 1;
	__atomic_store_n(&q->ring->rsp_event, q->rsp_cons + n,
			 __ATOMIC_RELEASE);
	/* rsp_event visible before rsp_prod is read, or a wakeup is lost. */
	mb();
	return __atomic_load_n(&q->ring->rsp_prod, __ATOMIC_ACQUIRE) !=
	       q->rsp_cons;
}

int chan_wait(struct chan_queue *q, struct pvisor_desc *rsp)
{
	chan_kick(q);
	for (;;) {
		if (chan_get(q, rsp))
			return 0;
		if (!chan_pending(q))
			return -ENOENT;
		if (chan_arm(q))
			continue;
		q->idles++;
		cpu_idle();
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The net driver.  Each queue has one buffer per ring entry, in one
 * contiguous run of pages, and a request's id is its slot: a transmit
 * slot is busy until its response, a receive slot is posted again as soon
 * as its frame is copied out.
 */
#include "irq.h"
#include "kit.h"
#include "net.h"
#include "page_alloc.h"
#include "string.h"

#define NET_SLOTS	32

static int alloc_bufs(struct net *n, uint8_t **bufs, unsigned int slots)
{
	uint64_t bytes = (uint64_t)slots * n->stride;

	*bufs = (uint8_t *)(uintptr_t)page_alloc_contig(ALIGN_UP(bytes,
								 PAGE_SIZE) /
							PAGE_SIZE);
	return *bufs ? 0 : -ENOMEM;
}

static void rx_post(struct net *n, unsigned int slot, bool kick)
{
	struct pvisor_desc d = {
		.id = slot,
		.addr = (uintptr_t)n->rx_bufs + slot * n->stride,
		.len = n->buf_size,
		.op = PVISOR_OP_READ,
	};

	chan_put(&n->rx, &d);
	if (kick)
		chan_kick(&n->rx);
}

int net_open(struct net *n, unsigned int index)
{
	struct pvisor_chan_info info;
	unsigned int slot;
	int chan, r;

	chan = chan_find(PVISOR_CHAN_NET, index, &info);
	if (chan < 0)
		return chan;
	*n = (struct net) {
		.chan = chan,
		.mtu = info.mtu,
		.buf_size = info.mtu + ETH_HLEN,
		.stride = ALIGN_UP(info.mtu + ETH_HLEN, 64),
	};
	memcpy(n->mac, info.mac, sizeof(n->mac));
	if (n->buf_size > chan_max_buf(&info))
		return -EINVAL;
	r = chan_queue_setup(&n->tx, chan, &info, 0, NET_SLOTS);
	if (!r)
		r = chan_queue_setup(&n->rx, chan, &info, 1, NET_SLOTS);
	if (!r)
		r = alloc_bufs(n, &n->tx_bufs, n->tx.size);
	if (!r)
		r = alloc_bufs(n, &n->rx_bufs, n->rx.size);
	if (r)
		return r;
	for (slot = 0; slot < n->rx.size; slot++)
		rx_post(n, slot, false);
	chan_kick(&n->rx);
	return 0;
}

static void tx_reap(struct net *n, const struct pvisor_desc *rsp)
{
	if (rsp->id < n->tx.size)
		n->tx_busy &= ~(1ULL << rsp->id);
	if (rsp->status)
		n->tx_errors++;
}

int net_send(struct net *n, const void *frame, unsigned int len)
{
	uint64_t all = n->tx.size == 64 ? ~0ULL : (1ULL << n->tx.size) - 1;
	struct pvisor_desc d = { .len = len, .op = PVISOR_OP_WRITE };
	struct pvisor_desc rsp;
	unsigned int slot;

	if (len < ETH_HLEN || len > n->buf_size)
		return -EINVAL;
	while (chan_get(&n->tx, &rsp))
		tx_reap(n, &rsp);
	while (n->tx_busy == all && !chan_wait(&n->tx, &rsp))
		tx_reap(n, &rsp);
	for (slot = 0; n->tx_busy & (1ULL << slot); slot++)
		;
	d.id = slot;
	d.addr = (uintptr_t)n->tx_bufs + slot * n->stride;
	memcpy((void *)(uintptr_t)d.addr, frame, len);
	n->tx_busy |= 1ULL << slot;
	n->tx_frames++;
	return chan_submit(&n->tx, &d);
}

void net_flush(struct net *n)
{
	struct pvisor_desc rsp;

	while (chan_pending(&n->tx) && !chan_wait(&n->tx, &rsp))
		tx_reap(n, &rsp);
}

/* Copy out the frame of @rsp, post its buffer again: bytes copied, or 0. */
static int rx_take(struct net *n, const struct pvisor_desc *rsp, void *buf,
		   unsigned int size)
{
	unsigned int len = rsp->len < size ? rsp->len : size;

	if (rsp->id >= n->rx.size)
		return 0;	/* not a buffer of ours: nothing to post */
	if (len > n->buf_size)
		len = n->buf_size;
	if (rsp->status)
		n->rx_errors++;
	else if (len)
		memcpy(buf, n->rx_bufs + rsp->id * n->stride, len);
	rx_post(n, rsp->id, true);
	if (rsp->status || !len)
		return 0;
	n->rx_frames++;
	return len;
}

int net_poll(struct net *n, void *buf, unsigned int size)
{
	struct pvisor_desc rsp;
	int len;

	while (chan_get(&n->rx, &rsp)) {
		len = rx_take(n, &rsp, buf, size);
		if (len)
			return len;
	}
	return 0;
}

int net_recv(struct net *n, void *buf, unsigned int size)
{
	struct pvisor_desc rsp;
	int len;

	for (;;) {
		if (chan_wait(&n->rx, &rsp))
			return 0;	/* no buffer posted: cannot happen */
		len = rx_take(n, &rsp, buf, size);
		if (len)
			return len;
	}
}

int net_recv_timeout(struct net *n, void *buf, unsigned int size,
		     uint64_t ns)
{
	uint64_t now = clock_ns(), end = now + ns;
	int len;

	for (;;) {
		len = net_poll(n, buf, size);
		if (len)
			return len;
		now = clock_ns();
		if (now >= end)
			return 0;
		if (chan_arm(&n->rx))
			continue;
		timer_set(end - now);
		n->rx.idles++;
		cpu_idle();
	}
}

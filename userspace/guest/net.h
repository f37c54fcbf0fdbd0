/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network interfaces: the PVISOR_CHAN_NET channels, Ethernet frames on a
 * transmit queue (0) and a receive queue (1).  Receive buffers of mtu + 14
 * bytes stay posted on queue 1; frames are copied out of them, so callers
 * use buffers of their own.  Frames go without the FCS: 14 to mtu + 14
 * bytes, destination MAC first.
 *
 * vCPU 0 only, interrupts off (chan.h).
 */
#ifndef GUEST_NET_H
#define GUEST_NET_H

#include <stdint.h>

#include "chan.h"

#define ETH_HLEN	14

struct net {
	unsigned int chan;
	uint8_t mac[6];
	uint16_t mtu;		/* bytes above the Ethernet header */
	uint32_t buf_size;	/* mtu + ETH_HLEN */
	uint32_t stride;	/* bytes between two slots' buffers */
	struct chan_queue tx, rx;
	uint8_t *tx_bufs, *rx_bufs;
	uint64_t tx_busy;	/* transmit slots in flight, a bit each */

	uint64_t tx_frames, rx_frames;
	uint64_t tx_errors, rx_errors;	/* responses with a status */
};

/*
 * Open the @index-th net channel (0 for the first --net): 0, -ENOENT when
 * there are fewer, -EINVAL when its buffers cannot be posted (mtu + 14
 * above max_buf), -ENOMEM, or chan_queue_setup()'s error.
 */
int net_open(struct net *n, unsigned int index);

/*
 * Copy @frame into a free transmit buffer and send it; waits for a buffer
 * when all are in flight.  0, or -EINVAL for a length outside 14 to
 * mtu + 14.  A failed transmission only counts in tx_errors.
 */
int net_send(struct net *n, const void *frame, unsigned int len);

/* Wait until every frame sent has been transmitted. */
void net_flush(struct net *n);

/*
 * Copy the next received frame into @buf (cut to @size bytes) and return
 * its copied length: net_poll() returns 0 at once when none is there,
 * net_recv() sleeps until one comes, net_recv_timeout() for at most @ns
 * nanoseconds (through the kit's timer, timer_set()).
 */
int net_poll(struct net *n, void *buf, unsigned int size);
int net_recv(struct net *n, void *buf, unsigned int size);
int net_recv_timeout(struct net *n, void *buf, unsigned int size,
		     uint64_t ns);

#endif /* GUEST_NET_H */

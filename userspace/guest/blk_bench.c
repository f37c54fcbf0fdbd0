// SPDX-License-Identifier: GPL-2.0
/*
 * Streams through disk 0 in 64 KiB requests (or max_io, if smaller), with
 * up to D in flight, wrapping at the end of the disk, and reports what the
 * channel cost in VM exits: doorbells (PVISOR_HC_CHAN_NOTIFY) and idles
 * (HLT until a completion interrupt).
 *
 *   pvisor run --disk FILE blk_bench.elf -- read|write SIZE_MB [depth=D]
 *	[trace=N]
 *
 * prints "blk_bench: <op> B bytes in T ns, requests R, doorbells D,
 * idles I, exits/request X.XX", T from PVISOR_INFO_CLOCK_NS.  With
 * trace=N it also prints "blk_bench: t=NS bytes=B" each time another N
 * requests have completed (NS the clock when they were reaped, B the
 * bytes completed so far), so that the host can see on the same clock
 * when a limit changed while it ran took effect.  Without trace, a wait
 * asks to be woken when half the requests in flight are done (one
 * interrupt for many completions, as drivers batch them).  Status 0, 1 on an I/O
 * error, 2 on a bad command line or without a disk.
 */
#include "args.h"
#include "blk.h"
#include "console.h"
#include "irq.h"
#include "kit.h"
#include "page_alloc.h"
#include "string.h"

#define REQ_SIZE	0x10000U
#define DEFAULT_DEPTH	32

static struct blk disk;
static uint8_t *bufs[PVISOR_RING_MAX];
static uint32_t buf_len[PVISOR_RING_MAX];

static int bad_command_line(void)
{
	printf("blk_bench: usage: read|write SIZE_MB [depth=D] [trace=N], D from 1 to %u\n",
	       PVISOR_RING_MAX);
	return 2;
}

int main(const struct pvisor_start_info *si)
{
	uint64_t size_mb, depth = DEFAULT_DEPTH, total, submitted = 0;
	uint64_t completed = 0, pos = 0, span, requests = 0, start, ns;
	uint64_t exits100, doorbells, idles, trace = 0, reaped = 0;
	unsigned int free_bufs[PVISOR_RING_MAX], nr_free = 0, i;
	uint32_t req = REQ_SIZE, len;
	struct blk_completion c;
	char *argv[ARGS_MAX];
	int argc = args_split(si, argv), r;
	const char *v;
	uint16_t op;

	if (argc < 2 || parse_u64(argv[1], &size_mb) || !size_mb ||
	    size_mb > (UINT64_MAX >> 20))
		return bad_command_line();
	if (!strcmp(argv[0], "read"))
		op = PVISOR_OP_READ;
	else if (!strcmp(argv[0], "write"))
		op = PVISOR_OP_WRITE;
	else
		return bad_command_line();
	for (i = 2; i < (unsigned int)argc; i++) {
		v = arg_value(argv[i], "depth");
		if (v) {
			if (parse_u64(v, &depth) || !depth ||
			    depth > PVISOR_RING_MAX)
				return bad_command_line();
			continue;
		}
		v = arg_value(argv[i], "trace");
		if (!v || parse_u64(v, &trace) || !trace)
			return bad_command_line();
	}

	r = blk_open(&disk, 0);
	if (r) {
		printf("blk_bench: no disk 0 (error %d)\n", r);
		return 2;
	}
	if (depth > disk.q.size)
		depth = disk.q.size;
	if (req > disk.max_io)
		req = disk.max_io;
	if (req > disk.capacity)
		req = disk.capacity;
	if (!req) {
		printf("blk_bench: the disk is empty\n");
		return 2;
	}
	span = disk.capacity - disk.capacity % req;
	for (i = 0; i < depth; i++) {
		bufs[i] = (uint8_t *)(uintptr_t)page_alloc_contig(REQ_SIZE /
								  PAGE_SIZE);
		if (!bufs[i]) {
			printf("blk_bench: out of memory for %lu buffers\n",
			       depth);
			return 2;
		}
		memset(bufs[i], 0xa5, REQ_SIZE);
		free_bufs[nr_free++] = i;
	}

	/*
	 * Woken for half the requests in flight at a time, as a driver
	 * batches completions; one by one when each completion is traced.
	 */
	if (!trace)
		disk.q.wake_batch = depth / 2;
	total = size_mb << 20;
	console_flush();	/* the console's own exits stay out */
	doorbells = disk.q.doorbells;
	idles = disk.q.idles;
	start = clock_ns();
	while (completed < total) {
		while (submitted < total && nr_free) {
			len = total - submitted < req ? total - submitted : req;
			if (pos + len > span)
				pos = 0;
			i = free_bufs[--nr_free];
			buf_len[i] = len;
			blk_submit(&disk, op, pos, bufs[i], len, i);
			pos += len;
			submitted += len;
			requests++;
		}
		blk_kick(&disk);
		/* Wait for one, then take whatever else has come. */
		for (r = blk_reap(&disk, &c, true); r;
		     r = blk_reap(&disk, &c, false)) {
			if (c.status || c.cookie >= depth) {
				printf("blk_bench: %s error %d (request %lu)\n",
				       argv[0], c.status, c.cookie);
				return 1;
			}
			completed += buf_len[c.cookie];
			free_bufs[nr_free++] = c.cookie;
			if (trace && ++reaped % trace == 0)
				printf("blk_bench: t=%lu bytes=%lu\n",
				       clock_ns(), completed);
		}
	}
	ns = clock_ns() - start;
	doorbells = disk.q.doorbells - doorbells;
	idles = disk.q.idles - idles;

	exits100 = (doorbells + idles) * 100 / requests;
	printf("blk_bench: %s %lu bytes in %lu ns, requests %lu, ", argv[0],
	       total, ns, requests);
	printf("doorbells %lu, idles %lu, exits/request %lu.%02lu\n",
	       doorbells, idles, exits100 / 100, exits100 % 100);
	return 0;
}

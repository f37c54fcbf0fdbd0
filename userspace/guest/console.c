// SPDX-License-Identifier: GPL-2.0
/*
 * The guest console, and a printf small enough to read.  Output is line
 * buffered: a line goes out when its newline is written or the buffer
 * fills, and whatever is left at console_flush() (guest_exit() calls it).
 *
 * With a console channel (channel 0, which the launcher attaches to every
 * guest it runs), lines are PVISOR_OP_WRITE requests on queue 0, each from
 * a slot of one page, several in flight; console_flush() waits until all
 * are completed.  Input comes in PVISOR_OP_READ buffers kept posted on
 * queue 1, taken in the order pvisor fills them; a response of len 0 is the
 * end of input.  Without the channel (an older launcher, or a selftest),
 * output goes through PVISOR_HC_CONSOLE_WRITE and there is no input.
 *
 * vCPU 0 only, no locking, never from an interrupt handler: writing may
 * wait for a free slot.
 */
#include <stdarg.h>

#include "chan.h"
#include "console.h"
#include "hypercall.h"
#include "kit.h"
#include "page_alloc.h"

#define CONSOLE_CHAN	0
#define OUT_SLOTS	8	/* 512 bytes each in a page */
#define IN_SLOTS	4

static char hc_buf[PVISOR_CONSOLE_WRITE_MAX];

/* The line being written: in hc_buf, or in an output slot. */
static char *buf = hc_buf;
static unsigned int buf_len, buf_size = sizeof(hc_buf);

static struct {
	bool out_up;		/* output goes through the channel */
	bool in_up;		/* input buffers are posted */
	bool has_in;		/* the channel has an input queue */
	bool eof;
	struct pvisor_chan_info info;
	struct chan_queue out, in;
	char *out_bufs;
	unsigned int out_slot_size;
	uint32_t out_busy;	/* slots in flight, a bit each */
	unsigned int out_cur;	/* the slot buf points at */
	char *in_bufs;
	unsigned int in_slot_size;
	int in_slot;		/* the slot being read, -1: none */
	unsigned int in_pos, in_len;
} cons = { .in_slot = -1 };

static void hc_flush(void)
{
	unsigned int done = 0;
	long r;

	while (done < buf_len) {
		r = pvisor_hc_console_write((uintptr_t)buf + done,
					    buf_len - done);
		if (r <= 0)
			break;	/* the host refused: nowhere else to say so */
		done += r;
	}
	buf_len = 0;
}

static void out_reap(const struct pvisor_desc *rsp)
{
	if (rsp->id < cons.out.size)
		cons.out_busy &= ~(1U << rsp->id);
}

/* A free output slot, after waiting for one if need be. */
static unsigned int out_free_slot(void)
{
	uint32_t all = (1U << cons.out.size) - 1;
	struct pvisor_desc rsp;
	unsigned int slot;

	while (chan_get(&cons.out, &rsp))
		out_reap(&rsp);
	while (cons.out_busy == all && !chan_wait(&cons.out, &rsp))
		out_reap(&rsp);
	for (slot = 0; cons.out_busy & (1U << slot); slot++)
		;
	return slot < cons.out.size ? slot : 0;
}

/* Send the line so far, without waiting for it. */
static void out_push(void)
{
	struct pvisor_desc d = {
		.id = cons.out_cur,
		.addr = (uintptr_t)buf,
		.len = buf_len,
		.op = PVISOR_OP_WRITE,
	};

	if (!cons.out_up) {
		hc_flush();
		return;
	}
	if (!buf_len)
		return;
	/* A slot per ring entry: a free slot means a free entry. */
	chan_submit(&cons.out, &d);
	cons.out_busy |= 1U << cons.out_cur;
	buf_len = 0;
	cons.out_cur = out_free_slot();
	buf = cons.out_bufs + cons.out_cur * cons.out_slot_size;
}

void console_flush(void)
{
	struct pvisor_desc rsp;

	out_push();
	while (cons.out_up && chan_pending(&cons.out) &&
	       !chan_wait(&cons.out, &rsp))
		out_reap(&rsp);
}

static void in_post(unsigned int slot)
{
	struct pvisor_desc d = {
		.id = slot,
		.addr = (uintptr_t)cons.in_bufs + slot * cons.in_slot_size,
		.len = cons.in_slot_size,
		.op = PVISOR_OP_READ,
	};

	chan_submit(&cons.in, &d);
}

static unsigned int slot_size(const struct chan_queue *q,
			      const struct pvisor_chan_info *info)
{
	unsigned int size = PAGE_SIZE / q->size;

	return size < chan_max_buf(info) ? size : chan_max_buf(info);
}

static void console_input_init(const struct pvisor_chan_info *info)
{
	uint64_t page = page_alloc();
	unsigned int slot;

	if (!page || chan_queue_setup(&cons.in, CONSOLE_CHAN, info, 1,
				      IN_SLOTS))
		return;
	cons.in_bufs = (char *)(uintptr_t)page;
	cons.in_slot_size = slot_size(&cons.in, info);
	for (slot = 0; slot < cons.in.size; slot++)
		in_post(slot);
	cons.in_up = true;
}

void console_init(void)
{
	struct pvisor_chan_info info;
	uint64_t page;

	if (chan_info(CONSOLE_CHAN, &info) ||
	    info.type != PVISOR_CHAN_CONSOLE)
		return;
	page = page_alloc();
	if (!page || chan_queue_setup(&cons.out, CONSOLE_CHAN, &info, 0,
				      OUT_SLOTS))
		return;
	cons.out_bufs = (char *)(uintptr_t)page;
	cons.out_slot_size = slot_size(&cons.out, &info);
	console_flush();	/* nothing should be there; keep it if it is */
	cons.out_cur = 0;
	buf = cons.out_bufs;
	buf_size = cons.out_slot_size;
	cons.out_up = true;
	/* Input is read only once the guest asks for it (console_getc). */
	cons.has_in = info.nr_queues > 1;
	cons.info = info;
}

bool console_has_channel(void)
{
	return cons.out_up;
}

int putchar(int c)
{
	buf[buf_len++] = c;
	if (c == '\n' || buf_len == buf_size)
		out_push();
	return (unsigned char)c;
}

int puts(const char *s)
{
	while (*s)
		putchar(*s++);
	putchar('\n');
	return 0;
}

int console_getc(void)
{
	struct pvisor_desc rsp;

	/*
	 * Buffers are posted at the first read, not at boot: until then the
	 * launcher leaves its stdin alone (a guest that never reads its
	 * console does not swallow the input of whatever runs it).
	 */
	if (!cons.in_up && cons.has_in && !cons.eof) {
		console_input_init(&cons.info);
		if (!cons.in_up)
			cons.eof = true;
	}
	if (!cons.in_up || cons.eof)
		return -1;
	while (cons.in_slot < 0 || cons.in_pos == cons.in_len) {
		if (cons.in_slot >= 0)
			in_post(cons.in_slot);
		cons.in_slot = -1;
		out_push();	/* a prompt goes out before the wait */
		if (chan_wait(&cons.in, &rsp) || rsp.status || !rsp.len ||
		    rsp.id >= cons.in.size) {
			cons.eof = true;
			return -1;
		}
		cons.in_slot = rsp.id;
		cons.in_pos = 0;
		cons.in_len = rsp.len < cons.in_slot_size ? rsp.len :
			      cons.in_slot_size;
	}
	return (unsigned char)cons.in_bufs[cons.in_slot * cons.in_slot_size +
					   cons.in_pos++];
}

int console_readline(char *line, int size)
{
	int n = 0, c;

	if (size < 1)
		return -1;
	while (n < size - 1) {
		c = console_getc();
		if (c < 0) {
			if (!n)
				return -1;
			break;
		}
		if (c == '\n')
			break;
		line[n++] = c;
	}
	if (n && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return n;
}

static int put_padding(int len, int width, char pad)
{
	int n = 0;

	for (; len + n < width; n++)
		putchar(pad);
	return n;
}

static int put_string(const char *s, int width)
{
	int len = 0;

	while (s[len])
		len++;
	len += put_padding(len, width, ' ');
	while (*s)
		putchar(*s++);
	return len;
}

/* @v in @base, after a '-' if @neg, padded to @width with '0' or ' '. */
static int put_number(unsigned long long v, unsigned int base, bool neg,
		      int width, bool zero)
{
	char digits[24];
	int n = 0, len;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	len = n + neg;
	if (neg && zero)
		putchar('-');
	len += put_padding(len, width, zero ? '0' : ' ');
	if (neg && !zero)
		putchar('-');
	while (n)
		putchar(digits[--n]);
	return len;
}

static long long arg_signed(va_list *ap, int longs)
{
	if (longs == 0)
		return va_arg(*ap, int);
	if (longs == 1)
		return va_arg(*ap, long);
	return va_arg(*ap, long long);
}

static unsigned long long arg_unsigned(va_list *ap, int longs)
{
	if (longs == 0)
		return va_arg(*ap, unsigned int);
	if (longs == 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned long long);
}

int printf(const char *fmt, ...)
{
	unsigned long long u;
	int count = 0, width, longs;
	const char *s;
	bool zero;
	long long d;
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			putchar(*fmt);
			count++;
			continue;
		}
		zero = *++fmt == '0';
		for (width = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + *fmt - '0';
		for (longs = 0; *fmt == 'l'; fmt++)
			longs++;
		switch (*fmt) {
		case 'd':
			d = arg_signed(&ap, longs);
			u = d < 0 ? -(unsigned long long)d : (unsigned long long)d;
			count += put_number(u, 10, d < 0, width, zero);
			break;
		case 'u':
			u = arg_unsigned(&ap, longs);
			count += put_number(u, 10, false, width, zero);
			break;
		case 'x':
			u = arg_unsigned(&ap, longs);
			count += put_number(u, 16, false, width, zero);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			count += put_string("0x", 0);
			count += put_number(u, 16, false, 0, false);
			break;
		case 's':
			s = va_arg(ap, const char *);
			count += put_string(s ? s : "(null)", width);
			break;
		case 'c':
			count += put_padding(1, width, ' ') + 1;
			putchar(va_arg(ap, int));
			break;
		case '%':
			putchar('%');
			count++;
			break;
		case '\0':
			fmt--;	/* a lone '%' at the end */
			break;
		default:	/* not a conversion: print it as it is */
			putchar('%');
			putchar(*fmt);
			count += 2;
			break;
		}
	}
	va_end(ap);
	return count;
}

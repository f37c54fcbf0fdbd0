// SPDX-License-Identifier: GPL-2.0
/*
 * The guest console: a line buffer drained by PVISOR_HC_CONSOLE_WRITE, and
 * a printf small enough to read.  One vCPU, no locking.
 */
#include <stdarg.h>

#include "console.h"
#include "hypercall.h"
#include "kit.h"

static char buf[PVISOR_CONSOLE_WRITE_MAX];
static unsigned int buf_len;

void console_flush(void)
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

int putchar(int c)
{
	buf[buf_len++] = c;
	if (c == '\n' || buf_len == sizeof(buf))
		console_flush();
	return (unsigned char)c;
}

int puts(const char *s)
{
	while (*s)
		putchar(*s++);
	putchar('\n');
	return 0;
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

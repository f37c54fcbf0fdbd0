/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The console: line-buffered output, through the console channel when the
 * launcher attached one (channel 0) and PVISOR_HC_CONSOLE_WRITE otherwise;
 * input from the channel alone.  vCPU 0 only, not in interrupt handlers.
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdbool.h>

int putchar(int c);

/* @s and a newline. */
int puts(const char *s);

/*
 * Conversions: %d %u %x (each also with l or ll), %s %c %p %%, with a
 * field width and the 0 flag.  Returns the characters written.
 */
int printf(const char *fmt, ...) __printf(1, 2);

/* Send what is buffered and wait until every byte has been written. */
void console_flush(void);

/*
 * The next byte of input, sleeping until there is one; -1 at the end of
 * input, after a failed read, or without a console channel.
 */
int console_getc(void);

/*
 * Read a line into @line (@size bytes, NUL included), without its "\n"
 * or "\r\n".  Returns its length, or -1 at the end of input with nothing
 * read.  A line longer than @size - 1 comes in pieces, as with fgets().
 */
int console_readline(char *line, int size);

/* Whether output goes through the console channel (and input exists). */
bool console_has_channel(void);

/* Called by kit_init(): finds the console channel and sets it up. */
void console_init(void);

#endif /* GUEST_CONSOLE_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Console output through PVISOR_HC_CONSOLE_WRITE, buffered: a line goes
 * out in one hypercall, when its newline is written or the buffer fills,
 * and whatever is left at console_flush() (guest_exit() calls it).
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

int putchar(int c);

/* @s and a newline. */
int puts(const char *s);

/*
 * Conversions: %d %u %x (each also with l or ll), %s %c %p %%, with a
 * field width and the 0 flag.  Returns the characters written.
 */
int printf(const char *fmt, ...) __printf(1, 2);

void console_flush(void);

#endif /* GUEST_CONSOLE_H */

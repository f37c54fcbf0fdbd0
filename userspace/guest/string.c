// SPDX-License-Identifier: GPL-2.0
/*
 * memset, memcpy, memcmp, strlen, strcmp and strncmp, a byte at a time.  The Makefile builds
 * the kit with -fno-tree-loop-distribute-patterns, or GCC would turn these
 * loops back into calls to themselves.
 */
#include "string.h"

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = c;
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	const unsigned char *s = src;
	unsigned char *d = dst;

	while (n--)
		*d++ = *s++;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return p - s;
}

int strcmp(const char *a, const char *b)
{
	for (; *a && *a == *b; a++, b++)
		;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n && *a && *a == *b; n--, a++, b++)
		;
	return n ? (unsigned char)*a - (unsigned char)*b : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Shuts down with the status given on its command line, for testing the
 * launcher's exit path: pvisor run exit_status.elf -- 7 exits 7.
 */
#include <limits.h>

#include "console.h"
#include "kit.h"

int main(const struct pvisor_start_info *si)
{
	const char *cmdline = (const char *)(uintptr_t)si->cmdline;
	const char *s = cmdline;
	int n = 0;

	do {
		if (*s < '0' || *s > '9' || n > (INT_MAX - (*s - '0')) / 10) {
			printf("exit_status: \"%s\" is not a number from 0 to %d\n",
			       cmdline, INT_MAX);
			return 2;
		}
		n = n * 10 + *s++ - '0';
	} while (*s);
	return n;
}

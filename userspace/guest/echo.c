// SPDX-License-Identifier: GPL-2.0
/*
 * A console round trip: every line read from the console channel comes
 * back as "echo: <line>"; the line "quit" or the end of input ends it with
 * "echo: bye" and status 0.  pvisor run echo.elf (type, or pipe lines in)
 */
#include "console.h"
#include "kit.h"
#include "string.h"

int main(const struct pvisor_start_info *si)
{
	char line[256];

	(void)si;
	while (console_readline(line, sizeof(line)) >= 0) {
		if (!strcmp(line, "quit"))
			break;
		printf("echo: %s\n", line);
	}
	printf("echo: bye\n");
	return 0;
}

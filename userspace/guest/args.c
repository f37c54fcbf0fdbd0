// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line words for the example guests.  The launcher's copy of the
 * command line is read once, into the kit's own buffer.
 */
#include "args.h"
#include "kit.h"
#include "string.h"

static char words[4096];

int args_split(const struct pvisor_start_info *si, char **argv)
{
	const char *cmdline = (const char *)(uintptr_t)si->cmdline;
	unsigned int i;
	int argc = 0;
	char *p;

	for (i = 0; cmdline && cmdline[i] && i < sizeof(words) - 1; i++)
		words[i] = cmdline[i];
	words[i] = '\0';
	for (p = words; *p && argc < ARGS_MAX;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		argv[argc++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return argc;
}

int parse_u64(const char *s, uint64_t *val)
{
	unsigned int base = 10, digit;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			digit = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			digit = *s - 'A' + 10;
		else
			return -EINVAL;
		if (v > (UINT64_MAX - digit) / base)
			return -EINVAL;
		v = v * base + digit;
	}
	*val = v;
	return 0;
}

const char *arg_value(const char *arg, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(arg, key, n) || arg[n] != '=')
		return NULL;
	return arg + n + 1;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line (pvisor run GUEST.elf -- ARGS...) as words, and the
 * numbers and key=value words the example guests take.
 */
#ifndef GUEST_ARGS_H
#define GUEST_ARGS_H

#include <stdint.h>

#include <linux/pvisor_para.h>

#define ARGS_MAX	16

/*
 * Split a copy of the command line at spaces into @argv (at most
 * ARGS_MAX words, the rest ignored); returns the number of words.
 */
int args_split(const struct pvisor_start_info *si, char **argv);

/* A decimal or 0x-prefixed hexadecimal number: 0 or -EINVAL. */
int parse_u64(const char *s, uint64_t *val);

/* The value of @arg if it is "@key=value", else NULL. */
const char *arg_value(const char *arg, const char *key);

#endif /* GUEST_ARGS_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest guest worth running: greets, and shows what the start info
 * says about it.  pvisor run hello.elf -- some words
 */
#include "console.h"
#include "kit.h"

int main(const struct pvisor_start_info *si)
{
	printf("Hello from a pvisor guest\n");
	printf("vcpu %u, %llu MiB of memory, command line \"%s\"\n",
	       si->vcpu_id, si->mem_size >> 20,
	       (const char *)(uintptr_t)si->cmdline);
	return 0;
}

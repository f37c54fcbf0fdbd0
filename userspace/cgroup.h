/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's cgroup v2 group: <base>/pvisor/NAME, where <base> is the
 * cgroup2 mount, or the launcher's own cgroup where systemd owns the tree
 * and delegated it (Documentation/launcher.rst, "The guest's cgroup").
 * The whole launcher process lives in the group while the guest runs:
 * cgroup v2 moves single threads only in threaded mode, and the memory
 * and io controllers are not threaded (DESIGN.md, "Resource control").
 *
 * Called from the launcher's main thread only, before any other thread
 * exists (pvisor_cgroup_enter()) and after all of them are joined
 * (pvisor_cgroup_leave()); pvisor_cgroup_cpu_stat() and the setters also
 * from the control thread.  Messages go to stderr, prefixed "pvisor: ".
 */
#ifndef PVISOR_CGROUP_H
#define PVISOR_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pvisor_cgroup {
	char mount[PATH_MAX];	/* the cgroup2 mount */
	char group[PATH_MAX];	/* <base>/pvisor/NAME, or "" */
	char home[PATH_MAX];	/* where the process goes back at exit */
	bool delegated;		/* <base> is our cgroup, not the mount */
	bool entered;		/* the process is in group */
};

/*
 * The cgroup2 mount from /proc/self/mountinfo into @buf; -1 if there is
 * none (no message).
 */
int pvisor_cgroup_find_mount(char *buf, size_t len);

/*
 * Create the group of guest @name under the cgroup2 mount @mount and move
 * the whole process into it: a stale group of that name (no processes) is
 * removed first, a live one is refused.  0, or -1 after a message.
 */
int pvisor_cgroup_enter(struct pvisor_cgroup *cg, const char *mount,
			const char *name);

/* cpu.max: @percent of one CPU over 100 ms periods, 0 for "max". */
int pvisor_cgroup_set_cpu_max(struct pvisor_cgroup *cg, unsigned int percent,
			      char *err, size_t errlen);

/* cpu.weight, 1 to 10000. */
int pvisor_cgroup_set_cpu_weight(struct pvisor_cgroup *cg, unsigned int weight,
				 char *err, size_t errlen);

/*
 * The default io.weight and io.bfq.weight (BFQ's at most 1000), whichever
 * exist, 1 to 10000: the guest's share of a contended device where the
 * device has iocost enabled or the BFQ scheduler.
 */
int pvisor_cgroup_set_io_weight(struct pvisor_cgroup *cg, unsigned int weight,
				char *err, size_t errlen);

/* memory.max in bytes. */
int pvisor_cgroup_set_mem_max(struct pvisor_cgroup *cg, uint64_t bytes,
			      char *err, size_t errlen);

/* usage_usec and throttled_usec of the group's cpu.stat; 0 or -1. */
int pvisor_cgroup_cpu_stat(const struct pvisor_cgroup *cg, uint64_t *usage_usec,
			   uint64_t *throttled_usec);

/*
 * Move the process back to where it came from and remove the group;
 * after every thread but the caller has ended.  Quiet unless it fails.
 */
void pvisor_cgroup_leave(struct pvisor_cgroup *cg);

#endif /* PVISOR_CGROUP_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket of a running guest, /run/pvisor/NAME.sock (or
 * $PVISOR_RUN_DIR/NAME.sock), and its clients `pvisor ps` and `pvisor
 * limit`.  The protocol is in Documentation/launcher.rst, "The control
 * socket": one command line per connection, answered by lines, the end
 * of the answer is the end of the connection.
 *
 * The server is one launcher thread (so in the guest's cgroup) that
 * serves one connection at a time; it is started and stopped by the main
 * thread like the I/O threads, and is the only thread that changes limits
 * once the guest runs.
 */
#ifndef PVISOR_CONTROL_H
#define PVISOR_CONTROL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cgroup.h"
#include "channels.h"

#define PVISOR_RUN_DIR	"/run/pvisor"

struct pvisor_control {
	char path[PATH_MAX];	/* the socket, or "" */
	int listen_fd;
	pthread_t thread;
	bool serving;

	/* What the commands report and change. */
	const char *name;
	int vm_fd;
	unsigned int nr_vcpus;
	uint64_t mem_bytes;
	struct pvisor_cgroup *cg;	/* NULL with --no-cgroup */
	struct pvisor_chans *cs;	/* NULL: no channels */
	unsigned int cpu_max;		/* percent, 0 for max */
	unsigned int cpu_weight;	/* 0: never set */
	unsigned int io_weight;		/* 0: never set */
	uint64_t mem_max;		/* 0: never set */
	unsigned int ncpus;
};

/*
 * The directory of the sockets: $PVISOR_RUN_DIR, else for a user other
 * than root $XDG_RUNTIME_DIR/pvisor, else /run/pvisor.
 */
const char *pvisor_control_dir(void);

/*
 * Claim guest @name: bind its socket (mode 0600), replacing one a dead
 * launcher left; refuse if a launcher answers on it.  0, or -1 after a
 * message.
 */
int pvisor_control_bind(struct pvisor_control *ctl, const char *name);

/* Start the thread; the caller has blocked the signals it must not take. */
int pvisor_control_start(struct pvisor_control *ctl);

/* Stop and join the thread. */
void pvisor_control_stop(struct pvisor_control *ctl);

/* Close and remove the socket. */
void pvisor_control_destroy(struct pvisor_control *ctl);

/*
 * The answer to one command line (without its newline) on @out, as the
 * socket gives it: to "stats" or "limit ...".
 */
void pvisor_control_answer(struct pvisor_control *ctl, const char *line,
			   FILE *out);

/* `pvisor ps` and `pvisor limit NAME ARGS...`; argv[0] is the command. */
int pvisor_cmd_ps(int argc, char **argv);
int pvisor_cmd_limit(int argc, char **argv);

#endif /* PVISOR_CONTROL_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The launcher's channels: the devices of `pvisor run` (a console, --disk,
 * --net), the host files behind them, and the I/O threads that serve them.
 *
 * A channel works only while a launcher thread sits in
 * PVISOR_CHANNEL_SERVE on its fd: the module does the channel's file I/O
 * in that thread, so that it counts against the launcher's cgroup.  Each
 * channel gets one such thread; PVISOR_CHANNEL_KICK_SIGNAL gets it out.
 */
#ifndef PVISOR_CHANNELS_H
#define PVISOR_CHANNELS_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "resources.h"

struct pvisor_chans;

/*
 * Sent by pthread_kill() to make a thread's PVISOR_RUN or
 * PVISOR_CHANNEL_SERVE return EINTR; its handler does nothing and has no
 * SA_RESTART.
 */
#define PVISOR_CHANNEL_KICK_SIGNAL	SIGUSR1

struct pvisor_chan {
	uint32_t type;		/* PVISOR_CHAN_* */
	uint32_t flags;		/* PVISOR_CHANNEL_F_* */
	char desc[96];		/* for messages: "disk FILE", "net tap:NAME" */
	const char *path;	/* disk: the file; net: the tap's name */
	bool pty;		/* console: on a new pseudo-terminal */
	bool direct;		/* disk: opened O_DIRECT (,direct) */
	uint8_t mac[6];		/* net: the guest's address */
	char name[16];		/* "console", "disk0", "net1"... */
	struct pvisor_limit_spec limits;	/* as last set */

	int fd;			/* the backend, or -1 */
	int in_fd;		/* console input, or -1 */
	int pty_slave;		/* kept open so the pty never hangs up, or -1 */
	int lock_fd;		/* disk: holds the flock() against writers */
	int chan_fd;		/* from PVISOR_CREATE_CHANNEL, or -1 */
	uint32_t id;

	pthread_t thread;
	bool serving;		/* the thread exists and was not joined */
	struct pvisor_chans *owner;
};

struct pvisor_chans {
	struct pvisor_chan *chan;	/* [0] is the console */
	unsigned int nr;
	unsigned int nr_nets;

	/*
	 * Called from an I/O thread whose PVISOR_CHANNEL_SERVE failed
	 * unexpectedly (the message is printed): the guest's device is gone,
	 * so the launcher should stop the guest.
	 */
	void (*fatal)(void);
};

/* The console on stdin and stdout: channel 0, always.  0 or -1. */
int pvisor_chans_init(struct pvisor_chans *cs);

/*
 * Options of `pvisor run`, in the order given; each prints what is wrong
 * and returns -1 for a malformed argument (a usage error).
 */
int pvisor_chans_console_opt(struct pvisor_chans *cs, const char *arg);
int pvisor_chans_disk_opt(struct pvisor_chans *cs, const char *arg);
int pvisor_chans_net_opt(struct pvisor_chans *cs, const char *arg);

/* Whether an option asked for more than the console on stdin and stdout. */
bool pvisor_chans_requested(const struct pvisor_chans *cs);

/* Whether an option asked for a token bucket (needs PVISOR_CAP_LIMITS). */
bool pvisor_chans_have_limits(const struct pvisor_chans *cs);

/* The channel called @name ("disk0", "net1"), or NULL. */
struct pvisor_chan *pvisor_chans_find(struct pvisor_chans *cs,
				      const char *name);

/*
 * PVISOR_CHANNEL_SET_LIMITS of @c's spec; 0, or -1 with a message in
 * @err naming the ioctl and errno.
 */
int pvisor_chan_set_limits(struct pvisor_chan *c,
			   const struct pvisor_limit_spec *spec,
			   char *err, size_t errlen);

/*
 * Open the disks and taps and the console's pty; prints why and returns
 * -1 when one cannot be used.
 */
int pvisor_chans_open(struct pvisor_chans *cs);

/*
 * PVISOR_CREATE_CHANNEL for each, in order, so that channel ids are the
 * indexes, and PVISOR_CHANNEL_SET_LIMITS for those given limits; refuses
 * more than @max (PVISOR_CAP_CHANNELS).  0 or -1.
 */
int pvisor_chans_attach(struct pvisor_chans *cs, int vm_fd, int max);

/*
 * Start one I/O thread per attached channel; the caller has blocked the
 * signals the threads must not take.  0 or -1 (threads already started
 * keep running: pvisor_chans_stop() them).
 */
int pvisor_chans_start(struct pvisor_chans *cs);

/* Get every I/O thread out of PVISOR_CHANNEL_SERVE and join it. */
void pvisor_chans_stop(struct pvisor_chans *cs);

/* PVISOR_CHANNEL_GET_STATS of each attached channel, on stderr. */
void pvisor_chans_print_stats(const struct pvisor_chans *cs);

/* Close every fd and free everything; after pvisor_chans_stop(). */
void pvisor_chans_destroy(struct pvisor_chans *cs);

/* Install the no-op handler of PVISOR_CHANNEL_KICK_SIGNAL. */
void pvisor_kick_signal_init(void);

/*
 * Send PVISOR_CHANNEL_KICK_SIGNAL to @thread until it ends, and join it.
 * The thread must be on its way out: it checks a stop flag that the caller
 * set before each blocking ioctl.  A signal that lands between that check
 * and the ioctl is lost, hence the repetition.
 */
void pvisor_thread_stop(pthread_t thread);

#endif /* PVISOR_CHANNELS_H */

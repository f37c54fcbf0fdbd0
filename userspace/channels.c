// SPDX-License-Identifier: GPL-2.0
/*
 * The launcher's channels: option parsing, the host side of each device
 * (a file for a disk, a tap for a network, stdio or a pty for the
 * console), PVISOR_CREATE_CHANNEL, and one I/O thread per channel that
 * sits in PVISOR_CHANNEL_SERVE.
 *
 * Runs in the launcher's main thread except serve(), which runs in the I/O
 * threads with every signal blocked but PVISOR_CHANNEL_KICK_SIGNAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/pvisor.h>
#include <linux/pvisor_para.h>

#include "channels.h"

#define TUN_DEV		"/dev/net/tun"
#define SECTOR_SIZE	512

/* Default guest MACs: locally administered, 52:54:00:12:34:50 and up. */
static const uint8_t mac_base[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x50 };

/* Set by pvisor_chans_stop() before it kicks the I/O threads. */
static atomic_bool chans_stopping;

static void on_kick(int sig)
{
	(void)sig;
}

void pvisor_kick_signal_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;	/* no SA_RESTART: ioctls get EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(PVISOR_CHANNEL_KICK_SIGNAL, &sa, NULL);
}

void pvisor_thread_stop(pthread_t thread)
{
	struct timespec ts;

	for (;;) {
		pthread_kill(thread, PVISOR_CHANNEL_KICK_SIGNAL);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000 * 1000;
		if (ts.tv_nsec >= 1000 * 1000 * 1000) {
			ts.tv_nsec -= 1000 * 1000 * 1000;
			ts.tv_sec++;
		}
		if (pthread_timedjoin_np(thread, NULL, &ts) != ETIMEDOUT)
			return;
	}
}

static struct pvisor_chan *add_chan(struct pvisor_chans *cs, uint32_t type)
{
	struct pvisor_chan *c;

	c = realloc(cs->chan, (cs->nr + 1) * sizeof(*c));
	if (!c) {
		fprintf(stderr, "pvisor: out of memory\n");
		return NULL;
	}
	cs->chan = c;
	c = &cs->chan[cs->nr++];
	memset(c, 0, sizeof(*c));
	c->type = type;
	c->fd = -1;
	c->in_fd = -1;
	c->pty_slave = -1;
	c->lock_fd = -1;
	c->chan_fd = -1;
	return c;
}

int pvisor_chans_init(struct pvisor_chans *cs)
{
	struct pvisor_chan *c;

	memset(cs, 0, sizeof(*cs));
	c = add_chan(cs, PVISOR_CHAN_CONSOLE);
	if (!c)
		return -1;
	snprintf(c->desc, sizeof(c->desc), "console");
	snprintf(c->name, sizeof(c->name), "console");
	return 0;
}

int pvisor_chans_console_opt(struct pvisor_chans *cs, const char *arg)
{
	if (!strcmp(arg, "stdio")) {
		cs->chan[0].pty = false;
	} else if (!strcmp(arg, "pty")) {
		cs->chan[0].pty = true;
	} else {
		fprintf(stderr,
			"pvisor run: --console %s: expected stdio or pty\n",
			arg);
		return -1;
	}
	return 0;
}

/*
 * Split "VALUE[,OPTION...]" at its first comma: *@opts is NULL or the
 * options; the result is a copy of VALUE, NULL when out of memory.
 */
static char *split_opts(const char *arg, const char **opts)
{
	const char *comma = strchr(arg, ',');
	char *value;

	*opts = comma ? comma + 1 : NULL;
	value = strndup(arg, comma ? (size_t)(comma - arg) : strlen(arg));
	if (!value)
		fprintf(stderr, "pvisor: out of memory\n");
	return value;
}

/*
 * The limit keys among @opts (comma-separated) into @c->limits; the
 * others go to @other, which returns 1 if it took the key, 2 if it does
 * not know it, -1 after a message.  -1 after a message naming @opt and
 * @arg.
 */
static int parse_chan_opts(struct pvisor_chan *c, const char *opt,
			   const char *arg, const char *opts,
			   int (*other)(struct pvisor_chan *c, const char *kv),
			   const char *known)
{
	char *copy, *kv, *save, err[256];
	struct pvisor_channel_limits l;
	int ret = -1, r;

	if (!opts)
		return 0;
	copy = strdup(opts);
	if (!copy) {
		fprintf(stderr, "pvisor: out of memory\n");
		return -1;
	}
	for (kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		r = pvisor_limit_parse_kv(&c->limits, c->type, kv, err,
					  sizeof(err));
		if (r < 0) {
			fprintf(stderr, "pvisor run: %s %s: %s\n", opt, arg, err);
			goto out;
		}
		if (!r)
			r = other(c, kv);
		if (r < 0)
			goto out;
		if (r == 2) {
			fprintf(stderr,
				"pvisor run: %s %s: unknown option \"%s\" (%s)\n",
				opt, arg, kv, known);
			goto out;
		}
	}
	if (pvisor_limit_spec_to_limits(&c->limits, c->type, &l, err,
					sizeof(err))) {
		fprintf(stderr, "pvisor run: %s %s: %s\n", opt, arg, err);
		goto out;
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

static int disk_other_opt(struct pvisor_chan *c, const char *kv)
{
	if (!strcmp(kv, "ro"))
		c->flags |= PVISOR_CHANNEL_F_READONLY;
	else if (!strcmp(kv, "rw"))
		c->flags &= ~PVISOR_CHANNEL_F_READONLY;
	else if (!strcmp(kv, "direct"))
		c->direct = true;
	else
		return 2;
	return 1;
}

static unsigned int count_type(const struct pvisor_chans *cs, uint32_t type)
{
	unsigned int i, n = 0;

	for (i = 0; i < cs->nr; i++)
		n += cs->chan[i].type == type;
	return n;
}

int pvisor_chans_disk_opt(struct pvisor_chans *cs, const char *arg)
{
	unsigned int nr_disks = count_type(cs, PVISOR_CHAN_BLOCK);
	struct pvisor_chan *c;
	const char *opts;
	char *path;

	path = split_opts(arg, &opts);
	if (!path)
		return -1;
	if (!*path) {
		fprintf(stderr, "pvisor run: --disk %s: no file name\n", arg);
		goto fail;
	}
	c = add_chan(cs, PVISOR_CHAN_BLOCK);
	if (!c)
		goto fail;
	c->path = path;
	snprintf(c->name, sizeof(c->name), "disk%u", nr_disks);
	if (parse_chan_opts(c, "--disk", arg, opts, disk_other_opt,
			    "ro, rw, direct, bw=, iops=, bw-bucket=, bw-burst=, "
			    "iops-bucket=, iops-burst="))
		return -1;
	snprintf(c->desc, sizeof(c->desc), "disk %s%s%s", path,
		 c->flags & PVISOR_CHANNEL_F_READONLY ? " (read-only)" : "",
		 c->direct ? " (direct)" : "");
	return 0;
fail:
	free(path);
	return -1;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* "xx:xx:xx:xx:xx:xx", a unicast address other than 0. */
static const char *parse_mac(const char *s, uint8_t mac[6])
{
	int i, hi, lo;

	for (i = 0; i < 6; i++) {
		hi = hex_digit(s[0]);
		lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (lo < 0 || s[2] != (i == 5 ? '\0' : ':'))
			return "not six hex bytes separated by colons";
		mac[i] = hi << 4 | lo;
		s += 3;
	}
	if (mac[0] & 1)
		return "a multicast address (the first byte is odd)";
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return "the zero address";
	return NULL;
}

static int net_other_opt(struct pvisor_chan *c, const char *kv)
{
	const char *err;

	if (strncmp(kv, "mac=", 4))
		return 2;
	err = parse_mac(kv + 4, c->mac);
	if (err) {
		fprintf(stderr, "pvisor run: --net: MAC %s: %s\n", kv + 4, err);
		return -1;
	}
	return 1;
}

int pvisor_chans_net_opt(struct pvisor_chans *cs, const char *arg)
{
	struct pvisor_chan *c;
	const char *opts;
	char *name;

	if (strncmp(arg, "tap:", 4)) {
		fprintf(stderr,
			"pvisor run: --net %s: expected tap:NAME[,mac=xx:xx:xx:xx:xx:xx][,tx-bw=RATE...]\n",
			arg);
		return -1;
	}
	name = split_opts(arg + 4, &opts);
	if (!name)
		return -1;
	if (!*name || strlen(name) >= IFNAMSIZ || strchr(name, '/') ||
	    strpbrk(name, " \t\n:")) {
		fprintf(stderr,
			"pvisor run: --net %s: \"%s\" is not an interface name (1 to %d characters, no '/', ':' or spaces)\n",
			arg, name, IFNAMSIZ - 1);
		goto fail;
	}
	c = add_chan(cs, PVISOR_CHAN_NET);
	if (!c)
		goto fail;
	c->path = name;
	snprintf(c->name, sizeof(c->name), "net%u", cs->nr_nets);
	memcpy(c->mac, mac_base, sizeof(c->mac));
	c->mac[5] += cs->nr_nets++;
	if (parse_chan_opts(c, "--net", arg, opts, net_other_opt,
			    "mac=, tx-bw=, rx-bw=, tx-ops=, rx-ops=, KEY-bucket=, KEY-burst="))
		return -1;
	snprintf(c->desc, sizeof(c->desc),
		 "net tap:%s, MAC %02x:%02x:%02x:%02x:%02x:%02x", name,
		 c->mac[0], c->mac[1], c->mac[2], c->mac[3], c->mac[4],
		 c->mac[5]);
	return 0;
fail:
	free(name);
	return -1;
}

bool pvisor_chans_requested(const struct pvisor_chans *cs)
{
	return cs->nr > 1 || cs->chan[0].pty;
}

bool pvisor_chans_have_limits(const struct pvisor_chans *cs)
{
	unsigned int i;

	for (i = 0; i < cs->nr; i++)
		if (pvisor_limit_spec_is_set(&cs->chan[i].limits))
			return true;
	return false;
}

struct pvisor_chan *pvisor_chans_find(struct pvisor_chans *cs,
				      const char *name)
{
	unsigned int i;

	for (i = 0; i < cs->nr; i++)
		if (!strcmp(cs->chan[i].name, name))
			return &cs->chan[i];
	return NULL;
}

int pvisor_chan_set_limits(struct pvisor_chan *c,
			   const struct pvisor_limit_spec *spec,
			   char *err, size_t errlen)
{
	struct pvisor_channel_limits l;

	if (pvisor_limit_spec_to_limits(spec, c->type, &l, err, errlen))
		return -1;
	if (ioctl(c->chan_fd, PVISOR_CHANNEL_SET_LIMITS, &l)) {
		snprintf(err, errlen,
			 "PVISOR_CHANNEL_SET_LIMITS (channel %u, %s): %s",
			 c->id, c->desc, strerror(errno));
		return -1;
	}
	c->limits = *spec;
	return 0;
}

/* A pty master for the console, in raw mode; its name on stderr. */
static int open_pty(struct pvisor_chan *c)
{
	struct termios tio;
	char name[64];
	int err;

	c->fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->fd < 0) {
		fprintf(stderr, "pvisor: --console pty: posix_openpt: %s\n",
			strerror(errno));
		return -1;
	}
	if (grantpt(c->fd) || unlockpt(c->fd)) {
		fprintf(stderr, "pvisor: --console pty: grantpt/unlockpt: %s\n",
			strerror(errno));
		return -1;
	}
	err = ptsname_r(c->fd, name, sizeof(name));
	if (err) {
		fprintf(stderr, "pvisor: --console pty: ptsname: %s\n",
			strerror(err));
		return -1;
	}
	/*
	 * Hold the terminal side open ourselves: without it, reads of the
	 * master fail with EIO until someone opens it, and again after each
	 * user closes it.  Output waits in the pty until somebody reads it.
	 */
	c->pty_slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->pty_slave < 0) {
		fprintf(stderr, "pvisor: --console pty: %s: %s\n", name,
			strerror(errno));
		return -1;
	}
	if (tcgetattr(c->pty_slave, &tio)) {
		fprintf(stderr, "pvisor: --console pty: tcgetattr: %s\n",
			strerror(errno));
		return -1;
	}
	cfmakeraw(&tio);
	if (tcsetattr(c->pty_slave, TCSANOW, &tio)) {
		fprintf(stderr, "pvisor: --console pty: tcsetattr: %s\n",
			strerror(errno));
		return -1;
	}
	c->in_fd = c->fd;
	snprintf(c->desc, sizeof(c->desc), "console on %s", name);
	fprintf(stderr, "pvisor: console on %s\n", name);
	return 0;
}

/* The size of a regular file or block device; -1 after a message. */
static int disk_size(struct pvisor_chan *c, uint64_t *size)
{
	struct stat st;

	if (fstat(c->fd, &st)) {
		fprintf(stderr, "pvisor: --disk %s: fstat: %s\n", c->path,
			strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(c->fd, BLKGETSIZE64, size)) {
			fprintf(stderr, "pvisor: --disk %s: BLKGETSIZE64: %s\n",
				c->path, strerror(errno));
			return -1;
		}
	} else {
		fprintf(stderr,
			"pvisor: --disk %s: not a regular file or a block device\n",
			c->path);
		return -1;
	}
	return 0;
}

/*
 * A ,direct disk must take what the guest is promised: 512-byte sectors
 * at 512-byte aligned buffers.  A file system or device that wants more
 * (4 KiB sectors) fails here rather than at every request: read sector 0
 * into a buffer aligned to 512 and no more.
 */
static int probe_direct(struct pvisor_chan *c)
{
	char *mem = aligned_alloc(4096, 8192);
	ssize_t n;
	int err;

	if (!mem) {
		fprintf(stderr, "pvisor: out of memory\n");
		return -1;
	}
	n = pread(c->fd, mem + SECTOR_SIZE, SECTOR_SIZE, 0);
	err = errno;
	free(mem);
	if (n == SECTOR_SIZE)
		return 0;
	fprintf(stderr,
		"pvisor: --disk %s,direct: a 512-byte direct read %s: the guest's disk needs 512-byte sectors (drop ,direct)\n",
		c->path, n < 0 ? strerror(err) : "came back short");
	return -1;
}

static int open_disk(struct pvisor_chan *c)
{
	bool ro = c->flags & PVISOR_CHANNEL_F_READONLY;
	uint64_t size;

	c->fd = open(c->path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC |
		     (c->direct ? O_DIRECT : 0));
	if (c->fd < 0 && c->direct && errno == EINVAL) {
		fprintf(stderr,
			"pvisor: --disk %s,direct: its file system does not support O_DIRECT (drop ,direct)\n",
			c->path);
		return -1;
	}
	if (c->fd < 0) {
		fprintf(stderr, "pvisor: --disk %s: %s%s\n", c->path,
			strerror(errno),
			errno == EACCES || errno == EROFS ?
			(ro ? "" : " (add ,ro for a read-only disk)") : "");
		return -1;
	}
	/*
	 * One writer or any number of readers, as QEMU does: two guests
	 * writing one disk would corrupt it.  The lock is on a file
	 * description of its own that the module never sees, so that it goes
	 * with the launcher, whenever the module drops its reference.
	 */
	c->lock_fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (c->lock_fd < 0) {
		fprintf(stderr, "pvisor: --disk %s: %s\n", c->path,
			strerror(errno));
		return -1;
	}
	if (flock(c->lock_fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		fprintf(stderr, "pvisor: --disk %s: %s\n", c->path,
			errno == EWOULDBLOCK ?
			"in use by another process (locked)" : strerror(errno));
		return -1;
	}
	if (disk_size(c, &size))
		return -1;
	if (size < SECTOR_SIZE) {
		fprintf(stderr,
			"pvisor: --disk %s: %llu bytes: a disk needs at least one %d-byte sector\n",
			c->path, (unsigned long long)size, SECTOR_SIZE);
		return -1;
	}
	return c->direct ? probe_direct(c) : 0;
}

static int open_tap(struct pvisor_chan *c)
{
	struct ifreq ifr;
	const char *hint;

	c->fd = open(TUN_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (c->fd < 0) {
		fprintf(stderr, "pvisor: --net tap:%s: %s: %s%s\n", c->path,
			TUN_DEV, strerror(errno),
			errno == ENOENT || errno == ENODEV ?
			" (no tun driver: modprobe tun)" : "");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, c->path, strlen(c->path));	/* < IFNAMSIZ */
	if (ioctl(c->fd, TUNSETIFF, &ifr)) {
		switch (errno) {
		case EPERM:
			hint = " (creating or attaching a tap needs CAP_NET_ADMIN: run as root)";
			break;
		case EBUSY:
			hint = " (another process has this tap open)";
			break;
		case EINVAL:
			hint = " (an interface of this name exists and is not a tap)";
			break;
		default:
			hint = "";
		}
		fprintf(stderr, "pvisor: --net tap:%s: TUNSETIFF: %s%s\n",
			c->path, strerror(errno), hint);
		return -1;
	}
	return 0;
}

int pvisor_chans_open(struct pvisor_chans *cs)
{
	struct pvisor_chan *c;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < cs->nr && !ret; i++) {
		c = &cs->chan[i];
		switch (c->type) {
		case PVISOR_CHAN_CONSOLE:
			if (c->pty) {
				ret = open_pty(c);
			} else {
				c->fd = STDOUT_FILENO;
				c->in_fd = STDIN_FILENO;
			}
			break;
		case PVISOR_CHAN_BLOCK:
			ret = open_disk(c);
			break;
		case PVISOR_CHAN_NET:
			ret = open_tap(c);
			break;
		}
	}
	return ret;
}

int pvisor_chans_attach(struct pvisor_chans *cs, int vm_fd, int max)
{
	struct pvisor_channel_config config;
	struct pvisor_chan *c;
	unsigned int i;
	char err[256];

	if (cs->nr > (unsigned int)max) {
		fprintf(stderr,
			"pvisor: %u channels (the console, disks and networks): this pvisor.ko allows %d\n",
			cs->nr, max);
		return -1;
	}
	for (i = 0; i < cs->nr; i++) {
		c = &cs->chan[i];
		memset(&config, 0, sizeof(config));
		config.type = c->type;
		config.flags = c->flags;
		config.fd = c->fd;
		config.in_fd = c->in_fd;
		memcpy(config.mac, c->mac, sizeof(config.mac));
		c->chan_fd = ioctl(vm_fd, PVISOR_CREATE_CHANNEL, &config);
		if (c->chan_fd < 0) {
			fprintf(stderr,
				"pvisor: PVISOR_CREATE_CHANNEL (%s): %s\n",
				c->desc, strerror(errno));
			return -1;
		}
		c->id = config.id;
		if (c->id != i) {
			fprintf(stderr,
				"pvisor: PVISOR_CREATE_CHANNEL (%s): got id %u, expected %u\n",
				c->desc, c->id, i);
			return -1;
		}
		if (pvisor_limit_spec_is_set(&c->limits) &&
		    pvisor_chan_set_limits(c, &c->limits, err, sizeof(err))) {
			fprintf(stderr, "pvisor: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static void *serve(void *arg)
{
	struct pvisor_chan *c = arg;
	int ret;

	while (!chans_stopping) {
		ret = ioctl(c->chan_fd, PVISOR_CHANNEL_SERVE, 0);
		if (ret < 0 && errno == EINTR)
			continue;
		/* The VM is dead: its vCPUs say why. */
		if (ret < 0 && errno == EIO)
			break;
		if (ret < 0)
			fprintf(stderr,
				"pvisor: PVISOR_CHANNEL_SERVE (channel %u, %s): %s\n",
				c->id, c->desc, strerror(errno));
		else
			fprintf(stderr,
				"pvisor: PVISOR_CHANNEL_SERVE (channel %u, %s): returned %d\n",
				c->id, c->desc, ret);
		c->owner->fatal();
		break;
	}
	return NULL;
}

int pvisor_chans_start(struct pvisor_chans *cs)
{
	struct pvisor_chan *c;
	unsigned int i;
	int err;

	chans_stopping = false;
	for (i = 0; i < cs->nr; i++) {
		c = &cs->chan[i];
		if (c->chan_fd < 0)
			continue;
		c->owner = cs;
		err = pthread_create(&c->thread, NULL, serve, c);
		if (err) {
			fprintf(stderr,
				"pvisor: the I/O thread of channel %u (%s): %s\n",
				c->id, c->desc, strerror(err));
			return -1;
		}
		c->serving = true;
	}
	return 0;
}

void pvisor_chans_stop(struct pvisor_chans *cs)
{
	unsigned int i;

	chans_stopping = true;
	for (i = 0; i < cs->nr; i++) {
		if (!cs->chan[i].serving)
			continue;
		pvisor_thread_stop(cs->chan[i].thread);
		cs->chan[i].serving = false;
	}
}

static void print_stats(const struct pvisor_chan *c,
			const struct pvisor_channel_stats *st)
{
	unsigned int q, nr_queues = c->type == PVISOR_CHAN_BLOCK ? 1 : 2;

	fprintf(stderr, "pvisor: channel %u (%s):", c->id, c->desc);
	for (q = 0; q < nr_queues; q++)
		fprintf(stderr,
			" queue %u: %llu requests, %llu bytes, %llu errors;",
			q, (unsigned long long)st->requests[q],
			(unsigned long long)st->bytes[q],
			(unsigned long long)st->errors[q]);
	fprintf(stderr, " %llu doorbells, %llu interrupts",
		(unsigned long long)st->doorbells,
		(unsigned long long)st->interrupts);
	if (c->type == PVISOR_CHAN_NET)
		fprintf(stderr, ", %llu frames dropped",
			(unsigned long long)st->dropped);
	fprintf(stderr, "\n");
}

void pvisor_chans_print_stats(const struct pvisor_chans *cs)
{
	struct pvisor_channel_stats st;
	unsigned int i;

	for (i = 0; i < cs->nr; i++) {
		if (cs->chan[i].chan_fd < 0)
			continue;
		memset(&st, 0, sizeof(st));
		if (ioctl(cs->chan[i].chan_fd, PVISOR_CHANNEL_GET_STATS, &st)) {
			fprintf(stderr,
				"pvisor: PVISOR_CHANNEL_GET_STATS (channel %u, %s): %s\n",
				cs->chan[i].id, cs->chan[i].desc,
				strerror(errno));
			continue;
		}
		print_stats(&cs->chan[i], &st);
	}
}

void pvisor_chans_destroy(struct pvisor_chans *cs)
{
	struct pvisor_chan *c;
	unsigned int i;

	for (i = 0; i < cs->nr; i++) {
		c = &cs->chan[i];
		if (c->chan_fd >= 0)
			close(c->chan_fd);
		/* stdin and stdout stay the launcher's. */
		if (c->fd > STDERR_FILENO)
			close(c->fd);
		if (c->pty_slave >= 0)
			close(c->pty_slave);
		if (c->lock_fd >= 0)
			close(c->lock_fd);
		if (c->type != PVISOR_CHAN_CONSOLE)
			free((char *)c->path);
	}
	free(cs->chan);
	memset(cs, 0, sizeof(*cs));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket of a running guest and its clients (control.h).
 *
 * The server runs in the launcher's control thread with every signal
 * blocked but PVISOR_CHANNEL_KICK_SIGNAL; the clients are `pvisor ps` and
 * `pvisor limit`, processes of their own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/pvisor.h>

#include "control.h"

#define LINE_MAX_LEN	1024
#define LIMIT_WHAT	"cpu-max=, cpu-weight=, io-weight=, mem-max=, diskN KEY=..., netN KEY=..."

static atomic_bool control_stopping;

static char control_dir[PATH_MAX];
static pthread_once_t control_dir_once = PTHREAD_ONCE_INIT;

static void find_control_dir(void)
{
	const char *dir = getenv("PVISOR_RUN_DIR");

	if (dir && *dir &&
	    (size_t)snprintf(control_dir, sizeof(control_dir), "%s", dir) <
	    sizeof(control_dir))
		return;
	/* /run/pvisor is root's: a user's guests go where its runtime is. */
	dir = getenv("XDG_RUNTIME_DIR");
	if (geteuid() && dir && *dir &&
	    (size_t)snprintf(control_dir, sizeof(control_dir), "%s/pvisor",
			     dir) < sizeof(control_dir))
		return;
	snprintf(control_dir, sizeof(control_dir), "%s", PVISOR_RUN_DIR);
}

const char *pvisor_control_dir(void)
{
	pthread_once(&control_dir_once, find_control_dir);
	return control_dir;
}

static int socket_path(const char *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s.sock",
			     pvisor_control_dir(), name) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "pvisor: %s/%s.sock: path too long for a socket\n",
			pvisor_control_dir(), name);
		return -1;
	}
	return 0;
}

/* A connected socket to guest @name, or -errno. */
static int connect_to(const char *name)
{
	struct sockaddr_un sa;
	int fd, err;

	if (socket_path(name, &sa))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* mkdir -p: a minimal initramfs may lack even /run. */
static int mkdir_p(const char *dir)
{
	char path[PATH_MAX], *p;

	if ((size_t)snprintf(path, sizeof(path), "%s", dir) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

int pvisor_control_bind(struct pvisor_control *ctl, const char *name)
{
	const char *dir = pvisor_control_dir();
	struct sockaddr_un sa;
	mode_t mask;
	int fd, err;

	ctl->listen_fd = -1;
	ctl->path[0] = '\0';
	ctl->name = name;
	if (socket_path(name, &sa))
		return -1;
	if (mkdir_p(dir)) {
		fprintf(stderr, "pvisor: control socket: mkdir %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	fd = connect_to(name);
	if (fd >= 0) {
		close(fd);
		fprintf(stderr,
			"pvisor: a guest named %s is already running (%s answers)\n",
			name, sa.sun_path);
		return -1;
	}
	/* A socket nobody listens on is a dead launcher's. */
	if (fd == -ECONNREFUSED && unlink(sa.sun_path) && errno != ENOENT) {
		fprintf(stderr, "pvisor: control socket: removing the stale %s: %s\n",
			sa.sun_path, strerror(errno));
		return -1;
	}
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl->listen_fd < 0) {
		fprintf(stderr, "pvisor: control socket: %s\n", strerror(errno));
		return -1;
	}
	mask = umask(0177);	/* the socket: 0600 */
	err = bind(ctl->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (err || listen(ctl->listen_fd, 8)) {
		fprintf(stderr, "pvisor: control socket: %s %s: %s\n",
			err ? "bind" : "listen", sa.sun_path, strerror(errno));
		if (!err)
			unlink(sa.sun_path);
		close(ctl->listen_fd);
		ctl->listen_fd = -1;
		return -1;
	}
	snprintf(ctl->path, sizeof(ctl->path), "%s", sa.sun_path);
	return 0;
}

static const char *type_name(uint32_t type)
{
	switch (type) {
	case PVISOR_CHAN_CONSOLE:
		return "console";
	case PVISOR_CHAN_BLOCK:
		return "block";
	case PVISOR_CHAN_NET:
		return "net";
	}
	return "unknown";
}

static unsigned long long tap_counter(const char *tap, const char *name)
{
	char path[128], buf[32];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", tap,
		 name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		v = strtoull(buf, NULL, 10);
	fclose(f);
	return v;
}

/* The limit keys of @spec as `pvisor limit` takes them, or "none". */
static void print_spec(FILE *out, uint32_t type,
		       const struct pvisor_limit_spec *spec)
{
	static const char * const disk[] = { "bw", NULL, "iops", NULL };
	static const char * const net[] = { "tx-bw", "rx-bw", "tx-ops", "rx-ops" };
	const char * const *names = type == PVISOR_CHAN_NET ? net : disk;
	char size[32];
	bool any = false;
	int i;

	for (i = 0; i < PVISOR_NR_LIMITS; i++) {
		if (!names[i] || !spec->rate[i])
			continue;
		pvisor_format_size(spec->rate[i], size, sizeof(size));
		fprintf(out, "%s%s=%s", any ? " " : "", names[i],
			i < 2 ? size : "");
		if (i >= 2)
			fprintf(out, "%llu", (unsigned long long)spec->rate[i]);
		if (spec->size[i])
			fprintf(out, " %s-bucket=%llu", names[i],
				(unsigned long long)spec->size[i]);
		if (spec->burst[i])
			fprintf(out, " %s-burst=%llu", names[i],
				(unsigned long long)spec->burst[i]);
		any = true;
	}
	if (!any)
		fprintf(out, "none");
}

static void print_channel(FILE *out, const struct pvisor_chan *c,
			  const struct pvisor_channel_stats *st)
{
	unsigned int q, nr_queues = c->type == PVISOR_CHAN_BLOCK ? 1 : 2;
	const char *p = "chan";

	fprintf(out, "%s%u.name=%s\n", p, c->id, c->name);
	fprintf(out, "%s%u.type=%s\n", p, c->id, type_name(c->type));
	for (q = 0; q < nr_queues; q++) {
		fprintf(out, "%s%u.requests%u=%llu\n", p, c->id, q,
			(unsigned long long)st->requests[q]);
		fprintf(out, "%s%u.bytes%u=%llu\n", p, c->id, q,
			(unsigned long long)st->bytes[q]);
		fprintf(out, "%s%u.errors%u=%llu\n", p, c->id, q,
			(unsigned long long)st->errors[q]);
		fprintf(out, "%s%u.throttled_ns%u=%llu\n", p, c->id, q,
			(unsigned long long)st->throttled_ns[q]);
	}
	fprintf(out, "%s%u.doorbells=%llu\n", p, c->id,
		(unsigned long long)st->doorbells);
	fprintf(out, "%s%u.interrupts=%llu\n", p, c->id,
		(unsigned long long)st->interrupts);
	if (c->type == PVISOR_CHAN_CONSOLE)
		return;
	if (c->type == PVISOR_CHAN_NET) {
		fprintf(out, "%s%u.dropped=%llu\n", p, c->id,
			(unsigned long long)st->dropped);
		fprintf(out, "%s%u.tap=%s\n", p, c->id, c->path);
		fprintf(out, "%s%u.tap_tx_dropped=%llu\n", p, c->id,
			tap_counter(c->path, "tx_dropped"));
		fprintf(out, "%s%u.tap_rx_dropped=%llu\n", p, c->id,
			tap_counter(c->path, "rx_dropped"));
	} else {
		fprintf(out, "%s%u.file=%s\n", p, c->id, c->path);
	}
	fprintf(out, "%s%u.limits=", p, c->id);
	print_spec(out, c->type, &c->limits);
	fprintf(out, "\n");
}

static void answer_stats(struct pvisor_control *ctl, FILE *out)
{
	struct pvisor_vm_stats *vs;
	uint64_t usage = 0, throttled = 0;
	unsigned int i;
	char size[32];

	vs = calloc(1, sizeof(*vs));
	if (!vs) {
		fprintf(out, "error: out of memory\n");
		return;
	}
	if (ioctl(ctl->vm_fd, PVISOR_GET_VM_STATS, vs)) {
		fprintf(out, "error: PVISOR_GET_VM_STATS: %s\n", strerror(errno));
		goto out;
	}
	fprintf(out, "name=%s\npid=%d\nvcpus=%u\nmem_bytes=%llu\n", ctl->name,
		getpid(), vs->nr_vcpus, (unsigned long long)vs->mem_bytes);
	fprintf(out, "cgroup=%s\n", ctl->cg ? ctl->cg->group : "none");
	if (ctl->cg) {
		pvisor_cgroup_cpu_stat(ctl->cg, &usage, &throttled);
		fprintf(out, "cpu_usage_usec=%llu\ncpu_throttled_usec=%llu\n",
			(unsigned long long)usage,
			(unsigned long long)throttled);
		if (ctl->cpu_max)
			fprintf(out, "cpu_max=%u\n", ctl->cpu_max);
		else
			fprintf(out, "cpu_max=max\n");
		if (ctl->cpu_weight)
			fprintf(out, "cpu_weight=%u\n", ctl->cpu_weight);
		if (ctl->io_weight)
			fprintf(out, "io_weight=%u\n", ctl->io_weight);
		pvisor_format_size(ctl->mem_max, size, sizeof(size));
		fprintf(out, "mem_max=%s\n", ctl->mem_max ? size : "max");
	}
	fprintf(out, "exits=%llu\nhalts=%llu\nirqs=%llu\n",
		(unsigned long long)vs->exits, (unsigned long long)vs->halts,
		(unsigned long long)vs->irqs);
	fprintf(out, "channels=%u\n", vs->nr_channels);
	for (i = 0; i < vs->nr_channels && i < PVISOR_STATS_CHANNELS; i++) {
		if (!ctl->cs || vs->channels[i].id >= ctl->cs->nr)
			continue;
		print_channel(out, &ctl->cs->chan[vs->channels[i].id],
			      &vs->channels[i]);
	}
out:
	free(vs);
}

/*
 * cpu-max=PERCENT|max, cpu-weight=N, io-weight=N or mem-max=SIZE: 0, -1
 * when the cgroup refused it, -2 for a bad value (@err names the key
 * either way).
 */
static int limit_cgroup(struct pvisor_control *ctl, const char *kv, char *err,
			size_t errlen)
{
	uint64_t bytes, need = pvisor_mem_needed(ctl->mem_bytes);
	int keylen = strcspn(kv, "=");
	unsigned int v = 0;
	char why[400] = "";
	int bad = 0;

	if (!strncmp(kv, "cpu-max=", 8)) {
		if (strcmp(kv + 8, "max") &&
		    pvisor_parse_cpu_max(kv + 8, ctl->ncpus, &v, why,
					 sizeof(why)))
			bad = 1;
		else if (pvisor_cgroup_set_cpu_max(ctl->cg, v, why, sizeof(why)))
			bad = -1;
		else
			ctl->cpu_max = v;
	} else if (!strncmp(kv, "cpu-weight=", 11)) {
		if (pvisor_parse_weight(kv + 11, &v, why, sizeof(why)))
			bad = 1;
		else if (pvisor_cgroup_set_cpu_weight(ctl->cg, v, why,
						      sizeof(why)))
			bad = -1;
		else
			ctl->cpu_weight = v;
	} else if (!strncmp(kv, "io-weight=", 10)) {
		if (pvisor_parse_weight(kv + 10, &v, why, sizeof(why)))
			bad = 1;
		else if (pvisor_cgroup_set_io_weight(ctl->cg, v, why,
						     sizeof(why)))
			bad = -1;
		else
			ctl->io_weight = v;
	} else if (!pvisor_parse_size(kv + 8, &bytes) || !bytes) {
		snprintf(why, sizeof(why), "%s: not a size", kv + 8);
		bad = 1;
	} else if (bytes < need) {
		snprintf(why, sizeof(why),
			 "%s: less than the guest needs, %llu bytes", kv + 8,
			 (unsigned long long)need);
		bad = 1;
	} else if (pvisor_cgroup_set_mem_max(ctl->cg, bytes, why,
					     sizeof(why))) {
		bad = -1;
	} else {
		ctl->mem_max = bytes;
	}
	if (bad)
		snprintf(err, errlen, "%.*s: %s", keylen, kv, why);
	return bad > 0 ? -2 : bad;
}

/* "limit cpu-max=...", "limit disk0 bw=... iops=...", "limit net0 none". */
static void answer_limit(struct pvisor_control *ctl, char *args, FILE *out)
{
	struct pvisor_limit_spec spec, change;
	char *tok, *save, err[512] = "";
	struct pvisor_chan *c;
	int r;

	tok = strtok_r(args, " \t", &save);
	if (!tok) {
		fprintf(out, "error: limit what? (%s)\n", LIMIT_WHAT);
		return;
	}
	if (!strncmp(tok, "cpu-max=", 8) || !strncmp(tok, "cpu-weight=", 11) ||
	    !strncmp(tok, "io-weight=", 10) || !strncmp(tok, "mem-max=", 8)) {
		if (strtok_r(NULL, " \t", &save)) {
			fprintf(out, "invalid: %s\n",
				"one of cpu-max=, cpu-weight=, io-weight=, mem-max= per command");
			return;
		}
		if (!ctl->cg) {
			fprintf(out, "error: %s: the guest runs without a cgroup (--no-cgroup)\n",
				tok);
			return;
		}
		r = limit_cgroup(ctl, tok, err, sizeof(err));
		if (r)
			fprintf(out, "%s: %s\n", r == -2 ? "invalid" : "error",
				err);
		else
			fprintf(out, "ok\n");
		return;
	}
	c = ctl->cs ? pvisor_chans_find(ctl->cs, tok) : NULL;
	if (!c || c->type == PVISOR_CHAN_CONSOLE || c->chan_fd < 0) {
		fprintf(out, "invalid: %s: no such limit or channel (%s)\n", tok,
			LIMIT_WHAT);
		return;
	}
	memset(&change, 0, sizeof(change));
	spec = c->limits;
	tok = strtok_r(NULL, " \t", &save);
	if (!tok) {
		fprintf(out, "error: %s: which limits? (KEY=VALUE... or none)\n",
			c->name);
		return;
	}
	if (!strcmp(tok, "none")) {
		if (strtok_r(NULL, " \t", &save)) {
			fprintf(out, "error: %s none: takes nothing else\n", c->name);
			return;
		}
		memset(&spec, 0, sizeof(spec));
	} else {
		for (; tok; tok = strtok_r(NULL, " \t", &save)) {
			r = pvisor_limit_parse_kv(&change, c->type, tok, err,
						  sizeof(err));
			if (!r)
				snprintf(err, sizeof(err), "%s: not a limit of %s",
					 tok, c->name);
			if (r <= 0) {
				fprintf(out, "invalid: %s\n", err);
				return;
			}
		}
		pvisor_limit_spec_merge(&spec, &change);
	}
	if (pvisor_chan_set_limits(c, &spec, err, sizeof(err))) {
		fprintf(out, "error: %s\n", err);
		return;
	}
	fprintf(out, "ok\n");
}

void pvisor_control_answer(struct pvisor_control *ctl, const char *line,
			   FILE *out)
{
	char *copy = strdup(line);

	if (!copy) {
		fprintf(out, "error: out of memory\n");
		return;
	}
	if (!strcmp(copy, "stats"))
		answer_stats(ctl, out);
	else if (!strncmp(copy, "limit ", 6) || !strcmp(copy, "limit"))
		answer_limit(ctl, copy + 5, out);
	else
		fprintf(out, "error: unknown command (stats, limit ...)\n");
	free(copy);
}

/* One connection: a line in, the answer out, then close. */
static void serve_client(struct pvisor_control *ctl, int fd)
{
	struct timeval tv = { .tv_sec = 2 };
	char line[LINE_MAX_LEN], *buf = NULL;
	size_t len = 0, size = 0;
	FILE *out;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
		n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	line[len] = '\0';
	if (!memchr(line, '\n', len))
		return;
	line[strcspn(line, "\r\n")] = '\0';
	out = open_memstream(&buf, &size);
	if (!out)
		return;
	pvisor_control_answer(ctl, line, out);
	if (!fclose(out)) {
		for (len = 0; len < size; len += n) {
			n = send(fd, buf + len, size - len, MSG_NOSIGNAL);
			if (n <= 0)
				break;
		}
	}
	free(buf);
}

static void *control_thread(void *arg)
{
	struct pvisor_control *ctl = arg;
	int fd;

	while (!control_stopping) {
		fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;	/* EINTR from the kick, or a client gone */
		serve_client(ctl, fd);
		close(fd);
	}
	return NULL;
}

int pvisor_control_start(struct pvisor_control *ctl)
{
	int err;

	if (ctl->listen_fd < 0)
		return 0;
	control_stopping = false;
	err = pthread_create(&ctl->thread, NULL, control_thread, ctl);
	if (err) {
		fprintf(stderr, "pvisor: the control thread: %s\n", strerror(err));
		return -1;
	}
	ctl->serving = true;
	return 0;
}

void pvisor_control_stop(struct pvisor_control *ctl)
{
	if (!ctl->serving)
		return;
	control_stopping = true;
	pvisor_thread_stop(ctl->thread);
	ctl->serving = false;
}

void pvisor_control_destroy(struct pvisor_control *ctl)
{
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	ctl->listen_fd = -1;
	if (ctl->path[0])
		unlink(ctl->path);
	ctl->path[0] = '\0';
}

/* Send @cmd to guest @name; its answer, NUL-terminated, or NULL. */
static char *ask(const char *name, const char *cmd, bool quiet)
{
	char *buf = NULL;
	size_t len = 0, size = 0;
	ssize_t n;
	int fd;

	fd = connect_to(name);
	if (fd < 0) {
		if (quiet)
			return NULL;
		if (fd == -ENOENT || fd == -ECONNREFUSED)
			fprintf(stderr,
				"pvisor: no guest named %s is running (%s/%s.sock: %s)\n",
				name, pvisor_control_dir(), name, strerror(-fd));
		else
			fprintf(stderr, "pvisor: %s/%s.sock: %s\n",
				pvisor_control_dir(), name, strerror(-fd));
		return NULL;
	}
	if (send(fd, cmd, strlen(cmd), MSG_NOSIGNAL) < 0)
		goto fail;
	for (;;) {
		if (size - len < 1024) {
			char *p = realloc(buf, size + 4096);

			if (!p)
				goto fail;
			buf = p;
			size += 4096;
		}
		n = read(fd, buf + len, size - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (!n)
			break;
		len += n;
	}
	close(fd);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
fail:
	if (!quiet)
		fprintf(stderr, "pvisor: %s/%s.sock: %s\n", pvisor_control_dir(),
			name, strerror(errno));
	close(fd);
	free(buf);
	return NULL;
}

/* The value of KEY in a stats answer, or NULL. */
static const char *stat_value(const char *stats, const char *key, char *buf,
			      size_t len)
{
	size_t klen = strlen(key);
	const char *p = stats;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			p += klen + 1;
			snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
			return buf;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static unsigned long long stat_u64(const char *stats, const char *key)
{
	char buf[64];

	return stat_value(stats, key, buf, sizeof(buf)) ?
	       strtoull(buf, NULL, 10) : 0;
}

static void print_ps_row(const char *name, const char *stats)
{
	char v[64], size[32], key[64], cname[32];
	unsigned int i, nr, q;

	pvisor_format_size(stat_u64(stats, "mem_bytes"), size, sizeof(size));
	printf("%-20s %-8llu %-5llu %-6s %10.2f %12.2f\n", name,
	       stat_u64(stats, "pid"), stat_u64(stats, "vcpus"), size,
	       stat_u64(stats, "cpu_usage_usec") / 1e6,
	       stat_u64(stats, "cpu_throttled_usec") / 1e6);
	nr = stat_u64(stats, "channels");
	for (i = 1; i < nr; i++) {
		snprintf(key, sizeof(key), "chan%u.name", i);
		if (!stat_value(stats, key, cname, sizeof(cname)))
			continue;
		printf("  %-8s", cname);
		snprintf(key, sizeof(key), "chan%u.type", i);
		stat_value(stats, key, v, sizeof(v));
		for (q = 0; q < (strcmp(v, "net") ? 1U : 2U); q++) {
			snprintf(key, sizeof(key), "chan%u.bytes%u", i, q);
			pvisor_format_size(stat_u64(stats, key), size, sizeof(size));
			printf(" %s%s bytes", strcmp(v, "net") ? "" :
			       q ? "rx " : "tx ", size);
			snprintf(key, sizeof(key), "chan%u.requests%u", i, q);
			printf(" %llu ops", stat_u64(stats, key));
			snprintf(key, sizeof(key), "chan%u.throttled_ns%u", i, q);
			printf(" throttled %.2fs%s", stat_u64(stats, key) / 1e9,
			       q || strcmp(v, "net") ? "" : ";");
		}
		snprintf(key, sizeof(key), "chan%u.limits", i);
		if (stat_value(stats, key, v, sizeof(v)))
			printf("  limits: %s", v);
		printf("\n");
	}
}

int pvisor_cmd_ps(int argc, char **argv)
{
	const char *dir = pvisor_control_dir();
	struct dirent *de;
	char name[PVISOR_NAME_MAX + 1], *stats;
	size_t len;
	DIR *d;

	if (argc > 1) {
		fprintf(stderr, "pvisor ps: takes no arguments\n");
		return 2;
	}
	(void)argv;
	printf("%-20s %-8s %-5s %-6s %10s %12s\n", "NAME", "PID", "VCPUS",
	       "MEM", "CPU(s)", "THROTTLED(s)");
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : (fprintf(stderr, "pvisor ps: %s: %s\n",
						      dir, strerror(errno)), 1);
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".sock") ||
		    len - 5 > PVISOR_NAME_MAX)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 5), de->d_name);
		if (!pvisor_name_is_valid(name))
			continue;
		/* A socket nobody answers is a dead launcher's: not listed. */
		stats = ask(name, "stats\n", true);
		if (!stats)
			continue;
		if (!strncmp(stats, "error:", 6))
			fprintf(stderr, "pvisor ps: %s: %s", name, stats);
		else
			print_ps_row(name, stats);
		free(stats);
	}
	closedir(d);
	return 0;
}

int pvisor_cmd_limit(int argc, char **argv)
{
	char *cmd, *answer;
	size_t len = 8;
	int i, ret;

	if (argc < 3) {
		fprintf(stderr,
			"pvisor limit: usage: pvisor limit NAME cpu-max=PERCENT|max | cpu-weight=N | io-weight=N | mem-max=SIZE | diskN KEY=VALUE...|none | netN KEY=VALUE...|none\n");
		return 2;
	}
	if (!pvisor_name_is_valid(argv[1])) {
		fprintf(stderr,
			"pvisor limit: %s: not a guest name (1 to %d of A-Z a-z 0-9 _ . -)\n",
			argv[1], PVISOR_NAME_MAX);
		return 2;
	}
	for (i = 2; i < argc; i++)
		len += strlen(argv[i]) + 1;
	cmd = malloc(len);
	if (!cmd) {
		fprintf(stderr, "pvisor: out of memory\n");
		return 1;
	}
	strcpy(cmd, "limit");
	for (i = 2; i < argc; i++) {
		if (strpbrk(argv[i], "\n")) {
			fprintf(stderr, "pvisor limit: a newline in an argument\n");
			free(cmd);
			return 2;
		}
		strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	strcat(cmd, "\n");
	answer = ask(argv[1], cmd, false);
	free(cmd);
	if (!answer)
		return 1;
	/* "invalid: " is a bad value, a usage error; "error: " a failure. */
	ret = !strcmp(answer, "ok\n") ? 0 :
	      !strncmp(answer, "invalid: ", 9) ? 2 : 1;
	if (ret)
		fprintf(stderr, "pvisor limit: %s: %s%s", argv[1], answer,
			*answer ? "" : "no answer\n");
	else
		printf("%s", answer);
	free(answer);
	return ret;
}

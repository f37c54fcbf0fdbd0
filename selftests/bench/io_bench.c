// SPDX-License-Identifier: GPL-2.0
/*
 * io_bench: a pvisor guest's block and network throughput against the
 * host's own, measured in the same run (Documentation/benchmarks.rst).
 *
 *   io_bench [--mb N] [--net-mb N] [--dir DIR] [--guests DIR] [--direct DEV]
 *
 * Block: the host writes and reads an N MiB file in 64 KiB blocks (what
 * "dd bs=64k" does), then a guest does the same on the same file as its
 * disk (blk_bench.elf); both are timed on the host kernel's clock (the
 * guest reads it with PVISOR_INFO_CLOCK_NS).  Network: UDP datagrams of
 * 1472 bytes from one process to another over loopback, then from a guest
 * (netdemo.elf) through a tap to a socket on the host; the receiver times
 * both.  With --direct DEV, the same block pair again on the block device
 * DEV (at least N MiB, overwritten) with O_DIRECT on both sides: the host's
 * dd with oflag/iflag=direct against a guest disk "DEV,direct", no page
 * cache on either.  Every line is "name: numbers"; the ratio is guest /
 * host.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK		(64 * 1024)
#define DGRAM		1472
#define PORT		5001
#define TAP		"pvb0"
#define HOST_IP		"10.0.2.1"
#define GUEST_IP	"10.0.2.15"
/* The receiver gives up after this long without a datagram. */
#define IDLE_MS		3000

static const char *guests = "/pvisor/guests";
static const char *dir = "/tmp";
static const char *direct_dev;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static double mib_per_s(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes / (1 << 20) / ((double)ns / 1e9) : 0;
}

/*
 * The host's dd: write or read @mb MiB of @path in 64 KiB blocks, through
 * the page cache or (@direct) with O_DIRECT.
 */
static int host_rw(const char *path, bool direct, bool write, unsigned int mb,
		   uint64_t *ns)
{
	static char *buf;	/* page-aligned, as O_DIRECT wants */
	uint64_t t0, off, size = (uint64_t)mb << 20;
	ssize_t n;
	int fd;

	if (!buf)
		buf = aligned_alloc(4096, BLOCK);
	if (!buf)
		return -1;
	fd = open(path, (write ? O_RDWR | O_CREAT : O_RDONLY) |
		  (direct ? O_DIRECT : 0), 0600);
	if (fd < 0)
		return -1;
	memset(buf, 0x5a, BLOCK);
	t0 = now_ns();
	for (off = 0; off < size; off += BLOCK) {
		n = write ? pwrite(fd, buf, BLOCK, off) :
			    pread(fd, buf, BLOCK, off);
		if (n != BLOCK) {
			close(fd);
			return -1;
		}
	}
	*ns = now_ns() - t0;
	close(fd);
	return 0;
}

/* Start a command with its stdout on a pipe; *@fd reads it. */
static pid_t spawn(char **argv, int *fd)
{
	int pipefd[2];
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (!pid) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	*fd = pipefd[0];
	return pid;
}

/* Read what @fd has into @out (NUL-terminated); reap @pid: its status. */
static int finish(pid_t pid, int fd, char *out, size_t size)
{
	size_t len = 0;
	int status;
	ssize_t n;

	while (len + 1 < size && (n = read(fd, out + len, size - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(fd);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* "pvisor run OPT VALUE GUESTS/ELF -- ARG1 ARG2" into @argv. */
static void launcher_argv(char **argv, const char *opt, const char *value,
			  const char *elf, const char *arg1, const char *arg2)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", guests, elf);
	argv[0] = "pvisor";
	argv[1] = "run";
	argv[2] = (char *)opt;
	argv[3] = (char *)value;
	argv[4] = path;
	argv[5] = "--";
	argv[6] = (char *)arg1;
	argv[7] = (char *)arg2;
	argv[8] = NULL;
}

struct guest_io {
	unsigned long long bytes, ns, requests, doorbells, idles;
};

static int guest_blk(const char *path, bool direct, const char *op,
		     unsigned int mb, struct guest_io *g)
{
	char size[16], out[4096], fmt[128], disk[280], *argv[9];
	const char *line;
	int rc, fd;
	pid_t pid;

	snprintf(size, sizeof(size), "%u", mb);
	snprintf(disk, sizeof(disk), "%s%s", path, direct ? ",direct" : "");
	launcher_argv(argv, "--disk", disk, "blk_bench.elf", op, size);
	pid = spawn(argv, &fd);
	rc = finish(pid, fd, out, sizeof(out));
	snprintf(fmt, sizeof(fmt), "blk_bench: %s %s %s", op,
		 "%llu bytes in %llu ns, requests %llu,",
		 "doorbells %llu, idles %llu");
	line = strstr(out, "blk_bench: ");
	if (rc || !line ||
	    sscanf(line, fmt, &g->bytes, &g->ns, &g->requests, &g->doorbells,
		   &g->idles) != 5) {
		fprintf(stderr, "io_bench: blk_bench.elf %s: exit %d, output:\n%s\n",
			op, rc, out);
		return -1;
	}
	return 0;
}

/* The block pair on a file in --dir, or with O_DIRECT on --direct DEV. */
static int bench_block(unsigned int mb, bool direct)
{
	static const char *const ops[] = { "write", "read" };
	const char *kind = direct ? "block direct" : "block";
	char path[256];
	uint64_t host_ns;
	int i, ret = 0;

	if (direct)
		snprintf(path, sizeof(path), "%s", direct_dev);
	else
		snprintf(path, sizeof(path), "%s/io_bench.img", dir);
	/*
	 * The file exists before anything is timed: the guest overwrites
	 * it, so the host's timed write must not allocate its pages either.
	 */
	if (host_rw(path, direct, true, mb, &host_ns)) {
		fprintf(stderr, "io_bench: creating %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++) {
		struct guest_io g;
		double host, guest;

		if (host_rw(path, direct, i == 0, mb, &host_ns)) {
			fprintf(stderr, "io_bench: host %s of %s: %s\n", ops[i],
				path, strerror(errno));
			ret = -1;
			break;
		}
		if (guest_blk(path, direct, ops[i], mb, &g)) {
			ret = -1;
			continue;
		}
		host = mib_per_s((uint64_t)mb << 20, host_ns);
		guest = mib_per_s(g.bytes, g.ns);
		printf("%s %s, %u MiB in 64 KiB requests: host %.1f MiB/s, "
		       "guest %.1f MiB/s, ratio %.2f\n",
		       kind, ops[i], mb, host, guest, host ? guest / host : 0);
		printf("%s %s exits: requests %llu, doorbells %llu, "
		       "HLT wakeups %llu, exits/request %.3f\n",
		       kind, ops[i], g.requests, g.doorbells, g.idles,
		       g.requests ? (double)(g.doorbells + g.idles) / g.requests : 0);
	}
	if (!direct)
		unlink(path);
	return ret;
}

/* Receive until @bytes or IDLE_MS of silence; bytes and first-to-last ns. */
static void udp_receive(int sock, uint64_t bytes, uint64_t *got, uint64_t *ns)
{
	static char buf[65536];
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	uint64_t first = 0, last = 0;
	ssize_t n;

	*got = 0;
	while (*got < bytes && poll(&pfd, 1, IDLE_MS) > 0) {
		n = recv(sock, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		last = now_ns();
		if (!first)
			first = last;
		*got += n;
	}
	/* The first datagram's time is its end: count it from there. */
	*ns = last - first;
	if (*got >= DGRAM)
		*got -= DGRAM;
}

static int udp_socket(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_DGRAM, 0), size = 8 << 20;

	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	inet_pton(AF_INET, ip, &a.sin_addr);
	if (bind(s, (struct sockaddr *)&a, sizeof(a))) {
		close(s);
		return -1;
	}
	return s;
}

static int loopback(uint64_t bytes, uint64_t *got, uint64_t *ns)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(PORT) };
	static char buf[DGRAM];
	int rx, tx, status;
	uint64_t sent;
	pid_t pid;

	rx = udp_socket("127.0.0.1", PORT);
	if (rx < 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	pid = fork();
	if (!pid) {
		tx = socket(AF_INET, SOCK_DGRAM, 0);
		for (sent = 0; sent < bytes; sent += DGRAM)
			sendto(tx, buf, DGRAM, 0, (struct sockaddr *)&to,
			       sizeof(to));
		_exit(0);
	}
	udp_receive(rx, bytes, got, ns);
	waitpid(pid, &status, 0);
	close(rx);
	return 0;
}

static int guest_net(uint64_t bytes, uint64_t *got, uint64_t *ns,
		     char *out, size_t size)
{
	char arg[128], path[64], *argv[9];
	int rx = -1, i, fd, rc;
	pid_t pid;

	snprintf(arg, sizeof(arg), "bench=" HOST_IP ":%d,bytes=%llu", PORT,
		 (unsigned long long)bytes);
	launcher_argv(argv, "--net", "tap:" TAP, "netdemo.elf",
		      "ip=" GUEST_IP, arg);
	pid = spawn(argv, &fd);
	if (pid < 0)
		return -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s", TAP);
	for (i = 0; i < 100 && access(path, F_OK); i++)
		usleep(100000);
	if (!system("ip addr add " HOST_IP "/24 dev " TAP
		    " && ip link set " TAP " up"))
		rx = udp_socket(HOST_IP, PORT);
	if (rx >= 0) {
		udp_receive(rx, bytes, got, ns);
		close(rx);
	}
	rc = finish(pid, fd, out, size);
	return rx < 0 || rc ? -1 : 0;
}

static int bench_net(unsigned int mb)
{
	uint64_t bytes = (uint64_t)mb << 20, lo_got, lo_ns, g_got, g_ns;
	double lo, guest;
	char out[4096];

	if (access("/dev/net/tun", F_OK)) {
		printf("net: skipped, no /dev/net/tun\n");
		return 0;
	}
	/* The baseline needs loopback, which a bare initramfs leaves down. */
	if (system("ip link set lo up"))
		fprintf(stderr, "io_bench: ip link set lo up failed\n");
	if (loopback(bytes, &lo_got, &lo_ns)) {
		fprintf(stderr, "io_bench: loopback: %s\n", strerror(errno));
		return -1;
	}
	if (guest_net(bytes, &g_got, &g_ns, out, sizeof(out))) {
		fprintf(stderr, "io_bench: netdemo.elf bench failed, output:\n%s\n",
			out);
		return -1;
	}
	lo = mib_per_s(lo_got, lo_ns);
	guest = mib_per_s(g_got, g_ns);
	printf("net, %u MiB of %d-byte UDP datagrams: loopback %.1f MiB/s "
	       "(%llu%% arrived), guest to host %.1f MiB/s (%llu%% arrived), "
	       "ratio %.2f\n",
	       mb, DGRAM, lo, (unsigned long long)(lo_got * 100 / bytes),
	       guest, (unsigned long long)(g_got * 100 / bytes),
	       lo ? guest / lo : 0);
	printf("%s", out);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mb", required_argument, NULL, 'm' },
		{ "net-mb", required_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' },
		{ "guests", required_argument, NULL, 'g' },
		{ "direct", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int mb = 16, net_mb = 8;
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			mb = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			net_mb = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'g':
			guests = optarg;
			break;
		case 'D':
			direct_dev = optarg;
			break;
		default:
			fprintf(stderr, "usage: io_bench [--mb N] [--net-mb N] "
				"[--dir DIR] [--guests DIR] [--direct DEV]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (mb && bench_block(mb, false))
		ret = 1;
	if (mb && direct_dev && bench_block(mb, true))
		ret = 1;
	if (net_mb && bench_net(net_mb))
		ret = 1;
	return ret;
}

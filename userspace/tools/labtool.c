// SPDX-License-Identifier: GPL-2.0
/*
 * labtool: what the lab's shell checks (selftests/lab/guest-run) need and
 * busybox lacks, on the lab kernel's CLOCK_MONOTONIC, which is also the
 * clock a guest reads with PVISOR_INFO_CLOCK_NS.
 *
 *   labtool now
 *	prints the clock in nanoseconds.
 *   labtool usage CPU_STAT...
 *	prints the clock and the usage_usec of each cgroup cpu.stat file,
 *	read back to back: "NS USEC...".
 *   labtool time FILE COMMAND [ARG...]
 *	runs COMMAND, writes "START_NS END_NS" (before the fork, after the
 *	wait) into FILE and exits with its status (128 + N for signal N).
 *   labtool udp-sink PORT BYTES IDLE_S
 *	receives UDP datagrams on PORT until BYTES bytes of payload have
 *	arrived, or IDLE_S seconds pass without one; checks that byte i of
 *	every payload is i & 0xff (what netdemo.elf bench= sends).  Prints
 *	"udp-sink: listening on PORT" once bound, then "udp-sink: received
 *	B bytes in D datagrams, X bad, first NS last NS"; exits 0 if B is
 *	BYTES and X is 0, else 1.
 *
 * Exit status 2 on a bad command line, 1 on a failed system call (named
 * with its errno).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DGRAM_MAX	65536
/* Room for every datagram of a run, so that a slow reader drops none. */
#define SINK_RCVBUF	(64 << 20)

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int bad_command_line(void)
{
	fprintf(stderr,
		"usage: labtool now\n"
		"       labtool usage CPU_STAT...\n"
		"       labtool time FILE COMMAND [ARG...]\n"
		"       labtool udp-sink PORT BYTES IDLE_S\n");
	return 2;
}

static int parse_u64(const char *s, unsigned long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int read_usage(const char *path, unsigned long long *usec)
{
	char line[128];
	FILE *f = fopen(path, "r");
	int found = 0;

	if (!f) {
		fprintf(stderr, "labtool: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "usage_usec %llu", usec) == 1;
	fclose(f);
	if (!found)
		fprintf(stderr, "labtool: no usage_usec in %s\n", path);
	return found ? 0 : -1;
}

static int cmd_usage(int argc, char **argv)
{
	unsigned long long usec[64], t;
	int i;

	if (argc < 1 || argc > 64)
		return bad_command_line();
	t = now_ns();
	for (i = 0; i < argc; i++)
		if (read_usage(argv[i], &usec[i]))
			return 1;
	printf("%llu", t);
	for (i = 0; i < argc; i++)
		printf(" %llu", usec[i]);
	printf("\n");
	return 0;
}

static int cmd_time(int argc, char **argv)
{
	unsigned long long start, end;
	int status;
	FILE *f;
	pid_t pid;

	if (argc < 2)
		return bad_command_line();
	f = fopen(argv[0], "w");
	if (!f) {
		fprintf(stderr, "labtool: open %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	start = now_ns();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "labtool: fork: %s\n", strerror(errno));
		return 1;
	}
	if (!pid) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "labtool: exec %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		fprintf(stderr, "labtool: waitpid: %s\n", strerror(errno));
		return 1;
	}
	end = now_ns();
	fprintf(f, "%llu %llu\n", start, end);
	if (fclose(f)) {
		fprintf(stderr, "labtool: write %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmd_udp_sink(int argc, char **argv)
{
	unsigned long long port, want, idle_s, got = 0, dgrams = 0, bad = 0;
	unsigned long long first = 0, last = 0;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	static uint8_t buf[DGRAM_MAX];
	int fd, size = SINK_RCVBUF, r;
	struct pollfd pfd;
	ssize_t len, i;

	if (argc != 3 || parse_u64(argv[0], &port) || !port || port > 0xffff ||
	    parse_u64(argv[1], &want) || parse_u64(argv[2], &idle_s) ||
	    !idle_s || idle_s > 3600)
		return bad_command_line();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		fprintf(stderr, "labtool: socket: %s\n", strerror(errno));
		return 1;
	}
	/* FORCE passes rmem_max as root; the plain one is capped by it. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)))
		fprintf(stderr, "labtool: SO_RCVBUF: %s\n", strerror(errno));
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "labtool: bind port %llu: %s\n", port,
			strerror(errno));
		return 1;
	}
	printf("udp-sink: listening on %llu\n", port);
	fflush(stdout);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < want) {
		r = poll(&pfd, 1, idle_s * 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "labtool: poll: %s\n", strerror(errno));
			return 1;
		}
		if (!r)
			break;
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0) {
			fprintf(stderr, "labtool: recv: %s\n", strerror(errno));
			return 1;
		}
		last = now_ns();
		if (!dgrams++)
			first = last;
		got += len;
		for (i = 0; i < len; i++)
			bad += buf[i] != (uint8_t)i;
	}
	printf("udp-sink: received %llu bytes in %llu datagrams, %llu bad, first %llu last %llu\n",
	       got, dgrams, bad, first, last);
	return got == want && !bad ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return bad_command_line();
	if (!strcmp(argv[1], "now") && argc == 2) {
		printf("%llu\n", now_ns());
		return 0;
	}
	if (!strcmp(argv[1], "usage"))
		return cmd_usage(argc - 2, argv + 2);
	if (!strcmp(argv[1], "time"))
		return cmd_time(argc - 2, argv + 2);
	if (!strcmp(argv[1], "udp-sink"))
		return cmd_udp_sink(argc - 2, argv + 2);
	return bad_command_line();
}

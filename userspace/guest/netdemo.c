// SPDX-License-Identifier: GPL-2.0
/*
 * A host on the network of net 0: answers ARP requests for its address
 * and ICMP echo requests to it, or measures transmission.
 *
 *   pvisor run --net tap:NAME netdemo.elf -- ip=A.B.C.D [count=N]
 *	"netdemo: up at A.B.C.D mac xx:xx:xx:xx:xx:xx" once ready, then
 *	"netdemo: echo reply to A.B.C.D seq S" per echo answered; exits 0
 *	after N replies when count is given, else runs until stopped.
 *   ... netdemo.elf -- ip=A.B.C.D bench=DEST_IP:PORT,bytes=N
 *	resolves DEST_IP with ARP, sends N bytes of UDP payload in
 *	datagrams of 1472 bytes (less if the MTU is below 1500) to
 *	DEST_IP:PORT, waits until all are transmitted and prints
 *	"netdemo: sent N bytes in T ns, doorbells D, idles I, frames F"
 *	(T from PVISOR_INFO_CLOCK_NS, D and I of both queues), exits 0.
 *
 * With a disk (disk 0), every echo answered is also logged on it, one
 * 512-byte sector per line from sector 0 on, and flushed: "netdemo: log on
 * disk 0 (N bytes)" says so.
 *
 * Status 1 when DEST_IP does not answer ARP, 2 on a bad command line or
 * without a net channel.  The UDP checksum is 0 (none), as IPv4 allows.
 */
#include "args.h"
#include "blk.h"
#include "console.h"
#include "irq.h"
#include "kit.h"
#include "net.h"
#include "string.h"

#define ETH_P_IP	0x0800
#define ETH_P_ARP	0x0806
#define IP_HLEN		20
#define UDP_HLEN	8
#define ICMP_HLEN	8
#define ARP_LEN		28
#define MIN_FRAME	60	/* Ethernet's minimum, FCS aside */
#define UDP_PAYLOAD	1472
#define UDP_SRC_PORT	40000
#define ARP_TRIES	5
#define ARP_WAIT_NS	1000000000ULL
#define MAX_FRAME	(0xffff + ETH_HLEN)

static struct net net;
/* The log on disk 0, if there is one. */
static struct blk disk;
static bool has_disk;
static uint64_t log_sector;
static char log_line[512] __aligned(512);

static char *put_dec(char *p, uint32_t v)
{
	char digits[10];
	int n = 0;

	do {
		digits[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*p++ = digits[--n];
	return p;
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* "echo reply to A.B.C.D seq S" in the next sector of the disk. */
static void log_reply(uint32_t ip, unsigned int seq)
{
	char *p = log_line;
	int i;

	if (!has_disk || (log_sector + 1) * 512 > disk.capacity)
		return;
	memset(log_line, 0, sizeof(log_line));
	p = put_str(p, "echo reply to ");
	for (i = 3; i >= 0; i--) {
		p = put_dec(p, (ip >> (8 * i)) & 0xff);
		if (i)
			*p++ = '.';
	}
	p = put_str(p, " seq ");
	p = put_dec(p, seq);
	*p = '\n';
	if (blk_write(&disk, log_sector * 512, log_line, 512) ||
	    blk_flush(&disk))
		printf("netdemo: writing the log on disk 0 failed\n");
	log_sector++;
}

static uint32_t my_ip;
static uint8_t rx[MAX_FRAME], tx[MAX_FRAME];
static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* The bench's peer: its MAC once ARP has answered. */
static uint32_t peer_ip;
static uint8_t peer_mac[6];
static bool peer_known;

static uint16_t get16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* The Internet checksum (RFC 1071) of @len bytes: 0 over a valid one. */
static uint16_t csum(const uint8_t *p, unsigned int len)
{
	uint32_t sum = 0;

	for (; len > 1; len -= 2, p += 2)
		sum += get16(p);
	if (len)
		sum += *p << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* "A.B.C.D" at *@s, which is left after it: 0 or -EINVAL. */
static int parse_ip(const char **s, uint32_t *ip)
{
	unsigned int i, part;
	const char *p = *s;

	*ip = 0;
	for (i = 0; i < 4; i++) {
		if (i && *p++ != '.')
			return -EINVAL;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (part = 0; *p >= '0' && *p <= '9'; p++) {
			part = part * 10 + *p - '0';
			if (part > 255)
				return -EINVAL;
		}
		*ip = *ip << 8 | part;
	}
	*s = p;
	return 0;
}

static void print_ip(uint32_t ip)
{
	printf("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
	       ip & 0xff);
}

static void eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, net.mac, 6);
	put16(f + 12, type);
}

static void ip_header(uint8_t *h, uint16_t total, uint16_t id, uint8_t proto,
		      uint32_t dst)
{
	memset(h, 0, IP_HLEN);
	h[0] = 0x45;		/* version 4, 5 words of header */
	put16(h + 2, total);
	put16(h + 4, id);
	h[8] = 64;		/* TTL */
	h[9] = proto;
	put32(h + 12, my_ip);
	put32(h + 16, dst);
	put16(h + 10, csum(h, IP_HLEN));
}

static void send_arp(uint16_t oper, const uint8_t *dst_mac,
		     const uint8_t *target_mac, uint32_t target_ip)
{
	uint8_t *a = tx + ETH_HLEN;

	memset(tx, 0, MIN_FRAME);
	eth_header(tx, dst_mac, ETH_P_ARP);
	put16(a, 1);			/* Ethernet */
	put16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, oper);
	memcpy(a + 8, net.mac, 6);
	put32(a + 14, my_ip);
	memcpy(a + 18, target_mac, 6);
	put32(a + 24, target_ip);
	net_send(&net, tx, MIN_FRAME);
}

static void handle_arp(const uint8_t *f, unsigned int len)
{
	const uint8_t *a = f + ETH_HLEN;
	uint32_t sender, target;

	if (len < ETH_HLEN + ARP_LEN || get16(a) != 1 ||
	    get16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4)
		return;
	sender = get32(a + 14);
	target = get32(a + 24);
	if (peer_ip && sender == peer_ip) {
		memcpy(peer_mac, a + 8, 6);
		peer_known = true;
	}
	if (get16(a + 6) == 1 && target == my_ip)
		send_arp(2, a + 8, a + 8, sender);
}

/* Answer an echo request: true if this frame was one. */
static bool handle_ip(const uint8_t *f, unsigned int len)
{
	const uint8_t *h = f + ETH_HLEN, *icmp;
	unsigned int hlen, total, icmp_len;
	uint8_t *out = tx + ETH_HLEN + IP_HLEN;
	uint32_t src;

	if (len < ETH_HLEN + IP_HLEN || h[0] >> 4 != 4)
		return false;
	hlen = (h[0] & 0xf) * 4;
	total = get16(h + 2);
	if (hlen < IP_HLEN || total < hlen + ICMP_HLEN ||
	    total > len - ETH_HLEN || csum(h, hlen) ||
	    get32(h + 16) != my_ip || h[9] != 1 ||
	    (get16(h + 6) & 0x3fff))	/* a fragment */
		return false;
	icmp = h + hlen;
	icmp_len = total - hlen;
	if (icmp[0] != 8 || icmp[1] != 0 || csum(icmp, icmp_len))
		return false;
	src = get32(h + 12);

	eth_header(tx, f + 6, ETH_P_IP);
	ip_header(tx + ETH_HLEN, IP_HLEN + icmp_len, get16(h + 4), 1, src);
	memcpy(out, icmp, icmp_len);
	out[0] = 0;		/* echo reply */
	put16(out + 2, 0);
	put16(out + 2, csum(out, icmp_len));
	net_send(&net, tx, ETH_HLEN + IP_HLEN + icmp_len);
	printf("netdemo: echo reply to ");
	print_ip(src);
	printf(" seq %u\n", get16(icmp + 6));
	log_reply(src, get16(icmp + 6));
	return true;
}

/* Answer what needs answering; true for an echo request answered. */
static bool handle_frame(const uint8_t *f, unsigned int len)
{
	if (len < ETH_HLEN)
		return false;
	if (get16(f + 12) == ETH_P_ARP) {
		handle_arp(f, len);
		return false;
	}
	if (get16(f + 12) == ETH_P_IP)
		return handle_ip(f, len);
	return false;
}

static int resolve_peer(void)
{
	static const uint8_t zero[6];
	uint64_t end, now;
	unsigned int try;
	int len;

	for (try = 0; try < ARP_TRIES && !peer_known; try++) {
		send_arp(1, broadcast, zero, peer_ip);
		end = clock_ns() + ARP_WAIT_NS;
		while (!peer_known && (now = clock_ns()) < end) {
			len = net_recv_timeout(&net, rx, sizeof(rx),
					       end - now);
			if (len)
				handle_frame(rx, len);
		}
	}
	return peer_known ? 0 : -ETIMEDOUT;
}

static int bench(uint16_t port, uint64_t bytes)
{
	uint64_t sent = 0, frames = 0, start, ns, doorbells, idles;
	unsigned int payload = UDP_PAYLOAD, len;
	uint8_t *ip = tx + ETH_HLEN, *udp = ip + IP_HLEN;
	unsigned int i;

	if (net.mtu < IP_HLEN + UDP_HLEN + 1) {
		printf("netdemo: an MTU of %u is too small\n", net.mtu);
		return 2;
	}
	if (payload > (unsigned int)net.mtu - IP_HLEN - UDP_HLEN)
		payload = net.mtu - IP_HLEN - UDP_HLEN;
	if (resolve_peer()) {
		printf("netdemo: no ARP answer from ");
		print_ip(peer_ip);
		printf("\n");
		return 1;
	}
	for (i = 0; i < payload; i++)
		udp[UDP_HLEN + i] = i;
	eth_header(tx, peer_mac, ETH_P_IP);
	put16(udp, UDP_SRC_PORT);
	put16(udp + 2, port);
	put16(udp + 6, 0);	/* no checksum */

	console_flush();	/* the console's own exits stay out */
	doorbells = net.tx.doorbells + net.rx.doorbells;
	idles = net.tx.idles + net.rx.idles;
	start = clock_ns();
	while (sent < bytes) {
		len = bytes - sent < payload ? bytes - sent : payload;
		ip_header(ip, IP_HLEN + UDP_HLEN + len, frames, 17, peer_ip);
		put16(udp + 4, UDP_HLEN + len);
		net_send(&net, tx, ETH_HLEN + IP_HLEN + UDP_HLEN + len);
		sent += len;
		frames++;
	}
	net_flush(&net);
	ns = clock_ns() - start;
	doorbells = net.tx.doorbells + net.rx.doorbells - doorbells;
	idles = net.tx.idles + net.rx.idles - idles;
	printf("netdemo: sent %lu bytes in %lu ns, doorbells %lu, idles %lu, frames %lu\n",
	       sent, ns, doorbells, idles, frames);
	if (net.tx_errors)
		printf("netdemo: %lu frames failed\n", net.tx_errors);
	return net.tx_errors ? 1 : 0;
}

static struct {
	bool ip, count, bench;
	uint64_t replies;	/* count= */
	uint64_t bytes;
	uint16_t port;
} opt;

/* DEST_IP:PORT[,bytes=N] */
static int parse_bench(const char *v)
{
	uint64_t port = 0;

	if (parse_ip(&v, &peer_ip) || *v++ != ':')
		return -EINVAL;
	for (; *v >= '0' && *v <= '9' && port <= 0xffff; v++)
		port = port * 10 + *v - '0';
	if (!port || port > 0xffff)
		return -EINVAL;
	opt.port = port;
	if (!*v)
		return 0;
	if (strncmp(v, ",bytes=", 7))
		return -EINVAL;
	return parse_u64(v + 7, &opt.bytes);
}

static int parse_arg(const char *arg)
{
	const char *v;

	v = arg_value(arg, "ip");
	if (v) {
		opt.ip = true;
		return parse_ip(&v, &my_ip) || *v ? -EINVAL : 0;
	}
	v = arg_value(arg, "count");
	if (v) {
		opt.count = true;
		return parse_u64(v, &opt.replies);
	}
	v = arg_value(arg, "bench");
	if (v) {
		opt.bench = true;
		return parse_bench(v);
	}
	v = arg_value(arg, "bytes");
	if (v)
		return parse_u64(v, &opt.bytes);
	return -EINVAL;
}

static int bad_command_line(void)
{
	printf("netdemo: usage: ip=A.B.C.D [count=N] | ");
	printf("ip=A.B.C.D bench=DEST_IP:PORT,bytes=N\n");
	return 2;
}

int main(const struct pvisor_start_info *si)
{
	char *argv[ARGS_MAX];
	int argc = args_split(si, argv), i, r, len;
	uint64_t replies = 0;

	for (i = 0; i < argc; i++)
		if (parse_arg(argv[i]))
			return bad_command_line();
	if (!opt.ip || (opt.bench && (!opt.bytes || opt.count)))
		return bad_command_line();

	r = net_open(&net, 0);
	if (r) {
		printf("netdemo: no net 0 (error %d)\n", r);
		return 2;
	}
	printf("netdemo: up at ");
	print_ip(my_ip);
	printf(" mac %02x:%02x:%02x:%02x:%02x:%02x\n", net.mac[0], net.mac[1],
	       net.mac[2], net.mac[3], net.mac[4], net.mac[5]);
	if (opt.bench)
		return bench(opt.port, opt.bytes);
	if (!blk_open(&disk, 0) && !disk.read_only) {
		has_disk = true;
		printf("netdemo: log on disk 0 (%llu bytes)\n",
		       (unsigned long long)disk.capacity);
	}

	while (!opt.count || replies < opt.replies) {
		len = net_recv(&net, rx, sizeof(rx));
		if (len && handle_frame(rx, len))
			replies++;
	}
	net_flush(&net);
	return 0;
}

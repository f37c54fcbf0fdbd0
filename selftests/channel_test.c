// SPDX-License-Identifier: GPL-2.0
/*
 * Channels: devices that the launcher attaches to a VM
 * (PVISOR_CREATE_CHANNEL) and serves from threads of its own
 * (PVISOR_CHANNEL_SERVE), and that the guest drives through rings in its
 * memory (linux/pvisor_para.h).  Written against the ABI:
 *
 *  - PVISOR_CREATE_CHANNEL's argument checks, ids in order, the channel
 *    limit, zeroed statistics, unknown ioctls on a channel fd;
 *  - the hypercalls CHAN_INFO, CHAN_SETUP and CHAN_NOTIFY: their errors,
 *    and what CHAN_INFO says of each kind of channel;
 *  - block: a 1 MiB memfd written and read back in 64 KiB requests, 16 in
 *    flight, checked by the guest and, after the VM, by the host; range,
 *    alignment, op and read-only errors come back as statuses; discard;
 *  - notification suppression: a busy queue needs no doorbell, and
 *    interrupts follow rsp_event;
 *  - console: output in order and complete, input on demand, EOF;
 *  - net over a SOCK_SEQPACKET socket, which keeps frame boundaries:
 *    frames out, frames into posted buffers, a frame too big dropped;
 *  - malformed rings kill the VM (PVISOR_KILL_BAD_RING), SERVE ends with
 *    EIO, and a new VM works;
 *  - lifecycle: a channel fd closed while served, a VM closed under a
 *    parked SERVE, SERVE twice, SERVE on a dead VM.
 *
 * The guest waits for responses in HLT with a guard timer, so that a lost
 * interrupt or a response that never comes fails the test with the ring's
 * state instead of hanging it.  Every test SKIPs without /dev/pvisor or
 * without PVISOR_CAP_CHANNELS.
 */
#include <poll.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "vm_util.h"

#define HC_ERR(e)	((uint64_t)-(int64_t)(e))
#define MS		1000000ULL

/*
 * Guest memory for rings and buffers, identity mapped (address == GPA),
 * checked free by the host: a page per queue (chan * 2 + queue), then
 * buffers.
 */
#define AREA		0x2000000ULL
#define AREA_SIZE	0x800000ULL
#define RING_GPA(i)	(AREA + (i) * GUEST_PAGE_SIZE)
#define DISK_BUF	(AREA + 0x100000)	/* 1 MiB */
#define OUT_BUF		(AREA + 0x200000)	/* 256 KiB */
#define NET_BUF		(AREA + 0x300000)	/* 4 rx buffers, then tx */
#define MISC_BUF	(AREA + 0x400000)	/* 256 KiB */

#define DISK_SIZE	(1024 * 1024ULL)
#define DISK_CHUNK	65536ULL
#define DISK_TAIL	100	/* bytes past the last sector: not disk */
#define TAIL_BYTE	0xa5

#define CONSOLE_TOTAL	(100 * 1024)
#define CONSOLE_CHUNK	2048

#define NET_HLEN	14
#define NET_STRIDE	16384	/* room for each rx buffer */
#define NET_NR_RX	4

/* Vectors: one per queue, and the guard timer of the guest's waits. */
#define GUARD_VECTOR	0x40
#define QUEUE_VECTOR(chan, queue)	(0x80 + 2 * (chan) + (queue))
#define GUARD_NS	(20 * MS)
#define WAIT_NS		(30000 * MS)

static const uint8_t test_mac[6] = { 0x02, 0x70, 0x76, 0x69, 0x73, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0x70, 0x76, 0x69, 0x73, 0xfe };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Code shared by guest and host: no C library. */

/* The contents tests write: a 64-bit word for each (seed, byte offset). */
static uint64_t pattern(uint64_t seed, uint64_t off)
{
	uint64_t x = (seed ^ off) * 0x9e3779b97f4a7c15ULL;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ x >> 29;
}

static uint8_t pattern_byte(uint64_t seed, uint64_t pos)
{
	return pattern(seed, pos & ~7ULL) >> (8 * (pos & 7));
}

/* @len bytes (a multiple of 8) of the pattern, from disk offset @base. */
static void pattern_fill(void *buf, uint64_t len, uint64_t seed,
			 uint64_t base)
{
	uint64_t *w = buf;
	uint64_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = pattern(seed, base + 8 * i);
}

/* The offset of the first word that is not the pattern, or @len. */
static uint64_t pattern_check(const void *buf, uint64_t len, uint64_t seed,
			      uint64_t base)
{
	const uint64_t *w = buf;
	uint64_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != pattern(seed, base + 8 * i))
			return 8 * i;
	return len;
}

static uint64_t checksum(const void *buf, uint64_t len)
{
	const uint64_t *w = buf;
	uint64_t sum = 0xcbf29ce484222325ULL;
	uint64_t i;

	for (i = 0; i < len / 8; i++)
		sum = (sum ^ w[i]) * 0x100000001b3ULL;
	return sum;
}

static uint8_t frame_byte(uint64_t n, uint64_t j)
{
	return n * 37 + j * 11 + (j >> 8);
}

/* Ethernet frame @n of @len bytes: @dst, @src, type 0x88b5, payload. */
static void frame_build(uint8_t *f, uint32_t len, uint64_t n,
			const uint8_t *dst, const uint8_t *src)
{
	uint32_t j;

	for (j = 0; j < 6; j++) {
		f[j] = dst[j];
		f[6 + j] = src[j];
	}
	f[12] = 0x88;
	f[13] = 0xb5;
	for (j = NET_HLEN; j < len; j++)
		f[j] = frame_byte(n, j);
}

/* 0 when @f is frame @n of @len bytes, else one past the first bad byte. */
static uint32_t frame_check(const uint8_t *f, uint32_t len, uint64_t n,
			    const uint8_t *dst, const uint8_t *src)
{
	uint32_t j;

	for (j = 0; j < 6; j++) {
		if (f[j] != dst[j])
			return j + 1;
		if (f[6 + j] != src[j])
			return 6 + j + 1;
	}
	if (f[12] != 0x88 || f[13] != 0xb5)
		return 13;
	for (j = NET_HLEN; j < len; j++)
		if (f[j] != frame_byte(n, j))
			return j + 1;
	return 0;
}

/* The guest side. */

struct guest_params {
	uint64_t seed;
	uint64_t seed2;
	uint64_t mode;		/* bad_ring: BAD_* */
	uint64_t type;		/* bad_ring: the channel's PVISOR_CHAN_* */
	uint64_t halted;	/* bad_ring: wait in HLT */
	uint64_t stop;		/* flood: the host says stop */
};

static struct guest_params guest_params;
/* What the guest saw, by the test's own index, for the host to compare. */
static uint64_t guest_seen[64];
static uint64_t guest_irqs[256];
static struct pvisor_chan_info guest_infos[4];

static uint64_t guest_clock(void)
{
	return guest_get_info(PVISOR_INFO_CLOCK_NS);
}

static uint64_t guest_set_timer(uint64_t ns, uint64_t vector)
{
	return guest_hypercall(PVISOR_HC_SET_TIMER, ns, vector);
}

/* A hypercall with five arguments: RDI, RSI, RDX, R10, R8. */
static uint64_t guest_hypercall5(uint64_t nr, uint64_t a0, uint64_t a1,
				 uint64_t a2, uint64_t a3, uint64_t a4)
{
	register uint64_t r10 asm("r10") = a3;
	register uint64_t r8 asm("r8") = a4;
	uint64_t ret;

	asm volatile("vmcall"
		     : "=a" (ret)
		     : "a" (nr), "D" (a0), "S" (a1), "d" (a2), "r" (r10),
		       "r" (r8)
		     : "memory");
	return ret;
}

static uint64_t guest_chan_info(uint64_t chan, uint64_t gpa)
{
	return guest_hypercall(PVISOR_HC_CHAN_INFO, chan, gpa);
}

static uint64_t guest_chan_setup(uint64_t chan, uint64_t queue, uint64_t gpa,
				 uint64_t size, uint64_t vector)
{
	return guest_hypercall5(PVISOR_HC_CHAN_SETUP, chan, queue, gpa, size,
				vector);
}

static uint64_t guest_chan_notify(uint64_t chan, uint64_t queue)
{
	return guest_hypercall(PVISOR_HC_CHAN_NOTIFY, chan, queue);
}

/* Interrupts (vectors 32-255) are counted; exceptions are fatal. */
static void guest_irq_hook(struct guest_frame *f)
{
	if (f->vector < PVISOR_IRQ_VECTOR_MIN)
		guest_exception_fatal(f, "guest: unexpected exception, vector ");
	guest_irqs[f->vector]++;
}

static void guest_start(void)
{
	guest_idt_setup();
	guest_exc_hook = guest_irq_hook;
	asm volatile("sti" ::: "memory");
}

/* Let interrupts raised by now arrive: IF set, for @ns. */
static void guest_settle(uint64_t ns)
{
	uint64_t end = guest_clock() + ns;

	asm volatile("sti" ::: "memory");
	while (guest_clock() < end)
		asm volatile("pause" ::: "memory");
}

static void guest_zero(void *buf, uint64_t len)
{
	uint64_t *w = buf;
	uint64_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = 0;
}

/* The guest's view of one queue. */
struct guest_queue {
	struct pvisor_ring *ring;
	uint32_t chan, queue, size, vector;
	uint32_t req_prod;	/* requests written, published or not */
	uint32_t rsp_cons;	/* responses consumed */
	bool advance_rsp_event;	/* false: leave rsp_event alone in waits */
	uint64_t doorbells;
	uint64_t completed;
	uint64_t errors;
};

static noreturn void guest_queue_fail(struct guest_queue *q, const char *why,
				      int line)
{
	guest_print(why);
	guest_print(": channel ");
	guest_print_hex(q->chan);
	guest_print(" queue ");
	guest_print_hex(q->queue);
	guest_print(" req_prod ");
	guest_print_hex(q->ring->req_prod);
	guest_print(" req_event ");
	guest_print_hex(q->ring->req_event);
	guest_print(" rsp_prod ");
	guest_print_hex(q->ring->rsp_prod);
	guest_print(" rsp_event ");
	guest_print_hex(q->ring->rsp_event);
	guest_print(" consumed ");
	guest_print_hex(q->rsp_cons);
	guest_print("\n");
	guest_shutdown(GUEST_STATUS(GUEST_ASSERT_FAILED, line));
}

/*
 * Zero the queue's ring page and attach it.  rsp_event starts at 1: the
 * first response raises the vector.  Returns CHAN_SETUP's result.
 */
static uint64_t guest_queue_setup(struct guest_queue *q, uint32_t chan,
				  uint32_t queue, uint32_t size)
{
	void *page = (void *)RING_GPA(2 * chan + queue);

	guest_zero(page, GUEST_PAGE_SIZE);
	q->ring = page;
	q->chan = chan;
	q->queue = queue;
	q->size = size;
	q->vector = QUEUE_VECTOR(chan, queue);
	q->req_prod = 0;
	q->rsp_cons = 0;
	q->advance_rsp_event = true;
	q->doorbells = 0;
	q->completed = 0;
	q->errors = 0;
	q->ring->rsp_event = 1;
	return guest_chan_setup(chan, queue, (uintptr_t)page, size, q->vector);
}

#define GUEST_QUEUE_SETUP(q, chan, queue, size)				\
	GUEST_ASSERT_EQ(0, guest_queue_setup((q), (chan), (queue), (size)))

/* Write a request into the ring; guest_queue_publish() makes it visible. */
static void guest_queue_put(struct guest_queue *q, uint64_t id, uint16_t op,
			    uint64_t addr, uint32_t len, uint64_t offset)
{
	struct pvisor_desc *d;

	if (q->req_prod - q->rsp_cons >= q->size)
		guest_queue_fail(q, "guest: test bug, ring full", __LINE__);
	d = &q->ring->ring[q->req_prod % q->size];
	d->id = id;
	d->addr = addr;
	d->offset = offset;
	d->len = len;
	d->op = op;
	d->status = 0;
	q->req_prod++;
}

/*
 * Move req_prod from old to new, and ring the doorbell only if
 * new - req_event < new - old: the rule of linux/pvisor_para.h.
 */
static void guest_queue_publish(struct guest_queue *q)
{
	uint32_t old = q->ring->req_prod, new = q->req_prod, event;

	__atomic_store_n(&q->ring->req_prod, new, __ATOMIC_RELEASE);
	/* req_prod must be visible before req_event is read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	event = __atomic_load_n(&q->ring->req_event, __ATOMIC_RELAXED);
	if ((uint32_t)(new - event) < (uint32_t)(new - old)) {
		GUEST_ASSERT_EQ(0, guest_chan_notify(q->chan, q->queue));
		q->doorbells++;
	}
}

static bool guest_queue_ready(struct guest_queue *q)
{
	return __atomic_load_n(&q->ring->rsp_prod, __ATOMIC_ACQUIRE) !=
	       q->rsp_cons;
}

/* Take the next response if there is one. */
static bool guest_queue_get(struct guest_queue *q, struct pvisor_desc *rsp)
{
	uint32_t prod = __atomic_load_n(&q->ring->rsp_prod, __ATOMIC_ACQUIRE);

	if (prod == q->rsp_cons)
		return false;
	if (prod - q->rsp_cons > q->req_prod - q->rsp_cons)
		guest_queue_fail(q, "guest: rsp_prod is past req_prod",
				 __LINE__);
	*rsp = q->ring->ring[q->rsp_cons % q->size];
	q->rsp_cons++;
	q->completed++;
	if (rsp->status)
		q->errors++;
	return true;
}

/*
 * Sleep until a response is there: announce rsp_event (unless the test
 * keeps it still), look again, then HLT.  The guard timer wakes the HLT
 * when no interrupt comes, so that a lost response fails the test.
 */
static void guest_queue_wait(struct guest_queue *q)
{
	uint64_t limit = guest_clock() + WAIT_NS;

	asm volatile("cli" ::: "memory");
	while (!guest_queue_ready(q)) {
		if (q->advance_rsp_event) {
			__atomic_store_n(&q->ring->rsp_event, q->rsp_cons + 1,
					 __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (guest_queue_ready(q))
				break;
		}
		if (guest_clock() > limit)
			guest_queue_fail(q, "guest: no response in 30 s",
					 __LINE__);
		guest_set_timer(GUARD_NS, GUARD_VECTOR);
		asm volatile("sti; hlt; cli" ::: "memory");
	}
	asm volatile("sti" ::: "memory");
}

static void guest_queue_next(struct guest_queue *q, struct pvisor_desc *rsp)
{
	while (!guest_queue_get(q, rsp))
		guest_queue_wait(q);
}

/*
 * One request on an otherwise idle queue, waited for: returns its status
 * (sign-extended, as HC_ERR() spells errors), *done gets its len.
 */
static uint64_t guest_io(struct guest_queue *q, uint16_t op, uint64_t addr,
			 uint32_t len, uint64_t offset, uint32_t *done)
{
	static uint64_t next_id = 0x1000;
	uint64_t id = next_id++;
	struct pvisor_desc rsp;

	guest_queue_put(q, id, op, addr, len, offset);
	guest_queue_publish(q);
	guest_queue_next(q, &rsp);
	if (rsp.id != id)
		guest_queue_fail(q, "guest: a response for another id",
				 __LINE__);
	GUEST_ASSERT_EQ(op, rsp.op);
	if (done)
		*done = rsp.len;
	return (uint64_t)(int64_t)rsp.status;
}

/* The host side. */

/* A thread in PVISOR_CHANNEL_SERVE. */
struct chan_server {
	int fd;
	pthread_t thread;
	bool started;		/* a thread exists and is not joined */
	bool done;		/* SERVE returned */
	long ret;
	int err;		/* SERVE's errno */
};

#define MAX_CHANS	8
#define MAX_FDS		24
#define MAX_EXTRA	4

/* A VM, its channels and their servers, and the files behind them. */
struct chan_env {
	struct test_vm t;
	int nr_chans;
	int chan_fd[MAX_CHANS];
	struct chan_server srv[MAX_CHANS];
	struct chan_server extra[MAX_EXTRA];	/* more SERVEs of a channel */
	int nr_fds;
	int fds[MAX_FDS];	/* disks, pipes, sockets: closed at the end */
};

static void serve_signal(int sig)
{
}

static void *serve_thread(void *arg)
{
	struct chan_server *s = arg;
	long r = ioctl(s->fd, PVISOR_CHANNEL_SERVE, 0);

	s->ret = r;
	s->err = r < 0 ? errno : 0;
	__atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static bool serve_is_done(struct chan_server *s)
{
	return __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
}

static void serve_start(struct __test_metadata *_metadata,
			struct chan_server *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	ASSERT_EQ(0, pthread_create(&s->thread, NULL, serve_thread, s));
	s->started = true;
}

static void serve_join(struct chan_server *s)
{
	if (s->started)
		pthread_join(s->thread, NULL);
	s->started = false;
}

/* Wait up to @ms for SERVE to return by itself. */
static bool serve_wait(struct chan_server *s, int ms)
{
	for (; ms > 0 && !serve_is_done(s); ms--)
		usleep(1000);
	if (!serve_is_done(s))
		return false;
	serve_join(s);
	return true;
}

/*
 * End SERVE with SIGUSR1, whose handler has no SA_RESTART: the ioctl
 * returns EINTR.  Signals until it does (the first may come before the
 * thread is in the ioctl), for at most 5 s.
 */
static bool serve_stop(struct chan_server *s)
{
	int i;

	if (!s->started)
		return true;
	for (i = 0; i < 2500 && !serve_is_done(s); i++) {
		pthread_kill(s->thread, SIGUSR1);
		usleep(2000);
	}
	if (!serve_is_done(s))
		return false;
	serve_join(s);
	return true;
}

/* SERVE must have ended (by itself or by serve_stop()) with errno @err. */
static void expect_serve_err(struct __test_metadata *_metadata,
			     struct chan_server *s, int err, const char *what)
{
	EXPECT_EQ(-1, s->ret) TH_LOG("%s: SERVE returned %ld, expected %s",
				     what, s->ret, strerror(err));
	EXPECT_EQ(err, s->err) TH_LOG("%s: SERVE failed with %s, expected %s",
				      what, strerror(s->err), strerror(err));
}

/* Stop a SERVE that must still be running: it returns EINTR. */
static void serve_stop_expect_eintr(struct __test_metadata *_metadata,
				    struct chan_server *s, const char *what)
{
	ASSERT_FALSE(serve_is_done(s))
		TH_LOG("%s: SERVE returned early (%ld, %s)", what, s->ret,
		       strerror(s->err));
	ASSERT_TRUE(serve_stop(s))
		TH_LOG("%s: SERVE still running 5 s after SIGUSR1", what);
	expect_serve_err(_metadata, s, EINTR, what);
}

static void env_init(struct chan_env *e)
{
	int i;

	memset(e, 0, sizeof(*e));
	vm_init(&e->t);
	for (i = 0; i < MAX_CHANS; i++)
		e->chan_fd[i] = -1;
}

/* Stop the servers, close everything, destroy the VM. */
static void env_release(struct chan_env *e)
{
	int i;

	for (i = 0; i < MAX_CHANS; i++)
		serve_stop(&e->srv[i]);
	for (i = 0; i < MAX_EXTRA; i++)
		serve_stop(&e->extra[i]);
	for (i = 0; i < MAX_CHANS; i++)
		if (e->chan_fd[i] >= 0)
			close(e->chan_fd[i]);
	for (i = 0; i < e->nr_fds; i++)
		if (e->fds[i] >= 0)
			close(e->fds[i]);
	vm_destroy(&e->t);
	env_init(e);
}

static bool channels_supported(void)
{
	int fd = open(PVISOR_DEV, O_RDWR | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = ioctl(fd, PVISOR_CHECK_EXTENSION, PVISOR_CAP_CHANNELS) > 0;
	close(fd);
	return ok;
}

/* In a fixture setup: SKIP without guests or without channels. */
#define CHAN_ENV_SETUP(e) do {						\
	struct sigaction __sa;						\
									\
	env_init(e);							\
	PVISOR_VM_OR_SKIP();						\
	if (!channels_supported())					\
		SKIP(return, "pvisor.ko lacks PVISOR_CAP_CHANNELS");	\
	memset(&__sa, 0, sizeof(__sa));					\
	__sa.sa_handler = serve_signal;					\
	sigemptyset(&__sa.sa_mask);					\
	ASSERT_EQ(0, sigaction(SIGUSR1, &__sa, NULL));			\
	signal(SIGPIPE, SIG_IGN);					\
} while (0)

/* Keep @fd until the end of the test. */
static int env_fd(struct __test_metadata *_metadata, struct chan_env *e,
		  int fd)
{
	ASSERT_GE(fd, 0) TH_LOG("%s", strerror(errno));
	ASSERT_LT(e->nr_fds, MAX_FDS);
	e->fds[e->nr_fds++] = fd;
	return fd;
}

static void env_pipe(struct __test_metadata *_metadata, struct chan_env *e,
		     int p[2])
{
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC)) TH_LOG("pipe2: %s", strerror(errno));
	env_fd(_metadata, e, p[0]);
	env_fd(_metadata, e, p[1]);
}

/*
 * A disk: a memfd of @size bytes holding the pattern of @seed (zeroes for
 * seed 0) up to the last whole 64 KiB, and TAIL_BYTE after DISK_SIZE.
 */
static int disk_create(struct __test_metadata *_metadata, struct chan_env *e,
		       uint64_t size, uint64_t seed)
{
	static uint64_t chunk[DISK_CHUNK / 8];
	uint8_t tail[DISK_TAIL];
	uint64_t off;
	int fd;

	fd = memfd_create("pvisor-disk", MFD_CLOEXEC);
	ASSERT_GE(fd, 0) TH_LOG("memfd_create: %s", strerror(errno));
	env_fd(_metadata, e, fd);
	ASSERT_EQ(0, ftruncate(fd, size)) TH_LOG("ftruncate: %s",
						 strerror(errno));
	for (off = 0; seed && off + DISK_CHUNK <= size; off += DISK_CHUNK) {
		pattern_fill(chunk, DISK_CHUNK, seed, off);
		ASSERT_EQ(DISK_CHUNK, pwrite(fd, chunk, DISK_CHUNK, off));
	}
	if (size > DISK_SIZE) {
		memset(tail, TAIL_BYTE, sizeof(tail));
		ASSERT_EQ(size - DISK_SIZE,
			  pwrite(fd, tail, size - DISK_SIZE, DISK_SIZE));
	}
	return fd;
}

/* The same file, opened again read-only. */
static int reopen_ro(struct __test_metadata *_metadata, struct chan_env *e,
		     int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return env_fd(_metadata, e, open(path, O_RDONLY | O_CLOEXEC));
}

static const char *chan_type_name(uint32_t type)
{
	switch (type) {
	case PVISOR_CHAN_CONSOLE:
		return "console";
	case PVISOR_CHAN_BLOCK:
		return "block";
	case PVISOR_CHAN_NET:
		return "net";
	}
	return "unknown type";
}

static void chan_config(struct pvisor_channel_config *cfg, uint32_t type,
			uint32_t flags, int fd, int in_fd)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = type;
	cfg->flags = flags;
	cfg->fd = fd;
	cfg->in_fd = in_fd;
	if (type == PVISOR_CHAN_NET)
		memcpy(cfg->mac, test_mac, sizeof(cfg->mac));
}

/* Create the next channel of @e's VM: its id must be its index. */
static int chan_add(struct __test_metadata *_metadata, struct chan_env *e,
		    uint32_t type, uint32_t flags, int fd, int in_fd)
{
	struct pvisor_channel_config cfg;
	int cfd, n = e->nr_chans;

	ASSERT_LT(n, MAX_CHANS);
	chan_config(&cfg, type, flags, fd, in_fd);
	cfg.id = 0xdeadbeef;
	cfd = ioctl(e->t.vm.vm_fd, PVISOR_CREATE_CHANNEL, &cfg);
	ASSERT_GE(cfd, 0) TH_LOG("PVISOR_CREATE_CHANNEL (%s, flags %#x): %s",
				 chan_type_name(type), flags,
				 strerror(errno));
	e->chan_fd[n] = cfd;
	e->nr_chans++;
	ASSERT_EQ(n, cfg.id)
		TH_LOG("PVISOR_CREATE_CHANNEL: ids must go 0, 1, ... in order");
	return n;
}

static void chan_serve(struct __test_metadata *_metadata, struct chan_env *e,
		       int chan)
{
	serve_start(_metadata, &e->srv[chan], e->chan_fd[chan]);
}

static void chan_stats(struct __test_metadata *_metadata, struct chan_env *e,
		       int chan, struct pvisor_channel_stats *st)
{
	memset(st, 0xff, sizeof(*st));
	IOCTL_OK(e->chan_fd[chan], PVISOR_CHANNEL_GET_STATS, st);
}

/* Start guest @fn in a new VM whose AREA is free guest memory. */
static void chan_vm_start(struct __test_metadata *_metadata,
			  struct chan_env *e, void (*fn)(void))
{
	vm_start(&e->t, fn, 0, 0);
	ASSERT_LE(e->t.vm.image_end, AREA);
	ASSERT_LE(AREA + AREA_SIZE, e->t.vm.boot_base);
}

/* The guest's params, to fill before it runs. */
#define PARAMS(e)	GUEST_VAR(&(e)->t, guest_params)

/*
 * A result of the guest and what the ABI says it must be; a NULL @what
 * is checked by the test itself.
 */
struct check {
	const char *what;
	uint64_t expected;
};

static void expect_checks(struct __test_metadata *_metadata,
			  struct test_vm *t, const struct check *c, int n)
{
	uint64_t *seen = *GUEST_VAR(t, guest_seen);
	int i;

	for (i = 0; i < n; i++) {
		if (!c[i].what)
			continue;	/* the test checks it itself */
		EXPECT_EQ(c[i].expected, seen[i])
			TH_LOG("%s: expected %lld, seen %lld", c[i].what,
			       (long long)c[i].expected, (long long)seen[i]);
	}
}

/* A thread that reads @want bytes from a pipe, after @delay_ms. */
struct pipe_reader {
	int fd;
	int delay_ms;
	size_t want;
	uint8_t *buf;
	size_t got;
	bool extra;		/* more arrived than wanted */
	pthread_t thread;
	bool started;
};

/* Read what comes within 30 s of the last byte, up to @want. */
static size_t read_some(int fd, uint8_t *buf, size_t got, size_t want)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (got < want) {
		if (poll(&pfd, 1, 30000) <= 0)
			break;
		n = read(fd, buf + got, want - got);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/* True when something is there to read within @ms. */
static bool more_arrives(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t c;

	return poll(&pfd, 1, ms) > 0 && read(fd, &c, 1) > 0;
}

static void *pipe_reader_thread(void *arg)
{
	struct pipe_reader *r = arg;

	usleep(r->delay_ms * 1000);
	r->got = read_some(r->fd, r->buf, 0, r->want);
	if (r->got == r->want)
		r->extra = more_arrives(r->fd, 100);
	return NULL;
}

static void pipe_reader_start(struct __test_metadata *_metadata,
			      struct pipe_reader *r, int fd, size_t want,
			      int delay_ms)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->want = want;
	r->delay_ms = delay_ms;
	r->buf = calloc(1, want);
	ASSERT_NE(NULL, r->buf);
	ASSERT_EQ(0, pthread_create(&r->thread, NULL, pipe_reader_thread, r));
	r->started = true;
}

static void pipe_reader_join(struct pipe_reader *r)
{
	if (r->started)
		pthread_join(r->thread, NULL);
	r->started = false;
}

/* The fixture of most tests: TEST_F(chan, name). */
FIXTURE(chan) {
	struct chan_env e;
	struct pipe_reader readers[2];
};

FIXTURE_SETUP(chan)
{
	memset(self->readers, 0, sizeof(self->readers));
	CHAN_ENV_SETUP(&self->e);
}

FIXTURE_TEARDOWN(chan)
{
	env_release(&self->e);
}

/* A guest that is never run, or runs into nothing. */
static void guest_idle(void)
{
	guest_shutdown(0);
}

/* PVISOR_CREATE_CHANNEL must fail with @err; @what names the case. */
static void expect_create_err(struct __test_metadata *_metadata, int vm_fd,
			      struct pvisor_channel_config *cfg, int err,
			      const char *what)
{
	int r, e;

	r = ioctl(vm_fd, PVISOR_CREATE_CHANNEL, cfg);
	e = errno;
	if (r >= 0)
		close(r);
	EXPECT_EQ(-1, r) TH_LOG("PVISOR_CREATE_CHANNEL with %s succeeded, expected %s",
				what, strerror(err));
	EXPECT_EQ(err, e) TH_LOG("PVISOR_CREATE_CHANNEL with %s: %s, expected %s",
				 what, strerror(e), strerror(err));
}

static const uint32_t chan_types[] = {
	PVISOR_CHAN_CONSOLE, PVISOR_CHAN_BLOCK, PVISOR_CHAN_NET,
};

TEST_F(chan, create_channel_checks)
{
	static const struct {
		unsigned long cmd;
		const char *what;
	} bad_ioctls[] = {
		{ _IO(PVISORIO, 0xc2), "next unused channel number" },
		{ _IO(PVISORIO, 0xff), "last channel number" },
		{ _IOW(PVISORIO, 0xc0, int), "SERVE with a size" },
		{ _IOW(PVISORIO, 0xc1, struct pvisor_channel_stats),
		  "GET_STATS, wrong direction" },
		{ PVISOR_RUN, "vCPU: RUN" },
		{ PVISOR_CREATE_CHANNEL, "VM: CREATE_CHANNEL" },
		{ PVISOR_CHECK_EXTENSION, "system: CHECK_EXTENSION" },
	};
	struct chan_env *e = &self->e;
	struct pvisor_channel_config cfg;
	struct pvisor_channel_stats st;
	int cap, disk, ro, p[2], in[2], sv[2], closed_fd, vm_fd, i, t, n;
	uint32_t bit;
	char what[128];
	int *more;

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_idle);
	vm_fd = e->t.vm.vm_fd;
	cap = IOCTL_OK(e->t.vm.sys_fd, PVISOR_CHECK_EXTENSION,
		       PVISOR_CAP_CHANNELS);
	ASSERT_GT(cap, 0);
	TH_LOG("PVISOR_CAP_CHANNELS: %d channels per VM", cap);

	disk = disk_create(_metadata, e, DISK_SIZE, 0);
	ro = reopen_ro(_metadata, e, disk);
	env_pipe(_metadata, e, p);
	env_pipe(_metadata, e, in);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				sv));
	env_fd(_metadata, e, sv[0]);
	env_fd(_metadata, e, sv[1]);
	/* Far above what the test opens, so that no new fd takes it. */
	closed_fd = 4000;
	ASSERT_EQ(-1, fcntl(closed_fd, F_GETFD));

	ASSERT_EQ(0, chan_add(_metadata, e, PVISOR_CHAN_CONSOLE, 0, p[1], -1));

	chan_config(&cfg, 0, 0, p[1], -1);
	expect_create_err(_metadata, vm_fd, &cfg, EINVAL, "type 0");
	chan_config(&cfg, 4, 0, p[1], -1);
	expect_create_err(_metadata, vm_fd, &cfg, EINVAL, "type 4");
	chan_config(&cfg, ~0u, 0, p[1], -1);
	expect_create_err(_metadata, vm_fd, &cfg, EINVAL, "type ~0");

	/* Every flag but READONLY, on every type; READONLY on a block. */
	for (t = 0; t < (int)ARRAY_SIZE(chan_types); t++) {
		int fd = chan_types[t] == PVISOR_CHAN_BLOCK ? disk :
			 chan_types[t] == PVISOR_CHAN_NET ? sv[1] : p[1];

		for (bit = 1; bit < 32; bit++) {
			chan_config(&cfg, chan_types[t], 1u << bit, fd, -1);
			snprintf(what, sizeof(what), "%s, flags bit %u",
				 chan_type_name(chan_types[t]), bit);
			expect_create_err(_metadata, vm_fd, &cfg, EINVAL, what);
		}
		for (i = 0; i < 2; i++) {
			chan_config(&cfg, chan_types[t], 0, fd, -1);
			cfg.padding[i] = 1;
			snprintf(what, sizeof(what), "%s, padding[%d] = 1",
				 chan_type_name(chan_types[t]), i);
			expect_create_err(_metadata, vm_fd, &cfg, EINVAL, what);
		}
		for (i = 0; i < 5; i++) {
			chan_config(&cfg, chan_types[t], 0, fd, -1);
			cfg.reserved[i] = 1ULL << (i * 15);
			snprintf(what, sizeof(what), "%s, reserved[%d] != 0",
				 chan_type_name(chan_types[t]), i);
			expect_create_err(_metadata, vm_fd, &cfg, EINVAL, what);
		}
	}

	/* Console input is the console's alone. */
	chan_config(&cfg, PVISOR_CHAN_BLOCK, 0, disk, in[0]);
	expect_create_err(_metadata, vm_fd, &cfg, EINVAL, "block, in_fd set");
	chan_config(&cfg, PVISOR_CHAN_NET, 0, sv[1], in[0]);
	expect_create_err(_metadata, vm_fd, &cfg, EINVAL, "net, in_fd set");

	/* Bad file descriptors. */
	chan_config(&cfg, PVISOR_CHAN_BLOCK, 0, -1, -1);
	expect_create_err(_metadata, vm_fd, &cfg, EBADF, "block, fd -1");
	chan_config(&cfg, PVISOR_CHAN_BLOCK, 0, closed_fd, -1);
	expect_create_err(_metadata, vm_fd, &cfg, EBADF, "block, closed fd");
	chan_config(&cfg, PVISOR_CHAN_CONSOLE, 0, closed_fd, -1);
	expect_create_err(_metadata, vm_fd, &cfg, EBADF, "console, closed fd");
	chan_config(&cfg, PVISOR_CHAN_CONSOLE, 0, p[1], closed_fd);
	expect_create_err(_metadata, vm_fd, &cfg, EBADF,
			  "console, closed in_fd");
	chan_config(&cfg, PVISOR_CHAN_CONSOLE, 0, p[1], -2);
	expect_create_err(_metadata, vm_fd, &cfg, EBADF, "console, in_fd -2");
	chan_config(&cfg, PVISOR_CHAN_NET, 0, closed_fd, -1);
	expect_create_err(_metadata, vm_fd, &cfg, EBADF, "net, closed fd");

	/* Files opened the wrong way for what the channel does with them. */
	chan_config(&cfg, PVISOR_CHAN_BLOCK, 0, ro, -1);
	expect_create_err(_metadata, vm_fd, &cfg, EBADF,
			  "a writable block on an O_RDONLY fd");
	chan_config(&cfg, PVISOR_CHAN_CONSOLE, 0, p[0], -1);
	expect_create_err(_metadata, vm_fd, &cfg, EBADF,
			  "console output to a pipe's read end");
	chan_config(&cfg, PVISOR_CHAN_CONSOLE, 0, p[1], in[1]);
	expect_create_err(_metadata, vm_fd, &cfg, EBADF,
			  "console input from a pipe's write end");

	/* A disk has at least one sector. */
	chan_config(&cfg, PVISOR_CHAN_BLOCK, 0,
		    disk_create(_metadata, e, 0, 0), -1);
	expect_create_err(_metadata, vm_fd, &cfg, EINVAL, "an empty disk");
	chan_config(&cfg, PVISOR_CHAN_BLOCK, 0,
		    disk_create(_metadata, e, 511, 0), -1);
	expect_create_err(_metadata, vm_fd, &cfg, EINVAL, "a 511-byte disk");

	IOCTL_ERR(vm_fd, PVISOR_CREATE_CHANNEL, NULL, EFAULT);

	/* Refusals take no id: the next channels are 1, 2, 3, 4. */
	ASSERT_EQ(1, chan_add(_metadata, e, PVISOR_CHAN_BLOCK, 0,
			      disk_create(_metadata, e, 512, 0), -1));
	ASSERT_EQ(2, chan_add(_metadata, e, PVISOR_CHAN_BLOCK,
			      PVISOR_CHANNEL_F_READONLY, ro, -1));
	ASSERT_EQ(3, chan_add(_metadata, e, PVISOR_CHAN_NET, 0, sv[1], -1));
	ASSERT_EQ(4, chan_add(_metadata, e, PVISOR_CHAN_CONSOLE, 0, p[1],
			      in[0]));

	/*
	 * A new channel's counters are zero, reserved space included; only
	 * its type and id are set.
	 */
	for (i = 0; i < e->nr_chans; i++) {
		static const uint32_t types[] = {
			PVISOR_CHAN_CONSOLE, PVISOR_CHAN_BLOCK,
			PVISOR_CHAN_BLOCK, PVISOR_CHAN_NET, PVISOR_CHAN_CONSOLE,
		};
		struct pvisor_channel_stats zero;

		memset(&zero, 0, sizeof(zero));
		zero.type = types[i];
		zero.id = i;
		chan_stats(_metadata, e, i, &st);
		EXPECT_EQ(0, memcmp(&zero, &st, sizeof(st)))
			TH_LOG("channel %d: a new channel's GET_STATS: not zero",
			       i);
	}
	IOCTL_ERR(e->chan_fd[0], PVISOR_CHANNEL_GET_STATS, NULL, EFAULT);

	for (i = 0; i < (int)ARRAY_SIZE(bad_ioctls); i++) {
		char buf[4096];

		memset(buf, 0, sizeof(buf));
		errno = 0;
		EXPECT_EQ(-1, ioctl(e->chan_fd[0], bad_ioctls[i].cmd, buf))
			TH_LOG("%s on a channel fd succeeded",
			       bad_ioctls[i].what);
		EXPECT_EQ(ENOTTY, errno)
			TH_LOG("%s on a channel fd: %s, expected ENOTTY",
			       bad_ioctls[i].what, strerror(errno));
	}

	/* Up to the limit, and no further; the ABI names no errno. */
	if (cap > 1024) {
		TH_LOG("PVISOR_CAP_CHANNELS %d: the limit is not tried", cap);
		return;
	}
	more = calloc(cap + 1, sizeof(*more));
	ASSERT_NE(NULL, more);
	for (n = 0; e->nr_chans + n < cap; n++) {
		chan_config(&cfg, PVISOR_CHAN_CONSOLE, 0, p[1], -1);
		more[n] = ioctl(vm_fd, PVISOR_CREATE_CHANNEL, &cfg);
		ASSERT_GE(more[n], 0)
			TH_LOG("PVISOR_CREATE_CHANNEL of channel %d of %d: %s",
			       e->nr_chans + n, cap, strerror(errno));
		EXPECT_EQ(e->nr_chans + n, cfg.id);
	}
	chan_config(&cfg, PVISOR_CHAN_CONSOLE, 0, p[1], -1);
	more[n] = ioctl(vm_fd, PVISOR_CREATE_CHANNEL, &cfg);
	EXPECT_EQ(-1, more[n])
		TH_LOG("channel %d created, beyond PVISOR_CAP_CHANNELS", cap);
	TH_LOG("channel %d of %d: %s", cap + 1, cap, strerror(errno));
	for (i = 0; i <= n; i++)
		if (more[i] >= 0)
			close(more[i]);
	free(more);
}

/*
 * The hypercalls' errors, each with one bad argument: channels 0 console
 * (no input), 1 block (read-only), 2 net.
 */
enum {
	HC_INFO_PAST_LAST,
	HC_INFO_FAR,
	HC_INFO_OUTSIDE,
	HC_SETUP_NO_CHAN,
	HC_SETUP_FAR_CHAN,
	HC_SETUP_BLOCK_QUEUE_1,
	HC_SETUP_CONSOLE_QUEUE_2,
	HC_SETUP_FAR_QUEUE,
	HC_SETUP_MISALIGNED,
	HC_SETUP_OUTSIDE,
	HC_SETUP_FAR_GPA,
	HC_SETUP_SIZE_0,
	HC_SETUP_SIZE_3,
	HC_SETUP_SIZE_48,
	HC_SETUP_SIZE_2X_MAX,
	HC_SETUP_VECTOR_31,
	HC_SETUP_VECTOR_256,
	HC_NOTIFY_NOT_SET_UP,
	HC_NOTIFY_NO_CHAN,
	HC_NOTIFY_BLOCK_QUEUE_1,
	HC_NOTIFY_CONSOLE_QUEUE_2,
	HC_SETUP_BLOCK,
	HC_SETUP_AGAIN,
	HC_SETUP_AGAIN_ELSEWHERE,
	HC_NOTIFY_BLOCK,
	HC_SETUP_CONSOLE_OUT,
	HC_NOTIFY_CONSOLE_IN,
	HC_SETUP_NET_TX,
	HC_SETUP_NET_RX,
	HC_NOTIFY_NET_RX,
	HC_INFO_CONSOLE,
	HC_INFO_BLOCK,
	HC_INFO_NET,
	HC_INFO_MISALIGNED,
	NR_HC_CHECKS
};

static const struct check hc_checks[NR_HC_CHECKS] = {
	[HC_INFO_PAST_LAST] = { "CHAN_INFO(3), past the last channel",
				HC_ERR(PVISOR_ENOENT) },
	[HC_INFO_FAR] = { "CHAN_INFO(2^32 - 1)", HC_ERR(PVISOR_ENOENT) },
	[HC_INFO_OUTSIDE] = { "CHAN_INFO to a GPA outside memory",
			      HC_ERR(PVISOR_EFAULT) },
	[HC_SETUP_NO_CHAN] = { "CHAN_SETUP of channel 3",
			       HC_ERR(PVISOR_ENOENT) },
	[HC_SETUP_FAR_CHAN] = { "CHAN_SETUP of channel 2^32",
				HC_ERR(PVISOR_ENOENT) },
	[HC_SETUP_BLOCK_QUEUE_1] = { "CHAN_SETUP of block queue 1",
				     HC_ERR(PVISOR_ENOENT) },
	[HC_SETUP_CONSOLE_QUEUE_2] = { "CHAN_SETUP of console queue 2",
				       HC_ERR(PVISOR_ENOENT) },
	[HC_SETUP_FAR_QUEUE] = { "CHAN_SETUP of queue 2^32",
				 HC_ERR(PVISOR_ENOENT) },
	[HC_SETUP_MISALIGNED] = { "CHAN_SETUP of a ring at page + 64",
				  HC_ERR(PVISOR_EINVAL) },
	[HC_SETUP_OUTSIDE] = { "CHAN_SETUP of a ring at the end of memory",
			       HC_ERR(PVISOR_EINVAL) },
	[HC_SETUP_FAR_GPA] = { "CHAN_SETUP of a ring at 2^51",
			       HC_ERR(PVISOR_EINVAL) },
	[HC_SETUP_SIZE_0] = { "CHAN_SETUP size 0", HC_ERR(PVISOR_EINVAL) },
	[HC_SETUP_SIZE_3] = { "CHAN_SETUP size 3", HC_ERR(PVISOR_EINVAL) },
	[HC_SETUP_SIZE_48] = { "CHAN_SETUP size 48", HC_ERR(PVISOR_EINVAL) },
	[HC_SETUP_SIZE_2X_MAX] = { "CHAN_SETUP size 2 * PVISOR_RING_MAX",
				   HC_ERR(PVISOR_EINVAL) },
	[HC_SETUP_VECTOR_31] = { "CHAN_SETUP vector 31",
				 HC_ERR(PVISOR_EINVAL) },
	[HC_SETUP_VECTOR_256] = { "CHAN_SETUP vector 256",
				  HC_ERR(PVISOR_EINVAL) },
	[HC_NOTIFY_NOT_SET_UP] = { "CHAN_NOTIFY of a queue not set up",
				   HC_ERR(PVISOR_EINVAL) },
	[HC_NOTIFY_NO_CHAN] = { "CHAN_NOTIFY of channel 3",
				HC_ERR(PVISOR_ENOENT) },
	[HC_NOTIFY_BLOCK_QUEUE_1] = { "CHAN_NOTIFY of block queue 1",
				      HC_ERR(PVISOR_ENOENT) },
	[HC_NOTIFY_CONSOLE_QUEUE_2] = { "CHAN_NOTIFY of console queue 2",
					HC_ERR(PVISOR_ENOENT) },
	[HC_SETUP_BLOCK] = { "CHAN_SETUP of block queue 0, size 1", 0 },
	[HC_SETUP_AGAIN] = { "CHAN_SETUP of the same queue again",
			     HC_ERR(PVISOR_EBUSY) },
	[HC_SETUP_AGAIN_ELSEWHERE] = {
		"CHAN_SETUP of the same queue with another ring",
		HC_ERR(PVISOR_EBUSY) },
	[HC_NOTIFY_BLOCK] = { "CHAN_NOTIFY of an empty block queue", 0 },
	[HC_SETUP_CONSOLE_OUT] = {
		"CHAN_SETUP of console queue 0, size PVISOR_RING_MAX, vector 255",
		0 },
	[HC_NOTIFY_CONSOLE_IN] = {
		"CHAN_NOTIFY of console queue 1, not set up",
		HC_ERR(PVISOR_EINVAL) },
	[HC_SETUP_NET_TX] = { "CHAN_SETUP of net queue 0, vector 32", 0 },
	[HC_SETUP_NET_RX] = { "CHAN_SETUP of net queue 1", 0 },
	[HC_NOTIFY_NET_RX] = { "CHAN_NOTIFY of an empty net queue 1", 0 },
	[HC_INFO_CONSOLE] = { "CHAN_INFO(0)", 0 },
	[HC_INFO_BLOCK] = { "CHAN_INFO(1)", 0 },
	[HC_INFO_NET] = { "CHAN_INFO(2)", 0 },
	/* The ABI says 8-byte aligned, not which error: see the host. */
	[HC_INFO_MISALIGNED] = { NULL, 0 },
};

static void guest_hypercall_errors(void)
{
	uint64_t mem = guest_get_info(PVISOR_INFO_MEM_SIZE);
	uint64_t ring = RING_GPA(0), *seen = guest_seen;
	const uint64_t v = QUEUE_VECTOR(0, 0);

	guest_start();
	guest_zero((void *)ring, 8 * GUEST_PAGE_SIZE);
	seen[HC_INFO_PAST_LAST] = guest_chan_info(3, MISC_BUF);
	seen[HC_INFO_FAR] = guest_chan_info(~0u, MISC_BUF);
	seen[HC_INFO_OUTSIDE] = guest_chan_info(0, mem);

	seen[HC_SETUP_NO_CHAN] = guest_chan_setup(3, 0, ring, 8, v);
	seen[HC_SETUP_FAR_CHAN] = guest_chan_setup(1ULL << 32, 0, ring, 8, v);
	seen[HC_SETUP_BLOCK_QUEUE_1] = guest_chan_setup(1, 1, ring, 8, v);
	seen[HC_SETUP_CONSOLE_QUEUE_2] = guest_chan_setup(0, 2, ring, 8, v);
	seen[HC_SETUP_FAR_QUEUE] = guest_chan_setup(1, 1ULL << 32, ring, 8, v);
	seen[HC_SETUP_MISALIGNED] = guest_chan_setup(1, 0, ring + 64, 8, v);
	seen[HC_SETUP_OUTSIDE] = guest_chan_setup(1, 0, mem, 8, v);
	seen[HC_SETUP_FAR_GPA] = guest_chan_setup(1, 0, 1ULL << 51, 8, v);
	seen[HC_SETUP_SIZE_0] = guest_chan_setup(1, 0, ring, 0, v);
	seen[HC_SETUP_SIZE_3] = guest_chan_setup(1, 0, ring, 3, v);
	seen[HC_SETUP_SIZE_48] = guest_chan_setup(1, 0, ring, 48, v);
	seen[HC_SETUP_SIZE_2X_MAX] = guest_chan_setup(1, 0, ring,
						      2 * PVISOR_RING_MAX, v);
	seen[HC_SETUP_VECTOR_31] = guest_chan_setup(1, 0, ring, 8, 31);
	seen[HC_SETUP_VECTOR_256] = guest_chan_setup(1, 0, ring, 8, 256);

	seen[HC_NOTIFY_NOT_SET_UP] = guest_chan_notify(1, 0);
	seen[HC_NOTIFY_NO_CHAN] = guest_chan_notify(3, 0);
	seen[HC_NOTIFY_BLOCK_QUEUE_1] = guest_chan_notify(1, 1);
	seen[HC_NOTIFY_CONSOLE_QUEUE_2] = guest_chan_notify(0, 2);

	seen[HC_SETUP_BLOCK] = guest_chan_setup(1, 0, ring, 1, v);
	seen[HC_SETUP_AGAIN] = guest_chan_setup(1, 0, ring, 1, v);
	seen[HC_SETUP_AGAIN_ELSEWHERE] =
		guest_chan_setup(1, 0, ring + GUEST_PAGE_SIZE, 8, v + 1);
	seen[HC_NOTIFY_BLOCK] = guest_chan_notify(1, 0);

	seen[HC_SETUP_CONSOLE_OUT] =
		guest_chan_setup(0, 0, ring + 2 * GUEST_PAGE_SIZE,
				 PVISOR_RING_MAX, 255);
	seen[HC_NOTIFY_CONSOLE_IN] = guest_chan_notify(0, 1);
	seen[HC_SETUP_NET_TX] =
		guest_chan_setup(2, 0, ring + 3 * GUEST_PAGE_SIZE, 2,
				 PVISOR_IRQ_VECTOR_MIN);
	seen[HC_SETUP_NET_RX] =
		guest_chan_setup(2, 1, ring + 4 * GUEST_PAGE_SIZE, 4, v + 2);
	seen[HC_NOTIFY_NET_RX] = guest_chan_notify(2, 1);

	seen[HC_INFO_CONSOLE] = guest_chan_info(0, (uintptr_t)&guest_infos[0]);
	seen[HC_INFO_BLOCK] = guest_chan_info(1, (uintptr_t)&guest_infos[1]);
	seen[HC_INFO_NET] = guest_chan_info(2, (uintptr_t)&guest_infos[2]);
	seen[HC_INFO_MISALIGNED] = guest_chan_info(0, MISC_BUF + 4);
	guest_shutdown(0);
}

/* What every kind of channel says in CHAN_INFO. */
static void expect_info(struct __test_metadata *_metadata,
			const struct pvisor_chan_info *info, uint32_t type,
			uint32_t flags, uint32_t nr_queues)
{
	const char *name = chan_type_name(type);
	int i;

	EXPECT_EQ(type, info->type) TH_LOG("%s: CHAN_INFO type", name);
	EXPECT_EQ(flags, info->flags) TH_LOG("%s: CHAN_INFO flags", name);
	EXPECT_EQ(nr_queues, info->nr_queues)
		TH_LOG("%s: CHAN_INFO nr_queues", name);
	EXPECT_EQ(PVISOR_RING_MAX, info->max_ring)
		TH_LOG("%s: CHAN_INFO max_ring", name);
	EXPECT_EQ(PVISOR_CHAN_BUF_MAX, info->max_buf)
		TH_LOG("%s: CHAN_INFO max_buf", name);
	EXPECT_EQ(0, info->padding) TH_LOG("%s: CHAN_INFO padding", name);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, info->reserved[i])
			TH_LOG("%s: CHAN_INFO reserved[%d]", name, i);
	}
}

TEST_F(chan, hypercall_errors_and_info)
{
	struct chan_env *e = &self->e;
	struct pvisor_chan_info *info;
	int p[2], sv[2], disk;
	uint64_t misaligned;

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_hypercall_errors);
	env_pipe(_metadata, e, p);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				sv));
	env_fd(_metadata, e, sv[0]);
	env_fd(_metadata, e, sv[1]);
	disk = disk_create(_metadata, e, DISK_SIZE + DISK_TAIL, 0);
	chan_add(_metadata, e, PVISOR_CHAN_CONSOLE, 0, p[1], -1);
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, PVISOR_CHANNEL_F_READONLY,
		 reopen_ro(_metadata, e, disk), -1);
	chan_add(_metadata, e, PVISOR_CHAN_NET, 0, sv[1], -1);

	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&e->t));
	expect_checks(_metadata, &e->t, hc_checks, NR_HC_CHECKS);
	misaligned = (*GUEST_VAR(&e->t, guest_seen))[HC_INFO_MISALIGNED];
	EXPECT_TRUE(misaligned == HC_ERR(PVISOR_EINVAL) ||
		    misaligned == HC_ERR(PVISOR_EFAULT))
		TH_LOG("CHAN_INFO to a GPA that is not 8-byte aligned returned %lld",
		       (long long)misaligned);

	info = *GUEST_VAR(&e->t, guest_infos);
	expect_info(_metadata, &info[0], PVISOR_CHAN_CONSOLE, 0, 2);
	expect_info(_metadata, &info[1], PVISOR_CHAN_BLOCK,
		    PVISOR_CHAN_INFO_READONLY, 1);
	EXPECT_EQ(DISK_SIZE, info[1].capacity)
		TH_LOG("block: CHAN_INFO capacity of a %llu-byte file",
		       DISK_SIZE + DISK_TAIL);
	expect_info(_metadata, &info[2], PVISOR_CHAN_NET, 0, 2);
	EXPECT_EQ(0, memcmp(test_mac, info[2].mac, sizeof(test_mac)))
		TH_LOG("net: CHAN_INFO mac is not the one the launcher gave");
	EXPECT_GE(info[2].mtu, 68) TH_LOG("net: CHAN_INFO mtu %u", info[2].mtu);
	EXPECT_LE(info[2].mtu + NET_HLEN, PVISOR_CHAN_BUF_MAX)
		TH_LOG("net: CHAN_INFO mtu %u: a frame does not fit a buffer",
		       info[2].mtu);
}

/*
 * Block: channel 0 a writable 1 MiB disk (and DISK_TAIL bytes more, which
 * are not disk), channel 1 a read-only one holding the pattern of seed2.
 */
enum {
	B_FLUSH,
	B_SUM_MATCHES,
	B_FIRST_BAD,
	B_READ_AT_END,
	B_READ_ACROSS_END,
	B_WRITE_AT_END,
	B_DISCARD_ACROSS_END,
	B_READ_WRAPS,
	B_OFFSET_MISALIGNED,
	B_LEN_MISALIGNED,
	B_OP_0,
	B_OP_99,
	B_READ_AFTER_ERRORS,
	B_DISCARD,
	B_DISCARD_ZEROES,
	B_DISCARD_STAYS_IN_RANGE,
	B_RO_READ,
	B_RO_DATA,
	B_RO_WRITE,
	B_RO_DISCARD,
	NR_B_CHECKS,
	/* Not compared with a constant: */
	B_COMPLETED = NR_B_CHECKS,
	B_ERRORS,
	B_DOORBELLS,
	B_OUT_OF_ORDER,
};

static const struct check block_checks[NR_B_CHECKS] = {
	[B_FLUSH] = { "FLUSH after the writes", 0 },
	[B_SUM_MATCHES] = { "the disk read back has the written checksum", 1 },
	[B_FIRST_BAD] = { "offset of the first bad word read back", DISK_SIZE },
	[B_READ_AT_END] = { "READ of the sector past the end",
			    HC_ERR(PVISOR_ERANGE) },
	[B_READ_ACROSS_END] = { "READ of the last sector and the next",
				HC_ERR(PVISOR_ERANGE) },
	[B_WRITE_AT_END] = { "WRITE of the sector past the end",
			     HC_ERR(PVISOR_ERANGE) },
	[B_DISCARD_ACROSS_END] = { "DISCARD across the end",
				   HC_ERR(PVISOR_ERANGE) },
	[B_READ_WRAPS] = { "READ whose offset + len wraps around",
			   HC_ERR(PVISOR_ERANGE) },
	[B_OFFSET_MISALIGNED] = { "READ at offset 100",
				  HC_ERR(PVISOR_EINVAL) },
	[B_LEN_MISALIGNED] = { "READ of 100 bytes", HC_ERR(PVISOR_EINVAL) },
	[B_OP_0] = { "op 0", HC_ERR(PVISOR_EINVAL) },
	[B_OP_99] = { "op 99", HC_ERR(PVISOR_EINVAL) },
	[B_READ_AFTER_ERRORS] = { "READ after the errors", 0 },
	[B_DISCARD] = { "DISCARD of the first 64 KiB of a memfd", 0 },
	[B_DISCARD_ZEROES] = { "the discarded range reads back as zeroes", 1 },
	[B_DISCARD_STAYS_IN_RANGE] = { "the sector after it is intact", 1 },
	[B_RO_READ] = { "READ of the read-only disk", 0 },
	[B_RO_DATA] = { "the read-only disk's contents", 1 },
	[B_RO_WRITE] = { "WRITE to the read-only disk",
			 HC_ERR(PVISOR_EROFS) },
	[B_RO_DISCARD] = { "DISCARD on the read-only disk",
			   HC_ERR(PVISOR_EROFS) },
};

#define BATCH_ID	0x100

/*
 * The whole disk in DISK_CHUNK requests, all in flight, each published on
 * its own: every one answered once, whole, in whatever order.
 */
static void guest_block_batch(struct guest_queue *q, uint16_t op)
{
	uint32_t n = DISK_SIZE / DISK_CHUNK, i, done = 0;
	uint64_t answered = 0;
	struct pvisor_desc rsp;

	GUEST_ASSERT(n <= q->size && n <= 64);
	for (i = 0; i < n; i++) {
		guest_queue_put(q, BATCH_ID + i, op, DISK_BUF + i * DISK_CHUNK,
				DISK_CHUNK, i * DISK_CHUNK);
		guest_queue_publish(q);
	}
	for (done = 0; done < n; done++) {
		guest_queue_next(q, &rsp);
		i = rsp.id - BATCH_ID;
		if (rsp.id < BATCH_ID || i >= n)
			guest_queue_fail(q, "guest: a response with an id never used",
					 __LINE__);
		if (answered & (1ULL << i))
			guest_queue_fail(q, "guest: a request answered twice",
					 __LINE__);
		answered |= 1ULL << i;
		GUEST_ASSERT_EQ(op, rsp.op);
		GUEST_ASSERT_EQ(0, (uint64_t)(int64_t)rsp.status);
		GUEST_ASSERT_EQ(DISK_CHUNK, rsp.len);
		if (i != done)
			guest_seen[B_OUT_OF_ORDER]++;
	}
}

static bool guest_is_zero(uint64_t addr, uint64_t len)
{
	const uint64_t *w = (const uint64_t *)addr;
	uint64_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i])
			return false;
	return true;
}

static void guest_block(void)
{
	uint64_t seed = guest_params.seed, *seen = guest_seen, sum;
	void *disk = (void *)DISK_BUF;
	struct guest_queue q, ro;
	uint32_t len;

	guest_start();
	GUEST_QUEUE_SETUP(&q, 0, 0, PVISOR_RING_MAX);

	pattern_fill(disk, DISK_SIZE, seed, 0);
	sum = checksum(disk, DISK_SIZE);
	guest_block_batch(&q, PVISOR_OP_WRITE);
	seen[B_FLUSH] = guest_io(&q, PVISOR_OP_FLUSH, 0, 0, 0, NULL);

	guest_zero(disk, DISK_SIZE);
	guest_block_batch(&q, PVISOR_OP_READ);
	seen[B_SUM_MATCHES] = checksum(disk, DISK_SIZE) == sum;
	seen[B_FIRST_BAD] = pattern_check(disk, DISK_SIZE, seed, 0);

	seen[B_READ_AT_END] = guest_io(&q, PVISOR_OP_READ, MISC_BUF, 512,
				       DISK_SIZE, NULL);
	seen[B_READ_ACROSS_END] = guest_io(&q, PVISOR_OP_READ, MISC_BUF, 1024,
					   DISK_SIZE - 512, NULL);
	seen[B_WRITE_AT_END] = guest_io(&q, PVISOR_OP_WRITE, MISC_BUF, 512,
					DISK_SIZE, NULL);
	seen[B_DISCARD_ACROSS_END] = guest_io(&q, PVISOR_OP_DISCARD, 0, 1024,
					      DISK_SIZE - 512, NULL);
	seen[B_READ_WRAPS] = guest_io(&q, PVISOR_OP_READ, MISC_BUF, 1024,
				      ~0ULL - 511, NULL);
	seen[B_OFFSET_MISALIGNED] = guest_io(&q, PVISOR_OP_READ, MISC_BUF, 512,
					     100, NULL);
	seen[B_LEN_MISALIGNED] = guest_io(&q, PVISOR_OP_READ, MISC_BUF, 100, 0,
					  NULL);
	seen[B_OP_0] = guest_io(&q, 0, MISC_BUF, 512, 0, NULL);
	seen[B_OP_99] = guest_io(&q, 99, MISC_BUF, 512, 0, NULL);
	guest_zero((void *)MISC_BUF, 4096);
	seen[B_READ_AFTER_ERRORS] = guest_io(&q, PVISOR_OP_READ, MISC_BUF,
					     4096, 8192, &len);
	GUEST_ASSERT_EQ(4096, len);
	GUEST_ASSERT_EQ(4096, pattern_check((void *)MISC_BUF, 4096, seed,
					    8192));

	/* A memfd punches holes: the range reads back as zeroes. */
	seen[B_DISCARD] = guest_io(&q, PVISOR_OP_DISCARD, 0, DISK_CHUNK, 0,
				   NULL);
	pattern_fill((void *)MISC_BUF, DISK_CHUNK + 512, 1, 0);
	GUEST_ASSERT_EQ(0, guest_io(&q, PVISOR_OP_READ, MISC_BUF, DISK_CHUNK,
				    0, NULL));
	GUEST_ASSERT_EQ(0, guest_io(&q, PVISOR_OP_READ, MISC_BUF + DISK_CHUNK,
				    512, DISK_CHUNK, NULL));
	seen[B_DISCARD_ZEROES] = guest_is_zero(MISC_BUF, DISK_CHUNK);
	seen[B_DISCARD_STAYS_IN_RANGE] =
		pattern_check((void *)(MISC_BUF + DISK_CHUNK), 512, seed,
			      DISK_CHUNK) == 512;

	GUEST_QUEUE_SETUP(&ro, 1, 0, 8);
	guest_zero((void *)MISC_BUF, 4096);
	seen[B_RO_READ] = guest_io(&ro, PVISOR_OP_READ, MISC_BUF, 4096, 8192,
				   NULL);
	seen[B_RO_DATA] = pattern_check((void *)MISC_BUF, 4096,
					guest_params.seed2, 8192) == 4096;
	seen[B_RO_WRITE] = guest_io(&ro, PVISOR_OP_WRITE, MISC_BUF, 4096, 0,
				    NULL);
	seen[B_RO_DISCARD] = guest_io(&ro, PVISOR_OP_DISCARD, 0, 4096, 0,
				      NULL);

	seen[B_COMPLETED] = q.completed;
	seen[B_ERRORS] = q.errors;
	seen[B_DOORBELLS] = q.doorbells;
	guest_shutdown(0);
}

/* The host reads the disk file after the VM is gone. */
static void expect_disk_file(struct __test_metadata *_metadata, int fd,
			     uint64_t seed, bool discarded)
{
	uint64_t len = DISK_SIZE + DISK_TAIL, off, bad;
	uint8_t *buf = malloc(len);
	uint64_t i;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(len, pread(fd, buf, len, 0))
		TH_LOG("pread of the disk file: %s", strerror(errno));
	off = discarded ? DISK_CHUNK : 0;
	for (i = 0; i < off; i++)
		if (buf[i])
			break;
	EXPECT_EQ(off, i)
		TH_LOG("disk file: discarded byte %llu is not zero",
		       (unsigned long long)i);
	bad = pattern_check(buf + off, DISK_SIZE - off, seed, off);
	EXPECT_EQ(DISK_SIZE - off, bad)
		TH_LOG("disk file: the word at offset %llu is not what the guest wrote",
		       (unsigned long long)(off + bad));
	for (i = DISK_SIZE; i < len; i++)
		if (buf[i] != TAIL_BYTE)
			break;
	EXPECT_EQ(len, i) TH_LOG("disk file: byte %llu past the last sector changed",
				 (unsigned long long)i);
	free(buf);
}

TEST_F_TIMEOUT(chan, block_write_read_verify, 180)
{
	struct chan_env *e = &self->e;
	struct pvisor_channel_stats st;
	int disk, ro_disk;
	uint64_t *seen;

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_block);
	PARAMS(e)->seed = 0x5eed0001;
	PARAMS(e)->seed2 = 0x5eed0002;
	disk = disk_create(_metadata, e, DISK_SIZE + DISK_TAIL, 0);
	ro_disk = disk_create(_metadata, e, DISK_SIZE + DISK_TAIL,
			      0x5eed0002);
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, 0, disk, -1);
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, PVISOR_CHANNEL_F_READONLY,
		 reopen_ro(_metadata, e, ro_disk), -1);
	chan_serve(_metadata, e, 0);
	chan_serve(_metadata, e, 1);

	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&e->t));
	expect_checks(_metadata, &e->t, block_checks, NR_B_CHECKS);
	seen = *GUEST_VAR(&e->t, guest_seen);
	TH_LOG("%llu of 32 batch responses came out of request order",
	       (unsigned long long)seen[B_OUT_OF_ORDER]);

	chan_stats(_metadata, e, 0, &st);
	EXPECT_EQ(seen[B_COMPLETED], st.requests[0])
		TH_LOG("GET_STATS requests[0] against the guest's responses");
	EXPECT_EQ(0, st.requests[1]) TH_LOG("GET_STATS requests[1] of a block");
	EXPECT_EQ(seen[B_ERRORS], st.errors[0])
		TH_LOG("GET_STATS errors[0] against the guest's error statuses");
	EXPECT_EQ(seen[B_DOORBELLS], st.doorbells)
		TH_LOG("GET_STATS doorbells against the guest's CHAN_NOTIFY calls");
	EXPECT_GE(st.bytes[0], 2 * DISK_SIZE + DISK_CHUNK)
		TH_LOG("GET_STATS bytes[0]: %llu",
		       (unsigned long long)st.bytes[0]);
	EXPECT_LE(st.interrupts, st.requests[0]);
	EXPECT_EQ(0, st.dropped);

	serve_stop_expect_eintr(_metadata, &e->srv[0], "block");
	serve_stop_expect_eintr(_metadata, &e->srv[1], "read-only block");
	expect_disk_file(_metadata, disk, 0x5eed0001,
			 seen[B_DISCARD] == 0);
	expect_disk_file(_metadata, ro_disk, 0x5eed0002, false);
}

/*
 * Token buckets (PVISOR_CHANNEL_SET_LIMITS).  The guest writes the whole
 * disk in 64 KiB requests, all in flight, and times it on the host's
 * clock; under a bucket of LIMIT_BUCKET bytes refilled in LIMIT_REFILL,
 * which starts full, that takes (DISK_SIZE - LIMIT_BUCKET) / rate.
 */
#define LIMIT_BUCKET	(128 * 1024ULL)
#define LIMIT_REFILL	(250 * MS)	/* 512 KiB/s */

enum { L_START, L_END };

static void guest_block_timed(void)
{
	struct guest_queue q;

	guest_start();
	GUEST_QUEUE_SETUP(&q, 0, 0, PVISOR_RING_MAX);
	pattern_fill((void *)DISK_BUF, DISK_SIZE, guest_params.seed, 0);
	guest_seen[L_START] = guest_clock();
	guest_block_batch(&q, PVISOR_OP_WRITE);
	guest_seen[L_END] = guest_clock();
	guest_shutdown(0);
}

static void set_limits(struct __test_metadata *_metadata, int fd,
		       const struct pvisor_channel_limits *l, int err,
		       const char *what)
{
	int r = ioctl(fd, PVISOR_CHANNEL_SET_LIMITS, l);

	if (!err) {
		EXPECT_EQ(0, r) TH_LOG("SET_LIMITS %s: %s", what,
				       strerror(errno));
		return;
	}
	EXPECT_EQ(-1, r) TH_LOG("SET_LIMITS %s was accepted", what);
	EXPECT_EQ(err, errno) TH_LOG("SET_LIMITS %s: %s, expected %s", what,
				     strerror(errno), strerror(err));
}

TEST_F_TIMEOUT(chan, block_rate_limit, 180)
{
	struct chan_env *e = &self->e;
	struct pvisor_channel_limits l, got;
	struct pvisor_channel_stats st;
	uint64_t *seen, expect_ns, took;
	int disk, cons_fd[2];

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_block_timed);
	if (ioctl(e->t.vm.sys_fd, PVISOR_CHECK_EXTENSION, PVISOR_CAP_LIMITS) <= 0)
		SKIP(return, "no PVISOR_CAP_LIMITS");
	PARAMS(e)->seed = 0x5eed0100;
	disk = disk_create(_metadata, e, DISK_SIZE + DISK_TAIL, 0);
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, 0, disk, -1);
	env_pipe(_metadata, e, cons_fd);
	chan_add(_metadata, e, PVISOR_CHAN_CONSOLE, 0, cons_fd[1], -1);

	/* What SET_LIMITS refuses. */
	memset(&l, 0, sizeof(l));
	l.flags = 1;
	set_limits(_metadata, e->chan_fd[0], &l, EINVAL, "with flags 1");
	memset(&l, 0, sizeof(l));
	l.reserved[3] = 1;
	set_limits(_metadata, e->chan_fd[0], &l, EINVAL, "with a reserved word");
	memset(&l, 0, sizeof(l));
	l.bytes[0].size = 4096;
	set_limits(_metadata, e->chan_fd[0], &l, EINVAL, "with no refill time");
	memset(&l, 0, sizeof(l));
	l.ops[0].refill_ns = MS;
	set_limits(_metadata, e->chan_fd[0], &l, EINVAL, "of a refill without a size");
	memset(&l, 0, sizeof(l));
	l.bytes[0].size = 1ULL << 51;
	l.bytes[0].refill_ns = MS;
	set_limits(_metadata, e->chan_fd[0], &l, EINVAL, "of a 2^51-byte bucket");
	memset(&l, 0, sizeof(l));
	l.bytes[1].size = 4096;
	l.bytes[1].refill_ns = MS;
	set_limits(_metadata, e->chan_fd[0], &l, EINVAL, "on a disk's queue 1");
	memset(&l, 0, sizeof(l));
	l.ops[0].size = 10;
	l.ops[0].refill_ns = MS;
	set_limits(_metadata, e->chan_fd[1], &l, EINVAL, "on a console");

	/* The limits: bytes only, full at the start. */
	memset(&l, 0, sizeof(l));
	l.bytes[0].size = LIMIT_BUCKET;
	l.bytes[0].refill_ns = LIMIT_REFILL;
	l.ops[0].size = 1000;		/* 1000 requests a second: no limit */
	l.ops[0].refill_ns = 1000 * MS;
	set_limits(_metadata, e->chan_fd[0], &l, 0, "of 512 KiB/s");
	memset(&got, 0xff, sizeof(got));
	IOCTL_OK(e->chan_fd[0], PVISOR_CHANNEL_GET_LIMITS, &got);
	EXPECT_EQ(0, memcmp(&l, &got, sizeof(l)))
		TH_LOG("GET_LIMITS does not return what SET_LIMITS set");

	chan_serve(_metadata, e, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&e->t));
	seen = *GUEST_VAR(&e->t, guest_seen);
	took = seen[L_END] - seen[L_START];
	expect_ns = (DISK_SIZE - LIMIT_BUCKET) * LIMIT_REFILL / LIMIT_BUCKET;
	TH_LOG("1 MiB at 512 KiB/s with a 128 KiB bucket: %llu ms, expected %llu ms",
	       (unsigned long long)(took / MS),
	       (unsigned long long)(expect_ns / MS));
	EXPECT_GE(took, expect_ns * 9 / 10);
	EXPECT_LE(took, expect_ns * 11 / 10);

	chan_stats(_metadata, e, 0, &st);
	EXPECT_EQ(PVISOR_CHAN_BLOCK, st.type);
	EXPECT_EQ(0, st.id);
	EXPECT_GE(st.throttled_ns[0], expect_ns * 8 / 10)
		TH_LOG("throttled_ns[0] %llu ms",
		       (unsigned long long)(st.throttled_ns[0] / MS));
	EXPECT_EQ(0, st.throttled_ns[1]);
	serve_stop_expect_eintr(_metadata, &e->srv[0], "block");
	expect_disk_file(_metadata, disk, 0x5eed0100, false);
}

/*
 * Notification suppression, on two console channels.  Channel 0's pipe
 * is full when the guest starts, so that pvisor is stuck in its first
 * write while the guest publishes 64 requests one at a time: pvisor has
 * not waited since the first doorbell, so none of the others needs one.
 * Channel 1's guest leaves rsp_event at 1: one interrupt for the first
 * response and none after, until it moves rsp_event on once more.
 */
#define BURST		64
#define BURST_LEN	1024
#define QUIET_NR	16

enum {
	S_DOORBELLS_BUSY,
	S_IRQS_BUSY,
	S_IRQS_QUIET,
	S_IRQS_QUIET_AGAIN,
	S_DOORBELLS_QUIET,
};

static void guest_collect(struct guest_queue *q, uint32_t n, uint32_t len)
{
	struct pvisor_desc rsp;
	uint32_t i;

	for (i = 0; i < n; i++) {
		guest_queue_next(q, &rsp);
		GUEST_ASSERT_EQ(PVISOR_OP_WRITE, rsp.op);
		GUEST_ASSERT_EQ(0, (uint64_t)(int64_t)rsp.status);
		GUEST_ASSERT_EQ(len, rsp.len);
	}
}

static void guest_suppress(void)
{
	uint64_t busy_buf = OUT_BUF, quiet_buf = OUT_BUF + BURST * BURST_LEN;
	struct guest_queue busy, quiet;
	uint32_t i;

	guest_start();
	pattern_fill((void *)busy_buf, BURST * BURST_LEN, guest_params.seed, 0);
	pattern_fill((void *)quiet_buf, (QUIET_NR + 1) * BURST_LEN,
		     guest_params.seed2, 0);

	GUEST_QUEUE_SETUP(&busy, 0, 0, BURST);
	for (i = 0; i < BURST; i++) {
		guest_queue_put(&busy, i, PVISOR_OP_WRITE,
				busy_buf + i * BURST_LEN, BURST_LEN, 0);
		guest_queue_publish(&busy);
	}
	guest_collect(&busy, BURST, BURST_LEN);
	guest_settle(20 * MS);
	guest_seen[S_DOORBELLS_BUSY] = busy.doorbells;
	guest_seen[S_IRQS_BUSY] = guest_irqs[busy.vector];

	GUEST_QUEUE_SETUP(&quiet, 1, 0, QUIET_NR);
	quiet.advance_rsp_event = false;
	for (i = 0; i < QUIET_NR; i++) {
		guest_queue_put(&quiet, i, PVISOR_OP_WRITE,
				quiet_buf + i * BURST_LEN, BURST_LEN, 0);
		guest_queue_publish(&quiet);
	}
	guest_collect(&quiet, QUIET_NR, BURST_LEN);
	guest_settle(20 * MS);
	guest_seen[S_IRQS_QUIET] = guest_irqs[quiet.vector];

	/* Ask once more: one more interrupt. */
	__atomic_store_n(&quiet.ring->rsp_event, quiet.rsp_cons + 1,
			 __ATOMIC_RELAXED);
	guest_queue_put(&quiet, QUIET_NR, PVISOR_OP_WRITE,
			quiet_buf + QUIET_NR * BURST_LEN, BURST_LEN, 0);
	guest_queue_publish(&quiet);
	guest_collect(&quiet, 1, BURST_LEN);
	guest_settle(20 * MS);
	guest_seen[S_IRQS_QUIET_AGAIN] = guest_irqs[quiet.vector];
	guest_seen[S_DOORBELLS_QUIET] = quiet.doorbells;
	guest_shutdown(0);
}

/* Fill a pipe to the brim with 'P'; returns the bytes it took. */
static size_t pipe_fill(struct __test_metadata *_metadata, int fd)
{
	static const char page[4096] = { [0 ... 4095] = 'P' };
	int flags = fcntl(fd, F_GETFL);
	size_t total = 0;
	ssize_t n;

	/* The module shares this open file: O_NONBLOCK only meanwhile. */
	ASSERT_EQ(0, fcntl(fd, F_SETFL, flags | O_NONBLOCK));
	while ((n = write(fd, page, sizeof(page))) > 0)
		total += n;
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, flags));
	return total;
}

/* @len bytes of the pattern of @seed at @buf: the first bad one, or len. */
static size_t bytes_check(const uint8_t *buf, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != pattern_byte(seed, i))
			break;
	return i;
}

TEST_F_TIMEOUT(chan, busy_queue_suppresses_doorbells_and_interrupts, 120)
{
	struct pipe_reader *busy = &self->readers[0], *quiet = &self->readers[1];
	struct chan_env *e = &self->e;
	struct pvisor_channel_stats st;
	int a[2], b[2];
	size_t prefill, i;
	uint64_t *seen;

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_suppress);
	PARAMS(e)->seed = 0x5eed0003;
	PARAMS(e)->seed2 = 0x5eed0004;
	env_pipe(_metadata, e, a);
	env_pipe(_metadata, e, b);
	prefill = pipe_fill(_metadata, a[1]);
	chan_add(_metadata, e, PVISOR_CHAN_CONSOLE, 0, a[1], -1);
	chan_add(_metadata, e, PVISOR_CHAN_CONSOLE, 0, b[1], -1);
	chan_serve(_metadata, e, 0);
	chan_serve(_metadata, e, 1);
	/* Channel 0's pipe stays full until the burst is surely in. */
	pipe_reader_start(_metadata, busy, a[0], prefill + BURST * BURST_LEN,
			  500);
	pipe_reader_start(_metadata, quiet, b[0], (QUIET_NR + 1) * BURST_LEN,
			  0);

	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&e->t));
	pipe_reader_join(busy);
	pipe_reader_join(quiet);
	seen = *GUEST_VAR(&e->t, guest_seen);

	ASSERT_EQ(busy->want, busy->got) TH_LOG("console 0 output bytes");
	for (i = 0; i < prefill && busy->buf[i] == 'P'; i++)
		;
	EXPECT_EQ(prefill, i) TH_LOG("console 0: the pipe's old contents");
	EXPECT_EQ(BURST * BURST_LEN,
		  bytes_check(busy->buf + prefill, BURST * BURST_LEN,
			      0x5eed0003))
		TH_LOG("console 0: output out of order or damaged");
	EXPECT_FALSE(busy->extra) TH_LOG("console 0: more output than written");
	ASSERT_EQ(quiet->want, quiet->got) TH_LOG("console 1 output bytes");
	EXPECT_EQ(quiet->want, bytes_check(quiet->buf, quiet->want,
					   0x5eed0004))
		TH_LOG("console 1: output out of order or damaged");

	chan_stats(_metadata, e, 0, &st);
	TH_LOG("busy queue: %llu requests, %llu doorbells, %llu (%llu) interrupts",
	       (unsigned long long)st.requests[0],
	       (unsigned long long)st.doorbells,
	       (unsigned long long)st.interrupts,
	       (unsigned long long)seen[S_IRQS_BUSY]);
	EXPECT_EQ(BURST, st.requests[0]);
	EXPECT_EQ(BURST * BURST_LEN, st.bytes[0]);
	EXPECT_EQ(seen[S_DOORBELLS_BUSY], st.doorbells)
		TH_LOG("GET_STATS doorbells against the guest's CHAN_NOTIFY calls");
	EXPECT_LT(st.doorbells, BURST)
		TH_LOG("a doorbell for every request of a busy queue");
	EXPECT_LE(st.interrupts, st.requests[0]);
	EXPECT_GE(seen[S_IRQS_BUSY], 1)
		TH_LOG("the guest waited with rsp_event set and got no interrupt");
	EXPECT_LE(seen[S_IRQS_BUSY], st.interrupts);

	chan_stats(_metadata, e, 1, &st);
	EXPECT_EQ(QUIET_NR + 1, st.requests[0]);
	EXPECT_EQ(seen[S_DOORBELLS_QUIET], st.doorbells);
	EXPECT_EQ(2, st.interrupts)
		TH_LOG("interrupts raised with rsp_event left at 1, then moved once");
	EXPECT_EQ(1, seen[S_IRQS_QUIET])
		TH_LOG("interrupts seen with rsp_event left at 1");
	EXPECT_EQ(2, seen[S_IRQS_QUIET_AGAIN])
		TH_LOG("interrupts seen after rsp_event moved once more");
	free(busy->buf);
	free(quiet->buf);
}

/*
 * Console: input that arrives while the guest waits, echoed; EOF once the
 * host closes the pipe; then 100 KiB of output in 2 KiB requests, all in
 * flight, which must reach the pipe whole and in order.
 */
enum {
	C_BAD_OP_OUT,
	C_IN,
	C_IN_LEN,
	C_IN_DATA,
	C_ECHO,
	C_ECHO_LEN,
	C_EOF,
	C_EOF_LEN,
	NR_C_CHECKS,
};

static const struct check console_checks[NR_C_CHECKS] = {
	[C_BAD_OP_OUT] = { "READ on the output queue", HC_ERR(PVISOR_EINVAL) },
	[C_IN] = { "input: status", 0 },
	[C_IN_LEN] = { "input: len of \"abc\"", 3 },
	[C_IN_DATA] = { "input: the bytes", 'a' | 'b' << 8 | 'c' << 16 },
	[C_ECHO] = { "echo: status", 0 },
	[C_ECHO_LEN] = { "echo: len", 3 },
	[C_EOF] = { "input at end of file: status", 0 },
	[C_EOF_LEN] = { "input at end of file: len", 0 },
};

static void guest_console(void)
{
	uint8_t *in = (uint8_t *)MISC_BUF;
	uint64_t *seen = guest_seen;
	struct guest_queue out, inq;
	struct pvisor_desc rsp;
	uint32_t len, i, n = CONSOLE_TOTAL / CONSOLE_CHUNK;

	guest_start();
	GUEST_QUEUE_SETUP(&out, 0, 0, PVISOR_RING_MAX);
	GUEST_QUEUE_SETUP(&inq, 0, 1, 4);
	seen[C_BAD_OP_OUT] = guest_io(&out, PVISOR_OP_READ, MISC_BUF, 16, 0,
				      NULL);

	guest_zero(in, 64);
	seen[C_IN] = guest_io(&inq, PVISOR_OP_READ, MISC_BUF, 64, 0, &len);
	seen[C_IN_LEN] = len;
	seen[C_IN_DATA] = in[0] | in[1] << 8 | in[2] << 16 | in[3] << 24;
	seen[C_ECHO] = guest_io(&out, PVISOR_OP_WRITE, MISC_BUF, len, 0, &len);
	seen[C_ECHO_LEN] = len;
	seen[C_EOF] = guest_io(&inq, PVISOR_OP_READ, MISC_BUF, 64, 0, &len);
	seen[C_EOF_LEN] = len;

	pattern_fill((void *)OUT_BUF, CONSOLE_TOTAL, guest_params.seed, 0);
	for (i = 0; i < n; i++) {
		guest_queue_put(&out, i, PVISOR_OP_WRITE,
				OUT_BUF + i * CONSOLE_CHUNK, CONSOLE_CHUNK, 0);
		guest_queue_publish(&out);
	}
	for (i = 0; i < n; i++) {
		guest_queue_next(&out, &rsp);
		GUEST_ASSERT_EQ(0, (uint64_t)(int64_t)rsp.status);
		GUEST_ASSERT_EQ(CONSOLE_CHUNK, rsp.len);
	}
	guest_shutdown(0);
}

/* The host's end: type "abc", wait for the echo, close, read the rest. */
struct console_host {
	int out_r;
	int in_w;
	size_t want;
	uint8_t *buf;
	size_t got;
	bool echoed;
	bool extra;
	pthread_t thread;
	bool started;
};

static void *console_host_thread(void *arg)
{
	struct console_host *c = arg;

	usleep(100 * 1000);
	if (write(c->in_w, "abc", 3) == 3)
		c->got = read_some(c->out_r, c->buf, 0, 3);
	c->echoed = c->got == 3 && !memcmp(c->buf, "abc", 3);
	close(c->in_w);
	c->in_w = -1;
	if (!c->echoed)
		return NULL;
	c->got = read_some(c->out_r, c->buf, c->got, c->want);
	if (c->got == c->want)
		c->extra = more_arrives(c->out_r, 100);
	return NULL;
}

TEST_F_TIMEOUT(chan, console_output_input_and_eof, 120)
{
	static struct console_host host;
	struct chan_env *e = &self->e;
	struct pvisor_channel_stats st;
	int out[2], in[2];

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_console);
	PARAMS(e)->seed = 0x5eed0005;
	env_pipe(_metadata, e, out);
	ASSERT_EQ(0, pipe2(in, O_CLOEXEC));
	env_fd(_metadata, e, in[0]);
	chan_add(_metadata, e, PVISOR_CHAN_CONSOLE, 0, out[1], in[0]);
	chan_serve(_metadata, e, 0);

	memset(&host, 0, sizeof(host));
	host.out_r = out[0];
	host.in_w = in[1];
	host.want = 3 + CONSOLE_TOTAL;
	host.buf = calloc(1, host.want);
	ASSERT_NE(NULL, host.buf);
	ASSERT_EQ(0, pthread_create(&host.thread, NULL, console_host_thread,
				    &host));
	host.started = true;

	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&e->t));
	pthread_join(host.thread, NULL);
	expect_checks(_metadata, &e->t, console_checks, NR_C_CHECKS);
	ASSERT_TRUE(host.echoed) TH_LOG("the host saw no echo of \"abc\"");
	ASSERT_EQ(host.want, host.got) TH_LOG("console output bytes");
	EXPECT_EQ(CONSOLE_TOTAL, bytes_check(host.buf + 3, CONSOLE_TOTAL,
					     0x5eed0005))
		TH_LOG("console output out of order or damaged");
	EXPECT_FALSE(host.extra) TH_LOG("more console output than written");

	chan_stats(_metadata, e, 0, &st);
	EXPECT_EQ(2 + CONSOLE_TOTAL / CONSOLE_CHUNK, st.requests[0]);
	EXPECT_EQ(3 + CONSOLE_TOTAL, st.bytes[0]);
	EXPECT_EQ(1, st.errors[0]);
	EXPECT_EQ(2, st.requests[1]);
	EXPECT_EQ(3, st.bytes[1]);
	EXPECT_EQ(0, st.errors[1]);
	serve_stop_expect_eintr(_metadata, &e->srv[0], "console");
	free(host.buf);
}

/*
 * Net over one end of a SOCK_SEQPACKET socket pair, which keeps frame
 * boundaries as a tap does.  The guest posts four receive buffers of
 * mtu + 14 bytes, sends frames of 60, mtu + 14 and 14 bytes (and two it
 * may not send: 13 and mtu + 15 bytes); the host checks each arrives as
 * one message, then sends 100, mtu + 15 (too big: dropped), mtu + 14 and
 * 60 bytes.
 */
enum {
	N_BAD_OP_TX,
	N_TX1,
	N_TX1_LEN,
	N_TX_SHORT,
	N_TX2,
	N_TX2_LEN,
	N_TX_LONG,
	N_TX3,
	N_TX3_LEN,
	NR_N_CHECKS,
	N_RX_STATUS = NR_N_CHECKS,	/* three of each */
	N_RX_LEN = N_RX_STATUS + 3,
	N_RX_ID = N_RX_LEN + 3,
	N_RX_BAD = N_RX_ID + 3,
	N_RX_MORE = N_RX_BAD + 3,
};

static const struct check net_checks[NR_N_CHECKS] = {
	[N_BAD_OP_TX] = { "READ on the transmit queue",
			  HC_ERR(PVISOR_EINVAL) },
	[N_TX1] = { "a 60-byte frame", 0 },
	[N_TX1_LEN] = { "a 60-byte frame: len", 60 },
	[N_TX_SHORT] = { "a 13-byte frame", HC_ERR(PVISOR_EINVAL) },
	[N_TX2] = { "an mtu + 14 frame", 0 },
	[N_TX2_LEN] = { NULL, 0 },	/* mtu + 14: checked by the host */
	[N_TX_LONG] = { "an mtu + 15 frame", HC_ERR(PVISOR_EINVAL) },
	[N_TX3] = { "a 14-byte frame", 0 },
	[N_TX3_LEN] = { "a 14-byte frame: len", 14 },
};

static const uint32_t rx_frame_no[3] = { 10, 12, 13 };

static void guest_net(void)
{
	struct pvisor_chan_info *info = &guest_infos[0];
	uint64_t *seen = guest_seen, tx = NET_BUF + NET_NR_RX * NET_STRIDE;
	struct guest_queue txq, rxq;
	struct pvisor_desc rsp;
	uint32_t frame, len, i, k;
	uint64_t id;

	guest_start();
	GUEST_ASSERT_EQ(0, guest_chan_info(0, (uintptr_t)info));
	frame = info->mtu + NET_HLEN;
	GUEST_ASSERT(info->mtu >= 68 && frame + 1 <= NET_STRIDE);
	GUEST_QUEUE_SETUP(&txq, 0, 0, 8);
	GUEST_QUEUE_SETUP(&rxq, 0, 1, 8);
	for (i = 0; i < NET_NR_RX; i++)
		guest_queue_put(&rxq, i, PVISOR_OP_READ, NET_BUF + i * NET_STRIDE,
				frame, 0);
	guest_queue_publish(&rxq);

	frame_build((uint8_t *)tx, frame + 1, 1, bcast_mac, info->mac);
	seen[N_BAD_OP_TX] = guest_io(&txq, PVISOR_OP_READ, tx, 60, 0, NULL);
	seen[N_TX1] = guest_io(&txq, PVISOR_OP_WRITE, tx, 60, 0, &len);
	seen[N_TX1_LEN] = len;
	seen[N_TX_SHORT] = guest_io(&txq, PVISOR_OP_WRITE, tx, 13, 0, NULL);
	frame_build((uint8_t *)tx, frame + 1, 2, bcast_mac, info->mac);
	seen[N_TX2] = guest_io(&txq, PVISOR_OP_WRITE, tx, frame, 0, &len);
	seen[N_TX2_LEN] = len;
	seen[N_TX_LONG] = guest_io(&txq, PVISOR_OP_WRITE, tx, frame + 1, 0,
				   NULL);
	frame_build((uint8_t *)tx, 14, 3, bcast_mac, info->mac);
	seen[N_TX3] = guest_io(&txq, PVISOR_OP_WRITE, tx, 14, 0, &len);
	seen[N_TX3_LEN] = len;

	for (k = 0; k < 3; k++) {
		guest_queue_next(&rxq, &rsp);
		GUEST_ASSERT_EQ(PVISOR_OP_READ, rsp.op);
		id = rsp.id;
		seen[N_RX_STATUS + k] = (uint64_t)(int64_t)rsp.status;
		seen[N_RX_LEN + k] = rsp.len;
		seen[N_RX_ID + k] = id;
		if (id < NET_NR_RX && rsp.len <= frame)
			seen[N_RX_BAD + k] =
				frame_check((uint8_t *)(NET_BUF + id * NET_STRIDE),
					    rsp.len, rx_frame_no[k], info->mac,
					    peer_mac);
	}
	/* The frame that was too big takes no buffer. */
	guest_settle(100 * MS);
	seen[N_RX_MORE] = rxq.ring->rsp_prod - rxq.rsp_cons;
	guest_shutdown(0);
}

struct net_peer {
	int fd;
	uint32_t nr_tx;
	uint32_t tx_len[3];
	uint32_t tx_bad[3];
	bool extra;
	uint32_t mtu;
	uint32_t sent;
	pthread_t thread;
	bool started;
};

static void *net_peer_thread(void *arg)
{
	static uint8_t buf[PVISOR_CHAN_BUF_MAX + 1];
	struct pollfd pfd;
	struct net_peer *p = arg;
	const uint32_t rx_no[4] = { 10, 11, 12, 13 };
	uint32_t rx_len[4];
	ssize_t n;
	int k;

	pfd.fd = p->fd;
	pfd.events = POLLIN;
	for (k = 0; k < 3; k++) {
		if (poll(&pfd, 1, 30000) <= 0)
			return NULL;
		n = recv(p->fd, buf, sizeof(buf), 0);
		if (n < 0)
			return NULL;
		p->tx_len[k] = n;
		p->tx_bad[k] = n < NET_HLEN ? 1 :
			       frame_check(buf, n, k + 1, bcast_mac, test_mac);
		p->nr_tx++;
	}
	p->extra = poll(&pfd, 1, 200) > 0;
	if (p->tx_len[1] < NET_HLEN + 68)
		return NULL;
	p->mtu = p->tx_len[1] - NET_HLEN;
	rx_len[0] = 100;
	rx_len[1] = p->mtu + NET_HLEN + 1;
	rx_len[2] = p->mtu + NET_HLEN;
	rx_len[3] = 60;
	for (k = 0; k < 4; k++) {
		frame_build(buf, rx_len[k], rx_no[k], test_mac, peer_mac);
		if (send(p->fd, buf, rx_len[k], 0) != rx_len[k])
			return NULL;
		p->sent++;
	}
	return NULL;
}

TEST_F_TIMEOUT(chan, net_frames_over_seqpacket, 120)
{
	static struct net_peer peer;
	struct chan_env *e = &self->e;
	struct pvisor_channel_stats st;
	uint32_t frame, rx_len[3], k;
	uint64_t *seen;
	int sv[2];

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_net);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				sv));
	env_fd(_metadata, e, sv[0]);
	env_fd(_metadata, e, sv[1]);
	chan_add(_metadata, e, PVISOR_CHAN_NET, 0, sv[1], -1);
	chan_serve(_metadata, e, 0);
	memset(&peer, 0, sizeof(peer));
	peer.fd = sv[0];
	ASSERT_EQ(0, pthread_create(&peer.thread, NULL, net_peer_thread,
				    &peer));
	peer.started = true;

	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&e->t));
	pthread_join(peer.thread, NULL);
	seen = *GUEST_VAR(&e->t, guest_seen);
	frame = (*GUEST_VAR(&e->t, guest_infos))[0].mtu + NET_HLEN;
	TH_LOG("net mtu %u", frame - NET_HLEN);
	expect_checks(_metadata, &e->t, net_checks, NR_N_CHECKS);
	EXPECT_EQ(frame, seen[N_TX2_LEN]) TH_LOG("an mtu + 14 frame: len");

	ASSERT_EQ(3, peer.nr_tx) TH_LOG("frames the host received");
	EXPECT_EQ(60, peer.tx_len[0]) TH_LOG("frame 1: one message of 60 bytes");
	EXPECT_EQ(frame, peer.tx_len[1])
		TH_LOG("frame 2: one message of mtu + 14 bytes");
	EXPECT_EQ(14, peer.tx_len[2]) TH_LOG("frame 3: one message of 14 bytes");
	for (k = 0; k < 3; k++) {
		EXPECT_EQ(0, peer.tx_bad[k])
			TH_LOG("frame %u: byte %u differs", k + 1,
			       peer.tx_bad[k] - 1);
	}
	EXPECT_FALSE(peer.extra) TH_LOG("a refused frame reached the wire");
	ASSERT_EQ(4, peer.sent) TH_LOG("frames the host sent");

	rx_len[0] = 100;
	rx_len[1] = frame;
	rx_len[2] = 60;
	for (k = 0; k < 3; k++) {
		EXPECT_EQ(0, seen[N_RX_STATUS + k])
			TH_LOG("received frame %u: status", k + 1);
		EXPECT_EQ(rx_len[k], seen[N_RX_LEN + k])
			TH_LOG("received frame %u: len (frame numbers 10, 12, 13; 11 was too big)",
			       k + 1);
		EXPECT_LT(seen[N_RX_ID + k], NET_NR_RX)
			TH_LOG("received frame %u: id of a buffer never posted",
			       k + 1);
		EXPECT_EQ(0, seen[N_RX_BAD + k])
			TH_LOG("received frame %u: byte %llu differs", k + 1,
			       (unsigned long long)seen[N_RX_BAD + k] - 1);
	}
	EXPECT_EQ(0, seen[N_RX_MORE])
		TH_LOG("a response for the frame that did not fit");

	chan_stats(_metadata, e, 0, &st);
	EXPECT_EQ(1, st.dropped) TH_LOG("GET_STATS dropped");
	EXPECT_EQ(6, st.requests[0]);
	EXPECT_EQ(3, st.errors[0]);
	EXPECT_EQ(60 + frame + 14, st.bytes[0]);
	EXPECT_EQ(3, st.requests[1]);
	EXPECT_EQ(100 + frame + 60, st.bytes[1]);
	serve_stop_expect_eintr(_metadata, &e->srv[0], "net");
}

/* A small round trip on block channel 0: 4 KiB written at 4096, read back. */
static void guest_block_smoke(void)
{
	struct guest_queue q;
	uint32_t len;

	guest_start();
	GUEST_QUEUE_SETUP(&q, 0, 0, 8);
	pattern_fill((void *)MISC_BUF, 4096, guest_params.seed, 4096);
	GUEST_ASSERT_EQ(0, guest_io(&q, PVISOR_OP_WRITE, MISC_BUF, 4096, 4096,
				    &len));
	GUEST_ASSERT_EQ(4096, len);
	guest_zero((void *)(MISC_BUF + 4096), 4096);
	GUEST_ASSERT_EQ(0, guest_io(&q, PVISOR_OP_READ, MISC_BUF + 4096, 4096,
				    4096, &len));
	GUEST_ASSERT_EQ(4096, len);
	GUEST_ASSERT_EQ(4096, pattern_check((void *)(MISC_BUF + 4096), 4096,
					    guest_params.seed, 4096));
	guest_shutdown(0);
}

/* A new VM with a block channel runs guest_block_smoke() to its end. */
static void expect_smoke_vm(struct __test_metadata *_metadata,
			    struct chan_env *e)
{
	uint64_t word;
	int disk;

	chan_vm_start(_metadata, e, guest_block_smoke);
	PARAMS(e)->seed = 0x5eed0006;
	disk = disk_create(_metadata, e, DISK_SIZE, 0);
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, 0, disk, -1);
	chan_serve(_metadata, e, 0);
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&e->t));
	ASSERT_EQ(8, pread(disk, &word, 8, 4096));
	EXPECT_EQ(pattern(0x5eed0006, 4096), word)
		TH_LOG("the disk file after the smoke guest");
}

/* A VM that pvisor killed: SERVE must end by itself with EIO. */
static void expect_dead_channels(struct __test_metadata *_metadata,
				 struct chan_env *e)
{
	struct pvisor_channel_config cfg;
	struct chan_server *again = &e->extra[0];
	int p[2], i;

	for (i = 0; i < e->nr_chans; i++) {
		if (!e->srv[i].started)
			continue;
		ASSERT_TRUE(serve_wait(&e->srv[i], 10000))
			TH_LOG("channel %d: SERVE still running 10 s after the VM was killed",
			       i);
		expect_serve_err(_metadata, &e->srv[i], EIO,
				 "SERVE when the VM is killed");
	}
	vm_assert_dead(_metadata, &e->t);
	env_pipe(_metadata, e, p);
	chan_config(&cfg, PVISOR_CHAN_CONSOLE, 0, p[1], -1);
	expect_create_err(_metadata, e->t.vm.vm_fd, &cfg, EIO,
			  "a console, on a dead VM");
	serve_start(_metadata, again, e->chan_fd[0]);
	ASSERT_TRUE(serve_wait(again, 5000))
		TH_LOG("SERVE on a dead VM's channel did not return");
	expect_serve_err(_metadata, again, EIO, "SERVE on a dead VM");
}

/*
 * Malformed rings: pvisor's serving thread kills the VM, whether the vCPU
 * spins or sleeps in HLT; the host goes on, and a new VM works.
 */
enum {
	BAD_REQ_PROD,		/* req_prod - rsp_prod > size */
	BAD_ADDR_OUTSIDE,	/* a buffer at the end of memory */
	BAD_ADDR_STRADDLES,	/* a buffer across the end of memory */
	BAD_LEN,		/* len > PVISOR_CHAN_BUF_MAX */
	BAD_REQ_PROD_BACK,	/* req_prod back behind held input buffers */
};

static void guest_bad_ring(void)
{
	uint64_t mem = guest_get_info(PVISOR_INFO_MEM_SIZE), limit;
	uint16_t op = guest_params.type == PVISOR_CHAN_BLOCK ?
		      PVISOR_OP_READ : PVISOR_OP_WRITE;
	struct guest_queue q;
	int i;

	guest_start();
	if (guest_params.mode == BAD_REQ_PROD_BACK) {
		/*
		 * Four input buffers, held while the console has no input;
		 * then req_prod goes back between the responses (none yet)
		 * and what pvisor has read: it must not read "on" from
		 * there for 2^32 - 2 requests.
		 */
		GUEST_QUEUE_SETUP(&q, 0, 1, 4);
		for (i = 0; i < 4; i++)
			guest_queue_put(&q, i, PVISOR_OP_READ,
					MISC_BUF + i * 512, 512, 0);
		guest_queue_publish(&q);
		guest_settle(200 * MS);
		q.req_prod -= 2;
		__atomic_store_n(&q.ring->req_prod, q.req_prod,
				 __ATOMIC_RELEASE);
		GUEST_ASSERT_EQ(0, guest_chan_notify(q.chan, q.queue));
		goto wait;
	}
	GUEST_QUEUE_SETUP(&q, 0, 0, 4);
	switch (guest_params.mode) {
	case BAD_REQ_PROD:
		for (i = 0; i < 4; i++)
			guest_queue_put(&q, i, op, MISC_BUF, 512, 0);
		q.req_prod++;	/* a fifth request in a ring of four */
		break;
	case BAD_ADDR_OUTSIDE:
		guest_queue_put(&q, 0, op, mem, 512, 0);
		break;
	case BAD_ADDR_STRADDLES:
		guest_queue_put(&q, 0, op, mem - 256, 512, 0);
		break;
	case BAD_LEN:
		guest_queue_put(&q, 0, op, DISK_BUF, PVISOR_CHAN_BUF_MAX + 512,
				0);
		break;
	}
	guest_queue_publish(&q);
wait:
	if (guest_params.halted) {
		GUEST_ASSERT_EQ(0, guest_set_timer(20000 * MS, GUARD_VECTOR));
		while (!guest_irqs[GUARD_VECTOR])
			asm volatile("sti; hlt" ::: "memory");
	} else {
		limit = guest_clock() + 20000 * MS;
		while (guest_clock() < limit)
			asm volatile("pause" ::: "memory");
	}
	guest_print("guest: still alive 20 s after a malformed request\n");
	guest_shutdown(GUEST_STATUS(GUEST_ASSERT_FAILED, __LINE__));
}

FIXTURE(bad_ring) {
	struct chan_env e;
};

FIXTURE_VARIANT(bad_ring) {
	uint32_t type;
	uint64_t mode;
	bool halted;
};

FIXTURE_VARIANT_ADD(bad_ring, req_prod_ahead) {
	.type = PVISOR_CHAN_BLOCK,
	.mode = BAD_REQ_PROD,
};

FIXTURE_VARIANT_ADD(bad_ring, addr_outside_memory) {
	.type = PVISOR_CHAN_BLOCK,
	.mode = BAD_ADDR_OUTSIDE,
};

FIXTURE_VARIANT_ADD(bad_ring, addr_across_end_of_memory) {
	.type = PVISOR_CHAN_BLOCK,
	.mode = BAD_ADDR_STRADDLES,
};

FIXTURE_VARIANT_ADD(bad_ring, len_over_max_buf) {
	.type = PVISOR_CHAN_BLOCK,
	.mode = BAD_LEN,
};

FIXTURE_VARIANT_ADD(bad_ring, vcpu_halted) {
	.type = PVISOR_CHAN_BLOCK,
	.mode = BAD_ADDR_OUTSIDE,
	.halted = true,
};

FIXTURE_VARIANT_ADD(bad_ring, console_addr_outside_memory) {
	.type = PVISOR_CHAN_CONSOLE,
	.mode = BAD_ADDR_OUTSIDE,
};

FIXTURE_VARIANT_ADD(bad_ring, req_prod_back_on_input) {
	.type = PVISOR_CHAN_CONSOLE,
	.mode = BAD_REQ_PROD_BACK,
};

FIXTURE_SETUP(bad_ring)
{
	CHAN_ENV_SETUP(&self->e);
}

FIXTURE_TEARDOWN(bad_ring)
{
	env_release(&self->e);
}

TEST_F_TIMEOUT(bad_ring, kills_vm_then_new_vm_works, 120)
{
	struct chan_env *e = &self->e;
	int fd, p[2], q[2];

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_bad_ring);
	PARAMS(e)->type = variant->type;
	PARAMS(e)->mode = variant->mode;
	PARAMS(e)->halted = variant->halted;
	if (variant->type == PVISOR_CHAN_BLOCK) {
		fd = disk_create(_metadata, e, DISK_SIZE, 0);
	} else {
		env_pipe(_metadata, e, p);
		fd = p[1];
	}
	if (variant->mode == BAD_REQ_PROD_BACK) {
		/* Console input that never comes: the buffers are held. */
		env_pipe(_metadata, e, q);
		chan_add(_metadata, e, variant->type, 0, fd, q[0]);
	} else {
		chan_add(_metadata, e, variant->type, 0, fd, -1);
	}
	chan_serve(_metadata, e, 0);

	VM_RUN_TO_KILL(&e->t, PVISOR_KILL_BAD_RING);
	TH_LOG("%s", vm_describe(&e->t));
	expect_dead_channels(_metadata, e);

	env_release(e);
	expect_smoke_vm(_metadata, e);
	serve_stop_expect_eintr(_metadata, &e->srv[0], "the new VM's block");
}

/*
 * A guest that refills its ring as fast as pvisor answers it, with
 * requests that fail at once: with the vCPU on another CPU the serving
 * thread never finds the ring empty.  SERVE must still end at a signal
 * within a second (the launcher can be killed, cpu.max holds).
 */
#define FLOOD_NS	(60000 * MS)	/* the most the guest floods */
#define FLOOD_MIN	500		/* answers before the signal */
#define FLOOD_STOP_MS	1000		/* SERVE's time to see the signal */

static void guest_flood(void)
{
	struct guest_queue q;
	struct pvisor_desc rsp;
	uint64_t end;

	guest_start();
	GUEST_QUEUE_SETUP(&q, 0, 0, PVISOR_RING_MAX);
	end = guest_clock() + FLOOD_NS;
	while (!__atomic_load_n(&guest_params.stop, __ATOMIC_ACQUIRE) &&
	       guest_clock() < end) {
		while (q.req_prod - q.rsp_cons < q.size)
			guest_queue_put(&q, q.req_prod, 0x7fff, 0, 0, 0);
		guest_queue_publish(&q);
		while (guest_queue_get(&q, &rsp))
			if (rsp.status != -PVISOR_EINVAL)
				guest_queue_fail(&q, "guest: a bad op did not fail",
						 __LINE__);
	}
	guest_shutdown(0);
}

struct flood_stopper {
	pthread_t thread;
	struct chan_env *e;
	uint64_t *stop;		/* the guest's guest_params.stop */
	uint64_t answered;	/* requests answered when the signal went */
	long ms;		/* first signal to SERVE's return; -1: never */
};

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	       (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Waits for the flood, then signals SERVE until it returns. */
static void *flood_stopper_thread(void *arg)
{
	struct flood_stopper *f = arg;
	struct chan_server *s = &f->e->srv[0];
	struct pvisor_channel_stats st;
	struct timespec t0;

	f->ms = -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(10000);
		memset(&st, 0, sizeof(st));
		ioctl(f->e->chan_fd[0], PVISOR_CHANNEL_GET_STATS, &st);
	} while (st.requests[0] < FLOOD_MIN && ms_since(&t0) < 60000 &&
		 !serve_is_done(s));
	f->answered = st.requests[0];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!serve_is_done(s) && ms_since(&t0) < 10000) {
		pthread_kill(s->thread, SIGUSR1);
		usleep(2000);
	}
	if (serve_is_done(s))
		f->ms = ms_since(&t0);
	__atomic_store_n(f->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F_TIMEOUT(chan, flood_of_failing_requests_ends_at_a_signal, 120)
{
	struct chan_env *e = &self->e;
	struct flood_stopper f = { .e = e };
	struct chan_server *s = &e->srv[0];

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_flood);
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, 0,
		 disk_create(_metadata, e, DISK_SIZE, 0), -1);
	chan_serve(_metadata, e, 0);
	f.stop = &PARAMS(e)->stop;
	ASSERT_EQ(0, pthread_create(&f.thread, NULL, flood_stopper_thread,
				    &f));
	VM_RUN_TO_SHUTDOWN(&e->t);
	pthread_join(f.thread, NULL);
	TH_LOG("%llu requests answered before the signal; SERVE returned %ld ms after it",
	       (unsigned long long)f.answered, f.ms);
	EXPECT_GE(f.answered, FLOOD_MIN)
		TH_LOG("the guest's flood never got going");
	ASSERT_NE(-1, f.ms)
		TH_LOG("SERVE still runs 10 s after the first signal");
	EXPECT_LE(f.ms, FLOOD_STOP_MS);
	serve_join(s);
	expect_serve_err(_metadata, s, EINTR, "the flooded block channel");
}

/* Lifecycle. */

/* SERVE holds the channel: its fd may be closed meanwhile. */
TEST_F(chan, channel_fd_closed_while_serving)
{
	struct chan_env *e = &self->e;
	uint64_t word;
	int disk;

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_block_smoke);
	PARAMS(e)->seed = 0x5eed0007;
	disk = disk_create(_metadata, e, DISK_SIZE, 0);
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, 0, disk, -1);
	chan_serve(_metadata, e, 0);
	usleep(200 * 1000);
	ASSERT_FALSE(serve_is_done(&e->srv[0]))
		TH_LOG("SERVE returned at once: %s", strerror(e->srv[0].err));
	close(e->chan_fd[0]);
	e->chan_fd[0] = -1;

	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&e->t));
	serve_stop_expect_eintr(_metadata, &e->srv[0],
				"a channel whose fd was closed");
	ASSERT_EQ(8, pread(disk, &word, 8, 4096));
	EXPECT_EQ(pattern(0x5eed0007, 4096), word);
}

/*
 * The VM and vCPU fds closed under parked SERVEs: the SERVEs return 0, and
 * once the channel fds are closed too, pvisor holds nothing: the console's
 * pipes see their other ends closed, and the module's references are back
 * where they were.
 */
TEST_F(chan, vm_closed_under_parked_serve)
{
	struct chan_env *e = &self->e;
	struct pollfd pfd;
	long before, after = -1;
	int out[2], in[2], i;
	ssize_t n = 0;

	RETURN_IF_SKIPPED();
	before = module_refcnt("pvisor");
	chan_vm_start(_metadata, e, guest_idle);
	env_pipe(_metadata, e, out);
	env_pipe(_metadata, e, in);
	chan_add(_metadata, e, PVISOR_CHAN_CONSOLE, 0, out[1], in[0]);
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, 0,
		 disk_create(_metadata, e, DISK_SIZE, 0), -1);
	chan_serve(_metadata, e, 0);
	chan_serve(_metadata, e, 1);
	/* Only pvisor holds the write end of out and the read end of in. */
	close(out[1]);
	close(in[0]);
	for (i = 0; i < e->nr_fds; i++)
		if (e->fds[i] == out[1] || e->fds[i] == in[0])
			e->fds[i] = -1;
	usleep(200 * 1000);
	ASSERT_FALSE(serve_is_done(&e->srv[0]));
	ASSERT_FALSE(serve_is_done(&e->srv[1]));

	vm_destroy(&e->t);
	vm_init(&e->t);
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(serve_wait(&e->srv[i], 10000))
			TH_LOG("channel %d: SERVE still parked 10 s after the VM fds closed",
			       i);
		/* Nothing can run the VM any more: SERVE is done, with 0. */
		EXPECT_EQ(0, e->srv[i].ret)
			TH_LOG("SERVE of a closed VM returned %ld (%s), expected 0",
			       e->srv[i].ret, strerror(e->srv[i].err));
		close(e->chan_fd[i]);
		e->chan_fd[i] = -1;
	}

	pfd.fd = out[0];
	pfd.events = POLLIN;
	EXPECT_EQ(1, poll(&pfd, 1, 5000))
		TH_LOG("the console's output pipe still has a writer");
	EXPECT_EQ(0, read(out[0], &i, 1))
		TH_LOG("the console's output pipe still has a writer");
	for (i = 0; i < 250; i++) {
		n = write(in[1], "x", 1);
		if (n < 0)
			break;
		usleep(20 * 1000);
	}
	EXPECT_EQ(-1, n) TH_LOG("the console's input pipe still has a reader");
	EXPECT_EQ(EPIPE, errno);

	if (before < 0) {
		TH_LOG("no /sys/module/pvisor/refcnt: references not checked");
		return;
	}
	for (i = 0; i < 250; i++) {
		after = module_refcnt("pvisor");
		if (after == before)
			break;
		usleep(20 * 1000);
	}
	EXPECT_EQ(before, after) TH_LOG("module references left behind");
}

TEST_F(chan, serve_twice_is_busy)
{
	struct chan_env *e = &self->e;
	struct chan_server *second = &e->extra[0], *third = &e->extra[1];

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_block_smoke);
	PARAMS(e)->seed = 0x5eed0008;
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, 0,
		 disk_create(_metadata, e, DISK_SIZE, 0), -1);
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, 0,
		 disk_create(_metadata, e, DISK_SIZE, 0), -1);
	chan_serve(_metadata, e, 0);
	chan_serve(_metadata, e, 1);
	usleep(200 * 1000);
	ASSERT_FALSE(serve_is_done(&e->srv[0]))
		TH_LOG("SERVE returned at once: %s", strerror(e->srv[0].err));
	ASSERT_FALSE(serve_is_done(&e->srv[1]))
		TH_LOG("two channels of a VM cannot be served at once: %s",
		       strerror(e->srv[1].err));

	serve_start(_metadata, second, e->chan_fd[0]);
	ASSERT_TRUE(serve_wait(second, 5000))
		TH_LOG("a second SERVE of a served channel did not return");
	expect_serve_err(_metadata, second, EBUSY, "a second SERVE");

	/* The first one still serves. */
	ASSERT_EQ(0, VM_RUN_TO_SHUTDOWN(&e->t));
	serve_stop_expect_eintr(_metadata, &e->srv[0], "the first SERVE");

	/* Once it is gone, the channel can be served again. */
	serve_start(_metadata, third, e->chan_fd[0]);
	usleep(200 * 1000);
	serve_stop_expect_eintr(_metadata, third, "SERVE after the first ended");
	serve_stop_expect_eintr(_metadata, &e->srv[1], "the other channel");
}

static void guest_cr3_outside_memory(void)
{
	guest_write_cr3(0x10000000ULL);
	guest_shutdown(0xbad);
}

/* A VM killed for another reason: its SERVEs end, and new ones fail. */
TEST_F(chan, serve_on_dead_vm)
{
	struct chan_env *e = &self->e;

	RETURN_IF_SKIPPED();
	chan_vm_start(_metadata, e, guest_cr3_outside_memory);
	chan_add(_metadata, e, PVISOR_CHAN_BLOCK, 0,
		 disk_create(_metadata, e, DISK_SIZE, 0), -1);
	chan_serve(_metadata, e, 0);
	VM_RUN_TO_KILL(&e->t, PVISOR_KILL_BAD_PAGE_TABLE);
	expect_dead_channels(_metadata, e);
}

TEST_HARNESS_MAIN

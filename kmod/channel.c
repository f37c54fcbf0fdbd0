// SPDX-License-Identifier: GPL-2.0
/*
 * Channels: shared-memory rings between a guest and an in-kernel backend
 * (Documentation/hypercalls.rst "Channels", design.rst "Channels").
 *
 * A channel is a device of one VM, owned by its fd, backed by files the
 * launcher opened: a console (an output and an input file), a disk (a
 * regular file or a block device) or a network interface (a tap).  The
 * guest sets up a ring per queue and rings a doorbell hypercall; a
 * launcher thread that sits in PVISOR_CHANNEL_SERVE reads the rings, does
 * the file I/O and writes the responses, and raises the queue's vector on
 * the vCPU that set it up.  File I/O therefore never runs on a vCPU's
 * path, and it runs in a task of the guest's own process (its cgroup pays
 * for it).
 *
 * Everything the guest writes is read once: the producer index, then each
 * descriptor, copied before it is checked.  A ring that claims more
 * requests than it has room for, or a descriptor whose buffer is not guest
 * memory, kills the VM; a well-formed request that the backend cannot do
 * gets an error status.
 *
 * Locking: queue setup (a hypercall) takes ch->lock and publishes the
 * queue with a release store; the serving thread is the only one that
 * touches the rings and the queues' private state afterwards.  Guest
 * memory is touched only with vm->slots_lock held for reading.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/bvec.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/pvisor_para.h>

#include "pvisor.h"
#include "throttle.h"

#define ETH_HLEN_MIN	14
#define NET_MTU		1500
#define NET_FRAME_MAX	(NET_MTU + ETH_HLEN_MIN)
/* Buffers cover at most this many pages (a buffer need not be aligned). */
#define BUF_PAGES	(PVISOR_CHAN_BUF_MAX / PAGE_SIZE + 1)
/* Wait queues a backend file may poll on (a tty has two). */
#define CHAN_POLL_MAX	4

/* ch->work bits: what woke the serving thread. */
#define WORK_QUEUE0	0	/* doorbell or setup of queue 0 */
#define WORK_QUEUE1	1
#define WORK_INPUT	2	/* the input file became readable */
#define WORK_LIMITS	3	/* the limits changed */
#define WORK_AGAIN	4	/* a pass stopped at its budget */

struct pvisor_queue {
	/* Set once by the setup hypercall; gpa is published last. */
	u64 gpa;		/* the ring; 0: not set up */
	u32 size;
	u32 vector;
	u32 vcpu_id;		/* whose interrupt completions raise */
	/* The serving thread's own. */
	u32 req_cons;		/* next request to read */
	u32 rsp_prod;		/* responses written */
	u32 rsp_pushed;		/* rsp_prod at the last interrupt check */
	/* Requests read and not yet answered (input buffers), in order. */
	struct pvisor_desc held[PVISOR_RING_MAX];
	u32 held_head, nr_held;
	/* A request read from the ring that waits for its tokens. */
	bool stalled;
	struct pvisor_desc stall;
	u64 throttled_since;	/* when the queue started waiting, or 0 */
};

struct pvisor_pollent {
	wait_queue_entry_t wait;
	wait_queue_head_t *head;
	struct pvisor_channel *ch;
};

struct pvisor_channel {
	struct pvisor_vm *vm;
	u32 id;
	u32 type;
	u32 flags;		/* PVISOR_CHANNEL_F_* */
	u32 nr_queues;
	struct file *file;	/* output, disk or tap */
	struct file *in_file;	/* console input, the tap again, or NULL */
	bool in_eof;		/* console input has ended */
	u64 capacity;		/* block: bytes */
	bool aligned;		/* block: O_DIRECT at creation, 512-byte buffers */
	u8 mac[6];
	spinlock_t lock;	/* queue setup, and the buckets below */
	struct pvisor_queue q[2];
	unsigned long work;	/* WORK_* */
	unsigned long serving;	/* bit 0: a thread is in SERVE */
	wait_queue_head_t wq;	/* the serving thread waits here */
	poll_table pt;
	struct pvisor_pollent poll[CHAN_POLL_MAX];
	int nr_poll;
	void *bounce;		/* net receive: one whole frame */
	/* Rate limits per queue (throttle.c); @limited: any is set. */
	bool limited;
	struct pvisor_channel_limits limits;
	struct pvisor_tbucket tb_bytes[2], tb_ops[2];
	u64 wait_ns;		/* the shortest wait of a throttled queue */
	spinlock_t stats_lock;
	struct pvisor_channel_stats stats;
};

/* Result of serving a request: keep it, answer it, or kill the VM. */
enum { REQ_HOLD, REQ_DONE, REQ_KILL };

static void chan_wake(struct pvisor_channel *ch, int bit)
{
	set_bit(bit, &ch->work);
	wake_up_interruptible(&ch->wq);
}

/* Called by the input file's wait queue: data, hangup or POLLFREE. */
static int chan_poll_wake(wait_queue_entry_t *wait, unsigned int mode,
			  int sync, void *key)
{
	struct pvisor_pollent *pe = container_of(wait, struct pvisor_pollent,
						 wait);

	if (key_to_poll(key) & POLLFREE) {
		list_del_init(&wait->entry);
		/* The queue is going away: never touch it again. */
		smp_store_release(&pe->head, NULL);
	}
	chan_wake(pe->ch, WORK_INPUT);
	return 0;
}

static void chan_poll_register(struct file *file, wait_queue_head_t *head,
			       poll_table *pt)
{
	struct pvisor_channel *ch = container_of(pt, struct pvisor_channel,
						 pt);
	struct pvisor_pollent *pe;

	if (ch->nr_poll >= CHAN_POLL_MAX)
		return;
	pe = &ch->poll[ch->nr_poll++];
	pe->ch = ch;
	pe->head = head;
	init_waitqueue_func_entry(&pe->wait, chan_poll_wake);
	add_wait_queue(head, &pe->wait);
}

static void chan_poll_unregister(struct pvisor_channel *ch)
{
	int i;

	for (i = 0; i < ch->nr_poll; i++) {
		struct pvisor_pollent *pe = &ch->poll[i];
		/* Pairs with the POLLFREE case of chan_poll_wake(). */
		wait_queue_head_t *head = smp_load_acquire(&pe->head);

		if (head)
			remove_wait_queue(head, &pe->wait);
	}
	ch->nr_poll = 0;
}

static void count(struct pvisor_channel *ch, int q, u32 bytes, int status)
{
	spin_lock(&ch->stats_lock);
	ch->stats.requests[q]++;
	ch->stats.bytes[q] += bytes;
	if (status)
		ch->stats.errors[q]++;
	spin_unlock(&ch->stats_lock);
}

/*
 * The pages of guest-physical [gpa, gpa + len) as a bio_vec array, or
 * -EFAULT where any of it is not guest memory.
 */
static int guest_bvec(struct pvisor_vm *vm, u64 gpa, u32 len,
		      struct bio_vec *bv)
{
	int n = 0;

	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		u32 off = offset_in_page(gpa);
		u32 chunk = min_t(u32, len, PAGE_SIZE - off);
		struct page *page;

		if (n == BUF_PAGES ||
		    !pvisor_vm_gpa_to_hva(vm, gpa, &page))
			return -EFAULT;
		bv[n].bv_page = page;
		bv[n].bv_offset = off;
		bv[n].bv_len = chunk;
		n++;
		gpa += chunk;
		len -= chunk;
	}
	return n;
}

/* Read from a file that may be a pipe, tty or socket without blocking. */
static ssize_t read_nowait(struct file *file, struct iov_iter *iter)
{
	struct kiocb kiocb;

	if (!(file->f_mode & FMODE_READ) || !file->f_op->read_iter)
		return -EINVAL;
	init_sync_kiocb(&kiocb, file);
	if (!S_ISREG(file_inode(file)->i_mode))
		kiocb.ki_flags |= IOCB_NOWAIT;
	return call_read_iter(file, &kiocb, iter);
}

/* Write all of @iter to a stream (console output, tap). */
static ssize_t write_stream(struct file *file, struct iov_iter *iter)
{
	bool atomic_pos = file->f_mode & FMODE_ATOMIC_POS;
	bool stream = file->f_mode & FMODE_STREAM;
	bool reg = S_ISREG(file_inode(file)->i_mode);
	size_t total = iov_iter_count(iter);
	loff_t pos;
	ssize_t n = 0;

	if (atomic_pos)
		mutex_lock(&file->f_pos_lock);
	pos = file->f_pos;
	if (reg)
		file_start_write(file);
	while (iov_iter_count(iter)) {
		n = vfs_iter_write(file, iter, stream ? NULL : &pos, 0);
		if (n <= 0)
			break;
	}
	if (reg)
		file_end_write(file);
	if (!stream)
		file->f_pos = pos;
	if (atomic_pos)
		mutex_unlock(&file->f_pos_lock);
	if (iov_iter_count(iter))
		return n < 0 ? n : -EIO;
	return total;
}

static int block_rw(struct pvisor_channel *ch, struct pvisor_desc *d,
		    struct bio_vec *bv, int nr)
{
	struct file *file = ch->file;
	struct iov_iter iter;
	loff_t pos = d->offset;
	ssize_t n;

	if (d->op == PVISOR_OP_READ) {
		iov_iter_bvec(&iter, ITER_DEST, bv, nr, d->len);
		while (iov_iter_count(&iter)) {
			n = vfs_iter_read(file, &iter, &pos, 0);
			if (n < 0)
				return -PVISOR_EIO;
			if (!n)	/* the file shrank: zeroes past its end */
				iov_iter_zero(iov_iter_count(&iter), &iter);
		}
		return 0;
	}
	iov_iter_bvec(&iter, ITER_SOURCE, bv, nr, d->len);
	file_start_write(file);
	while (iov_iter_count(&iter)) {
		n = vfs_iter_write(file, &iter, &pos, 0);
		if (n <= 0)
			break;
	}
	file_end_write(file);
	return iov_iter_count(&iter) ? -PVISOR_EIO : 0;
}

/* A block request: read, write, flush or discard.  Returns a status. */
static int block_request(struct pvisor_channel *ch, struct pvisor_desc *d,
			 struct bio_vec *bv, int nr)
{
	bool ro = ch->flags & PVISOR_CHANNEL_F_READONLY;
	int ret;

	switch (d->op) {
	case PVISOR_OP_FLUSH:
		if (d->addr || d->len || d->offset)
			return -PVISOR_EINVAL;
		return vfs_fsync(ch->file, 0) ? -PVISOR_EIO : 0;
	case PVISOR_OP_READ:
	case PVISOR_OP_WRITE:
	case PVISOR_OP_DISCARD:
		break;
	default:
		return -PVISOR_EINVAL;
	}
	if ((d->offset | d->len) & 511 || !d->len)
		return -PVISOR_EINVAL;
	if (d->offset > ch->capacity || d->len > ch->capacity - d->offset)
		return -PVISOR_ERANGE;
	if (d->op != PVISOR_OP_READ && ro)
		return -PVISOR_EROFS;
	/* Direct I/O takes the buffer as it is: it must be sector-aligned. */
	if (ch->aligned && d->op != PVISOR_OP_DISCARD && (d->addr & 511))
		return -PVISOR_EINVAL;
	if (d->op == PVISOR_OP_DISCARD) {
		ret = vfs_fallocate(ch->file,
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				    d->offset, d->len);
		if (ret == -EOPNOTSUPP)
			return -PVISOR_EOPNOTSUPP;
		return ret ? -PVISOR_EIO : 0;
	}
	return block_rw(ch, d, bv, nr);
}

/* Console output or a transmitted frame. */
static int stream_write(struct pvisor_channel *ch, struct pvisor_desc *d,
			struct bio_vec *bv, int nr)
{
	struct iov_iter iter;

	if (d->op != PVISOR_OP_WRITE)
		return -PVISOR_EINVAL;
	if (ch->type == PVISOR_CHAN_NET &&
	    (d->len < ETH_HLEN_MIN || d->len > NET_FRAME_MAX))
		return -PVISOR_EINVAL;
	iov_iter_bvec(&iter, ITER_SOURCE, bv, nr, d->len);
	return write_stream(ch->file, &iter) < 0 ? -PVISOR_EIO : 0;
}

/* Does the input file have data (or an end) to read? */
static bool input_ready(struct pvisor_channel *ch)
{
	__poll_t mask;

	if (!ch->in_file || ch->in_eof)
		return false;
	mask = vfs_poll(ch->in_file, NULL);
	return mask & (EPOLLIN | EPOLLRDNORM | EPOLLHUP | EPOLLERR);
}

/*
 * Fill the oldest held input buffer.  Returns its length (0 at the end of
 * console input), -EAGAIN when there is nothing to read, or another error.
 */
static ssize_t input_fill(struct pvisor_channel *ch, struct pvisor_desc *d,
			  struct bio_vec *bv, int nr)
{
	struct iov_iter iter;
	struct kvec kv;
	ssize_t n;

	if (ch->type == PVISOR_CHAN_CONSOLE) {
		iov_iter_bvec(&iter, ITER_DEST, bv, nr, d->len);
		n = read_nowait(ch->in_file, &iter);
		if (!n)
			ch->in_eof = true;
		return n;
	}
	/* A frame goes whole into one buffer: read it aside first. */
	kv.iov_base = ch->bounce;
	kv.iov_len = PVISOR_CHAN_BUF_MAX;
	iov_iter_kvec(&iter, ITER_DEST, &kv, 1, PVISOR_CHAN_BUF_MAX);
	n = read_nowait(ch->in_file, &iter);
	if (n <= 0)
		return n ? n : -EAGAIN;
	if (n > d->len) {
		spin_lock(&ch->stats_lock);
		ch->stats.dropped++;
		spin_unlock(&ch->stats_lock);
		return -EMSGSIZE;
	}
	iov_iter_bvec(&iter, ITER_DEST, bv, nr, d->len);
	if (copy_to_iter(ch->bounce, n, &iter) != n)
		return -EFAULT;
	return n;
}

static void push_response(struct pvisor_ring *ring, struct pvisor_queue *q,
			  const struct pvisor_desc *rsp)
{
	memcpy(&ring->ring[q->rsp_prod & (q->size - 1)], rsp, sizeof(*rsp));
	/* The response before the index that publishes it. */
	smp_wmb();
	WRITE_ONCE(ring->rsp_prod, ++q->rsp_prod);
}

/* Raise the queue's vector if the guest asked for one since the last. */
static void notify_guest(struct pvisor_channel *ch, struct pvisor_ring *ring,
			 struct pvisor_queue *q)
{
	u32 old = q->rsp_pushed, new = q->rsp_prod;

	if (old == new)
		return;
	q->rsp_pushed = new;
	/* rsp_prod written before rsp_event is read: pairs with the guest. */
	smp_mb();
	if ((u32)(new - READ_ONCE(ring->rsp_event)) < (u32)(new - old) &&
	    pvisor_raise_irq_id(ch->vm, q->vcpu_id, q->vector)) {
		spin_lock(&ch->stats_lock);
		ch->stats.interrupts++;
		spin_unlock(&ch->stats_lock);
	}
}

/*
 * May queue @qi spend @bytes and one request now?  If so they are taken;
 * if not, ch->wait_ns says when to try again.  Keeps the throttled time.
 */
static bool admit(struct pvisor_channel *ch, int qi, u64 bytes, bool take)
{
	struct pvisor_queue *q = &ch->q[qi];
	u64 now, wait;

	if (!READ_ONCE(ch->limited) && !q->throttled_since)
		return true;
	now = ktime_get_ns();
	spin_lock(&ch->lock);
	wait = max(pvisor_tb_wait_ns(&ch->tb_bytes[qi], bytes, now),
		   pvisor_tb_wait_ns(&ch->tb_ops[qi], 1, now));
	if (!wait && take) {
		pvisor_tb_take(&ch->tb_bytes[qi], bytes);
		pvisor_tb_take(&ch->tb_ops[qi], 1);
	}
	spin_unlock(&ch->lock);
	if (wait) {
		if (!q->throttled_since)
			q->throttled_since = now;
		if (!ch->wait_ns || wait < ch->wait_ns)
			ch->wait_ns = wait;
		return false;
	}
	if (q->throttled_since) {
		spin_lock(&ch->stats_lock);
		ch->stats.throttled_ns[qi] += now - q->throttled_since;
		spin_unlock(&ch->stats_lock);
		q->throttled_since = 0;
	}
	return true;
}

/* A received frame of @bytes passed admit() without taking: take now. */
static void charge(struct pvisor_channel *ch, int qi, u64 bytes)
{
	if (!READ_ONCE(ch->limited))
		return;
	spin_lock(&ch->lock);
	pvisor_tb_take(&ch->tb_bytes[qi], bytes);
	pvisor_tb_take(&ch->tb_ops[qi], 1);
	spin_unlock(&ch->lock);
}

/* Bytes a request costs: its buffer (a bad length is dealt with later). */
static u64 request_bytes(const struct pvisor_desc *d)
{
	if ((d->op == PVISOR_OP_READ || d->op == PVISOR_OP_WRITE) &&
	    d->len <= PVISOR_CHAN_BUF_MAX)
		return d->len;
	return 0;
}

static bool is_input_queue(struct pvisor_channel *ch, int qi)
{
	return qi == 1 && ch->type != PVISOR_CHAN_BLOCK;
}

/*
 * Serve one request just read from the ring (@d is a copy).  Input
 * buffers are held until there is something to put in them.
 */
static int serve_request(struct pvisor_channel *ch, int qi,
			 struct pvisor_desc *d, struct bio_vec *bv)
{
	struct pvisor_queue *q = &ch->q[qi];
	bool has_buf = d->op == PVISOR_OP_READ || d->op == PVISOR_OP_WRITE;
	int nr = 0;

	if (has_buf) {
		if (d->len > PVISOR_CHAN_BUF_MAX)
			return REQ_KILL;
		nr = guest_bvec(ch->vm, d->addr, d->len, bv);
		if (nr < 0)
			return REQ_KILL;
	}
	if (is_input_queue(ch, qi)) {
		if (d->op != PVISOR_OP_READ ||
		    (ch->type == PVISOR_CHAN_NET && d->len < NET_FRAME_MAX)) {
			d->status = -PVISOR_EINVAL;
			d->len = 0;
			return REQ_DONE;
		}
		q->held[(q->held_head + q->nr_held++) % PVISOR_RING_MAX] = *d;
		return REQ_HOLD;
	}
	if (ch->type == PVISOR_CHAN_BLOCK)
		d->status = block_request(ch, d, bv, nr);
	else
		d->status = stream_write(ch, d, bv, nr);
	if (d->status || d->op == PVISOR_OP_FLUSH ||
	    d->op == PVISOR_OP_DISCARD)
		d->len = 0;
	return REQ_DONE;
}

/*
 * The most a call of serve_queue() or serve_input() does before it returns
 * to channel_serve(), which yields and looks for signals and the VM's death
 * before the next pass: a guest that refills its ring as fast as pvisor
 * answers it, or a host peer that floods a tap with frames the guest's
 * buffers cannot hold, never keeps the serving thread in the kernel.
 */
#define SERVE_BUDGET	PVISOR_RING_MAX

/* Work is left over: the next pass comes without waiting for a doorbell. */
static void serve_again(struct pvisor_channel *ch)
{
	set_bit(WORK_AGAIN, &ch->work);
}

/* Answer held input buffers while there is input.  Returns work done. */
static int serve_input(struct pvisor_channel *ch, struct pvisor_ring *ring,
		       struct pvisor_queue *q, struct bio_vec *bv)
{
	int done = 0, budget = SERVE_BUDGET;

	while (q->nr_held && (ch->in_eof || input_ready(ch))) {
		struct pvisor_desc *d = &q->held[q->held_head];
		ssize_t n = 0;
		int nr;

		if (!budget--) {
			serve_again(ch);
			break;
		}

		/* Receive limits: a frame is charged once it is read. */
		if (!ch->in_eof && !admit(ch, 1, 1, false))
			break;
		if (!ch->in_eof) {
			nr = guest_bvec(ch->vm, d->addr, d->len, bv);
			if (nr < 0)
				return -EFAULT;
			n = input_fill(ch, d, bv, nr);
			if (n > 0)
				charge(ch, 1, n);
			if (n == -EAGAIN)
				break;
			if (n == -EMSGSIZE)	/* counted, dropped */
				continue;
			if (n < 0)	/* input is broken: treat it as ended */
				ch->in_eof = true;
		}
		d->status = n < 0 ? -PVISOR_EIO : 0;
		d->len = n < 0 ? 0 : n;
		q->held_head = (q->held_head + 1) % PVISOR_RING_MAX;
		q->nr_held--;
		push_response(ring, q, d);
		count(ch, 1, d->len, d->status);
		done++;
	}
	return done;
}

/*
 * Serve queue @qi: read new requests, answer what can be answered, and
 * arm req_event before giving up.  Returns the work done, or -EFAULT for
 * a malformed ring.
 */
static int serve_queue(struct pvisor_channel *ch, int qi, struct bio_vec *bv)
{
	struct pvisor_queue *q = &ch->q[qi];
	struct pvisor_ring *ring;
	int done = 0, ret, budget = SERVE_BUDGET;
	u32 prod;

	/* The queue's fields after its address: see the setup hypercall. */
	if (!smp_load_acquire(&q->gpa))
		return 0;
	ring = pvisor_vm_gpa_to_hva(ch->vm, q->gpa, NULL);
	if (!ring)
		return -EFAULT;
	for (;;) {
		prod = READ_ONCE(ring->req_prod);
		/* The index before the requests it covers. */
		smp_rmb();
		/*
		 * req_prod may run at most a ring ahead of the responses and
		 * never back behind what was read (held input buffers and a
		 * stalled request lie between): rsp_prod <= req_cons <=
		 * req_prod <= rsp_prod + size, in free-running arithmetic.
		 */
		if ((u32)(prod - q->rsp_prod) > q->size ||
		    (u32)(prod - q->rsp_prod) < (u32)(q->req_cons - q->rsp_prod))
			return -EFAULT;
		while (q->stalled || q->req_cons != prod) {
			struct pvisor_desc d;

			if (!budget--) {
				serve_again(ch);
				return done;
			}
			if (q->stalled) {
				d = q->stall;
			} else {
				memcpy(&d,
				       &ring->ring[q->req_cons & (q->size - 1)],
				       sizeof(d));
				/* Only the copy is used from here on. */
				barrier();
				q->req_cons++;
			}
			/*
			 * Out of tokens: keep the request and stop taking
			 * more, without asking for doorbells; the serving
			 * thread comes back when the buckets have refilled.
			 */
			q->stalled = false;
			if (!is_input_queue(ch, qi) &&
			    !admit(ch, qi, request_bytes(&d), true)) {
				q->stall = d;
				q->stalled = true;
				notify_guest(ch, ring, q);
				return done;
			}
			ret = serve_request(ch, qi, &d, bv);
			if (ret == REQ_KILL)
				return -EFAULT;
			if (ret == REQ_DONE) {
				push_response(ring, q, &d);
				count(ch, qi, d.len, d.status);
				done++;
				notify_guest(ch, ring, q);
			}
		}
		if (is_input_queue(ch, qi)) {
			ret = serve_input(ch, ring, q, bv);
			if (ret < 0)
				return ret;
			done += ret;
		}
		notify_guest(ch, ring, q);
		/* Ask for a doorbell at the next request, then look again. */
		WRITE_ONCE(ring->req_event, q->req_cons + 1);
		/* req_event before req_prod is read: pairs with the guest. */
		smp_mb();
		if (READ_ONCE(ring->req_prod) == q->req_cons)
			return done;
	}
}

/* One pass over every queue.  Returns work done, or -EFAULT. */
static int serve_pass(struct pvisor_channel *ch, struct bio_vec *bv)
{
	int qi, ret, done = 0;

	for (qi = 0; qi < ch->nr_queues; qi++) {
		ret = serve_queue(ch, qi, bv);
		if (ret < 0)
			return ret;
		done += ret;
	}
	return done;
}

static bool serve_should_wake(struct pvisor_channel *ch)
{
	struct pvisor_vm *vm = ch->vm;

	return READ_ONCE(ch->work) || READ_ONCE(vm->dead) ||
	       !atomic_read(&vm->users);
}

/*
 * PVISOR_CHANNEL_SERVE: serve the channel from the calling thread until a
 * signal (-EINTR), the VM's death (-EIO), or until nothing can run it any
 * more (0: its VM and vCPU fds are all closed).
 */
static long channel_serve(struct pvisor_channel *ch)
{
	struct pvisor_vm *vm = ch->vm;
	struct bio_vec *bv;
	long ret;
	int done;

	if (test_and_set_bit_lock(0, &ch->serving))
		return -EBUSY;
	bv = kmalloc_array(BUF_PAGES, sizeof(*bv), GFP_KERNEL);
	if (!bv) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (READ_ONCE(vm->dead)) {
			ret = -EIO;
			break;
		}
		if (!atomic_read(&vm->users)) {
			ret = 0;
			break;
		}
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		xchg(&ch->work, 0);
		ch->wait_ns = 0;
		down_read(&vm->slots_lock);
		done = serve_pass(ch, bv);
		up_read(&vm->slots_lock);
		if (done < 0) {
			pvisor_vm_kill_async(vm, PVISOR_KILL_BAD_RING, ch->id);
			ret = -EIO;
			break;
		}
		cond_resched();
		if (done)
			continue;
		if (ch->wait_ns)	/* throttled: until the buckets refill */
			wait_event_interruptible_hrtimeout(ch->wq,
							   serve_should_wake(ch),
							   ns_to_ktime(ch->wait_ns));
		else
			wait_event_interruptible(ch->wq,
						 serve_should_wake(ch));
	}
	kfree(bv);
out:
	clear_bit_unlock(0, &ch->serving);
	return ret;
}

/* The channel's counters, with the time its queues are waiting now. */
void pvisor_channel_fill_stats(struct pvisor_channel *ch,
			       struct pvisor_channel_stats *st)
{
	u64 now = ktime_get_ns();
	int i;

	spin_lock(&ch->stats_lock);
	*st = ch->stats;
	spin_unlock(&ch->stats_lock);
	for (i = 0; i < 2; i++) {
		u64 since = READ_ONCE(ch->q[i].throttled_since);

		if (since && now > since)
			st->throttled_ns[i] += now - since;
	}
	st->type = ch->type;
	st->id = ch->id;
}

static long channel_get_stats(struct pvisor_channel *ch, void __user *argp)
{
	struct pvisor_channel_stats st;

	pvisor_channel_fill_stats(ch, &st);
	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}

static int limits_check(struct pvisor_channel *ch,
			const struct pvisor_channel_limits *l)
{
	int i;

	if (l->flags || l->padding)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(l->reserved); i++)
		if (l->reserved[i])
			return -EINVAL;
	for (i = 0; i < 2; i++) {
		bool set = l->bytes[i].size || l->ops[i].size;

		if (pvisor_tb_check(&l->bytes[i]) || pvisor_tb_check(&l->ops[i]))
			return -EINVAL;
		/* A console has no limits; a disk has one queue. */
		if (set && (ch->type == PVISOR_CHAN_CONSOLE ||
			    (ch->type == PVISOR_CHAN_BLOCK && i == 1)))
			return -EINVAL;
	}
	return 0;
}

/*
 * PVISOR_CHANNEL_SET_LIMITS: new buckets, full.  The serving thread is
 * woken, so that a raised limit applies to the request waiting now.
 */
static long channel_set_limits(struct pvisor_channel *ch, void __user *argp)
{
	struct pvisor_channel_limits l;
	u64 now = ktime_get_ns();
	bool limited = false;
	int i, ret;

	if (copy_from_user(&l, argp, sizeof(l)))
		return -EFAULT;
	ret = limits_check(ch, &l);
	if (ret)
		return ret;
	spin_lock(&ch->lock);
	ch->limits = l;
	for (i = 0; i < 2; i++) {
		pvisor_tb_set(&ch->tb_bytes[i], &l.bytes[i], now);
		pvisor_tb_set(&ch->tb_ops[i], &l.ops[i], now);
		limited |= l.bytes[i].size || l.ops[i].size;
	}
	WRITE_ONCE(ch->limited, limited);
	spin_unlock(&ch->lock);
	chan_wake(ch, WORK_LIMITS);
	return 0;
}

static long channel_get_limits(struct pvisor_channel *ch, void __user *argp)
{
	struct pvisor_channel_limits l;

	spin_lock(&ch->lock);
	l = ch->limits;
	spin_unlock(&ch->lock);
	return copy_to_user(argp, &l, sizeof(l)) ? -EFAULT : 0;
}

static long pvisor_channel_ioctl(struct file *filp, unsigned int cmd,
				 unsigned long arg)
{
	struct pvisor_channel *ch = filp->private_data;

	if (ch->vm->mm != current->mm)
		return -EIO;
	switch (cmd) {
	case PVISOR_CHANNEL_SERVE:
		if (arg)
			return -EINVAL;
		return channel_serve(ch);
	case PVISOR_CHANNEL_GET_STATS:
		return channel_get_stats(ch, (void __user *)arg);
	case PVISOR_CHANNEL_SET_LIMITS:
		return channel_set_limits(ch, (void __user *)arg);
	case PVISOR_CHANNEL_GET_LIMITS:
		return channel_get_limits(ch, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static void channel_free(struct pvisor_channel *ch)
{
	chan_poll_unregister(ch);
	if (ch->in_file)
		fput(ch->in_file);
	if (ch->file)
		fput(ch->file);
	kvfree(ch->bounce);
	pvisor_vm_put(ch->vm);
	kfree(ch);
}

static int pvisor_channel_release(struct inode *inode, struct file *filp)
{
	struct pvisor_channel *ch = filp->private_data;
	struct pvisor_vm *vm = ch->vm;

	mutex_lock(&vm->lock);
	WRITE_ONCE(vm->channels[ch->id], NULL);
	mutex_unlock(&vm->lock);
	/* A doorbell hypercall may still be looking at it. */
	synchronize_rcu();
	channel_free(ch);
	return 0;
}

static const struct file_operations pvisor_channel_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= pvisor_channel_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.release	= pvisor_channel_release,
	.llseek		= noop_llseek,
};

static int config_check(const struct pvisor_channel_config *c)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(c->reserved); i++)
		if (c->reserved[i])
			return -EINVAL;
	if (c->padding[0] || c->padding[1])
		return -EINVAL;
	switch (c->type) {
	case PVISOR_CHAN_BLOCK:
		if (c->flags & ~PVISOR_CHANNEL_F_READONLY)
			return -EINVAL;
		break;
	case PVISOR_CHAN_CONSOLE:
	case PVISOR_CHAN_NET:
		if (c->flags)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (c->type != PVISOR_CHAN_CONSOLE && c->in_fd != -1)
		return -EINVAL;
	if (c->type != PVISOR_CHAN_NET &&
	    memchr_inv(c->mac, 0, sizeof(c->mac)))
		return -EINVAL;
	return 0;
}

/* Take the backend files of @c into @ch and check what they can do. */
static int channel_attach_files(struct pvisor_channel *ch,
				const struct pvisor_channel_config *c)
{
	struct inode *inode;
	fmode_t need;

	ch->file = fget(c->fd);
	if (!ch->file)
		return -EBADF;
	switch (c->type) {
	case PVISOR_CHAN_CONSOLE:
		if (!(ch->file->f_mode & FMODE_WRITE))
			return -EBADF;
		if (c->in_fd == -1)
			return 0;
		ch->in_file = fget(c->in_fd);
		if (!ch->in_file)
			return -EBADF;
		if (!(ch->in_file->f_mode & FMODE_READ))
			return -EBADF;
		return 0;
	case PVISOR_CHAN_BLOCK:
		need = FMODE_READ;
		if (!(c->flags & PVISOR_CHANNEL_F_READONLY))
			need |= FMODE_WRITE;
		if ((ch->file->f_mode & need) != need)
			return -EBADF;
		inode = ch->file->f_mapping->host;
		if (!S_ISREG(inode->i_mode) && !S_ISBLK(inode->i_mode))
			return -EINVAL;
		ch->capacity = i_size_read(inode) & ~511ULL;
		/* Read once: what the guest is told stays true. */
		ch->aligned = ch->file->f_flags & O_DIRECT;
		return ch->capacity ? 0 : -EINVAL;
	default:	/* PVISOR_CHAN_NET */
		if ((ch->file->f_mode & (FMODE_READ | FMODE_WRITE)) !=
		    (FMODE_READ | FMODE_WRITE))
			return -EBADF;
		ch->in_file = get_file(ch->file);
		ch->bounce = kvmalloc(PVISOR_CHAN_BUF_MAX, GFP_KERNEL_ACCOUNT);
		return ch->bounce ? 0 : -ENOMEM;
	}
}

/* PVISOR_CREATE_CHANNEL on a VM fd. */
int pvisor_channel_create(struct pvisor_vm *vm, void __user *argp)
{
	struct pvisor_channel_config c;
	struct pvisor_channel *ch;
	int ret, id, fd;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	ret = config_check(&c);
	if (ret)
		return ret;
	ch = kzalloc(sizeof(*ch), GFP_KERNEL_ACCOUNT);
	if (!ch)
		return -ENOMEM;
	pvisor_vm_get(vm);
	ch->vm = vm;
	ch->type = c.type;
	ch->flags = c.flags;
	ch->nr_queues = c.type == PVISOR_CHAN_BLOCK ? 1 : 2;
	memcpy(ch->mac, c.mac, sizeof(ch->mac));
	spin_lock_init(&ch->lock);
	spin_lock_init(&ch->stats_lock);
	init_waitqueue_head(&ch->wq);
	ret = channel_attach_files(ch, &c);
	if (ret)
		goto fail;
	if (ch->in_file) {
		init_poll_funcptr(&ch->pt, chan_poll_register);
		vfs_poll(ch->in_file, &ch->pt);
	}

	mutex_lock(&vm->lock);
	for (id = 0; id < PVISOR_MAX_CHANNELS; id++)
		if (!vm->channels[id])
			break;
	if (id == PVISOR_MAX_CHANNELS) {
		mutex_unlock(&vm->lock);
		ret = -ENOSPC;
		goto fail;
	}
	ch->id = id;
	c.id = id;
	if (copy_to_user(argp, &c, sizeof(c))) {
		mutex_unlock(&vm->lock);
		ret = -EFAULT;
		goto fail;
	}
	fd = anon_inode_getfd("pvisor-channel", &pvisor_channel_fops, ch,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		mutex_unlock(&vm->lock);
		ret = fd;
		goto fail;
	}
	WRITE_ONCE(vm->channels[id], ch);
	mutex_unlock(&vm->lock);
	return fd;

fail:
	channel_free(ch);
	return ret;
}

/* Wake every channel's serving thread: the VM died or lost its users. */
void pvisor_channels_wake_all(struct pvisor_vm *vm)
{
	int i;

	rcu_read_lock();
	for (i = 0; i < PVISOR_MAX_CHANNELS; i++) {
		struct pvisor_channel *ch = READ_ONCE(vm->channels[i]);

		if (ch)
			wake_up_interruptible(&ch->wq);
	}
	rcu_read_unlock();
}

/* The channel @chan of @vm, under rcu_read_lock(), or NULL. */
static struct pvisor_channel *chan_lookup(struct pvisor_vm *vm, u64 chan)
{
	if (chan >= PVISOR_MAX_CHANNELS)
		return NULL;
	chan = array_index_nospec(chan, PVISOR_MAX_CHANNELS);
	return READ_ONCE(vm->channels[chan]);
}

/* PVISOR_HC_CHAN_INFO(chan, gpa). */
long pvisor_hc_chan_info(struct pvisor_vcpu *vcpu, u64 chan, u64 gpa)
{
	struct pvisor_chan_info info = {};
	struct pvisor_channel *ch;

	if (gpa & 7)
		return -PVISOR_EINVAL;
	rcu_read_lock();
	ch = chan_lookup(vcpu->vm, chan);
	if (ch) {
		info.type = ch->type;
		if (ch->flags & PVISOR_CHANNEL_F_READONLY)
			info.flags |= PVISOR_CHAN_INFO_READONLY;
		if (ch->aligned)
			info.flags |= PVISOR_CHAN_INFO_ALIGNED;
		info.nr_queues = ch->nr_queues;
		info.max_ring = PVISOR_RING_MAX;
		info.capacity = ch->capacity;
		memcpy(info.mac, ch->mac, sizeof(info.mac));
		if (ch->type == PVISOR_CHAN_NET)
			info.mtu = NET_MTU;
		info.max_buf = PVISOR_CHAN_BUF_MAX;
	}
	rcu_read_unlock();
	if (!ch)
		return -PVISOR_ENOENT;
	return pvisor_write_guest(vcpu->vm, gpa, &info, sizeof(info)) ?
	       -PVISOR_EFAULT : 0;
}

/* PVISOR_HC_CHAN_SETUP(chan, queue, gpa, size, vector). */
long pvisor_hc_chan_setup(struct pvisor_vcpu *vcpu, u64 chan, u64 queue,
			  u64 gpa, u64 size, u64 vector)
{
	struct pvisor_channel *ch;
	struct pvisor_queue *q;
	long ret = 0;

	if (!gpa || !PAGE_ALIGNED(gpa) ||
	    !pvisor_vm_gpa_to_hva(vcpu->vm, gpa, NULL) ||
	    !size || size > PVISOR_RING_MAX || !is_power_of_2(size) ||
	    vector < PVISOR_IRQ_VECTOR_MIN || vector > 255)
		return -PVISOR_EINVAL;
	rcu_read_lock();
	ch = chan_lookup(vcpu->vm, chan);
	if (!ch || queue >= ch->nr_queues) {
		rcu_read_unlock();
		return -PVISOR_ENOENT;
	}
	q = &ch->q[array_index_nospec(queue, 2)];
	spin_lock(&ch->lock);
	if (q->gpa) {
		ret = -PVISOR_EBUSY;
	} else {
		struct pvisor_ring *ring = pvisor_vm_gpa_to_hva(vcpu->vm, gpa,
								 NULL);

		/* The first request rings the doorbell (1 - 1 < 1 - 0). */
		WRITE_ONCE(ring->req_event, 1);
		q->size = size;
		q->vector = vector;
		q->vcpu_id = vcpu->id;
		/* The serving thread reads the fields above after gpa. */
		smp_store_release(&q->gpa, gpa);
	}
	spin_unlock(&ch->lock);
	if (!ret)
		chan_wake(ch, queue);
	rcu_read_unlock();
	return ret;
}

/* PVISOR_HC_CHAN_NOTIFY(chan, queue): the doorbell. */
long pvisor_hc_chan_notify(struct pvisor_vcpu *vcpu, u64 chan, u64 queue)
{
	struct pvisor_channel *ch;
	long ret = 0;

	rcu_read_lock();
	ch = chan_lookup(vcpu->vm, chan);
	if (!ch || queue >= ch->nr_queues) {
		ret = -PVISOR_ENOENT;
	} else if (!READ_ONCE(ch->q[queue & 1].gpa)) {
		ret = -PVISOR_EINVAL;
	} else {
		spin_lock(&ch->stats_lock);
		ch->stats.doorbells++;
		spin_unlock(&ch->stats_lock);
		chan_wake(ch, queue);
	}
	rcu_read_unlock();
	return ret;
}

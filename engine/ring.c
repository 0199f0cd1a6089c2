/*
 * ring.c - io_uring submission and completion for striped volume requests.
 *
 * A request is split at stripe-unit boundaries into segments, one per
 * member piece.  Segments wait in per-member FIFOs and are issued while the
 * member has fewer than queue_depth I/Os in flight, so every member keeps
 * a deep queue and no member starves the others.  Short transfers are
 * resubmitted for the rest; EAGAIN/EINTR are retried; any other error ends
 * the segment and is reported once per request with member and offset.
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/internal.h"

#define DELAY_USER_DATA 1ull	/* completions of injected delays; never a pointer */
#define NOTIFY_USER_DATA 2ull	/* the eventfd read of swe_ring_set_notify */

struct swe_seg_state {
	struct swe_io *io;
	struct swe_seg_state *next;
	unsigned dev;
	int buf_index;
	uint64_t dev_offset;
	char *buf;
	uint32_t len, done;
	int result;		/* for injected failures on the done list */
	struct __kernel_timespec delay;
};

struct dev_queue {
	struct swe_seg_state *head, *tail;
	unsigned inflight;
};

struct swe_ring {
	struct io_uring uring;
	struct swe_volume *vol;
	struct swe_arena *arena;
	unsigned qd;
	bool fixed_files, fixed_bufs, force_async;
	unsigned pending;	/* requests not yet completed */
	unsigned in_kernel;	/* segments issued and not reaped */
	struct swe_seg_state *done_head;	/* finished without the kernel */
	int notify_fd;
	bool notify_armed, notified;
	uint64_t notify_val;
	/* buffers registered after creation, at table slots narena + i */
	unsigned narena;
	bool extra_ok;
	struct { char *base; size_t len; } extra[SWE_RING_EXTRA_BUFFERS];
	struct dev_queue q[SWE_MAX_DEVICES];
};

static int setup_uring(struct swe_ring *r, unsigned entries, struct swe_err *e)
{
	struct io_uring_params p;
	unsigned flags[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
			IORING_SETUP_SUBMIT_ALL,
		IORING_SETUP_SUBMIT_ALL,
		0,
	};
	int err = -EINVAL;

	/* Newest flags first; older kernels answer EINVAL and we step down. */
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = flags[i];
		err = io_uring_queue_init_params(entries, &r->uring, &p);
		if (err != -EINVAL)
			break;
	}
	if (err)
		return swe_fail(e, err, "io_uring_queue_init(%u entries)", entries);
	return 0;
}

int swe_ring_create(struct swe_ring **out, struct swe_volume *vol,
		    struct swe_arena *arena, const struct swe_ring_opts *opts,
		    struct swe_err *e)
{
	struct swe_ring_opts o = opts ? *opts : (struct swe_ring_opts){0};
	struct swe_ring *r;
	unsigned entries = 1;
	int fds[SWE_MAX_DEVICES];
	int err;

	*out = NULL;
	if (!o.queue_depth)
		o.queue_depth = SWE_DEFAULT_QUEUE_DEPTH;
	if (o.queue_depth > 256)
		return swe_fail(e, -EINVAL, "queue depth %u (1..256)", o.queue_depth);
	r = calloc(1, sizeof(*r));
	if (!r)
		return swe_fail(e, -ENOMEM, "ring");
	r->vol = vol;
	r->arena = arena;
	r->notify_fd = -1;
	r->qd = o.queue_depth;
	r->force_async = o.force_async;
	/* room for every member's full queue plus one delay SQE per I/O */
	while (entries < 2 * o.queue_depth * vol->ndev)
		entries <<= 1;
	err = setup_uring(r, entries, e);
	if (err) {
		free(r);
		return err;
	}
	if (o.force_async) {
		/* One io-wq worker per CPU: more only contend for the cores. */
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		unsigned max_workers[2] = { cpus > 0 ? (unsigned)cpus : 1, 0 };

		io_uring_register_iowq_max_workers(&r->uring, max_workers);
	}
	if (!o.no_fixed_files) {
		for (unsigned i = 0; i < vol->ndev; i++)
			fds[i] = vol->fds[i];
		r->fixed_files = io_uring_register_files(&r->uring, fds, vol->ndev) == 0;
	}
	if (arena && !o.no_fixed_buffers) {
		unsigned n;
		const struct iovec *iov = swe_arena_iovecs(arena, &n);

		/*
		 * A sparse table leaves room for buffers registered later
		 * (swe_ring_register_buffer); older kernels take the arena only.
		 * Fails under a small RLIMIT_MEMLOCK: plain buffers still work.
		 */
		r->narena = n;
		if (io_uring_register_buffers_sparse(&r->uring, n + SWE_RING_EXTRA_BUFFERS) == 0) {
			r->fixed_bufs = io_uring_register_buffers_update_tag(&r->uring, 0, iov,
									     NULL, n) == (int)n;
			r->extra_ok = r->fixed_bufs;
			if (!r->fixed_bufs)
				io_uring_unregister_buffers(&r->uring);
		}
		if (!r->fixed_bufs)
			r->fixed_bufs = io_uring_register_buffers(&r->uring, iov, n) == 0;
	}
	*out = r;
	return 0;
}

void swe_ring_destroy(struct swe_ring *r)
{
	if (!r)
		return;
	io_uring_queue_exit(&r->uring);
	free(r);
}

#define FIXED_BUF_MAX (1ull << 30)	/* io_uring's limit per registered buffer */

int swe_ring_register_buffer(struct swe_ring *r, void *base, size_t len)
{
	struct iovec iov = { base, len };
	int err;

	if (!r->extra_ok || !len || len > FIXED_BUF_MAX)
		return -EOPNOTSUPP;
	for (unsigned i = 0; i < SWE_RING_EXTRA_BUFFERS; i++) {
		if (r->extra[i].base)
			continue;
		err = io_uring_register_buffers_update_tag(&r->uring, r->narena + i, &iov, NULL, 1);
		if (err != 1)
			return err < 0 ? err : -EIO;
		r->extra[i].base = base;
		r->extra[i].len = len;
		return 0;
	}
	return -ENOSPC;	/* every extra slot in use */
}

void swe_ring_unregister_buffer(struct swe_ring *r, void *base)
{
	struct iovec none = { NULL, 0 };

	for (unsigned i = 0; i < SWE_RING_EXTRA_BUFFERS; i++)
		if (base && r->extra[i].base == base) {
			io_uring_register_buffers_update_tag(&r->uring, r->narena + i, &none, NULL, 1);
			r->extra[i].base = NULL;
			r->extra[i].len = 0;
		}
}

/* The registered buffer slot holding [buf, buf + len), or -1. */
static int buf_index(const struct swe_ring *r, const char *buf, size_t len)
{
	int i = swe_arena_buf_index(r->arena, buf, len);

	if (i >= 0 || !r->extra_ok)
		return i;
	for (unsigned k = 0; k < SWE_RING_EXTRA_BUFFERS; k++)
		if (r->extra[k].base && buf >= r->extra[k].base &&
		    len <= r->extra[k].len && (size_t)(buf - r->extra[k].base) <= r->extra[k].len - len)
			return (int)(r->narena + k);
	return -1;
}

unsigned swe_ring_pending(const struct swe_ring *r) { return r->pending; }
bool swe_ring_fixed_buffers(const struct swe_ring *r) { return r->fixed_bufs; }

static void push_tail(struct dev_queue *q, struct swe_seg_state *s)
{
	s->next = NULL;
	if (q->tail)
		q->tail->next = s;
	else
		q->head = s;
	q->tail = s;
}

static void push_head(struct dev_queue *q, struct swe_seg_state *s)
{
	s->next = q->head;
	q->head = s;
	if (!q->tail)
		q->tail = s;
}

static struct swe_seg_state *pop_head(struct dev_queue *q)
{
	struct swe_seg_state *s = q->head;

	q->head = s->next;
	if (!q->head)
		q->tail = NULL;
	return s;
}

static struct io_uring_sqe *get_sqe(struct swe_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);

	if (!sqe) {
		io_uring_submit(&r->uring);
		sqe = io_uring_get_sqe(&r->uring);
	}
	return sqe;
}

static void prep_delay(struct swe_ring *r, struct swe_seg_state *s,
		       uint32_t delay_us)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	s->delay.tv_sec = delay_us / 1000000;
	s->delay.tv_nsec = (long long)(delay_us % 1000000) * 1000;
	io_uring_prep_timeout(sqe, &s->delay, 0, IORING_TIMEOUT_ETIME_SUCCESS);
	io_uring_sqe_set_data64(sqe, DELAY_USER_DATA);
	sqe->flags |= IOSQE_IO_LINK;
}

static void issue(struct swe_ring *r, struct swe_seg_state *s)
{
	struct swe_volume *vol = r->vol;
	enum swe_op op = s->io->op;
	struct swe_fault_action act = {0};
	struct io_uring_sqe *sqe;
	uint32_t len = s->len - s->done;
	int fd = r->fixed_files ? (int)s->dev : vol->fds[s->dev];

	swe_ctr_start(&vol->ctr[s->dev]);
	if (swe_fault_check(vol, s->dev, op, &act)) {
		if (act.error) {
			s->result = -act.error;
			s->next = r->done_head;
			r->done_head = s;
			return;
		}
		if (act.short_io && len > vol->align)
			len = len / 2 / vol->align * vol->align;
		if (act.delay_us)
			prep_delay(r, s, act.delay_us);
	}
	sqe = get_sqe(r);
	switch (op) {
	case SWE_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case SWE_READ:
		if (s->buf_index >= 0)
			io_uring_prep_read_fixed(sqe, fd, s->buf + s->done, len,
						 s->dev_offset + s->done, s->buf_index);
		else
			io_uring_prep_read(sqe, fd, s->buf + s->done, len,
					   s->dev_offset + s->done);
		break;
	case SWE_WRITE:
		if (s->buf_index >= 0)
			io_uring_prep_write_fixed(sqe, fd, s->buf + s->done, len,
						  s->dev_offset + s->done, s->buf_index);
		else
			io_uring_prep_write(sqe, fd, s->buf + s->done, len,
					    s->dev_offset + s->done);
		break;
	}
	if (r->fixed_files)
		sqe->flags |= IOSQE_FIXED_FILE;
	if (r->force_async)
		sqe->flags |= IOSQE_ASYNC;
	io_uring_sqe_set_data(sqe, s);
	r->q[s->dev].inflight++;
	r->in_kernel++;
}

/* Issue queued segments while members have queue room; then submit. */
static int pump(struct swe_ring *r)
{
	bool queued = false;
	int ret;

	for (unsigned d = 0; d < r->vol->ndev; d++) {
		struct dev_queue *q = &r->q[d];

		while (q->head && q->inflight < r->qd) {
			issue(r, pop_head(q));
			queued = true;
		}
	}
	if (!queued && !io_uring_sq_ready(&r->uring))
		return 0;
	do {
		ret = io_uring_submit(&r->uring);
	} while (ret == -EINTR);
	return ret < 0 ? ret : 0;
}

/* A segment is over (err 0 or negative); returns 1 if that ended its request. */
static int seg_finish(struct swe_ring *r, struct swe_seg_state *s, int err)
{
	struct swe_io *io = s->io;

	if (err && !io->result) {
		io->result = err;
		io->err_dev = (int)s->dev;
		io->err_offset = s->dev_offset + s->done;
	}
	if (--io->pending)
		return 0;
	free(io->segs);
	io->segs = NULL;
	r->pending--;
	if (io->result)
		swe_io_fail(io, io->result, "member %d (%s) at offset %llu", io->err_dev,
			    r->vol->info[io->err_dev].path,
			    (unsigned long long)io->err_offset);
	io->cb(io, io->result);
	return 1;
}

static int complete(struct swe_ring *r, struct swe_seg_state *s, int res)
{
	enum swe_op op = s->io->op;
	struct swe_dev_counters *c = &r->vol->ctr[s->dev];

	r->q[s->dev].inflight--;
	r->in_kernel--;
	if (res == -EAGAIN || res == -EINTR) {
		swe_ctr_end(c, op, 0, false);
		push_head(&r->q[s->dev], s);
		return 0;
	}
	if (op != SWE_FLUSH && res == 0)
		res = -EIO;	/* no progress: the member ended early */
	if (res < 0) {
		swe_ctr_end(c, op, 0, true);
		return seg_finish(r, s, res);
	}
	swe_ctr_end(c, op, op == SWE_FLUSH ? 0 : (uint64_t)res, false);
	if (op != SWE_FLUSH) {
		s->done += (uint32_t)res;
		if (s->done < s->len) {	/* short transfer: issue the rest first */
			push_head(&r->q[s->dev], s);
			return 0;
		}
	}
	return seg_finish(r, s, 0);
}

static int validate(const struct swe_ring *r, struct swe_io *io)
{
	const struct swe_volume *vol = r->vol;
	uint64_t a = vol->align;

	if (!io->cb)
		return swe_io_fail(io, -EINVAL, "request without a callback");
	if (io->op == SWE_FLUSH)
		return 0;
	if (io->op != SWE_READ && io->op != SWE_WRITE)
		return swe_io_fail(io, -EINVAL, "unknown operation %d", io->op);
	if (io->op == SWE_WRITE && vol->read_only)
		return swe_io_fail(io, -EROFS, "write to a read-only volume");
	if (!io->len || io->offset % a || io->len % a ||
	    (uintptr_t)io->buf % a)
		return swe_io_fail(io, -EINVAL, "offset %llu length %llu buffer %p: not aligned to %llu",
				(unsigned long long)io->offset,
				(unsigned long long)io->len, io->buf,
				(unsigned long long)a);
	if (io->offset > vol->size || io->len > vol->size - io->offset)
		return swe_io_fail(io, -EINVAL, "offset %llu length %llu beyond the volume (%llu bytes)",
				(unsigned long long)io->offset,
				(unsigned long long)io->len,
				(unsigned long long)vol->size);
	return 0;
}

int swe_ring_submit(struct swe_ring *r, struct swe_io *io)
{
	struct swe_volume *vol = r->vol;
	struct swe_seg pieces[64], *seg = pieces;
	unsigned n;
	int err;

	io->errmsg[0] = 0;
	err = validate(r, io);
	if (err)
		return err;
	n = io->op == SWE_FLUSH ? vol->ndev :
		swe_stripe_split(&vol->stripe, io->offset, io->len, NULL, 0);
	io->segs = calloc(n, sizeof(*io->segs));
	if (n > 64)
		seg = malloc(n * sizeof(*seg));
	if (!io->segs || !seg) {
		free(io->segs);
		if (seg != pieces)
			free(seg);
		return swe_io_fail(io, -ENOMEM, "request of %u segments", n);
	}
	if (io->op == SWE_FLUSH) {
		for (unsigned i = 0; i < n; i++)
			seg[i] = (struct swe_seg){ .dev = i };
	} else {
		swe_stripe_split(&vol->stripe, io->offset, io->len, seg, n);
	}
	io->result = 0;
	io->err_dev = -1;
	io->err_offset = 0;
	io->pending = n;
	r->pending++;
	for (unsigned i = 0; i < n; i++) {
		struct swe_seg_state *s = &io->segs[i];

		s->io = io;
		s->dev = seg[i].dev;
		s->dev_offset = seg[i].dev_offset;
		s->len = seg[i].len;
		if (io->op != SWE_FLUSH) {
			s->buf = (char *)io->buf + (seg[i].vol_offset - io->offset);
			s->buf_index = r->fixed_bufs ? buf_index(r, s->buf, s->len) : -1;
		}
		push_tail(&r->q[s->dev], s);
	}
	if (seg != pieces)
		free(seg);
	/*
	 * The request is queued: it completes through its callback whatever
	 * happens now.  A failed io_uring_submit is tried again by the next
	 * reap or wait (they pump too, and report an error that persists), so
	 * it must not be returned as a refusal: the caller would finish the
	 * request a second time.
	 */
	pump(r);
	return 0;
}

static int reap_done_list(struct swe_ring *r)
{
	int completed = 0;

	while (r->done_head) {
		struct swe_seg_state *s = r->done_head;

		r->done_head = s->next;
		swe_ctr_end(&r->vol->ctr[s->dev], s->io->op, 0, true);
		completed += seg_finish(r, s, s->result);
	}
	return completed;
}

static void arm_notify(struct swe_ring *r)
{
	struct io_uring_sqe *sqe;

	if (r->notify_fd < 0 || r->notify_armed)
		return;
	sqe = get_sqe(r);
	io_uring_prep_read(sqe, r->notify_fd, &r->notify_val, sizeof(r->notify_val), 0);
	io_uring_sqe_set_data64(sqe, NOTIFY_USER_DATA);
	r->notify_armed = true;
}

int swe_ring_set_notify(struct swe_ring *r, int efd)
{
	r->notify_fd = efd;
	arm_notify(r);
	return io_uring_submit(&r->uring) < 0 ? -EIO : 0;	/* arming the notify read */
}

/* Enter the kernel (waiting for one CQE if wait) and run every completion. */
static int reap_cqes(struct swe_ring *r, bool wait)
{
	struct io_uring_cqe *cqe;
	int completed = 0, ret;

	do {
		ret = wait ? io_uring_submit_and_wait(&r->uring, 1) :
			     io_uring_get_events(&r->uring);
	} while (ret == -EINTR);
	if (ret < 0)
		return ret;
	while (io_uring_peek_cqe(&r->uring, &cqe) == 0) {
		uint64_t data = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&r->uring, cqe);
		if (data == DELAY_USER_DATA)
			continue;
		if (data == NOTIFY_USER_DATA) {
			r->notify_armed = false;
			r->notified = true;
			continue;
		}
		completed += complete(r, (struct swe_seg_state *)(uintptr_t)data, res);
	}
	return completed;
}

int swe_ring_reap(struct swe_ring *r, bool wait)
{
	int completed = 0, ret;

	if (!r->pending)
		return 0;
	ret = pump(r);
	if (ret)
		return ret;
	completed += reap_done_list(r);
	ret = reap_cqes(r, wait && !completed && r->in_kernel);
	if (ret < 0)
		return ret;
	completed += ret;
	ret = pump(r);
	return ret ? ret : completed;
}

int swe_ring_wait_event(struct swe_ring *r, bool *notified)
{
	int completed, ret;

	arm_notify(r);
	ret = pump(r);
	if (ret)
		return ret;
	r->notified = false;
	completed = reap_done_list(r);
	ret = reap_cqes(r, !completed);
	if (ret < 0)
		return ret;
	completed += ret;
	*notified = r->notified;
	arm_notify(r);
	ret = pump(r);
	return ret ? ret : completed;
}

int swe_ring_wait_all(struct swe_ring *r)
{
	while (r->pending) {
		int ret = swe_ring_reap(r, true);

		if (ret < 0)
			return ret;
	}
	return 0;
}

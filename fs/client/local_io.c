/*
 * local_io.c - swapfs.aio's I/O on files outside a swapfs mount
 * (local_io.h): one io_uring per handle, a slot per request in flight;
 * short transfers are resubmitted for the rest, so a completion covers
 * the whole request (or ends at end of file for reads).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/client/local_io.h"

struct lslot {
	bool used;
	struct swapfs_local_io io;
	size_t done;		/* bytes transferred so far */
};

struct swapfs_local {
	struct io_uring ring;
	unsigned depth, inflight;
	struct lslot *slot;
	unsigned *free_slot, nfree;
	struct swapfs_cqe *ready;
	unsigned nready;	/* at most depth: one per slot finished */
};

int swapfs_local_open(struct swapfs_local **out, unsigned depth)
{
	struct swapfs_local *l;
	int err;

	*out = NULL;
	if (!depth || depth > 4096)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->slot = calloc(depth, sizeof(*l->slot));
	l->free_slot = calloc(depth, sizeof(*l->free_slot));
	l->ready = calloc(depth, sizeof(*l->ready));
	if (!l->slot || !l->free_slot || !l->ready) {
		err = -ENOMEM;
		goto fail;
	}
	err = io_uring_queue_init(depth, &l->ring, 0);
	if (err < 0)
		goto fail;
	l->depth = depth;
	for (unsigned i = 0; i < depth; i++)
		l->free_slot[i] = depth - 1 - i;
	l->nfree = depth;
	*out = l;
	return 0;
fail:
	free(l->slot);
	free(l->free_slot);
	free(l->ready);
	free(l);
	return err;
}

/* Put slot i's remaining bytes on the ring (an SQE is always free: one per slot). */
static void prep(struct swapfs_local *l, unsigned i)
{
	struct lslot *s = &l->slot[i];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	char *buf = (char *)s->io.buf + s->done;
	unsigned len = (unsigned)(s->io.len - s->done);

	if (s->io.op == SWAPFS_READ)
		io_uring_prep_read(sqe, s->io.fd, buf, len, s->io.off + s->done);
	else
		io_uring_prep_write(sqe, s->io.fd, buf, len, s->io.off + s->done);
	io_uring_sqe_set_data64(sqe, i);
}

static void finish(struct swapfs_local *l, unsigned i, int64_t result)
{
	l->ready[l->nready++] = (struct swapfs_cqe){ l->slot[i].io.user_data, result };
	l->slot[i].used = false;
	l->free_slot[l->nfree++] = i;
	l->inflight--;
}

int swapfs_local_submit(struct swapfs_local *l, const struct swapfs_local_io *io, unsigned n)
{
	unsigned done = 0;
	int r;

	for (; done < n && l->nfree; done++) {
		const struct swapfs_local_io *x = &io[done];
		unsigned i;

		if ((x->op != SWAPFS_READ && x->op != SWAPFS_WRITE) || x->fd < 0 ||
		    (!x->buf && x->len) || x->len > (1u << 30))
			break;
		i = l->free_slot[--l->nfree];
		l->slot[i] = (struct lslot){ true, *x, 0 };
		l->inflight++;
		if (!x->len) {
			finish(l, i, 0);
			continue;
		}
		prep(l, i);
	}
	if (done < n && l->nfree && !done)
		return -EINVAL;
	r = io_uring_submit(&l->ring);
	if (r < 0 && r != -EAGAIN && r != -EBUSY && r != -EINTR)
		return r;	/* the SQEs stay queued: the next wait submits them */
	return done ? (int)done : -EAGAIN;
}

/* One completion from the ring: finished, or resubmitted for the rest. */
static int reap(struct swapfs_local *l, struct io_uring_cqe *cqe)
{
	unsigned i = (unsigned)io_uring_cqe_get_data64(cqe);
	int res = cqe->res;
	struct lslot *s;

	io_uring_cqe_seen(&l->ring, cqe);
	if (i >= l->depth || !l->slot[i].used)
		return 0;
	s = &l->slot[i];
	if (res == -EINTR || res == -EAGAIN) {
		prep(l, i);
		return 1;
	}
	if (res < 0) {
		finish(l, i, res);
		return 0;
	}
	s->done += (size_t)res;
	if (s->done < s->io.len && res > 0) {
		prep(l, i);
		return 1;
	}
	if (s->done < s->io.len && s->io.op == SWAPFS_WRITE) {
		finish(l, i, -EIO);	/* a write that moves nothing */
		return 0;
	}
	finish(l, i, (int64_t)s->done);
	return 0;
}

int swapfs_local_wait(struct swapfs_local *l, struct swapfs_cqe *cqe, unsigned min,
		      unsigned max, int timeout_ms)
{
	struct timespec end;
	unsigned n;

	if (min > max)
		return -EINVAL;
	if (min > l->nready + l->inflight)
		min = l->nready + l->inflight;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	for (;;) {
		struct io_uring_cqe *c;
		unsigned resubmit = 0;

		while (io_uring_peek_cqe(&l->ring, &c) == 0)
			resubmit += (unsigned)reap(l, c);
		if (resubmit || io_uring_sq_ready(&l->ring)) {
			int r = io_uring_submit(&l->ring);

			if (r < 0 && r != -EAGAIN && r != -EBUSY && r != -EINTR)
				return r;
			if (resubmit)
				continue;
		}
		if (l->nready >= min)
			break;
		if (timeout_ms >= 0) {
			struct timespec now;
			struct __kernel_timespec left;
			int r;

			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = end.tv_sec - now.tv_sec;
			left.tv_nsec = end.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000;
			}
			if (left.tv_sec < 0)
				return -ETIMEDOUT;
			r = io_uring_wait_cqe_timeout(&l->ring, &c, &left);
			if (r < 0 && r != -ETIME && r != -EINTR)
				return r;
		} else {
			int r = io_uring_wait_cqe(&l->ring, &c);

			if (r < 0 && r != -EINTR)
				return r;
		}
	}
	n = l->nready < max ? l->nready : max;
	memcpy(cqe, l->ready, n * sizeof(*cqe));
	memmove(l->ready, l->ready + n, (l->nready - n) * sizeof(*cqe));
	l->nready -= n;
	return (int)n;
}

unsigned swapfs_local_inflight(const struct swapfs_local *l)
{
	return l->inflight + l->nready;
}

void swapfs_local_close(struct swapfs_local *l)
{
	if (!l)
		return;
	while (l->inflight) {
		struct io_uring_cqe *c;

		if (io_uring_wait_cqe(&l->ring, &c) < 0)
			break;
		if (reap(l, c))
			io_uring_submit(&l->ring);
		l->nready = 0;	/* nobody collects them any more */
	}
	io_uring_queue_exit(&l->ring);
	free(l->slot);
	free(l->free_slot);
	free(l->ready);
	free(l);
}

int swapfs_notify_modify(int fd, uint64_t off)
{
	if (fd < 0)
		return -EBADF;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, 1))
		return -errno;
	return 0;
}

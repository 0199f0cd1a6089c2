/*
 * uring.h - FUSE-over-io_uring (Linux 6.14+, protocol 7.42): one io_uring
 * per possible CPU (the kernel's queue of requests issued on that CPU), a
 * thread pinned to it, and entries that each carry one request at a time.
 * Requests are handed to libfuse in the layout of a /dev/fuse read without
 * copying the payload; the reply hook copies replies back into the entry
 * and commits them.  Debian bookworm's <linux/fuse.h> (7.38) lacks all of
 * this, hence the definitions below (include/uapi/linux/fuse.h, 7.45).
 */
#ifndef SWAPFS_URING_H
#define SWAPFS_URING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

/* FUSE_OVER_IO_URING: bit 41 of the INIT flags, i.e. bit 9 of flags2 */
#define SW_FUSE_OVER_IO_URING_FLAGS2 (1u << 9)

struct sw_uring;

/*
 * Before INIT: one queue per possible CPU, each with its ring (SQE128,
 * /dev/fuse as fixed file 0), `depth` entries whose payload buffers take
 * requests of up to max_payload bytes, and its thread, waiting.  Nothing is
 * registered with the kernel yet; on error nothing is left behind.
 */
int sw_uring_prepare(struct sw_uring **u, struct fuse_session *se, unsigned depth,
		     size_t max_payload);
/*
 * After the INIT reply: with negotiated, every queue registers its entries;
 * returns true when all of them were accepted (the kernel then sends its
 * requests to the rings), false otherwise (it keeps using /dev/fuse).
 */
bool sw_uring_start(struct sw_uring *u, bool negotiated);
/* Wake the threads, wait for them and free everything. */
void sw_uring_stop(struct sw_uring *u);
/* Queues and entries per queue. */
unsigned sw_uring_queues(const struct sw_uring *u);
unsigned sw_uring_depth(const struct sw_uring *u);
/* Watchdog: warn about a request that sits in a handler for `secs` seconds. */
void sw_uring_watch(struct sw_uring *u, unsigned secs);

/*
 * The reply hook: when iov (out header first) answers the request this
 * thread's ring entry holds, copy it into the entry, set *len as writev
 * would and return true; otherwise (a notification, or a request that
 * came through /dev/fuse) return false.
 */
bool sw_uring_reply(const struct iovec *iov, int count, ssize_t *len);

#endif

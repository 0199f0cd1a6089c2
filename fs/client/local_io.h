/*
 * local_io.h - I/O on files outside a swapfs mount, for swapfs.aio: the
 * same submit/wait shape as libswapfs's client, served by an io_uring of
 * the caller's own (O_DIRECT where the caller opened the file so), so one
 * handle serves a configuration that mixes swapfs and other paths.
 *
 * Every function returns 0 or a count, or a negative errno; none exits
 * or prints.  Used by one thread at a time.
 */
#ifndef SWAPFS_LOCAL_IO_H
#define SWAPFS_LOCAL_IO_H

#include <stddef.h>
#include <stdint.h>

#include "fs/client/libswapfs.h"

struct swapfs_local;

struct swapfs_local_io {
	int op;			/* SWAPFS_READ or SWAPFS_WRITE */
	int fd;			/* an open descriptor (the caller keeps it open) */
	void *buf;
	size_t len;
	uint64_t off;
	uint64_t user_data;
};

/* A ring of depth entries (1..4096). */
int swapfs_local_open(struct swapfs_local **out, unsigned depth);
/* Waits for outstanding requests (they complete: the kernel owns them). */
void swapfs_local_close(struct swapfs_local *l);
/*
 * Queue n requests; returns how many were queued (fewer when depth are in
 * flight) or a negative errno if none was.  A short transfer is continued
 * by the library: a completion reports the whole request, or fewer bytes
 * only at end of file (reads), or -errno.
 */
int swapfs_local_submit(struct swapfs_local *l, const struct swapfs_local_io *io, unsigned n);
/* As swapfs_wait: between min and max completions within timeout_ms. */
int swapfs_local_wait(struct swapfs_local *l, struct swapfs_cqe *cqe, unsigned min,
		      unsigned max, int timeout_ms);
unsigned swapfs_local_inflight(const struct swapfs_local *l);

/*
 * Report a completed client-path write to inotify/fanotify watchers of a
 * file on a swapfs mount (IN_MODIFY), as a write() would: the bytes went
 * around the kernel's VFS, which alone raises the event.  fd: opened for
 * writing on the file; off: a byte the write covered (already allocated,
 * so the call changes nothing).
 */
int swapfs_notify_modify(int fd, uint64_t off);

#endif

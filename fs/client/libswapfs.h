/*
 * libswapfs.h - the zero-copy asynchronous client path of swapfs.
 *
 * An application opens files on a swapfs mount as usual, registers the
 * descriptors, and submits reads and writes of (file, offset, length,
 * buffer) in batches, then waits for or polls their completions.  Buffers
 * from swapfs_buf_alloc() live in memory shared with the daemon, whose
 * io_uring moves the bytes between them and the devices with no copy in
 * between.  Any other buffer also works: its bytes go through a shared
 * bounce buffer, which costs one memcpy.
 *
 * The files are the mount's files: what a client write completed is what
 * read(), mmap() and stat() on the mount show at once, and the reverse.
 * Completion means the bytes are on the devices (not yet durable against
 * power loss: swapfs_fsync(), or fsync() on the descriptor, is).  Offsets,
 * lengths and buffer addresses that are multiples of 4096 take the
 * zero-copy path; others are served too, through a copy in the daemon.
 *
 * Every function returns 0 or a count on success and a negative errno on
 * failure; none exits or prints.  A client is used by one thread at a
 * time (open one per thread for parallel submitters).  If the daemon goes
 * away, every outstanding request completes with -ENOTCONN and later calls
 * fail with -ENOTCONN; waits never block past their timeout.
 *
 * Link with -lswapfs (pkg-config libswapfs).
 */
#ifndef LIBSWAPFS_H
#define LIBSWAPFS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct swapfs_client;

enum swapfs_op { SWAPFS_READ = 1, SWAPFS_WRITE = 2 };

struct swapfs_io {
	int op;			/* SWAPFS_READ or SWAPFS_WRITE */
	int file;		/* from swapfs_file_register() */
	void *buf;		/* len bytes */
	size_t len;
	uint64_t off;		/* file offset */
	uint64_t user_data;	/* returned in the completion */
};

struct swapfs_cqe {
	uint64_t user_data;
	int64_t result;		/* bytes transferred (short at EOF for reads) or -errno */
};

/*
 * Connect to the daemon serving the swapfs mount that path (any file or
 * directory on it) belongs to.  -ENOTSUP: path is not on a swapfs mount
 * with the client path enabled.
 */
int swapfs_client_open(struct swapfs_client **out, const char *path);
/* Wait for outstanding requests (up to the timeout), unregister, disconnect. */
void swapfs_client_close(struct swapfs_client *c);
/* Timeout of waits for the daemon's answers to control calls (default 60 s). */
void swapfs_client_set_timeout(struct swapfs_client *c, int timeout_ms);

/*
 * Allocate len bytes of page-aligned memory shared with the daemon (locked
 * in memory where the limits allow).  I/O from and to it is zero-copy.
 */
int swapfs_buf_alloc(struct swapfs_client *c, size_t len, void **addr);
/* Free a buffer from swapfs_buf_alloc (waits until no request uses it). */
int swapfs_buf_free(struct swapfs_client *c, void *addr);
/*
 * Adopt memory the caller already has, so that I/O from and to it is
 * zero-copy: len bytes at addr (page-aligned, len a multiple of 4096,
 * every page mapped: else -EINVAL, -EFAULT).  The library gets a shared
 * buffer of len bytes from the daemon, copies the range into it and maps
 * it over the range with MAP_FIXED (MAP_SHARED, read-write): the same
 * addresses and bytes, now pages the daemon shares, locked where
 * RLIMIT_MEMLOCK allows.  No other thread may write the range during the
 * call (such a write may be lost), and memory registered with the GPU
 * (cudaHostRegister) must be registered again afterwards: its pages are
 * new.  One client's daemon backs a range: -EEXIST if this client holds
 * it already, -EBUSY if another client of the process adopted it (its I/O
 * from the range works all the same, through a bounce buffer).
 * swapfs_buf_free and swapfs_client_close end the sharing and leave the
 * mapping, with its bytes, to the caller, who unmaps it.
 */
int swapfs_buf_register(struct swapfs_client *c, void *addr, size_t len);

/*
 * Register a descriptor opened on the mount: what it was opened for (read,
 * write or both) is what the file may be used for.  Returns the file
 * number for struct swapfs_io (>= 0); *size, if not NULL, gets the
 * file's size.  The descriptor may be closed afterwards.
 */
int swapfs_file_register(struct swapfs_client *c, int fd, uint64_t *size);
/*
 * Wait for the file's requests and end the registration, with close()'s
 * guarantee: what was written survives a crash of the daemon.
 */
int swapfs_file_unregister(struct swapfs_client *c, int file);
/* Data and metadata of the file durable (fsync). */
int swapfs_fsync(struct swapfs_client *c, int file);

/*
 * Queue n requests.  Returns how many were queued (fewer than n only when
 * the in-flight limit is reached) or a negative errno if none was.
 */
int swapfs_submit(struct swapfs_client *c, const struct swapfs_io *io, unsigned n);
/*
 * Collect between min and max completions, waiting up to timeout_ms
 * (-1: no limit, 0: poll).  Returns the number collected, -ETIMEDOUT if
 * fewer than min arrived in time (those that did stay queued for the next
 * call), or another negative errno.
 */
int swapfs_wait(struct swapfs_client *c, struct swapfs_cqe *cqe, unsigned min,
		unsigned max, int timeout_ms);
/* Requests submitted and not yet collected by swapfs_wait. */
unsigned swapfs_inflight(const struct swapfs_client *c);

#ifdef __cplusplus
}
#endif

#endif

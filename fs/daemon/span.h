/*
 * span.h - synchronous file I/O on the calling thread's own ring
 * (fs/daemon/span.c): the per-thread ring and scratch buffer, reads of a
 * file range, and writes of an allocation-unit span (zero padding,
 * read-modify-write of partial edge blocks, allocation, mapping).
 */
#ifndef SWAPFS_SPAN_H
#define SWAPFS_SPAN_H

#include "fs/daemon/plan.h"
#include "fs/daemon/swapfs.h"

/* The calling thread's ring and scratch buffer (created on first use). */
struct thread_io {
	struct swe_ring *ring;
	void *buf;
	size_t cap;
};

struct thread_io *sw_thread_io(struct swapfs *fs);
/* Aligned scratch of at least len bytes, owned by the calling thread. */
void *sw_staging(struct thread_io *t, size_t len);

/* Read file range [s, e) (block aligned): holes and unwritten extents as zeros. */
int sw_read_sync(struct swapfs *fs, struct thread_io *t, const struct sw_inode *ino,
		 uint64_t s, uint64_t e, char *buf);

/* One device write of a span: volume range and where its bytes are in the buffer. */
struct span_piece { uint64_t voff, len; char *buf; };

/*
 * Prepare buf (covering the AU span [as, ae)) for the file bytes [lo, hi)
 * it already holds at buf + (lo - as), with runs planned for the span:
 * zero what they do not cover, read back old bytes of partial edge blocks
 * that are written data, and list the device writes (*out, *nout; the
 * caller frees *out) without issuing them.
 */
int sw_prepare_span(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino,
		    const struct new_run *runs, size_t nruns, uint64_t as, uint64_t ae,
		    uint64_t lo, uint64_t hi, char *buf, struct span_piece **out, size_t *nout);
/* Write len bytes at off through the scratch buffer (inode write lock held). */
int sw_write_locked(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino,
		    const char *data, uint64_t off, uint64_t len, bool keep_size);

#endif

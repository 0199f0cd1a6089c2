/*
 * data.h - the data path's internals shared by data.c (FUSE read/write,
 * write-behind, read-ahead) and direct.c (the client path's zero-copy
 * I/O).  Not an interface for anything else.
 */
#ifndef SWAPFS_DATA_H
#define SWAPFS_DATA_H

#include "fs/daemon/swapfs.h"

#define BLK 4096ull

static inline uint64_t down(uint64_t x, uint64_t a) { return x / a * a; }
static inline uint64_t up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* The calling thread's ring and scratch buffer (created on first use). */
struct thread_io {
	struct swe_ring *ring;
	void *buf;
	size_t cap;
};

struct thread_io *sw_thread_io(struct swapfs *fs);
/* Aligned scratch of at least len bytes, owned by the calling thread. */
void *sw_staging(struct thread_io *t, size_t len);

/* An allocation planned for a write: fresh AUs, or unwritten ones to convert. */
struct new_run { uint64_t foff, voff, len; bool convert; };

/*
 * Ensure every AU of [as, ae) is mapped; fresh AUs are allocated (not yet
 * in the table) and unwritten ones noted for conversion (meta lock held).
 */
int sw_plan_allocation(struct swapfs *fs, struct sw_inode *ino, uint64_t as,
		       uint64_t ae, struct new_run **runs, size_t *nruns);
void sw_undo_allocation(struct swapfs *fs, struct new_run *runs, size_t n);
/* Table bytes mapping runs may add (what sw_plan_allocation checks room for). */
uint64_t sw_runs_room(const struct new_run *runs, size_t n);
/*
 * Runs mapped before their data was written, put back after the write
 * failed (meta lock held): converted ones unwritten again, fresh ones
 * unmapped, so no file shows what the failed write left there.
 */
void sw_unmap_runs(struct swapfs *fs, struct sw_inode *ino, const struct new_run *runs, size_t n);
/* Does file offset foff fall in one of the runs? */
bool sw_in_new_run(const struct new_run *runs, size_t n, uint64_t foff);
/*
 * Wait until no client-path write of ino is in flight: the fresh allocation
 * units such a write maps are zero-padded around its bytes on the device,
 * and nothing orders that padding against another write into the same
 * unit (fs/daemon/direct.c).  Called with ino's write lock, so none starts meanwhile.
 */
void sw_wait_client_writes(struct swapfs *fs, struct sw_inode *ino);

/* Before reading or reshaping a file: nothing staged, nothing in flight. */
int sw_settle(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino);
/* Write len bytes at off through the scratch buffer (inode write lock held). */
int sw_write_locked(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino,
		    const char *data, uint64_t off, uint64_t len, bool keep_size);
/* Read file range [s, e) (block aligned): holes and unwritten extents as zeros. */
int sw_read_sync(struct swapfs *fs, struct thread_io *t, const struct sw_inode *ino,
		 uint64_t s, uint64_t e, char *buf);

#endif

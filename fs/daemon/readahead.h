/*
 * readahead.h - the read-ahead window of a sequentially read file
 * (fs/daemon/readahead.c), as the FUSE read handler uses it.  Dropping
 * the window is sw_ra_release (swapfs.h).
 */
#ifndef SWAPFS_READAHEAD_H
#define SWAPFS_READAHEAD_H

#include "fs/daemon/swapfs.h"

struct sw_ra;
struct ra_chunk;

/* A chunk a reply is sent from, held until the reply is out. */
struct ra_pin {
	struct sw_ra *ra;
	struct ra_chunk *c;
};

/*
 * Serve [off, off+n) from the window (inode read lock held, n > 0, the
 * range inside the file).  Returns 1 if served, 0 if the caller should
 * read directly, or a negative errno.  A range inside one chunk is not
 * copied: *direct points into the chunk, pinned (pin) until sw_ra_unpin;
 * otherwise the bytes are copied into out and *direct is out.
 */
int sw_ra_read(struct swapfs *fs, struct sw_inode *ino, uint64_t off, uint64_t n,
	       char *out, const char **direct, struct ra_pin *pin);
void sw_ra_unpin(struct swapfs *fs, struct ra_pin *p);

#endif

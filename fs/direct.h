/*
 * direct.h - client-path file I/O (fs/direct.c): reads and writes of a
 * file range straight between an application's shared buffer and the
 * members, coherent with what the FUSE side stages, caches and logs.
 *
 * Requests run on the calling thread's ring (struct thread_io): the
 * caller keeps reaping it (swe_ring_reap) and each request's done() runs
 * from there.  Such a thread never sleeps on its own requests: whenever it
 * must wait for an inode it completes its own I/O meanwhile.
 */
#ifndef SWAPFS_DIRECT_H
#define SWAPFS_DIRECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "swapfs.h"

struct sw_dio {
	/* set by the caller */
	struct sw_inode *ino;
	bool write;
	uid_t uid;		/* the writer, for setuid clearing */
	uint64_t off, len;
	char *buf;		/* len bytes of the shared buffer */
	void (*done)(struct sw_dio *d, int64_t result);	/* bytes or -errno */
	void *priv;
	/* engine state */
	struct swapfs *fs;
	struct new_run *runs;
	size_t nruns;
	struct swe_io *io;
	unsigned nio, pending;
	uint64_t n;		/* bytes the request moves */
	int error;
};

/*
 * Start d.  Returns a negative errno (nothing started, done() not
 * called), 0 (done() will run from this thread's ring) or 1 (finished
 * synchronously: done() has run).
 */
int sw_dio_start(struct swapfs *fs, struct sw_dio *d);
/* Take ino's data lock, completing this thread's I/O while it is contended. */
void sw_dio_lock(struct swapfs *fs, struct sw_inode *ino, bool write);

#endif

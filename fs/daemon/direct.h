/*
 * direct.h - client-path file I/O (fs/daemon/direct.c): reads and writes of a
 * file range straight between an application's shared buffer and the
 * members, coherent with what the FUSE side stages, caches and logs.
 *
 * Requests go to the I/O threads of their members (one request per stripe
 * unit), and each one's done() runs on the I/O thread that completed its
 * last piece, or on the caller when it finishes at once.
 */
#ifndef SWAPFS_DIRECT_H
#define SWAPFS_DIRECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs/daemon/swapfs.h"

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
	unsigned nio;
	_Atomic unsigned pending;	/* completions are on the members' I/O threads */
	uint64_t n;		/* bytes the request moves */
	_Atomic int error;
};

/*
 * Start d.  Returns a negative errno (nothing started, done() not
 * called), 0 (done() will run on an I/O thread) or 1 (finished
 * synchronously: done() has run).
 */
int sw_dio_start(struct swapfs *fs, struct sw_dio *d);

#endif

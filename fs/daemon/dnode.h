/*
 * dnode.h - the daemon's part of an inode: the tail of struct sw_inode
 * (sw_inode.priv) that the daemon opens the table with (sw_dnode_ops),
 * reached with sw_dn().  The library knows nothing of it.
 */
#ifndef SWAPFS_DNODE_H
#define SWAPFS_DNODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "fs/lib/fslib.h"

struct sw_lost;

struct sw_dnode {
	pthread_rwlock_t rw;	/* data path: readers share, writers exclude */
	uint64_t nlookup;	/* kernel references (FUSE lookup count) */
	uint32_t nopen;
	uint32_t client_inflight;	/* of sw_inode.inflight, client-path writes (direct.c) */
	uint32_t client_reads;	/* client-path reads in flight: no extent may move */
	/*
	 * Write-behind errors, as Linux's errseq: the latest error, a count of
	 * errors and whether any open file has reported the latest; each open
	 * file keeps the count it has reported (struct sw_errseen), so every
	 * open file sees each error once.
	 */
	int wb_error;
	uint32_t wb_errseq;
	bool wb_error_seen;
	struct sw_lost *wb_lost;	/* failed staged ranges not yet settled (data.c) */
	size_t nwb_lost;
	void *wb;		/* the data path's staging chunk */
	void *ra;		/* the data path's read-ahead window */
};

static inline struct sw_dnode *sw_dn(const struct sw_inode *i)
{
	return (struct sw_dnode *)(uintptr_t)i->priv;
}

/* The table's inodes carry a struct sw_dnode (sw_meta_open). */
extern const struct sw_inode_ops sw_dnode_ops;

#endif

/*
 * fslib_int.h - what the files of the on-disk library share and the
 * programs must not use.  fslib.h is the public header.
 *
 * table.c    the in-memory table and applying records to it
 * journal.c  the log and the checkpoints (its durable form)
 * load.c     opening (checkpoint, replay, damage checks) and closing
 */
#ifndef SWAPFS_FSLIB_INT_H
#define SWAPFS_FSLIB_INT_H

#include "fs/lib/fslib.h"

struct sw_free_range { uint64_t voff, len; };

/* The library's state of an open table (struct sw_meta.lib). */
struct sw_meta_lib {
	struct sw_inode *dirty;	/* inodes whose records wait for the next commit */
	uint8_t *lbuf;		/* pending records, block aligned buffer */
	size_t llen, lcap;
	/* blocks freed by records not yet committed (sw_meta.npending_free of them) */
	struct sw_free_range *pending_free;
	size_t cap_pending_free;
	bool replaying;		/* loading or closing: nothing freed is queued */
	bool repair;		/* SW_LOAD_REPAIR */
	bool salvage;		/* SW_LOAD_SALVAGE: skip records that do not apply, count them */
	bool ckpt_needed;	/* a checkpoint attempt failed after it began writing */
	bool log_volatile;	/* committed records may not be durable yet (no flush since) */
	uint32_t ckpt_serial;	/* attempts of ckpt_serialize (its directory marks) */
	uint64_t mount_seq;	/* recorded in every checkpoint (swf_ckpt.mount_seq) */
	uint64_t tbl_bytes;	/* checkpoint body size of the table (an upper bound) */
	uint64_t tbl_resv;	/* of the room left, what staged writes hold for their extents */
	struct sw_inode_ops ops;	/* the opener's part of every inode */
};

/* ---- table.c ----------------------------------------------------------- */

/* Double the inode hash (a first one of 1,024 slots when it has none). */
int meta_htab_grow(struct sw_meta *m);
/* Apply one record to the table; -EBADMSG if it does not apply to it. */
int meta_apply(struct sw_meta *m, const struct swf_rec *r);
/* Destroy every inode and the hash, releasing nothing to the allocator. */
void meta_table_free(struct sw_meta *m);

/* ---- journal.c --------------------------------------------------------- */

/* Zero [from, to) of the log on every mirror and flush them. */
int meta_log_zero(struct sw_meta *m, uint64_t from, uint64_t to);

/* ---- load.c ------------------------------------------------------------ */

/* An empty table of volume vol (no root yet): m is all set to it. */
int meta_init(struct sw_meta *m, struct swe_volume *vol, const struct swf_super *sb,
	      bool read_only);

#endif

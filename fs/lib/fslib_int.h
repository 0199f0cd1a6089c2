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

/*
 * sync.h - making a file's data and metadata survive (fs/daemon/sync.c):
 * for fsync, close, release and the client path's sync and close.
 */
#ifndef SWAPFS_SYNC_H
#define SWAPFS_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/daemon/swapfs.h"

/*
 * Staged data of nr written and waited for; the write-behind error the
 * cursor seen has not reported (without one: this flush's own).
 */
int sw_sync_data(struct swapfs *fs, fuse_ino_t nr, uint32_t *seen);
/*
 * Staged data written, then records committed: durable (fsync) or logged
 * (close).  seen: the caller's cursor of write-behind errors (or NULL).
 */
int sw_sync_file(struct swapfs *fs, fuse_ino_t nr, bool durable, uint32_t *seen);
/*
 * fdatasync: as a durable sw_sync_file, but when the durable log already
 * holds the file's size and extents only the data is flushed.
 */
int sw_datasync_file(struct swapfs *fs, fuse_ino_t nr, uint32_t *seen);

#endif

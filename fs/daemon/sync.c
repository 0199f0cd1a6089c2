/*
 * sync.c - a file's data and metadata made to survive: its staged
 * write-behind data written and waited for (sw_sync_data), then the
 * metadata records committed, durably for fsync or to the log for close
 * (sw_sync_file).  The FUSE flush/fsync/release handlers and the client
 * path's sync and close call it; it builds on the data path's write-behind.
 */
#include <string.h>

#include "fs/daemon/inode.h"
#include "fs/daemon/sync.h"

int sw_sync_data(struct swapfs *fs, fuse_ino_t nr, uint32_t *seen)
{
	struct sw_inode *ino;
	int err = 0;

	ino = sw_inode_lookup(fs, nr);
	if (ino && !ino->dir) {
		pthread_rwlock_wrlock(&sw_dn(ino)->rw);
		err = sw_wb_sync(fs, ino, seen);
		pthread_rwlock_unlock(&sw_dn(ino)->rw);
	}
	return err;
}

/*
 * Data written, then records committed: durable (fsync) or in the log
 * (close).  data_only (fdatasync): when the durable log already holds the
 * file's size and extents (a file overwritten in place), the data alone is
 * flushed, with no log write for its times.
 */
static int sync_file(struct swapfs *fs, fuse_ino_t nr, bool durable, bool data_only,
		     uint32_t *seen)
{
	int err = sw_sync_data(fs, nr, seen), cerr = 0;
	struct sw_inode *ino;

	pthread_mutex_lock(&fs->meta.lock);
	ino = data_only ? sw_inode_get(&fs->meta, nr) : NULL;
	data_only = ino && sw_meta_data_logged(&fs->meta, ino);
	if (!data_only && (durable || sw_meta_pending(&fs->meta)))
		cerr = sw_meta_commit(&fs->meta, durable);
	pthread_mutex_unlock(&fs->meta.lock);
	if (data_only)
		cerr = swe_volume_flush(fs->vol);
	if (cerr)
		sw_err("metadata commit: %s", strerror(-cerr));
	return err ? err : cerr;
}

int sw_sync_file(struct swapfs *fs, fuse_ino_t nr, bool durable, uint32_t *seen)
{
	return sync_file(fs, nr, durable, false, seen);
}

int sw_datasync_file(struct swapfs *fs, fuse_ino_t nr, uint32_t *seen)
{
	return sync_file(fs, nr, true, true, seen);
}

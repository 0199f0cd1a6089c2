/*
 * data.c - the FUSE handlers of file data: read, write, fallocate and
 * lseek (SEEK_DATA/SEEK_HOLE), registered into the op table by
 * sw_data_ops.  Each finds its inode, takes the inode's lock and hands
 * the work to the data layer: write-behind (writebehind.c), read-ahead
 * (readahead.c), span I/O (span.c) and size changes (filesize.c).
 * Writers hold the inode's write lock; readers share it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>

#include "fs/daemon/data.h"
#include "fs/daemon/filesize.h"
#include "fs/daemon/inode.h"
#include "fs/daemon/readahead.h"
#include "fs/daemon/span.h"
#include "fs/daemon/units.h"
#include "fs/daemon/writebehind.h"

/* ---- read -------------------------------------------------------------- */

static void op_read(fuse_req_t req, fuse_ino_t ino_nr, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct thread_io *t = sw_thread_io(fs);
	struct ra_pin pin = {0};
	const char *from = NULL;
	struct sw_inode *ino;
	uint64_t s, e, n;
	char *buf;
	int err;

	(void)fi;
	ino = sw_inode_lookup(fs, ino_nr);
	if (!ino || !t) {
		fuse_reply_err(req, ino ? ENOMEM : ENOENT);
		return;
	}
	pthread_rwlock_rdlock(&sw_dn(ino)->rw);
	while (sw_writes_pending(fs, ino)) {	/* the bytes being written first */
		pthread_rwlock_unlock(&sw_dn(ino)->rw);
		pthread_rwlock_wrlock(&sw_dn(ino)->rw);
		sw_settle(fs, t, ino);
		pthread_rwlock_unlock(&sw_dn(ino)->rw);
		pthread_rwlock_rdlock(&sw_dn(ino)->rw);
	}
	n = (uint64_t)off >= ino->a.size ? 0 : ino->a.size - (uint64_t)off;
	if (n > size)
		n = size;
	if (!n) {
		pthread_rwlock_unlock(&sw_dn(ino)->rw);
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	s = down((uint64_t)off, BLK);
	e = up((uint64_t)off + n, BLK);
	buf = sw_staging(t, e - s);
	err = buf ? sw_ra_read(fs, ino, (uint64_t)off, n, buf, &from, &pin) : -ENOMEM;
	if (err == 1) {
		pthread_rwlock_unlock(&sw_dn(ino)->rw);
		fuse_reply_buf(req, from, n);
		if (pin.c)
			sw_ra_unpin(fs, &pin);
		return;
	}
	if (!err)
		err = sw_read_sync(fs, t, ino, s, e, buf);
	pthread_rwlock_unlock(&sw_dn(ino)->rw);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, buf + ((uint64_t)off - s), n);
}

/* ---- write ------------------------------------------------------------- */

static void op_write(fuse_req_t req, fuse_ino_t ino_nr, const char *data, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct thread_io *t = sw_thread_io(fs);
	struct sw_errseen *seen = &sw_ofile(fi)->seen;
	struct sw_inode *ino;
	uint64_t start = (uint64_t)off, taken = 0;
	bool lost = false;
	int err;

	if (fs->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	ino = sw_inode_lookup(fs, ino_nr);
	if (!ino || !t) {
		fuse_reply_err(req, ino ? ENOMEM : ENOENT);
		return;
	}
	if (!size) {
		fuse_reply_write(req, 0);
		return;
	}
	pthread_rwlock_wrlock(&sw_dn(ino)->rw);
	if (fi->flags & O_APPEND) {
		pthread_mutex_lock(&fs->meta.lock);	/* a failed write-behind may trim it */
		start = ino->a.size;
		pthread_mutex_unlock(&fs->meta.lock);
	}
	/* an earlier write-behind of the file failed: this open file hears of it now */
	err = seen ? sw_wb_error(fs, ino, &seen->write) : 0;
	if (err)
		;
	else if (off < 0 || start + size > SW_MAX_FILE_SIZE)
		err = -EFBIG;
	else
		taken = sw_wb_write(fs, t, ino, data, start, size, &err, &lost);
	if (taken)
		sw_kill_suid(fs, ino, fuse_req_ctx(req)->uid);
	if (lost && !taken && seen)
		sw_wb_error(fs, ino, &seen->write);	/* this call tells of the chunk it lost */
	pthread_rwlock_unlock(&sw_dn(ino)->rw);
	if (taken)	/* a short write: the rest is refused (err), not lost */
		fuse_reply_write(req, taken);
	else
		fuse_reply_err(req, -err);
}

/* ---- fallocate, seek --------------------------------------------------- */

static void op_fallocate(fuse_req_t req, fuse_ino_t ino_nr, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	int err;

	(void)fi;
	if (fs->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (off < 0 || len <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off + (uint64_t)len > SW_MAX_FILE_SIZE) {
		fuse_reply_err(req, EFBIG);
		return;
	}
	ino = sw_inode_lookup(fs, ino_nr);
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_rwlock_wrlock(&sw_dn(ino)->rw);
	if (sw_thread_io(fs))
		sw_settle(fs, sw_thread_io(fs), ino);
	if (mode == 0 || mode == FALLOC_FL_KEEP_SIZE)
		err = sw_preallocate(fs, ino, (uint64_t)off, (uint64_t)len, mode != 0);
	else if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		err = sw_punch_hole(fs, ino, (uint64_t)off, (uint64_t)len);
	else
		err = -EOPNOTSUPP;
	pthread_rwlock_unlock(&sw_dn(ino)->rw);
	fuse_reply_err(req, -err);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino_nr, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	uint64_t pos = (uint64_t)off;
	int err;

	(void)fi;
	ino = sw_inode_lookup(fs, ino_nr);
	if (!ino || off < 0) {
		fuse_reply_err(req, ino ? EINVAL : ENOENT);
		return;
	}
	pthread_rwlock_wrlock(&sw_dn(ino)->rw);
	if (sw_thread_io(fs))
		sw_settle(fs, sw_thread_io(fs), ino);
	err = sw_seek_data_hole(ino, whence, &pos);
	pthread_rwlock_unlock(&sw_dn(ino)->rw);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_lseek(req, (off_t)pos);
}

void sw_data_ops(struct fuse_lowlevel_ops *ops)
{
	ops->read = op_read;
	ops->write = op_write;
	ops->fallocate = op_fallocate;
	ops->lseek = op_lseek;
}

/*
 * inode.c - the daemon's lowest layer over the metadata table: finding an
 * inode by number (sw_inode_lookup), filling its stat(2) attributes
 * (sw_fill_attr), logging its attribute record (sw_emit_inode), and the
 * setuid/setgid clearing that a write by an unprivileged user makes, on the
 * FUSE path and on the client path alike (sw_kill_suid).  The data path, the
 * namespace and xattr operations and the client path all build on it; it
 * calls no other daemon file.
 */
#include <string.h>
#include <sys/stat.h>

#include "fs/daemon/inode.h"

static void ts_from_ns(struct timespec *ts, int64_t ns)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

void sw_fill_attr(struct swapfs *fs, const struct sw_inode *ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino->a.ino;
	st->st_mode = ino->a.mode;
	st->st_nlink = ino->a.nlink;
	st->st_uid = ino->a.uid;
	st->st_gid = ino->a.gid;
	st->st_rdev = ino->a.rdev;
	st->st_size = (off_t)ino->a.size;
	if (ino->symlink)
		st->st_size = (off_t)strlen(ino->symlink);
	st->st_blksize = fs->sb.stripe_unit;
	st->st_blocks = (blkcnt_t)(sw_inode_allocated(ino) / 512);
	ts_from_ns(&st->st_atim, ino->a.atime_ns);
	ts_from_ns(&st->st_mtim, ino->a.mtime_ns);
	ts_from_ns(&st->st_ctim, ino->a.ctime_ns);
}

struct sw_inode *sw_inode_lookup(struct swapfs *fs, uint64_t nr)
{
	struct sw_inode *ino;

	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	pthread_mutex_unlock(&fs->meta.lock);
	return ino;
}

int sw_emit_inode(struct swapfs *fs, struct sw_inode *ino, bool cont)
{
	struct swf_rec r = { .type = SWF_R_INODE, .flags = cont ? SWF_RF_CONT : 0,
			     .u.inode = ino->a };

	return sw_meta_emit(&fs->meta, &r);
}

/*
 * A write by anyone but root drops setuid (and setgid where group-executable),
 * as the kernel filesystems do; FUSE's direct_io path leaves it to us.
 */
void sw_kill_suid(struct swapfs *fs, struct sw_inode *ino, uid_t uid)
{
	mode_t kill;

	if (!uid)
		return;
	pthread_mutex_lock(&fs->meta.lock);	/* chmod changes the mode under it */
	kill = S_ISUID | ((ino->a.mode & S_IXGRP) ? S_ISGID : 0);
	if (ino->a.mode & kill) {
		ino->a.mode &= ~kill;
		sw_meta_dirty(&fs->meta, ino);
	}
	pthread_mutex_unlock(&fs->meta.lock);
}

/*
 * inode.c - inodes as every layer of the daemon reaches them: lookup by
 * number in the metadata table (under its lock), and the setuid/setgid
 * clearing that a write by an unprivileged user makes, on the FUSE path
 * and on the client path alike.  Calls nothing of the daemon's.
 */
#include <sys/stat.h>

#include "fs/daemon/inode.h"

struct sw_inode *sw_inode_lookup(struct swapfs *fs, uint64_t nr)
{
	struct sw_inode *ino;

	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	pthread_mutex_unlock(&fs->meta.lock);
	return ino;
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

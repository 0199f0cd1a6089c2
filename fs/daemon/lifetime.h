/*
 * lifetime.h - when an inode dies (fs/daemon/lifetime.c): closes of open
 * files and client-path registrations, and the freeing of inodes nobody
 * can reach any more.
 */
#ifndef SWAPFS_LIFETIME_H
#define SWAPFS_LIFETIME_H

#include "fs/daemon/swapfs.h"

/*
 * Free ino if nobody can reach it any more (no links, lookups or opens;
 * meta lock held); with lookups left, only its data goes.
 */
void sw_free_unreachable(struct swapfs *fs, struct sw_inode *ino);
/* An open of ino ends (meta lock held): one open fewer, then the above. */
void sw_inode_close_locked(struct swapfs *fs, struct sw_inode *ino);
/* A client-path registration of ino ends: like the last close of a file. */
void sw_inode_close(struct swapfs *fs, struct sw_inode *ino);
/* At mount: inodes a crash left with no links (open-unlinked files) are freed. */
void sw_free_orphans(struct swapfs *fs);

#endif

/*
 * inode.h - the lowest layer of the daemon (fs/daemon/inode.c): an inode
 * found by number, and the attribute change every write makes.
 */
#ifndef SWAPFS_INODE_H
#define SWAPFS_INODE_H

#include <sys/types.h>

#include "fs/daemon/swapfs.h"

/* The inode numbered nr, or NULL (takes the metadata lock briefly). */
struct sw_inode *sw_inode_lookup(struct swapfs *fs, uint64_t nr);
/* A write by uid drops setuid/setgid as the kernel filesystems do. */
void sw_kill_suid(struct swapfs *fs, struct sw_inode *ino, uid_t uid);

#endif

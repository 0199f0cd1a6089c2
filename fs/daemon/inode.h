/*
 * inode.h - the daemon's lowest layer over the metadata table
 * (fs/daemon/inode.c): an inode by number, its stat(2) attributes, its
 * attribute record in the log, and the setuid/setgid clearing every write
 * makes.  Every other daemon file may call it; it calls none of them.
 */
#ifndef SWAPFS_INODE_H
#define SWAPFS_INODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs/daemon/swapfs.h"

/* The inode numbered nr, or NULL (takes the metadata lock briefly). */
struct sw_inode *sw_inode_lookup(struct swapfs *fs, uint64_t nr);
/* ino's attributes as stat(2) gives them (meta lock held). */
void sw_fill_attr(struct swapfs *fs, const struct sw_inode *ino, struct stat *st);
/*
 * Log ino's attributes (an INODE record; meta lock held); cont: more
 * records of the same transaction follow (SWF_RF_CONT).
 */
int sw_emit_inode(struct swapfs *fs, struct sw_inode *ino, bool cont);
/* A write by uid drops setuid/setgid as the kernel filesystems do. */
void sw_kill_suid(struct swapfs *fs, struct sw_inode *ino, uid_t uid);

#endif

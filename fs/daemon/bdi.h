/*
 * bdi.h - the mount's backing device info in sysfs (fs/daemon/bdi.c): which
 * bdi is ours, and its read-ahead window.
 */
#ifndef SWAPFS_BDI_H
#define SWAPFS_BDI_H

#include "fs/daemon/swapfs.h"

/* The mount's device number (fs->bdi), from mountinfo, once it is mounted. */
void sw_find_bdi(struct swapfs *fs, const char *mountpoint);
/* Once, after INIT (which clamps it to 128 KiB): the mount's read-ahead. */
void sw_set_read_ahead(struct swapfs *fs);

#endif

/*
 * namespace.h - the namespace and open-file handlers (fs/daemon/namespace.c)
 * for the op table.
 */
#ifndef SWAPFS_NAMESPACE_H
#define SWAPFS_NAMESPACE_H

#include "fs/daemon/swapfs.h"

/* Put lookup ... rename, open ... fsync, opendir ... fsyncdir and statfs into ops. */
void sw_namespace_ops(struct fuse_lowlevel_ops *ops);

#endif

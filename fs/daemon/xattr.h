/*
 * xattr.h - the extended attribute handlers (fs/daemon/xattr.c) for the op
 * table.
 */
#ifndef SWAPFS_XATTR_H
#define SWAPFS_XATTR_H

#include "fs/daemon/swapfs.h"

/* Put setxattr, getxattr, listxattr and removexattr into ops. */
void sw_xattr_ops(struct fuse_lowlevel_ops *ops);

#endif

/*
 * optable.h - the daemon's FUSE operation table (fs/daemon/optable.c).
 */
#ifndef SWAPFS_OPTABLE_H
#define SWAPFS_OPTABLE_H

#include "fs/daemon/swapfs.h"

/* Fill ops with INIT and every module's handlers, for fuse_session_new. */
void sw_optable(struct fuse_lowlevel_ops *ops);

#endif

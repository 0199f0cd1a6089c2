/*
 * data.h - the FUSE handlers of file data (fs/daemon/data.c): read,
 * write, fallocate, lseek.
 */
#ifndef SWAPFS_DATA_H
#define SWAPFS_DATA_H

#include "fs/daemon/swapfs.h"

/* Put the data handlers into the op table. */
void sw_data_ops(struct fuse_lowlevel_ops *ops);

#endif

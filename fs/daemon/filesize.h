/*
 * filesize.h - changes of a file's size and layout (fs/daemon/filesize.c)
 * as the fallocate and lseek handlers use them; truncate, which setattr
 * and open use, is sw_truncate (swapfs.h).  All with the inode's write
 * lock held and the file settled (sw_settle).
 */
#ifndef SWAPFS_FILESIZE_H
#define SWAPFS_FILESIZE_H

#include "fs/daemon/swapfs.h"

/* fallocate mode 0 or KEEP_SIZE: [off, off+len) mapped, unwritten where new. */
int sw_preallocate(struct swapfs *fs, struct sw_inode *ino, uint64_t off,
		   uint64_t len, bool keep_size);
/* fallocate PUNCH_HOLE|KEEP_SIZE: [off, off+len) reads as zeros, whole AUs unmapped. */
int sw_punch_hole(struct swapfs *fs, struct sw_inode *ino, uint64_t off, uint64_t len);
/*
 * SEEK_DATA/SEEK_HOLE (whence) from *pos: 0 and *pos moved, -EINVAL for
 * another whence, -ENXIO at or past the end or with no data after *pos.
 */
int sw_seek_data_hole(const struct sw_inode *ino, int whence, uint64_t *pos);

#endif

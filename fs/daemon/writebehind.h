/*
 * writebehind.h - write-behind (fs/daemon/writebehind.c) as the FUSE
 * handlers, the file size operations and the client path (direct.c) use
 * it: staging a write, settling a file before it is read or reshaped,
 * and waiting for the client path's writes.  The error sequence, sync and
 * pending checks that the namespace side uses are in swapfs.h.
 */
#ifndef SWAPFS_WRITEBEHIND_H
#define SWAPFS_WRITEBEHIND_H

#include "fs/daemon/span.h"
#include "fs/daemon/swapfs.h"

/*
 * Stage len bytes at off (inode write lock held).  Returns how many were
 * taken, from off on; *errp says why not all, *lostp whether staged bytes
 * were lost on the way.  The size covers taken bytes before their chunk
 * can be sent, so a failure of that chunk takes them back.
 */
uint64_t sw_wb_write(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino,
		     const char *data, uint64_t off, uint64_t len, int *errp, bool *lostp);
/* Before reading or reshaping a file: nothing staged, nothing in flight. */
int sw_settle(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino);
/*
 * Wait until no client-path write of ino is in flight: the fresh allocation
 * units such a write maps are zero-padded around its bytes on the device,
 * and nothing orders that padding against another write into the same
 * unit (fs/daemon/direct.c).  Called with ino's write lock, so none starts meanwhile.
 */
void sw_wait_client_writes(struct swapfs *fs, struct sw_inode *ino);

#endif

/*
 * mountvol.h - the mounted volume's life (fs/daemon/mountvol.c): open and
 * load, background commit, drain and final checkpoint.
 */
#ifndef SWAPFS_MOUNTVOL_H
#define SWAPFS_MOUNTVOL_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/daemon/swapfs.h"

/*
 * Open the members named in devices (colon-separated), load the table,
 * make the staging arena of staging bytes and free the orphans a crash
 * left; the reason of a failure is printed.  0 or a negative errno.
 */
int sw_mountvol_open(struct swapfs *fs, const char *devices, bool read_only,
		     uint64_t staging);
/* Commit the table every commit_interval seconds (read-write mounts). */
void sw_committer_start(struct swapfs *fs);
/* Stop the background commit (if it runs) and wait for it. */
void sw_committer_stop(struct swapfs *fs);
/* Every staged chunk written and waited for, before the I/O threads stop. */
void sw_mountvol_drain(struct swapfs *fs);
/*
 * The final commit and checkpoint (served: the filesystem was mounted;
 * one that never was has nothing to write), then everything closed.
 */
void sw_mountvol_close(struct swapfs *fs, bool served);

#endif

/*
 * plan.h - allocation planning (fs/daemon/plan.c): which allocation units
 * a write or a preallocation of a file range must allocate or convert,
 * and how to give them back or take them out of the map again when the
 * data never arrived.  Used by every writer: span writes, write-behind,
 * fallocate and the client path (direct.c).
 */
#ifndef SWAPFS_PLAN_H
#define SWAPFS_PLAN_H

#include "fs/daemon/swapfs.h"

/* An allocation planned for a write: fresh AUs, or unwritten ones to convert. */
struct new_run { uint64_t foff, voff, len; bool convert; };

/*
 * Ensure every AU of [as, ae) is mapped; fresh AUs are allocated (not yet
 * in the table) and unwritten ones noted for conversion (meta lock held).
 */
int sw_plan_allocation(struct swapfs *fs, struct sw_inode *ino, uint64_t as,
		       uint64_t ae, struct new_run **runs, size_t *nruns);
void sw_undo_allocation(struct swapfs *fs, struct new_run *runs, size_t n);
/* Table bytes mapping runs may add (what sw_plan_allocation checks room for). */
uint64_t sw_runs_room(const struct new_run *runs, size_t n);
/*
 * Runs mapped before their data was written, put back after the write
 * failed (meta lock held): converted ones unwritten again, fresh ones
 * unmapped, so no file shows what the failed write left there.
 */
void sw_unmap_runs(struct swapfs *fs, struct sw_inode *ino, const struct new_run *runs, size_t n);
/* Does file offset foff fall in one of the runs? */
bool sw_in_new_run(const struct new_run *runs, size_t n, uint64_t foff);

#endif

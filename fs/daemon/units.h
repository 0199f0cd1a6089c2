/*
 * units.h - the units the data path counts in: the block (the device's
 * I/O granule, what O_DIRECT aligns to), alignment of offsets to a
 * block or an allocation unit, and the chunk that staging (write-behind)
 * and read-ahead work in.  Arithmetic only; no state.
 */
#ifndef SWAPFS_UNITS_H
#define SWAPFS_UNITS_H

#include "fs/daemon/swapfs.h"

#define BLK 4096ull

static inline uint64_t down(uint64_t x, uint64_t a) { return x / a * a; }
static inline uint64_t up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Staging and read-ahead work in stripe units: one member, one request. */
static inline uint64_t chunk_size(const struct swapfs *fs)
{
	return fs->sb.stripe_unit;
}

#endif

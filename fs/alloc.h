/*
 * alloc.h - free space of the striped volume in allocation units.
 *
 * A bitmap of allocation units (default 64 KiB) with exact counts.  Large
 * requests start on stripe-row boundaries so sequential I/O hits every
 * member; small ones are packed first-fit after a rotating hint.  Not
 * thread-safe: the caller holds the metadata lock.
 */
#ifndef SWAPFS_ALLOC_H
#define SWAPFS_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

struct sw_alloc {
	uint64_t nunits, nfree, hint;
	uint64_t reserved;	/* of nfree, promised to staged writes (sw_alloc_reserve) */
	uint32_t unit;		/* bytes per allocation unit */
	uint32_t row_units;	/* units per stripe row */
	uint64_t *bits;		/* 1 = used */
};

int sw_alloc_init(struct sw_alloc *a, uint64_t volume_bytes, uint32_t unit,
		  uint64_t row_bytes);
void sw_alloc_destroy(struct sw_alloc *a);
/*
 * Allocate up to want units in one contiguous run; stores its first unit
 * and returns the run length (>= 1), or -ENOSPC when nothing is free.
 * Reserved units are not free to it: release a reservation first to use it.
 */
int64_t sw_alloc_run(struct sw_alloc *a, uint64_t want, uint64_t *first);
/*
 * Promise n free units to a later sw_alloc_run (write-behind reserves what
 * a staged write will need when it acknowledges the write): -ENOSPC when
 * fewer than n are free and not promised already.
 */
int sw_alloc_reserve(struct sw_alloc *a, uint64_t n);
void sw_alloc_unreserve(struct sw_alloc *a, uint64_t n);
/* Units neither used nor reserved. */
uint64_t sw_alloc_available(const struct sw_alloc *a);
/* Returns -EINVAL if any unit is already free (double free). */
int sw_alloc_free(struct sw_alloc *a, uint64_t first, uint64_t n);
/* Mark units used when rebuilding from extents; -EEXIST on overlap. */
int sw_alloc_mark(struct sw_alloc *a, uint64_t first, uint64_t n);
bool sw_alloc_is_used(const struct sw_alloc *a, uint64_t unit);

#endif

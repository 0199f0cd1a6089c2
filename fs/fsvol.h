/*
 * fsvol.h - open the members of a formatted swapfs: read and cross-check
 * their superblocks (same filesystem, complete set, right order) and set
 * the engine's striping from them.
 */
#ifndef SWAPFS_FSVOL_H
#define SWAPFS_FSVOL_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "format.h"

/* Primary superblock, or the replica if the primary is damaged. */
int sw_super_read(struct swe_volume *vol, unsigned dev, struct swf_super *sb,
		  bool *used_replica);
/* Write primary and replica of member dev. */
int sw_super_write(struct swe_volume *vol, unsigned dev, const struct swf_super *sb);
/*
 * Open paths as a swapfs volume.  On failure returns -errno and writes a
 * message naming the member and the problem into msg.  On success msg is
 * empty, or notes what was read from a superblock replica (to be told).
 */
int sw_fsvol_open(const char *const *paths, unsigned n, bool read_only,
		  struct swe_volume **vol, struct swf_super *sb,
		  char *msg, size_t msglen);

#endif

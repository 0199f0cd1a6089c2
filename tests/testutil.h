/* testutil.h - helpers shared by the C test programs: temporary image files. */
#ifndef SWAPFS_TESTUTIL_H
#define SWAPFS_TESTUTIL_H

#include <limits.h>
#include <stdint.h>

#define TU_MAX_IMAGES 16

struct tu_images {
	char dir[PATH_MAX - 64];
	unsigned n;
	char path[TU_MAX_IMAGES][PATH_MAX];
	const char *paths[TU_MAX_IMAGES];
};

/* Create n sparse image files of the given sizes in a fresh temporary
 * directory under $TMPDIR (default /var/tmp).  Returns 0 or -errno. */
int tu_images_create(struct tu_images *im, unsigned n, const uint64_t *sizes);
void tu_images_destroy(struct tu_images *im);
/* Deterministic pattern byte for (seed, offset). */
void tu_fill(void *buf, uint64_t len, uint64_t offset, uint32_t seed);
/* Index of the first byte that differs from the pattern, or -1. */
int64_t tu_check(const void *buf, uint64_t len, uint64_t offset, uint32_t seed);

#endif

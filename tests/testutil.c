/* testutil.c - temporary image files and data patterns for tests. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"

int tu_images_create(struct tu_images *im, unsigned n, const uint64_t *sizes)
{
	const char *tmp = getenv("TMPDIR");

	memset(im, 0, sizeof(*im));
	if (n > TU_MAX_IMAGES)
		return -EINVAL;
	snprintf(im->dir, sizeof(im->dir), "%s/swapfs-test.XXXXXX",
		 tmp && *tmp ? tmp : "/var/tmp");
	if (!mkdtemp(im->dir))
		return -errno;
	for (unsigned i = 0; i < n; i++) {
		int fd;

		snprintf(im->path[i], sizeof(im->path[i]), "%s/dev%u.img", im->dir, i);
		im->paths[i] = im->path[i];
		fd = open(im->path[i], O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)sizes[i]) < 0) {
			int err = -errno;

			if (fd >= 0)
				close(fd);
			im->n = i + 1;
			tu_images_destroy(im);
			return err;
		}
		close(fd);
		im->n = i + 1;
	}
	return 0;
}

void tu_images_destroy(struct tu_images *im)
{
	for (unsigned i = 0; i < im->n; i++)
		unlink(im->path[i]);
	if (im->dir[0])
		rmdir(im->dir);
	im->n = 0;
	im->dir[0] = 0;
}

static uint64_t pattern_word(uint64_t word_index, uint32_t seed)
{
	uint64_t x = word_index * 0x9E3779B97F4A7C15ull + seed;

	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	return x ^ (x >> 29);
}

void tu_fill(void *buf, uint64_t len, uint64_t offset, uint32_t seed)
{
	unsigned char *p = buf;

	for (uint64_t i = 0; i < len; i++) {
		uint64_t off = offset + i;

		p[i] = (unsigned char)(pattern_word(off / 8, seed) >> (off % 8 * 8));
	}
}

int64_t tu_check(const void *buf, uint64_t len, uint64_t offset, uint32_t seed)
{
	const unsigned char *p = buf;

	for (uint64_t i = 0; i < len; i++) {
		uint64_t off = offset + i;

		if (p[i] != (unsigned char)(pattern_word(off / 8, seed) >> (off % 8 * 8)))
			return (int64_t)i;
	}
	return -1;
}

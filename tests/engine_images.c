/*
 * engine_images.c - integration: write a pattern through the engine over
 * image files of unequal sizes, read it back through the engine, and read
 * it straight from the image files at the offsets the striping map predicts.
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "tests/testutil.h"

#define MiB (1ull << 20)

struct slot {
	struct swe_io io;
	bool busy;
};

static void on_done(struct swe_io *io, int result)
{
	struct slot *s = io->priv;

	(void)result;	/* kept in io->result */
	s->busy = false;
}

/* Stream the whole volume in chunks of chunk bytes, at most DEPTH in flight. */
static int stream(struct swe_ring *r, enum swe_op op, char *buf, uint64_t size,
		  uint64_t chunk)
{
	enum { DEPTH = 16 };
	struct slot slots[DEPTH] = {0};
	uint64_t off = 0;
	int err = 0;

	while (off < size && !err) {
		for (int i = 0; i < DEPTH && off < size && !err; i++) {
			struct slot *s = &slots[i];
			uint64_t len = size - off < chunk ? size - off : chunk;

			if (s->busy)
				continue;
			if ((err = s->io.result)) {
				fprintf(stderr, "request failed: %s\n", s->io.errmsg);
				break;
			}
			s->io = (struct swe_io){ .op = op, .offset = off, .len = len,
						 .buf = buf + off, .cb = on_done, .priv = s };
			s->busy = true;
			if ((err = swe_ring_submit(r, &s->io))) {
				fprintf(stderr, "request refused: %s\n", s->io.errmsg);
				s->busy = false;
			}
			off += len;
		}
		if (!err && (err = swe_ring_reap(r, true)) > 0)
			err = 0;
	}
	if (swe_ring_wait_all(r) < 0 && !err)
		err = -EIO;
	for (int i = 0; i < DEPTH && !err; i++)
		if ((err = slots[i].io.result))
			fprintf(stderr, "request failed: %s\n", slots[i].io.errmsg);
	return err;
}

static int check_members(struct swe_volume *vol, const char *const *paths,
			 uint32_t seed, unsigned samples)
{
	const struct swe_stripe *s = swe_volume_stripe(vol);
	uint64_t size = swe_volume_size(vol);
	unsigned rnd = seed;
	char buf[4096];

	for (unsigned i = 0; i < samples; i++) {
		uint64_t off = ((uint64_t)rand_r(&rnd) * 4096) % size;
		unsigned dev;
		uint64_t doff;
		int fd;
		ssize_t n;

		swe_stripe_map(s, off, &dev, &doff);
		fd = open(paths[dev], O_RDONLY);
		if (fd < 0)
			return -errno;
		n = pread(fd, buf, sizeof(buf), (off_t)doff);
		close(fd);
		if (n != (ssize_t)sizeof(buf) || tu_check(buf, sizeof(buf), off, seed) != -1) {
			fprintf(stderr, "volume offset %llu: member %u offset %llu holds other bytes\n",
				(unsigned long long)off, dev, (unsigned long long)doff);
			return -EIO;
		}
	}
	return 0;
}

static int run_case(unsigned ndev, uint32_t su, uint64_t chunk)
{
	uint64_t sizes[8] = { 24 * MiB, 28 * MiB, 24 * MiB + 4096, 32 * MiB,
			      24 * MiB, 26 * MiB, 25 * MiB, 24 * MiB };
	struct swe_volume_opts vo = { .stripe_unit = su, .data_offset = MiB };
	struct tu_images im;
	struct swe_volume *vol = NULL;
	struct swe_arena *arena = NULL;
	struct swe_ring *ring = NULL;
	char *wbuf, *rbuf;
	uint64_t size;
	struct swe_err e = { "" };	/* the text of a failed open or create */
	int err;

	if ((err = tu_images_create(&im, ndev, sizes)))
		return err;
	if ((err = swe_volume_open(&vol, im.paths, ndev, &vo, &e)))
		goto out;
	size = swe_volume_size(vol);
	if ((err = swe_arena_create(&arena, 2 * size, 0, 0, &e)))
		goto out;
	if ((err = swe_ring_create(&ring, vol, arena, NULL, &e)))
		goto out;
	if ((err = swe_arena_alloc(arena, size, (void **)&wbuf)) ||
	    (err = swe_arena_alloc(arena, size, (void **)&rbuf)))
		goto out;
	tu_fill(wbuf, size, 0, ndev * 31 + su);
	if ((err = stream(ring, SWE_WRITE, wbuf, size, chunk)))
		goto out;
	if ((err = swe_volume_flush(vol)))
		goto out;
	if ((err = stream(ring, SWE_READ, rbuf, size, chunk)))
		goto out;
	if (memcmp(wbuf, rbuf, size)) {
		fprintf(stderr, "read back differs from what was written\n");
		err = -EIO;
		goto out;
	}
	err = check_members(vol, im.paths, ndev * 31 + su, 2000);
	if (!err)
		printf("ok: %u members, stripe unit %u, %llu MiB in %llu-byte requests\n",
		       ndev, su, (unsigned long long)(size / MiB), (unsigned long long)chunk);
out:
	if (err)
		fprintf(stderr, "FAIL: %u members, stripe unit %u: %s (%s)\n", ndev, su,
			strerror(-err), e.msg);
	swe_ring_destroy(ring);
	swe_arena_destroy(arena);
	swe_volume_close(vol);
	tu_images_destroy(&im);
	return err;
}

int main(void)
{
	int fails = 0;

	fails += run_case(1, 1u << 20, 8 * MiB) != 0;
	fails += run_case(3, 64u << 10, 3 * MiB + 192 * 1024) != 0;
	fails += run_case(4, 1u << 20, 64 * MiB) != 0;
	fails += run_case(8, 128u << 10, 1 * MiB) != 0;
	printf("%d passed, %d failed\n", 4 - fails, fails);
	return fails ? 1 : 0;
}

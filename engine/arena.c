/*
 * arena.c - one large aligned mapping carved into I/O buffers.
 *
 * Rings register the arena's chunks as fixed buffers, so I/O from arena
 * memory skips the per-I/O page pinning.  Allocation is first-fit over a
 * bitmap of granules with a rotating start hint; it never blocks and
 * returns -ENOMEM when no run is free, leaving backpressure to the caller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/internal.h"

#define HUGE_2M (2u << 20)
#define CHUNK_MAX (1ull << 30)	/* io_uring's limit on one registered buffer */
#define MAX_CHUNKS 64

struct swe_arena {
	char *base;
	size_t size, granule, ngran, free_gran, hint;
	bool huge_explicit, huge_transparent;
	uint64_t *bitmap;	/* 1 = in use */
	uint32_t *run;		/* run length at the first granule of an allocation */
	pthread_mutex_t lock;
	unsigned nchunks;
	struct iovec chunks[MAX_CHUNKS];
};

static bool bit_get(const uint64_t *bm, size_t i) { return bm[i / 64] >> (i % 64) & 1; }

static void bits_set(uint64_t *bm, size_t i, size_t n, bool on)
{
	for (size_t k = i; k < i + n; k++) {
		if (on)
			bm[k / 64] |= 1ull << (k % 64);
		else
			bm[k / 64] &= ~(1ull << (k % 64));
	}
}

int swe_arena_create(struct swe_arena **out, size_t size, size_t granule,
		     unsigned flags, struct swe_err *e)
{
	struct swe_arena *a;
	size_t chunk;

	*out = NULL;
	if (!granule)
		granule = 64 << 10;
	if (!size || granule % 4096 || size > CHUNK_MAX * MAX_CHUNKS)
		return swe_fail(e, -EINVAL, "arena of %zu bytes in %zu-byte granules",
				size, granule);
	a = calloc(1, sizeof(*a));
	if (!a)
		return swe_fail(e, -ENOMEM, "arena");
	size = (size + HUGE_2M - 1) / HUGE_2M * HUGE_2M;
	if (!(flags & SWE_ARENA_NO_HUGEPAGES)) {
		a->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (a->base == MAP_FAILED)
			a->base = NULL;
		else
			a->huge_explicit = true;
	}
	if (!a->base) {
		a->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a->base == MAP_FAILED) {
			free(a);
			return swe_fail(e, -errno, "arena: mmap %zu bytes", size);
		}
		if (!(flags & SWE_ARENA_NO_HUGEPAGES) &&
		    madvise(a->base, size, MADV_HUGEPAGE) == 0)
			a->huge_transparent = true;
	}
	a->size = size;
	a->granule = granule;
	a->ngran = size / granule;
	a->free_gran = a->ngran;
	a->bitmap = calloc((a->ngran + 63) / 64, sizeof(uint64_t));
	a->run = calloc(a->ngran, sizeof(uint32_t));
	if (!a->bitmap || !a->run) {
		swe_arena_destroy(a);
		return swe_fail(e, -ENOMEM, "arena bitmap");
	}
	pthread_mutex_init(&a->lock, NULL);
	for (size_t off = 0; off < size; off += chunk) {
		chunk = size - off < CHUNK_MAX ? size - off : CHUNK_MAX;
		a->chunks[a->nchunks++] = (struct iovec){ a->base + off, chunk };
	}
	*out = a;
	return 0;
}

void swe_arena_destroy(struct swe_arena *a)
{
	if (!a)
		return;
	if (a->base)
		munmap(a->base, a->size);
	free(a->bitmap);
	free(a->run);
	if (a->run)
		pthread_mutex_destroy(&a->lock);
	free(a);
}

/* First free run of n granules at or after from, below limit; ngran if none. */
static size_t find_run(const struct swe_arena *a, size_t from, size_t limit,
		       size_t n)
{
	size_t start = from, len = 0;

	for (size_t i = from; i < limit; i++) {
		if (bit_get(a->bitmap, i)) {
			len = 0;
			start = i + 1;
			continue;
		}
		if (++len == n)
			return start;
	}
	return a->ngran;
}

int swe_arena_alloc(struct swe_arena *a, size_t len, void **buf)
{
	size_t n = (len + a->granule - 1) / a->granule, at;

	*buf = NULL;
	if (!len || n > a->ngran || n > UINT32_MAX)
		return -EINVAL;
	pthread_mutex_lock(&a->lock);
	if (n > a->free_gran) {
		pthread_mutex_unlock(&a->lock);
		return -ENOMEM;
	}
	at = find_run(a, a->hint, a->ngran, n);
	if (at == a->ngran)
		at = find_run(a, 0, a->hint + n < a->ngran ? a->hint + n : a->ngran, n);
	if (at == a->ngran) {
		pthread_mutex_unlock(&a->lock);
		return -ENOMEM;
	}
	bits_set(a->bitmap, at, n, true);
	a->run[at] = (uint32_t)n;
	a->free_gran -= n;
	a->hint = at + n < a->ngran ? at + n : 0;
	pthread_mutex_unlock(&a->lock);
	*buf = a->base + at * a->granule;
	return 0;
}

void swe_arena_free(struct swe_arena *a, void *buf)
{
	size_t at;

	if (!buf)
		return;
	at = (size_t)((char *)buf - a->base) / a->granule;
	pthread_mutex_lock(&a->lock);
	bits_set(a->bitmap, at, a->run[at], false);
	a->free_gran += a->run[at];
	a->run[at] = 0;
	pthread_mutex_unlock(&a->lock);
}

size_t swe_arena_size(const struct swe_arena *a) { return a->size; }

size_t swe_arena_free_bytes(struct swe_arena *a)
{
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = a->free_gran * a->granule;
	pthread_mutex_unlock(&a->lock);
	return n;
}

bool swe_arena_hugepages(const struct swe_arena *a)
{
	return a->huge_explicit || a->huge_transparent;
}

const struct iovec *swe_arena_iovecs(const struct swe_arena *a, unsigned *n)
{
	*n = a->nchunks;
	return a->chunks;
}

int swe_arena_buf_index(const struct swe_arena *a, const void *buf, size_t len)
{
	const char *p = buf;
	size_t off;

	if (!a || p < a->base || p >= a->base + a->size)
		return -1;
	off = (size_t)(p - a->base);
	if (off / CHUNK_MAX != (off + len - 1) / CHUNK_MAX)
		return -1;
	return (int)(off / CHUNK_MAX);
}

/* alloc.c - allocation-unit bitmap of the striped volume (see alloc.h). */
#include <errno.h>
#include <stdlib.h>

#include "fs/lib/fslib.h"

static bool used(const struct sw_alloc *a, uint64_t i)
{
	return a->bits[i / 64] >> (i % 64) & 1;
}

static void set_range(struct sw_alloc *a, uint64_t first, uint64_t n, bool on)
{
	for (uint64_t i = first; i < first + n; i++) {
		if (on)
			a->bits[i / 64] |= 1ull << (i % 64);
		else
			a->bits[i / 64] &= ~(1ull << (i % 64));
	}
}

int sw_alloc_init(struct sw_alloc *a, uint64_t volume_bytes, uint32_t unit,
		  uint64_t row_bytes)
{
	a->unit = unit;
	a->nunits = volume_bytes / unit;
	a->nfree = a->nunits;
	a->reserved = 0;
	a->hint = 0;
	a->row_units = (uint32_t)(row_bytes / unit ? row_bytes / unit : 1);
	a->bits = calloc((a->nunits + 63) / 64 + 1, sizeof(uint64_t));
	return a->bits ? 0 : -ENOMEM;
}

void sw_alloc_destroy(struct sw_alloc *a)
{
	free(a->bits);
	a->bits = NULL;
}

/* Length of the free run at i, capped at max. */
static uint64_t free_run(const struct sw_alloc *a, uint64_t i, uint64_t max)
{
	uint64_t n = 0;

	while (i + n < a->nunits && n < max && !used(a, i + n))
		n++;
	return n;
}

/* Skip whole used words quickly; returns the first free unit >= i or nunits. */
static uint64_t next_free(const struct sw_alloc *a, uint64_t i)
{
	while (i < a->nunits) {
		if (i % 64 == 0 && a->bits[i / 64] == ~0ull) {
			i += 64;
			continue;
		}
		if (!used(a, i))
			return i;
		i++;
	}
	return a->nunits;
}

int64_t sw_alloc_run(struct sw_alloc *a, uint64_t want, uint64_t *first)
{
	uint64_t best = 0, best_len = 0, align, avail = sw_alloc_available(a);

	if (!avail)
		return -ENOSPC;
	if (!want)
		want = 1;
	if (want > avail)
		want = avail;	/* the rest is promised to staged writes */
	align = want >= a->row_units ? a->row_units : 1;
	/* Two sweeps from the hint: the first wants alignment, the second anything. */
	for (int pass = 0; pass < 2 && best_len < want; pass++) {
		uint64_t i = pass ? 0 : a->hint, stop = a->nunits;

		for (i = next_free(a, i); i < stop; i = next_free(a, i)) {
			uint64_t len;

			if (align > 1 && pass == 0 && i % align) {
				uint64_t aligned = (i + align - 1) / align * align;

				if (free_run(a, i, aligned - i) == aligned - i) {
					i = aligned;
					if (i >= a->nunits)
						break;
				} else {
					i += free_run(a, i, aligned - i);
					continue;
				}
			}
			len = free_run(a, i, want);
			if (len > best_len) {
				best = i;
				best_len = len;
			}
			if (len >= want)
				break;
			i += len;
		}
	}
	if (!best_len)
		return -ENOSPC;
	set_range(a, best, best_len, true);
	a->nfree -= best_len;
	a->hint = best + best_len;
	*first = best;
	return (int64_t)best_len;
}

uint64_t sw_alloc_available(const struct sw_alloc *a)
{
	return a->nfree > a->reserved ? a->nfree - a->reserved : 0;
}

int sw_alloc_reserve(struct sw_alloc *a, uint64_t n)
{
	if (n > sw_alloc_available(a))
		return -ENOSPC;
	a->reserved += n;
	return 0;
}

void sw_alloc_unreserve(struct sw_alloc *a, uint64_t n)
{
	a->reserved = n < a->reserved ? a->reserved - n : 0;
}

int sw_alloc_free(struct sw_alloc *a, uint64_t first, uint64_t n)
{
	if (first + n > a->nunits || first + n < first)
		return -EINVAL;
	for (uint64_t i = first; i < first + n; i++)
		if (!used(a, i))
			return -EINVAL;
	set_range(a, first, n, false);
	a->nfree += n;
	return 0;
}

int sw_alloc_mark(struct sw_alloc *a, uint64_t first, uint64_t n)
{
	if (first + n > a->nunits || first + n < first)
		return -EINVAL;
	for (uint64_t i = first; i < first + n; i++)
		if (used(a, i))
			return -EEXIST;
	set_range(a, first, n, true);
	a->nfree -= n;
	return 0;
}

/* stripe.c - the RAID-0 map between volume offsets and member offsets. */
#include "engine/engine.h"

void swe_stripe_map(const struct swe_stripe *s, uint64_t vol_offset,
		    unsigned *dev, uint64_t *dev_offset)
{
	uint64_t su = s->stripe_unit;
	uint64_t unit = vol_offset / su;

	*dev = unit % s->ndev;
	*dev_offset = (unit / s->ndev) * su + vol_offset % su + s->data_offset;
}

uint64_t swe_stripe_unmap(const struct swe_stripe *s, unsigned dev,
			  uint64_t dev_offset)
{
	uint64_t su = s->stripe_unit;
	uint64_t rel = dev_offset - s->data_offset;

	return ((rel / su) * s->ndev + dev) * su + rel % su;
}

unsigned swe_stripe_split(const struct swe_stripe *s, uint64_t vol_offset,
			  uint64_t len, struct swe_seg *segs, unsigned max)
{
	uint64_t su = s->stripe_unit;
	unsigned n = 0;

	while (len) {
		uint64_t chunk = su - vol_offset % su;

		if (chunk > len)
			chunk = len;
		if (n < max) {
			segs[n].vol_offset = vol_offset;
			segs[n].len = (uint32_t)chunk;
			swe_stripe_map(s, vol_offset, &segs[n].dev,
				       &segs[n].dev_offset);
		}
		n++;
		vol_offset += chunk;
		len -= chunk;
	}
	return n;
}

/*
 * fuzz_format.c - fuzz the superblock, record and checkpoint decoders.
 *
 * Built with clang -fsanitize=fuzzer (define SWAPFS_LIBFUZZER) it is a
 * libFuzzer target; otherwise it carries its own bounded mutation driver
 * (FUZZ_SECONDS, default 10) that CI runs under ASan+UBSan.  Anything a
 * decoder accepts is re-encoded and must decode to the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/lib/fslib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sbbuf[SWF_SB_SIZE], again[SWF_SB_SIZE];
	uint8_t hdr[SWF_CKPT_HDR];
	struct swf_super sb;
	struct swf_ckpt ck;
	size_t pos = 0;

	memset(sbbuf, 0, sizeof(sbbuf));
	memcpy(sbbuf, data, size < SWF_SB_SIZE ? size : SWF_SB_SIZE);
	if (swf_super_decode(&sb, sbbuf) == 0) {
		swf_super_encode(&sb, again);
		if (swf_super_decode(&sb, again) != 0)
			abort();
	}
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, data, size < SWF_CKPT_HDR ? size : SWF_CKPT_HDR);
	swf_ckpt_decode(&ck, hdr);
	/* records back to back, as replay reads them */
	while (pos < size) {
		struct swf_rec r, r2;
		uint8_t *enc;
		int n = swf_rec_decode(&r, data + pos, size - pos), m;

		if (n <= 0)
			break;
		if (r.type != SWF_R_PAD) {
			enc = malloc((size_t)n + SWF_REC_MAX_PAYLOAD + 64);
			m = swf_rec_encode(&r, enc, (size_t)n + SWF_REC_MAX_PAYLOAD + 64);
			if (m <= 0 || swf_rec_decode(&r2, enc, (size_t)m) != m || r2.type != r.type)
				abort();
			free(enc);
		}
		pos += (size_t)n;
	}
	return 0;
}

#ifndef SWAPFS_LIBFUZZER
static size_t seed_inputs(uint8_t seeds[][8192], size_t *lens)
{
	struct swf_super sb = {0};
	uint64_t sizes[2] = { 1ull << 30, 2ull << 30 };
	struct swf_rec recs[] = {
		{ .type = SWF_R_INODE, .u.inode = { 5, 0100644, 0, 0, 1, 4096 } },
		{ .type = SWF_R_DIRENT_ADD, .flags = SWF_RF_CONT, .u.dirent = { 1, 5, "a.swp", 5 } },
		{ .type = SWF_R_EXTENT, .u.extent = { 5, 0, 65536, 65536, 0 } },
		{ .type = SWF_R_XATTR_SET, .u.xattr = { 5, "user.shape", 10, "[4,4]", 5 } },
		{ .type = SWF_R_SYMLINK, .u.symlink = { 6, "target", 6 } },
	};
	struct swf_ckpt ck = { 2, 10, 7, 4096, 1, 3 };
	size_t n = 0, at = 0;

	swf_geometry(&sb, sizes, 2, 1 << 20, 65536, 4096);
	sb.version = SWF_VERSION;
	swf_super_encode(&sb, seeds[n]);
	lens[n++] = SWF_SB_SIZE;
	swf_ckpt_encode(&ck, seeds[n]);
	lens[n++] = SWF_CKPT_HDR;
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		at += (size_t)swf_rec_encode(&recs[i], seeds[n] + at, 8192 - at);
	lens[n++] = at;
	return n;
}

int main(void)
{
	static uint8_t seeds[3][8192], buf[8192];
	size_t lens[3], nseeds = seed_inputs(seeds, lens);
	const char *env = getenv("FUZZ_SECONDS");
	double limit = env ? atof(env) : 10;
	unsigned rnd = (unsigned)time(NULL);
	time_t start = time(NULL);
	unsigned long runs = 0;

	printf("fuzz_format: seed %u, %.0f s\n", rnd, limit);
	while (difftime(time(NULL), start) < limit) {
		for (int burst = 0; burst < 1000; burst++, runs++) {
			size_t s = (size_t)rand_r(&rnd) % nseeds, len = lens[s];
			int flips = 1 + rand_r(&rnd) % 8;

			memcpy(buf, seeds[s], len);
			for (int f = 0; f < flips; f++) {
				size_t at = (size_t)rand_r(&rnd) % len;

				switch (rand_r(&rnd) % 4) {
				case 0: buf[at] ^= (uint8_t)(1u << (rand_r(&rnd) % 8)); break;
				case 1: buf[at] = (uint8_t)rand_r(&rnd); break;
				case 2: buf[at] = rand_r(&rnd) % 2 ? 0xff : 0; break;
				case 3: len = at + 1; break;	/* truncate */
				}
			}
			LLVMFuzzerTestOneInput(buf, len);
		}
	}
	printf("fuzz_format: %lu inputs, no crash\n1 passed, 0 failed\n", runs);
	return 0;
}
#endif

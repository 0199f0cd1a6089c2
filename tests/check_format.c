/*
 * check_format.c - Check unit tests of the on-disk format, the allocator
 * and the metadata log: round trips, checksums, replay of truncated logs.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/lib/fslib.h"
#include "fs/lib/fslib_int.h"	/* white box: the pending records (m.lib->llen) */
#include "tests/testutil.h"

#define MiB (1ull << 20)

/* ---- crc32c ----------------------------------------------------------- */

START_TEST(crc32c_known_values)
{
	/* RFC 3720 B.4 test vectors */
	uint8_t zeros[32] = {0}, ones[32], inc[32];

	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	ck_assert_uint_eq(crc32c(0, zeros, 32), 0x8a9136aa);
	ck_assert_uint_eq(crc32c(0, ones, 32), 0x62a8ab43);
	ck_assert_uint_eq(crc32c(0, inc, 32), 0x46dd794e);
	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xe3069283);
	/* chaining equals one pass */
	ck_assert_uint_eq(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
}
END_TEST

/* ---- superblock ------------------------------------------------------- */

static void sample_super(struct swf_super *sb)
{
	uint64_t sizes[3] = { 200 * MiB, 300 * MiB, 256 * MiB };

	memset(sb, 0, sizeof(*sb));
	ck_assert_int_eq(swf_geometry(sb, sizes, 3, 1 << 20, 64 << 10, 4096), 0);
	sb->version = SWF_VERSION;
	sb->dev_index = 1;
	sb->member_size = 300 * MiB;
	sb->created = 1764000000;
	sb->mount_seq = 0x0102030405060708ull;
	strcpy(sb->label, "tensors");
	swf_uuid_generate(&sb->fs_uuid);
	for (int i = 0; i < 3; i++)
		swf_uuid_generate(&sb->members[i]);
	sb->member_uuid = sb->members[1];
}

START_TEST(super_round_trip)
{
	struct swf_super sb, out;
	uint8_t buf[SWF_SB_SIZE], again[SWF_SB_SIZE];

	sample_super(&sb);
	swf_super_encode(&sb, buf);
	ck_assert_int_eq(swf_super_decode(&out, buf), 0);
	swf_super_encode(&out, again);
	ck_assert_mem_eq(buf, again, SWF_SB_SIZE);
	ck_assert_str_eq(out.label, "tensors");
	ck_assert_uint_eq(out.data_offset, sb.data_offset);
	ck_assert_uint_eq(out.mount_seq, sb.mount_seq);
	ck_assert(swf_uuid_equal(&out.members[2], &sb.members[2]));
	ck_assert_uint_eq(swf_volume_bytes(&out), 3 * sb.data_per_member);
	/* the smallest member bounds every member's data area */
	ck_assert_uint_le(out.data_offset + out.data_per_member, 200 * MiB);
}
END_TEST

START_TEST(super_every_bit_flip_detected)
{
	struct swf_super sb, out;
	uint8_t buf[SWF_SB_SIZE];

	sample_super(&sb);
	swf_super_encode(&sb, buf);
	for (size_t i = 0; i < SWF_SB_SIZE * 8; i++) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert_int_ne(swf_super_decode(&out, buf), 0);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	ck_assert_int_eq(swf_super_decode(&out, buf), 0);
	memset(buf, 0, 8);
	ck_assert_int_eq(swf_super_decode(&out, buf), -EINVAL);	/* not swapfs */
}
END_TEST

START_TEST(geometry_rejects_tiny_and_bad_units)
{
	struct swf_super sb;
	uint64_t tiny[1] = { 5 * MiB }, ok[1] = { 64 * MiB };

	ck_assert_int_eq(swf_geometry(&sb, tiny, 1, 1 << 20, 64 << 10, 4096), -ENOSPC);
	ck_assert_int_eq(swf_geometry(&sb, ok, 1, 3 << 20, 64 << 10, 4096), -EINVAL);
	ck_assert_int_eq(swf_geometry(&sb, ok, 1, 1 << 20, 2 << 20, 4096), -EINVAL);
	ck_assert_int_eq(swf_geometry(&sb, ok, 1, 1 << 20, 1024, 512), -EINVAL);
	ck_assert_int_eq(swf_geometry(&sb, ok, 0, 1 << 20, 64 << 10, 4096), -EINVAL);
	ck_assert_int_eq(swf_geometry(&sb, ok, 1, 1 << 20, 64 << 10, 4096), 0);
	ck_assert_uint_eq(sb.data_offset % (1 << 20), 0);
	ck_assert_uint_eq(sb.log_offset + sb.log_size, SWF_META_OFFSET + sb.meta_size);
}
END_TEST

/* ---- records ----------------------------------------------------------- */

static int sample_records(struct swf_rec *r)
{
	static const char value[] = "float16";
	int n = 0;

	r[n++] = (struct swf_rec){ .type = SWF_R_INODE, .u.inode = { 7, 0100644, 1000, 1000, 1,
		123456789, 0, -5, 1764000000123456789LL, 42, 0 } };
	r[n++] = (struct swf_rec){ .type = SWF_R_INODE_FREE, .u.free.ino = 9 };
	r[n++] = (struct swf_rec){ .type = SWF_R_DIRENT_ADD, .flags = SWF_RF_CONT,
		.u.dirent = { 1, 7, "layer.0.tensor.swp", 18 } };
	r[n++] = (struct swf_rec){ .type = SWF_R_DIRENT_DEL, .u.dirent = { 1, 7, "x", 1 } };
	r[n++] = (struct swf_rec){ .type = SWF_R_EXTENT, .u.extent = { 7, 1 << 20, 64 << 20, 4 << 20,
		SWF_EXT_UNWRITTEN } };
	r[n++] = (struct swf_rec){ .type = SWF_R_UNMAP, .u.extent = { 7, 0, 0, UINT64_MAX, 0 } };
	r[n++] = (struct swf_rec){ .type = SWF_R_XATTR_SET, .u.xattr = { 7, "user.dtype", 10,
		value, 7 } };
	r[n++] = (struct swf_rec){ .type = SWF_R_XATTR_DEL, .u.xattr = { 7, "user.shape", 10, NULL, 0 } };
	r[n++] = (struct swf_rec){ .type = SWF_R_SYMLINK, .u.symlink = { 8, "../target", 9 } };
	for (int i = 0; i < n; i++) {
		r[i].generation = 3;
		r[i].seq = 100 + (uint64_t)i;
	}
	return n;
}

START_TEST(records_round_trip)
{
	struct swf_rec in[16], out;
	uint8_t buf[8192], again[8192];
	int n = sample_records(in);

	for (int i = 0; i < n; i++) {
		int len = swf_rec_encode(&in[i], buf, sizeof(buf)), len2;

		ck_assert_int_gt(len, 0);
		ck_assert_int_eq(len % 8, 0);
		ck_assert_int_eq(swf_rec_decode(&out, buf, (size_t)len), len);
		ck_assert_uint_eq(out.type, in[i].type);
		ck_assert_uint_eq(out.flags, in[i].flags);
		ck_assert_uint_eq(out.seq, in[i].seq);
		ck_assert_uint_eq(out.generation, 3);
		len2 = swf_rec_encode(&out, again, sizeof(again));
		ck_assert_int_eq(len2, len);
		ck_assert_mem_eq(buf, again, (size_t)len);
	}
	/* a record larger than the room is refused, not truncated */
	ck_assert_int_eq(swf_rec_encode(&in[2], buf, 32), -ENOSPC);
}
END_TEST

START_TEST(records_every_bit_flip_detected)
{
	struct swf_rec in[16], out;
	uint8_t buf[512];
	int n = sample_records(in);

	for (int i = 0; i < n; i++) {
		int len = swf_rec_encode(&in[i], buf, sizeof(buf));

		for (int b = 0; b < len * 8; b++) {
			int got;

			buf[b / 8] ^= (uint8_t)(1u << (b % 8));
			got = swf_rec_decode(&out, buf, (size_t)len);
			/* a flip in the zero padding is harmless; anywhere else it is caught */
			if (got > 0)
				ck_assert_int_ge(b / 8, (int)SWF_REC_HDR + 8);
			buf[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
		for (int b = 0; b < (int)(SWF_REC_HDR + 12) * 8 && b < len * 8; b++) {
			buf[b / 8] ^= (uint8_t)(1u << (b % 8));
			ck_assert_int_lt(swf_rec_decode(&out, buf, (size_t)len), 1);
			buf[b / 8] ^= (uint8_t)(1u << (b % 8));
		}
	}
}
END_TEST

START_TEST(ckpt_header_round_trip_and_flips)
{
	struct swf_ckpt c = { 5, 1234, 99, 8192, 0xdeadbeef, 0x1122334455667788ull }, out;
	uint8_t buf[SWF_CKPT_HDR];

	swf_ckpt_encode(&c, buf);
	ck_assert_int_eq(swf_ckpt_decode(&out, buf), 0);
	ck_assert_uint_eq(out.generation, 5);
	ck_assert_uint_eq(out.seq, 1234);
	ck_assert_uint_eq(out.next_ino, 99);
	ck_assert_uint_eq(out.body_len, 8192);
	ck_assert_uint_eq(out.body_crc, 0xdeadbeef);
	ck_assert_uint_eq(out.mount_seq, 0x1122334455667788ull);
	for (int b = 0; b < (int)SWF_CKPT_HDR * 8; b++) {
		buf[b / 8] ^= (uint8_t)(1u << (b % 8));
		ck_assert_int_ne(swf_ckpt_decode(&out, buf), 0);
		buf[b / 8] ^= (uint8_t)(1u << (b % 8));
	}
}
END_TEST

/* ---- allocator --------------------------------------------------------- */

START_TEST(alloc_random_invariants)
{
	struct sw_alloc a;
	enum { UNITS = 4096 };
	static uint8_t owner[UNITS];
	uint64_t first[256] = {0}, len[256] = {0};
	unsigned seed = 7;

	memset(owner, 0, sizeof(owner));
	ck_assert_int_eq(sw_alloc_init(&a, UNITS * 65536ull, 65536, 4ull << 20), 0);
	for (int step = 0; step < 20000; step++) {
		int k = rand_r(&seed) % 256;

		if (len[k]) {
			ck_assert_int_eq(sw_alloc_free(&a, first[k], len[k]), 0);
			for (uint64_t u = first[k]; u < first[k] + len[k]; u++)
				owner[u] = 0;
			len[k] = 0;
		} else {
			uint64_t want = 1 + rand_r(&seed) % 128;
			int64_t got = sw_alloc_run(&a, want, &first[k]);

			if (got == -ENOSPC) {
				ck_assert_uint_eq(a.nfree, 0);
				continue;
			}
			ck_assert_int_gt(got, 0);
			ck_assert_uint_le((uint64_t)got, want);
			for (uint64_t u = first[k]; u < first[k] + (uint64_t)got; u++) {
				ck_assert_uint_eq(owner[u], 0);	/* no overlap */
				owner[u] = 1;
			}
			len[k] = (uint64_t)got;
		}
		{
			uint64_t used = 0;

			for (int u = 0; u < UNITS; u++)
				used += owner[u];
			ck_assert_uint_eq(a.nfree, UNITS - used);	/* exact accounting */
		}
	}
	/* double free is refused */
	for (int k = 0; k < 256; k++)
		if (len[k]) {
			ck_assert_int_eq(sw_alloc_free(&a, first[k], len[k]), 0);
			ck_assert_int_eq(sw_alloc_free(&a, first[k], 1), -EINVAL);
			len[k] = 0;
		}
	ck_assert_uint_eq(a.nfree, UNITS);
	sw_alloc_destroy(&a);
}
END_TEST

START_TEST(alloc_large_runs_are_row_aligned_and_enospc)
{
	struct sw_alloc a;
	uint64_t first, f2;
	int64_t got;

	/* 4 members x 1 MiB stripe unit: a row is 64 units of 64 KiB */
	ck_assert_int_eq(sw_alloc_init(&a, 1024 * 65536ull, 65536, 4ull << 20), 0);
	ck_assert_int_eq(sw_alloc_run(&a, 3, &first), 3);
	got = sw_alloc_run(&a, 128, &f2);
	ck_assert_int_eq(got, 128);
	ck_assert_uint_eq(f2 % 64, 0);
	/* fill everything, then ENOSPC, then a free makes room again */
	while ((got = sw_alloc_run(&a, 1000, &f2)) > 0)
		;
	ck_assert_int_eq(got, -ENOSPC);
	ck_assert_uint_eq(a.nfree, 0);
	ck_assert_int_eq(sw_alloc_free(&a, first, 3), 0);
	ck_assert_int_eq(sw_alloc_run(&a, 10, &f2), 3);	/* shorter run: what is left */
	ck_assert_uint_eq(f2, first);
	ck_assert_int_eq(sw_alloc_mark(&a, first, 1), -EEXIST);
	sw_alloc_destroy(&a);
}
END_TEST

/* ---- metadata log replay ----------------------------------------------- */

static struct tu_images im;
static struct swe_volume *vol;
static struct swf_super sb;

static void fs_setup(void)
{
	uint64_t sizes[2] = { 64 * MiB, 72 * MiB };
	char msg[256];

	ck_assert_int_eq(tu_images_create(&im, 2, sizes), 0);
	ck_assert_int_eq(swe_volume_open(&vol, im.paths, 2, &(struct swe_volume_opts){ .stripe_unit = 4096 }, NULL), 0);
	ck_assert_int_eq(swf_geometry(&sb, sizes, 2, 1 << 20, 64 << 10, swe_volume_align(vol)), 0);
	sb.version = SWF_VERSION;
	swf_uuid_generate(&sb.fs_uuid);
	for (int i = 0; i < 2; i++)
		swf_uuid_generate(&sb.members[i]);
	ck_assert_int_eq(swe_volume_set_layout(vol, sb.stripe_unit, sb.data_offset, NULL), 0);
	ck_assert_int_eq(sw_meta_format(vol, &sb, 0, 0), 0);
	for (unsigned i = 0; i < 2; i++) {
		struct swf_super m = sb;

		m.dev_index = i;
		m.member_uuid = sb.members[i];
		m.member_size = sizes[i];
		ck_assert_int_eq(sw_super_write(vol, i, &m), 0);
	}
	swe_volume_close(vol);
	ck_assert_int_eq(sw_fsvol_open(im.paths, 2, false, &vol, &sb, msg, sizeof(msg)), 0);
}

static void fs_teardown(void)
{
	swe_volume_close(vol);
	tu_images_destroy(&im);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull + (h >> 29);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* A digest of everything the table holds, independent of hash order. */
static uint64_t table_digest(struct sw_meta *m)
{
	uint64_t *h = calloc(m->count + 1, sizeof(uint64_t)), d = m->count;
	size_t n = 0;
	struct sw_inode_iter it;
	struct sw_inode *i;

	sw_for_each_inode(m, &it, i) {
		uint64_t x = mix(i->a.ino, i->a.mode);

		x = mix(x, i->a.nlink); x = mix(x, i->a.size); x = mix(x, (uint64_t)i->a.mtime_ns);
		for (size_t k = 0; k < i->next; k++) {
			x = mix(x, i->ext[k].foff); x = mix(x, i->ext[k].voff);
			x = mix(x, i->ext[k].len); x = mix(x, i->ext[k].flags);
		}
		for (size_t k = 0; i->dir && k < i->dir->n; k++)
			if (i->dir->e[k].ino)
				x += mix(crc32c(0, i->dir->e[k].name, strlen(i->dir->e[k].name)),
					 i->dir->e[k].ino);
		for (size_t k = 0; k < i->nxa; k++)
			x += mix(crc32c(0, i->xa[k].name, strlen(i->xa[k].name)),
				 crc32c(0, i->xa[k].value, i->xa[k].len));
		h[n++] = x;
	}
	qsort(h, n, sizeof(uint64_t), cmp_u64);
	for (size_t k = 0; k < n; k++)
		d = mix(d, h[k]);
	free(h);
	return d;
}

/* One committed operation: a file with an extent and an xattr, or a rename. */
static void do_op(struct sw_meta *m, int k)
{
	char name[32], other[32];
	uint64_t ino = m->next_ino;

	snprintf(name, sizeof(name), "t%d.tensor.swp", k);
	if (k % 5 == 4) {	/* rename the previous file over nothing: DEL+ADD */
		struct sw_dent *d;

		snprintf(other, sizeof(other), "t%d.tensor.swp", k - 1);
		d = sw_dir_lookup(sw_inode_get(m, SW_ROOT_INO), other);
		ck_assert_ptr_nonnull(d);
		ino = d->ino;
		ck_assert_int_eq(sw_meta_emit(m, &(struct swf_rec){ .type = SWF_R_DIRENT_DEL,
			.flags = SWF_RF_CONT, .u.dirent = { 1, ino, other, (uint16_t)strlen(other) } }), 0);
		ck_assert_int_eq(sw_meta_emit(m, &(struct swf_rec){ .type = SWF_R_DIRENT_ADD,
			.u.dirent = { 1, ino, name, (uint16_t)strlen(name) } }), 0);
	} else {
		ck_assert_int_eq(sw_meta_emit(m, &(struct swf_rec){ .type = SWF_R_INODE,
			.flags = SWF_RF_CONT, .u.inode = { ino, 0100600, 0, 0, 1, (uint64_t)k * 4096,
			0, 0, k, 0, 0 } }), 0);
		ck_assert_int_eq(sw_meta_emit(m, &(struct swf_rec){ .type = SWF_R_EXTENT,
			.flags = SWF_RF_CONT, .u.extent = { ino, 0, (uint64_t)k * (128 << 10),
			64 << 10, 0 } }), 0);
		ck_assert_int_eq(sw_meta_emit(m, &(struct swf_rec){ .type = SWF_R_XATTR_SET,
			.flags = SWF_RF_CONT, .u.xattr = { ino, "user.k", 6, &k, sizeof(k) } }), 0);
		ck_assert_int_eq(sw_meta_emit(m, &(struct swf_rec){ .type = SWF_R_DIRENT_ADD,
			.u.dirent = { 1, ino, name, (uint16_t)strlen(name) } }), 0);
	}
}

static void corrupt_log_from(uint64_t pos, bool garbage, unsigned seed)
{
	char *buf = aligned_alloc(4096, sb.log_size);

	for (unsigned d = 0; d < 2; d++) {
		ck_assert_int_eq(swe_member_pread(vol, d, buf, sb.log_size, sb.log_offset), 0);
		for (uint64_t i = pos; i < sb.log_size; i++)
			buf[i] = garbage ? (char)rand_r(&seed) : 0;
		ck_assert_int_eq(swe_member_pwrite(vol, d, buf, sb.log_size, sb.log_offset), 0);
	}
	free(buf);
}

START_TEST(log_replay_yields_a_prefix)
{
	enum { OPS = 24 };
	struct sw_meta m;
	uint64_t digest[OPS + 1], head[OPS + 1], rec_end[OPS + 1];
	char *saved[2];
	unsigned seed = 5;

	ck_assert_int_eq(sw_meta_load(&m, vol, &sb, false), 0);
	digest[0] = table_digest(&m);
	head[0] = rec_end[0] = m.head;
	for (int k = 0; k < OPS; k++) {
		do_op(&m, k);
		rec_end[k + 1] = m.head + m.lib->llen;	/* the padding after it is not needed */
		ck_assert_int_eq(sw_meta_commit(&m, k % 3 == 0), 0);
		digest[k + 1] = table_digest(&m);
		head[k + 1] = m.head;
		ck_assert_uint_gt(head[k + 1], head[k]);	/* no checkpoint in between */
	}
	sw_meta_close(&m);
	/* keep the intact log to restore between trials */
	for (unsigned d = 0; d < 2; d++) {
		saved[d] = aligned_alloc(4096, sb.log_size);
		ck_assert_int_eq(swe_member_pread(vol, d, saved[d], sb.log_size, sb.log_offset), 0);
	}
	for (int trial = 0; trial < 3 * OPS + 40; trial++) {
		uint64_t cut;
		int expect = 0;

		if (trial <= OPS)
			cut = head[trial];			/* every commit boundary */
		else if (trial <= 2 * OPS)
			cut = head[trial - OPS - 1] + 1 + rand_r(&seed) % 4000;	/* inside a commit */
		else
			cut = (uint64_t)rand_r(&seed) % head[OPS];	/* anywhere */
		for (int k = 0; k <= OPS; k++)
			if (rec_end[k] <= cut)
				expect = k;
		corrupt_log_from(cut, trial % 2, seed);
		ck_assert_int_eq(sw_meta_load(&m, vol, &sb, true), 0);
		ck_assert_msg(table_digest(&m) == digest[expect],
			      "log cut at %llu: state is not that after %d operations",
			      (unsigned long long)cut, expect);
		sw_meta_close(&m);
		for (unsigned d = 0; d < 2; d++)
			ck_assert_int_eq(swe_member_pwrite(vol, d, saved[d], sb.log_size, sb.log_offset), 0);
	}
	/* full log, then a checkpoint on load: same state, empty log */
	ck_assert_int_eq(sw_meta_load(&m, vol, &sb, false), 0);
	ck_assert_uint_eq(table_digest(&m), digest[OPS]);
	ck_assert_uint_eq(m.head, 0);
	sw_meta_close(&m);
	ck_assert_int_eq(sw_meta_load(&m, vol, &sb, false), 0);
	ck_assert_uint_eq(table_digest(&m), digest[OPS]);
	sw_meta_close(&m);
	free(saved[0]);
	free(saved[1]);
}
END_TEST

START_TEST(one_mirror_damaged_other_serves)
{
	struct sw_meta m;
	uint64_t want;
	char *zero = aligned_alloc(4096, sb.meta_size);

	ck_assert_int_eq(sw_meta_load(&m, vol, &sb, false), 0);
	for (int k = 0; k < 4; k++) {
		do_op(&m, k);
		ck_assert_int_eq(sw_meta_commit(&m, true), 0);
	}
	ck_assert_int_eq(sw_meta_checkpoint(&m), 0);
	do_op(&m, 10);
	ck_assert_int_eq(sw_meta_commit(&m, true), 0);
	want = table_digest(&m);
	sw_meta_close(&m);
	memset(zero, 0, sb.meta_size);
	ck_assert_int_eq(swe_member_pwrite(vol, 0, zero, sb.meta_size, sb.meta_offset), 0);
	ck_assert_int_eq(sw_meta_load(&m, vol, &sb, true), 0);
	ck_assert_uint_eq(table_digest(&m), want);
	sw_meta_close(&m);
	ck_assert_int_eq(swe_member_pwrite(vol, 1, zero, sb.meta_size, sb.meta_offset), 0);
	ck_assert_int_eq(sw_meta_load(&m, vol, &sb, true), -EUCLEAN);
	free(zero);
}
END_TEST

START_TEST(log_full_triggers_checkpoint)
{
	struct sw_meta m;
	uint64_t want, ckpts;
	int k = 0;

	ck_assert_int_eq(sw_meta_load(&m, vol, &sb, false), 0);
	ckpts = m.checkpoints;
	/* every commit costs at least one block: fill the log */
	while (m.checkpoints == ckpts && k < 10000) {
		char name[32];

		snprintf(name, sizeof(name), "f%d", k);
		ck_assert_int_eq(sw_meta_emit(&m, &(struct swf_rec){ .type = SWF_R_INODE,
			.flags = SWF_RF_CONT, .u.inode = { m.next_ino, 0100600, 0, 0, 1 } }), 0);
		ck_assert_int_eq(sw_meta_emit(&m, &(struct swf_rec){ .type = SWF_R_DIRENT_ADD,
			.u.dirent = { 1, m.next_ino - 1, name, (uint16_t)strlen(name) } }), 0);
		ck_assert_int_eq(sw_meta_commit(&m, false), 0);
		k++;
	}
	ck_assert_uint_gt(m.checkpoints, ckpts);
	want = table_digest(&m);
	sw_meta_close(&m);
	ck_assert_int_eq(sw_meta_load(&m, vol, &sb, true), 0);
	ck_assert_uint_eq(table_digest(&m), want);
	ck_assert_uint_eq(m.count, (uint64_t)k + 1);
	sw_meta_close(&m);
}
END_TEST

/*
 * A directory removed while the kernel still refers to it stays in the
 * table (nlink 0) until FORGET, which logs its INODE_FREE.  A checkpoint in
 * between must hold it, or that record contradicts the table at the next
 * load (seen as a failed swapfsck -p after a kill -9 under fsstress).
 */
START_TEST(removed_directory_still_referenced_survives_checkpoint)
{
	struct sw_meta m;

	ck_assert_int_eq(sw_meta_load(&m, vol, &sb, false), 0);
	ck_assert_int_eq(sw_meta_emit(&m, &(struct swf_rec){ .type = SWF_R_INODE,
		.flags = SWF_RF_CONT, .u.inode = { 50, S_IFDIR | 0755, 0, 0, 2 } }), 0);
	ck_assert_int_eq(sw_meta_emit(&m, &(struct swf_rec){ .type = SWF_R_DIRENT_ADD,
		.u.dirent = { 1, 50, "gone", 4 } }), 0);
	ck_assert_int_eq(sw_meta_commit(&m, true), 0);
	ck_assert_int_eq(sw_meta_emit(&m, &(struct swf_rec){ .type = SWF_R_DIRENT_DEL,
		.flags = SWF_RF_CONT, .u.dirent = { 1, 50, "gone", 4 } }), 0);
	ck_assert_int_eq(sw_meta_emit(&m, &(struct swf_rec){ .type = SWF_R_INODE,
		.u.inode = { 50, S_IFDIR | 0755, 0, 0, 0 } }), 0);	/* rmdir'd; the kernel still holds it */
	ck_assert_int_eq(sw_meta_checkpoint(&m), 0);
	ck_assert_int_eq(sw_meta_emit(&m, &(struct swf_rec){ .type = SWF_R_INODE_FREE,
		.u.free.ino = 50 }), 0);	/* its FORGET */
	ck_assert_int_eq(sw_meta_commit(&m, true), 0);
	sw_meta_close(&m);	/* a crash: no final checkpoint */
	ck_assert_int_eq(sw_meta_load(&m, vol, &sb, true), 0);
	ck_assert_ptr_null(sw_inode_get(&m, 50));
	sw_meta_close(&m);
}
END_TEST

START_TEST(fsvol_detects_wrong_members)
{
	const char *swapped[2] = { im.paths[1], im.paths[0] };
	const char *one[1] = { im.paths[0] };
	struct swe_volume *v;
	struct swf_super s;
	char msg[512];

	swe_volume_close(vol);
	vol = NULL;
	ck_assert_int_eq(sw_fsvol_open(swapped, 2, true, &v, &s, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "wrong order"));
	ck_assert_int_eq(sw_fsvol_open(one, 1, true, &v, &s, msg, sizeof(msg)), -ENODEV);
	ck_assert_ptr_nonnull(strstr(msg, "missing"));
	ck_assert_int_eq(sw_fsvol_open(im.paths, 2, false, &vol, &s, msg, sizeof(msg)), 0);
}
END_TEST

static Suite *format_suite(void)
{
	Suite *s = suite_create("format");
	TCase *enc = tcase_create("encoding"), *al = tcase_create("alloc"),
	      *log = tcase_create("log");

	tcase_add_test(enc, crc32c_known_values);
	tcase_add_test(enc, super_round_trip);
	tcase_add_test(enc, super_every_bit_flip_detected);
	tcase_add_test(enc, geometry_rejects_tiny_and_bad_units);
	tcase_add_test(enc, records_round_trip);
	tcase_add_test(enc, records_every_bit_flip_detected);
	tcase_add_test(enc, ckpt_header_round_trip_and_flips);
	tcase_add_test(al, alloc_random_invariants);
	tcase_add_test(al, alloc_large_runs_are_row_aligned_and_enospc);
	tcase_add_checked_fixture(log, fs_setup, fs_teardown);
	tcase_set_timeout(log, 120);
	tcase_add_test(log, log_replay_yields_a_prefix);
	tcase_add_test(log, one_mirror_damaged_other_serves);
	tcase_add_test(log, log_full_triggers_checkpoint);
	tcase_add_test(log, removed_directory_still_referenced_survives_checkpoint);
	tcase_add_test(log, fsvol_detects_wrong_members);
	suite_add_tcase(s, enc);
	suite_add_tcase(s, al);
	suite_add_tcase(s, log);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(format_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

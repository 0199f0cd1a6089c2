/* check_engine.c - Check unit tests of the engine: map, split, validation, faults, arena. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "tests/testutil.h"

#define MiB (1ull << 20)

/* ---- striping map ------------------------------------------------------ */

START_TEST(map_round_trip)
{
	uint32_t sus[] = { 4096, 65536, 1u << 20 };
	unsigned seed = 1234;

	for (unsigned n = 1; n <= 16; n++) {
		for (size_t k = 0; k < 3; k++) {
			struct swe_stripe s = { sus[k], n, 8192 };

			for (int i = 0; i < 2000; i++) {
				uint64_t off = ((uint64_t)rand_r(&seed) << 20 ^ rand_r(&seed)) % (1ull << 40);
				unsigned dev;
				uint64_t doff;

				swe_stripe_map(&s, off, &dev, &doff);
				ck_assert_uint_lt(dev, n);
				ck_assert_uint_ge(doff, s.data_offset);
				ck_assert_uint_eq(swe_stripe_unmap(&s, dev, doff), off);
			}
		}
	}
}
END_TEST

START_TEST(map_boundaries)
{
	struct swe_stripe s = { 1 << 20, 4, 0 };
	unsigned dev;
	uint64_t doff;

	swe_stripe_map(&s, MiB - 1, &dev, &doff);
	ck_assert_uint_eq(dev, 0);
	ck_assert_uint_eq(doff, MiB - 1);
	swe_stripe_map(&s, MiB, &dev, &doff);
	ck_assert_uint_eq(dev, 1);
	ck_assert_uint_eq(doff, 0);
	swe_stripe_map(&s, 4 * MiB - 1, &dev, &doff);
	ck_assert_uint_eq(dev, 3);
	ck_assert_uint_eq(doff, MiB - 1);
	swe_stripe_map(&s, 4 * MiB, &dev, &doff);	/* second row */
	ck_assert_uint_eq(dev, 0);
	ck_assert_uint_eq(doff, MiB);
	s.data_offset = 3 * MiB;
	swe_stripe_map(&s, 9 * MiB + 5, &dev, &doff);
	ck_assert_uint_eq(dev, 1);
	ck_assert_uint_eq(doff, 3 * MiB + 2 * MiB + 5);
}
END_TEST

START_TEST(split_covers_range)
{
	unsigned seed = 99;

	for (unsigned n = 1; n <= 16; n++) {
		struct swe_stripe s = { 65536, n, 4096 };

		for (int i = 0; i < 300; i++) {
			uint64_t off = (uint64_t)rand_r(&seed) * 512;
			uint64_t len = 1 + (uint64_t)rand_r(&seed) % (4 * MiB);
			unsigned need = swe_stripe_split(&s, off, len, NULL, 0);
			struct swe_seg *seg = calloc(need, sizeof(*seg));
			uint64_t at = off;

			ck_assert_uint_eq(swe_stripe_split(&s, off, len, seg, need), need);
			for (unsigned j = 0; j < need; j++) {
				unsigned dev;
				uint64_t doff;

				ck_assert_uint_eq(seg[j].vol_offset, at);
				ck_assert_uint_gt(seg[j].len, 0);
				/* a segment never crosses a stripe unit */
				ck_assert_uint_eq(seg[j].vol_offset / s.stripe_unit,
						  (seg[j].vol_offset + seg[j].len - 1) / s.stripe_unit);
				swe_stripe_map(&s, at, &dev, &doff);
				ck_assert_uint_eq(seg[j].dev, dev);
				ck_assert_uint_eq(seg[j].dev_offset, doff);
				at += seg[j].len;
			}
			ck_assert_uint_eq(at, off + len);
			free(seg);
		}
	}
}
END_TEST

/* ---- fixtures over image files ----------------------------------------- */

static struct tu_images im;
static struct swe_volume *vol;
static struct swe_arena *arena;
static struct swe_ring *ring;

static void vol_setup(void)
{
	uint64_t sizes[4] = { 16 * MiB, 16 * MiB, 20 * MiB, 16 * MiB };
	struct swe_volume_opts vo = { .stripe_unit = 64 << 10 };

	ck_assert_int_eq(tu_images_create(&im, 4, sizes), 0);
	ck_assert_int_eq(swe_volume_open(&vol, im.paths, 4, &vo, NULL), 0);
	ck_assert_int_eq(swe_arena_create(&arena, 16 * MiB, 0, 0, NULL), 0);
	ck_assert_int_eq(swe_ring_create(&ring, vol, arena, NULL, NULL), 0);
}

static void vol_teardown(void)
{
	swe_ring_destroy(ring);
	swe_arena_destroy(arena);
	swe_volume_close(vol);
	tu_images_destroy(&im);
}

struct done { int calls, result; };

static void on_done(struct swe_io *io, int result)
{
	struct done *d = io->priv;

	d->calls++;
	d->result = result;
}

/* Submit one request and wait for it; returns its result, its text in text. */
static int do_io_text(enum swe_op op, uint64_t off, uint64_t len, void *buf,
		      char text[SWE_ERRMSG_LEN])
{
	struct done d = {0};
	struct swe_io io = { .op = op, .offset = off, .len = len, .buf = buf,
			     .cb = on_done, .priv = &d };
	int err = swe_ring_submit(ring, &io);

	if (!err) {
		ck_assert_int_eq(swe_ring_wait_all(ring), 0);
		ck_assert_int_eq(d.calls, 1);
		err = d.result;
	}
	memcpy(text, io.errmsg, SWE_ERRMSG_LEN);
	return err;
}

static int do_io(enum swe_op op, uint64_t off, uint64_t len, void *buf)
{
	char text[SWE_ERRMSG_LEN];

	return do_io_text(op, off, len, buf, text);
}

START_TEST(volume_geometry)
{
	/* smallest member 16 MiB, in whole 64 KiB units, times 4 */
	ck_assert_uint_eq(swe_volume_size(vol), 64 * MiB);
	ck_assert_uint_eq(swe_volume_ndev(vol), 4);
	ck_assert_uint_ge(swe_volume_align(vol), 512);
	ck_assert_uint_eq(swe_volume_device(vol, 2)->size, 20 * MiB);
}
END_TEST

START_TEST(rejects_misaligned_and_out_of_range)
{
	void *buf;
	uint64_t a = swe_volume_align(vol);
	char text[SWE_ERRMSG_LEN];

	ck_assert_int_eq(swe_arena_alloc(arena, MiB, &buf), 0);
	ck_assert_int_eq(do_io(SWE_WRITE, 1, a, buf), -EINVAL);
	ck_assert_int_eq(do_io(SWE_WRITE, 0, a + 1, buf), -EINVAL);
	ck_assert_int_eq(do_io(SWE_WRITE, 0, a, (char *)buf + 1), -EINVAL);
	ck_assert_int_eq(do_io(SWE_READ, 0, 0, buf), -EINVAL);
	ck_assert_int_eq(do_io(SWE_READ, swe_volume_size(vol) - a, 2 * a, buf), -EINVAL);
	ck_assert_int_eq(do_io_text(SWE_READ, UINT64_MAX - a + 1, a, buf, text), -EINVAL);
	ck_assert_ptr_nonnull(strstr(text, "beyond the volume"));
	ck_assert_uint_eq(swe_ring_pending(ring), 0);
	/* the last valid block still works */
	ck_assert_int_eq(do_io(SWE_READ, swe_volume_size(vol) - a, a, buf), 0);
	swe_arena_free(arena, buf);
}
END_TEST

START_TEST(write_read_round_trip)
{
	void *w, *r;
	uint64_t len = 3 * MiB + 128 * 1024, off = 5 * 64 * 1024;

	ck_assert_int_eq(swe_arena_alloc(arena, len, &w), 0);
	ck_assert_int_eq(swe_arena_alloc(arena, len, &r), 0);
	tu_fill(w, len, off, 7);
	ck_assert_int_eq(do_io(SWE_WRITE, off, len, w), 0);
	ck_assert_int_eq(do_io(SWE_FLUSH, 0, 0, NULL), 0);
	ck_assert_int_eq(do_io(SWE_READ, off, len, r), 0);
	ck_assert_int_eq(tu_check(r, len, off, 7), -1);
	swe_arena_free(arena, w);
	swe_arena_free(arena, r);
}
END_TEST

START_TEST(plain_buffers_work_too)
{
	void *w = aligned_alloc(4096, MiB), *r = aligned_alloc(4096, MiB);

	tu_fill(w, MiB, 0, 3);
	ck_assert_int_eq(do_io(SWE_WRITE, 0, MiB, w), 0);
	ck_assert_int_eq(do_io(SWE_READ, 0, MiB, r), 0);
	ck_assert_int_eq(tu_check(r, MiB, 0, 3), -1);
	free(w);
	free(r);
}
END_TEST

START_TEST(short_io_is_resubmitted)
{
	struct swe_fault f = { .dev = -1, .short_io = true };
	void *w, *r;
	uint64_t len = 2 * MiB;
	int slot;

	ck_assert_int_eq(swe_arena_alloc(arena, len, &w), 0);
	ck_assert_int_eq(swe_arena_alloc(arena, len, &r), 0);
	tu_fill(w, len, 0, 11);
	slot = swe_fault_add(vol, &f, NULL);
	ck_assert_int_ge(slot, 0);
	ck_assert_int_eq(do_io(SWE_WRITE, 0, len, w), 0);
	ck_assert_int_eq(do_io(SWE_READ, 0, len, r), 0);
	/* every piece was cut in half at least once, and nothing was lost */
	ck_assert_uint_ge(swe_fault_hits(vol, slot), 2 * len / (64 << 10));
	swe_fault_clear(vol);
	ck_assert_int_eq(tu_check(r, len, 0, 11), -1);
}
END_TEST

START_TEST(device_error_is_reported_with_context)
{
	struct swe_fault f = { .dev = 2, .ops = SWE_WRITE, .nth = 2, .count = 1,
			       .error = EIO };
	struct swe_device_stats st;
	char text[SWE_ERRMSG_LEN];
	void *buf;

	ck_assert_int_eq(swe_arena_alloc(arena, MiB, &buf), 0);
	memset(buf, 0xab, MiB);
	ck_assert_int_ge(swe_fault_add(vol, &f, NULL), 0);
	ck_assert_int_eq(do_io_text(SWE_WRITE, 0, MiB, buf, text), -EIO);	/* 16 pieces, 4 on member 2 */
	ck_assert_ptr_nonnull(strstr(text, "member 2"));
	swe_volume_stats(vol, 2, &st);
	ck_assert_uint_eq(st.errors, 1);
	ck_assert_uint_eq(st.inflight, 0);
	/* count = 1: the next write succeeds, the volume stays usable */
	ck_assert_int_eq(do_io(SWE_WRITE, 0, MiB, buf), 0);
	swe_fault_clear(vol);
}
END_TEST

START_TEST(error_reports_member_and_offset)
{
	struct swe_fault f = { .dev = 1, .ops = SWE_READ, .error = ENXIO };
	struct done d = {0};
	void *buf;
	struct swe_io io = { .op = SWE_READ, .offset = 64 << 10, .len = 64 << 10,
			     .cb = on_done, .priv = &d };

	ck_assert_int_eq(swe_arena_alloc(arena, 64 << 10, &buf), 0);
	io.buf = buf;
	ck_assert_int_ge(swe_fault_add(vol, &f, NULL), 0);
	ck_assert_int_eq(swe_ring_submit(ring, &io), 0);
	ck_assert_int_eq(swe_ring_wait_all(ring), 0);
	ck_assert_int_eq(d.result, -ENXIO);
	ck_assert_int_eq(io.err_dev, 1);
	ck_assert_uint_eq(io.err_offset, 0);	/* first unit of member 1 */
	/* member 0 is unaffected */
	ck_assert_int_eq(do_io(SWE_READ, 0, 64 << 10, buf), 0);
	swe_fault_clear(vol);
}
END_TEST

/*
 * The text of a failure belongs to the request or call that failed: the
 * same request resubmitted and succeeding has none, another that fails
 * for another reason has its own, and a call's goes to its caller.
 */
START_TEST(error_text_belongs_to_its_request)
{
	struct swe_fault f = { .dev = 2, .ops = SWE_WRITE, .nth = 1, .count = 1, .error = EIO };
	uint64_t a = swe_volume_align(vol);
	char text[SWE_ERRMSG_LEN];
	struct done d = {0};
	struct swe_io io = { .op = SWE_WRITE, .len = MiB, .cb = on_done, .priv = &d };
	struct swe_arena *no_arena;
	struct swe_err e;
	void *buf;

	ck_assert_int_eq(swe_arena_alloc(arena, MiB, &buf), 0);
	io.buf = buf;
	ck_assert_int_ge(swe_fault_add(vol, &f, NULL), 0);
	ck_assert_int_eq(swe_ring_submit(ring, &io), 0);
	ck_assert_int_eq(swe_ring_wait_all(ring), 0);
	ck_assert_int_eq(d.result, -EIO);
	ck_assert_ptr_nonnull(strstr(io.errmsg, "member 2"));
	ck_assert_ptr_nonnull(strstr(io.errmsg, "Input/output error"));
	ck_assert_str_eq(swe_io_errmsg(&io, 1, -EIO), io.errmsg);
	/* the same request again: it succeeds, and says nothing */
	ck_assert_int_eq(swe_ring_submit(ring, &io), 0);
	ck_assert_int_eq(swe_ring_wait_all(ring), 0);
	ck_assert_int_eq(d.result, 0);
	ck_assert_str_eq(io.errmsg, "");
	/* another request, refused for another reason, tells its own */
	ck_assert_int_eq(do_io_text(SWE_READ, swe_volume_size(vol), a, buf, text), -EINVAL);
	ck_assert_ptr_nonnull(strstr(text, "beyond the volume"));
	ck_assert_ptr_null(strstr(text, "member 2"));
	/* and a later success of yet another says nothing either */
	ck_assert_int_eq(do_io_text(SWE_READ, 0, a, buf, text), 0);
	ck_assert_str_eq(text, "");
	/* a call's text goes to its caller's struct */
	ck_assert_int_eq(swe_fault_add(vol, &(struct swe_fault){ .dev = 9 }, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "bad member 9"));
	ck_assert_int_eq(swe_arena_create(&no_arena, 0, 0, 0, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "arena of 0 bytes"));
	swe_arena_free(arena, buf);
	swe_fault_clear(vol);
}
END_TEST

START_TEST(delay_fault_delays)
{
	struct swe_fault f = { .dev = 0, .nth = 1, .count = 1, .delay_us = 50000 };
	struct swe_device_stats st;
	struct timespec t0, t1;
	void *buf;

	ck_assert_int_eq(swe_arena_alloc(arena, 64 << 10, &buf), 0);
	ck_assert_int_ge(swe_fault_add(vol, &f, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(do_io(SWE_READ, 0, 64 << 10, buf), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_ge((t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec,
			 50000000L);
	swe_volume_stats(vol, 0, &st);
	ck_assert_uint_eq(st.reads, 1);
	swe_fault_clear(vol);
}
END_TEST

START_TEST(flush_error_propagates)
{
	struct swe_fault f = { .dev = 3, .ops = SWE_FLUSH, .error = EIO };

	ck_assert_int_ge(swe_fault_add(vol, &f, NULL), 0);
	ck_assert_int_eq(do_io(SWE_FLUSH, 0, 0, NULL), -EIO);
	swe_fault_clear(vol);
	ck_assert_int_eq(do_io(SWE_FLUSH, 0, 0, NULL), 0);
}
END_TEST

START_TEST(many_requests_in_flight)
{
	enum { N = 200 };
	static struct swe_io ios[N];
	struct done d[N];
	void *buf;

	ck_assert_int_eq(swe_arena_alloc(arena, N * 64 * 1024, &buf), 0);
	tu_fill(buf, N * 64 * 1024, 0, 5);
	memset(d, 0, sizeof(d));
	for (int i = 0; i < N; i++) {
		ios[i] = (struct swe_io){ .op = SWE_WRITE, .offset = (uint64_t)i * 65536,
					  .len = 65536, .buf = (char *)buf + i * 65536,
					  .cb = on_done, .priv = &d[i] };
		ck_assert_int_eq(swe_ring_submit(ring, &ios[i]), 0);
	}
	ck_assert_int_eq(swe_ring_wait_all(ring), 0);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(d[i].calls, 1);
		ck_assert_int_eq(d[i].result, 0);
	}
	memset(buf, 0, N * 64 * 1024);
	ck_assert_int_eq(do_io(SWE_READ, 0, N * 65536, buf), 0);
	ck_assert_int_eq(tu_check(buf, N * 65536, 0, 5), -1);
}
END_TEST

/* ---- volume open errors ------------------------------------------------ */

START_TEST(open_refuses_bad_member_lists)
{
	struct tu_images t;
	uint64_t sizes[2] = { 8 * MiB, 64 * 1024 };
	struct swe_volume *v;
	const char *dup[2], *missing[2];
	struct swe_volume_opts bad_su = { .stripe_unit = 3000 };
	struct swe_err e;

	ck_assert_int_eq(tu_images_create(&t, 2, sizes), 0);
	dup[0] = dup[1] = t.paths[0];
	ck_assert_int_eq(swe_volume_open(&v, dup, 2, NULL, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "listed twice"));
	missing[0] = t.paths[0];
	missing[1] = "/nonexistent/swapfs-member";
	ck_assert_int_eq(swe_volume_open(&v, missing, 2, NULL, &e), -ENOENT);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/swapfs-member"));
	ck_assert_int_eq(swe_volume_open(&v, t.paths, 2, NULL, &e), -ENOSPC);	/* 64 KiB < 1 MiB unit */
	ck_assert_ptr_nonnull(strstr(e.msg, "is too small"));
	ck_assert_int_eq(swe_volume_open(&v, t.paths, 1, &bad_su, NULL), -EINVAL);
	ck_assert_int_eq(swe_volume_open(&v, t.paths, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(swe_volume_open(&v, (const char *[]){ "/dev/null" }, 1, NULL, NULL), -EINVAL);
	ck_assert_ptr_null(v);
	tu_images_destroy(&t);
}
END_TEST

START_TEST(read_only_volume_refuses_writes)
{
	struct swe_volume_opts ro = { .read_only = true, .stripe_unit = 64 << 10 };
	struct swe_volume *v;
	struct swe_ring *r;
	struct done d = {0};
	void *buf = aligned_alloc(4096, 65536);
	struct swe_io io = { .op = SWE_WRITE, .len = 65536, .buf = buf,
			     .cb = on_done, .priv = &d };

	ck_assert_int_eq(swe_volume_open(&v, im.paths, 4, &ro, NULL), 0);
	ck_assert_int_eq(swe_ring_create(&r, v, NULL, NULL, NULL), 0);
	ck_assert_int_eq(swe_ring_submit(r, &io), -EROFS);
	io.op = SWE_READ;
	ck_assert_int_eq(swe_ring_submit(r, &io), 0);
	ck_assert_int_eq(swe_ring_wait_all(r), 0);
	ck_assert_int_eq(d.result, 0);
	swe_ring_destroy(r);
	swe_volume_close(v);
	free(buf);
}
END_TEST

/* ---- arena ------------------------------------------------------------- */

START_TEST(arena_exhaustion_and_reuse)
{
	struct swe_arena *a;
	void *bufs[64], *extra;
	int n = 0;

	ck_assert_int_eq(swe_arena_create(&a, 4 * MiB, 64 << 10, SWE_ARENA_NO_HUGEPAGES, NULL), 0);
	ck_assert_uint_eq(swe_arena_size(a), 4 * MiB);
	while (n < 64 && swe_arena_alloc(a, 100 << 10, &bufs[n]) == 0) {	/* 2 granules each */
		ck_assert_uint_eq((uintptr_t)bufs[n] % 4096, 0);
		memset(bufs[n], n, 100 << 10);
		n++;
	}
	ck_assert_int_eq(n, 32);
	ck_assert_uint_eq(swe_arena_free_bytes(a), 0);
	ck_assert_int_eq(swe_arena_alloc(a, 4096, &extra), -ENOMEM);
	ck_assert_ptr_null(extra);
	/* a free makes exactly that room again, and nothing overlapped */
	swe_arena_free(a, bufs[5]);
	ck_assert_uint_eq(swe_arena_free_bytes(a), 128 << 10);
	ck_assert_int_eq(swe_arena_alloc(a, 200 << 10, &extra), -ENOMEM);
	ck_assert_int_eq(swe_arena_alloc(a, 128 << 10, &extra), 0);
	ck_assert_ptr_eq(extra, bufs[5]);
	for (int i = 0; i < n; i++) {
		if (i == 5)
			continue;
		ck_assert_int_eq(((unsigned char *)bufs[i])[(100 << 10) - 1], i);
		swe_arena_free(a, bufs[i]);
	}
	swe_arena_free(a, extra);
	ck_assert_uint_eq(swe_arena_free_bytes(a), 4 * MiB);
	ck_assert_int_eq(swe_arena_alloc(a, 8 * MiB, &extra), -EINVAL);
	swe_arena_destroy(a);
}
END_TEST

START_TEST(arena_random_alloc_free)
{
	struct swe_arena *a;
	void *bufs[128] = {0};
	size_t lens[128] = {0}, used = 0;
	unsigned seed = 42;

	ck_assert_int_eq(swe_arena_create(&a, 8 * MiB, 4096, SWE_ARENA_NO_HUGEPAGES, NULL), 0);
	for (int step = 0; step < 20000; step++) {
		int i = rand_r(&seed) % 128;

		if (bufs[i]) {
			ck_assert_int_eq(*(int *)bufs[i], i);
			swe_arena_free(a, bufs[i]);
			used -= (lens[i] + 4095) / 4096 * 4096;
			bufs[i] = NULL;
		} else {
			lens[i] = 1 + rand_r(&seed) % (256 << 10);
			if (swe_arena_alloc(a, lens[i], &bufs[i]) == 0) {
				*(int *)bufs[i] = i;
				used += (lens[i] + 4095) / 4096 * 4096;
			}
		}
		ck_assert_uint_eq(swe_arena_free_bytes(a), 8 * MiB - used);
	}
	swe_arena_destroy(a);
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *map = tcase_create("stripe"), *io = tcase_create("io"),
	      *ar = tcase_create("arena");

	/* pure computation, but slow under ThreadSanitizer on a loaded machine */
	tcase_set_timeout(map, 60);
	tcase_set_timeout(ar, 60);
	tcase_add_test(map, map_round_trip);
	tcase_add_test(map, map_boundaries);
	tcase_add_test(map, split_covers_range);
	tcase_add_checked_fixture(io, vol_setup, vol_teardown);
	tcase_set_timeout(io, 60);
	tcase_add_test(io, volume_geometry);
	tcase_add_test(io, rejects_misaligned_and_out_of_range);
	tcase_add_test(io, write_read_round_trip);
	tcase_add_test(io, plain_buffers_work_too);
	tcase_add_test(io, short_io_is_resubmitted);
	tcase_add_test(io, device_error_is_reported_with_context);
	tcase_add_test(io, error_reports_member_and_offset);
	tcase_add_test(io, error_text_belongs_to_its_request);
	tcase_add_test(io, delay_fault_delays);
	tcase_add_test(io, flush_error_propagates);
	tcase_add_test(io, many_requests_in_flight);
	tcase_add_test(io, open_refuses_bad_member_lists);
	tcase_add_test(io, read_only_volume_refuses_writes);
	tcase_add_test(ar, arena_exhaustion_and_reuse);
	tcase_add_test(ar, arena_random_alloc_free);
	suite_add_tcase(s, map);
	suite_add_tcase(s, io);
	suite_add_tcase(s, ar);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(engine_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

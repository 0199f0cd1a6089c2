/*
 * span.c - synchronous file I/O on the calling thread's own ring: the
 * per-thread ring and scratch buffer (ring_key), batches of volume
 * requests waited for together, reads of a file range (holes and
 * unwritten extents as zeros) and writes of an allocation-unit span.
 *
 * Files own extents of whole allocation units (AU).  A fresh AU is always
 * written whole, zero-padded around the caller's bytes, so no AU ever
 * exposes bytes from an earlier owner.  New extents enter the table only
 * after their data is written, and reach the log at the next commit,
 * after the data (fs/lib/journal.c decides that order).  Writers hold the inode's
 * write lock, then the metadata lock for the table change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/daemon/span.h"
#include "fs/daemon/units.h"

/* ---- per-thread ring and staging buffer --------------------------------- */

void sw_thread_io_free(void *p)
{
	struct thread_io *t = p;

	swe_ring_destroy(t->ring);
	free(t->buf);
	free(t);
}

struct thread_io *sw_thread_io(struct swapfs *fs)
{
	struct thread_io *t = pthread_getspecific(fs->ring_key);
	struct swe_ring_opts ro = { .queue_depth = fs->queue_depth };
	struct swe_err e;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (swe_ring_create(&t->ring, fs->vol, fs->arena, &ro, &e)) {
		sw_err("cannot create an io_uring ring: %s", e.msg);
		free(t);
		return NULL;
	}
	pthread_setspecific(fs->ring_key, t);
	return t;
}

/* Aligned scratch of at least len bytes, owned by the calling thread. */
void *sw_staging(struct thread_io *t, size_t len)
{
	if (len > t->cap) {
		void *nb;
		size_t ncap = up(len, 1 << 20);

		if (posix_memalign(&nb, BLK, ncap))
			return NULL;
		free(t->buf);
		t->buf = nb;
		t->cap = ncap;
	}
	return t->buf;
}


/* ---- batched synchronous volume I/O ----------------------------------- */

#define MAX_BATCH 64

struct batch {
	struct swapfs *fs;
	struct thread_io *t;
	struct swe_io io[MAX_BATCH];
	unsigned n;
	int result;
};

static void batch_done(struct swe_io *io, int result)
{
	struct batch *b = io->priv;

	if (result && !b->result) {
		b->result = result;
		atomic_fetch_add(&b->fs->io_errors, 1);
		sw_err("I/O error: %s", io->errmsg);
	}
}

static int batch_wait(struct batch *b)
{
	int err = swe_ring_wait_all(b->t->ring);

	b->n = 0;
	if (err && !b->result)
		b->result = err;
	return b->result;
}

static int batch_add(struct batch *b, enum swe_op op, uint64_t voff,
		     uint64_t len, void *buf)
{
	struct swe_io *io;
	int err;

	if (b->n == MAX_BATCH && (err = batch_wait(b)))
		return err;
	io = &b->io[b->n++];
	*io = (struct swe_io){ .op = op, .offset = voff, .len = len, .buf = buf,
			       .cb = batch_done, .priv = b };
	err = swe_ring_submit(b->t->ring, io);
	if (err) {
		b->n--;
		sw_err("I/O request rejected: %s", io->errmsg);
		return b->result = err;
	}
	return 0;
}

/*
 * Read file range [s, e) (block aligned) into buf: written extents from
 * the volume, holes and unwritten extents as zeros.
 */
struct range_read { struct batch *b; uint64_t s; char *buf; };

static int read_piece(void *arg, uint64_t foff, uint64_t len, int64_t voff)
{
	struct range_read *r = arg;

	if (voff < 0) {
		memset(r->buf + (foff - r->s), 0, len);
		return 0;
	}
	return batch_add(r->b, SWE_READ, (uint64_t)voff, len, r->buf + (foff - r->s));
}

static int read_range(struct batch *b, const struct sw_inode *ino, uint64_t s,
		      uint64_t e, char *buf)
{
	struct range_read r = { b, s, buf };

	if (sw_ext_walk(ino, s, e, read_piece, &r))
		return b->result;
	return batch_wait(b);
}

int sw_read_sync(struct swapfs *fs, struct thread_io *t, const struct sw_inode *ino,
		 uint64_t s, uint64_t e, char *buf)
{
	struct batch b = { .fs = fs, .t = t };

	return read_range(&b, ino, s, e, buf);
}

/* ---- span writes ------------------------------------------------------ */

/* Is file block at foff backed by written data (needs read-modify-write)? */
static bool block_written(const struct sw_inode *ino, const struct new_run *runs,
			  size_t n, uint64_t foff)
{
	size_t i = sw_ext_find(ino, foff);

	return i < ino->next && ino->ext[i].foff <= foff &&
	       !(ino->ext[i].flags & SWF_EXT_UNWRITTEN) && !sw_in_new_run(runs, n, foff);
}

/*
 * Prepare buf (covering the AU span [as, ae)) for the file bytes
 * [lo, hi) it already holds at buf + (lo - as): zero what they do not
 * cover, read back old bytes of partial edge blocks that are written
 * data, and list the device writes: fresh/unwritten runs whole, written
 * extents over the block-aligned span of the data.
 */
static int prepare_span(struct batch *b, struct sw_inode *ino, const struct new_run *runs,
			size_t nruns, uint64_t as, uint64_t ae, uint64_t lo, uint64_t hi,
			char *buf, struct span_piece **out, size_t *nout)
{
	uint64_t s = down(lo, BLK), e = up(hi, BLK), head_v = 0, tail_v = 0;
	struct span_piece *pc = malloc((nruns + 2 * (ae - as) / BLK + 2) * sizeof(*pc));
	struct sw_meta *m = &b->fs->meta;
	char *old = NULL;
	size_t n = 0;
	bool head, tail;
	int err = 0;

	*out = NULL;
	if (!pc || posix_memalign((void **)&old, BLK, BLK)) {
		free(pc);
		return -ENOMEM;
	}
	memset(buf, 0, lo - as);
	memset(buf + (hi - as), 0, ae - hi);
	/*
	 * The table is read under the metadata lock: a failing write-behind
	 * or client write of this file may unmap its runs concurrently.
	 */
	pthread_mutex_lock(&m->lock);
	head = lo != s && block_written(ino, runs, nruns, s);
	tail = hi != e && (e - BLK != s || lo == s) && block_written(ino, runs, nruns, e - BLK);
	if (head)
		head_v = ino->ext[sw_ext_find(ino, s)].voff + (s - ino->ext[sw_ext_find(ino, s)].foff);
	if (tail)
		tail_v = ino->ext[sw_ext_find(ino, e - BLK)].voff +
			 (e - BLK - ino->ext[sw_ext_find(ino, e - BLK)].foff);
	for (size_t i = 0; i < nruns; i++)
		pc[n++] = (struct span_piece){ runs[i].voff, runs[i].len, buf + (runs[i].foff - as) };
	for (size_t i = sw_ext_find(ino, s); i < ino->next && ino->ext[i].foff < e; i++) {
		const struct sw_ext *x = &ino->ext[i];
		uint64_t xs = x->foff > s ? x->foff : s;
		uint64_t xe = x->foff + x->len < e ? x->foff + x->len : e;

		if ((x->flags & SWF_EXT_UNWRITTEN) || sw_in_new_run(runs, nruns, xs))
			continue;
		pc[n++] = (struct span_piece){ x->voff + (xs - x->foff), xe - xs, buf + (xs - as) };
	}
	pthread_mutex_unlock(&m->lock);
	/* old bytes around the data in its first and last block, if they exist */
	if (head) {
		if ((err = batch_add(b, SWE_READ, head_v, BLK, old)) || (err = batch_wait(b)))
			goto fail;
		memcpy(buf + (s - as), old, lo - s);
		if (e - BLK == s && hi != e)
			memcpy(buf + (hi - as), old + (hi - s), e - hi);
	}
	if (tail) {
		if ((err = batch_add(b, SWE_READ, tail_v, BLK, old)) || (err = batch_wait(b)))
			goto fail;
		memcpy(buf + (hi - as), old + (hi - (e - BLK)), e - hi);
	}
	free(old);
	*out = pc;
	*nout = n;
	return 0;
fail:
	free(old);
	free(pc);
	return err;
}

int sw_prepare_span(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino,
		    const struct new_run *runs, size_t nruns, uint64_t as, uint64_t ae,
		    uint64_t lo, uint64_t hi, char *buf, struct span_piece **out, size_t *nout)
{
	struct batch b = { .fs = fs, .t = t };

	return prepare_span(&b, ino, runs, nruns, as, ae, lo, hi, buf, out, nout);
}

/* Synchronous form: data copied in, pieces written, waited for. */
static int write_span(struct batch *b, struct sw_inode *ino, const struct new_run *runs,
		      size_t nruns, uint64_t as, uint64_t ae, uint64_t off,
		      uint64_t len, const char *data, char *buf)
{
	struct span_piece *pc;
	size_t n;
	int err;

	memcpy(buf + (off - as), data, len);
	err = prepare_span(b, ino, runs, nruns, as, ae, off, off + len, buf, &pc, &n);
	for (size_t i = 0; !err && i < n; i++)
		err = batch_add(b, SWE_WRITE, pc[i].voff, pc[i].len, pc[i].buf);
	free(pc);
	return err ? err : batch_wait(b);
}

/* Write len bytes at off (inode write lock held); updates size and times. */
int sw_write_locked(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino,
			const char *data, uint64_t off, uint64_t len, bool keep_size)
{
	struct sw_meta *m = &fs->meta;
	uint64_t au = fs->sb.alloc_unit, as = down(off, au), ae = up(off + len, au);
	struct batch b = { .fs = fs, .t = t };
	struct new_run *runs;
	size_t nruns;
	char *buf = sw_staging(t, ae - as);
	int err;

	if (!buf)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	err = sw_plan_allocation(fs, ino, as, ae, &runs, &nruns);
	if (!err)	/* the room the plan checked stays the runs' until they are mapped */
		err = sw_meta_room_hold(m, sw_runs_room(runs, nruns));
	if (err)
		sw_undo_allocation(fs, runs, nruns);
	pthread_mutex_unlock(&m->lock);
	if (err) {
		free(runs);
		return err;
	}
	err = write_span(&b, ino, runs, nruns, as, ae, off, len, data, buf);
	pthread_mutex_lock(&m->lock);
	sw_meta_room_unhold(m, sw_runs_room(runs, nruns));
	if (err) {
		sw_undo_allocation(fs, runs, nruns);
	} else {
		for (size_t i = 0; i < nruns && !err; i++)
			err = sw_ext_map(m, ino, runs[i].foff, runs[i].voff, runs[i].len, 0);
		if (!keep_size && off + len > ino->a.size)
			ino->a.size = off + len;
		ino->a.mtime_ns = ino->a.ctime_ns = sw_now_ns();
		sw_meta_dirty(m, ino);
	}
	pthread_mutex_unlock(&m->lock);
	free(runs);
	return err;
}

/*
 * writebehind.c - write-behind of FUSE writes: each file's staging chunk,
 * the space reserved for it as bytes come in, its send to the I/O thread
 * and completion there, the error sequence that reports a lost chunk to
 * every open file, and settling a file (nothing staged, nothing in
 * flight) before it is read or reshaped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/daemon/plan.h"
#include "fs/daemon/units.h"
#include "fs/daemon/writebehind.h"

/* ---- write-behind --------------------------------------------------------
 *
 * Each inode stages its latest bytes in one chunk: a stripe-unit-aligned
 * window of the file holding a contiguous byte range [lo, hi).  Writes that
 * extend or overlap that range are copied in and acknowledged at once; a
 * full chunk, a write elsewhere, fsync, close, truncate or a read sends the
 * chunk to the I/O thread.  Its extents enter the table when it is sent
 * (so nothing allocates them twice) but reach the log only after the write
 * completes (inode->inflight), and readers wait for in-flight writes.
 *
 * A staged write is acknowledged, so it must not fail later for want of
 * space: the allocation units a chunk will need are reserved in the
 * allocator as its bytes come in, and so is the table room their extents
 * will take (sw_meta_room_hold: a full metadata area refuses the write,
 * not the chunk's send); the write itself gets ENOSPC when they cannot be,
 * and leaves no trace.  Both are handed back to the allocation and its
 * room check when the chunk is sent.
 * If its bytes are lost all the same (a device error, no memory), the
 * error goes into the inode's error sequence, which every open file
 * reports once at its next fsync, once at its next close and once at its
 * next write (struct sw_errseen), and the file's size goes back to where
 * it was before those bytes extended it: it never covers bytes that were
 * not stored.
 */
struct sw_chunk {
	uint64_t foff;		/* aligned to the stripe unit */
	uint64_t lo, hi;	/* valid file bytes [lo, hi) */
	uint64_t size0;		/* the file's size when the chunk was started */
	uint64_t resv;		/* allocation units reserved for it */
	uint64_t room;		/* table bytes held for its extents (sw_meta_room_hold) */
	char *buf;		/* stripe unit bytes from the arena */
};

/* Staged bytes lost: the size above floor up to hi came with them. */
struct sw_lost { uint64_t floor, hi; };

/*
 * Chunk c of ino was acknowledged but could not be stored (meta lock
 * held): every open file is told at its next fsync and close, and the
 * size no longer covers the lost bytes where they extended the file.
 * Lost ranges are kept until the inode settles (wb_drain), so a range
 * lost earlier that a later lost one ended up exposing is taken back too.
 */
static void wb_lost(struct swapfs *fs, struct sw_inode *ino, const struct sw_chunk *c, int error)
{
	struct sw_lost l = { c->size0 > c->lo ? c->size0 : c->lo, c->hi }, *nl;
	bool again = true;

	sw_dn(ino)->wb_error = error;
	sw_dn(ino)->wb_errseq++;
	sw_dn(ino)->wb_error_seen = false;
	nl = realloc(sw_dn(ino)->wb_lost, (sw_dn(ino)->nwb_lost + 1) * sizeof(*nl));
	if (nl) {
		sw_dn(ino)->wb_lost = nl;
		nl[sw_dn(ino)->nwb_lost++] = l;
	}
	while (again) {
		again = false;
		for (size_t i = 0; i <= sw_dn(ino)->nwb_lost; i++) {
			const struct sw_lost *x = i < sw_dn(ino)->nwb_lost ? &sw_dn(ino)->wb_lost[i] : &l;

			if (x->floor < ino->a.size && ino->a.size <= x->hi) {
				ino->a.size = x->floor;
				again = true;
			}
		}
	}
	sw_meta_dirty(&fs->meta, ino);
}

uint32_t sw_errseq_sample(const struct sw_inode *ino)
{
	return sw_dn(ino)->wb_errseq - (sw_dn(ino)->wb_errseq && !sw_dn(ino)->wb_error_seen);
}

int sw_wb_error(struct swapfs *fs, struct sw_inode *ino, uint32_t *seen)
{
	int err = 0;

	pthread_mutex_lock(&fs->meta.lock);
	if (*seen != sw_dn(ino)->wb_errseq) {
		err = sw_dn(ino)->wb_error;
		*seen = sw_dn(ino)->wb_errseq;
		sw_dn(ino)->wb_error_seen = true;
	}
	pthread_mutex_unlock(&fs->meta.lock);
	return err;
}

/*
 * Allocation units of [as, ae) that are holes in ino's map, and the table
 * bytes their mapping may add at most (meta lock held): a hole's units may
 * come as that many runs of one extent each, an unwritten extent is one
 * conversion of two (sw_runs_room).
 */
static uint64_t hole_units(const struct sw_inode *ino, uint64_t as, uint64_t ae, uint64_t au,
			   uint64_t *room)
{
	uint64_t n = 0, at = as, conv = 0;

	for (size_t i = sw_ext_find(ino, as); i < ino->next && ino->ext[i].foff < ae; i++) {
		const struct sw_ext *x = &ino->ext[i];

		if (x->foff > at)
			n += x->foff - at;
		if (x->foff + x->len > at)
			at = x->foff + x->len;
		if ((x->flags & SWF_EXT_UNWRITTEN) && x->foff + x->len > as)
			conv++;
	}
	if (at < ae)
		n += ae - at;
	*room = (n / au + 2 * conv) * sw_meta_cost_extent();
	return n / au;
}

/*
 * Reserve what chunk c will allocate once it holds [lo, hi), and the
 * table room its extents will take: the write that brings those bytes
 * gets ENOSPC now rather than lose them later (when the chunk is sent).
 * On failure c keeps what it held before.
 */
static int wb_reserve(struct swapfs *fs, struct sw_inode *ino, struct sw_chunk *c,
		      uint64_t lo, uint64_t hi)
{
	struct sw_meta *m = &fs->meta;
	uint64_t au = fs->sb.alloc_unit, need, room;
	int err = 0;

	pthread_mutex_lock(&m->lock);
	need = hole_units(ino, down(lo, au), up(hi, au), au, &room);
	if (need > c->resv) {
		err = sw_alloc_reserve(&m->alloc, need - c->resv);
		/* space freed by records not yet committed: commit, as sw_plan_allocation does */
		if (err == -ENOSPC && m->npending_free && !sw_meta_commit(m, false))
			err = sw_alloc_reserve(&m->alloc, need - c->resv);
		if (!err && room > c->room && (err = sw_meta_room_hold(m, room - c->room)))
			sw_alloc_unreserve(&m->alloc, need - c->resv);
		if (!err) {
			c->resv = need;
			if (room > c->room)
				c->room = room;
		}
	} else if (room > c->room && !(err = sw_meta_room_hold(m, room - c->room))) {
		c->room = room;
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

struct wb_ctx {
	struct swapfs *fs;
	struct sw_inode *ino;
	struct sw_chunk *c;
	struct new_run *runs;
	size_t nruns;
};

/* Completion of a staged chunk's writes, on the I/O thread. */
static void wb_done(struct sw_job *job, int error)
{
	struct wb_ctx *w = job->priv;
	struct swapfs *fs = w->fs;
	struct sw_meta *m = &fs->meta;

	pthread_mutex_lock(&m->lock);
	if (error) {
		atomic_fetch_add(&fs->io_errors, 1);
		sw_err("write-behind of inode %llu failed: %s",
		       (unsigned long long)w->ino->a.ino, swe_io_errmsg(job->io, job->nio, error));
		/* fresh space must never show what the failed write left there */
		sw_unmap_runs(fs, w->ino, w->runs, w->nruns);
		wb_lost(fs, w->ino, w->c, error);
	}
	w->ino->inflight--;
	fs->inflight_total--;
	swe_arena_free(fs->arena, w->c->buf);
	pthread_cond_broadcast(&fs->io_cond);
	pthread_mutex_unlock(&m->lock);
	free(w->c);
	free(w->runs);
	free(w);
	free(job);
}

/* Wait until no write (write-behind or client) and no client read of ino is in flight. */
static void wait_inflight(struct swapfs *fs, struct sw_inode *ino)
{
	pthread_mutex_lock(&fs->meta.lock);
	while (ino->inflight || sw_dn(ino)->client_reads)
		pthread_cond_wait(&fs->io_cond, &fs->meta.lock);
	pthread_mutex_unlock(&fs->meta.lock);
}

void sw_wait_client_writes(struct swapfs *fs, struct sw_inode *ino)
{
	pthread_mutex_lock(&fs->meta.lock);
	while (sw_dn(ino)->client_inflight)
		pthread_cond_wait(&fs->io_cond, &fs->meta.lock);
	pthread_mutex_unlock(&fs->meta.lock);
}

/* Send ino's staged chunk to the I/O thread (inode write lock held). */
static int wb_flush(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino)
{
	struct sw_chunk *c = sw_dn(ino)->wb;
	struct sw_meta *m = &fs->meta;
	uint64_t au = fs->sb.alloc_unit, as, ae;
	struct wb_ctx *w = NULL;
	struct sw_job *job = NULL;
	struct new_run *runs = NULL;
	struct span_piece *pc = NULL;
	size_t nruns = 0, n = 0;
	uint64_t held = 0;
	int err;

	if (!c)
		return 0;
	sw_dn(ino)->wb = NULL;
	as = down(c->lo, au);
	ae = up(c->hi, au);
	/* a client write's zero padding of a unit this chunk shares must land first */
	sw_wait_client_writes(fs, ino);
	/* partial edge blocks are read back: writes in flight may hold them */
	if (c->lo % BLK || c->hi % BLK)
		wait_inflight(fs, ino);
	pthread_mutex_lock(&m->lock);
	sw_alloc_unreserve(&m->alloc, c->resv);	/* what the allocation below takes */
	c->resv = 0;
	sw_meta_room_unhold(m, c->room);	/* what its check below takes */
	c->room = 0;
	err = sw_plan_allocation(fs, ino, as, ae, &runs, &nruns);
	if (!err) {	/* the room the plan checked stays the runs' until they are mapped */
		held = sw_runs_room(runs, nruns);
		if ((err = sw_meta_room_hold(m, held)))
			held = 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (!err)
		err = sw_prepare_span(fs, t, ino, runs, nruns, as, ae, c->lo, c->hi,
				      c->buf + (as - c->foff), &pc, &n);
	if (!err) {
		job = sw_job_new((unsigned)n);
		w = calloc(1, sizeof(*w));
		if (!job || !w)
			err = -ENOMEM;
	}
	/*
	 * Writes to the same bytes stay in order because they go to the same
	 * member's I/O thread; a chunk whose extents span members cannot
	 * promise that, so it first waits for the file's earlier writes.
	 */
	for (size_t i = 1; !err && i < n; i++)
		if (sw_io_for(fs, pc[i].voff) != sw_io_for(fs, pc[0].voff)) {
			wait_inflight(fs, ino);
			break;
		}
	pthread_mutex_lock(&m->lock);
	sw_meta_room_unhold(m, held);
	if (err) {
		/*
		 * The chunk held bytes of earlier writes that were acknowledged:
		 * they are lost, so fsync and close must say so, not only this call.
		 */
		sw_err("write-behind of inode %llu failed: %s", (unsigned long long)ino->a.ino,
		       strerror(-err));
		sw_undo_allocation(fs, runs, nruns);
		wb_lost(fs, ino, c, err);
		swe_arena_free(fs->arena, c->buf);
		pthread_cond_broadcast(&fs->io_cond);
		pthread_mutex_unlock(&m->lock);
		free(c);
		free(runs);
		free(pc);
		free(job);
		free(w);
		return err;
	}
	for (size_t i = 0; i < nruns && !err; i++)
		err = sw_ext_map(m, ino, runs[i].foff, runs[i].voff, runs[i].len, 0);
	ino->inflight++;
	fs->inflight_total++;
	pthread_mutex_unlock(&m->lock);
	*w = (struct wb_ctx){ fs, ino, c, runs, nruns };
	for (size_t i = 0; i < n; i++)
		job->io[i] = (struct swe_io){ .op = SWE_WRITE, .offset = pc[i].voff,
					      .len = pc[i].len, .buf = pc[i].buf };
	free(pc);
	job->done = wb_done;
	job->priv = w;
	if (err && !job->error)
		job->error = err;
	sw_iothread_submit(sw_io_for(fs, n ? job->io[0].offset : 0), job);
	return 0;
}

/* Flush the staged chunk and wait for the inode's writes (write lock held). */
static int wb_drain(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino)
{
	int err = wb_flush(fs, t, ino);

	wait_inflight(fs, ino);
	pthread_mutex_lock(&fs->meta.lock);	/* settled: no lost range can be exposed any more */
	free(sw_dn(ino)->wb_lost);
	sw_dn(ino)->wb_lost = NULL;
	sw_dn(ino)->nwb_lost = 0;
	pthread_mutex_unlock(&fs->meta.lock);
	return err;
}

int sw_wb_sync(struct swapfs *fs, struct sw_inode *ino, uint32_t *seen)
{
	struct thread_io *t = sw_thread_io(fs);
	int err;

	if (!t)
		return -ENOMEM;
	err = wb_drain(fs, t, ino);	/* a lost chunk is in the error sequence too */
	return seen ? sw_wb_error(fs, ino, seen) : err;
}

/* A staging buffer, waiting for in-flight writes to free one; NULL if none will. */
static char *staging_chunk(struct swapfs *fs)
{
	void *buf = NULL;

	pthread_mutex_lock(&fs->meta.lock);
	while (swe_arena_alloc(fs->arena, chunk_size(fs), &buf) == -ENOMEM) {
		buf = NULL;
		if (!fs->inflight_total)
			break;
		pthread_cond_wait(&fs->io_cond, &fs->meta.lock);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	return buf;
}

uint64_t sw_wb_write(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino,
		     const char *data, uint64_t off, uint64_t len, int *errp, bool *lostp)
{
	uint64_t ch = chunk_size(fs), start = off, end = off + len, taken = off;
	int err = 0;

	sw_ra_release(fs, ino);	/* what was read ahead may be about to change */
	while (off < end && !err) {
		uint64_t base = down(off, ch), n = end - off < base + ch - off ? end - off : base + ch - off;
		struct sw_chunk *c = sw_dn(ino)->wb;

		if (c && (c->foff != base || off > c->hi || off + n < c->lo)) {
			if ((err = wb_flush(fs, t, ino))) {
				*lostp = true;
				break;
			}
			c = NULL;
		}
		if (!c) {
			char *buf = staging_chunk(fs);

			c = buf ? malloc(sizeof(*c)) : NULL;
			if (!c) {
				/* no staging memory will come free: write through */
				if (buf)
					swe_arena_free(fs->arena, buf);
				wait_inflight(fs, ino);
				err = sw_write_locked(fs, t, ino, data, off, n, false);
				if (!err)
					taken = off + n;
				off += n;
				data += n;
				continue;
			}
			pthread_mutex_lock(&fs->meta.lock);
			*c = (struct sw_chunk){ .foff = base, .lo = off, .hi = off,
						.size0 = ino->a.size, .buf = buf };
			pthread_mutex_unlock(&fs->meta.lock);
			sw_dn(ino)->wb = c;
		}
		err = wb_reserve(fs, ino, c, off < c->lo ? off : c->lo, off + n > c->hi ? off + n : c->hi);
		if (err) {
			if (c->lo == c->hi) {	/* nothing staged in it yet */
				sw_dn(ino)->wb = NULL;
				pthread_mutex_lock(&fs->meta.lock);
				sw_alloc_unreserve(&fs->meta.alloc, c->resv);
				sw_meta_room_unhold(&fs->meta, c->room);
				pthread_mutex_unlock(&fs->meta.lock);
				swe_arena_free(fs->arena, c->buf);
				free(c);
			}
			break;	/* refused: the size does not cover these bytes */
		}
		memcpy(c->buf + (off - base), data, n);
		if (off < c->lo)
			c->lo = off;
		if (off + n > c->hi)
			c->hi = off + n;
		pthread_mutex_lock(&fs->meta.lock);
		if (off + n > ino->a.size)
			ino->a.size = off + n;
		pthread_mutex_unlock(&fs->meta.lock);
		if (c->lo == base && c->hi == base + ch && (err = wb_flush(fs, t, ino))) {
			*lostp = true;	/* these bytes too */
			break;
		}
		off += n;
		data += n;
		taken = off;
	}
	pthread_mutex_lock(&fs->meta.lock);
	if (taken > start) {
		ino->a.mtime_ns = ino->a.ctime_ns = sw_now_ns();
		sw_meta_dirty(&fs->meta, ino);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	*errp = err;
	return taken - start;
}

/* Before reading or reshaping a file: nothing staged, nothing in flight. */
int sw_settle(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino)
{
	bool busy;

	sw_ra_release(fs, ino);
	pthread_mutex_lock(&fs->meta.lock);
	busy = sw_dn(ino)->wb || ino->inflight || sw_dn(ino)->client_reads;
	pthread_mutex_unlock(&fs->meta.lock);
	return busy ? wb_drain(fs, t, ino) : 0;
}

bool sw_writes_pending(struct swapfs *fs, const struct sw_inode *ino)
{
	bool pending;

	pthread_mutex_lock(&fs->meta.lock);
	pending = sw_dn(ino)->wb || ino->inflight;
	pthread_mutex_unlock(&fs->meta.lock);
	return pending;
}

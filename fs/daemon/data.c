/*
 * data.c - file data through the engine: read, write, truncate, fallocate
 * and SEEK_DATA/SEEK_HOLE.
 *
 * Files own extents of whole allocation units (AU).  A fresh AU is always
 * written whole, zero-padded around the caller's bytes, so no AU ever
 * exposes bytes from an earlier owner; bytes past EOF inside an AU are
 * kept zero by truncate.  New extents enter the table only after their
 * data is written, and reach the log at the next commit, after the data
 * (meta.c decides that order).  Writers hold the inode's write lock, then
 * the metadata lock for the table change; readers share the inode lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/daemon/data.h"
#include "fs/daemon/inode.h"

/* Staging and read-ahead work in stripe units: one member, one request. */
static uint64_t chunk_size(const struct swapfs *fs)
{
	return fs->sb.stripe_unit;
}

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

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (swe_ring_create(&t->ring, fs->vol, fs->arena, &ro)) {
		sw_err("cannot create an io_uring ring: %s", swe_errmsg());
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
		sw_err("I/O error: %s", swe_errmsg());
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
		sw_err("I/O request rejected: %s", swe_errmsg());
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

/* ---- read-ahead ----------------------------------------------------------
 *
 * A sequential reader of a large file gets a window of stripe-unit chunks
 * read ahead through the I/O thread, so every member has several reads in
 * flight from the first request on.  Chunks hold file bytes (holes as
 * zeros); the window slides forward as the reader consumes it.  Any change
 * to the file drops the window (ra_drop) after its reads have finished.
 * State is guarded by the metadata lock; completions signal io_cond.
 */
#define RA_SLOTS 32

enum { RA_EMPTY, RA_READING, RA_READY };

struct ra_chunk {
	uint64_t foff;
	char *buf;
	int state, error;
	unsigned pins;		/* replies being sent straight from buf */
};

struct sw_ra {
	struct ra_chunk c[RA_SLOTS];
	unsigned reading, pinned;
};

/* A chunk a reply is sent from, held until the reply is out. */
struct ra_pin {
	struct sw_ra *ra;
	struct ra_chunk *c;
};

struct ra_ctx {
	struct swapfs *fs;
	struct sw_ra *ra;
	struct ra_chunk *c;
};

static void ra_done(struct sw_job *job, int error)
{
	struct ra_ctx *x = job->priv;
	struct swapfs *fs = x->fs;

	pthread_mutex_lock(&fs->meta.lock);
	x->c->state = RA_READY;
	x->c->error = error;
	x->ra->reading--;
	pthread_cond_broadcast(&fs->io_cond);
	pthread_mutex_unlock(&fs->meta.lock);
	if (error) {
		atomic_fetch_add(&fs->io_errors, 1);
		sw_err("read-ahead: %s", swe_errmsg()[0] ? swe_errmsg() : strerror(-error));
	}
	free(x);
	free(job);
}

/* Start reading the chunk at base into slot c (meta lock held). */
static int ra_start(struct swapfs *fs, struct sw_inode *ino, struct sw_ra *ra,
		    struct ra_chunk *c, uint64_t base)
{
	uint64_t ch = chunk_size(fs), e = up(base + ch < ino->a.size ? base + ch : ino->a.size, BLK);
	struct ra_ctx *x;
	struct sw_job *job;
	unsigned n = 0;

	if (!c->buf && swe_arena_alloc(fs->arena, ch, (void **)&c->buf))
		return -ENOMEM;
	memset(c->buf, 0, ch);
	for (size_t i = sw_ext_find(ino, base); i < ino->next && ino->ext[i].foff < e; i++)
		n++;
	job = sw_job_new(n);
	x = malloc(sizeof(*x));
	if (!job || !x) {
		free(job);
		free(x);
		return -ENOMEM;
	}
	n = 0;
	for (size_t i = sw_ext_find(ino, base); i < ino->next && ino->ext[i].foff < e; i++) {
		const struct sw_ext *xt = &ino->ext[i];
		uint64_t xs = xt->foff > base ? xt->foff : base;
		uint64_t xe = xt->foff + xt->len < e ? xt->foff + xt->len : e;

		if (xt->flags & SWF_EXT_UNWRITTEN)
			continue;
		job->io[n++] = (struct swe_io){ .op = SWE_READ, .offset = xt->voff + (xs - xt->foff),
						.len = xe - xs, .buf = c->buf + (xs - base) };
	}
	job->nio = n;
	c->foff = base;
	c->state = RA_READING;
	c->error = 0;
	ra->reading++;
	*x = (struct ra_ctx){ fs, ra, c };
	job->done = ra_done;
	job->priv = x;
	sw_iothread_submit(sw_io_for(fs, n ? job->io[0].offset : 0), job);
	return 0;
}

static struct ra_chunk *ra_find(struct sw_ra *ra, uint64_t base)
{
	for (int i = 0; i < RA_SLOTS; i++)
		if (ra->c[i].state != RA_EMPTY && ra->c[i].foff == base)
			return &ra->c[i];
	return NULL;
}

/* A slot to (re)use: empty, else the ready chunk furthest behind the reader. */
static struct ra_chunk *ra_slot(struct sw_ra *ra, uint64_t reader)
{
	struct ra_chunk *best = NULL;

	for (int i = 0; i < RA_SLOTS; i++) {
		struct ra_chunk *c = &ra->c[i];

		if (c->state == RA_EMPTY)
			return c;
		if (c->state == RA_READY && !c->pins && c->foff < reader &&
		    (!best || c->foff < best->foff))
			best = c;
	}
	return best;
}

/* Drop ino's window once its reads are done (inode write lock or last user). */
static void ra_drop(struct swapfs *fs, struct sw_inode *ino)
{
	struct sw_ra *ra = ino->ra;

	if (!ra)
		return;
	pthread_mutex_lock(&fs->meta.lock);
	while (ra->reading || ra->pinned)
		pthread_cond_wait(&fs->io_cond, &fs->meta.lock);
	for (int i = 0; i < RA_SLOTS; i++)
		if (ra->c[i].buf)
			swe_arena_free(fs->arena, ra->c[i].buf);
	ino->ra = NULL;
	pthread_cond_broadcast(&fs->io_cond);	/* staging space came free */
	pthread_mutex_unlock(&fs->meta.lock);
	free(ra);
}

void sw_ra_release(struct swapfs *fs, struct sw_inode *ino)
{
	ra_drop(fs, ino);
}

static void ra_unpin(struct swapfs *fs, struct ra_pin *p)
{
	pthread_mutex_lock(&fs->meta.lock);
	p->c->pins--;
	p->ra->pinned--;
	pthread_cond_broadcast(&fs->io_cond);
	pthread_mutex_unlock(&fs->meta.lock);
}

/*
 * Serve [off, off+n) from the window (inode read lock held, n > 0, the
 * range inside the file).  Returns 1 if served, 0 if the caller should
 * read directly, or a negative errno.  A range inside one chunk is not
 * copied: *direct points into the chunk, pinned (pin) until ra_unpin;
 * otherwise the bytes are copied into out and *direct is out.
 */
static int ra_read(struct swapfs *fs, struct sw_inode *ino, uint64_t off, uint64_t n,
		   char *out, const char **direct, struct ra_pin *pin)
{
	uint64_t ch = chunk_size(fs), first = down(off, ch), last = down(off + n - 1, ch);
	struct sw_meta *m = &fs->meta;
	struct sw_ra *ra;
	int err = 0;

	if (ino->a.size < 4 * ch)
		return 0;	/* small files: one direct read is as good */
	pthread_mutex_lock(&m->lock);
	ra = ino->ra;
	if (!ra && !(ra = ino->ra = calloc(1, sizeof(*ra)))) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	/* what this request needs, then the window ahead of it */
	for (uint64_t b = first; b < ino->a.size && b < last + RA_SLOTS / 2 * ch; b += ch) {
		struct ra_chunk *c;

		if (ra_find(ra, b))
			continue;
		c = ra_slot(ra, first);
		if (!c || ra_start(fs, ino, ra, c, b)) {
			if (b <= last)
				err = 1;	/* no room for what we need: read directly */
			break;
		}
	}
	for (uint64_t b = first; !err && b <= last; b += ch) {
		struct ra_chunk *c;

		while ((c = ra_find(ra, b)) && c->state == RA_READING)
			pthread_cond_wait(&fs->io_cond, &m->lock);
		if (!c) {
			err = 1;
			break;
		}
		if (c->error) {
			err = c->error;
			c->state = RA_EMPTY;
			break;
		}
		if (first == last) {	/* the reply goes straight from the chunk */
			c->pins++;
			ra->pinned++;
			*pin = (struct ra_pin){ ra, c };
			*direct = c->buf + (off - b);
		} else {
			uint64_t s = off > b ? off : b, e = off + n < b + ch ? off + n : b + ch;

			memcpy(out + (s - off), c->buf + (s - b), e - s);
			*direct = out;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return err == 1 ? 0 : err < 0 ? err : 1;
}

bool sw_writes_pending(struct swapfs *fs, const struct sw_inode *ino)
{
	bool pending;

	pthread_mutex_lock(&fs->meta.lock);
	pending = ino->wb || ino->inflight;
	pthread_mutex_unlock(&fs->meta.lock);
	return pending;
}

void sw_read(fuse_req_t req, fuse_ino_t ino_nr, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct thread_io *t = sw_thread_io(fs);
	struct batch b = { .fs = fs, .t = t };
	struct ra_pin pin = {0};
	const char *from = NULL;
	struct sw_inode *ino;
	uint64_t s, e, n;
	char *buf;
	int err;

	(void)fi;
	ino = sw_inode_lookup(fs, ino_nr);
	if (!ino || !t) {
		fuse_reply_err(req, ino ? ENOMEM : ENOENT);
		return;
	}
	pthread_rwlock_rdlock(&ino->rw);
	while (sw_writes_pending(fs, ino)) {	/* the bytes being written first */
		pthread_rwlock_unlock(&ino->rw);
		pthread_rwlock_wrlock(&ino->rw);
		sw_settle(fs, t, ino);
		pthread_rwlock_unlock(&ino->rw);
		pthread_rwlock_rdlock(&ino->rw);
	}
	n = (uint64_t)off >= ino->a.size ? 0 : ino->a.size - (uint64_t)off;
	if (n > size)
		n = size;
	if (!n) {
		pthread_rwlock_unlock(&ino->rw);
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	s = down((uint64_t)off, BLK);
	e = up((uint64_t)off + n, BLK);
	buf = sw_staging(t, e - s);
	err = buf ? ra_read(fs, ino, (uint64_t)off, n, buf, &from, &pin) : -ENOMEM;
	if (err == 1) {
		pthread_rwlock_unlock(&ino->rw);
		fuse_reply_buf(req, from, n);
		if (pin.c)
			ra_unpin(fs, &pin);
		return;
	}
	if (!err)
		err = read_range(&b, ino, s, e, buf);
	pthread_rwlock_unlock(&ino->rw);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, buf + ((uint64_t)off - s), n);
}

/* ---- write ------------------------------------------------------------- */

/*
 * Ensure every AU of [as, ae) is mapped; fresh AUs are allocated (not yet
 * in the table) and unwritten ones noted for conversion.  Called with the
 * metadata lock held.
 */
int sw_plan_allocation(struct swapfs *fs, struct sw_inode *ino, uint64_t as,
			   uint64_t ae, struct new_run **runs, size_t *nruns)
{
	struct sw_meta *m = &fs->meta;
	uint64_t au = fs->sb.alloc_unit, at = as;
	size_t cap = 0;

	*runs = NULL;
	*nruns = 0;
	while (at < ae) {
		size_t i = sw_ext_find(ino, at);
		const struct sw_ext *x = i < ino->next ? &ino->ext[i] : NULL;
		uint64_t gap_end = x && x->foff < ae ? x->foff : ae;
		struct new_run r;

		if (x && x->foff <= at) {	/* mapped */
			uint64_t xe = x->foff + x->len < ae ? x->foff + x->len : ae;

			if (x->flags & SWF_EXT_UNWRITTEN)
				r = (struct new_run){ at, x->voff + (at - x->foff), xe - at, true };
			else {
				at = xe;
				continue;
			}
			at = xe;
		} else {			/* hole up to gap_end: allocate */
			uint64_t first;
			int64_t got = sw_alloc_run(&m->alloc, (gap_end - at) / au, &first);

			/*
			 * Space freed by records not yet committed is reusable
			 * once they are: commit now rather than fail (as ext4
			 * forces a journal commit before its ENOSPC).
			 */
			if (got == -ENOSPC && m->npending_free && !sw_meta_commit(m, false))
				got = sw_alloc_run(&m->alloc, (gap_end - at) / au, &first);
			if (got < 0)
				return (int)got;
			r = (struct new_run){ at, first * au, (uint64_t)got * au, false };
			at += r.len;
		}
		if (*nruns == cap) {
			struct new_run *nr = realloc(*runs, (cap = cap ? cap * 2 : 8) * sizeof(*nr));

			if (!nr)
				return -ENOMEM;
			*runs = nr;
		}
		(*runs)[(*nruns)++] = r;
	}
	/*
	 * A checkpoint of the table with the runs' extents must still fit,
	 * or the write is ENOSPC as for a full volume.
	 */
	if (*nruns && sw_meta_room_reserved(m, sw_runs_room(*runs, *nruns))) {
		sw_undo_allocation(fs, *runs, *nruns);
		free(*runs);
		*runs = NULL;
		*nruns = 0;
		return -ENOSPC;
	}
	return 0;
}

/*
 * Table bytes that mapping runs may add: a fresh run fills a hole (one
 * extent), a conversion may split an unwritten extent (two more).
 */
uint64_t sw_runs_room(const struct new_run *runs, size_t n)
{
	uint64_t ext = 0;

	for (size_t i = 0; i < n; i++)
		ext += runs[i].convert ? 2 : 1;
	return ext * sw_meta_cost_extent();
}

void sw_undo_allocation(struct swapfs *fs, struct new_run *runs, size_t n)
{
	uint64_t au = fs->sb.alloc_unit;

	for (size_t i = 0; i < n; i++)
		if (!runs[i].convert)
			sw_alloc_free(&fs->meta.alloc, runs[i].voff / au, runs[i].len / au);
}

void sw_unmap_runs(struct swapfs *fs, struct sw_inode *ino, const struct new_run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (runs[i].convert)
			sw_ext_map(&fs->meta, ino, runs[i].foff, runs[i].voff, runs[i].len,
				   SWF_EXT_UNWRITTEN);
		else
			sw_ext_unmap(&fs->meta, ino, runs[i].foff, runs[i].len);
}

bool sw_in_new_run(const struct new_run *runs, size_t n, uint64_t foff)
{
	for (size_t i = 0; i < n; i++)
		if (foff >= runs[i].foff && foff < runs[i].foff + runs[i].len)
			return true;
	return false;
}

/* Is file block at foff backed by written data (needs read-modify-write)? */
static bool block_written(const struct sw_inode *ino, const struct new_run *runs,
			  size_t n, uint64_t foff)
{
	size_t i = sw_ext_find(ino, foff);

	return i < ino->next && ino->ext[i].foff <= foff &&
	       !(ino->ext[i].flags & SWF_EXT_UNWRITTEN) && !sw_in_new_run(runs, n, foff);
}

/* One device write of a span: volume range and where its bytes are in the buffer. */
struct piece { uint64_t voff, len; char *buf; };

/*
 * Prepare buf (covering the AU span [as, ae)) for the file bytes
 * [lo, hi) it already holds at buf + (lo - as): zero what they do not
 * cover, read back old bytes of partial edge blocks that are written
 * data, and list the device writes: fresh/unwritten runs whole, written
 * extents over the block-aligned span of the data.
 */
static int prepare_span(struct batch *b, struct sw_inode *ino, const struct new_run *runs,
			size_t nruns, uint64_t as, uint64_t ae, uint64_t lo, uint64_t hi,
			char *buf, struct piece **out, size_t *nout)
{
	uint64_t s = down(lo, BLK), e = up(hi, BLK), head_v = 0, tail_v = 0;
	struct piece *pc = malloc((nruns + 2 * (ae - as) / BLK + 2) * sizeof(*pc));
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
		pc[n++] = (struct piece){ runs[i].voff, runs[i].len, buf + (runs[i].foff - as) };
	for (size_t i = sw_ext_find(ino, s); i < ino->next && ino->ext[i].foff < e; i++) {
		const struct sw_ext *x = &ino->ext[i];
		uint64_t xs = x->foff > s ? x->foff : s;
		uint64_t xe = x->foff + x->len < e ? x->foff + x->len : e;

		if ((x->flags & SWF_EXT_UNWRITTEN) || sw_in_new_run(runs, nruns, xs))
			continue;
		pc[n++] = (struct piece){ x->voff + (xs - x->foff), xe - xs, buf + (xs - as) };
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

/* Synchronous form: data copied in, pieces written, waited for. */
static int write_span(struct batch *b, struct sw_inode *ino, const struct new_run *runs,
		      size_t nruns, uint64_t as, uint64_t ae, uint64_t off,
		      uint64_t len, const char *data, char *buf)
{
	struct piece *pc;
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

	ino->wb_error = error;
	ino->wb_errseq++;
	ino->wb_error_seen = false;
	nl = realloc(ino->wb_lost, (ino->nwb_lost + 1) * sizeof(*nl));
	if (nl) {
		ino->wb_lost = nl;
		nl[ino->nwb_lost++] = l;
	}
	while (again) {
		again = false;
		for (size_t i = 0; i <= ino->nwb_lost; i++) {
			const struct sw_lost *x = i < ino->nwb_lost ? &ino->wb_lost[i] : &l;

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
	return ino->wb_errseq - (ino->wb_errseq && !ino->wb_error_seen);
}

int sw_wb_error(struct swapfs *fs, struct sw_inode *ino, uint32_t *seen)
{
	int err = 0;

	pthread_mutex_lock(&fs->meta.lock);
	if (*seen != ino->wb_errseq) {
		err = ino->wb_error;
		*seen = ino->wb_errseq;
		ino->wb_error_seen = true;
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
		       (unsigned long long)w->ino->a.ino, swe_errmsg()[0] ? swe_errmsg() : strerror(-error));
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
	while (ino->inflight || ino->client_reads)
		pthread_cond_wait(&fs->io_cond, &fs->meta.lock);
	pthread_mutex_unlock(&fs->meta.lock);
}

void sw_wait_client_writes(struct swapfs *fs, struct sw_inode *ino)
{
	pthread_mutex_lock(&fs->meta.lock);
	while (ino->client_inflight)
		pthread_cond_wait(&fs->io_cond, &fs->meta.lock);
	pthread_mutex_unlock(&fs->meta.lock);
}

/* Send ino's staged chunk to the I/O thread (inode write lock held). */
static int wb_flush(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino)
{
	struct sw_chunk *c = ino->wb;
	struct sw_meta *m = &fs->meta;
	uint64_t au = fs->sb.alloc_unit, as, ae;
	struct batch b = { .fs = fs, .t = t };
	struct wb_ctx *w = NULL;
	struct sw_job *job = NULL;
	struct new_run *runs = NULL;
	struct piece *pc = NULL;
	size_t nruns = 0, n = 0;
	uint64_t held = 0;
	int err;

	if (!c)
		return 0;
	ino->wb = NULL;
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
		err = prepare_span(&b, ino, runs, nruns, as, ae, c->lo, c->hi,
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
	free(ino->wb_lost);
	ino->wb_lost = NULL;
	ino->nwb_lost = 0;
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

/*
 * Stage len bytes at off (inode write lock held).  Returns how many were
 * taken, from off on; *errp says why not all, *lostp whether staged bytes
 * were lost on the way.  The size covers taken bytes before their chunk
 * can be sent, so a failure of that chunk takes them back.
 */
static uint64_t wb_write(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino,
			 const char *data, uint64_t off, uint64_t len, int *errp, bool *lostp)
{
	uint64_t ch = chunk_size(fs), start = off, end = off + len, taken = off;
	int err = 0;

	ra_drop(fs, ino);	/* what was read ahead may be about to change */
	while (off < end && !err) {
		uint64_t base = down(off, ch), n = end - off < base + ch - off ? end - off : base + ch - off;
		struct sw_chunk *c = ino->wb;

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
			ino->wb = c;
		}
		err = wb_reserve(fs, ino, c, off < c->lo ? off : c->lo, off + n > c->hi ? off + n : c->hi);
		if (err) {
			if (c->lo == c->hi) {	/* nothing staged in it yet */
				ino->wb = NULL;
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

	ra_drop(fs, ino);
	pthread_mutex_lock(&fs->meta.lock);
	busy = ino->wb || ino->inflight || ino->client_reads;
	pthread_mutex_unlock(&fs->meta.lock);
	return busy ? wb_drain(fs, t, ino) : 0;
}

/*
 * A write by anyone but root drops setuid (and setgid where group-executable),
 * as the kernel filesystems do; FUSE's direct_io path leaves it to us.
 */
void sw_kill_suid(struct swapfs *fs, struct sw_inode *ino, uid_t uid)
{
	mode_t kill;

	if (!uid)
		return;
	pthread_mutex_lock(&fs->meta.lock);	/* chmod changes the mode under it */
	kill = S_ISUID | ((ino->a.mode & S_IXGRP) ? S_ISGID : 0);
	if (ino->a.mode & kill) {
		ino->a.mode &= ~kill;
		sw_meta_dirty(&fs->meta, ino);
	}
	pthread_mutex_unlock(&fs->meta.lock);
}

void sw_write(fuse_req_t req, fuse_ino_t ino_nr, const char *data, size_t size,
	      off_t off, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct thread_io *t = sw_thread_io(fs);
	struct sw_errseen *seen = &sw_ofile(fi)->seen;
	struct sw_inode *ino;
	uint64_t start = (uint64_t)off, taken = 0;
	bool lost = false;
	int err;

	if (fs->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	ino = sw_inode_lookup(fs, ino_nr);
	if (!ino || !t) {
		fuse_reply_err(req, ino ? ENOMEM : ENOENT);
		return;
	}
	if (!size) {
		fuse_reply_write(req, 0);
		return;
	}
	pthread_rwlock_wrlock(&ino->rw);
	if (fi->flags & O_APPEND) {
		pthread_mutex_lock(&fs->meta.lock);	/* a failed write-behind may trim it */
		start = ino->a.size;
		pthread_mutex_unlock(&fs->meta.lock);
	}
	/* an earlier write-behind of the file failed: this open file hears of it now */
	err = seen ? sw_wb_error(fs, ino, &seen->write) : 0;
	if (err)
		;
	else if (off < 0 || start + size > SW_MAX_FILE_SIZE)
		err = -EFBIG;
	else
		taken = wb_write(fs, t, ino, data, start, size, &err, &lost);
	if (taken)
		sw_kill_suid(fs, ino, fuse_req_ctx(req)->uid);
	if (lost && !taken && seen)
		sw_wb_error(fs, ino, &seen->write);	/* this call tells of the chunk it lost */
	pthread_rwlock_unlock(&ino->rw);
	if (taken)	/* a short write: the rest is refused (err), not lost */
		fuse_reply_write(req, taken);
	else
		fuse_reply_err(req, -err);
}

/* ---- truncate, fallocate, seek ----------------------------------------- */

/* Zero file bytes [from, to) on the volume where they are written data. */
static int zero_range(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino,
		      uint64_t from, uint64_t to)
{
	static const char zeros[BLK];
	uint64_t at = from;
	int err = 0;

	while (at < to && !err) {
		uint64_t n = to - at < BLK - at % BLK ? to - at : BLK - at % BLK;
		size_t i = sw_ext_find(ino, at);

		if (i < ino->next && ino->ext[i].foff <= at &&
		    !(ino->ext[i].flags & SWF_EXT_UNWRITTEN))
			err = sw_write_locked(fs, t, ino, zeros, at, n, true);
		at += n;
	}
	return err;
}

static int unmap(struct swapfs *fs, struct sw_inode *ino, uint64_t from, uint64_t len)
{
	struct swf_rec r = { .type = SWF_R_UNMAP,
			     .u.extent = { .ino = ino->a.ino, .file_offset = from, .len = len } };
	size_t i = sw_ext_find(ino, from);

	if (!len || i == ino->next || ino->ext[i].foff >= from + len)
		return 0;
	/* a hole punched inside one extent splits it: one more record */
	if (ino->ext[i].foff < from && ino->ext[i].foff + ino->ext[i].len > from + len &&
	    sw_meta_room_reserved(&fs->meta, sw_meta_cost_extent()))
		return -ENOSPC;
	return sw_meta_emit(&fs->meta, &r);
}

int sw_truncate(struct swapfs *fs, struct sw_inode *ino, uint64_t size)
{
	struct thread_io *t = sw_thread_io(fs);
	uint64_t au = fs->sb.alloc_unit;
	int err = 0;

	if (size > SW_MAX_FILE_SIZE)
		return -EFBIG;
	if (!t)
		return -ENOMEM;
	err = sw_settle(fs, t, ino);
	if (err)
		return err;
	if (size < ino->a.size) {
		/* bytes past the new end inside its AU must read as zeros later */
		err = zero_range(fs, t, ino, size, up(size, au) < ino->a.size ?
				 up(size, au) : ino->a.size);
		pthread_mutex_lock(&fs->meta.lock);
		if (!err)
			err = unmap(fs, ino, up(size, au), UINT64_MAX - up(size, au));
		pthread_mutex_unlock(&fs->meta.lock);
	}
	if (err)
		return err;
	pthread_mutex_lock(&fs->meta.lock);
	ino->a.size = size;
	ino->a.mtime_ns = ino->a.ctime_ns = sw_now_ns();
	sw_meta_dirty(&fs->meta, ino);
	pthread_mutex_unlock(&fs->meta.lock);
	return 0;
}

static int preallocate(struct swapfs *fs, struct sw_inode *ino, uint64_t off,
		       uint64_t len, bool keep_size)
{
	struct sw_meta *m = &fs->meta;
	uint64_t au = fs->sb.alloc_unit, as = down(off, au), ae = up(off + len, au);
	struct new_run *runs = NULL;
	size_t nruns = 0;
	int err;

	pthread_mutex_lock(&m->lock);
	err = sw_plan_allocation(fs, ino, as, ae, &runs, &nruns);
	if (err) {
		sw_undo_allocation(fs, runs, nruns);
	} else {
		for (size_t i = 0; i < nruns && !err; i++)
			if (!runs[i].convert)
				err = sw_ext_map(m, ino, runs[i].foff, runs[i].voff,
						 runs[i].len, SWF_EXT_UNWRITTEN);
		if (!keep_size && off + len > ino->a.size)
			ino->a.size = off + len;
		ino->a.ctime_ns = sw_now_ns();
		sw_meta_dirty(m, ino);
	}
	pthread_mutex_unlock(&m->lock);
	free(runs);
	return err;
}

static int punch_hole(struct swapfs *fs, struct sw_inode *ino, uint64_t off, uint64_t len)
{
	struct thread_io *t = sw_thread_io(fs);
	uint64_t au = fs->sb.alloc_unit, end = off + len, inner_s = up(off, au),
		 inner_e = down(end, au);
	int err;

	if (!t)
		return -ENOMEM;
	if (end > ino->a.size)
		end = ino->a.size;
	if (off >= end)
		return 0;
	if (inner_s >= inner_e)
		return zero_range(fs, t, ino, off, end);
	err = zero_range(fs, t, ino, off, inner_s);
	if (!err)
		err = zero_range(fs, t, ino, inner_e, end);
	pthread_mutex_lock(&fs->meta.lock);
	if (!err)
		err = unmap(fs, ino, inner_s, inner_e - inner_s);
	ino->a.mtime_ns = ino->a.ctime_ns = sw_now_ns();
	sw_meta_dirty(&fs->meta, ino);
	pthread_mutex_unlock(&fs->meta.lock);
	return err;
}

void sw_fallocate(fuse_req_t req, fuse_ino_t ino_nr, int mode, off_t off,
		  off_t len, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	int err;

	(void)fi;
	if (fs->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (off < 0 || len <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off + (uint64_t)len > SW_MAX_FILE_SIZE) {
		fuse_reply_err(req, EFBIG);
		return;
	}
	ino = sw_inode_lookup(fs, ino_nr);
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_rwlock_wrlock(&ino->rw);
	if (sw_thread_io(fs))
		sw_settle(fs, sw_thread_io(fs), ino);
	if (mode == 0 || mode == FALLOC_FL_KEEP_SIZE)
		err = preallocate(fs, ino, (uint64_t)off, (uint64_t)len, mode != 0);
	else if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		err = punch_hole(fs, ino, (uint64_t)off, (uint64_t)len);
	else
		err = -EOPNOTSUPP;
	pthread_rwlock_unlock(&ino->rw);
	fuse_reply_err(req, -err);
}

void sw_lseek(fuse_req_t req, fuse_ino_t ino_nr, off_t off, int whence,
	      struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	uint64_t pos = (uint64_t)off, size;
	int err = 0;

	(void)fi;
	ino = sw_inode_lookup(fs, ino_nr);
	if (!ino || off < 0) {
		fuse_reply_err(req, ino ? EINVAL : ENOENT);
		return;
	}
	pthread_rwlock_wrlock(&ino->rw);
	if (sw_thread_io(fs))
		sw_settle(fs, sw_thread_io(fs), ino);
	size = ino->a.size;
	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		err = EINVAL;
	} else if (pos >= size) {
		err = ENXIO;
	} else {
		/* data = written extents; the rest (holes, unwritten) is a hole */
		size_t i = sw_ext_find(ino, pos);
		bool data_at = false;

		for (; i < ino->next; i++) {
			const struct sw_ext *x = &ino->ext[i];

			if (x->flags & SWF_EXT_UNWRITTEN)
				continue;
			if (x->foff > pos)
				break;
			data_at = true;
			break;
		}
		if (whence == SEEK_DATA) {
			if (!data_at) {
				for (; i < ino->next && (ino->ext[i].flags & SWF_EXT_UNWRITTEN); i++)
					;
				if (i == ino->next || ino->ext[i].foff >= size)
					err = ENXIO;
				else
					pos = ino->ext[i].foff;
			}
		} else if (data_at) {
			/* walk contiguous written extents to the first gap */
			uint64_t end = ino->ext[i].foff + ino->ext[i].len;

			for (i++; i < ino->next && ino->ext[i].foff == end &&
			     !(ino->ext[i].flags & SWF_EXT_UNWRITTEN); i++)
				end += ino->ext[i].len;
			pos = end < size ? end : size;
		}
	}
	pthread_rwlock_unlock(&ino->rw);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_lseek(req, (off_t)pos);
}

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

#include "swapfs.h"

#define BLK 4096ull

static uint64_t down(uint64_t x, uint64_t a) { return x / a * a; }
static uint64_t up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* ---- per-thread ring and staging buffer --------------------------------- */

struct thread_io {
	struct swe_ring *ring;
	void *buf;
	size_t cap;
};

void sw_thread_io_free(void *p)
{
	struct thread_io *t = p;

	swe_ring_destroy(t->ring);
	free(t->buf);
	free(t);
}

static struct thread_io *thread_io(struct swapfs *fs)
{
	struct thread_io *t = pthread_getspecific(fs->ring_key);
	struct swe_ring_opts ro = { .queue_depth = fs->queue_depth };

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (swe_ring_create(&t->ring, fs->vol, fs->arena, &ro)) {
		sw_log(fs, "cannot create an io_uring ring: %s", swe_errmsg());
		free(t);
		return NULL;
	}
	pthread_setspecific(fs->ring_key, t);
	return t;
}

/* Aligned scratch of at least len bytes, owned by the calling thread. */
static void *staging(struct thread_io *t, size_t len)
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
		sw_log(b->fs, "I/O error: %s", swe_errmsg());
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
		sw_log(b->fs, "I/O request rejected: %s", swe_errmsg());
		return b->result = err;
	}
	return 0;
}

/*
 * Read file range [s, e) (block aligned) into buf: written extents from
 * the volume, holes and unwritten extents as zeros.
 */
static int read_range(struct batch *b, const struct sw_inode *ino, uint64_t s,
		      uint64_t e, char *buf)
{
	uint64_t at = s;

	for (size_t i = sw_ext_find(ino, s); i < ino->next && at < e; i++) {
		const struct sw_ext *x = &ino->ext[i];
		uint64_t xs = x->foff > at ? x->foff : at;
		uint64_t xe = x->foff + x->len < e ? x->foff + x->len : e;

		if (xs >= e)
			break;
		if (xs > at)
			memset(buf + (at - s), 0, xs - at);
		if (x->flags & SWF_EXT_UNWRITTEN)
			memset(buf + (xs - s), 0, xe - xs);
		else if (batch_add(b, SWE_READ, x->voff + (xs - x->foff), xe - xs,
				   buf + (xs - s)))
			return b->result;
		at = xe;
	}
	if (at < e)
		memset(buf + (at - s), 0, e - at);
	return batch_wait(b);
}

void sw_read(fuse_req_t req, fuse_ino_t ino_nr, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct thread_io *t = thread_io(fs);
	struct batch b = { .fs = fs, .t = t };
	struct sw_inode *ino;
	uint64_t s, e, n;
	char *buf;
	int err;

	(void)fi;
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, ino_nr);
	pthread_mutex_unlock(&fs->meta.lock);
	if (!ino || !t) {
		fuse_reply_err(req, ino ? ENOMEM : ENOENT);
		return;
	}
	pthread_rwlock_rdlock(&ino->rw);
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
	buf = staging(t, e - s);
	err = buf ? read_range(&b, ino, s, e, buf) : -ENOMEM;
	pthread_rwlock_unlock(&ino->rw);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, buf + ((uint64_t)off - s), n);
}

/* ---- write ------------------------------------------------------------- */

struct new_run { uint64_t foff, voff, len; bool convert; };

/*
 * Ensure every AU of [as, ae) is mapped; fresh AUs are allocated (not yet
 * in the table) and unwritten ones noted for conversion.  Called with the
 * metadata lock held.
 */
static int plan_allocation(struct swapfs *fs, struct sw_inode *ino, uint64_t as,
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
	return 0;
}

static void undo_allocation(struct swapfs *fs, struct new_run *runs, size_t n)
{
	uint64_t au = fs->sb.alloc_unit;

	for (size_t i = 0; i < n; i++)
		if (!runs[i].convert)
			sw_alloc_free(&fs->meta.alloc, runs[i].voff / au, runs[i].len / au);
}

static bool in_new_run(const struct new_run *runs, size_t n, uint64_t foff)
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
	       !(ino->ext[i].flags & SWF_EXT_UNWRITTEN) && !in_new_run(runs, n, foff);
}

/*
 * Write data at [off, off+len) of ino, whose AU span [as, ae) is fully
 * planned: fresh/unwritten runs are written whole from buf (zero padded),
 * written extents only over the block-aligned span of the data.
 */
static int write_span(struct batch *b, struct sw_inode *ino, const struct new_run *runs,
		      size_t nruns, uint64_t as, uint64_t ae, uint64_t off,
		      uint64_t len, const char *data, char *buf)
{
	uint64_t s = down(off, BLK), e = up(off + len, BLK);
	int err;

	/* zero what the data does not cover, then fill in old bytes at the edges */
	memset(buf, 0, off - as);
	memset(buf + (off + len - as), 0, ae - (off + len));
	if (off != s && block_written(ino, runs, nruns, s) &&
	    (err = read_range(b, ino, s, s + BLK, buf + (s - as))))
		return err;
	if (off + len != e && (e - BLK != s || off == s) &&
	    block_written(ino, runs, nruns, e - BLK) &&
	    (err = read_range(b, ino, e - BLK, e, buf + (e - BLK - as))))
		return err;
	memcpy(buf + (off - as), data, len);
	for (size_t i = 0; i < nruns; i++)
		if ((err = batch_add(b, SWE_WRITE, runs[i].voff, runs[i].len,
				     buf + (runs[i].foff - as))))
			return err;
	/* the already-written extents overlapping [s, e) */
	for (size_t i = sw_ext_find(ino, s); i < ino->next && ino->ext[i].foff < e; i++) {
		const struct sw_ext *x = &ino->ext[i];
		uint64_t xs = x->foff > s ? x->foff : s;
		uint64_t xe = x->foff + x->len < e ? x->foff + x->len : e;

		if ((x->flags & SWF_EXT_UNWRITTEN) || in_new_run(runs, nruns, xs))
			continue;
		if ((err = batch_add(b, SWE_WRITE, x->voff + (xs - x->foff), xe - xs,
				     buf + (xs - as))))
			return err;
	}
	return batch_wait(b);
}

/* Write len bytes at off (inode write lock held); updates size and times. */
static int write_locked(struct swapfs *fs, struct thread_io *t, struct sw_inode *ino,
			const char *data, uint64_t off, uint64_t len, bool keep_size)
{
	struct sw_meta *m = &fs->meta;
	uint64_t au = fs->sb.alloc_unit, as = down(off, au), ae = up(off + len, au);
	struct batch b = { .fs = fs, .t = t };
	struct new_run *runs;
	size_t nruns;
	char *buf = staging(t, ae - as);
	int err;

	if (!buf)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	err = plan_allocation(fs, ino, as, ae, &runs, &nruns);
	if (err)
		undo_allocation(fs, runs, nruns);
	pthread_mutex_unlock(&m->lock);
	if (err) {
		free(runs);
		return err;
	}
	err = write_span(&b, ino, runs, nruns, as, ae, off, len, data, buf);
	pthread_mutex_lock(&m->lock);
	if (err) {
		undo_allocation(fs, runs, nruns);
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

void sw_write(fuse_req_t req, fuse_ino_t ino_nr, const char *data, size_t size,
	      off_t off, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct thread_io *t = thread_io(fs);
	struct sw_inode *ino;
	uint64_t start = (uint64_t)off;
	int err;

	if (fs->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, ino_nr);
	pthread_mutex_unlock(&fs->meta.lock);
	if (!ino || !t) {
		fuse_reply_err(req, ino ? ENOMEM : ENOENT);
		return;
	}
	if (!size) {
		fuse_reply_write(req, 0);
		return;
	}
	pthread_rwlock_wrlock(&ino->rw);
	if (fi->flags & O_APPEND)
		start = ino->a.size;
	if (off < 0 || start + size > SW_MAX_FILE_SIZE)
		err = -EFBIG;
	else
		err = write_locked(fs, t, ino, data, start, size, false);
	pthread_rwlock_unlock(&ino->rw);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

/* ---- truncate, fallocate, seek ----------------------------------------- */

uint64_t sw_allocated_bytes(const struct sw_inode *ino)
{
	uint64_t n = 0;

	for (size_t i = 0; i < ino->next; i++)
		n += ino->ext[i].len;
	return n;
}

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
			err = write_locked(fs, t, ino, zeros, at, n, true);
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
	return sw_meta_emit(&fs->meta, &r);
}

int sw_truncate(struct swapfs *fs, struct sw_inode *ino, uint64_t size)
{
	struct thread_io *t = thread_io(fs);
	uint64_t au = fs->sb.alloc_unit;
	int err = 0;

	if (size > SW_MAX_FILE_SIZE)
		return -EFBIG;
	if (!t)
		return -ENOMEM;
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
	err = plan_allocation(fs, ino, as, ae, &runs, &nruns);
	if (err) {
		undo_allocation(fs, runs, nruns);
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
	struct thread_io *t = thread_io(fs);
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
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, ino_nr);
	pthread_mutex_unlock(&fs->meta.lock);
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_rwlock_wrlock(&ino->rw);
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
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, ino_nr);
	pthread_mutex_unlock(&fs->meta.lock);
	if (!ino || off < 0) {
		fuse_reply_err(req, ino ? EINVAL : ENOENT);
		return;
	}
	pthread_rwlock_rdlock(&ino->rw);
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

/*
 * readahead.c - the read-ahead window of a file read sequentially through
 * FUSE: chunks of the file read ahead through the I/O threads, served to
 * the read handler (copied, or pinned and sent straight from the chunk),
 * and dropped when the file changes or its last user goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/daemon/readahead.h"
#include "fs/daemon/units.h"

/* ---- read-ahead ----------------------------------------------------------
 *
 * A sequential reader of a large file gets a window of stripe-unit chunks
 * read ahead through the I/O thread, so every member has several reads in
 * flight from the first request on.  Chunks hold file bytes (holes as
 * zeros); the window slides forward as the reader consumes it.  Any change
 * to the file drops the window (sw_ra_release) after its reads have finished.
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
		sw_err("read-ahead: %s", swe_io_errmsg(job->io, job->nio, error));
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
void sw_ra_release(struct swapfs *fs, struct sw_inode *ino)
{
	struct sw_ra *ra = sw_dn(ino)->ra;

	if (!ra)
		return;
	pthread_mutex_lock(&fs->meta.lock);
	while (ra->reading || ra->pinned)
		pthread_cond_wait(&fs->io_cond, &fs->meta.lock);
	for (int i = 0; i < RA_SLOTS; i++)
		if (ra->c[i].buf)
			swe_arena_free(fs->arena, ra->c[i].buf);
	sw_dn(ino)->ra = NULL;
	pthread_cond_broadcast(&fs->io_cond);	/* staging space came free */
	pthread_mutex_unlock(&fs->meta.lock);
	free(ra);
}

void sw_ra_unpin(struct swapfs *fs, struct ra_pin *p)
{
	pthread_mutex_lock(&fs->meta.lock);
	p->c->pins--;
	p->ra->pinned--;
	pthread_cond_broadcast(&fs->io_cond);
	pthread_mutex_unlock(&fs->meta.lock);
}

int sw_ra_read(struct swapfs *fs, struct sw_inode *ino, uint64_t off, uint64_t n,
	       char *out, const char **direct, struct ra_pin *pin)
{
	uint64_t ch = chunk_size(fs), first = down(off, ch), last = down(off + n - 1, ch);
	struct sw_meta *m = &fs->meta;
	struct sw_ra *ra;
	int err = 0;

	if (ino->a.size < 4 * ch)
		return 0;	/* small files: one direct read is as good */
	pthread_mutex_lock(&m->lock);
	ra = sw_dn(ino)->ra;
	if (!ra && !(ra = sw_dn(ino)->ra = calloc(1, sizeof(*ra)))) {
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

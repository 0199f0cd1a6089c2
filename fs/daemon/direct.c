/*
 * direct.c - client-path file I/O: the bytes move between the
 * application's shared buffer and the members by O_DIRECT, with no copy in
 * the daemon, while the extent map, sizes and the log stay exactly what
 * the FUSE side maintains (the rules of span.c and writebehind.c apply
 * unchanged).
 *
 * A write maps its allocation units into the table when it is submitted
 * (so nothing allocates them twice) and counts in ino->inflight until it
 * completes: FUSE readers and writers wait for it, and its extents reach
 * the log only after the data (fs/lib/journal.c skips in-flight inodes).  Fresh and
 * unwritten AUs are written whole, zero-padded around the caller's bytes.
 * A read counts in sw_dn(ino)->client_reads, so no extent it reads from can be
 * freed (truncate, punch) before it has completed.  Ranges that are not
 * block aligned take the copying path of span.c, synchronously.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs/daemon/direct.h"
#include "fs/daemon/inode.h"
#include "fs/daemon/plan.h"
#include "fs/daemon/span.h"
#include "fs/daemon/units.h"
#include "fs/daemon/writebehind.h"

#define ZERO_LEN (1u << 20)

static char *zeros;	/* ZERO_LEN aligned zero bytes: padding of fresh AUs */
static pthread_once_t zeros_once = PTHREAD_ONCE_INIT;

static void zeros_init(void)
{
	if (posix_memalign((void **)&zeros, BLK, ZERO_LEN))
		zeros = NULL;
	else
		memset(zeros, 0, ZERO_LEN);
}

/* FUSE-side bytes staged or in flight (inode lock held): client I/O is ordered after them. */
static bool fuse_pending(struct swapfs *fs, const struct sw_inode *ino)
{
	bool pending;

	pthread_mutex_lock(&fs->meta.lock);	/* completions change the counts under it */
	pending = sw_dn(ino)->wb || ino->inflight > sw_dn(ino)->client_inflight;
	pthread_mutex_unlock(&fs->meta.lock);
	return pending;
}

static int add_io(struct sw_dio *d, unsigned *cap, enum swe_op op, uint64_t voff,
		  uint64_t len, char *buf)
{
	if (d->nio == *cap) {
		unsigned ncap = *cap ? *cap * 2 : 8;
		struct swe_io *n = realloc(d->io, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		d->io = n;
		*cap = ncap;
	}
	d->io[d->nio++] = (struct swe_io){ .op = op, .offset = voff, .len = len, .buf = buf };
	return 0;
}

/* One request per stripe unit: each goes to its member's I/O thread. */
static int add_split(struct sw_dio *d, unsigned *cap, enum swe_op op, uint64_t voff,
		     uint64_t len, char *buf)
{
	uint64_t su = swe_volume_stripe(d->fs->vol)->stripe_unit;
	int err = 0;

	while (len && !err) {
		uint64_t n = su - voff % su < len ? su - voff % su : len;

		err = add_io(d, cap, op, voff, n, buf);
		voff += n;
		buf += n;
		len -= n;
	}
	return err;
}

/* Volume offset of file offset foff, which must be mapped. */
static uint64_t voff_of(const struct sw_inode *ino, uint64_t foff)
{
	const struct sw_ext *x = &ino->ext[sw_ext_find(ino, foff)];

	return x->voff + (foff - x->foff);
}

/* Zero the file range [s, e) of fresh space (inside one AU). */
static int add_zeros(struct sw_dio *d, unsigned *cap, uint64_t s, uint64_t e)
{
	int err = 0;

	for (uint64_t at = s; at < e && !err;) {
		uint64_t n = e - at < ZERO_LEN ? e - at : ZERO_LEN;

		err = add_split(d, cap, SWE_WRITE, voff_of(d->ino, at), n, zeros);
		at += n;
	}
	return err;
}

static void finish(struct sw_dio *d)
{
	struct swapfs *fs = d->fs;
	struct sw_meta *m = &fs->meta;
	struct sw_inode *ino = d->ino;
	int error = atomic_load(&d->error);
	int64_t result = error ? error : (int64_t)d->n;

	pthread_mutex_lock(&m->lock);
	if (!d->write) {
		sw_dn(ino)->client_reads--;
	} else {
		if (error) {
			sw_unmap_runs(fs, ino, d->runs, d->nruns);
		} else {
			if (d->off + d->len > ino->a.size)
				ino->a.size = d->off + d->len;
			ino->a.mtime_ns = ino->a.ctime_ns = sw_now_ns();
			sw_meta_dirty(m, ino);
		}
		ino->inflight--;
		sw_dn(ino)->client_inflight--;
	}
	pthread_cond_broadcast(&fs->io_cond);
	pthread_mutex_unlock(&m->lock);
	if (d->write && !error)
		sw_kill_suid(fs, ino, d->uid);
	free(d->runs);
	free(d->io);
	d->runs = NULL;
	d->io = NULL;
	d->done(d, result);
}

/* A request's I/O thread finished it (on that thread). */
static void job_done(struct sw_job *job, int error)
{
	struct sw_dio *d = job->priv;

	if (error) {
		int none = 0;

		atomic_compare_exchange_strong(&d->error, &none, error);
		atomic_fetch_add(&d->fs->io_errors, 1);
		sw_err("client %s of inode %llu failed: %s", d->write ? "write" : "read",
		       (unsigned long long)d->ino->a.ino, swe_io_errmsg(job->io, job->nio, error));
	}
	free(job);
	if (atomic_fetch_sub(&d->pending, 1) == 1)
		finish(d);
}

/*
 * Hand d's requests to the I/O threads of their members; the last
 * completion finishes d.  Returns 1 if d finished here.
 */
static int submit(struct sw_dio *d)
{
	atomic_store(&d->pending, d->nio + 1);	/* the extra one: nothing finishes mid-loop */
	for (unsigned i = 0; i < d->nio; i++) {
		struct sw_job *job = sw_job_new(1);

		if (!job) {
			int none = 0;

			atomic_compare_exchange_strong(&d->error, &none, -ENOMEM);
			atomic_fetch_sub(&d->pending, d->nio - i);	/* never issued */
			break;
		}
		job->io[0] = d->io[i];
		job->done = job_done;
		job->priv = d;
		sw_iothread_submit(sw_io_for(d->fs, d->io[i].offset), job);
	}
	free(d->io);
	d->io = NULL;
	if (atomic_fetch_sub(&d->pending, 1) == 1) {
		finish(d);
		return 1;
	}
	return 0;
}

/* Block-aligned write: map, then write from the shared buffer. */
static int write_direct(struct swapfs *fs, struct sw_dio *d)
{
	struct sw_meta *m = &fs->meta;
	struct sw_inode *ino = d->ino;
	uint64_t au = fs->sb.alloc_unit, end = d->off + d->len;
	uint64_t as = down(d->off, au), ae = up(end, au);
	unsigned cap = 0;
	int err;

	pthread_once(&zeros_once, zeros_init);
	if (!zeros)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	err = sw_plan_allocation(fs, ino, as, ae, &d->runs, &d->nruns);
	if (err) {
		/* runs allocated before the volume ran out are free again (they leaked) */
		sw_undo_allocation(fs, d->runs, d->nruns);
	} else {
		for (size_t i = 0; i < d->nruns && !err; i++)
			err = sw_ext_map(m, ino, d->runs[i].foff, d->runs[i].voff, d->runs[i].len, 0);
		if (err)
			sw_unmap_runs(fs, ino, d->runs, d->nruns);	/* back as they were */
	}
	if (err) {	/* d is not finished: nothing else frees its runs */
		pthread_mutex_unlock(&m->lock);
		free(d->runs);
		d->runs = NULL;
		d->nruns = 0;
		return err;
	}
	ino->inflight++;
	sw_dn(ino)->client_inflight++;
	/* the table is read under the lock: a failing write may unmap concurrently */
	if (d->off > as && sw_in_new_run(d->runs, d->nruns, as))
		err = add_zeros(d, &cap, as, d->off);
	for (uint64_t at = d->off; at < end && !err;) {
		const struct sw_ext *x = &ino->ext[sw_ext_find(ino, at)];
		uint64_t xe = x->foff + x->len < end ? x->foff + x->len : end;

		err = add_split(d, &cap, SWE_WRITE, x->voff + (at - x->foff), xe - at,
				d->buf + (at - d->off));
		at = xe;
	}
	if (!err && end < ae && sw_in_new_run(d->runs, d->nruns, end))
		err = add_zeros(d, &cap, end, ae);
	pthread_mutex_unlock(&m->lock);
	d->n = d->len;
	if (err) {
		atomic_store(&d->error, err);
		d->nio = 0;
	}
	return submit(d);
}

struct zero_list {
	struct { uint64_t off, len; } *r;
	size_t n, cap;
};

static int zero_add(struct zero_list *z, uint64_t off, uint64_t len)
{
	if (z->n == z->cap) {
		size_t ncap = z->cap ? z->cap * 2 : 8;
		void *nr = realloc(z->r, ncap * sizeof(*z->r));

		if (!nr)
			return -ENOMEM;
		z->r = nr;
		z->cap = ncap;
	}
	z->r[z->n].off = off;
	z->r[z->n++].len = len;
	return 0;
}

struct direct_read { struct sw_dio *d; unsigned cap; struct zero_list z; };

static int direct_piece(void *arg, uint64_t foff, uint64_t len, int64_t voff)
{
	struct direct_read *r = arg;

	if (voff < 0)
		return zero_add(&r->z, foff, len);
	return add_split(r->d, &r->cap, SWE_READ, (uint64_t)voff, len,
			 r->d->buf + (foff - r->d->off));
}

/* Block-aligned read into the shared buffer; holes read as zeros. */
static int read_direct(struct swapfs *fs, struct sw_dio *d)
{
	struct sw_inode *ino = d->ino;
	struct direct_read r = { .d = d };
	int err;

	/* the table is read under the lock (a failing write may unmap); zeros are filled after */
	pthread_mutex_lock(&fs->meta.lock);
	err = sw_ext_walk(ino, d->off, up(d->off + d->n, BLK), direct_piece, &r);
	if (!err)
		sw_dn(ino)->client_reads++;
	pthread_mutex_unlock(&fs->meta.lock);
	for (size_t i = 0; !err && i < r.z.n; i++)
		memset(d->buf + (r.z.r[i].off - d->off), 0, r.z.r[i].len);
	free(r.z.r);
	if (err) {
		free(d->io);
		d->io = NULL;
		return err;
	}
	return submit(d);
}

/*
 * The allocation units a write maps fresh are written whole, zero-padded
 * around its bytes (write_direct), and a concurrent write into the same
 * unit finds it mapped and writes only its own bytes: nothing orders the
 * two on the device, so the padding could land over them (two 4 KiB client
 * writes at depth 16 into one 64 KiB unit lost bytes in 13 of 30 files).
 * A write that covers a unit only in part therefore waits until the
 * file's client writes in flight have completed (sw_wait_client_writes);
 * unit-aligned writes never share a unit and go on.
 */

/* Unaligned ranges: through the thread's scratch buffer, synchronously. */
#define COPY_PIECE (4ull << 20)

static int copy_path(struct swapfs *fs, struct sw_dio *d)
{
	struct thread_io *t = sw_thread_io(fs);
	struct sw_inode *ino = d->ino;
	uint64_t total = d->write ? d->len : d->n;
	int err = 0;

	for (uint64_t done = 0; done < total && !err;) {
		uint64_t off = d->off + done, n = total - done < COPY_PIECE ? total - done : COPY_PIECE;

		if (d->write) {
			err = sw_write_locked(fs, t, ino, d->buf + done, off, n, false);
		} else {
			uint64_t s = down(off, BLK), e = up(off + n, BLK);
			char *buf = sw_staging(t, e - s);

			err = buf ? sw_read_sync(fs, t, ino, s, e, buf) : -ENOMEM;
			if (!err)
				memcpy(d->buf + done, buf + (off - s), n);
		}
		done += n;
	}
	if (!err && d->write)
		sw_kill_suid(fs, ino, d->uid);
	d->n = total;
	d->done(d, err ? err : (int64_t)total);
	return 1;
}

int sw_dio_start(struct swapfs *fs, struct sw_dio *d)
{
	struct thread_io *t = sw_thread_io(fs);
	struct sw_inode *ino = d->ino;
	uint64_t align = swe_volume_align(fs->vol);
	bool aligned = !(d->off % align) && !(d->len % align) &&
		       !((uintptr_t)d->buf % align) && align <= BLK;
	int err = 0;

	d->fs = fs;
	d->runs = NULL;
	d->nruns = 0;
	d->io = NULL;
	d->nio = 0;
	atomic_store(&d->error, 0);
	if (!t)
		return -ENOMEM;
	if (d->write && fs->read_only)
		return -EROFS;
	if (d->off + d->len > SW_MAX_FILE_SIZE || d->off + d->len < d->off)
		return d->write ? -EFBIG : -EINVAL;
	/* writes must also drop the FUSE side's read-ahead window */
	pthread_rwlock_wrlock(&sw_dn(ino)->rw);
	if (fuse_pending(fs, ino) || (d->write && sw_dn(ino)->ra)) {
		sw_ra_release(fs, ino);
		err = fuse_pending(fs, ino) ? sw_settle(fs, t, ino) : 0;
	}
	if (err) {
		pthread_rwlock_unlock(&sw_dn(ino)->rw);
		return err;
	}
	if (!d->write) {
		d->n = d->off >= ino->a.size ? 0 : ino->a.size - d->off;
		if (d->n > d->len)
			d->n = d->len;
		if (!d->n) {
			pthread_rwlock_unlock(&sw_dn(ino)->rw);
			d->done(d, 0);
			return 1;
		}
	}
	if (d->write && d->len && ((d->off | d->len) & (fs->sb.alloc_unit - 1)))
		sw_wait_client_writes(fs, ino);
	if (!d->len)
		err = (d->done(d, 0), 1);
	else if (!aligned)
		err = copy_path(fs, d);
	else
		err = d->write ? write_direct(fs, d) : read_direct(fs, d);
	pthread_rwlock_unlock(&sw_dn(ino)->rw);
	return err;
}

/*
 * filesize.c - changes of a file's size and layout: truncate (bytes past
 * the new end inside its last AU zeroed, AUs past it unmapped),
 * preallocation (unwritten extents), hole punching, and SEEK_DATA/
 * SEEK_HOLE over the extent map.  Bytes past EOF inside an AU are kept
 * zero by truncate, so an AU never shows bytes the file no longer has.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs/daemon/filesize.h"
#include "fs/daemon/plan.h"
#include "fs/daemon/units.h"
#include "fs/daemon/writebehind.h"

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

int sw_preallocate(struct swapfs *fs, struct sw_inode *ino, uint64_t off,
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

int sw_punch_hole(struct swapfs *fs, struct sw_inode *ino, uint64_t off, uint64_t len)
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

int sw_seek_data_hole(const struct sw_inode *ino, int whence, uint64_t *posp)
{
	uint64_t pos = *posp, size = ino->a.size;
	int err = 0;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		err = -EINVAL;
	} else if (pos >= size) {
		err = -ENXIO;
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
					err = -ENXIO;
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
	*posp = pos;
	return err;
}

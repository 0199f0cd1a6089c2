/*
 * plan.c - allocation planning for writes to a file range: fresh
 * allocation units for its holes (taken from the allocator, not yet in
 * the table) and unwritten extents noted for conversion, checked against
 * the room a checkpoint of the table has left; and the way back when the
 * data did not arrive (units freed, runs unmapped or unwritten again).
 * Files own extents of whole allocation units (AU); the caller maps the
 * runs into the table once their data is written.
 */
#include <errno.h>
#include <stdlib.h>

#include "fs/daemon/plan.h"

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

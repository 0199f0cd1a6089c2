/*
 * journal.c - the table's durable form: the metadata log (records emitted
 * and committed) and the checkpoints (the whole table in one slot).
 *
 * Durability order, decided here only:
 *   data I/O completes -> [durable: flush all members] -> log records
 *   written to both mirrors -> [durable: flush mirrors] -> freed blocks
 *   return to the allocator.
 * A checkpoint writes the whole table to the slot the log is not using,
 * then starts a new log generation; records of older generations are
 * ignored at replay, so a torn checkpoint leaves the previous one valid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/lib/fslib.h"
#include "fs/lib/fslib_int.h"

/* ---- the log ---------------------------------------------------------- */

static int lbuf_reserve(struct sw_meta *m, size_t extra)
{
	size_t need = m->lib->llen + extra + 2 * SWF_BLOCK, ncap;
	uint8_t *nb;

	if (need <= m->lib->lcap)
		return 0;
	ncap = m->lib->lcap ? m->lib->lcap : 64 << 10;
	while (ncap < need)
		ncap *= 2;
	if (posix_memalign((void **)&nb, SWF_BLOCK, ncap))
		return -ENOMEM;
	if (m->lib->llen)
		memcpy(nb, m->lib->lbuf, m->lib->llen);
	free(m->lib->lbuf);
	m->lib->lbuf = nb;
	m->lib->lcap = ncap;
	return 0;
}

static int log_append(struct sw_meta *m, struct swf_rec *rec)
{
	int n, err = lbuf_reserve(m, SWF_REC_HDR + SWF_REC_MAX_PAYLOAD + 8);

	if (err)
		return err;
	rec->generation = m->gen;
	rec->seq = ++m->seq;
	n = swf_rec_encode(rec, m->lib->lbuf + m->lib->llen, m->lib->lcap - m->lib->llen);
	if (n < 0) {
		m->seq--;
		return n;
	}
	m->lib->llen += (size_t)n;
	return 0;
}

int sw_meta_emit(struct sw_meta *m, struct swf_rec *rec)
{
	int err;

	if (m->read_only)
		return -EROFS;
	err = meta_apply(m, rec);
	if (err)
		return err == -EBADMSG ? -EINVAL : err;
	err = log_append(m, rec);
	if (!err && rec->type == SWF_R_INODE) {
		struct sw_inode *ino = sw_inode_get(m, rec->u.inode.ino);

		if (ino)
			ino->logged_size = rec->u.inode.size;
	}
	return err;
}

bool sw_meta_pending(const struct sw_meta *m)
{
	return m->lib->llen || m->lib->dirty;
}

bool sw_meta_data_logged(const struct sw_meta *m, const struct sw_inode *ino)
{
	if (m->lib->llen || m->lib->log_volatile || ino->a.size != ino->logged_size)
		return false;
	for (size_t i = 0; i < ino->next; i++)
		if (!ino->ext[i].logged)
			return false;
	return true;
}

static int inode_rec(struct sw_meta *m, struct sw_inode *ino, uint16_t flags)
{
	struct swf_rec r = { .type = SWF_R_INODE, .flags = flags, .u.inode = ino->a };
	int err = log_append(m, &r);

	if (!err)
		ino->logged_size = ino->a.size;
	return err;
}

/*
 * Records for dirty inodes: unlogged extents first, then attributes.  An
 * inode with writes still in flight stays dirty: its new extents must not
 * reach the log before their data.
 */
static int flush_dirty(struct sw_meta *m)
{
	struct sw_inode *busy = NULL;
	int err = 0;

	while (m->lib->dirty) {
		struct sw_inode *ino = m->lib->dirty;

		if (ino->inflight) {
			m->lib->dirty = ino->dirty_next;
			ino->dirty_next = busy;
			busy = ino;
			continue;
		}

		for (size_t i = 0; i < ino->next; i++) {
			struct sw_ext *e = &ino->ext[i];
			struct swf_rec r = { .type = SWF_R_EXTENT, .flags = SWF_RF_CONT,
				.u.extent = { ino->a.ino, e->foff, e->voff, e->len, e->flags } };

			if (e->logged)
				continue;
			if ((err = log_append(m, &r)))
				goto out;
			e->logged = true;
		}
		if ((err = inode_rec(m, ino, 0)))
			goto out;
		ino->on_dirty = false;
		m->lib->dirty = ino->dirty_next;
	}
out:
	while (busy) {		/* back on the dirty list for a later commit */
		struct sw_inode *ino = busy;

		busy = ino->dirty_next;
		ino->dirty_next = m->lib->dirty;
		m->lib->dirty = ino;
	}
	return err;
}

static void release_pending_free(struct sw_meta *m)
{
	for (size_t i = 0; i < m->npending_free; i++) {
		uint64_t u = m->sb.alloc_unit;
		struct sw_free_range *f = &m->lib->pending_free[i];

		if (sw_alloc_free(&m->alloc, f->voff / u, f->len / u))
			sw_err("internal: freeing free space at %llu+%llu",
				(unsigned long long)f->voff, (unsigned long long)f->len);
	}
	m->npending_free = 0;
}

static int flush_members(struct sw_meta *m, unsigned n)
{
	for (unsigned d = 0; d < n; d++) {
		int err = swe_member_flush(m->vol, d);

		if (err)
			return err;
	}
	return 0;
}

/* Pad the pending records to a block boundary with a PAD record. */
static int log_pad(struct sw_meta *m)
{
	size_t rem = (SWF_BLOCK - m->lib->llen % SWF_BLOCK) % SWF_BLOCK;
	struct swf_rec pad = { .type = SWF_R_PAD };
	int n;

	if (!rem)
		return 0;
	if (rem < SWF_REC_HDR)
		rem += SWF_BLOCK;	/* too small for a header: pad through the next block */
	pad.generation = m->gen;
	pad.seq = ++m->seq;
	n = swf_rec_encode(&pad, m->lib->lbuf + m->lib->llen, rem);
	if (n < 0)
		return n;
	m->lib->llen += (size_t)n;
	return 0;
}

int sw_meta_commit(struct sw_meta *m, bool durable)
{
	size_t wlen;
	int err;

	if (m->read_only)
		return 0;
	if ((err = flush_dirty(m)))
		return err;
	if (!m->lib->llen) {
		if (durable && (err = swe_volume_flush(m->vol)))
			return err;
		if (durable)
			m->lib->log_volatile = false;
		release_pending_free(m);
		return 0;
	}
	if ((err = log_pad(m)))
		return err;
	if (m->lib->ckpt_needed || m->head + m->lib->llen > m->sb.log_size)
		return sw_meta_checkpoint(m);
	/*
	 * A zero block goes out after the commit, in the same write: the next
	 * commit starts on it.  A crash then leaves zeros or the commit in
	 * flight right after the valid log, never a stale block of an older
	 * generation that starts inside a record (records cross blocks) and
	 * would read as a torn write.
	 */
	wlen = m->lib->llen;
	if (m->head + wlen + SWF_BLOCK <= m->sb.log_size) {
		if ((err = lbuf_reserve(m, SWF_BLOCK)))
			return err;
		memset(m->lib->lbuf + wlen, 0, SWF_BLOCK);
		wlen += SWF_BLOCK;
	}
	if (durable && (err = swe_volume_flush(m->vol)))
		return err;
	for (unsigned d = 0; d < m->nmirror; d++) {
		err = swe_member_pwrite(m->vol, d, m->lib->lbuf, wlen,
					m->sb.log_offset + m->head);
		if (err)
			return err;
	}
	if (durable && (err = flush_members(m, m->nmirror)))
		return err;
	m->lib->log_volatile = !durable;
	m->head += m->lib->llen;
	m->lib->llen = 0;
	m->commits++;
	release_pending_free(m);
	return 0;
}

/* ---- checkpoints ------------------------------------------------------- */

struct cbuf {
	uint8_t *p;
	size_t len, cap, limit;
};

static int cbuf_rec(struct cbuf *b, struct swf_rec *r)
{
	int n;

	if (b->cap - b->len < SWF_REC_HDR + SWF_REC_MAX_PAYLOAD + 8) {
		size_t ncap = b->cap * 2;
		uint8_t *np;

		if (posix_memalign((void **)&np, SWF_BLOCK, ncap))
			return -ENOMEM;
		memcpy(np, b->p, b->len);
		free(b->p);
		b->p = np;
		b->cap = ncap;
	}
	n = swf_rec_encode(r, b->p + b->len, b->cap - b->len);
	if (n < 0)
		return n;
	b->len += (size_t)n;
	return b->len > b->limit ? -ENOSPC : 0;
}

static int ckpt_inode(struct cbuf *b, struct sw_inode *ino)
{
	struct swf_rec r = { .type = SWF_R_INODE, .u.inode = ino->a };
	int err = cbuf_rec(b, &r);

	for (size_t i = 0; !err && i < ino->next; i++) {
		struct sw_ext *e = &ino->ext[i];

		if (ino->inflight && !e->logged)
			continue;	/* data still being written: logged once it is */
		r = (struct swf_rec){ .type = SWF_R_EXTENT,
			.u.extent = { ino->a.ino, e->foff, e->voff, e->len, e->flags } };
		err = cbuf_rec(b, &r);
	}
	for (size_t i = 0; !err && i < ino->nxa; i++) {
		r = (struct swf_rec){ .type = SWF_R_XATTR_SET,
			.u.xattr = { ino->a.ino, ino->xa[i].name, (uint16_t)strlen(ino->xa[i].name),
				     ino->xa[i].value, ino->xa[i].len } };
		err = cbuf_rec(b, &r);
	}
	if (!err && ino->symlink) {
		r = (struct swf_rec){ .type = SWF_R_SYMLINK,
			.u.symlink = { ino->a.ino, ino->symlink, (uint32_t)strlen(ino->symlink) } };
		err = cbuf_rec(b, &r);
	}
	return err;
}


/*
 * Every non-directory inode first (once, whatever its link count; open
 * unlinked files included), then directories breadth-first from the root
 * so each directory exists before the entries that name it.
 */
/* The record of name e in directory dir. */
static int ckpt_dirent(struct cbuf *b, const struct sw_inode *dir, const struct sw_dent *e)
{
	struct swf_rec r = { .type = SWF_R_DIRENT_ADD,
		.u.dirent = { dir->a.ino, e->ino, e->name, (uint16_t)strlen(e->name) } };

	return cbuf_rec(b, &r);
}

static int ckpt_serialize(struct sw_meta *m, struct cbuf *b)
{
	struct sw_inode **queue = malloc((m->count + 1) * sizeof(*queue)), *i;
	struct sw_inode_iter it;
	size_t qh = 0, qt = 0;
	uint32_t mark;
	int err = 0;

	if (!queue)
		return -ENOMEM;
	/*
	 * A mark of this attempt, not of the generation: an attempt that
	 * fails (ENOSPC, an I/O error) is retried with the same generation,
	 * and must write every directory again.
	 */
	mark = ++m->lib->ckpt_serial;
	if (!mark)
		mark = ++m->lib->ckpt_serial;	/* 0 is what a new inode holds */
	sw_for_each_inode(m, &it, i)
		if (!i->dir && (err = ckpt_inode(b, i)))
			break;
	queue[qt++] = sw_inode_get(m, SW_ROOT_INO);
	if (!err)
		err = ckpt_inode(b, queue[0]);
	while (qh < qt && !err) {
		struct sw_inode *d = queue[qh++];

		for (size_t k = 0; k < d->dir->n && !err; k++) {
			struct sw_dent *e = &d->dir->e[k];
			struct sw_inode *c;

			if (!e->ino || !(c = sw_inode_get(m, e->ino)))
				continue;	/* a dangling entry (only swapfsck sees one) */
			if (c->dir && c->ckpt_mark != mark && qt <= m->count) {
				c->ckpt_mark = mark;	/* a directory is written once */
				queue[qt++] = c;
				err = ckpt_inode(b, c);
			}
			if (!err)
				err = ckpt_dirent(b, d, e);
		}
	}
	/*
	 * Directories no entry names: removed while the kernel still refers to
	 * them (they are empty), kept until FORGET logs their INODE_FREE, which
	 * must find them at replay.  Entries are written only where the inode
	 * they name is already in the checkpoint (swapfsck's unrepaired states).
	 */
	sw_for_each_inode(m, &it, i) {
		if (err)
			break;
		if (!i->dir || i->a.ino == SW_ROOT_INO || i->ckpt_mark == mark)
			continue;
		i->ckpt_mark = mark;
		err = ckpt_inode(b, i);
		for (size_t k = 0; k < i->dir->n && !err; k++) {
			struct sw_dent *e = &i->dir->e[k];
			struct sw_inode *c = e->ino ? sw_inode_get(m, e->ino) : NULL;

			if (c && (!c->dir || c->ckpt_mark == mark))
				err = ckpt_dirent(b, i, e);
		}
	}
	free(queue);
	return err;
}

static uint64_t ckpt_slot_offset(const struct swf_super *sb, uint32_t gen)
{
	return sb->meta_offset + (gen % 2) * sb->ckpt_size;
}

/* Write the whole table as generation gen into its slot on every mirror. */
static int ckpt_write(struct swe_volume *vol, const struct swf_super *sb,
		      unsigned nmirror, struct cbuf *b, uint32_t gen,
		      uint64_t seq, uint64_t next_ino, uint64_t mount_seq)
{
	struct swf_ckpt c = { .generation = gen, .seq = seq, .next_ino = next_ino,
			      .body_len = b->len - SWF_BLOCK, .mount_seq = mount_seq };
	size_t total = (b->len + SWF_BLOCK - 1) / SWF_BLOCK * SWF_BLOCK;
	int err;

	memset(b->p + b->len, 0, total - b->len);
	c.body_crc = crc32c(0, b->p + SWF_BLOCK, c.body_len);
	memset(b->p, 0, SWF_BLOCK);
	swf_ckpt_encode(&c, b->p);
	for (unsigned d = 0; d < nmirror; d++) {
		err = swe_member_pwrite(vol, d, b->p, total, ckpt_slot_offset(sb, gen));
		if (err)
			return err;
	}
	/*
	 * The new checkpoint is durable before the old generation's log is
	 * cleared: a crash in between finds one or the other whole.
	 */
	for (unsigned d = 0; d < nmirror; d++)
		if ((err = swe_member_flush(vol, d)))
			return err;
	/* the new generation's log starts on a clean block, not on old bytes */
	memset(b->p, 0, SWF_BLOCK);
	for (unsigned d = 0; d < nmirror; d++)
		if ((err = swe_member_pwrite(vol, d, b->p, SWF_BLOCK, sb->log_offset)))
			return err;
	for (unsigned d = 0; d < nmirror; d++)
		if ((err = swe_member_flush(vol, d)))
			return err;
	return 0;
}

static int cbuf_init(struct cbuf *b, uint64_t limit)
{
	b->cap = 1 << 20;
	b->len = SWF_BLOCK;	/* header block first */
	b->limit = limit;
	return posix_memalign((void **)&b->p, SWF_BLOCK, b->cap) ? -ENOMEM : 0;
}

int sw_meta_checkpoint(struct sw_meta *m)
{
	struct sw_inode_iter it;
	struct sw_inode *i;
	struct cbuf b;
	int err;

	if (m->read_only)
		return 0;
	if ((err = cbuf_init(&b, m->sb.ckpt_size)))
		return err;
	/* unlogged extents are part of the table: their data must be durable first */
	err = swe_volume_flush(m->vol);
	if (!err)
		err = ckpt_serialize(m, &b);
	if (!err) {
		/*
		 * From here the slot of generation gen + 1 may be on disk, and
		 * the log's first block cleared: until a checkpoint succeeds,
		 * no record may go to the log of generation gen (commits
		 * checkpoint instead).
		 */
		m->lib->ckpt_needed = true;
		err = ckpt_write(m->vol, &m->sb, m->nmirror, &b, m->gen + 1, m->seq,
				 m->next_ino, m->lib->mount_seq);
	}
	free(b.p);
	if (err)
		return err;
	m->lib->ckpt_needed = false;
	m->lib->log_volatile = false;	/* ckpt_write flushed it */
	m->gen++;
	m->head = 0;
	m->lib->llen = 0;
	m->checkpoints++;
	{
		struct sw_inode *keep = NULL;

		while (m->lib->dirty) {
			struct sw_inode *ino = m->lib->dirty;

			m->lib->dirty = ino->dirty_next;
			if (ino->inflight) {	/* its unlogged extents wait */
				ino->dirty_next = keep;
				keep = ino;
			} else {
				ino->on_dirty = false;
			}
		}
		m->lib->dirty = keep;
	}
	sw_for_each_inode(m, &it, i)
		for (size_t k = 0; k < i->next && !i->inflight; k++)
			i->ext[k].logged = true;
	release_pending_free(m);
	return 0;
}

int sw_meta_checkpoint_above(struct sw_meta *m, uint32_t max_gen, uint64_t max_seq)
{
	uint64_t gen = m->gen;

	while (gen < max_gen)
		gen += 2;	/* the slot not in use stays the one written */
	if (gen >= UINT32_MAX)
		return -EOVERFLOW;	/* only a forged generation gets here */
	if (m->seq < max_seq)
		m->seq = max_seq;
	m->gen = (uint32_t)gen;
	return sw_meta_checkpoint(m);
}

/* ---- zeroing the log, formatting --------------------------------------- */

int meta_log_zero(struct sw_meta *m, uint64_t from, uint64_t to)
{
	size_t chunk = 1 << 20;	/* a bounded buffer, whatever the range */
	uint8_t *z;
	int err = 0;

	if (from >= to)
		return 0;
	if (to - from < chunk)
		chunk = (size_t)(to - from);
	if (posix_memalign((void **)&z, SWF_BLOCK, chunk))
		return -ENOMEM;
	memset(z, 0, chunk);
	for (unsigned d = 0; d < m->nmirror && !err; d++)
		for (uint64_t at = from; !err && at < to; at += chunk)
			err = swe_member_pwrite(m->vol, d, z, to - at < chunk ? (size_t)(to - at) : chunk,
						m->sb.log_offset + at);
	for (unsigned d = 0; d < m->nmirror && !err; d++)
		err = swe_member_flush(m->vol, d);
	free(z);
	return err;
}

int sw_meta_format(struct swe_volume *vol, const struct swf_super *sb,
		   uint32_t root_uid, uint32_t root_gid)
{
	struct sw_meta m;
	struct cbuf b = {0};
	int64_t now = sw_now_ns();
	struct swf_rec root = { .type = SWF_R_INODE, .u.inode = {
		.ino = SW_ROOT_INO, .mode = S_IFDIR | 0755, .uid = root_uid,
		.gid = root_gid, .nlink = 2, .atime_ns = now, .mtime_ns = now,
		.ctime_ns = now } };
	int err = meta_init(&m, vol, sb, false);
	uint8_t *zero = NULL;

	if (err)
		return err;
	err = meta_apply(&m, &root);
	if (!err)
		err = cbuf_init(&b, sb->ckpt_size);
	if (!err)
		err = ckpt_serialize(&m, &b);
	/* generation 1 lives in slot B; slot A and the log start zeroed (all of
	 * the log: records an earlier filesystem left there must not look like
	 * ones of this one to the damage checks at load) */
	if (!err)
		err = ckpt_write(vol, sb, m.nmirror, &b, 1, 0, m.next_ino, 0);
	if (!err && posix_memalign((void **)&zero, SWF_BLOCK, SWF_BLOCK))
		err = -ENOMEM;
	if (!err)
		memset(zero, 0, SWF_BLOCK);
	for (unsigned d = 0; d < m.nmirror && !err; d++)
		err = swe_member_pwrite(vol, d, zero, SWF_BLOCK, sb->meta_offset);
	if (!err)
		err = meta_log_zero(&m, 0, sb->log_size);	/* flushes the mirrors */
	free(zero);
	free(b.p);
	sw_meta_close(&m);
	return err;
}


/*
 * meta.c - tensor table, metadata log and checkpoints (see meta.h).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs/lib/fslib.h"

int64_t sw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- inode hash ------------------------------------------------------- */

static size_t hslot(const struct sw_meta *m, uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 20) & (m->hsize - 1);
}

void sw_inode_iter_init(struct sw_inode_iter *it, struct sw_meta *m)
{
	it->m = m;
	it->slot = 0;
	it->next = m->hsize ? m->htab[0] : NULL;
}

struct sw_inode *sw_inode_iter_next(struct sw_inode_iter *it)
{
	struct sw_inode *i;

	while (!it->next && ++it->slot < it->m->hsize)
		it->next = it->m->htab[it->slot];
	i = it->next;
	if (i)
		it->next = i->hnext;
	return i;
}

struct sw_inode *sw_inode_get(struct sw_meta *m, uint64_t ino)
{
	struct sw_inode *i;

	for (i = m->htab[hslot(m, ino)]; i; i = i->hnext)
		if (i->a.ino == ino)
			return i;
	return NULL;
}

static int htab_grow(struct sw_meta *m)
{
	size_t nsize = m->hsize ? m->hsize * 2 : 1024;
	struct sw_inode **nt = calloc(nsize, sizeof(*nt)), **old = m->htab;
	size_t osize = m->hsize;

	if (!nt)
		return -ENOMEM;
	m->htab = nt;
	m->hsize = nsize;
	for (size_t s = 0; s < osize; s++) {
		struct sw_inode *i = old[s], *next;

		for (; i; i = next) {
			size_t h = hslot(m, i->a.ino);

			next = i->hnext;
			i->hnext = nt[h];
			nt[h] = i;
		}
	}
	free(old);
	return 0;
}

/* ---- what the table costs in a checkpoint --------------------------------- */

/*
 * m->tbl_bytes is the size the checkpoint body of the table would have:
 * every record ckpt_serialize writes, counted as the table changes (an
 * upper bound: it also counts what a checkpoint leaves out, such as an
 * unreachable directory's entries or extents still being written).
 */
static uint64_t rec_bytes(size_t payload)
{
	return (SWF_REC_HDR + payload + 7) & ~(uint64_t)7;
}

#define INODE_BYTES rec_bytes(80)
#define EXTENT_BYTES rec_bytes(36)
#define DIRENT_BYTES(len) rec_bytes(18 + (len))
#define XATTR_BYTES(nlen, vlen) rec_bytes(14 + (size_t)(nlen) + (vlen))
#define SYMLINK_BYTES(len) rec_bytes(12 + (len))

static void tbl_add(struct sw_meta *m, uint64_t bytes)
{
	m->tbl_bytes += bytes;
}

static void tbl_sub(struct sw_meta *m, uint64_t bytes)
{
	m->tbl_bytes = m->tbl_bytes > bytes ? m->tbl_bytes - bytes : 0;
}

/* ---- directories ------------------------------------------------------ */

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int dir_reindex(struct sw_dir *d, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(uint32_t));

	if (!slots)
		return -ENOMEM;
	free(d->slots);
	d->slots = slots;
	d->nslots = nslots;
	for (size_t i = 0; i < d->n; i++) {
		size_t s;

		if (!d->e[i].ino)
			continue;
		for (s = name_hash(d->e[i].name) & (nslots - 1); slots[s];
		     s = (s + 1) & (nslots - 1))
			;
		slots[s] = (uint32_t)i + 1;
	}
	return 0;
}

static void dir_compact(struct sw_dir *d)
{
	size_t j = 0;

	for (size_t i = 0; i < d->n; i++) {
		if (d->e[i].ino)
			d->e[j++] = d->e[i];
		else
			free(d->e[i].name);
	}
	d->n = j;
}

struct sw_dent *sw_dir_lookup(struct sw_inode *dir, const char *name)
{
	struct sw_dir *d = dir->dir;

	if (!d || !d->nslots)
		return NULL;
	for (size_t s = name_hash(name) & (d->nslots - 1); d->slots[s];
	     s = (s + 1) & (d->nslots - 1)) {
		struct sw_dent *e = &d->e[d->slots[s] - 1];

		if (e->ino && !strcmp(e->name, name))
			return e;
	}
	return NULL;
}

static int dir_add(struct sw_meta *m, struct sw_inode *dir, const char *name, size_t len,
		   uint64_t ino)
{
	struct sw_dir *d = dir->dir;
	size_t s;

	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 8;
		struct sw_dent *ne = realloc(d->e, ncap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		d->e = ne;
		d->cap = ncap;
	}
	if ((d->n + 1) * 2 > d->nslots) {
		if (d->n > 2 * d->live + 16)
			dir_compact(d);
		if (dir_reindex(d, d->nslots ? d->nslots * 2 : 16))
			return -ENOMEM;
	}
	d->e[d->n] = (struct sw_dent){ .name = strndup(name, len), .ino = ino,
				       .cookie = d->next_cookie++ };
	if (!d->e[d->n].name)
		return -ENOMEM;
	for (s = name_hash(d->e[d->n].name) & (d->nslots - 1); d->slots[s];
	     s = (s + 1) & (d->nslots - 1))
		;
	d->slots[s] = (uint32_t)d->n + 1;
	d->n++;
	d->live++;
	tbl_add(m, DIRENT_BYTES(len));
	return 0;
}

static void dir_del(struct sw_meta *m, struct sw_inode *dir, struct sw_dent *e)
{
	e->ino = 0;
	dir->dir->live--;
	tbl_sub(m, DIRENT_BYTES(strlen(e->name)));
}

/* ---- extents ---------------------------------------------------------- */

size_t sw_ext_find(const struct sw_inode *ino, uint64_t foff)
{
	size_t lo = 0, hi = ino->next;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ino->ext[mid].foff + ino->ext[mid].len <= foff)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int sw_ext_walk(const struct sw_inode *ino, uint64_t s, uint64_t e,
		int (*fn)(void *arg, uint64_t foff, uint64_t len, int64_t voff), void *arg)
{
	uint64_t at = s;
	int err = 0;

	for (size_t i = sw_ext_find(ino, s); i < ino->next && at < e && !err; i++) {
		const struct sw_ext *x = &ino->ext[i];
		uint64_t xs = x->foff > at ? x->foff : at;
		uint64_t xe = x->foff + x->len < e ? x->foff + x->len : e;

		if (xs >= e)
			break;
		if (xs > at)
			err = fn(arg, at, xs - at, -1);
		if (!err)
			err = fn(arg, xs, xe - xs, (x->flags & SWF_EXT_UNWRITTEN) ? -1 :
				 (int64_t)(x->voff + (xs - x->foff)));
		at = xe;
	}
	if (!err && at < e)
		err = fn(arg, at, e - at, -1);
	return err;
}

static void release_range(struct sw_meta *m, uint64_t voff, uint64_t len)
{
	struct sw_free_range *f;

	if (m->replaying || !len)
		return;
	if (m->npending_free == m->cap_pending_free) {
		size_t ncap = m->cap_pending_free ? m->cap_pending_free * 2 : 64;

		f = realloc(m->pending_free, ncap * sizeof(*f));
		if (!f) {
			/* leak the space rather than risk reusing it early */
			sw_err("out of memory: %llu bytes leaked until remount",
				(unsigned long long)len);
			return;
		}
		m->pending_free = f;
		m->cap_pending_free = ncap;
	}
	m->pending_free[m->npending_free++] = (struct sw_free_range){ voff, len };
}

static int ext_reserve(struct sw_inode *ino, size_t extra)
{
	if (ino->next + extra > ino->extcap) {
		size_t ncap = ino->extcap ? ino->extcap * 2 : 4;
		struct sw_ext *ne;

		while (ncap < ino->next + extra)
			ncap *= 2;
		ne = realloc(ino->ext, ncap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		ino->ext = ne;
		ino->extcap = ncap;
	}
	return 0;
}

/*
 * Drop mappings of [foff, foff+len).  Parts whose volume range equals keep
 * (the same blocks being remapped) are not released.
 */
static int ext_unmap(struct sw_meta *m, struct sw_inode *ino, uint64_t foff,
		     uint64_t len, const struct sw_ext *keep)
{
	uint64_t end = foff + len;
	size_t i = sw_ext_find(ino, foff);

	if (ext_reserve(ino, 1))
		return -ENOMEM;
	while (i < ino->next && ino->ext[i].foff < end) {
		struct sw_ext *e = &ino->ext[i];
		uint64_t s = e->foff > foff ? e->foff : foff;
		uint64_t t = e->foff + e->len < end ? e->foff + e->len : end;
		uint64_t vs = e->voff + (s - e->foff);

		if (!keep || keep->voff - keep->foff != e->voff - e->foff)
			release_range(m, vs, t - s);
		if (s > e->foff && t < e->foff + e->len) {	/* split in two */
			memmove(e + 2, e + 1, (ino->next - i - 1) * sizeof(*e));
			e[1] = *e;
			e[1].foff = t;
			e[1].voff = e->voff + (t - e->foff);
			e[1].len = e->foff + e->len - t;
			e->len = s - e->foff;
			ino->next++;
			return 0;
		}
		if (s > e->foff) {			/* keep the head */
			e->len = s - e->foff;
			i++;
		} else if (t < e->foff + e->len) {	/* keep the tail */
			e->voff += t - e->foff;
			e->len -= t - e->foff;
			e->foff = t;
			i++;
		} else {				/* all of it */
			memmove(e, e + 1, (ino->next - i - 1) * sizeof(*e));
			ino->next--;
		}
	}
	return 0;
}

static bool ext_mergeable(const struct sw_ext *a, const struct sw_ext *b)
{
	return a->foff + a->len == b->foff && a->voff + a->len == b->voff &&
	       a->flags == b->flags && a->logged == b->logged;
}

static int ext_insert(struct sw_meta *m, struct sw_inode *ino,
		      const struct sw_ext *x)
{
	size_t i;
	int err = ext_unmap(m, ino, x->foff, x->len, x);

	if (err || (err = ext_reserve(ino, 1)))
		return err;
	i = sw_ext_find(ino, x->foff);
	memmove(&ino->ext[i + 1], &ino->ext[i], (ino->next - i) * sizeof(*x));
	ino->ext[i] = *x;
	ino->next++;
	if (i + 1 < ino->next && ext_mergeable(&ino->ext[i], &ino->ext[i + 1])) {
		ino->ext[i].len += ino->ext[i + 1].len;
		memmove(&ino->ext[i + 1], &ino->ext[i + 2],
			(ino->next - i - 2) * sizeof(*x));
		ino->next--;
	}
	if (i > 0 && ext_mergeable(&ino->ext[i - 1], &ino->ext[i])) {
		ino->ext[i - 1].len += ino->ext[i].len;
		memmove(&ino->ext[i], &ino->ext[i + 1], (ino->next - i - 1) * sizeof(*x));
		ino->next--;
	}
	return 0;
}

/* The table's checkpoint size follows the extent count of ino. */
static void ext_account(struct sw_meta *m, const struct sw_inode *ino, size_t before)
{
	if (ino->next > before)
		tbl_add(m, (ino->next - before) * EXTENT_BYTES);
	else
		tbl_sub(m, (before - ino->next) * EXTENT_BYTES);
}


int sw_ext_map(struct sw_meta *m, struct sw_inode *ino, uint64_t foff,
	       uint64_t voff, uint64_t len, uint32_t flags)
{
	struct sw_ext x = { foff, voff, len, flags, false };
	size_t before = ino->next;
	int err = ext_insert(m, ino, &x);

	ext_account(m, ino, before);
	if (!err)
		sw_meta_dirty(m, ino);
	return err;
}

int sw_ext_unmap(struct sw_meta *m, struct sw_inode *ino, uint64_t foff, uint64_t len)
{
	size_t before = ino->next;
	int err = ext_unmap(m, ino, foff, len, NULL);

	ext_account(m, ino, before);
	if (!err)
		sw_meta_dirty(m, ino);
	return err;
}

/* ---- xattrs ------------------------------------------------------------ */

struct sw_xattr *sw_xattr_find(struct sw_inode *ino, const char *name)
{
	for (size_t i = 0; i < ino->nxa; i++)
		if (!strcmp(ino->xa[i].name, name))
			return &ino->xa[i];
	return NULL;
}

static int xattr_set(struct sw_inode *ino, const char *name, size_t nlen,
		     const void *value, uint32_t vlen)
{
	char *n = strndup(name, nlen);
	void *v = malloc(vlen ? vlen : 1);
	struct sw_xattr *x;

	if (!n || !v) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	if (vlen)
		memcpy(v, value, vlen);
	x = sw_xattr_find(ino, n);
	if (x) {
		free(n);
		free(x->value);
	} else {
		struct sw_xattr *nx = realloc(ino->xa, (ino->nxa + 1) * sizeof(*nx));

		if (!nx) {
			free(n);
			free(v);
			return -ENOMEM;
		}
		ino->xa = nx;
		x = &ino->xa[ino->nxa++];
		x->name = n;
	}
	x->value = v;
	x->len = vlen;
	return 0;
}

static void xattr_del(struct sw_inode *ino, const char *name, size_t nlen)
{
	for (size_t i = 0; i < ino->nxa; i++) {
		if (strlen(ino->xa[i].name) == nlen && !memcmp(ino->xa[i].name, name, nlen)) {
			free(ino->xa[i].name);
			free(ino->xa[i].value);
			ino->xa[i] = ino->xa[--ino->nxa];
			return;
		}
	}
}

/* ---- applying records ------------------------------------------------- */

static void dirty_unlink(struct sw_meta *m, struct sw_inode *ino)
{
	struct sw_inode **p;

	if (!ino->on_dirty)
		return;
	for (p = &m->dirty; *p; p = &(*p)->dirty_next)
		if (*p == ino) {
			*p = ino->dirty_next;
			break;
		}
	ino->on_dirty = false;
}

static void inode_destroy(struct sw_meta *m, struct sw_inode *ino)
{
	struct sw_inode **p;

	for (p = &m->htab[hslot(m, ino->a.ino)]; *p; p = &(*p)->hnext)
		if (*p == ino) {
			*p = ino->hnext;
			break;
		}
	dirty_unlink(m, ino);
	tbl_sub(m, INODE_BYTES + ino->next * EXTENT_BYTES);
	if (ino->symlink)
		tbl_sub(m, SYMLINK_BYTES(strlen(ino->symlink)));
	for (size_t i = 0; i < ino->next; i++)
		release_range(m, ino->ext[i].voff, ino->ext[i].len);
	for (size_t i = 0; i < ino->nxa; i++) {
		tbl_sub(m, XATTR_BYTES(strlen(ino->xa[i].name), ino->xa[i].len));
		free(ino->xa[i].name);
		free(ino->xa[i].value);
	}
	if (ino->dir) {
		for (size_t i = 0; i < ino->dir->n; i++) {
			if (ino->dir->e[i].ino)
				tbl_sub(m, DIRENT_BYTES(strlen(ino->dir->e[i].name)));
			free(ino->dir->e[i].name);
		}
		free(ino->dir->e);
		free(ino->dir->slots);
		free(ino->dir);
	}
	free(ino->xa);
	free(ino->ext);
	free(ino->symlink);
	free(ino->wb_lost);
	pthread_rwlock_destroy(&ino->rw);
	free(ino);
	m->count--;
}

static int apply_inode(struct sw_meta *m, const struct swf_inode_rec *r)
{
	struct sw_inode *ino = sw_inode_get(m, r->ino);

	if (!r->ino)
		return -EBADMSG;
	if (!ino) {
		if (m->count + 1 > m->hsize && htab_grow(m))
			return -ENOMEM;
		ino = calloc(1, sizeof(*ino));
		if (!ino)
			return -ENOMEM;
		if (S_ISDIR(r->mode)) {
			ino->dir = calloc(1, sizeof(*ino->dir));
			if (!ino->dir) {
				free(ino);
				return -ENOMEM;
			}
			ino->dir->next_cookie = 3;	/* 1 and 2 are . and .. */
		}
		pthread_rwlock_init(&ino->rw, NULL);
		ino->hnext = m->htab[hslot(m, r->ino)];
		m->htab[hslot(m, r->ino)] = ino;
		m->count++;
		tbl_add(m, INODE_BYTES);
		if (r->ino >= m->next_ino)
			m->next_ino = r->ino + 1;
	} else if (!!S_ISDIR(r->mode) != !!ino->dir) {
		return -EBADMSG;
	}
	/*
	 * Field by field: the data path reads the size under the inode lock
	 * alone (its writers hold both locks), so a record that leaves the
	 * size as it is (link, chmod, rename) must not store it again.
	 */
	ino->a.ino = r->ino;
	ino->a.mode = r->mode;
	ino->a.uid = r->uid;
	ino->a.gid = r->gid;
	ino->a.nlink = r->nlink;
	if (ino->a.size != r->size)
		ino->a.size = r->size;
	ino->a.rdev = r->rdev;
	ino->a.atime_ns = r->atime_ns;
	ino->a.mtime_ns = r->mtime_ns;
	ino->a.ctime_ns = r->ctime_ns;
	ino->a.flags = r->flags;
	return 0;
}

static int apply(struct sw_meta *m, const struct swf_rec *r)
{
	struct sw_inode *ino, *child;
	struct sw_dent *e;
	struct sw_xattr *xa;
	char name[256];
	size_t before;
	int err;

	switch (r->type) {
	case SWF_R_PAD:
		return 0;
	case SWF_R_INODE:
		return apply_inode(m, &r->u.inode);
	case SWF_R_INODE_FREE:
		ino = sw_inode_get(m, r->u.free.ino);
		if (!ino || ino->a.ino == SW_ROOT_INO)
			return -EBADMSG;
		inode_destroy(m, ino);
		return 0;
	case SWF_R_DIRENT_ADD:
	case SWF_R_DIRENT_DEL:
		ino = sw_inode_get(m, r->u.dirent.parent);
		if (!ino || !ino->dir || !r->u.dirent.name_len ||
		    r->u.dirent.name_len > 255 ||
		    memchr(r->u.dirent.name, '/', r->u.dirent.name_len) ||
		    memchr(r->u.dirent.name, 0, r->u.dirent.name_len))
			return -EBADMSG;
		memcpy(name, r->u.dirent.name, r->u.dirent.name_len);
		name[r->u.dirent.name_len] = 0;
		e = sw_dir_lookup(ino, name);
		if (r->type == SWF_R_DIRENT_DEL) {
			if (!e)
				return -EBADMSG;
			dir_del(m, ino, e);
			return 0;
		}
		child = sw_inode_get(m, r->u.dirent.ino);
		if (e || !child)
			return -EBADMSG;
		if (child->dir)
			child->parent = ino->a.ino;
		return dir_add(m, ino, name, r->u.dirent.name_len, r->u.dirent.ino);
	case SWF_R_EXTENT:
	case SWF_R_UNMAP: {
		const struct swf_extent_rec *x = &r->u.extent;
		struct sw_ext ext = { x->file_offset, x->vol_offset, x->len, x->flags, true };

		ino = sw_inode_get(m, x->ino);
		if (!ino || ino->dir || !x->len || x->file_offset + x->len < x->file_offset ||
		    (r->type == SWF_R_EXTENT &&
		     (x->vol_offset % m->sb.alloc_unit || x->len % m->sb.alloc_unit ||
		      x->vol_offset + x->len > swf_volume_bytes(&m->sb) ||
		      x->vol_offset + x->len < x->vol_offset)))
			return -EBADMSG;
		before = ino->next;
		err = r->type == SWF_R_UNMAP ? ext_unmap(m, ino, x->file_offset, x->len, NULL) :
					       ext_insert(m, ino, &ext);
		ext_account(m, ino, before);
		return err;
	}
	case SWF_R_XATTR_SET:
	case SWF_R_XATTR_DEL:
		ino = sw_inode_get(m, r->u.xattr.ino);
		if (!ino || !r->u.xattr.name_len || r->u.xattr.name_len > 255 ||
		    memchr(r->u.xattr.name, 0, r->u.xattr.name_len))
			return -EBADMSG;
		memcpy(name, r->u.xattr.name, r->u.xattr.name_len);
		name[r->u.xattr.name_len] = 0;
		xa = sw_xattr_find(ino, name);
		before = xa ? XATTR_BYTES(r->u.xattr.name_len, xa->len) : 0;
		if (r->type == SWF_R_XATTR_DEL) {
			xattr_del(ino, r->u.xattr.name, r->u.xattr.name_len);
			tbl_sub(m, before);
			return 0;
		}
		err = xattr_set(ino, r->u.xattr.name, r->u.xattr.name_len,
				r->u.xattr.value, r->u.xattr.value_len);
		if (!err) {
			tbl_sub(m, before);
			tbl_add(m, XATTR_BYTES(r->u.xattr.name_len, r->u.xattr.value_len));
		}
		return err;
	case SWF_R_SYMLINK:
		ino = sw_inode_get(m, r->u.symlink.ino);
		if (!ino || !S_ISLNK(ino->a.mode) || !r->u.symlink.len ||
		    r->u.symlink.len >= 4096 || memchr(r->u.symlink.target, 0, r->u.symlink.len))
			return -EBADMSG;
		if (ino->symlink)
			tbl_sub(m, SYMLINK_BYTES(strlen(ino->symlink)));
		free(ino->symlink);
		ino->symlink = strndup(r->u.symlink.target, r->u.symlink.len);
		if (ino->symlink)
			tbl_add(m, SYMLINK_BYTES(r->u.symlink.len));
		return ino->symlink ? 0 : -ENOMEM;
	}
	return -EBADMSG;
}

/* ---- the log ---------------------------------------------------------- */

static int lbuf_reserve(struct sw_meta *m, size_t extra)
{
	size_t need = m->llen + extra + 2 * SWF_BLOCK, ncap;
	uint8_t *nb;

	if (need <= m->lcap)
		return 0;
	ncap = m->lcap ? m->lcap : 64 << 10;
	while (ncap < need)
		ncap *= 2;
	if (posix_memalign((void **)&nb, SWF_BLOCK, ncap))
		return -ENOMEM;
	if (m->llen)
		memcpy(nb, m->lbuf, m->llen);
	free(m->lbuf);
	m->lbuf = nb;
	m->lcap = ncap;
	return 0;
}

static int log_append(struct sw_meta *m, struct swf_rec *rec)
{
	int n, err = lbuf_reserve(m, SWF_REC_HDR + SWF_REC_MAX_PAYLOAD + 8);

	if (err)
		return err;
	rec->generation = m->gen;
	rec->seq = ++m->seq;
	n = swf_rec_encode(rec, m->lbuf + m->llen, m->lcap - m->llen);
	if (n < 0) {
		m->seq--;
		return n;
	}
	m->llen += (size_t)n;
	return 0;
}

int sw_meta_emit(struct sw_meta *m, struct swf_rec *rec)
{
	int err;

	if (m->read_only)
		return -EROFS;
	err = apply(m, rec);
	if (err)
		return err == -EBADMSG ? -EINVAL : err;
	return log_append(m, rec);
}

void sw_meta_dirty(struct sw_meta *m, struct sw_inode *ino)
{
	ino->attr_dirty = true;
	if (!ino->on_dirty) {
		ino->on_dirty = true;
		ino->dirty_next = m->dirty;
		m->dirty = ino;
	}
}

bool sw_meta_pending(const struct sw_meta *m)
{
	return m->llen || m->dirty;
}

static int inode_rec(struct sw_meta *m, struct sw_inode *ino, uint16_t flags)
{
	struct swf_rec r = { .type = SWF_R_INODE, .flags = flags, .u.inode = ino->a };

	return log_append(m, &r);
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

	while (m->dirty) {
		struct sw_inode *ino = m->dirty;

		if (ino->inflight) {
			m->dirty = ino->dirty_next;
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
		ino->attr_dirty = false;
		ino->on_dirty = false;
		m->dirty = ino->dirty_next;
	}
out:
	while (busy) {		/* back on the dirty list for a later commit */
		struct sw_inode *ino = busy;

		busy = ino->dirty_next;
		ino->dirty_next = m->dirty;
		m->dirty = ino;
	}
	return err;
}

static void release_pending_free(struct sw_meta *m)
{
	for (size_t i = 0; i < m->npending_free; i++) {
		uint64_t u = m->sb.alloc_unit;
		struct sw_free_range *f = &m->pending_free[i];

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
	size_t rem = (SWF_BLOCK - m->llen % SWF_BLOCK) % SWF_BLOCK;
	struct swf_rec pad = { .type = SWF_R_PAD };
	int n;

	if (!rem)
		return 0;
	if (rem < SWF_REC_HDR)
		rem += SWF_BLOCK;	/* too small for a header: pad through the next block */
	pad.generation = m->gen;
	pad.seq = ++m->seq;
	n = swf_rec_encode(&pad, m->lbuf + m->llen, rem);
	if (n < 0)
		return n;
	m->llen += (size_t)n;
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
	if (!m->llen) {
		if (durable && (err = swe_volume_flush(m->vol)))
			return err;
		release_pending_free(m);
		return 0;
	}
	if ((err = log_pad(m)))
		return err;
	if (m->ckpt_needed || m->head + m->llen > m->sb.log_size)
		return sw_meta_checkpoint(m);
	/*
	 * A zero block goes out after the commit, in the same write: the next
	 * commit starts on it.  A crash then leaves zeros or the commit in
	 * flight right after the valid log, never a stale block of an older
	 * generation that starts inside a record (records cross blocks) and
	 * would read as a torn write.
	 */
	wlen = m->llen;
	if (m->head + wlen + SWF_BLOCK <= m->sb.log_size) {
		if ((err = lbuf_reserve(m, SWF_BLOCK)))
			return err;
		memset(m->lbuf + wlen, 0, SWF_BLOCK);
		wlen += SWF_BLOCK;
	}
	if (durable && (err = swe_volume_flush(m->vol)))
		return err;
	for (unsigned d = 0; d < m->nmirror; d++) {
		err = swe_member_pwrite(m->vol, d, m->lbuf, wlen,
					m->sb.log_offset + m->head);
		if (err)
			return err;
	}
	if (durable && (err = flush_members(m, m->nmirror)))
		return err;
	m->head += m->llen;
	m->llen = 0;
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
	struct sw_inode **queue = malloc((m->count + 1) * sizeof(*queue));
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
	mark = ++m->ckpt_serial;
	if (!mark)
		mark = ++m->ckpt_serial;	/* 0 is what a new inode holds */
	for (size_t s = 0; s < m->hsize && !err; s++)
		for (struct sw_inode *i = m->htab[s]; i && !err; i = i->hnext)
			if (!i->dir)
				err = ckpt_inode(b, i);
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
	for (size_t s = 0; s < m->hsize && !err; s++)
		for (struct sw_inode *i = m->htab[s]; i && !err; i = i->hnext) {
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
		m->ckpt_needed = true;
		err = ckpt_write(m->vol, &m->sb, m->nmirror, &b, m->gen + 1, m->seq,
				 m->next_ino, m->mount_seq);
	}
	free(b.p);
	if (err)
		return err;
	m->ckpt_needed = false;
	m->gen++;
	m->head = 0;
	m->llen = 0;
	m->checkpoints++;
	{
		struct sw_inode *keep = NULL;

		while (m->dirty) {
			struct sw_inode *ino = m->dirty;

			m->dirty = ino->dirty_next;
			if (ino->inflight) {	/* its unlogged extents wait */
				ino->dirty_next = keep;
				keep = ino;
			} else {
				ino->on_dirty = false;
				ino->attr_dirty = false;
			}
		}
		m->dirty = keep;
	}
	for (size_t s = 0; s < m->hsize; s++)
		for (struct sw_inode *i = m->htab[s]; i; i = i->hnext)
			for (size_t k = 0; k < i->next && !i->inflight; k++)
				i->ext[k].logged = true;
	release_pending_free(m);
	return 0;
}

/* ---- load -------------------------------------------------------------- */

static int meta_init(struct sw_meta *m, struct swe_volume *vol,
		     const struct swf_super *sb, bool read_only)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->vol = vol;
	m->sb = *sb;
	m->read_only = read_only;
	m->nmirror = sb->dev_count < SWF_MIRRORS ? sb->dev_count : SWF_MIRRORS;
	m->next_ino = SW_ROOT_INO + 1;
	return htab_grow(m);
}

/* Read a checkpoint slot of one mirror; returns 0 and fills c and *body. */
static int ckpt_read(struct sw_meta *m, unsigned dev, unsigned slot,
		     struct swf_ckpt *c, uint8_t **body)
{
	uint64_t off = m->sb.meta_offset + slot * m->sb.ckpt_size;
	uint8_t *p;
	size_t total;
	int err;

	*body = NULL;
	memset(c, 0, sizeof(*c));
	if (posix_memalign((void **)&p, SWF_BLOCK, SWF_BLOCK))
		return -ENOMEM;
	err = swe_member_pread(m->vol, dev, p, SWF_BLOCK, off);
	if (!err && !p[0] && !memcmp(p, p + 1, SWF_BLOCK - 1))
		err = -ENODATA;		/* never written (slot A of a fresh format) */
	if (!err)
		err = swf_ckpt_decode(c, p);
	free(p);
	if (err)
		return err;
	if (c->body_len > m->sb.ckpt_size - SWF_BLOCK || c->generation % 2 != slot)
		return -EBADMSG;
	total = (c->body_len + SWF_BLOCK - 1) / SWF_BLOCK * SWF_BLOCK;
	if (posix_memalign((void **)&p, SWF_BLOCK, total + SWF_BLOCK))
		return -ENOMEM;
	err = total ? swe_member_pread(m->vol, dev, p, total, off + SWF_BLOCK) : 0;
	if (!err && crc32c(0, p, c->body_len) != c->body_crc)
		err = -EBADMSG;
	if (err) {
		free(p);
		return err;
	}
	*body = p;
	return 0;
}

static void note_bad(struct sw_meta *m, const struct swf_rec *r, bool in_log)
{
	if (!m->bad_records++) {
		m->bad_first_seq = in_log ? r->seq : 0;
		m->bad_first_type = r->type;
	}
}

int sw_meta_apply(struct sw_meta *m, const struct swf_rec *rec)
{
	return apply(m, rec);
}

static int apply_all(struct sw_meta *m, const uint8_t *p, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		struct swf_rec r;
		int n = swf_rec_decode(&r, p + pos, len - pos);

		if (n <= 0)
			return n ? n : -EBADMSG;
		if (apply(m, &r)) {
			if (!m->salvage)
				return -EBADMSG;
			note_bad(m, &r, false);
		}
		pos += (size_t)n;
	}
	return 0;
}

/*
 * Replay the log of one mirror from its start: records of the current
 * generation with consecutive sequence numbers, applied a transaction at a
 * time.  Returns the bytes consumed, rounded up to a block (the new head).
 */
static int64_t replay(struct sw_meta *m, const uint8_t *log, size_t len,
		      bool dry_run, uint64_t *records)
{
	size_t pos = 0, group_start = 0;
	uint64_t seq = m->seq, group_seq = m->seq;

	*records = 0;
	while (pos < len) {
		struct swf_rec r;
		int n = swf_rec_decode(&r, log + pos, len - pos);

		if (n <= 0 || r.generation != m->gen || r.seq != seq + 1)
			break;
		seq = r.seq;
		pos += (size_t)n;
		if (r.flags & SWF_RF_CONT)
			continue;
		/* a complete transaction: [group_start, pos) */
		for (size_t q = group_start; !dry_run && q < pos;) {
			struct swf_rec g;
			int k = swf_rec_decode(&g, log + q, pos - q);

			if (k <= 0)
				return -EBADMSG;
			if (apply(m, &g)) {
				if (!m->salvage)
					return -EBADMSG;
				note_bad(m, &g, true);
			}
			q += (size_t)k;
			(*records)++;
		}
		group_start = pos;
		group_seq = seq;
	}
	if (!dry_run)
		m->seq = group_seq;
	return (int64_t)((group_start + SWF_BLOCK - 1) / SWF_BLOCK * SWF_BLOCK);
}

/*
 * What one mirror's log holds beyond what replay can use.  The walk follows
 * records of generation gen with consecutive sequence numbers from seq + 1
 * (what replay reads, an incomplete last transaction included) and stops
 * at end.  From there on, runs of records that decode are looked for at
 * every block start (each commit starts on one).  Sequence numbers grow
 * across generations, so a record of a newer generation, or of an older
 * one with a sequence number above the checkpoint's, was written after the
 * checkpoint in use ("newer"), and one of this generation with a sequence
 * number above floor after a commit that replay cannot reach ("orphan"):
 * the damage before it is no torn tail.  Other records of older
 * generations are stale bytes of earlier logs.
 */
struct log_survey {
	size_t end;		/* where the walk stopped */
	uint64_t last_seq;	/* sequence number of the last record it read */
	uint64_t newer, orphans, orphan_first, orphan_last, max_seq;
	uint32_t max_gen;
	size_t tail_end;	/* end of the last block after the walk holding a record of gen */
};

static void log_survey(const uint8_t *log, size_t len, uint32_t gen, uint64_t seq,
		       uint64_t floor, struct log_survey *s,
		       void (*lost_fn)(void *, const struct swf_rec *), void *arg)
{
	uint64_t ckpt_seq = seq;
	size_t pos = 0;
	struct swf_rec r;
	int n;

	memset(s, 0, sizeof(*s));
	while ((n = swf_rec_decode(&r, log + pos, len - pos)) > 0 &&
	       r.generation == gen && r.seq == seq + 1) {
		seq = r.seq;
		pos += (size_t)n;
	}
	s->end = pos;
	s->last_seq = s->max_seq = seq;
	if (floor < seq)
		floor = seq;
	if (n < 0)	/* a damaged record: the tail to clear reaches at least its block */
		s->tail_end = (pos / SWF_BLOCK + 1) * SWF_BLOCK;
	while (pos < len) {
		if ((n = swf_rec_decode(&r, log + pos, len - pos)) <= 0) {
			pos = (pos / SWF_BLOCK + 1) * SWF_BLOCK;
			continue;
		}
		if (r.generation > s->max_gen)
			s->max_gen = r.generation;
		if (r.seq > s->max_seq)
			s->max_seq = r.seq;
		if (r.generation == gen)
			s->tail_end = (pos + (size_t)n + SWF_BLOCK - 1) / SWF_BLOCK * SWF_BLOCK;
		if (r.generation > gen || (r.generation < gen && r.seq > ckpt_seq) ||
		    (r.generation == gen && r.seq > floor)) {
			if (r.generation != gen) {
				s->newer += r.type != SWF_R_PAD;
			} else {
				s->orphans += r.type != SWF_R_PAD;
				if (!s->orphan_first || r.seq < s->orphan_first)
					s->orphan_first = r.seq;
				if (r.seq > s->orphan_last)
					s->orphan_last = r.seq;
			}
			if (lost_fn && r.type != SWF_R_PAD)
				lost_fn(arg, &r);
		}
		pos += (size_t)n;
	}
}

/* Zero [from, to) of the log on every mirror. */
static int log_zero(struct sw_meta *m, uint64_t from, uint64_t to)
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

static int rebuild_alloc(struct sw_meta *m)
{
	uint64_t row = (uint64_t)m->sb.stripe_unit * m->sb.dev_count;
	int err = sw_alloc_init(&m->alloc, swf_volume_bytes(&m->sb), m->sb.alloc_unit, row);

	for (size_t s = 0; s < m->hsize && !err; s++)
		for (struct sw_inode *i = m->htab[s]; i && !err; i = i->hnext)
			for (size_t k = 0; k < i->next && !err; k++)
				if ((err = sw_alloc_mark(&m->alloc, i->ext[k].voff / m->sb.alloc_unit,
							 i->ext[k].len / m->sb.alloc_unit)) == -EEXIST &&
				    m->salvage)
					err = 0;	/* overlap: swapfsck reports it */
	return err == -EEXIST ? -EUCLEAN : err;
}

int sw_meta_load(struct sw_meta *m, struct swe_volume *vol,
		 const struct swf_super *sb, bool read_only)
{
	return sw_meta_open(m, vol, sb, read_only ? SW_LOAD_READ_ONLY : 0, NULL);
}

/* Slot headers and the surveys of every mirror's log: what a crash cannot explain. */
static void judge_damage(struct sw_meta *m, const struct swf_ckpt *best, bool log_continues,
			 struct sw_load_report *rep)
{
	unsigned other = (best->generation + 1) % 2;
	bool other_ok = false, all_empty = true;

	for (unsigned d = 0; d < m->nmirror; d++)
		for (unsigned slot = 0; slot < 2; slot++)
			if (rep->ckpt_gen[d][slot] > rep->max_gen)
				rep->max_gen = rep->ckpt_gen[d][slot];
	for (unsigned d = 0; d < m->nmirror; d++) {
		if (!rep->ckpt_err[d][other])
			other_ok = true;	/* an older checkpoint, intact */
		if (rep->ckpt_err[d][other] != -ENODATA)
			all_empty = false;
	}
	/* slot A stays empty until generation 2; after that both slots hold one */
	if (!other_ok && !(all_empty && best->generation == 1)) {
		rep->lost_slot = other;
		if (log_continues)
			rep->ckpt_torn = true;
		else
			rep->ckpt_lost = true;
	}
	if (rep->newer_records)
		snprintf(rep->why, sizeof(rep->why),
			 "the log holds %llu record(s) newer than the newest readable checkpoint "
			 "(generation %u, sequence %llu)", (unsigned long long)rep->newer_records,
			 best->generation, (unsigned long long)best->seq);
	else if (rep->orphan_records)
		snprintf(rep->why, sizeof(rep->why),
			 "the log is damaged at byte %llu and %llu valid record(s) follow: damage, "
			 "not a torn write",
			 (unsigned long long)rep->damage_at, (unsigned long long)rep->orphan_records);
	else if (rep->ckpt_lost)
		snprintf(rep->why, sizeof(rep->why),
			 "checkpoint slot %c is unreadable on every mirror and may have held a "
			 "newer table than generation %u", 'A' + other, best->generation);
	else if (rep->ckpt_torn)
		snprintf(rep->why, sizeof(rep->why),
			 "checkpoint slot %c is unreadable on every mirror: an interrupted "
			 "checkpoint (the log continues generation %u)", 'A' + other,
			 best->generation);
}

/*
 * Stale members.  Every read-write mount raises the mount counter of all
 * superblocks from T (the checkpoint's) to T + 1, flushes, and then writes a
 * checkpoint recording T + 1, all before it can write any data.  So a
 * member that missed a mount (an older copy restored over it) is below the
 * checkpoint's T; a member at T + 1 beside a checkpoint at T is what a crash
 * during the superblock writes leaves (no data was written since), and
 * members above T + 1 mean the metadata itself, on members 0 and 1, is the
 * older copy.  Members below the newest state (T, or the highest counter
 * less one) are stale.  Returns -EUCLEAN with rep->why naming the first of
 * them, 0 when none, or an I/O error.
 */
static int members_check(struct sw_meta *m, struct sw_load_report *rep)
{
	unsigned n = m->sb.dev_count, first = n;
	uint64_t top = 0, floor;
	struct swf_super s;
	int err;

	for (unsigned i = 0; i < n; i++) {
		if ((err = sw_super_read(m->vol, i, &s, NULL)))
			return err;
		rep->member_seq[i] = s.mount_seq;
		if (s.mount_seq > top)
			top = s.mount_seq;
	}
	floor = top > rep->mount_seq + 1 ? top - 1 : rep->mount_seq;
	rep->newest_seq = top > rep->mount_seq ? top : rep->mount_seq;
	for (unsigned i = 0; i < n; i++)
		if (rep->member_seq[i] < floor) {
			rep->stale[i] = true;
			if (!rep->nstale++)
				first = i;
		}
	if (!rep->nstale)
		return 0;
	snprintf(rep->why, sizeof(rep->why),
		 "member %u (%s) is older than the others (mount %llu vs %llu%s): a stale copy?",
		 first, swe_volume_device(m->vol, first)->path,
		 (unsigned long long)rep->member_seq[first], (unsigned long long)rep->newest_seq,
		 rep->nstale > 1 ? "; more members are older" : "");
	return -EUCLEAN;
}

/* Write mount counter seq to both superblock copies of every member, then flush them. */
static int members_bump(struct sw_meta *m, uint64_t seq)
{
	struct swf_super s;
	int err = 0;

	for (unsigned i = 0; i < m->sb.dev_count && !err; i++) {
		err = sw_super_read(m->vol, i, &s, NULL);
		if (!err && s.mount_seq != seq) {
			s.mount_seq = seq;
			err = sw_super_write(m->vol, i, &s);
		}
	}
	if (!err)
		err = swe_volume_flush(m->vol);
	return err;
}

int sw_meta_open(struct sw_meta *m, struct swe_volume *vol, const struct swf_super *sb,
		 unsigned flags, struct sw_load_report *rep)
{
	struct swf_ckpt best = {0}, c;
	uint8_t *best_body = NULL, *body, *log = NULL;
	int64_t best_head = -1;
	uint64_t records, best_last = 0, zero_to = 0;
	unsigned best_dev = 0, lost_dev = 0;
	struct log_survey sv[SWF_MIRRORS], lost_sv = {0};
	struct sw_load_report scratch = {0};
	bool read_only = flags & SW_LOAD_READ_ONLY, lost = false;
	int err = meta_init(m, vol, sb, read_only);
	void (*lost_fn)(void *, const struct swf_rec *);
	void *lost_arg;

	if (err)
		return err;
	if (!rep)
		rep = &scratch;
	lost_fn = rep->lost_fn;
	lost_arg = rep->lost_arg;
	memset(rep, 0, sizeof(*rep));
	memset(sv, 0, sizeof(sv));
	m->salvage = flags & SW_LOAD_SALVAGE;
	/* newest valid checkpoint over both slots of every mirror */
	for (unsigned d = 0; d < m->nmirror; d++)
		for (unsigned slot = 0; slot < 2; slot++) {
			rep->ckpt_err[d][slot] = ckpt_read(m, d, slot, &c, &body);
			rep->ckpt_gen[d][slot] = c.generation;
			if (rep->ckpt_err[d][slot])
				continue;
			if (!best_body || c.generation > best.generation) {
				free(best_body);
				best = c;
				best_body = body;
			} else {
				free(body);
			}
		}
	if (!best_body) {
		snprintf(rep->why, sizeof(rep->why), "no valid checkpoint on any metadata mirror");
		err = -EUCLEAN;
		goto out;
	}
	m->gen = best.generation;
	rep->generation = best.generation;
	rep->ckpt_seq = best.seq;
	/* before anything is written: no member may be an older copy of itself */
	m->mount_seq = rep->mount_seq = best.mount_seq;
	err = members_check(m, rep);
	if (err && (err != -EUCLEAN || !m->salvage))
		goto out;
	err = 0;
	m->seq = best.seq;
	m->next_ino = best.next_ino;
	m->replaying = true;
	err = apply_all(m, best_body, best.body_len);
	if (err || !sw_inode_get(m, SW_ROOT_INO) || !sw_inode_get(m, SW_ROOT_INO)->dir) {
		snprintf(rep->why, sizeof(rep->why), "checkpoint generation %u does not apply",
			 best.generation);
		err = -EUCLEAN;
		goto out;
	}
	/* the mirror whose log holds the longest valid prefix wins */
	if (posix_memalign((void **)&log, SWF_BLOCK, m->sb.log_size)) {
		err = -ENOMEM;
		goto out;
	}
	for (unsigned d = 0; d < m->nmirror; d++) {
		int64_t head;

		rep->log_head[d] = -1;
		if (swe_member_pread(vol, d, log, m->sb.log_size, m->sb.log_offset))
			continue;
		head = replay(m, log, m->sb.log_size, true, &records);
		rep->log_head[d] = head;
		if (head >= 0 && (uint64_t)head < m->sb.log_size) {
			struct swf_rec r;

			rep->log_torn[d] = swf_rec_decode(&r, log + head, m->sb.log_size - head) < 0;
		}
		if (head > best_head) {
			best_head = head;
			best_dev = d;
		}
		log_survey(log, m->sb.log_size, best.generation, best.seq, 0, &sv[d], NULL, NULL);
		if (sv[d].last_seq > best_last)
			best_last = sv[d].last_seq;
		if (sv[d].max_gen > rep->max_gen)
			rep->max_gen = sv[d].max_gen;
		if (sv[d].max_seq > rep->max_seq)
			rep->max_seq = sv[d].max_seq;
	}
	/* records beyond what any mirror's replay reaches: the mirror with the latest */
	for (unsigned d = 0; d < m->nmirror; d++) {
		uint64_t end = (sv[d].end + SWF_BLOCK - 1) / SWF_BLOCK * SWF_BLOCK;

		if (sv[d].tail_end > zero_to)
			zero_to = sv[d].tail_end;
		if (end > zero_to)
			zero_to = end;
		if (rep->log_head[d] < 0 || (!sv[d].newer && sv[d].orphan_last <= best_last))
			continue;
		if (!lost || sv[d].newer > sv[lost_dev].newer ||
		    sv[d].orphan_last > sv[lost_dev].orphan_last) {
			lost = true;
			lost_dev = d;
		}
	}
	if (lost) {
		err = swe_member_pread(vol, lost_dev, log, m->sb.log_size, m->sb.log_offset);
		if (err)
			goto out;
		log_survey(log, m->sb.log_size, best.generation, best.seq, best_last, &lost_sv,
			   lost_fn, lost_arg);
		rep->newer_records = lost_sv.newer;
		rep->orphan_records = lost_sv.orphans;
		rep->orphan_first_seq = lost_sv.orphan_first;
		rep->orphan_last_seq = lost_sv.orphan_last;
		rep->damage_at = lost_sv.end;
	}
	judge_damage(m, &best, best_last > best.seq, rep);
	if (!m->salvage && (rep->newer_records || rep->orphan_records || rep->ckpt_lost)) {
		err = -EUCLEAN;
		goto out;
	}
	if (best_head > 0) {
		err = swe_member_pread(vol, best_dev, log, m->sb.log_size, m->sb.log_offset);
		if (!err && replay(m, log, m->sb.log_size, false, &records) < 0)
			err = -EUCLEAN;
		if (err)
			goto out;
		m->records_replayed = records;
	}
	m->replaying = false;
	m->head = best_head > 0 ? (uint64_t)best_head : 0;
	err = rebuild_alloc(m);
	if (!err && !read_only && !(flags & SW_LOAD_NO_CHECKPOINT)) {
		/* this mount's counter on every member, durable, before the checkpoint
		 * below records it: from then on a copy of a member taken before this
		 * mount is below the checkpoint's (members_check) */
		err = members_bump(m, m->mount_seq + 1);
		if (!err)
			m->mount_seq++;
		/* what lies past the head of this generation (a torn tail) is cleared
		 * before new commits land there: none of it may be read as theirs */
		if (!err)
			err = log_zero(m, m->head, zero_to < m->sb.log_size ? zero_to : m->sb.log_size);
		/* start a clean generation so no torn tail can be mistaken for new
		 * records, give a mirror that lacks the newest checkpoint its copy, and
		 * record the mount counter (every read-write mount, before any data
		 * write: the daemon serves requests only after this returns) */
		if (!err)
			err = sw_meta_checkpoint(m);
		/* a table too big for its slot still mounts, from the log as replayed;
		 * new names are refused (tbl_fits) until removals make room */
		if (err == -ENOSPC)
			err = 0;
	}
out:
	m->replaying = false;
	free(best_body);
	free(log);
	if (err)
		sw_meta_close(m);
	return err;
}

void sw_meta_close(struct sw_meta *m)
{
	m->replaying = true;	/* tearing down: nothing to release */
	for (size_t s = 0; s < m->hsize; s++)
		while (m->htab[s])
			inode_destroy(m, m->htab[s]);
	free(m->htab);
	m->htab = NULL;
	m->hsize = 0;
	free(m->lbuf);
	m->lbuf = NULL;
	free(m->pending_free);
	m->pending_free = NULL;
	sw_alloc_destroy(&m->alloc);
	pthread_mutex_destroy(&m->lock);
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
	err = apply(&m, &root);
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
		err = log_zero(&m, 0, sb->log_size);	/* flushes the mirrors */
	free(zero);
	free(b.p);
	sw_meta_close(&m);
	return err;
}

/*
 * The checkpoint body can hold ckpt_size - 4 KiB.  New inodes, names and
 * xattrs may use it up to a reserve; what is not checked against that
 * (new extents of data writes, a rename's longer name) may use the
 * reserve, up to the slot's capacity, and then gets ENOSPC too.  So a
 * checkpoint of the table always fits: the log never holds records that
 * no checkpoint could take.
 */
static uint64_t ckpt_capacity(const struct sw_meta *m)
{
	return m->sb.ckpt_size > SWF_BLOCK ? m->sb.ckpt_size - SWF_BLOCK : 0;
}

static uint64_t ckpt_reserve(const struct sw_meta *m)
{
	uint64_t c = ckpt_capacity(m), r = c / 32;

	if (r < (64 << 10))
		r = 64 << 10;
	return r < c / 2 ? r : c / 2;	/* never more than half (tiny slots) */
}

/* What the table takes of a checkpoint slot, with the room staged writes hold. */
static uint64_t tbl_used(const struct sw_meta *m)
{
	return m->tbl_bytes + m->tbl_resv;
}

/* Whether the table can grow by bytes and a checkpoint of it still fit its slot. */
static bool tbl_fits(const struct sw_meta *m, uint64_t bytes)
{
	return ckpt_capacity(m) && tbl_used(m) + bytes <= ckpt_capacity(m);
}

/* Where new inodes, names and xattrs stop: the slot less its reserve. */
static uint64_t names_limit(const struct sw_meta *m)
{
	return ckpt_capacity(m) - ckpt_reserve(m);
}

uint64_t sw_meta_cost_name(size_t name_len)
{
	return DIRENT_BYTES(name_len);
}

uint64_t sw_meta_cost_inode(size_t name_len, size_t link_len)
{
	return INODE_BYTES + DIRENT_BYTES(name_len) + (link_len ? SYMLINK_BYTES(link_len) : 0);
}

uint64_t sw_meta_cost_extent(void)
{
	return EXTENT_BYTES;
}

uint64_t sw_meta_cost_xattr(size_t name_len, size_t value_len)
{
	return XATTR_BYTES(name_len, value_len);
}

int sw_meta_room(const struct sw_meta *m, uint64_t bytes)
{
	return tbl_used(m) + bytes > names_limit(m) ? -ENOSPC : 0;
}

int sw_meta_room_reserved(const struct sw_meta *m, uint64_t bytes)
{
	return tbl_fits(m, bytes) ? 0 : -ENOSPC;
}

int sw_meta_room_hold(struct sw_meta *m, uint64_t bytes)
{
	if (!tbl_fits(m, bytes))
		return -ENOSPC;
	m->tbl_resv += bytes;
	return 0;
}

void sw_meta_room_unhold(struct sw_meta *m, uint64_t bytes)
{
	m->tbl_resv = m->tbl_resv > bytes ? m->tbl_resv - bytes : 0;
}

uint64_t sw_meta_inodes_free(const struct sw_meta *m)
{
	uint64_t limit = names_limit(m), used = tbl_used(m);

	/*
	 * How many more empty files fit whatever their names (NAME_MAX bytes
	 * each), as ext4 counts free inodes whatever data they will get: 0 once
	 * a new name can be refused.  (The table's average cost per inode said
	 * 13 free beside one file of 3,000 extents, when 7,124 names fitted.)
	 */
	return used >= limit ? 0 : (limit - used) / sw_meta_cost_inode(255, 0);
}

uint64_t sw_inode_allocated(const struct sw_inode *ino)
{
	uint64_t n = 0;

	for (size_t i = 0; i < ino->next; i++)
		n += ino->ext[i].len;
	return n;
}

uint64_t sw_meta_used_bytes(const struct sw_meta *m)
{
	return (m->alloc.nunits - m->alloc.nfree) * (uint64_t)m->alloc.unit;
}

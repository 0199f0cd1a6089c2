/*
 * table.c - the in-memory tensor table: inodes and their hash, directories,
 * extents, xattrs, what the table costs in a checkpoint, and applying a
 * record to it.  Its durable form is journal.c's; loading is load.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs/lib/fslib.h"
#include "fs/lib/fslib_int.h"

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

int meta_htab_grow(struct sw_meta *m)
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
 * m->lib->tbl_bytes is the size the checkpoint body of the table would have:
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
	m->lib->tbl_bytes += bytes;
}

static void tbl_sub(struct sw_meta *m, uint64_t bytes)
{
	m->lib->tbl_bytes = m->lib->tbl_bytes > bytes ? m->lib->tbl_bytes - bytes : 0;
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

	if (m->lib->replaying || m->lib->repair || !len)
		return;
	if (m->npending_free == m->lib->cap_pending_free) {
		size_t ncap = m->lib->cap_pending_free ? m->lib->cap_pending_free * 2 : 64;

		f = realloc(m->lib->pending_free, ncap * sizeof(*f));
		if (!f) {
			/* leak the space rather than risk reusing it early */
			sw_err("out of memory: %llu bytes leaked until remount",
				(unsigned long long)len);
			return;
		}
		m->lib->pending_free = f;
		m->lib->cap_pending_free = ncap;
	}
	m->lib->pending_free[m->npending_free++] = (struct sw_free_range){ voff, len };
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
	for (p = &m->lib->dirty; *p; p = &(*p)->dirty_next)
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
	if (m->lib->ops.fini)
		m->lib->ops.fini(ino);
	free(ino);
	m->count--;
}

/* Every inode and the hash: the table is empty and holds no memory. */
void meta_table_free(struct sw_meta *m)
{
	struct sw_inode_iter it;
	struct sw_inode *i;

	m->lib->replaying = true;	/* tearing down: nothing to release */
	sw_for_each_inode(m, &it, i)
		inode_destroy(m, i);
	free(m->htab);
	m->htab = NULL;
	m->hsize = 0;
}

static int apply_inode(struct sw_meta *m, const struct swf_inode_rec *r)
{
	struct sw_inode *ino = sw_inode_get(m, r->ino);
	int err;

	if (!r->ino)
		return -EBADMSG;
	if (!ino) {
		if (m->count + 1 > m->hsize && meta_htab_grow(m))
			return -ENOMEM;
		ino = calloc(1, sizeof(*ino) + m->lib->ops.priv_size);
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
		if (m->lib->ops.init && (err = m->lib->ops.init(ino))) {
			free(ino->dir);
			free(ino);
			return err;
		}
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

int meta_apply(struct sw_meta *m, const struct swf_rec *r)
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


int sw_meta_apply(struct sw_meta *m, const struct swf_rec *rec)
{
	return meta_apply(m, rec);
}

/* ---- dirty inodes (written as records at the next commit) ------------- */

void sw_meta_dirty(struct sw_meta *m, struct sw_inode *ino)
{
	if (!ino->on_dirty) {
		ino->on_dirty = true;
		ino->dirty_next = m->lib->dirty;
		m->lib->dirty = ino;
	}
}

/* ---- room of the checkpoint slot --------------------------------------- */

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
	return m->lib->tbl_bytes + m->lib->tbl_resv;
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
	m->lib->tbl_resv += bytes;
	return 0;
}

void sw_meta_room_unhold(struct sw_meta *m, uint64_t bytes)
{
	m->lib->tbl_resv = m->lib->tbl_resv > bytes ? m->lib->tbl_resv - bytes : 0;
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

/* ---- space ------------------------------------------------------------- */

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

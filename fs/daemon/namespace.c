/*
 * namespace.c - the namespace and open files of the FUSE low-level API:
 * lookup/forget, getattr/setattr, create/mkdir/mknod/symlink/link,
 * unlink/rmdir, rename (with NOREPLACE and EXCHANGE), readlink,
 * open/release/flush/fsync, opendir/readdir/fsyncdir and statfs, put into
 * the op table by sw_namespace_ops.
 *
 * Each change is one or more records emitted under the metadata lock; a
 * multi-record change (rename, create) is one transaction (SWF_RF_CONT on
 * all but the last record) so a crash applies all of it or none.
 * Permission checks are the kernel's (default_permissions).  An inode's
 * end is lifetime.c's, a file's sync sync.c's, its data data.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/daemon/bdi.h"
#include "fs/daemon/fuse_io.h"
#include "fs/daemon/inode.h"
#include "fs/daemon/lifetime.h"
#include "fs/daemon/namespace.h"
#include "fs/daemon/sync.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static void set_open_mode(struct fuse_file_info *fi);

/* Fill a reply entry for ino and take one lookup reference. */
static void make_entry(struct swapfs *fs, struct sw_inode *ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino->a.ino;
	e->generation = 1;
	e->attr_timeout = fs->attr_timeout;
	e->entry_timeout = fs->attr_timeout;
	sw_fill_attr(fs, ino, &e->attr);
	sw_dn(ino)->nlookup++;
}

static struct sw_inode *get_dir(struct swapfs *fs, fuse_ino_t nr, int *err)
{
	struct sw_inode *d = sw_inode_get(&fs->meta, nr);

	*err = !d ? ENOENT : !d->dir ? ENOTDIR : 0;
	return *err ? NULL : d;
}

static int check_name(const char *name)
{
	size_t n = strlen(name);

	if (!n)
		return ENOENT;
	return n > SW_NAME_MAX ? ENAMETOOLONG : 0;
}
static int emit_dirent(struct swapfs *fs, uint16_t type, uint64_t parent,
		       const char *name, uint64_t ino, bool cont)
{
	struct swf_rec r = { .type = type, .flags = cont ? SWF_RF_CONT : 0,
			     .u.dirent = { parent, ino, name, (uint16_t)strlen(name) } };

	return sw_meta_emit(&fs->meta, &r);
}
static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct swapfs *fs = sw_fs(req);
	struct fuse_entry_param e;
	struct sw_inode *dir, *ino;
	struct sw_dent *d;
	int err = check_name(name);

	sw_set_read_ahead(fs);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	pthread_mutex_lock(&fs->meta.lock);
	dir = get_dir(fs, parent, &err);
	d = dir ? sw_dir_lookup(dir, name) : NULL;
	ino = d ? sw_inode_get(&fs->meta, d->ino) : NULL;
	if (ino)
		make_entry(fs, ino, &e);
	pthread_mutex_unlock(&fs->meta.lock);
	if (ino)
		fuse_reply_entry(req, &e);
	else if (!err) {
		/*
		 * A negative entry the kernel keeps: names change only through
		 * its requests, so an O_CREAT open of this name goes straight
		 * to CREATE.
		 */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->attr_timeout;
		fuse_reply_entry(req, &e);
	} else
		fuse_reply_err(req, err);
}

static void forget_one(struct swapfs *fs, fuse_ino_t nr, uint64_t n)
{
	struct sw_inode *ino = sw_inode_get(&fs->meta, nr);

	if (!ino)
		return;
	sw_dn(ino)->nlookup = sw_dn(ino)->nlookup > n ? sw_dn(ino)->nlookup - n : 0;
	sw_free_unreachable(fs, ino);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct swapfs *fs = sw_fs(req);

	pthread_mutex_lock(&fs->meta.lock);
	forget_one(fs, ino, nlookup);
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	struct swapfs *fs = sw_fs(req);

	pthread_mutex_lock(&fs->meta.lock);
	for (size_t i = 0; i < count; i++)
		forget_one(fs, f[i].ino, f[i].nlookup);
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_none(req);
}
static void op_getattr(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	struct stat st;

	(void)fi;
	sw_set_read_ahead(fs);
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	if (ino)
		sw_fill_attr(fs, ino, &st);
	pthread_mutex_unlock(&fs->meta.lock);
	if (ino)
		fuse_reply_attr(req, &st, fs->attr_timeout);
	else
		fuse_reply_err(req, ENOENT);
}

static void op_setattr(fuse_req_t req, fuse_ino_t nr, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	struct stat st;
	int64_t now = sw_now_ns();
	int err = 0;

	(void)fi;
	if (fs->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	ino = sw_inode_lookup(fs, nr);
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_rwlock_wrlock(&sw_dn(ino)->rw);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (ino->dir)
			err = EISDIR;
		else if (!S_ISREG(ino->a.mode))
			err = EINVAL;
		else if (attr->st_size < 0)
			err = EINVAL;
		else
			err = -sw_truncate(fs, ino, (uint64_t)attr->st_size);
	}
	pthread_mutex_lock(&fs->meta.lock);
	if (!err) {
		if (to_set & FUSE_SET_ATTR_MODE)
			ino->a.mode = (ino->a.mode & S_IFMT) | (attr->st_mode & 07777);
		if (to_set & FUSE_SET_ATTR_UID)
			ino->a.uid = attr->st_uid;
		if (to_set & FUSE_SET_ATTR_GID)
			ino->a.gid = attr->st_gid;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			ino->a.atime_ns = now;
		else if (to_set & FUSE_SET_ATTR_ATIME)
			ino->a.atime_ns = (int64_t)attr->st_atim.tv_sec * 1000000000 + attr->st_atim.tv_nsec;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			ino->a.mtime_ns = now;
		else if (to_set & FUSE_SET_ATTR_MTIME)
			ino->a.mtime_ns = (int64_t)attr->st_mtim.tv_sec * 1000000000 + attr->st_mtim.tv_nsec;
		ino->a.ctime_ns = (to_set & FUSE_SET_ATTR_CTIME) ?
			(int64_t)attr->st_ctim.tv_sec * 1000000000 + attr->st_ctim.tv_nsec : now;
		sw_meta_dirty(&fs->meta, ino);
		sw_fill_attr(fs, ino, &st);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	pthread_rwlock_unlock(&sw_dn(ino)->rw);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, fs->attr_timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t nr)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	char *target = NULL;

	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	if (ino && ino->symlink)
		target = strdup(ino->symlink);
	pthread_mutex_unlock(&fs->meta.lock);
	if (target)
		fuse_reply_readlink(req, target);
	else
		fuse_reply_err(req, ino ? EINVAL : ENOENT);
	free(target);
}

/*
 * Create an inode named name in parent: one transaction of INODE,
 * [SYMLINK], DIRENT_ADD and, for directories, the parent's new link count.
 */
static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev, const char *link,
		      struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct sw_meta *m = &fs->meta;
	struct fuse_entry_param e;
	struct sw_inode *dir, *ino = NULL;
	int64_t now = sw_now_ns();
	struct swf_rec r = { .type = SWF_R_INODE, .flags = SWF_RF_CONT };
	int err = check_name(name);

	if (!err && fs->read_only)
		err = EROFS;
	if (!err && link && (strlen(link) >= 4096 || !*link))
		err = strlen(link) ? ENAMETOOLONG : ENOENT;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	pthread_mutex_lock(&m->lock);
	dir = get_dir(fs, parent, &err);
	if (dir && sw_dir_lookup(dir, name))
		err = EEXIST;
	if (!err)	/* the metadata area is full */
		err = -sw_meta_room(m, sw_meta_cost_inode(strlen(name), link ? strlen(link) : 0));
	if (!err && dir->a.nlink == 0)
		err = ENOENT;	/* parent was removed */
	if (!err) {
		r.u.inode = (struct swf_inode_rec){
			.ino = m->next_ino, .mode = mode, .uid = ctx->uid, .gid = ctx->gid,
			.nlink = S_ISDIR(mode) ? 2 : 1, .rdev = rdev,
			.atime_ns = now, .mtime_ns = now, .ctime_ns = now };
		if (dir->a.mode & S_ISGID) {	/* BSD group semantics */
			r.u.inode.gid = dir->a.gid;
			if (S_ISDIR(mode))
				r.u.inode.mode |= S_ISGID;
		}
		err = -sw_meta_emit(m, &r);
	}
	if (!err && link) {
		struct swf_rec s = { .type = SWF_R_SYMLINK, .flags = SWF_RF_CONT,
			.u.symlink = { r.u.inode.ino, link, (uint32_t)strlen(link) } };

		err = -sw_meta_emit(m, &s);
	}
	if (!err && S_ISDIR(mode)) {
		dir->a.nlink++;
		dir->a.mtime_ns = dir->a.ctime_ns = now;
		err = -sw_emit_inode(fs, dir, true);
	} else if (!err) {
		dir->a.mtime_ns = dir->a.ctime_ns = now;
		sw_meta_dirty(m, dir);
	}
	if (!err)
		err = -emit_dirent(fs, SWF_R_DIRENT_ADD, parent, name, r.u.inode.ino, false);
	if (!err) {
		ino = sw_inode_get(m, r.u.inode.ino);
		make_entry(fs, ino, &e);
		if (fi)
			sw_dn(ino)->nopen++;
	}
	pthread_mutex_unlock(&m->lock);
	if (err && fi)
		free((void *)(uintptr_t)fi->fh);	/* no open file: no release will come */
	if (err)
		fuse_reply_err(req, err);
	else if (fi) {
		set_open_mode(fi);
		fuse_reply_create(req, &e, fi);
	}
	else
		fuse_reply_entry(req, &e);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) &&
	    !S_ISCHR(mode) && !S_ISBLK(mode)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	make_node(req, parent, name, mode, rdev, NULL, NULL);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL, NULL);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make_node(req, parent, name, S_IFLNK | 0777, 0, link, NULL);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	/* a new inode has had no write-behind error: zeroed cursors are current */
	struct sw_ofile *of = calloc(1, sizeof(*of));

	if (!of) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)of;
	make_node(req, parent, name, S_IFREG | (mode & 07777), 0, NULL, fi);
}

static void op_link(fuse_req_t req, fuse_ino_t nr, fuse_ino_t newparent,
		    const char *newname)
{
	struct swapfs *fs = sw_fs(req);
	struct fuse_entry_param e;
	struct sw_inode *dir, *ino;
	int err = check_name(newname);

	if (!err && fs->read_only)
		err = EROFS;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	pthread_mutex_lock(&fs->meta.lock);
	dir = get_dir(fs, newparent, &err);
	ino = sw_inode_get(&fs->meta, nr);
	if (!err && !ino)
		err = ENOENT;
	if (!err && ino->dir)
		err = EPERM;
	if (!err && sw_dir_lookup(dir, newname))
		err = EEXIST;
	if (!err && ino->a.nlink >= 65000)
		err = EMLINK;
	if (!err)
		err = -sw_meta_room(&fs->meta, sw_meta_cost_name(strlen(newname)));
	if (!err) {
		ino->a.nlink++;
		ino->a.ctime_ns = dir->a.mtime_ns = dir->a.ctime_ns = sw_now_ns();
		sw_meta_dirty(&fs->meta, dir);
		err = -sw_emit_inode(fs, ino, true);
	}
	if (!err)
		err = -emit_dirent(fs, SWF_R_DIRENT_ADD, newparent, newname, nr, false);
	if (!err)
		make_entry(fs, ino, &e);
	pthread_mutex_unlock(&fs->meta.lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

/* Remove name from dir (caller checked the kind); one transaction. */
static int remove_entry(struct swapfs *fs, struct sw_inode *dir, const char *name,
			struct sw_inode *ino, bool cont)
{
	int64_t now = sw_now_ns();
	int err = emit_dirent(fs, SWF_R_DIRENT_DEL, dir->a.ino, name, ino->a.ino, true);

	if (err)
		return err;
	if (ino->dir) {
		ino->a.nlink = 0;
		dir->a.nlink--;
	} else {
		ino->a.nlink--;
	}
	ino->a.ctime_ns = dir->a.mtime_ns = dir->a.ctime_ns = now;
	err = sw_emit_inode(fs, dir, true);
	if (!err)
		err = sw_emit_inode(fs, ino, cont);
	return err;
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, bool rmdir)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *dir, *ino = NULL;
	struct sw_dent *d;
	int err = fs->read_only ? EROFS : 0;

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	pthread_mutex_lock(&fs->meta.lock);
	dir = get_dir(fs, parent, &err);
	d = dir ? sw_dir_lookup(dir, name) : NULL;
	if (!err && !d)
		err = ENOENT;
	if (!err)
		ino = sw_inode_get(&fs->meta, d->ino);
	if (!err && rmdir && !ino->dir)
		err = ENOTDIR;
	if (!err && !rmdir && ino->dir)
		err = EISDIR;
	if (!err && rmdir && ino->dir->live)
		err = ENOTEMPTY;
	if (!err)
		err = -remove_entry(fs, dir, name, ino, false);
	if (!err)
		sw_free_unreachable(fs, ino);
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_err(req, err);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, false);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, true);
}

/* Is dir a descendant of (or equal to) anc? Walks parent pointers. */
static bool is_descendant(struct swapfs *fs, struct sw_inode *dir, uint64_t anc)
{
	for (unsigned depth = 0; dir && depth < 100000; depth++) {
		if (dir->a.ino == anc)
			return true;
		if (dir->a.ino == SW_ROOT_INO)
			return false;
		dir = sw_inode_get(&fs->meta, dir->parent);
	}
	return false;
}

static int exchange_entries(struct swapfs *fs, struct sw_inode *od, const char *oname,
		       struct sw_inode *src, struct sw_inode *nd, const char *nname,
		       struct sw_inode *dst)
{
	int64_t now = sw_now_ns();
	int err;

	if ((src->dir && is_descendant(fs, nd, src->a.ino)) ||
	    (dst->dir && is_descendant(fs, od, dst->a.ino)))
		return -EINVAL;
	err = emit_dirent(fs, SWF_R_DIRENT_DEL, od->a.ino, oname, src->a.ino, true);
	if (!err)
		err = emit_dirent(fs, SWF_R_DIRENT_DEL, nd->a.ino, nname, dst->a.ino, true);
	if (!err && od != nd && !!src->dir != !!dst->dir) {
		/* a directory changes parent: link counts follow */
		if (src->dir) { od->a.nlink--; nd->a.nlink++; }
		else { od->a.nlink++; nd->a.nlink--; }
	}
	od->a.mtime_ns = od->a.ctime_ns = nd->a.mtime_ns = nd->a.ctime_ns = now;
	src->a.ctime_ns = dst->a.ctime_ns = now;
	if (!err)
		err = sw_emit_inode(fs, od, true);
	if (!err && nd != od)
		err = sw_emit_inode(fs, nd, true);
	if (!err)
		err = emit_dirent(fs, SWF_R_DIRENT_ADD, nd->a.ino, nname, src->a.ino, true);
	if (!err)
		err = emit_dirent(fs, SWF_R_DIRENT_ADD, od->a.ino, oname, dst->a.ino, false);
	return err;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *od, *nd = NULL, *src = NULL, *dst = NULL;
	struct sw_dent *d;
	int64_t now = sw_now_ns();
	int err = check_name(newname);

	if (!err && fs->read_only)
		err = EROFS;
	if (!err && (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)))
		err = EINVAL;
	if (!err && (flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		err = EINVAL;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	pthread_mutex_lock(&fs->meta.lock);
	od = get_dir(fs, parent, &err);
	if (!err)
		nd = get_dir(fs, newparent, &err);
	if (!err && !(d = sw_dir_lookup(od, name)))
		err = ENOENT;
	if (!err)
		src = sw_inode_get(&fs->meta, d->ino);
	if (!err && (d = sw_dir_lookup(nd, newname)))
		dst = sw_inode_get(&fs->meta, d->ino);
	if (err)
		goto out;
	if (flags & RENAME_EXCHANGE) {
		err = dst ? -exchange_entries(fs, od, name, src, nd, newname, dst) : ENOENT;
		goto out;
	}
	if (dst && (flags & RENAME_NOREPLACE)) {
		err = EEXIST;
		goto out;
	}
	if (dst == src)		/* two links to one inode: nothing to do */
		goto out;
	if (!dst && strlen(newname) > strlen(name) &&	/* a longer name: may use the reserve */
	    (err = -sw_meta_room_reserved(&fs->meta, sw_meta_cost_name(strlen(newname)) -
					  sw_meta_cost_name(strlen(name)))))
		goto out;
	if (src->dir && is_descendant(fs, nd, src->a.ino)) {
		err = EINVAL;
		goto out;
	}
	if (dst) {
		if (src->dir && !dst->dir)
			err = ENOTDIR;
		else if (!src->dir && dst->dir)
			err = EISDIR;
		else if (dst->dir && dst->dir->live)
			err = ENOTEMPTY;
		if (!err)
			err = -remove_entry(fs, nd, newname, dst, true);
		if (err)
			goto out;
	}
	err = -emit_dirent(fs, SWF_R_DIRENT_DEL, od->a.ino, name, src->a.ino, true);
	if (!err && src->dir && od != nd) {
		od->a.nlink--;
		nd->a.nlink++;
	}
	od->a.mtime_ns = od->a.ctime_ns = nd->a.mtime_ns = nd->a.ctime_ns = now;
	src->a.ctime_ns = now;
	if (!err)
		err = -sw_emit_inode(fs, od, true);
	if (!err && nd != od)
		err = -sw_emit_inode(fs, nd, true);
	if (!err)
		err = -sw_emit_inode(fs, src, true);
	if (!err)
		err = -emit_dirent(fs, SWF_R_DIRENT_ADD, nd->a.ino, newname, src->a.ino, false);
	if (!err && dst)
		sw_free_unreachable(fs, dst);
out:
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_err(req, err);
}

/* ---- open files -------------------------------------------------------- */

/*
 * Opens bypass the page cache (direct_io): FUSE's direct path moves data
 * several times faster than its page-cache path (docs/PERFORMANCE.md).
 * Without FUSE_DIRECT_IO_ALLOW_MMAP (fuse_io.c) a direct_io file cannot be
 * mmapped MAP_SHARED, so then only write-only opens (never mmappable) go
 * direct and the rest keep the page cache for np.load(mmap_mode) and
 * safetensors.
 */
static void set_open_mode(struct fuse_file_info *fi)
{
	sw_ofile(fi)->accmode = fi->flags & O_ACCMODE;	/* the client path's proof of access */
	if ((fi->flags & O_ACCMODE) == O_WRONLY || (fi->flags & O_DIRECT) ||
	    sw_fuse_direct_io_mmap())
		fi->direct_io = 1;
}

static void op_open(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_ofile *of = calloc(1, sizeof(*of));
	struct sw_errseen *seen = of ? &of->seen : NULL;
	struct sw_inode *ino;

	if (!of || (fs->read_only && (fi->flags & O_ACCMODE) != O_RDONLY)) {
		fuse_reply_err(req, of ? EROFS : ENOMEM);
		free(of);
		return;
	}
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	if (ino) {
		sw_dn(ino)->nopen++;
		/* an earlier write-behind error that some file reported is not this one's */
		seen->write = seen->fsync = seen->close = sw_errseq_sample(ino);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	if (!ino) {
		free(of);
		fuse_reply_err(req, ENOENT);
		return;
	}
	fi->fh = (uintptr_t)of;
	/* libfuse asks for atomic O_TRUNC: the truncation is ours to do */
	if ((fi->flags & O_TRUNC) && S_ISREG(ino->a.mode)) {
		bool empty;
		int err;

		pthread_rwlock_wrlock(&sw_dn(ino)->rw);
		pthread_mutex_lock(&fs->meta.lock);	/* a failing write-behind may trim it */
		empty = !ino->a.size;
		pthread_mutex_unlock(&fs->meta.lock);
		err = empty ? 0 : sw_truncate(fs, ino, 0);
		pthread_rwlock_unlock(&sw_dn(ino)->rw);
		if (err) {
			pthread_mutex_lock(&fs->meta.lock);
			sw_dn(ino)->nopen--;
			pthread_mutex_unlock(&fs->meta.lock);
			free(of);
			fuse_reply_err(req, -err);
			return;
		}
	}
	set_open_mode(fi);
	fuse_reply_open(req, fi);
}

/* Last close of an inode: its read-ahead window goes. */
static void release_read_ahead(struct swapfs *fs, fuse_ino_t nr)
{
	struct sw_inode *ino;
	bool last;

	ino = sw_inode_lookup(fs, nr);
	if (!ino || ino->dir)
		return;
	pthread_mutex_lock(&fs->meta.lock);	/* opens change nopen under it */
	last = sw_dn(ino)->ra && sw_dn(ino)->nopen <= 1;
	pthread_mutex_unlock(&fs->meta.lock);
	if (last) {
		pthread_rwlock_wrlock(&sw_dn(ino)->rw);
		sw_ra_release(fs, ino);
		pthread_rwlock_unlock(&sw_dn(ino)->rw);
	}
}

static void op_release(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;

	sw_sync_data(fs, nr, NULL);	/* mmap writeback may come after the last flush */
	release_read_ahead(fs, nr);
	free((void *)(uintptr_t)fi->fh);
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	if (ino)
		sw_inode_close_locked(fs, ino);
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_err(req, 0);
}

/* The open file's cursors of write-behind errors (set at open and create). */
static struct sw_errseen *errseen(const struct fuse_file_info *fi)
{
	return &sw_ofile(fi)->seen;
}

/*
 * close(): the file's data and metadata survive a crash of the daemon; a
 * write-behind error this open file has not reported at a close yet.  A
 * read-only open wrote nothing: no wait for other writers' staged data,
 * no log write for other files' records (the background commit has them).
 */
static void op_flush(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;

	if (sw_ofile(fi) && !sw_ofile_writable(sw_ofile(fi))) {
		ino = sw_inode_lookup(fs, nr);
		fuse_reply_err(req, ino ? -sw_wb_error(fs, ino, &errseen(fi)->close) : 0);
		return;
	}
	fuse_reply_err(req, -sw_sync_file(fs, nr, false,
					  errseen(fi) ? &errseen(fi)->close : NULL));
}

/* fsync(): ... and one it has not reported at an fsync yet. */
static void op_fsync(fuse_req_t req, fuse_ino_t nr, int datasync,
		     struct fuse_file_info *fi)
{
	uint32_t *seen = errseen(fi) ? &errseen(fi)->fsync : NULL;

	fuse_reply_err(req, -(datasync ? sw_datasync_file(sw_fs(req), nr, seen) :
			      sw_sync_file(sw_fs(req), nr, true, seen)));
}

/* ---- directories ------------------------------------------------------- */

static void op_opendir(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	int err;

	pthread_mutex_lock(&fs->meta.lock);
	get_dir(fs, nr, &err);
	pthread_mutex_unlock(&fs->meta.lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_open(req, fi);
}

/* First entry with cookie > off (entries are kept in cookie order). */
static size_t dir_seek(const struct sw_dir *d, uint64_t off)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (d->e[mid].cookie <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * READDIR, or with plus READDIRPLUS: each entry with its attributes and a
 * lookup reference (none for "." and "..", which the kernel does not link),
 * so `ls -l`, du, tar and rsync send no LOOKUP per name.
 */
static void do_readdir(fuse_req_t req, fuse_ino_t nr, size_t size, off_t off, bool plus)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *dir;
	char *buf = malloc(size ? size : 1);
	size_t used = 0;
	struct stat st = {0};
	struct fuse_entry_param pe = {0};
	int err;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs->meta.lock);
	dir = get_dir(fs, nr, &err);
	if (!err) {
		const char *dots[2] = { ".", ".." };
		uint64_t dot_ino[2] = { dir->a.ino, dir->a.ino == SW_ROOT_INO ? SW_ROOT_INO : dir->parent };

		for (int k = 0; k < 2; k++) {
			size_t n;

			if ((uint64_t)off > (uint64_t)k)
				continue;
			st.st_ino = pe.attr.st_ino = dot_ino[k];
			st.st_mode = pe.attr.st_mode = S_IFDIR;
			n = plus ? fuse_add_direntry_plus(req, buf + used, size - used, dots[k], &pe, k + 1) :
				fuse_add_direntry(req, buf + used, size - used, dots[k], &st, k + 1);
			if (n > size - used)
				goto full;
			used += n;
		}
		for (size_t i = dir_seek(dir->dir, (uint64_t)off); i < dir->dir->n; i++) {
			struct sw_dent *e = &dir->dir->e[i];
			struct sw_inode *c;
			size_t n;

			if (!e->ino || !(c = sw_inode_get(&fs->meta, e->ino)))
				continue;
			st.st_ino = e->ino;
			st.st_mode = c->a.mode;
			if (plus)
				make_entry(fs, c, &pe);
			n = plus ? fuse_add_direntry_plus(req, buf + used, size - used, e->name, &pe,
							  (off_t)e->cookie) :
				fuse_add_direntry(req, buf + used, size - used, e->name, &st,
						  (off_t)e->cookie);
			if (n > size - used) {
				if (plus)
					sw_dn(c)->nlookup--;	/* not sent: no reference */
				break;
			}
			used += n;
		}
	}
full:
	pthread_mutex_unlock(&fs->meta.lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t nr, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, nr, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t nr, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, nr, size, off, true);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t nr, int datasync,
			struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, -sw_sync_file(sw_fs(req), nr, true, NULL));
}

static void op_statfs(fuse_req_t req, fuse_ino_t nr)
{
	struct swapfs *fs = sw_fs(req);
	struct statvfs sv = {0};

	(void)nr;
	pthread_mutex_lock(&fs->meta.lock);
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = swf_volume_bytes(&fs->sb) / 4096;
	/* space reserved by staged writes is not free */
	sv.f_bfree = sw_alloc_available(&fs->meta.alloc) * (fs->meta.alloc.unit / 4096);
	sv.f_bavail = sv.f_bfree;
	/* inodes: those of the table, and how many more its checkpoint can take */
	sv.f_ffree = sw_meta_inodes_free(&fs->meta);
	sv.f_files = fs->meta.count + sv.f_ffree;
	sv.f_favail = sv.f_ffree;
	sv.f_namemax = SW_NAME_MAX;
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_statfs(req, &sv);
}

void sw_namespace_ops(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = op_lookup;
	ops->forget = op_forget;
	ops->forget_multi = op_forget_multi;
	ops->getattr = op_getattr;
	ops->setattr = op_setattr;
	ops->readlink = op_readlink;
	ops->mknod = op_mknod;
	ops->mkdir = op_mkdir;
	ops->unlink = op_unlink;
	ops->rmdir = op_rmdir;
	ops->symlink = op_symlink;
	ops->rename = op_rename;
	ops->link = op_link;
	ops->open = op_open;
	ops->flush = op_flush;
	ops->release = op_release;
	ops->fsync = op_fsync;
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->readdirplus = op_readdirplus;
	ops->fsyncdir = op_fsyncdir;
	ops->statfs = op_statfs;
	ops->create = op_create;
}

/*
 * ops.c - namespace operations of the FUSE low-level API: lookup, attrs,
 * create/mkdir/mknod/symlink/link, unlink/rmdir, rename (with NOREPLACE
 * and EXCHANGE), readdir, xattrs, open/release/flush/fsync, statfs.
 *
 * Each change is one or more records emitted under the metadata lock; a
 * multi-record change (rename, create) is one transaction (SWF_RF_CONT on
 * all but the last record) so a crash applies all of it or none.
 * Permission checks are the kernel's (default_permissions).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fs/daemon/fuse_io.h"
#include "fs/client/proto.h"
#include "fs/daemon/swapfs.h"
#include "fs/daemon/transport.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int sync_data(struct swapfs *fs, fuse_ino_t nr, uint32_t *seen);
static void release_data(struct swapfs *fs, fuse_ino_t nr);
static void set_open_mode(struct fuse_file_info *fi);

static void ts_from_ns(struct timespec *ts, int64_t ns)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

void sw_fill_attr(struct swapfs *fs, const struct sw_inode *ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino->a.ino;
	st->st_mode = ino->a.mode;
	st->st_nlink = ino->a.nlink;
	st->st_uid = ino->a.uid;
	st->st_gid = ino->a.gid;
	st->st_rdev = ino->a.rdev;
	st->st_size = (off_t)ino->a.size;
	if (ino->symlink)
		st->st_size = (off_t)strlen(ino->symlink);
	st->st_blksize = fs->sb.stripe_unit;
	st->st_blocks = (blkcnt_t)(sw_inode_allocated(ino) / 512);
	ts_from_ns(&st->st_atim, ino->a.atime_ns);
	ts_from_ns(&st->st_mtim, ino->a.mtime_ns);
	ts_from_ns(&st->st_ctim, ino->a.ctime_ns);
}

struct sw_inode *sw_inode_lookup(struct swapfs *fs, uint64_t nr)
{
	struct sw_inode *ino;

	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	pthread_mutex_unlock(&fs->meta.lock);
	return ino;
}

/* Fill a reply entry for ino and take one lookup reference. */
static void make_entry(struct swapfs *fs, struct sw_inode *ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino->a.ino;
	e->generation = 1;
	e->attr_timeout = fs->attr_timeout;
	e->entry_timeout = fs->attr_timeout;
	sw_fill_attr(fs, ino, &e->attr);
	ino->nlookup++;
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

/*
 * Free an inode nobody can reach any more (no links, lookups or opens).
 * Its data goes as soon as no name and no open file is left: the kernel
 * may keep its reference (and send FORGET) later, but nothing can read
 * the bytes, and a full volume needs the space for the very next write.
 */
static void maybe_free(struct swapfs *fs, struct sw_inode *ino)
{
	struct swf_rec r = { .type = SWF_R_INODE_FREE };

	if (ino->a.nlink || ino->nopen || ino->inflight || ino->client_reads || ino->wb || ino->ra ||
	    ino->a.ino == SW_ROOT_INO || fs->read_only)
		return;
	if (ino->nlookup) {
		struct swf_rec u = { .type = SWF_R_UNMAP,
				     .u.extent = { .ino = ino->a.ino, .len = UINT64_MAX } };

		if (!ino->dir && ino->next && sw_meta_emit(&fs->meta, &u))
			sw_err("cannot free the data of inode %llu", (unsigned long long)ino->a.ino);
		return;
	}
	r.u.free.ino = ino->a.ino;
	if (sw_meta_emit(&fs->meta, &r))
		sw_err("cannot free inode %llu", (unsigned long long)r.u.free.ino);
}

static int emit_inode(struct swapfs *fs, struct sw_inode *ino, bool cont)
{
	struct swf_rec r = { .type = SWF_R_INODE, .flags = cont ? SWF_RF_CONT : 0,
			     .u.inode = ino->a };

	return sw_meta_emit(&fs->meta, &r);
}

static int emit_dirent(struct swapfs *fs, uint16_t type, uint64_t parent,
		       const char *name, uint64_t ino, bool cont)
{
	struct swf_rec r = { .type = type, .flags = cont ? SWF_RF_CONT : 0,
			     .u.dirent = { parent, ino, name, (uint16_t)strlen(name) } };

	return sw_meta_emit(&fs->meta, &r);
}

static void sw_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* 1 MiB requests: libfuse 3.14's ceiling, and the stripe unit */
	conn->max_write = 1 << 20;
	conn->max_read = sw_fuse_max_request();	/* as the mount's max_read */
	conn->max_readahead = 1 << 20;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	/* let the kernel keep many requests in flight: write-behind acks fast */
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	/* measured: splice does not pay off for our request sizes */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
}

static void sw_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
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
	else
		fuse_reply_err(req, err ? err : ENOENT);
}

static void forget_one(struct swapfs *fs, fuse_ino_t nr, uint64_t n)
{
	struct sw_inode *ino = sw_inode_get(&fs->meta, nr);

	if (!ino)
		return;
	ino->nlookup = ino->nlookup > n ? ino->nlookup - n : 0;
	maybe_free(fs, ino);
}

static void sw_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct swapfs *fs = sw_fs(req);

	pthread_mutex_lock(&fs->meta.lock);
	forget_one(fs, ino, nlookup);
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_none(req);
}

static void sw_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	struct swapfs *fs = sw_fs(req);

	pthread_mutex_lock(&fs->meta.lock);
	for (size_t i = 0; i < count; i++)
		forget_one(fs, f[i].ino, f[i].nlookup);
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_none(req);
}

/*
 * The kernel caps a FUSE mount's read-ahead at 128 KiB when it processes
 * INIT, whatever max_readahead says; a larger window keeps several members
 * busy for one sequential reader (RAM-backed members: 128 KiB 1683, 1 MiB
 * 2432, 4 MiB 2664 MiB/s).  Written through sysfs on the first request.
 */
void sw_set_read_ahead(struct swapfs *fs)
{
	char path[96];
	FILE *f;

	if (!fs->bdi[0] || atomic_exchange(&fs->read_ahead_set, true))
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", fs->bdi);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%llu\n", (unsigned long long)(fs->read_ahead >> 10)) < 0 ||
	    fclose(f) != 0) {
		sw_warn("cannot set read-ahead in %s (reads still work, more slowly)", path);
		if (f)
			fclose(f);
	}
}

static void sw_getattr(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
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

static void sw_setattr(fuse_req_t req, fuse_ino_t nr, struct stat *attr, int to_set,
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
	pthread_rwlock_wrlock(&ino->rw);
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
	pthread_rwlock_unlock(&ino->rw);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, fs->attr_timeout);
}

static void sw_readlink(fuse_req_t req, fuse_ino_t nr)
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
		err = -emit_inode(fs, dir, true);
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
			ino->nopen++;
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

static void sw_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) &&
	    !S_ISCHR(mode) && !S_ISBLK(mode)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	make_node(req, parent, name, mode, rdev, NULL, NULL);
}

static void sw_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL, NULL);
}

static void sw_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make_node(req, parent, name, S_IFLNK | 0777, 0, link, NULL);
}

static void sw_create(fuse_req_t req, fuse_ino_t parent, const char *name,
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

static void sw_link(fuse_req_t req, fuse_ino_t nr, fuse_ino_t newparent,
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
		err = -emit_inode(fs, ino, true);
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
	err = emit_inode(fs, dir, true);
	if (!err)
		err = emit_inode(fs, ino, cont);
	return err;
}

static void do_remove(fuse_req_t req, fuse_ino_t parent, const char *name, bool rmdir)
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
		maybe_free(fs, ino);
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_err(req, err);
}

static void sw_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, false);
}

static void sw_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, true);
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

static int do_exchange(struct swapfs *fs, struct sw_inode *od, const char *oname,
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
		err = emit_inode(fs, od, true);
	if (!err && nd != od)
		err = emit_inode(fs, nd, true);
	if (!err)
		err = emit_dirent(fs, SWF_R_DIRENT_ADD, nd->a.ino, nname, src->a.ino, true);
	if (!err)
		err = emit_dirent(fs, SWF_R_DIRENT_ADD, od->a.ino, oname, dst->a.ino, false);
	return err;
}

static void sw_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
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
		err = dst ? -do_exchange(fs, od, name, src, nd, newname, dst) : ENOENT;
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
		err = -emit_inode(fs, od, true);
	if (!err && nd != od)
		err = -emit_inode(fs, nd, true);
	if (!err)
		err = -emit_inode(fs, src, true);
	if (!err)
		err = -emit_dirent(fs, SWF_R_DIRENT_ADD, nd->a.ino, newname, src->a.ino, false);
	if (!err && dst)
		maybe_free(fs, dst);
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

static void sw_open(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
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
		ino->nopen++;
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

		pthread_rwlock_wrlock(&ino->rw);
		pthread_mutex_lock(&fs->meta.lock);	/* a failing write-behind may trim it */
		empty = !ino->a.size;
		pthread_mutex_unlock(&fs->meta.lock);
		err = empty ? 0 : sw_truncate(fs, ino, 0);
		pthread_rwlock_unlock(&ino->rw);
		if (err) {
			pthread_mutex_lock(&fs->meta.lock);
			ino->nopen--;
			pthread_mutex_unlock(&fs->meta.lock);
			free(of);
			fuse_reply_err(req, -err);
			return;
		}
	}
	set_open_mode(fi);
	fuse_reply_open(req, fi);
}

void sw_inode_close(struct swapfs *fs, struct sw_inode *ino)
{
	pthread_mutex_lock(&fs->meta.lock);
	if (ino->nopen)
		ino->nopen--;
	maybe_free(fs, ino);
	pthread_mutex_unlock(&fs->meta.lock);
}

static void sw_release(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;

	sync_data(fs, nr, NULL);	/* mmap writeback may come after the last flush */
	release_data(fs, nr);
	free((void *)(uintptr_t)fi->fh);
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	if (ino) {
		if (ino->nopen)
			ino->nopen--;
		maybe_free(fs, ino);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_err(req, 0);
}

/*
 * Staged data of nr written and waited for; the write-behind error the
 * cursor seen has not reported (without one: this flush's own).
 */
static int sync_data(struct swapfs *fs, fuse_ino_t nr, uint32_t *seen)
{
	struct sw_inode *ino;
	int err = 0;

	ino = sw_inode_lookup(fs, nr);
	if (ino && !ino->dir) {
		pthread_rwlock_wrlock(&ino->rw);
		err = sw_wb_sync(fs, ino, seen);
		pthread_rwlock_unlock(&ino->rw);
	}
	return err;
}

/* Last close of an inode: its read-ahead window goes. */
static void release_data(struct swapfs *fs, fuse_ino_t nr)
{
	struct sw_inode *ino;
	bool last;

	ino = sw_inode_lookup(fs, nr);
	if (!ino || ino->dir)
		return;
	pthread_mutex_lock(&fs->meta.lock);	/* opens change nopen under it */
	last = ino->ra && ino->nopen <= 1;
	pthread_mutex_unlock(&fs->meta.lock);
	if (last) {
		pthread_rwlock_wrlock(&ino->rw);
		sw_ra_release(fs, ino);
		pthread_rwlock_unlock(&ino->rw);
	}
}

/* Data written, then records committed: durable (fsync) or in the log (close). */
int sw_sync_file(struct swapfs *fs, fuse_ino_t nr, bool durable, uint32_t *seen)
{
	int err = sync_data(fs, nr, seen), cerr = 0;

	pthread_mutex_lock(&fs->meta.lock);
	if (durable || sw_meta_pending(&fs->meta))
		cerr = sw_meta_commit(&fs->meta, durable);
	pthread_mutex_unlock(&fs->meta.lock);
	if (cerr)
		sw_err("metadata commit: %s", strerror(-cerr));
	return err ? err : cerr;
}

/* The open file's cursors of write-behind errors (set at open and create). */
static struct sw_errseen *errseen(const struct fuse_file_info *fi)
{
	return &sw_ofile(fi)->seen;
}

/*
 * close(): the file's data and metadata survive a crash of the daemon; a
 * write-behind error this open file has not reported at a close yet.
 */
static void sw_flush(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
{
	fuse_reply_err(req, -sw_sync_file(sw_fs(req), nr, false,
					  errseen(fi) ? &errseen(fi)->close : NULL));
}

/* fsync(): ... and one it has not reported at an fsync yet. */
static void sw_fsync(fuse_req_t req, fuse_ino_t nr, int datasync,
		     struct fuse_file_info *fi)
{
	(void)datasync;
	fuse_reply_err(req, -sw_sync_file(sw_fs(req), nr, true,
					  errseen(fi) ? &errseen(fi)->fsync : NULL));
}

/* ---- directories ------------------------------------------------------- */

static void sw_opendir(fuse_req_t req, fuse_ino_t nr, struct fuse_file_info *fi)
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

static void sw_readdir(fuse_req_t req, fuse_ino_t nr, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *dir;
	char *buf = malloc(size ? size : 1);
	size_t used = 0;
	struct stat st = {0};
	int err;

	(void)fi;
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
			st.st_ino = dot_ino[k];
			st.st_mode = S_IFDIR;
			n = fuse_add_direntry(req, buf + used, size - used, dots[k], &st, k + 1);
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
			n = fuse_add_direntry(req, buf + used, size - used, e->name, &st,
					      (off_t)e->cookie);
			if (n > size - used)
				break;
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

static void sw_fsyncdir(fuse_req_t req, fuse_ino_t nr, int datasync,
			struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, -sw_sync_file(sw_fs(req), nr, true, NULL));
}

static void sw_statfs(fuse_req_t req, fuse_ino_t nr)
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

/* ---- xattrs ----------------------------------------------------------- */

static int xattr_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > SW_NAME_MAX)
		return ERANGE;
	/* no ACLs: let the kernel's mode bits be the whole story */
	if (!strncmp(name, "system.", 7))
		return EOPNOTSUPP;
	if (strncmp(name, "user.", 5) && strncmp(name, "trusted.", 8) &&
	    strncmp(name, "security.", 9))
		return EOPNOTSUPP;
	return 0;
}

static void sw_setxattr(fuse_req_t req, fuse_ino_t nr, const char *name,
			const char *value, size_t size, int flags)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	struct sw_xattr *x;
	int err = xattr_name_ok(name);

	if (!err && fs->read_only)
		err = EROFS;
	if (!err && size > SW_XATTR_VALUE_MAX)
		err = E2BIG;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	x = ino ? sw_xattr_find(ino, name) : NULL;
	if (!ino)
		err = ENOENT;
	else if ((flags & XATTR_CREATE) && x)
		err = EEXIST;
	else if ((flags & XATTR_REPLACE) && !x)
		err = ENODATA;
	else {
		uint64_t cost = sw_meta_cost_xattr(strlen(name), size);
		uint64_t old = x ? sw_meta_cost_xattr(strlen(name), x->len) : 0;

		err = cost > old ? -sw_meta_room(&fs->meta, cost - old) : 0;
	}
	if (!err) {
		struct swf_rec r = { .type = SWF_R_XATTR_SET, .flags = SWF_RF_CONT,
			.u.xattr = { nr, name, (uint16_t)strlen(name), value, (uint32_t)size } };

		err = -sw_meta_emit(&fs->meta, &r);
		ino->a.ctime_ns = sw_now_ns();
		if (!err)
			err = -emit_inode(fs, ino, false);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_err(req, err);
}

/* getxattr/listxattr answer: an error, the size asked for (size 0), or the bytes; frees buf. */
static void reply_xattr(fuse_req_t req, int err, size_t size, void *buf, size_t len)
{
	if (err)
		fuse_reply_err(req, err);
	else if (!size)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

/*
 * Live figures, read-only: getxattr(MOUNTPOINT, "swapfs.stats") returns a
 * JSON object of per-member counters, staging use and metadata counters
 * (tools/swapfs-stat.c reads it).  No secrets: only counters.
 */
#define STATS_XATTR "swapfs.stats"

static char *stats_json(struct swapfs *fs, size_t *len)
{
	size_t cap = 4096 + 512 * swe_volume_ndev(fs->vol), n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
#define OUT(...) (n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__))
	OUT("{\"members\":[");
	for (unsigned d = 0; d < swe_volume_ndev(fs->vol); d++) {
		struct swe_device_stats st;

		swe_volume_stats(fs->vol, d, &st);
		OUT("%s{\"bytes_read\":%llu,\"bytes_written\":%llu,\"reads\":%llu,\"writes\":%llu,"
		    "\"flushes\":%llu,\"errors\":%llu,\"inflight\":%llu,\"busy_ns\":%llu}",
		    d ? "," : "", (unsigned long long)st.bytes_read,
		    (unsigned long long)st.bytes_written, (unsigned long long)st.reads,
		    (unsigned long long)st.writes, (unsigned long long)st.flushes,
		    (unsigned long long)st.errors, (unsigned long long)st.inflight,
		    (unsigned long long)st.busy_ns);
	}
	pthread_mutex_lock(&fs->meta.lock);
	OUT("],\"staging_bytes\":%zu,\"staging_free_bytes\":%zu,\"writes_in_flight\":%u,"
	    "\"io_errors\":%llu,\"files\":%zu,\"used_bytes\":%llu,\"volume_bytes\":%llu,"
	    "\"commits\":%llu,\"checkpoints\":%llu,\"log_bytes\":%llu,\"log_size\":%llu,"
	    "\"transport\":\"%s\"}\n",
	    swe_arena_size(fs->arena), swe_arena_free_bytes(fs->arena), fs->inflight_total,
	    (unsigned long long)atomic_load(&fs->io_errors), fs->meta.count,
	    (unsigned long long)sw_meta_used_bytes(&fs->meta),
	    (unsigned long long)swf_volume_bytes(&fs->sb),
	    (unsigned long long)fs->meta.commits, (unsigned long long)fs->meta.checkpoints,
	    (unsigned long long)fs->meta.head, (unsigned long long)fs->sb.log_size,
	    sw_transport_name());
	pthread_mutex_unlock(&fs->meta.lock);
#undef OUT
	*len = n < cap ? n : cap - 1;
	return buf;
}

static void sw_getxattr(fuse_req_t req, fuse_ino_t nr, const char *name, size_t size)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	struct sw_xattr *x = NULL;
	void *copy = NULL;
	uint32_t len = 0;
	int err = 0;

	if (nr == SW_ROOT_INO && !strcmp(name, STATS_XATTR)) {
		size_t n;
		char *json = stats_json(fs, &n);

		if (!json)
			err = ENOMEM;
		else if (size && n > size)
			err = ERANGE;
		reply_xattr(req, err, size, json, n);
		return;
	}
	if (!strcmp(name, SWC_XATTR) && sw_csrv_name(fs)) {
		const char *sock = sw_csrv_name(fs);

		copy = strdup(sock);
		len = (uint32_t)strlen(sock);
		reply_xattr(req, copy ? (size && len > size ? ERANGE : 0) : ENOMEM, size, copy, len);
		return;
	}
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	if (!ino)
		err = ENOENT;
	else if (!(x = sw_xattr_find(ino, name)))
		err = ENODATA;
	else if (size && x->len > size)
		err = ERANGE;
	else if (size && !(copy = malloc(x->len ? x->len : 1)))
		err = ENOMEM;
	if (!err) {
		len = x->len;
		if (copy)
			memcpy(copy, x->value, len);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	reply_xattr(req, err, size, copy, len);
}

static void sw_listxattr(fuse_req_t req, fuse_ino_t nr, size_t size)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	char *buf = NULL;
	size_t total = 0;
	int err = 0;

	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	if (!ino)
		err = ENOENT;
	for (size_t i = 0; ino && i < ino->nxa; i++)
		total += strlen(ino->xa[i].name) + 1;
	if (!err && size && total > size)
		err = ERANGE;
	if (!err && size && !(buf = malloc(total ? total : 1)))
		err = ENOMEM;
	if (!err && buf) {
		size_t at = 0;

		for (size_t i = 0; i < ino->nxa; i++) {
			size_t n = strlen(ino->xa[i].name) + 1;

			memcpy(buf + at, ino->xa[i].name, n);
			at += n;
		}
	}
	pthread_mutex_unlock(&fs->meta.lock);
	reply_xattr(req, err, size, buf, total);
}

static void sw_removexattr(fuse_req_t req, fuse_ino_t nr, const char *name)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_inode *ino;
	int err = fs->read_only ? EROFS : 0;

	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	if (!err && !ino)
		err = ENOENT;
	if (!err && !sw_xattr_find(ino, name))
		err = ENODATA;
	if (!err) {
		struct swf_rec r = { .type = SWF_R_XATTR_DEL, .flags = SWF_RF_CONT,
			.u.xattr = { nr, name, (uint16_t)strlen(name), NULL, 0 } };

		err = -sw_meta_emit(&fs->meta, &r);
		ino->a.ctime_ns = sw_now_ns();
		if (!err)
			err = -emit_inode(fs, ino, false);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_err(req, err);
}

const struct fuse_lowlevel_ops sw_ops = {
	.init = sw_init,
	.lookup = sw_lookup,
	.forget = sw_forget,
	.forget_multi = sw_forget_multi,
	.getattr = sw_getattr,
	.setattr = sw_setattr,
	.readlink = sw_readlink,
	.mknod = sw_mknod,
	.mkdir = sw_mkdir,
	.unlink = sw_unlink,
	.rmdir = sw_rmdir,
	.symlink = sw_symlink,
	.rename = sw_rename,
	.link = sw_link,
	.open = sw_open,
	.read = sw_read,
	.write = sw_write,
	.flush = sw_flush,
	.release = sw_release,
	.fsync = sw_fsync,
	.opendir = sw_opendir,
	.readdir = sw_readdir,
	.fsyncdir = sw_fsyncdir,
	.statfs = sw_statfs,
	.setxattr = sw_setxattr,
	.getxattr = sw_getxattr,
	.listxattr = sw_listxattr,
	.removexattr = sw_removexattr,
	.create = sw_create,
	.fallocate = sw_fallocate,
	.lseek = sw_lseek,
	.ioctl = sw_csrv_ioctl,
};

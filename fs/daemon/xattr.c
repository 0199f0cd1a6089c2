/*
 * xattr.c - extended attributes: set, get, list and remove of user.,
 * trusted. and security. names (system. ones, ACLs, are refused: the
 * kernel's mode bits are the whole story), each change one transaction
 * of XATTR_SET/XATTR_DEL and the inode's record; and two virtual,
 * read-only ones: "swapfs.stats" on the root (the live counters as JSON)
 * and "swapfs.client" (the client path's socket, from client_srv.c).  Put
 * into the op table by sw_xattr_ops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs/client/proto.h"
#include "fs/daemon/client_srv.h"
#include "fs/daemon/fuse_io.h"
#include "fs/daemon/inode.h"
#include "fs/daemon/reqstats.h"
#include "fs/daemon/transport.h"
#include "fs/daemon/xattr.h"

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

/* Log an xattr record r of ino and its new ctime (meta lock held); a positive errno. */
static int log_xattr_change(struct swapfs *fs, struct sw_inode *ino, struct swf_rec *r)
{
	int err = -sw_meta_emit(&fs->meta, r);

	ino->a.ctime_ns = sw_now_ns();
	if (!err)
		err = -sw_emit_inode(fs, ino, false);
	return err;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t nr, const char *name,
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

		err = log_xattr_change(fs, ino, &r);
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
	size_t cap = 8192 + 512 * swe_volume_ndev(fs->vol), n = 0;
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
	OUT("],\"requests\":{");
	n += sw_fuse_requests_json(buf + n, cap - n);
	pthread_mutex_lock(&fs->meta.lock);
	OUT("},\"staging_bytes\":%zu,\"staging_free_bytes\":%zu,\"writes_in_flight\":%u,"
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

static void op_getxattr(fuse_req_t req, fuse_ino_t nr, const char *name, size_t size)
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

static void op_listxattr(fuse_req_t req, fuse_ino_t nr, size_t size)
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

static void op_removexattr(fuse_req_t req, fuse_ino_t nr, const char *name)
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

		err = log_xattr_change(fs, ino, &r);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	fuse_reply_err(req, err);
}

void sw_xattr_ops(struct fuse_lowlevel_ops *ops)
{
	ops->setxattr = op_setxattr;
	ops->getxattr = op_getxattr;
	ops->listxattr = op_listxattr;
	ops->removexattr = op_removexattr;
}

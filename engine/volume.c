/*
 * volume.c - open the member devices of a striped volume, learn their sizes
 * and O_DIRECT alignment, keep per-member counters, flush.
 *
 * Image files and block devices are treated alike; block devices are opened
 * with O_EXCL (unless told not to) so a mounted or otherwise claimed device
 * is refused by the kernel itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/internal.h"

#define FALLBACK_ALIGN 4096u

static int probe_alignment(int fd, const char *path, bool blockdev,
			   uint32_t *offset_align, uint32_t *mem_align, struct swe_err *e)
{
	struct statx stx;
	int ssz;

	*offset_align = 0;
	*mem_align = 0;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
		*offset_align = stx.stx_dio_offset_align;
		*mem_align = stx.stx_dio_mem_align;
	}
	if (!*offset_align && blockdev) {
		if (ioctl(fd, BLKSSZGET, &ssz) < 0)
			return swe_fail(e, -errno, "%s: BLKSSZGET", path);
		*offset_align = (uint32_t)ssz;
	}
	/* Not reported (older kernels, some filesystems): assume a page. */
	if (!*offset_align)
		*offset_align = FALLBACK_ALIGN;
	if (!*mem_align)
		*mem_align = *offset_align;
	return 0;
}

static int probe_size(int fd, const char *path, const struct stat *st,
		      uint64_t *size, struct swe_err *e)
{
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return swe_fail(e, -errno, "%s: BLKGETSIZE64", path);
		return 0;
	}
	*size = (uint64_t)st->st_size;
	return 0;
}

/*
 * An exclusive flock, waiting up to two seconds: an io_uring ring of a
 * process that just exited (or was killed) keeps its registered files, and
 * with them the lock, until the kernel tears the ring down.
 */
static int lock_member(int fd)
{
	for (int tries = 0; tries < 100; tries++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

/*
 * The lock of a member's file (an image file, or the file a loop device
 * member is stored in): exclusive for a writer; shared for a reader, one
 * try, and a writer holding it only noted in *in_use (a mounted
 * filesystem can still be checked).
 */
static int lock_store(int fd, bool writer, bool *in_use)
{
	if (writer)
		return lock_member(fd);
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK && errno != EINTR)
		return -errno;
	*in_use = true;
	return 0;
}

/* One line of a sysfs attribute of block device rdev ("" = the device's own directory). */
static int sysfs_read(dev_t rdev, const char *attr, char *buf, size_t len)
{
	char sys[128];
	ssize_t n;
	int fd, err;

	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/%s", major(rdev), minor(rdev), attr);
	fd = open(sys, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/*
 * Where a loop device member (or a partition of one) is stored: its
 * backing file from sysfs into path, and the byte offset in it into *off.
 * Returns 1, 0 for a block device that is no configured loop device, or
 * -errno.
 */
static int loop_backing(int fd, dev_t rdev, char *path, size_t len, uint64_t *off)
{
	struct loop_info64 li;
	char num[32];
	int err;

	*off = 0;
	err = sysfs_read(rdev, "loop/backing_file", path, len);
	if (err == -ENOENT && sysfs_read(rdev, "partition", num, sizeof(num)) == 0) {
		if (sysfs_read(rdev, "start", num, sizeof(num)) == 0)
			*off = strtoull(num, NULL, 10) * 512;
		err = sysfs_read(rdev, "../loop/backing_file", path, len);
	}
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	if (!path[0])
		return 0;
	if (ioctl(fd, LOOP_GET_STATUS64, &li) == 0)
		*off += li.lo_offset;
	return 1;
}

/*
 * A member names its storage one way (an image file, /dev/loop0 over that
 * file, a loop device over that loop device...), another process perhaps
 * another way.  The lock is taken on what the member is finally stored
 * in, so that every name of it meets the same lock: a loop device member's
 * backing file is opened (held in hold_fds) and locked like an image file;
 * a backing block device is opened with O_EXCL like a member.  Its
 * identity (device, inode, byte offset) goes to *id for the listed-twice
 * check.
 */
static int hold_store(struct swe_volume *vol, unsigned i, const char *member, int fd,
		      const struct stat *st, const struct swe_volume_opts *o,
		      struct store_id *id, unsigned depth, struct swe_err *e)
{
	bool writer = !o->read_only;
	char path[PATH_MAX];
	struct loop_info64 li;
	struct stat bst;
	uint64_t off;
	int bfd, r;

	if (S_ISREG(st->st_mode)) {
		*id = (struct store_id){ st->st_dev, st->st_ino, id->off, false };
		return 0;
	}
	*id = (struct store_id){ st->st_rdev, 0, id->off, true };
	r = loop_backing(fd, st->st_rdev, path, sizeof(path), &off);
	if (r < 0)
		return swe_fail(e, r, "member %u (%s): reading its loop device's backing file", i, member);
	if (!r)
		return 0;
	if (depth == SWE_MAX_HOLD)
		return swe_fail(e, -ELOOP, "member %u (%s): loop devices stacked more than %d deep",
				i, member, SWE_MAX_HOLD);
	if (stat(path, &bst) < 0)
		return swe_fail(e, -errno, "member %u (%s): stored in %s, which cannot be found (deleted, or in another mount namespace?)",
				i, member, path);
	bfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
		   (S_ISBLK(bst.st_mode) && !o->no_exclusive ? O_EXCL : 0));
	if (bfd < 0)
		return swe_fail(e, -errno, "member %u (%s): stored in %s%s", i, member, path,
				errno == EBUSY ? ": in use (mounted or opened by another swapfs tool)" : "");
	vol->hold_fds[i][depth] = bfd;
	if (fstat(bfd, &bst) < 0)
		return swe_fail(e, -errno, "member %u (%s): stored in %s", i, member, path);
	/* the path from sysfs must name the file the loop device really uses */
	if (ioctl(fd, LOOP_GET_STATUS64, &li) == 0 &&
	    (li.lo_device != (uint64_t)bst.st_dev || li.lo_inode != (uint64_t)bst.st_ino))
		return swe_fail(e, -ESTALE, "member %u (%s): stored in a file that %s no longer names (deleted, or in another mount namespace?)",
				i, member, path);
	id->off += off;
	if (S_ISREG(bst.st_mode)) {
		*id = (struct store_id){ bst.st_dev, bst.st_ino, id->off, false };
		for (unsigned j = 0; j < i; j++)
			if (vol->store[j].dev == id->dev && vol->store[j].ino == id->ino &&
			    !vol->store[j].blk)
				return 0;	/* another part of a file locked for member j */
		if (o->no_exclusive)
			return 0;
		r = lock_store(bfd, writer, &vol->info[i].in_use);
		if (r)
			return swe_fail(e, r, "member %u (%s): stored in %s, which is in use (mounted or opened by another swapfs tool)",
					i, member, path);
		return 0;
	}
	if (!S_ISBLK(bst.st_mode))
		return 0;
	return hold_store(vol, i, member, bfd, &bst, o, id, depth + 1, e);
}

static int open_member(struct swe_volume *vol, unsigned i, const char *path,
		       const struct swe_volume_opts *o, struct swe_err *e)
{
	struct swe_device_info *info = &vol->info[i];
	int flags = (o->read_only ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC;
	struct store_id id = {0};
	struct stat st, other;
	int fd, err, ro;

	if (stat(path, &st) < 0)
		return swe_fail(e, -errno, "member %u (%s)", i, path);
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return swe_fail(e, -EINVAL, "member %u (%s): not a block device or regular file",
				i, path);
	if (S_ISBLK(st.st_mode) && !o->no_exclusive)
		flags |= O_EXCL;
	for (unsigned j = 0; j < i; j++) {
		if (fstat(vol->fds[j], &other) < 0)
			return swe_fail(e, -errno, "member %u (%s)", j, vol->info[j].path);
		if (st.st_dev == other.st_dev && st.st_ino == other.st_ino)
			return swe_fail(e, -EINVAL, "member %u (%s) is listed twice (also member %u)",
					i, path, j);
	}
	fd = open(path, flags);
	if (fd < 0)
		return swe_fail(e, -errno, "member %u (%s): open O_DIRECT%s%s", i, path,
				(flags & O_EXCL) ? "|O_EXCL" : "",
				errno == EBUSY ? ": in use (mounted or opened by another program)" : "");
	vol->fds[i] = fd;
	info->path = strdup(path);
	if (!info->path)
		return swe_fail(e, -ENOMEM, "member %u (%s)", i, path);
	info->is_blockdev = S_ISBLK(st.st_mode);
	/* a read-only block device (losetup -r, a write-protected disk) opens for writing, then fails every write */
	if (info->is_blockdev && !o->read_only) {
		if (ioctl(fd, BLKROGET, &ro) < 0)
			return swe_fail(e, -errno, "member %u (%s): BLKROGET", i, path);
		if (ro)
			return swe_fail(e, -EROFS, "member %u (%s): read-only device", i, path);
	}
	/*
	 * Block devices are claimed with O_EXCL; image files have none: a
	 * writer takes an exclusive flock so two daemons (or a daemon and
	 * mkswapfs) never share a member, a reader a shared one when it can.
	 * A loop device member locks the file it is stored in (hold_store),
	 * so the same member under its image file's name meets the lock too.
	 */
	if (S_ISREG(st.st_mode) && !o->no_exclusive &&
	    (err = lock_store(fd, !o->read_only, &info->in_use)))
		return swe_fail(e, err, "member %u (%s): in use (mounted or opened by another swapfs tool)",
				i, path);
	err = hold_store(vol, i, path, fd, &st, o, &id, 0, e);
	if (err)
		return err;
	for (unsigned j = 0; j < i; j++)
		if (vol->store[j].dev == id.dev && vol->store[j].ino == id.ino &&
		    vol->store[j].blk == id.blk && vol->store[j].off == id.off)
			return swe_fail(e, -EINVAL, "member %u (%s) is listed twice (also member %u, %s, under another name)",
					i, path, j, vol->info[j].path);
	vol->store[i] = id;
	err = probe_size(fd, path, &st, &info->size, e);
	if (err)
		return err;
	return probe_alignment(fd, path, info->is_blockdev, &info->offset_align,
			       &info->mem_align, e);
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int swe_volume_open(struct swe_volume **out, const char *const *paths,
		    unsigned ndev, const struct swe_volume_opts *opts, struct swe_err *e)
{
	struct swe_volume_opts o = opts ? *opts : (struct swe_volume_opts){0};
	struct swe_volume *vol;
	uint64_t per_dev = UINT64_MAX;
	int err;

	*out = NULL;
	if (!paths)
		return swe_fail(e, -EINVAL, "no members");
	if (ndev < 1 || ndev > SWE_MAX_DEVICES)
		return swe_fail(e, -EINVAL, "%u members (1..%d allowed)", ndev,
				SWE_MAX_DEVICES);
	if (!o.stripe_unit)
		o.stripe_unit = SWE_DEFAULT_STRIPE_UNIT;
	vol = calloc(1, sizeof(*vol));
	if (!vol)
		return swe_fail(e, -ENOMEM, "volume");
	for (unsigned i = 0; i < SWE_MAX_DEVICES; i++) {
		vol->fds[i] = -1;
		vol->ctr[i].unflushed = true;	/* what an earlier user left in the cache */
		for (unsigned k = 0; k < SWE_MAX_HOLD; k++)
			vol->hold_fds[i][k] = -1;
	}
	pthread_mutex_init(&vol->fault_lock, NULL);
	for (unsigned i = 0; i < SWE_MAX_DEVICES; i++)
		pthread_mutex_init(&vol->flush_lock[i], NULL);
	vol->ndev = ndev;
	vol->read_only = o.read_only;
	vol->stripe = (struct swe_stripe){ .stripe_unit = o.stripe_unit,
					   .ndev = ndev,
					   .data_offset = o.data_offset };
	vol->align = 512;
	for (unsigned i = 0; i < ndev; i++) {
		err = open_member(vol, i, paths[i], &o, e);
		if (err)
			goto fail;
		if (vol->info[i].offset_align > vol->align)
			vol->align = vol->info[i].offset_align;
		if (vol->info[i].mem_align > vol->align)
			vol->align = vol->info[i].mem_align;
		if (vol->info[i].size < per_dev)
			per_dev = vol->info[i].size;
	}
	vol->min_member = per_dev;
	err = swe_volume_set_layout(vol, o.stripe_unit, o.data_offset, e);
	if (err)
		goto fail;
	*out = vol;
	return 0;
fail:
	swe_volume_close(vol);
	return err;
}

int swe_volume_set_layout(struct swe_volume *vol, uint32_t stripe_unit,
			  uint64_t data_offset, struct swe_err *e)
{
	uint64_t per_dev;

	if (!is_pow2(stripe_unit) || stripe_unit < FALLBACK_ALIGN)
		return swe_fail(e, -EINVAL, "stripe unit %u: must be a power of two >= %u",
				stripe_unit, FALLBACK_ALIGN);
	if (stripe_unit % vol->align || data_offset % vol->align)
		return swe_fail(e, -EINVAL, "stripe unit %u / data offset %llu not a multiple of the members' alignment %u",
				stripe_unit, (unsigned long long)data_offset, vol->align);
	if (vol->min_member < data_offset + stripe_unit) {
		unsigned s = 0;	/* name the member: "smallest" alone leaves one to guess */

		for (unsigned i = 1; i < vol->ndev; i++)
			if (vol->info[i].size < vol->info[s].size)
				s = i;
		return swe_fail(e, -ENOSPC, "member %u (%s) is too small: %llu bytes, below data offset %llu + one stripe unit (%u)",
				s, vol->info[s].path, (unsigned long long)vol->min_member,
				(unsigned long long)data_offset, stripe_unit);
	}
	per_dev = (vol->min_member - data_offset) / stripe_unit * stripe_unit;
	vol->stripe = (struct swe_stripe){ .stripe_unit = stripe_unit,
					   .ndev = vol->ndev,
					   .data_offset = data_offset };
	vol->size = per_dev * vol->ndev;
	return 0;
}

static int member_check(struct swe_volume *vol, unsigned dev, const void *buf,
			size_t len, uint64_t offset)
{
	if (dev >= vol->ndev || !len || len % vol->align || offset % vol->align ||
	    (uintptr_t)buf % vol->align)
		return -EINVAL;	/* not aligned */
	if (offset > vol->info[dev].size || len > vol->info[dev].size - offset)
		return -EINVAL;	/* beyond the member's end */
	return 0;
}

static int member_rw(struct swe_volume *vol, unsigned dev, void *buf,
		     size_t len, uint64_t offset, enum swe_op op)
{
	struct swe_fault_action act = {0};
	size_t done = 0;
	int err = member_check(vol, dev, buf, len, offset);

	if (err)
		return err;
	swe_ctr_start(&vol->ctr[dev]);
	if (swe_fault_check(vol, dev, op, &act) && act.error) {
		err = -act.error;
		goto out;
	}
	if (act.delay_us) {	/* as the ring's linked timeout does: the I/O waits */
		struct timespec ts = { act.delay_us / 1000000, (long)(act.delay_us % 1000000) * 1000 };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	while (done < len) {
		ssize_t n = op == SWE_READ ?
			pread(vol->fds[dev], (char *)buf + done, len - done, (off_t)(offset + done)) :
			pwrite(vol->fds[dev], (char *)buf + done, len - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
out:
	swe_ctr_end(&vol->ctr[dev], op, done, err != 0);
	return err;
}

int swe_member_pread(struct swe_volume *vol, unsigned dev, void *buf,
		     size_t len, uint64_t offset)
{
	return member_rw(vol, dev, buf, len, offset, SWE_READ);
}

int swe_member_pwrite(struct swe_volume *vol, unsigned dev, const void *buf,
		      size_t len, uint64_t offset)
{
	if (vol->read_only)
		return -EROFS;
	return member_rw(vol, dev, (void *)buf, len, offset, SWE_WRITE);
}

int swe_member_flush(struct swe_volume *vol, unsigned dev)
{
	struct swe_fault_action act = {0};
	int err = 0;

	pthread_mutex_lock(&vol->flush_lock[dev]);
	/* nothing written since the last flush began: no fdatasync (unless faults are armed) */
	if (!atomic_exchange(&vol->ctr[dev].unflushed, false) && !atomic_load(&vol->nfaults)) {
		pthread_mutex_unlock(&vol->flush_lock[dev]);
		return 0;
	}
	swe_ctr_start(&vol->ctr[dev]);
	if (swe_fault_check(vol, dev, SWE_FLUSH, &act) && act.error)
		err = -act.error;
	else if (fdatasync(vol->fds[dev]) < 0)
		err = -errno;
	if (err)
		atomic_store(&vol->ctr[dev].unflushed, true);	/* the next flush tries again */
	swe_ctr_end(&vol->ctr[dev], SWE_FLUSH, 0, err != 0);
	pthread_mutex_unlock(&vol->flush_lock[dev]);
	return err;
}

void swe_volume_close(struct swe_volume *vol)
{
	if (!vol)
		return;
	for (unsigned i = 0; i < vol->ndev; i++) {
		if (vol->fds[i] >= 0) {
			/* rings may still hold the file: release the lock itself */
			if (!vol->info[i].is_blockdev)
				flock(vol->fds[i], LOCK_UN);
			close(vol->fds[i]);
		}
		for (unsigned k = 0; k < SWE_MAX_HOLD; k++)
			if (vol->hold_fds[i][k] >= 0)
				close(vol->hold_fds[i][k]);	/* and its lock */
		free((char *)vol->info[i].path);
	}
	pthread_mutex_destroy(&vol->fault_lock);
	for (unsigned i = 0; i < SWE_MAX_DEVICES; i++)
		pthread_mutex_destroy(&vol->flush_lock[i]);
	free(vol);
}

unsigned swe_volume_ndev(const struct swe_volume *vol) { return vol->ndev; }
uint64_t swe_volume_size(const struct swe_volume *vol) { return vol->size; }
uint32_t swe_volume_align(const struct swe_volume *vol) { return vol->align; }

const struct swe_stripe *swe_volume_stripe(const struct swe_volume *vol)
{
	return &vol->stripe;
}

const struct swe_device_info *swe_volume_device(const struct swe_volume *vol,
						unsigned dev)
{
	return dev < vol->ndev ? &vol->info[dev] : NULL;
}

int swe_volume_fd(const struct swe_volume *vol, unsigned dev)
{
	return dev < vol->ndev ? vol->fds[dev] : -EINVAL;
}

void swe_volume_stats(const struct swe_volume *vol, unsigned dev,
		      struct swe_device_stats *st)
{
	const struct swe_dev_counters *c = &vol->ctr[dev];
	uint64_t since = atomic_load(&c->busy_since_ns);

	st->bytes_read = atomic_load(&c->bytes_read);
	st->bytes_written = atomic_load(&c->bytes_written);
	st->reads = atomic_load(&c->reads);
	st->writes = atomic_load(&c->writes);
	st->flushes = atomic_load(&c->flushes);
	st->errors = atomic_load(&c->errors);
	st->inflight = atomic_load(&c->inflight);
	st->busy_ns = atomic_load(&c->busy_ns);
	if (st->inflight && since)
		st->busy_ns += swe_now_ns() - since;
}

int swe_volume_flush(struct swe_volume *vol)
{
	int err = 0;

	for (unsigned i = 0; i < vol->ndev; i++) {
		int e = swe_member_flush(vol, i);

		if (e && !err)
			err = e;
	}
	return err;
}

void swe_ctr_start(struct swe_dev_counters *c)
{
	if (atomic_fetch_add(&c->inflight, 1) == 0)
		atomic_store(&c->busy_since_ns, swe_now_ns());
}

void swe_ctr_end(struct swe_dev_counters *c, enum swe_op op, uint64_t bytes,
		 bool failed)
{
	if (failed)
		atomic_fetch_add(&c->errors, 1);
	switch (op) {
	case SWE_READ:
		atomic_fetch_add(&c->reads, 1);
		atomic_fetch_add(&c->bytes_read, bytes);
		break;
	case SWE_WRITE:
		atomic_store(&c->unflushed, true);
		atomic_fetch_add(&c->writes, 1);
		atomic_fetch_add(&c->bytes_written, bytes);
		break;
	case SWE_FLUSH:
		atomic_fetch_add(&c->flushes, 1);
		break;
	}
	if (atomic_fetch_sub(&c->inflight, 1) == 1)
		atomic_fetch_add(&c->busy_ns,
				 swe_now_ns() - atomic_load(&c->busy_since_ns));
}

/*
 * swapfs.h - state shared by the FUSE daemon's modules: the mounted
 * filesystem (struct swapfs), what an open file's handle points at, and
 * the data path's interface.  Each other module declares what it exports in
 * its own header.
 *
 * The daemon's files are in layers (tests/layers.txt, checked by
 * tests/layers.sh; docs/HACKING.md says what each owns): a file calls only
 * files of lower layers, or of its own layer with no circle.
 */
#ifndef SWAPFS_SWAPFS_H
#define SWAPFS_SWAPFS_H

#define FUSE_USE_VERSION 34
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "engine/engine.h"
#include "fs/lib/fslib.h"
#include "fs/daemon/dnode.h"
#include "fs/daemon/iothread.h"

#define SW_NAME_MAX 255
#define SW_XATTR_VALUE_MAX (64u << 10)
#define SW_MAX_FILE_SIZE (1ull << 60)
#define SW_MAX_IO_THREADS 16

struct swapfs {
	struct swe_volume *vol;
	struct swe_arena *arena;
	struct sw_meta meta;
	struct swf_super sb;
	bool read_only, foreground;
	unsigned queue_depth;
	double commit_interval;
	double attr_timeout;
	uint64_t read_ahead;	/* bytes, set on the mount's bdi after INIT */
	char bdi[32];		/* "MAJ:MIN" of the mount */
	atomic_bool read_ahead_set;
	pthread_key_t ring_key;
	/* background commit */
	pthread_t committer;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping, committer_started;
	/* write-behind */
	struct sw_iothread io[SW_MAX_IO_THREADS];
	unsigned nio;		/* I/O threads running */
	pthread_cond_t io_cond;	/* with meta.lock: an inode's inflight dropped, staging freed */
	uint32_t inflight_total;	/* write jobs in flight (meta.lock) */
	struct sw_csrv *csrv;	/* client path; NULL if not running */
	bool client_fixed;	/* client buffers become fixed buffers of the I/O rings */
	/* counters */
	_Atomic uint64_t io_errors;
};

static inline struct swapfs *sw_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/*
 * The I/O thread that serves the member holding volume offset voff.  A
 * file range always lives at the same volume offsets, so writes to it
 * stay in order on one thread; members spread over the threads, each with
 * its own ring (and io_uring worker pool), so every member is busy.
 */
static inline struct sw_iothread *sw_io_for(struct swapfs *fs, uint64_t voff)
{
	unsigned dev;
	uint64_t dev_off;

	swe_stripe_map(swe_volume_stripe(fs->vol), voff, &dev, &dev_off);
	return &fs->io[dev % fs->nio];
}

/* ---- the data layer: writebehind.c, readahead.c, filesize.c, span.c ---- */
/*
 * What one open file (or client-path registration) has reported of its
 * inode's write-behind errors: the inode's error count when it last told
 * a write, an fsync and a close.  Taken at open as Linux's errseq_sample:
 * a file opened after an error that some open file has reported does not
 * report it again; one that nobody has reported yet, it does.
 */
struct sw_errseen { uint32_t write, fsync, close; };
/* The count a file opened now starts from (meta lock held). */
uint32_t sw_errseq_sample(const struct sw_inode *ino);
/* The latest write-behind error of ino if *seen has not reported it (then it has), else 0. */
int sw_wb_error(struct swapfs *fs, struct sw_inode *ino, uint32_t *seen);
/*
 * Write-behind: push ino's staged bytes to the I/O thread and wait until
 * its writes completed (inode write lock held).  With seen: the error
 * that cursor has not reported yet (sw_wb_error); without: this flush's own.
 */
int sw_wb_sync(struct swapfs *fs, struct sw_inode *ino, uint32_t *seen);
/* Staged or in-flight writes of ino (their counts change under the meta lock, taken here). */
bool sw_writes_pending(struct swapfs *fs, const struct sw_inode *ino);
/* Drop ino's read-ahead window (last close, or the inode is changing). */
void sw_ra_release(struct swapfs *fs, struct sw_inode *ino);
/* Change the size of ino (inode write lock held, meta lock not held). */
int sw_truncate(struct swapfs *fs, struct sw_inode *ino, uint64_t size);
/* Destructor of the per-thread ring and staging buffer (ring_key). */
void sw_thread_io_free(void *p);

/* ---- open files ------------------------------------------------------ */
/*
 * What fi->fh of an open regular file points at: allocated at open and
 * create, freed at release.
 */
struct sw_ofile {
	struct sw_errseen seen;	/* write-behind errors this open file has reported */
	int accmode;		/* O_ACCMODE that open() granted: the client path's
				 * proof of access (SWC_IOC_GRANT) */
};
static inline struct sw_ofile *sw_ofile(const struct fuse_file_info *fi)
{
	return (struct sw_ofile *)(uintptr_t)fi->fh;
}
static inline bool sw_ofile_readable(const struct sw_ofile *of)
{
	return of && (of->accmode == O_RDONLY || of->accmode == O_RDWR);
}
static inline bool sw_ofile_writable(const struct sw_ofile *of)
{
	return of && (of->accmode == O_WRONLY || of->accmode == O_RDWR);
}

#endif

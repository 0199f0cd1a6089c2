/*
 * engine.h - striped O_DIRECT I/O over N member devices with io_uring.
 *
 * The engine knows nothing of files or FUSE.  A volume is an ordered list
 * of member devices (block devices or image files) striped RAID-0 style:
 * logical offset L lives on member (L / su) % n at member offset
 * (L / (su * n)) * su + L % su + data_offset.
 *
 * Every call returns 0 (or a count) on success and a negative errno on
 * failure; none sets errno or exits.  The text of a failure belongs to the
 * call or request that failed (see "error text" below); nothing is kept
 * from one call to the next.
 *
 * A ring (struct swe_ring) belongs to the thread that created it: all of
 * swe_ring_submit/reap/wait on one ring must come from that thread.  Any
 * number of rings may share one volume and one arena.
 */
#ifndef SWAPFS_ENGINE_H
#define SWAPFS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWE_DEFAULT_STRIPE_UNIT (1u << 20)
#define SWE_MAX_DEVICES 64
#define SWE_DEFAULT_QUEUE_DEPTH 32

/* ---- error text --------------------------------------------------------
 *
 * Calls that can fail for a reason their errno does not tell (which
 * member, which path, which limit) take a struct swe_err * (NULL when the
 * text is not wanted), filled only on failure: "CONTEXT: strerror".  A
 * request (struct swe_io) carries its own text in errmsg, set when it is
 * refused or fails.  The other calls' errno says all they know.
 */
#define SWE_ERRMSG_LEN 256

struct swe_err {
	char msg[SWE_ERRMSG_LEN];
};

struct swe_io;
/* The text of the first of ios[0..n) that was refused or failed, else strerror(-err). */
const char *swe_io_errmsg(const struct swe_io *ios, unsigned n, int err);

/* ---- striping map (pure arithmetic, no devices) ----------------------- */

struct swe_stripe {
	uint32_t stripe_unit;	/* bytes, > 0 */
	unsigned ndev;		/* 1..SWE_MAX_DEVICES */
	uint64_t data_offset;	/* bytes skipped at the start of every member */
};

/* One piece of a volume request that lives on a single member. */
struct swe_seg {
	unsigned dev;
	uint64_t dev_offset;	/* absolute offset on the member */
	uint64_t vol_offset;	/* logical offset this piece starts at */
	uint32_t len;
};

void swe_stripe_map(const struct swe_stripe *s, uint64_t vol_offset,
		    unsigned *dev, uint64_t *dev_offset);
/* Inverse of swe_stripe_map; dev_offset must be >= data_offset. */
uint64_t swe_stripe_unmap(const struct swe_stripe *s, unsigned dev,
			  uint64_t dev_offset);
/*
 * Split [vol_offset, vol_offset + len) at stripe-unit boundaries.  Writes
 * at most max segments and returns how many the range needs (call with
 * max = 0 to size the array).
 */
unsigned swe_stripe_split(const struct swe_stripe *s, uint64_t vol_offset,
			  uint64_t len, struct swe_seg *segs, unsigned max);

/* ---- volume: the member devices --------------------------------------- */

struct swe_volume;

struct swe_volume_opts {
	uint32_t stripe_unit;	/* 0: SWE_DEFAULT_STRIPE_UNIT */
	uint64_t data_offset;	/* reserved bytes at the start of each member */
	bool read_only;
	bool no_exclusive;	/* skip O_EXCL on block devices */
};

struct swe_device_info {
	const char *path;
	bool is_blockdev;
	uint64_t size;		/* bytes on the member */
	uint32_t offset_align;	/* O_DIRECT offset/length alignment */
	uint32_t mem_align;	/* O_DIRECT buffer alignment */
	/*
	 * Read-only open only: a writer (a read-write mount, mkswapfs,
	 * swapfsck -y) holds the member, under this name or another.
	 */
	bool in_use;
};

/* Per-member counters, cumulative since open. */
struct swe_device_stats {
	uint64_t bytes_read, bytes_written;
	uint64_t reads, writes, flushes;
	uint64_t errors;
	uint64_t inflight;
	uint64_t busy_ns;	/* time with at least one I/O in flight */
};

int swe_volume_open(struct swe_volume **out, const char *const *paths,
		    unsigned ndev, const struct swe_volume_opts *opts, struct swe_err *e);
void swe_volume_close(struct swe_volume *vol);
unsigned swe_volume_ndev(const struct swe_volume *vol);
/* Usable logical bytes: ndev * (smallest member - data_offset), in whole stripe rows. */
uint64_t swe_volume_size(const struct swe_volume *vol);
/* Largest O_DIRECT alignment over the members (offsets, lengths, buffers). */
uint32_t swe_volume_align(const struct swe_volume *vol);
const struct swe_stripe *swe_volume_stripe(const struct swe_volume *vol);
const struct swe_device_info *swe_volume_device(const struct swe_volume *vol,
						unsigned dev);
int swe_volume_fd(const struct swe_volume *vol, unsigned dev);
void swe_volume_stats(const struct swe_volume *vol, unsigned dev,
		      struct swe_device_stats *st);
/* fdatasync every member, synchronously (as swe_member_flush). */
int swe_volume_flush(struct swe_volume *vol);
/*
 * Change the stripe unit and data offset after open (once the superblock
 * has been read); recomputes the usable size.
 */
int swe_volume_set_layout(struct swe_volume *vol, uint32_t stripe_unit,
			  uint64_t data_offset, struct swe_err *e);
/*
 * Synchronous aligned I/O at an absolute offset of one member, for
 * superblocks and metadata areas outside the striped data space.
 */
int swe_member_pread(struct swe_volume *vol, unsigned dev, void *buf,
		     size_t len, uint64_t offset);
int swe_member_pwrite(struct swe_volume *vol, unsigned dev, const void *buf,
		      size_t len, uint64_t offset);
/*
 * fdatasync one member; none when no write of this volume to it ended
 * since the last flush began (and no fault is armed): the cache holds
 * nothing of ours to make durable.  Concurrent callers share one: a flush
 * that finds nothing written waits for the one running, which covers the
 * writes it waited for.
 */
int swe_member_flush(struct swe_volume *vol, unsigned dev);

/* ---- fault injection (tests of every layer use this) ------------------ */

enum swe_op { SWE_READ = 1, SWE_WRITE = 2, SWE_FLUSH = 4 };

struct swe_fault {
	int dev;		/* member index, -1 for any */
	unsigned ops;		/* mask of enum swe_op, 0 for any */
	uint64_t nth;		/* first matching I/O hit, 1-based */
	uint64_t count;		/* how many hits from nth on; 0 = all later ones */
	int error;		/* positive errno to complete with, 0 for none */
	uint32_t delay_us;	/* delay the I/O by this much before issuing */
	bool short_io;		/* issue only half of the I/O (exercises resubmission) */
};

#define SWE_MAX_FAULTS 8

/* Arm a rule; returns its slot or -ENOSPC.  Counting starts now. */
int swe_fault_add(struct swe_volume *vol, const struct swe_fault *f, struct swe_err *e);
void swe_fault_clear(struct swe_volume *vol);
/* How many I/Os the rule in slot has hit so far. */
uint64_t swe_fault_hits(const struct swe_volume *vol, int slot);

/* ---- arena: aligned buffers registered with every ring ---------------- */

struct swe_arena;

#define SWE_ARENA_NO_HUGEPAGES 1u

/*
 * Map size bytes (rounded up to granule) for I/O buffers.  Tries explicit
 * hugepages, then transparent hugepages, then plain pages.
 */
int swe_arena_create(struct swe_arena **out, size_t size, size_t granule,
		     unsigned flags, struct swe_err *e);
void swe_arena_destroy(struct swe_arena *a);
/* Returns -ENOMEM when no free run of len bytes is left (never blocks). */
int swe_arena_alloc(struct swe_arena *a, size_t len, void **buf);
void swe_arena_free(struct swe_arena *a, void *buf);
size_t swe_arena_size(const struct swe_arena *a);
size_t swe_arena_free_bytes(struct swe_arena *a);
bool swe_arena_hugepages(const struct swe_arena *a);

/* ---- rings and I/O ---------------------------------------------------- */

struct swe_ring;
typedef void (*swe_io_cb)(struct swe_io *io, int result);

/*
 * One volume request.  The caller owns the struct until the callback has
 * run; the callback runs from swe_ring_reap/wait on the submitting thread,
 * never from swe_ring_submit.  result is 0 or a negative errno; on error
 * err_dev and err_offset name the first failing member and its offset,
 * and errmsg says it in words.  errmsg also says why swe_ring_submit
 * failed; it is "" otherwise.
 */
struct swe_io {
	enum swe_op op;
	uint64_t offset;	/* volume offset, aligned */
	uint64_t len;		/* aligned, > 0 (ignored for SWE_FLUSH) */
	void *buf;		/* aligned to swe_volume_align() */
	swe_io_cb cb;
	void *priv;
	/* filled by the engine */
	int result;
	int err_dev;
	uint64_t err_offset;
	char errmsg[SWE_ERRMSG_LEN];
	unsigned pending;
	struct swe_seg_state *segs;
};

struct swe_ring_opts {
	unsigned queue_depth;	/* per member; 0: SWE_DEFAULT_QUEUE_DEPTH */
	bool no_fixed_buffers;
	bool no_fixed_files;
	bool force_async;	/* IOSQE_ASYNC on every I/O */
};

int swe_ring_create(struct swe_ring **out, struct swe_volume *vol,
		    struct swe_arena *arena, const struct swe_ring_opts *opts,
		    struct swe_err *e);
void swe_ring_destroy(struct swe_ring *r);
/*
 * Queue io: validates it (-EINVAL for misaligned or out-of-range requests,
 * -ENOMEM; nothing queued, io->errmsg says why) and starts as much as the
 * queue depth allows.  Once it returns 0 the request completes through its
 * callback, exactly once; a failed io_uring_submit is retried by the next
 * reap or wait.
 */
int swe_ring_submit(struct swe_ring *r, struct swe_io *io);
/* Run completions; waits for at least one if wait and any I/O is pending.
 * Returns the number of requests completed or a negative errno. */
int swe_ring_reap(struct swe_ring *r, bool wait);
/* Reap until nothing is in flight or queued. */
int swe_ring_wait_all(struct swe_ring *r);
/*
 * Event-loop use: keep a read of the eventfd efd armed on the ring, so a
 * thread that owns the ring can sleep in swe_ring_wait_event until either
 * an I/O completes or another thread writes to efd.
 */
int swe_ring_set_notify(struct swe_ring *r, int efd);
/* Wait for a completion or a notification; *notified tells which. Returns
 * the number of requests completed or a negative errno. */
int swe_ring_wait_event(struct swe_ring *r, bool *notified);
/*
 * Register memory the arena does not hold (an application's shared
 * buffer) with the ring, so I/O on it needs no page pinning per request.
 * At most SWE_RING_EXTRA_BUFFERS at a time, each up to 1 GiB; -EOPNOTSUPP
 * where the kernel or the ring cannot (I/O on such memory still works).
 * Unregister only with no I/O in flight on it.
 */
#define SWE_RING_EXTRA_BUFFERS 64
int swe_ring_register_buffer(struct swe_ring *r, void *base, size_t len);
void swe_ring_unregister_buffer(struct swe_ring *r, void *base);
/* Requests submitted and not yet completed. */
unsigned swe_ring_pending(const struct swe_ring *r);
bool swe_ring_fixed_buffers(const struct swe_ring *r);

#endif

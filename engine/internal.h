/* internal.h - engine-private structures shared by volume.c, ring.c, fault.c. */
#ifndef SWAPFS_ENGINE_INTERNAL_H
#define SWAPFS_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "engine/engine.h"

struct swe_dev_counters {
	_Atomic uint64_t bytes_read, bytes_written;
	_Atomic uint64_t reads, writes, flushes, errors;
	_Atomic uint64_t inflight;
	_Atomic uint64_t busy_since_ns, busy_ns;
	atomic_bool unflushed;	/* a write ended since the last swe_member_flush began */
};

struct swe_fault_slot {
	bool armed;
	struct swe_fault rule;
	_Atomic uint64_t seen;	/* matching I/Os since armed */
	_Atomic uint64_t hits;
};

#define SWE_MAX_HOLD 4	/* loop devices stacked on loop devices, at most */

struct swe_volume {
	unsigned ndev;
	struct swe_stripe stripe;
	uint64_t size, min_member;
	uint32_t align;
	bool read_only;
	int fds[SWE_MAX_DEVICES];
	/* what a loop device member is stored in, opened and locked (volume.c) */
	int hold_fds[SWE_MAX_DEVICES][SWE_MAX_HOLD];
	struct store_id { dev_t dev; ino_t ino; uint64_t off; bool blk; } store[SWE_MAX_DEVICES];
	struct swe_device_info info[SWE_MAX_DEVICES];
	struct swe_dev_counters ctr[SWE_MAX_DEVICES];
	pthread_mutex_t fault_lock;
	/* per member: a flush that found nothing written waits for one running */
	pthread_mutex_t flush_lock[SWE_MAX_DEVICES];
	_Atomic unsigned nfaults;	/* armed slots, 0 = fast path */
	struct swe_fault_slot faults[SWE_MAX_FAULTS];
};

/* What a matching fault rule asks the ring to do with one I/O. */
struct swe_fault_action {
	int error;
	uint32_t delay_us;
	bool short_io;
};

/* Returns true (and fills act) if an armed rule hits this I/O. */
bool swe_fault_check(struct swe_volume *vol, unsigned dev, enum swe_op op,
		     struct swe_fault_action *act);

/* "CONTEXT: strerror(-err)" into e (unless NULL); returns err (negative). */
int swe_fail(struct swe_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same into io->errmsg: why io was refused or failed. */
int swe_io_fail(struct swe_io *io, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

uint64_t swe_now_ns(void);

/* Arena chunks as registered with io_uring (each at most 1 GiB). */
#include <sys/uio.h>
const struct iovec *swe_arena_iovecs(const struct swe_arena *a, unsigned *n);
/* Registered-buffer index holding [buf, buf+len), or -1. */
int swe_arena_buf_index(const struct swe_arena *a, const void *buf, size_t len);
void swe_ctr_start(struct swe_dev_counters *c);
void swe_ctr_end(struct swe_dev_counters *c, enum swe_op op, uint64_t bytes,
		 bool failed);

#endif

/*
 * fslib.h - the swapfs on-disk library: the one header that the daemon,
 * mkswapfs, swapfsck, swapbench and the tests include.
 *
 * Sections: checksums; on-disk format; allocation bitmap; in-memory
 * metadata; volume members; command-line helpers shared by the programs.
 */
#ifndef SWAPFS_FSLIB_H
#define SWAPFS_FSLIB_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* ====================================================================
 * Checksums (crc32c.c)
 * ==================================================================== */
/* crc32c.h - CRC-32C (Castagnoli), hardware-accelerated where the CPU has it. */
/* crc32c of buf continuing from crc (start with 0). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* ====================================================================
 * On-disk format: superblock, records, checkpoints (format.c)
 * ==================================================================== */
/*
 * format.h - the swapfs on-disk format: superblocks, metadata records and
 * checkpoints.  docs/FORMAT.md describes every byte; this header and
 * format.c are the only code that knows the encoding.  All integers are
 * little-endian with fixed widths; nothing depends on struct layout.
 *
 * Member layout (byte offsets on every member):
 *   0                 superblock (4 KiB)
 *   64 KiB            superblock replica (4 KiB)
 *   meta_offset       metadata area: checkpoint slot A, slot B, log
 *                     (used on members 0 and 1; mirrored)
 *   data_offset       striped data space (multiple of the stripe unit)
 */
#define SWF_MAGIC "SWAPFS\x01\x00"
#define SWF_VERSION 1
#define SWF_SB_SIZE 4096u
#define SWF_SB_OFFSET 0ull
#define SWF_SB_REPLICA_OFFSET (64ull << 10)
#define SWF_META_OFFSET (1ull << 20)
#define SWF_BLOCK 4096u			/* metadata I/O unit */
#define SWF_MAX_MEMBERS 64
#define SWF_LABEL_MAX 63
#define SWF_MIRRORS 2			/* members holding the metadata */
#define SWF_DEFAULT_ALLOC_UNIT (64u << 10)

struct swf_uuid { uint8_t b[16]; };

struct swf_super {
	uint32_t version;
	uint32_t features;
	struct swf_uuid fs_uuid;
	struct swf_uuid member_uuid;
	uint32_t dev_index, dev_count;
	uint32_t stripe_unit, alloc_unit, align;
	uint64_t member_size;		/* bytes of this member when formatted */
	uint64_t data_per_member;	/* striped bytes used on each member */
	uint64_t meta_offset, meta_size, ckpt_size, log_offset, log_size;
	uint64_t data_offset;
	uint64_t created;		/* seconds since the epoch */
	char label[SWF_LABEL_MAX + 1];
	struct swf_uuid members[SWF_MAX_MEMBERS];
	/*
	 * Read-write mounts so far, as this member last saw them: every one
	 * raises it on all members before it writes, and records it in its
	 * checkpoint; a member below the checkpoint's is a stale copy.
	 * Volumes formatted before it existed read 0 (reserved space).
	 */
	uint64_t mount_seq;
};

/* Fill the geometry fields from the member sizes; -ENOSPC if too small. */
int swf_geometry(struct swf_super *sb, const uint64_t *sizes, unsigned n,
		 uint32_t stripe_unit, uint32_t alloc_unit, uint32_t align);
void swf_super_encode(const struct swf_super *sb, uint8_t buf[SWF_SB_SIZE]);
/* -EINVAL: not swapfs (bad magic); -EBADMSG: checksum or field error. */
int swf_super_decode(struct swf_super *sb, const uint8_t buf[SWF_SB_SIZE]);
uint64_t swf_volume_bytes(const struct swf_super *sb);
void swf_uuid_unparse(const struct swf_uuid *u, char out[37]);
int swf_uuid_parse(const char *s, struct swf_uuid *u);
void swf_uuid_generate(struct swf_uuid *u);
bool swf_uuid_equal(const struct swf_uuid *a, const struct swf_uuid *b);

/* ---- metadata records (log and checkpoints) --------------------------- */

enum swf_rec_type {
	SWF_R_PAD = 1,		/* filler to the end of a block */
	SWF_R_INODE = 2,	/* full attributes of one inode (creates it) */
	SWF_R_INODE_FREE = 3,	/* inode gone: its extents and xattrs are freed */
	SWF_R_DIRENT_ADD = 4,	/* name in a directory -> inode */
	SWF_R_DIRENT_DEL = 5,
	SWF_R_EXTENT = 6,	/* map file range -> volume range (replaces) */
	SWF_R_UNMAP = 7,	/* drop mappings of a file range (frees) */
	SWF_R_XATTR_SET = 8,
	SWF_R_XATTR_DEL = 9,
	SWF_R_SYMLINK = 10,	/* symlink target of an inode */
	SWF_R_MAX = 10
};

#define SWF_RF_CONT 1u		/* more records of the same transaction follow */
#define SWF_REC_HDR 24u
#define SWF_REC_MAX_PAYLOAD (72u << 10)	/* a 64 KiB xattr value and its name */

struct swf_inode_rec {
	uint64_t ino;
	uint32_t mode, uid, gid, nlink;
	uint64_t size, rdev;
	int64_t atime_ns, mtime_ns, ctime_ns;
	uint32_t flags;
};

#define SWF_EXT_UNWRITTEN 1u	/* allocated, reads as zeros until written */

struct swf_extent_rec {
	uint64_t ino, file_offset, vol_offset, len;
	uint32_t flags;
};

/* A decoded record: payload fields by type; strings point into the buffer. */
struct swf_rec {
	uint16_t type, flags;
	uint32_t generation;
	uint64_t seq;
	union {
		struct swf_inode_rec inode;
		struct swf_extent_rec extent;	/* SWF_R_EXTENT and SWF_R_UNMAP */
		struct { uint64_t ino; } free;
		struct { uint64_t parent, ino; const char *name; uint16_t name_len; } dirent;
		struct { uint64_t ino; const char *name; uint16_t name_len;
			 const void *value; uint32_t value_len; } xattr;
		struct { uint64_t ino; const char *target; uint32_t len; } symlink;
	} u;
};

/*
 * Encode rec at buf (room bytes); returns the encoded size (a multiple of
 * 8) or -ENOSPC if it does not fit, -EINVAL if the payload is too large.
 */
int swf_rec_encode(const struct swf_rec *rec, uint8_t *buf, size_t room);
/*
 * Decode the record at buf (avail bytes).  Returns its encoded size, 0 at
 * a clean end (fewer than a header's bytes, or a zero header), or
 * -EBADMSG for a torn or corrupt record.
 */
int swf_rec_decode(struct swf_rec *rec, const uint8_t *buf, size_t avail);

/* ---- checkpoint header ------------------------------------------------ */

#define SWF_CKPT_HDR 64u

struct swf_ckpt {
	uint32_t generation;	/* log records of this generation follow it */
	uint64_t seq;		/* last sequence number it contains */
	uint64_t next_ino;
	uint64_t body_len;	/* bytes of records after the header block */
	uint32_t body_crc;
	uint64_t mount_seq;	/* the superblocks' mount counter when it was written */
};

void swf_ckpt_encode(const struct swf_ckpt *c, uint8_t buf[SWF_CKPT_HDR]);
int swf_ckpt_decode(struct swf_ckpt *c, const uint8_t buf[SWF_CKPT_HDR]);

/* ====================================================================
 * Allocation bitmap (alloc.c)
 * ==================================================================== */
/*
 * alloc.h - free space of the striped volume in allocation units.
 *
 * A bitmap of allocation units (default 64 KiB) with exact counts.  Large
 * requests start on stripe-row boundaries so sequential I/O hits every
 * member; small ones are packed first-fit after a rotating hint.  Not
 * thread-safe: the caller holds the metadata lock.
 */
struct sw_alloc {
	uint64_t nunits, nfree, hint;
	uint64_t reserved;	/* of nfree, promised to staged writes (sw_alloc_reserve) */
	uint32_t unit;		/* bytes per allocation unit */
	uint32_t row_units;	/* units per stripe row */
	uint64_t *bits;		/* 1 = used */
};

int sw_alloc_init(struct sw_alloc *a, uint64_t volume_bytes, uint32_t unit,
		  uint64_t row_bytes);
void sw_alloc_destroy(struct sw_alloc *a);
/*
 * Allocate up to want units in one contiguous run; stores its first unit
 * and returns the run length (>= 1), or -ENOSPC when nothing is free.
 * Reserved units are not free to it: release a reservation first to use it.
 */
int64_t sw_alloc_run(struct sw_alloc *a, uint64_t want, uint64_t *first);
/*
 * Promise n free units to a later sw_alloc_run (write-behind reserves what
 * a staged write will need when it acknowledges the write): -ENOSPC when
 * fewer than n are free and not promised already.
 */
int sw_alloc_reserve(struct sw_alloc *a, uint64_t n);
void sw_alloc_unreserve(struct sw_alloc *a, uint64_t n);
/* Units neither used nor reserved. */
uint64_t sw_alloc_available(const struct sw_alloc *a);
/* Returns -EINVAL if any unit is already free (double free). */
int sw_alloc_free(struct sw_alloc *a, uint64_t first, uint64_t n);
/* Mark units used when rebuilding from extents; -EEXIST on overlap. */
int sw_alloc_mark(struct sw_alloc *a, uint64_t first, uint64_t n);

/* ====================================================================
 * In-memory metadata: the table (table.c), its log and checkpoints
 * (journal.c), opening it (load.c)
 * ==================================================================== */
/*
 * The in-memory tensor table (inodes, directories, extents,
 * xattrs) and its durable form: a checksummed metadata log mirrored on
 * members 0 and 1, plus A/B checkpoints of the whole table.
 *
 * Every change is a record (format.h).  Namespace changes are appended to
 * the log buffer as they happen; data-path changes (new extents, size,
 * times) are kept as dirty state and written as records at commit, after
 * the data they describe, so the log never points at bytes that were not
 * written.  Blocks freed by a record are reused only after that record is
 * committed.  All functions except the sw_meta_load/close pair expect the
 * caller to hold m->lock.
 */
#define SW_ROOT_INO 1ull

struct sw_ext {
	uint64_t foff, voff, len;
	uint32_t flags;		/* SWF_EXT_UNWRITTEN */
	bool logged;		/* already described by a committed-order record */
};

struct sw_xattr {
	char *name;
	void *value;
	uint32_t len;
};

struct sw_dent {
	char *name;
	uint64_t ino;		/* 0: deleted (tombstone until compaction) */
	uint64_t cookie;	/* readdir offset, stable while mounted */
};

struct sw_dir {
	struct sw_dent *e;
	size_t n, cap, live;
	uint64_t next_cookie;
	uint32_t *slots;	/* open-addressing index into e: i + 1, 0 empty */
	size_t nslots;
};

struct sw_inode {
	struct swf_inode_rec a;
	struct sw_ext *ext;
	size_t next, extcap;
	struct sw_xattr *xa;
	size_t nxa;
	char *symlink;
	struct sw_dir *dir;
	uint64_t parent;	/* directories: the containing directory */
	uint32_t inflight;	/* async writes not completed: their extents wait to be logged */
	uint32_t ckpt_mark;	/* checkpoint attempt (ckpt_serial) that already wrote this directory */
	bool on_dirty;		/* on the list of inodes whose records wait for a commit */
	uint64_t logged_size;	/* the size of its latest record in the log */
	struct sw_inode *dirty_next, *hnext;
	/* the opener's part: sw_inode_ops.priv_size bytes, zeroed when the inode is created */
	max_align_t priv[];
};

/* What the opener of a table keeps in each inode (sw_meta_open). */
struct sw_inode_ops {
	size_t priv_size;	/* bytes of sw_inode.priv */
	/* optional: called on a new inode before the table holds it; -errno fails its record */
	int (*init)(struct sw_inode *ino);
	/* optional: called on an inode the table has let go of, before it is freed */
	void (*fini)(struct sw_inode *ino);
};

/*
 * The open table.  Outside the library its fields are read only (under
 * lock, or by the only user of m); the library's own state is in lib
 * (fs/lib/fslib_int.h).
 */
struct sw_meta {
	pthread_mutex_t lock;
	struct swe_volume *vol;
	struct swf_super sb;
	struct sw_alloc alloc;
	unsigned nmirror;	/* members holding the metadata (0 and 1) */
	bool read_only;
	/* table */
	struct sw_inode **htab;	/* walked with sw_for_each_inode */
	size_t hsize, count;
	uint64_t next_ino;
	/* log */
	uint32_t gen;
	uint64_t seq;
	uint64_t head;		/* committed bytes of the on-disk log */
	size_t npending_free;	/* ranges freed by records not yet committed */
	/* records SW_LOAD_SALVAGE skipped */
	uint64_t bad_records;
	int bad_first_type;
	/* counters */
	uint64_t commits, checkpoints, records_replayed;
	struct sw_meta_lib *lib;	/* the library's own state (fs/lib/fslib_int.h) */
};

/* What swapfsck learns while loading: the state of each mirror's copies. */
struct sw_load_report {
	int ckpt_err[SWF_MIRRORS][2];	/* per mirror and slot: 0 valid, -ENODATA empty, else -errno */
	uint32_t ckpt_gen[SWF_MIRRORS][2];	/* as its header says (0: no readable header) */
	int64_t log_head[SWF_MIRRORS];	/* valid prefix of each mirror's log */
	bool log_torn[SWF_MIRRORS];	/* a damaged record right after that prefix */
	uint32_t generation;		/* of the checkpoint in use */
	/*
	 * Damage that a crash cannot leave (docs/RELIABILITY.md, "Damaged
	 * checkpoints and logs"): the daemon refuses to mount with any of it.
	 */
	bool ckpt_lost;		/* the other slot is unreadable on every mirror and the
				 * log does not continue the checkpoint in use */
	bool ckpt_torn;		/* the same, but the log continues it: an interrupted
				 * checkpoint, nothing lost */
	unsigned lost_slot;	/* that slot (0 A, 1 B) */
	uint64_t newer_records;	/* log records written after the checkpoint in use: of a
				 * newer generation, or of an older one with a higher
				 * sequence number than the checkpoint's */
	uint64_t ckpt_seq;	/* last sequence number the checkpoint in use holds */
	uint64_t orphan_records;	/* valid records of the checkpoint's generation after a
					 * damaged one, beyond every mirror's valid prefix */
	uint64_t orphan_first_seq, orphan_last_seq;
	uint64_t damage_at;	/* log byte offset of the damage they follow */
	uint32_t max_gen;	/* highest generation any slot header or log record names */
	uint64_t max_seq;	/* highest sequence number of any valid log record */
	/*
	 * Stale members (docs/RELIABILITY.md, "Stale members"): the mount
	 * counter of the checkpoint in use and of every member's superblock.
	 * A member below the newest state is an older copy of itself.
	 */
	uint64_t mount_seq;		/* the checkpoint's */
	uint64_t member_seq[SWF_MAX_MEMBERS];
	uint64_t newest_seq;		/* the newest the members and the metadata know */
	bool stale[SWF_MAX_MEMBERS];
	unsigned nstale;
	char why[512];		/* the daemon's refusal, or a note (ckpt_torn) */
	/* called for each lost record (newer or orphan) of one mirror, in log order */
	void (*lost_fn)(void *arg, const struct swf_rec *r);
	void *lost_arg;
};

#define SW_LOAD_READ_ONLY 1u
#define SW_LOAD_SALVAGE 2u	/* tolerate records that do not apply (swapfsck) */
#define SW_LOAD_NO_CHECKPOINT 4u	/* no mount: no counter raised, no checkpoint written */
/*
 * The caller repairs the table with sw_meta_apply and rebuilds the
 * allocator (swapfsck): the space a record unmaps or frees is not queued
 * for reuse.
 */
#define SW_LOAD_REPAIR 8u

/* Open: flags SW_LOAD_*; ops (or NULL) for the opener's part of every inode. */
int sw_meta_open(struct sw_meta *m, struct swe_volume *vol, const struct swf_super *sb,
		 unsigned flags, const struct sw_inode_ops *ops, struct sw_load_report *rep);
/* Apply one record to the table without logging it (swapfsck's repairs). */
int sw_meta_apply(struct sw_meta *m, const struct swf_rec *rec);
/* Open: newest valid checkpoint + replay of the log; rebuilds the allocator. */
int sw_meta_load(struct sw_meta *m, struct swe_volume *vol,
		 const struct swf_super *sb, bool read_only);
void sw_meta_close(struct sw_meta *m);
/* Write a fresh table holding only the root directory (mkswapfs). */
int sw_meta_format(struct swe_volume *vol, const struct swf_super *sb,
		   uint32_t root_uid, uint32_t root_gid);

struct sw_inode *sw_inode_get(struct sw_meta *m, uint64_t ino);

/* A walk over every inode of the table, in no order.  The current inode may
 * be removed (sw_inode_iter_next has already stepped past it); the caller
 * holds m->lock or owns m alone.
 *	struct sw_inode_iter it;
 *	struct sw_inode *i;
 *	sw_for_each_inode(m, &it, i) { ... }
 */
struct sw_inode_iter {
	struct sw_meta *m;
	size_t slot;
	struct sw_inode *next;
};
void sw_inode_iter_init(struct sw_inode_iter *it, struct sw_meta *m);
struct sw_inode *sw_inode_iter_next(struct sw_inode_iter *it);
#define sw_for_each_inode(m, it, i) \
	for (sw_inode_iter_init((it), (m)); ((i) = sw_inode_iter_next(it)); )
/* Append rec to the log (pending) and apply it to the table. */
int sw_meta_emit(struct sw_meta *m, struct swf_rec *rec);
/* Mark attributes changed; written as an INODE record at the next commit. */
void sw_meta_dirty(struct sw_meta *m, struct sw_inode *ino);
/*
 * Write pending records.  durable: flush all members first (data before
 * the records that describe it) and the mirrors after.
 */
int sw_meta_commit(struct sw_meta *m, bool durable);
int sw_meta_checkpoint(struct sw_meta *m);
/*
 * A checkpoint with a generation above max_gen (in the slot not in use)
 * and a sequence number of at least max_seq, so that no record left in the
 * metadata area can be read as one of it or as newer (swapfsck's repaired
 * table).  -EOVERFLOW when no generation is left.
 */
int sw_meta_checkpoint_above(struct sw_meta *m, uint32_t max_gen, uint64_t max_seq);
/*
 * ENOSPC when the table cannot grow by bytes (of checkpoint records: the
 * sw_meta_cost_* functions) for a new inode, name or xattr and keep the
 * reserve that lets a checkpoint of everything always fit its slot;
 * 0 otherwise.  Removals stay allowed: they are what makes room again.
 */
int sw_meta_room(const struct sw_meta *m, uint64_t bytes);
/* The same up to the slot's capacity, reserve included (a rename's longer name). */
int sw_meta_room_reserved(const struct sw_meta *m, uint64_t bytes);
uint64_t sw_meta_cost_name(size_t name_len);
uint64_t sw_meta_cost_inode(size_t name_len, size_t link_len);
uint64_t sw_meta_cost_xattr(size_t name_len, size_t value_len);
/* One more extent (the data path checks its new mappings with sw_meta_room_reserved). */
uint64_t sw_meta_cost_extent(void);
/*
 * Hold bytes of the table's room (up to the slot's capacity, as
 * sw_meta_room_reserved) for extents a write has acknowledged but not
 * mapped yet: every other check then leaves them, so mapping them later
 * cannot fail for room.  ENOSPC if they do not fit.  Unhold gives back.
 */
int sw_meta_room_hold(struct sw_meta *m, uint64_t bytes);
void sw_meta_room_unhold(struct sw_meta *m, uint64_t bytes);
/* New inodes the table has room for, at its average cost per inode (statfs). */
uint64_t sw_meta_inodes_free(const struct sw_meta *m);
bool sw_meta_pending(const struct sw_meta *m);
/*
 * The durable log already holds all that reading ino's data needs: its
 * size and extents (fdatasync then flushes the data alone).  Meta lock held.
 */
bool sw_meta_data_logged(const struct sw_meta *m, const struct sw_inode *ino);

/* ---- table helpers ---------------------------------------------------- */
struct sw_dent *sw_dir_lookup(struct sw_inode *dir, const char *name);
/* Index of the first extent ending after foff (ino->next if none). */
size_t sw_ext_find(const struct sw_inode *ino, uint64_t foff);
/*
 * Walk file range [s, e) in order: fn gets each piece with its volume
 * offset, or -1 for a hole or an unwritten extent (which read as zeros).
 * Stops at the first nonzero return of fn and returns it.
 */
int sw_ext_walk(const struct sw_inode *ino, uint64_t s, uint64_t e,
		int (*fn)(void *arg, uint64_t foff, uint64_t len, int64_t voff), void *arg);
/* Map [foff, foff+len) -> voff in memory (unlogged), merging neighbours. */
int sw_ext_map(struct sw_meta *m, struct sw_inode *ino, uint64_t foff,
	       uint64_t voff, uint64_t len, uint32_t flags);
/* Drop mappings of [foff, foff+len) (their space is freed after the next commit). */
int sw_ext_unmap(struct sw_meta *m, struct sw_inode *ino, uint64_t foff, uint64_t len);
struct sw_xattr *sw_xattr_find(struct sw_inode *ino, const char *name);
int64_t sw_now_ns(void);
uint64_t sw_meta_used_bytes(const struct sw_meta *m);
/* Bytes of volume space the inode's extents hold. */
uint64_t sw_inode_allocated(const struct sw_inode *ino);

/* ====================================================================
 * Opening and checking a volume's members (fsvol.c)
 * ==================================================================== */
/*
 * fsvol.h - open the members of a formatted swapfs: read and cross-check
 * their superblocks (same filesystem, complete set, right order) and set
 * the engine's striping from them.
 */
/* Primary superblock, or the replica if the primary is damaged. */
int sw_super_read(struct swe_volume *vol, unsigned dev, struct swf_super *sb,
		  bool *used_replica);
/* Write primary and replica of member dev. */
int sw_super_write(struct swe_volume *vol, unsigned dev, const struct swf_super *sb);
/*
 * Open paths as a swapfs volume.  On failure returns -errno and writes a
 * message naming the member and the problem into msg.  On success msg is
 * empty, or notes what was read from a superblock replica (to be told).
 */
int sw_fsvol_open(const char *const *paths, unsigned n, bool read_only,
		  struct swe_volume **vol, struct swf_super *sb,
		  char *msg, size_t msglen);

/* ====================================================================
 * Logging (log.c): one log for the daemon and the library
 * ==================================================================== */

/* Levels are syslog's priorities (and libfuse's). */
enum sw_log_level {
	SW_LOG_ERR = 3,
	SW_LOG_WARNING = 4,
	SW_LOG_NOTICE = 5,
	SW_LOG_INFO = 6,
	SW_LOG_DEBUG = 7,
};
/*
 * One message, one line, written whole (threads never interleave):
 * "swapfs: TEXT" on stderr until a destination below is chosen.  A
 * trailing newline in fmt is dropped.  errno is preserved.
 */
void sw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sw_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
#define sw_err(...) sw_log(SW_LOG_ERR, __VA_ARGS__)
#define sw_warn(...) sw_log(SW_LOG_WARNING, __VA_ARGS__)
#define sw_notice(...) sw_log(SW_LOG_NOTICE, __VA_ARGS__)
#define sw_info(...) sw_log(SW_LOG_INFO, __VA_ARGS__)
#define sw_debug(...) sw_log(SW_LOG_DEBUG, __VA_ARGS__)
/*
 * Configuration, at startup before any other thread runs.  Messages of a
 * level above the threshold are dropped (default SW_LOG_INFO).
 */
void sw_log_set_level(int level);
/* "err", "warning", "notice", "info" or "debug": its level; -EINVAL otherwise. */
int sw_log_level_parse(const char *name);
/* From now on, messages go to syslog under ident (a backgrounded daemon). */
void sw_log_to_syslog(const char *ident);
/*
 * From now on, messages are appended to path (created 0640), each line
 * "2026-01-31T12:00:00.123456Z swapfs[PID] LEVEL: TEXT" (UTC).  The file
 * stays open across fork and daemonizing.  Returns 0 or -errno.
 */
int sw_log_to_file(const char *path);

/* ====================================================================
 * Command-line helpers shared by the daemon and the tools (args.c)
 * ==================================================================== */

/* "4096", "64k", "1M", "2G", "1T" (binary multiples) -> bytes; -EINVAL on junk. */
int parse_size(const char *s, uint64_t *out);
/* Split "A:B:C" into a NULL-terminated array of up to max members; returns count or -errno. */
int split_members(const char *list, char ***out, unsigned max);
void free_members(char **members);
/* Monotonic clock in seconds. */
double now_seconds(void);
/* Is path a member of a mounted swapfs (named in a mount source, colon-separated)? */
bool member_mounted(const char *path);

#endif

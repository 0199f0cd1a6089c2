/*
 * meta.h - the in-memory tensor table (inodes, directories, extents,
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
#ifndef SWAPFS_META_H
#define SWAPFS_META_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"
#include "engine.h"
#include "format.h"

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
	uint64_t nlookup;	/* kernel references (FUSE lookup count) */
	uint32_t nopen;
	uint32_t inflight;	/* async writes not completed: their extents wait to be logged */
	uint32_t client_inflight;	/* of those, client-path writes (fs/direct.c) */
	uint32_t client_reads;	/* client-path reads in flight: no extent may move */
	uint32_t ckpt_mark;	/* checkpoint attempt (ckpt_serial) that already wrote this directory */
	/*
	 * Write-behind errors, as Linux's errseq: the latest error, a count of
	 * errors and whether any open file has reported the latest; each open
	 * file keeps the count it has reported (struct sw_errseen), so every
	 * open file sees each error once.
	 */
	int wb_error;
	uint32_t wb_errseq;
	bool wb_error_seen;
	struct sw_lost *wb_lost;	/* failed staged ranges not yet settled (data.c) */
	size_t nwb_lost;
	void *wb;		/* the data path's staging chunk */
	void *ra;		/* the data path's read-ahead window */
	bool attr_dirty, on_dirty;
	struct sw_inode *dirty_next, *hnext;
	pthread_rwlock_t rw;	/* data path: readers share, writers exclude */
};

struct sw_free_range { uint64_t voff, len; };

struct sw_meta {
	pthread_mutex_t lock;
	struct swe_volume *vol;
	struct swf_super sb;
	struct sw_alloc alloc;
	unsigned nmirror;
	bool read_only;
	/* table */
	struct sw_inode **htab;
	size_t hsize, count;
	uint64_t next_ino;
	struct sw_inode *dirty;
	/* log */
	uint32_t gen;
	uint64_t seq;
	uint64_t head;		/* committed bytes of the on-disk log */
	uint8_t *lbuf;		/* pending records, block aligned buffer */
	size_t llen, lcap;
	/* blocks freed by records not yet committed */
	struct sw_free_range *pending_free;
	size_t npending_free, cap_pending_free;
	bool replaying;
	bool salvage;		/* swapfsck: skip records that do not apply, count them */
	uint64_t bad_records;
	uint64_t bad_first_seq;	/* seq of the first skipped record (log), 0 if in a checkpoint */
	int bad_first_type;
	bool ckpt_needed;	/* a checkpoint attempt failed after it began writing */
	uint32_t ckpt_serial;	/* attempts of ckpt_serialize (its directory marks) */
	uint64_t mount_seq;	/* recorded in every checkpoint (swf_ckpt.mount_seq) */
	uint64_t tbl_bytes;	/* checkpoint body size of the table (an upper bound) */
	uint64_t tbl_resv;	/* of the room left, what staged writes hold for their extents */
	/* counters */
	uint64_t commits, checkpoints, records_replayed;
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
#define SW_LOAD_NO_CHECKPOINT 4u

int sw_meta_open(struct sw_meta *m, struct swe_volume *vol, const struct swf_super *sb,
		 unsigned flags, struct sw_load_report *rep);
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

#endif

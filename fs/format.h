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
#ifndef SWAPFS_FORMAT_H
#define SWAPFS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif

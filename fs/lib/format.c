/*
 * format.c - encode and decode the on-disk structures of format.h.
 *
 * Byte order is explicit (little-endian put/get helpers), every structure
 * carries a crc32c, and decoders check every length against the buffer
 * before touching it: they are fuzzed (tests/fuzz_format.c).
 */
#include <errno.h>
#include <string.h>
#include <uuid/uuid.h>

#include "fs/lib/fslib.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = v >> (8 * i); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- superblock -------------------------------------------------------- */

/* Field offsets in the 4 KiB superblock; crc32c of [0, 4092) at 4092. */
enum {
	SB_MAGIC = 0, SB_VERSION = 8, SB_FEATURES = 12, SB_FS_UUID = 16,
	SB_MEMBER_UUID = 32, SB_DEV_INDEX = 48, SB_DEV_COUNT = 52,
	SB_STRIPE_UNIT = 56, SB_ALLOC_UNIT = 60, SB_ALIGN = 64,
	SB_MEMBER_SIZE = 72, SB_DATA_PER_MEMBER = 80, SB_META_OFFSET = 88,
	SB_META_SIZE = 96, SB_CKPT_SIZE = 104, SB_LOG_OFFSET = 112,
	SB_LOG_SIZE = 120, SB_DATA_OFFSET = 128, SB_CREATED = 136,
	SB_LABEL = 144, SB_MEMBERS = 208, SB_MOUNT_SEQ = 1232, SB_CRC = SWF_SB_SIZE - 4,
};

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

int swf_geometry(struct swf_super *sb, const uint64_t *sizes, unsigned n,
		 uint32_t stripe_unit, uint32_t alloc_unit, uint32_t align)
{
	uint64_t smallest = UINT64_MAX, meta;

	if (!n || n > SWF_MAX_MEMBERS || !stripe_unit || !alloc_unit ||
	    stripe_unit & (stripe_unit - 1) || alloc_unit & (alloc_unit - 1) ||
	    alloc_unit > stripe_unit || alloc_unit < SWF_BLOCK ||
	    align > alloc_unit || !align)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (sizes[i] < smallest)
			smallest = sizes[i];
	/* 1/32 of the smallest member, between 4 MiB and 1 GiB, whole blocks of 64 KiB */
	meta = smallest / 32;
	if (meta < (4ull << 20))
		meta = 4ull << 20;
	if (meta > (1ull << 30))
		meta = 1ull << 30;
	meta = meta / (64 << 10) * (64 << 10);
	sb->stripe_unit = stripe_unit;
	sb->alloc_unit = alloc_unit;
	sb->align = align;
	sb->dev_count = n;
	sb->meta_offset = SWF_META_OFFSET;
	sb->meta_size = meta;
	/* checkpoints hold the whole table (about 300 bytes a file): 3/8 each */
	sb->ckpt_size = meta / 8 * 3 / SWF_BLOCK * SWF_BLOCK;
	sb->log_offset = SWF_META_OFFSET + 2 * sb->ckpt_size;
	sb->log_size = meta - 2 * sb->ckpt_size;
	sb->data_offset = round_up(SWF_META_OFFSET + meta, stripe_unit);
	if (smallest < sb->data_offset + stripe_unit)
		return -ENOSPC;
	sb->data_per_member = (smallest - sb->data_offset) / stripe_unit * stripe_unit;
	return 0;
}

uint64_t swf_volume_bytes(const struct swf_super *sb)
{
	return sb->data_per_member * sb->dev_count;
}

void swf_super_encode(const struct swf_super *sb, uint8_t buf[SWF_SB_SIZE])
{
	memset(buf, 0, SWF_SB_SIZE);
	memcpy(buf + SB_MAGIC, SWF_MAGIC, 8);
	put32(buf + SB_VERSION, sb->version);
	put32(buf + SB_FEATURES, sb->features);
	memcpy(buf + SB_FS_UUID, sb->fs_uuid.b, 16);
	memcpy(buf + SB_MEMBER_UUID, sb->member_uuid.b, 16);
	put32(buf + SB_DEV_INDEX, sb->dev_index);
	put32(buf + SB_DEV_COUNT, sb->dev_count);
	put32(buf + SB_STRIPE_UNIT, sb->stripe_unit);
	put32(buf + SB_ALLOC_UNIT, sb->alloc_unit);
	put32(buf + SB_ALIGN, sb->align);
	put64(buf + SB_MEMBER_SIZE, sb->member_size);
	put64(buf + SB_DATA_PER_MEMBER, sb->data_per_member);
	put64(buf + SB_META_OFFSET, sb->meta_offset);
	put64(buf + SB_META_SIZE, sb->meta_size);
	put64(buf + SB_CKPT_SIZE, sb->ckpt_size);
	put64(buf + SB_LOG_OFFSET, sb->log_offset);
	put64(buf + SB_LOG_SIZE, sb->log_size);
	put64(buf + SB_DATA_OFFSET, sb->data_offset);
	put64(buf + SB_CREATED, sb->created);
	memcpy(buf + SB_LABEL, sb->label, strnlen(sb->label, SWF_LABEL_MAX));
	for (unsigned i = 0; i < sb->dev_count && i < SWF_MAX_MEMBERS; i++)
		memcpy(buf + SB_MEMBERS + 16 * i, sb->members[i].b, 16);
	put64(buf + SB_MOUNT_SEQ, sb->mount_seq);
	put32(buf + SB_CRC, crc32c(0, buf, SB_CRC));
}

int swf_super_decode(struct swf_super *sb, const uint8_t buf[SWF_SB_SIZE])
{
	memset(sb, 0, sizeof(*sb));
	if (memcmp(buf + SB_MAGIC, SWF_MAGIC, 8))
		return -EINVAL;
	if (get32(buf + SB_CRC) != crc32c(0, buf, SB_CRC))
		return -EBADMSG;
	sb->version = get32(buf + SB_VERSION);
	sb->features = get32(buf + SB_FEATURES);
	memcpy(sb->fs_uuid.b, buf + SB_FS_UUID, 16);
	memcpy(sb->member_uuid.b, buf + SB_MEMBER_UUID, 16);
	sb->dev_index = get32(buf + SB_DEV_INDEX);
	sb->dev_count = get32(buf + SB_DEV_COUNT);
	sb->stripe_unit = get32(buf + SB_STRIPE_UNIT);
	sb->alloc_unit = get32(buf + SB_ALLOC_UNIT);
	sb->align = get32(buf + SB_ALIGN);
	sb->member_size = get64(buf + SB_MEMBER_SIZE);
	sb->data_per_member = get64(buf + SB_DATA_PER_MEMBER);
	sb->meta_offset = get64(buf + SB_META_OFFSET);
	sb->meta_size = get64(buf + SB_META_SIZE);
	sb->ckpt_size = get64(buf + SB_CKPT_SIZE);
	sb->log_offset = get64(buf + SB_LOG_OFFSET);
	sb->log_size = get64(buf + SB_LOG_SIZE);
	sb->data_offset = get64(buf + SB_DATA_OFFSET);
	sb->created = get64(buf + SB_CREATED);
	sb->mount_seq = get64(buf + SB_MOUNT_SEQ);
	memcpy(sb->label, buf + SB_LABEL, SWF_LABEL_MAX);
	sb->label[SWF_LABEL_MAX] = 0;
	if (sb->version != SWF_VERSION || !sb->dev_count ||
	    sb->dev_count > SWF_MAX_MEMBERS || sb->dev_index >= sb->dev_count ||
	    !sb->stripe_unit || sb->stripe_unit & (sb->stripe_unit - 1) ||
	    !sb->alloc_unit || sb->alloc_unit & (sb->alloc_unit - 1) ||
	    sb->alloc_unit > sb->stripe_unit || sb->alloc_unit < SWF_BLOCK ||
	    sb->ckpt_size < 2 * SWF_BLOCK || sb->ckpt_size % SWF_BLOCK ||
	    sb->log_size < 2 * SWF_BLOCK || sb->log_size % SWF_BLOCK ||
	    sb->log_offset != sb->meta_offset + 2 * sb->ckpt_size ||
	    sb->log_offset + sb->log_size > sb->data_offset ||
	    sb->data_offset % sb->stripe_unit ||
	    sb->data_per_member % sb->stripe_unit ||
	    sb->data_offset + sb->data_per_member > sb->member_size)
		return -EBADMSG;
	for (unsigned i = 0; i < sb->dev_count; i++)
		memcpy(sb->members[i].b, buf + SB_MEMBERS + 16 * i, 16);
	return 0;
}

void swf_uuid_unparse(const struct swf_uuid *u, char out[37])
{
	uuid_unparse_lower(u->b, out);
}

int swf_uuid_parse(const char *s, struct swf_uuid *u)
{
	return uuid_parse(s, u->b) ? -EINVAL : 0;
}

void swf_uuid_generate(struct swf_uuid *u)
{
	uuid_generate(u->b);
}

bool swf_uuid_equal(const struct swf_uuid *a, const struct swf_uuid *b)
{
	return !memcmp(a->b, b->b, 16);
}

/* ---- records ----------------------------------------------------------- */

/*
 * Header: crc32c u32 (over bytes 4..end of payload) | type u16 | flags u16 |
 * payload length u32 | generation u32 | seq u64; then the payload, padded
 * with zeros to a multiple of 8.
 */
static size_t payload_len(const struct swf_rec *r)
{
	switch (r->type) {
	case SWF_R_INODE: return 80;
	case SWF_R_INODE_FREE: return 8;
	case SWF_R_DIRENT_ADD: case SWF_R_DIRENT_DEL: return 18 + r->u.dirent.name_len;
	case SWF_R_EXTENT: case SWF_R_UNMAP: return 36;
	case SWF_R_XATTR_SET: case SWF_R_XATTR_DEL:
		return 14 + r->u.xattr.name_len + r->u.xattr.value_len;
	case SWF_R_SYMLINK: return 12 + r->u.symlink.len;
	default: return 0;
	}
}

int swf_rec_encode(const struct swf_rec *r, uint8_t *buf, size_t room)
{
	size_t plen = payload_len(r), total;
	uint8_t *p = buf + SWF_REC_HDR;

	if (r->type == SWF_R_PAD)
		plen = room < SWF_REC_HDR ? 0 : room - SWF_REC_HDR;
	if (r->type < SWF_R_PAD || r->type > SWF_R_MAX || plen > SWF_REC_MAX_PAYLOAD)
		return -EINVAL;
	total = (SWF_REC_HDR + plen + 7) & ~(size_t)7;
	if (total > room)
		return -ENOSPC;
	memset(buf, 0, total);
	put16(buf + 4, r->type);
	put16(buf + 6, r->flags);
	put32(buf + 8, (uint32_t)plen);
	put32(buf + 12, r->generation);
	put64(buf + 16, r->seq);
	switch (r->type) {
	case SWF_R_INODE: {
		const struct swf_inode_rec *i = &r->u.inode;

		put64(p, i->ino); put32(p + 8, i->mode); put32(p + 12, i->uid);
		put32(p + 16, i->gid); put32(p + 20, i->nlink); put64(p + 24, i->size);
		put64(p + 32, i->rdev); put64(p + 40, (uint64_t)i->atime_ns);
		put64(p + 48, (uint64_t)i->mtime_ns); put64(p + 56, (uint64_t)i->ctime_ns);
		put32(p + 64, i->flags);
		break;
	}
	case SWF_R_INODE_FREE:
		put64(p, r->u.free.ino);
		break;
	case SWF_R_DIRENT_ADD: case SWF_R_DIRENT_DEL:
		put64(p, r->u.dirent.parent); put64(p + 8, r->u.dirent.ino);
		put16(p + 16, r->u.dirent.name_len);
		memcpy(p + 18, r->u.dirent.name, r->u.dirent.name_len);
		break;
	case SWF_R_EXTENT: case SWF_R_UNMAP: {
		const struct swf_extent_rec *e = &r->u.extent;

		put64(p, e->ino); put64(p + 8, e->file_offset); put64(p + 16, e->vol_offset);
		put64(p + 24, e->len); put32(p + 32, e->flags);
		break;
	}
	case SWF_R_XATTR_SET: case SWF_R_XATTR_DEL:
		put64(p, r->u.xattr.ino); put16(p + 8, r->u.xattr.name_len);
		put32(p + 10, r->u.xattr.value_len);
		memcpy(p + 14, r->u.xattr.name, r->u.xattr.name_len);
		if (r->u.xattr.value_len)
			memcpy(p + 14 + r->u.xattr.name_len, r->u.xattr.value, r->u.xattr.value_len);
		break;
	case SWF_R_SYMLINK:
		put64(p, r->u.symlink.ino); put32(p + 8, r->u.symlink.len);
		memcpy(p + 12, r->u.symlink.target, r->u.symlink.len);
		break;
	}
	put32(buf, crc32c(0, buf + 4, SWF_REC_HDR - 4 + plen));
	return (int)total;
}

int swf_rec_decode(struct swf_rec *r, const uint8_t *buf, size_t avail)
{
	const uint8_t *p = buf + SWF_REC_HDR;
	uint32_t plen;
	size_t need;

	memset(r, 0, sizeof(*r));
	if (avail < SWF_REC_HDR)
		return 0;
	r->type = get16(buf + 4);
	r->flags = get16(buf + 6);
	plen = get32(buf + 8);
	if (!r->type && !plen && !get32(buf))
		return 0;
	if (plen > SWF_REC_MAX_PAYLOAD || SWF_REC_HDR + plen > avail)
		return -EBADMSG;
	if (get32(buf) != crc32c(0, buf + 4, SWF_REC_HDR - 4 + plen))
		return -EBADMSG;
	r->generation = get32(buf + 12);
	r->seq = get64(buf + 16);
	need = 0;
	switch (r->type) {
	case SWF_R_PAD:
		break;
	case SWF_R_INODE: {
		struct swf_inode_rec *i = &r->u.inode;

		need = 80;
		if (plen < need)
			return -EBADMSG;
		i->ino = get64(p); i->mode = get32(p + 8); i->uid = get32(p + 12);
		i->gid = get32(p + 16); i->nlink = get32(p + 20); i->size = get64(p + 24);
		i->rdev = get64(p + 32); i->atime_ns = (int64_t)get64(p + 40);
		i->mtime_ns = (int64_t)get64(p + 48); i->ctime_ns = (int64_t)get64(p + 56);
		i->flags = get32(p + 64);
		break;
	}
	case SWF_R_INODE_FREE:
		need = 8;
		if (plen < need)
			return -EBADMSG;
		r->u.free.ino = get64(p);
		break;
	case SWF_R_DIRENT_ADD: case SWF_R_DIRENT_DEL:
		if (plen < 18)
			return -EBADMSG;
		r->u.dirent.parent = get64(p); r->u.dirent.ino = get64(p + 8);
		r->u.dirent.name_len = get16(p + 16);
		r->u.dirent.name = (const char *)p + 18;
		need = 18 + (size_t)r->u.dirent.name_len;
		break;
	case SWF_R_EXTENT: case SWF_R_UNMAP: {
		struct swf_extent_rec *e = &r->u.extent;

		need = 36;
		if (plen < need)
			return -EBADMSG;
		e->ino = get64(p); e->file_offset = get64(p + 8); e->vol_offset = get64(p + 16);
		e->len = get64(p + 24); e->flags = get32(p + 32);
		break;
	}
	case SWF_R_XATTR_SET: case SWF_R_XATTR_DEL:
		if (plen < 14)
			return -EBADMSG;
		r->u.xattr.ino = get64(p); r->u.xattr.name_len = get16(p + 8);
		r->u.xattr.value_len = get32(p + 10);
		r->u.xattr.name = (const char *)p + 14;
		r->u.xattr.value = p + 14 + r->u.xattr.name_len;
		need = 14 + (size_t)r->u.xattr.name_len + r->u.xattr.value_len;
		break;
	case SWF_R_SYMLINK:
		if (plen < 12)
			return -EBADMSG;
		r->u.symlink.ino = get64(p); r->u.symlink.len = get32(p + 8);
		r->u.symlink.target = (const char *)p + 12;
		need = 12 + (size_t)r->u.symlink.len;
		break;
	default:
		return -EBADMSG;
	}
	if (need > plen)
		return -EBADMSG;
	need = (SWF_REC_HDR + plen + 7) & ~(size_t)7;
	return (int)(need > avail ? avail : need);
}

/* ---- checkpoint header ------------------------------------------------- */

#define CKPT_MAGIC "SWCKPT01"

void swf_ckpt_encode(const struct swf_ckpt *c, uint8_t buf[SWF_CKPT_HDR])
{
	memset(buf, 0, SWF_CKPT_HDR);
	memcpy(buf, CKPT_MAGIC, 8);
	put32(buf + 8, c->generation);
	put64(buf + 16, c->seq);
	put64(buf + 24, c->next_ino);
	put64(buf + 32, c->body_len);
	put32(buf + 40, c->body_crc);
	put64(buf + 48, c->mount_seq);
	put32(buf + 60, crc32c(0, buf, 60));
}

int swf_ckpt_decode(struct swf_ckpt *c, const uint8_t buf[SWF_CKPT_HDR])
{
	memset(c, 0, sizeof(*c));
	if (memcmp(buf, CKPT_MAGIC, 8))
		return -EINVAL;
	if (get32(buf + 60) != crc32c(0, buf, 60))
		return -EBADMSG;
	c->generation = get32(buf + 8);
	c->seq = get64(buf + 16);
	c->next_ino = get64(buf + 24);
	c->body_len = get64(buf + 32);
	c->body_crc = get32(buf + 40);
	c->mount_seq = get64(buf + 48);
	return 0;
}

/*
 * fsck_corrupt.c - build a small table on formatted members and damage it
 * in one named way, for the swapfsck tests (tests/f_NAME/).
 *   fsck_corrupt MEMBERS populate
 *   fsck_corrupt MEMBERS NAME
 * Table damage is made with records applied to the in-memory table and a
 * checkpoint, byte damage with direct writes to the members.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/lib/fslib.h"

static struct sw_meta m;
static struct swe_volume *vol;
static struct swf_super sb;
/* where the next record written to the log goes: the daemon's next commit */
static uint32_t log_gen;
static uint64_t log_seq, log_head;

static void must(int err, const char *what)
{
	if (err) {
		fprintf(stderr, "fsck_corrupt: %s: %s\n", what, strerror(-err));
		exit(1);
	}
}

static void rec(struct swf_rec r)
{
	must(sw_meta_apply(&m, &r), "apply");
}

static void inode(uint64_t ino, uint32_t mode, uint32_t nlink, uint64_t size)
{
	rec((struct swf_rec){ .type = SWF_R_INODE, .u.inode = { ino, mode, 0, 0, nlink, size,
		0, 1764000000000000000LL, 1764000000000000000LL, 1764000000000000000LL, 0 } });
}

static void dirent(uint64_t parent, const char *name, uint64_t ino)
{
	rec((struct swf_rec){ .type = SWF_R_DIRENT_ADD,
			      .u.dirent = { parent, ino, name, (uint16_t)strlen(name) } });
}

static void extent(uint64_t ino, uint64_t foff, uint64_t voff, uint64_t len)
{
	rec((struct swf_rec){ .type = SWF_R_EXTENT, .u.extent = { ino, foff, voff, len, 0 } });
}

static void damage_bytes(unsigned dev, uint64_t off, int byte, size_t len)
{
	char *buf = aligned_alloc(4096, 4096);
	uint64_t base = off / 4096 * 4096;

	must(swe_member_pread(vol, dev, buf, 4096, base), "read");
	memset(buf + (off - base), byte, len);
	must(swe_member_pwrite(vol, dev, buf, 4096, base), "write");
	free(buf);
}

/* A record written into the log of both mirrors as the next one after the prefix. */
static void log_record(struct swf_rec r, unsigned mirrors)
{
	uint8_t *buf = aligned_alloc(4096, 4096);
	struct swf_rec pad = { .type = SWF_R_PAD };
	int n;

	memset(buf, 0, 4096);
	r.generation = log_gen;
	r.seq = log_seq + 1;
	n = swf_rec_encode(&r, buf, 4096);
	pad.generation = log_gen;
	pad.seq = log_seq + 2;
	if (n < 0 || swf_rec_encode(&pad, buf + n, 4096 - (size_t)n) < 0)
		must(-EINVAL, "encode");
	for (unsigned d = 0; d < mirrors; d++)
		must(swe_member_pwrite(vol, d, buf, 4096, sb.log_offset + log_head), "log write");
	free(buf);
}

/*
 * One committed transaction in the next log block of the given mirrors, as
 * the daemon writes it: an INODE record for a new regular file and the
 * DIRENT_ADD that names it in the root, then a PAD to the end of the block.
 */
static void log_commit(uint64_t ino, const char *name, unsigned mirrors)
{
	uint8_t *buf = aligned_alloc(4096, 4096);
	struct swf_rec r[3] = {
		{ .type = SWF_R_INODE, .flags = SWF_RF_CONT, .u.inode = { ino, S_IFREG | 0644, 0, 0,
			1, 0, 0, 1764000000000000000LL, 1764000000000000000LL,
			1764000000000000000LL, 0 } },
		{ .type = SWF_R_DIRENT_ADD, .u.dirent = { 1, ino, name, (uint16_t)strlen(name) } },
		{ .type = SWF_R_PAD },
	};
	size_t len = 0;

	memset(buf, 0, 4096);
	for (int i = 0; i < 3; i++) {
		int n;

		r[i].generation = log_gen;
		r[i].seq = ++log_seq;
		n = swf_rec_encode(&r[i], buf + len, i < 2 ? 4096 - len - 64 : 4096 - len);
		if (n < 0)
			must(-EINVAL, "encode");
		len += (size_t)n;
	}
	for (unsigned d = 0; d < mirrors; d++)
		must(swe_member_pwrite(vol, d, buf, 4096, sb.log_offset + log_head), "log write");
	log_head += 4096;
	free(buf);
}

/* Random-looking bytes (a fixed xorshift) over len bytes at off of every mirror. */
static void scribble(uint64_t off, size_t len)
{
	char *buf = aligned_alloc(4096, 4096);
	uint64_t base = off / 4096 * 4096, x = 0x9e3779b97f4a7c15ull;

	for (unsigned d = 0; d < m.nmirror; d++) {
		must(swe_member_pread(vol, d, buf, 4096, base), "read");
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[off - base + i] = (char)x;
		}
		must(swe_member_pwrite(vol, d, buf, 4096, base), "write");
	}
	free(buf);
}

int main(int argc, char **argv)
{
	char **members, msg[512];
	int n;
	const char *what = argc == 3 ? argv[2] : "";
	uint64_t au;
	bool table = true;

	if (argc != 3 || (n = split_members(argv[1], &members, 16)) < 2) {
		fprintf(stderr, "usage: fsck_corrupt A:B[:...] populate|CASE\n");
		return 2;
	}
	must(sw_fsvol_open((const char *const *)members, (unsigned)n, false, &vol, &sb, msg,
			   sizeof(msg)), msg);
	must(sw_meta_open(&m, vol, &sb, SW_LOAD_NO_CHECKPOINT | SW_LOAD_REPAIR, NULL, NULL), "load");
	log_gen = m.gen;
	log_seq = m.seq;
	log_head = m.head;
	au = sb.alloc_unit;
	if (!strcmp(what, "populate")) {	/* /d (ino 2), /d/a (3), /b (4), /l -> b (5) */
		inode(2, S_IFDIR | 0755, 2, 0);
		dirent(1, "d", 2);
		inode(3, S_IFREG | 0644, 1, au);
		extent(3, 0, 0, au);
		dirent(2, "a", 3);
		inode(4, S_IFREG | 0644, 1, 2 * au);
		extent(4, 0, 4 * au, 2 * au);
		dirent(1, "b", 4);
		inode(5, S_IFLNK | 0777, 1, 0);
		rec((struct swf_rec){ .type = SWF_R_SYMLINK, .u.symlink = { 5, "b", 1 } });
		dirent(1, "l", 5);
		sw_inode_get(&m, 1)->a.nlink = 3;
	} else if (!strcmp(what, "dir_extra_link")) {
		dirent(1, "again", 2);
	} else if (!strcmp(what, "unreachable")) {
		inode(10, S_IFREG | 0600, 1, 100);
	} else if (!strcmp(what, "orphan")) {
		inode(11, S_IFREG | 0600, 0, au);
		extent(11, 0, 20 * au, au);
	} else if (!strcmp(what, "orphan_dir")) {	/* removed, the kernel held it at a crash */
		inode(16, S_IFDIR | 0755, 0, 0);
	} else if (!strcmp(what, "nlink")) {
		sw_inode_get(&m, 4)->a.nlink = 5;
	} else if (!strcmp(what, "bad_mode")) {
		inode(12, 0170644, 1, 0);
		dirent(1, "weird", 12);
	} else if (!strcmp(what, "symlink_target")) {
		inode(13, S_IFLNK | 0777, 1, 0);
		dirent(1, "broken", 13);
	} else if (!strcmp(what, "extent_overlap")) {
		inode(14, S_IFREG | 0644, 1, au);
		extent(14, 0, 4 * au, au);	/* the first unit of /b */
		dirent(1, "thief", 14);
	} else {
		table = false;
		if (!strcmp(what, "sb_primary")) {
			damage_bytes(1, SWF_SB_OFFSET + 100, 0xff, 64);
		} else if (!strcmp(what, "sb_zeroed")) {	/* a stray wipefs: no magic left */
			damage_bytes(0, SWF_SB_OFFSET, 0x00, SWF_SB_SIZE);
		} else if (!strcmp(what, "sb_replica")) {
			damage_bytes(0, SWF_SB_REPLICA_OFFSET + 200, 0xff, 8);
		} else if (!strcmp(what, "ckpt_mirror")) {
			damage_bytes(1, sb.meta_offset + (m.gen % 2) * sb.ckpt_size, 0x00, 64);
		} else if (!strcmp(what, "log_torn")) {
			damage_bytes(0, sb.log_offset + log_head, 0x5a, 512);
		} else if (!strcmp(what, "log_mirror")) {
			log_record((struct swf_rec){ .type = SWF_R_INODE, .u.inode = { m.next_ino,
				S_IFREG | 0644, 0, 0, 0, 0, 0, 0, 0, 0, 0 } }, 1);
		} else if (!strcmp(what, "dangling")) {
			/* a freed inode whose entry stays: only a replayed log can say that */
			log_record((struct swf_rec){ .type = SWF_R_INODE_FREE, .u.free.ino = 3 }, 2);
		} else if (!strcmp(what, "bad_record")) {
			log_record((struct swf_rec){ .type = SWF_R_DIRENT_DEL,
				.u.dirent = { 1, 99, "nothing", 7 } }, 2);
		} else if (!strcmp(what, "ckpt_lost")) {
			/* the log holds a commit of the checkpoint in use (generation 2);
			 * then 4 bytes of that checkpoint's body go bad on both mirrors */
			uint64_t slot = sb.meta_offset + (m.gen % 2) * sb.ckpt_size;

			log_commit(20, "after", 2);
			scribble(slot + 4096 + 100, 4);
		} else if (!strcmp(what, "ckpt_unreadable")) {
			/* the header of the checkpoint in use, on both mirrors; empty log */
			scribble(sb.meta_offset + (m.gen % 2) * sb.ckpt_size, 64);
		} else if (!strcmp(what, "ckpt_torn")) {
			/* the other slot torn on both mirrors while the log continues the
			 * checkpoint in use: an interrupted checkpoint (nothing lost) */
			log_commit(20, "after", 2);
			scribble(sb.meta_offset + ((m.gen + 1) % 2) * sb.ckpt_size + 4096, 512);
		} else if (!strcmp(what, "ckpt_partial")) {
			/* a checkpoint that reached mirror 0 only (mirror 1's write failed),
			 * after which commits went on in the old generation; the table
			 * written is the one before "before", at its sequence number */
			struct swe_fault f = { .dev = 1, .ops = SWE_WRITE, .nth = 1, .error = EIO };

			log_commit(20, "before", 2);
			must(swe_fault_add(vol, &f, NULL) < 0 ? -ENOSPC : 0, "fault");
			if (sw_meta_checkpoint_above(&m, log_gen, log_seq) != -EIO)
				must(-EINVAL, "checkpoint on mirror 0 only");
			swe_fault_clear(vol);
			log_commit(21, "after", 2);
		} else if (!strcmp(what, "log_corrupt")) {
			/* three commits; the second one's block is garbage on both mirrors */
			log_commit(20, "c1", 2);
			log_commit(21, "c2", 2);
			log_commit(22, "c3", 2);
			scribble(sb.log_offset + 4096, 4096);
		} else if (!strcmp(what, "log_tail")) {
			/* three commits; the last one is torn on both mirrors */
			log_commit(20, "c1", 2);
			log_commit(21, "c2", 2);
			log_commit(22, "c3", 2);
			scribble(sb.log_offset + 2 * 4096 + 8, 64);
		} else {
			fprintf(stderr, "fsck_corrupt: unknown case %s\n", what);
			return 2;
		}
	}
	if (table)
		must(sw_meta_checkpoint(&m), "checkpoint");
	sw_meta_close(&m);
	swe_volume_close(vol);
	free_members(members);
	return 0;
}

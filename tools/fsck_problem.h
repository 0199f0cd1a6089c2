/*
 * fsck_problem.h - the problems swapfsck reports, as e2fsck/problem.h: a
 * code each, and the context their messages are filled from.  The table
 * (message, fix, flags of each code) and the expansion codes of its
 * templates are in fsck_problem.c.  Codes group by pass (0x01xx
 * superblocks, 0x02xx metadata area, 0x03xx inodes and directories,
 * 0x04xx extents).
 */
#ifndef SWAPFS_FSCK_PROBLEM_H
#define SWAPFS_FSCK_PROBLEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fsck_problem {
	PR_SB_PRIMARY = 0x0101,		/* primary superblock damaged, replica good */
	PR_SB_REPLICA = 0x0102,		/* replica damaged or different */
	PR_SB_STALE = 0x0103,		/* a member missed mounts: an older copy of it */
	PR_CKPT_MIRROR = 0x0201,	/* a mirror lacks the checkpoint in use */
	PR_LOG_MIRROR = 0x0202,		/* mirrors' logs hold different prefixes */
	PR_LOG_TORN = 0x0203,		/* damaged record after the valid log */
	PR_BAD_RECORD = 0x0204,		/* a record that contradicts the table */
	PR_CKPT_LOST = 0x0205,		/* a slot unreadable on every mirror; the log does not continue the other */
	PR_CKPT_TORN = 0x0206,		/* the same, the log continues the other: interrupted checkpoint */
	PR_LOG_NEWER = 0x0207,		/* log records written after the checkpoint in use */
	PR_LOG_CORRUPT = 0x0208,	/* valid records after a damaged one: damage, not a torn tail */
	PR_DIRENT_DANGLING = 0x0301,	/* entry names a missing inode */
	PR_DIR_EXTRA_LINK = 0x0302,	/* a directory named by a second entry (cycle or hard link) */
	PR_UNREACHABLE = 0x0303,	/* inode with links but no entry */
	PR_ORPHAN = 0x0304,		/* inode without links (open-unlinked or a referenced removed directory at a crash) */
	PR_NLINK = 0x0305,		/* link count differs from the entries */
	PR_BAD_MODE = 0x0306,		/* unknown file type */
	PR_SYMLINK_TARGET = 0x0307,	/* symlink without a target */
	PR_EXTENT_OVERLAP = 0x0401,	/* volume space owned by two extents */
};

/*
 * One problem found: what its message and fix name (each field has its
 * expansion code, fsck_problem.c), zero where unused.
 */
struct problem_context {
	uint64_t ino, ino2;	/* the inode concerned, a second one */
	uint64_t dir;		/* the directory holding the entry */
	uint64_t blk;		/* a byte offset: in a file, in the log */
	uint64_t num, num2;	/* counts, sizes in bytes, link counts, a mode */
	int64_t len, len2;	/* byte lengths that may be -1 (unreadable) */
	uint64_t gen;		/* a checkpoint generation */
	uint64_t seq, seq2;	/* sequence numbers: of log records, of mounts */
	unsigned member;	/* a member or metadata mirror */
	const char *name;	/* a directory entry's name */
	const char *str;	/* a path, a checkpoint slot, a record type */
	bool leftover;		/* what a crash leaves: -n reports it as recovery to do */
};

/* The default answer and severity of a problem. */
#define PR_PREEN_OK	0x1u	/* a crash leaves it: -p fixes it */
#define PR_NO_FIX	0x2u	/* no repair exists: answered no, never asked (-y and -p too) */
#define PR_LOSS		0x4u	/* metadata loss: left unrepaired, nothing after pass 0 is written */
#define PR_CHECKPOINT	0x8u	/* the fix is a new checkpoint on both mirrors */

struct fsck_problem_desc {
	enum fsck_problem code;
	const char *message;	/* template, filled from the context */
	const char *fix;	/* what answering yes does: template too */
	unsigned flags;		/* PR_* above */
};

/* The row of code; NULL for a code not in the table. */
const struct fsck_problem_desc *fsck_problem_find(enum fsck_problem code);
/* Fill template tmpl from pctx into buf (always terminated, cut to size). */
void fsck_problem_expand(char *buf, size_t size, const char *tmpl,
			   const struct problem_context *pctx);

#endif

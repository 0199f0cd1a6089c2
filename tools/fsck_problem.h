/*
 * fsck_problem.h - every problem swapfsck can report: one row each, as
 * e2fsck/problem.c does.  Codes group by pass (0x01xx superblocks,
 * 0x02xx metadata area, 0x03xx inodes and directories, 0x04xx extents).
 */
#ifndef SWAPFS_FSCK_PROBLEM_H
#define SWAPFS_FSCK_PROBLEM_H

#include <stdbool.h>

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

struct fsck_problem_desc {
	enum fsck_problem code;
	const char *message;	/* printf format, filled from the context */
	const char *fix;	/* what answering yes does */
	bool expected_after_crash;	/* -p fixes it silently */
};

static const struct fsck_problem_desc fsck_problems[] = {
	{ PR_SB_PRIMARY, "member %s: primary superblock is damaged (replica is good)",
	  "rewrite it from the replica", true },
	{ PR_SB_REPLICA, "member %s: superblock replica is damaged or differs",
	  "rewrite it from the primary", true },
	{ PR_SB_STALE, "member %s (%s) is older than the others (mount %llu vs %llu): a stale copy of it",
	  "none (no repair makes its old data new): put its current copy back", false },
	{ PR_CKPT_MIRROR, "metadata mirror %s: checkpoint generation %llu is missing or damaged",
	  "write a new checkpoint to both mirrors", true },
	{ PR_LOG_MIRROR, "metadata mirrors hold different logs (%s)",
	  "write a new checkpoint to both mirrors", true },
	{ PR_LOG_TORN, "metadata mirror %s: damaged record after the valid log (torn write)",
	  "write a new checkpoint, dropping the damaged tail", true },
	{ PR_BAD_RECORD, "%llu metadata record(s) contradict the table (first: type %s)",
	  "drop them", false },
	{ PR_CKPT_LOST, "checkpoint slot %s is unreadable on every mirror and may have held a newer table than generation %llu (in use)",
	  "keep generation %llu; what only the damaged checkpoint held is lost", false },
	{ PR_CKPT_TORN, "checkpoint slot %s is unreadable on every mirror; the log continues generation %llu (an interrupted checkpoint)",
	  "write a new checkpoint", true },
	{ PR_LOG_NEWER, "metadata log holds %llu record(s) newer than the checkpoint in use (generation %llu, sequence %llu)",
	  "drop them; the changes they record are lost", false },
	{ PR_LOG_CORRUPT, "metadata log is damaged at byte %llu and %llu valid record(s) follow (sequence %llu..%llu): damage, not a torn write",
	  "drop the damaged record and everything after it; the changes they record are lost", false },
	{ PR_DIRENT_DANGLING, "directory inode %llu: entry '%s' names missing inode %llu",
	  "remove the entry", false },
	{ PR_DIR_EXTRA_LINK, "directory inode %llu: entry '%s' is a second name of directory %llu",
	  "remove the entry", false },
	{ PR_UNREACHABLE, "inode %llu has %llu link(s) but no directory entry",
	  "move it to /lost+found", false },
	{ PR_ORPHAN, "inode %llu has no links (open and unlinked when the daemon stopped)",
	  "free it and its %llu bytes", true },
	{ PR_NLINK, "inode %llu: link count %llu, entries say %llu",
	  "set the link count", false },
	{ PR_BAD_MODE, "inode %llu: unknown file type (mode %llo)",
	  "make it a regular file", false },
	{ PR_SYMLINK_TARGET, "inode %llu: symbolic link without a target",
	  "free it and remove its entries", false },
	{ PR_EXTENT_OVERLAP, "inode %llu: %llu bytes at file offset %llu also belong to inode %llu",
	  "unmap them from inode %llu (they read as zeros)", false },
};

#endif

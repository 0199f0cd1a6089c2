/*
 * fsck_problem.c - every problem swapfsck can report, one row each, as
 * e2fsck/problem.c: its code, its message, the repair answering yes
 * performs, and its flags (the default answer and severity, fsck_problem.h).
 *
 * Messages and fixes are templates filled from the problem's context
 * (struct problem_context), not printf formats.  Expansion codes:
 *
 *	%i  pctx->ino	inode number		%j  pctx->ino2	a second inode
 *	%d  pctx->dir	directory inode		%b  pctx->blk	byte offset
 *	%N  pctx->num	count, size, mode	%M  pctx->num2	a second count
 *	%o  pctx->num	in octal (a mode)
 *	%l  pctx->len	signed byte length	%L  pctx->len2	a second one
 *	%g  pctx->gen	checkpoint generation
 *	%q  pctx->seq	sequence number		%Q  pctx->seq2	a second one
 *	%m  pctx->member member or mirror index
 *	%n  pctx->name	an entry's name		%s  pctx->str	a path, slot, type
 *	%%  a percent sign
 *
 * Numbers are decimal unless said; a NULL string reads "?"; any other
 * character after % is copied as written.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tools/fsck_problem.h"

static const struct fsck_problem_desc problems[] = {
	/* pass 0: superblocks */
	{ PR_SB_PRIMARY, "member %m: primary superblock is damaged (replica is good)",
	  "rewrite it from the replica", PR_PREEN_OK },
	{ PR_SB_REPLICA, "member %m: superblock replica is damaged or differs",
	  "rewrite it from the primary", PR_PREEN_OK },
	{ PR_SB_STALE, "member %m (%s) is older than the others (mount %q vs %Q): a stale copy of it",
	  "none (no repair makes its old data new): put its current copy back",
	  PR_NO_FIX | PR_LOSS },
	/* pass 1: metadata area */
	{ PR_CKPT_MIRROR, "metadata mirror %m: checkpoint generation %g is missing or damaged",
	  "write a new checkpoint to both mirrors", PR_PREEN_OK | PR_CHECKPOINT },
	{ PR_LOG_MIRROR, "metadata mirrors hold different logs (valid prefixes of %l and %L bytes)",
	  "write a new checkpoint to both mirrors", PR_PREEN_OK | PR_CHECKPOINT },
	{ PR_LOG_TORN, "metadata mirror %m: damaged record after the valid log (torn write)",
	  "write a new checkpoint, dropping the damaged tail", PR_PREEN_OK | PR_CHECKPOINT },
	{ PR_BAD_RECORD, "%N metadata record(s) contradict the table (first: type %s)",
	  "drop them", PR_CHECKPOINT },
	{ PR_CKPT_LOST, "checkpoint slot %s is unreadable on every mirror and may have held a newer table than generation %g (in use)",
	  "keep generation %g; what only the damaged checkpoint held is lost",
	  PR_LOSS | PR_CHECKPOINT },
	{ PR_CKPT_TORN, "checkpoint slot %s is unreadable on every mirror; the log continues generation %g (an interrupted checkpoint)",
	  "write a new checkpoint", PR_PREEN_OK | PR_CHECKPOINT },
	{ PR_LOG_NEWER, "metadata log holds %N record(s) newer than the checkpoint in use (generation %g, sequence %q)",
	  "drop them; the changes they record are lost", PR_LOSS | PR_CHECKPOINT },
	{ PR_LOG_CORRUPT, "metadata log is damaged at byte %b and %N valid record(s) follow (sequence %q..%Q): damage, not a torn write",
	  "drop the damaged record and everything after it; the changes they record are lost",
	  PR_LOSS | PR_CHECKPOINT },
	/* pass 2: inodes and directories */
	{ PR_DIRENT_DANGLING, "directory inode %d: entry '%n' names missing inode %i",
	  "remove the entry", 0 },
	{ PR_DIR_EXTRA_LINK, "directory inode %d: entry '%n' is a second name of directory %i",
	  "remove the entry", 0 },
	{ PR_UNREACHABLE, "inode %i has %N link(s) but no directory entry",
	  "move it to /lost+found", 0 },
	{ PR_ORPHAN, "inode %i has no links (open and unlinked when the daemon stopped)",
	  "free it and its %N bytes", PR_PREEN_OK },
	{ PR_NLINK, "inode %i: link count %N, entries say %M",
	  "set the link count", 0 },
	{ PR_BAD_MODE, "inode %i: unknown file type (mode %o)",
	  "make it a regular file", 0 },
	{ PR_SYMLINK_TARGET, "inode %i: symbolic link without a target",
	  "free it and remove its entries", 0 },
	/* pass 3: extents */
	{ PR_EXTENT_OVERLAP, "inode %i: %N bytes at file offset %b also belong to inode %j",
	  "unmap them from inode %i (they read as zeros)", 0 },
};

const struct fsck_problem_desc *fsck_problem_find(enum fsck_problem code)
{
	for (size_t i = 0; i < sizeof(problems) / sizeof(problems[0]); i++)
		if (problems[i].code == code)
			return &problems[i];
	return NULL;
}

static const char *dec(char *buf, size_t size, uint64_t v)
{
	snprintf(buf, size, "%" PRIu64, v);
	return buf;
}

static const char *sdec(char *buf, size_t size, int64_t v)
{
	snprintf(buf, size, "%" PRId64, v);
	return buf;
}

/* The text of expansion code c (numbers written to buf); NULL where c is none. */
static const char *expansion(char c, const struct problem_context *p, char *buf, size_t size)
{
	switch (c) {
	case 'i': return dec(buf, size, p->ino);
	case 'j': return dec(buf, size, p->ino2);
	case 'd': return dec(buf, size, p->dir);
	case 'b': return dec(buf, size, p->blk);
	case 'N': return dec(buf, size, p->num);
	case 'M': return dec(buf, size, p->num2);
	case 'o':
		snprintf(buf, size, "%" PRIo64, p->num);
		return buf;
	case 'l': return sdec(buf, size, p->len);
	case 'L': return sdec(buf, size, p->len2);
	case 'g': return dec(buf, size, p->gen);
	case 'q': return dec(buf, size, p->seq);
	case 'Q': return dec(buf, size, p->seq2);
	case 'm': return dec(buf, size, p->member);
	case 'n': return p->name ? p->name : "?";
	case 's': return p->str ? p->str : "?";
	case '%': return "%";
	}
	return NULL;
}

void fsck_problem_expand(char *buf, size_t size, const char *tmpl,
			 const struct problem_context *pctx)
{
	size_t at = 0;

	if (!size)
		return;
	for (const char *t = tmpl; *t && at + 1 < size; t++) {
		char num[24];
		const char *piece = *t == '%' && t[1] ? expansion(t[1], pctx, num, sizeof(num)) : NULL;
		size_t n;

		if (!piece) {
			buf[at++] = *t;
			continue;
		}
		t++;
		n = strlen(piece);
		if (n > size - 1 - at)
			n = size - 1 - at;
		memcpy(buf + at, piece, n);
		at += n;
	}
	buf[at] = 0;
}

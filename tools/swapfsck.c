/*
 * swapfsck - check and repair a swapfs, e2fsck-style.
 *
 *   pass 0  superblocks: primary against replica on every member, member set
 *   pass 1  metadata area: checkpoints and logs of both mirrors, records
 *   pass 2  inodes and directories: entries, reachability, link counts, types
 *   pass 3  extents: no volume space owned twice; free space summary
 *
 * Problems come from one table (fsck_problem.c).  Repairs are applied to
 * the in-memory table as records and written as one new checkpoint at the
 * end, the same way the daemon persists its table.  Exit codes are
 * e2fsck's, OR-ed: 0 clean, 1 corrected, 4 left uncorrected, 8 operational
 * error, 16 usage, 32 cancelled.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/fsck_problem.h"
#include "fs/lib/fslib.h"
#include "tools/util.h"

enum { EXIT_OK = 0, EXIT_FIXED = 1, EXIT_LEFT = 4, EXIT_OPERR = 8, EXIT_USAGE = 16,
       EXIT_CANCEL = 32 };
enum mode { MODE_ASK, MODE_NO, MODE_YES, MODE_PREEN };

struct fsck {
	char **members;
	unsigned n;
	enum mode mode;
	bool verbose, progress, json, always_yes;
	struct swe_volume *vol;
	struct swf_super sb;
	struct sw_meta m;
	bool loaded, table_changed, need_checkpoint;
	bool keep_log;		/* metadata loss left unrepaired: write nothing */
	uint32_t max_gen;	/* highest generation on the metadata area */
	uint64_t max_seq;	/* highest sequence number in the logs */
	unsigned found, fixed, left, fixed_pass0, pending;
	json_object *jproblems;
};

/* Pass 2's scratch in every inode (the table's sw_inode.priv, zeroed when it is created). */
struct fsck_inode {
	uint64_t names;		/* entries naming it */
	bool reached;		/* a directory reached from the root */
};

static const struct sw_inode_ops fsck_inode_ops = { .priv_size = sizeof(struct fsck_inode) };

static inline struct fsck_inode *fsck_in(const struct sw_inode *i)
{
	return (struct fsck_inode *)(uintptr_t)i->priv;
}

static void cancel(struct fsck *f)
{
	printf("swapfsck: cancelled; nothing more written\n");
	exit(EXIT_CANCEL | (f->fixed ? EXIT_FIXED : 0) | EXIT_LEFT);
}

/*
 * Report a problem (its message and fix filled from pctx) and decide
 * whether to fix it, as e2fsck's fix_problem: by the mode and the
 * problem's flags.  A problem with no repair is answered no in any mode.
 */
static bool problem(struct fsck *f, enum fsck_problem code, const struct problem_context *pctx)
{
	const struct fsck_problem_desc *d = fsck_problem_find(code);
	enum mode mode = d->flags & PR_NO_FIX ? MODE_NO : f->mode;
	char msg[1024], fix[256];
	bool yes = false, pending;

	fsck_problem_expand(msg, sizeof(msg), d->message, pctx);
	fsck_problem_expand(fix, sizeof(fix), d->fix, pctx);
	f->found++;
	switch (mode) {
	case MODE_YES: yes = true; break;
	case MODE_NO: yes = false; break;
	case MODE_PREEN: yes = d->flags & PR_PREEN_OK; break;
	case MODE_ASK:
		if (f->always_yes) {
			yes = true;
			break;
		}
		if (!isatty(STDIN_FILENO)) {
			yes = false;
			break;
		}
		for (;;) {
			char line[16];

			printf("0x%04x %s\n  %s? [y/n/a(ll)/q(uit)] ", code, msg, fix);
			fflush(stdout);
			if (!fgets(line, sizeof(line), stdin) || line[0] == 'q')
				cancel(f);
			if (line[0] == 'y' || line[0] == 'a') {
				f->always_yes = line[0] == 'a';
				yes = true;
				break;
			}
			if (line[0] == 'n')
				break;
		}
		break;
	}
	/*
	 * -n on what a crash leaves (an interrupted commit or checkpoint, an
	 * orphan): the next mount's replay completes it as -p would, so it is
	 * reported as recovery still to do, not as an error (e2fsck -n skips
	 * the recovery of its journal likewise).
	 */
	pending = mode == MODE_NO && pctx->leftover;
	if ((mode != MODE_ASK || !isatty(STDIN_FILENO)) && !f->json) {
		if (pending)
			printf("0x%04x %s\n  %s at the next mount (recovery after a crash)\n",
			       code, msg, fix);
		else
			printf("0x%04x %s\n  %s? %s\n", code, msg, fix, yes ? "yes" : "no");
	}
	if (yes)
		f->fixed++;
	else if (pending)
		f->pending++;
	else
		f->left++;
	if (f->jproblems) {
		json_object *p = json_object_new_object();

		json_object_object_add(p, "code", json_object_new_int(code));
		json_object_object_add(p, "message", json_object_new_string(msg));
		json_object_object_add(p, "fix", json_object_new_string(fix));
		json_object_object_add(p, "fixed", json_object_new_boolean(yes));
		if (pending)
			json_object_object_add(p, "recovery", json_object_new_boolean(true));
		json_object_array_add(f->jproblems, p);
	}
	if (mode == MODE_PREEN && !yes && !f->json)
		printf("  UNEXPECTED INCONSISTENCY: run swapfsck without -p\n");
	if (yes && (d->flags & PR_CHECKPOINT))
		f->need_checkpoint = true;
	if (!yes && (d->flags & PR_LOSS))
		f->keep_log = true;
	return yes;
}

static const char *cur_pass;

static void pass(struct fsck *f, const char *name)
{
	cur_pass = name;
	if (f->progress && !f->json && !isatty(STDERR_FILENO))
		fprintf(stderr, "%s\n", name);
}

/* -C on a terminal: a bar for the current pass, redrawn every percent. */
static void progress(struct fsck *f, uint64_t done, uint64_t total)
{
	static int last = -1;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (!f->progress || f->json || !isatty(STDERR_FILENO) || pct == last)
		return;
	last = pct;
	fprintf(stderr, "\r%-34s [%-40.*s] %3d%%", cur_pass, pct * 40 / 100,
		"########################################", pct);
	if (pct == 100) {
		fputc('\n', stderr);
		last = -1;
	}
}

static void fix_apply(struct fsck *f, struct swf_rec r)
{
	int err = sw_meta_apply(&f->m, &r);

	if (err)
		fprintf(stderr, "swapfsck: repair record type %u failed: %s\n", r.type, strerror(-err));
	f->table_changed = true;
}

/* ---- pass 0: superblocks ----------------------------------------------- */

static int check_superblocks(struct fsck *f)
{
	uint8_t *p, *r;
	int rc = 0;

	if (posix_memalign((void **)&p, 4096, SWF_SB_SIZE) ||
	    posix_memalign((void **)&r, 4096, SWF_SB_SIZE))
		return EXIT_OPERR;
	pass(f, "Pass 0: superblocks");
	for (unsigned i = 0; i < f->n; i++) {
		struct swf_super sp, sr;
		int ep = swe_member_pread(f->vol, i, p, SWF_SB_SIZE, SWF_SB_OFFSET);
		int er = swe_member_pread(f->vol, i, r, SWF_SB_SIZE, SWF_SB_REPLICA_OFFSET);
		struct problem_context pctx = { .member = i };

		if (!ep)
			ep = swf_super_decode(&sp, p);
		if (!er)
			er = swf_super_decode(&sr, r);
		if (ep && !er) {
			if (problem(f, PR_SB_PRIMARY, &pctx) &&
			    swe_member_pwrite(f->vol, i, r, SWF_SB_SIZE, SWF_SB_OFFSET))
				rc = EXIT_OPERR;
		} else if (!ep && (er || memcmp(p, r, SWF_SB_SIZE))) {
			/* a mount's counter update interrupted between the copies (the
			 * replica is written first): the next mount writes both */
			if (!er && sr.mount_seq == sp.mount_seq + 1) {
				sr.mount_seq = sp.mount_seq;
				swf_super_encode(&sr, r);
				pctx.leftover = !memcmp(p, r, SWF_SB_SIZE);
			}
			if (problem(f, PR_SB_REPLICA, &pctx) &&
			    swe_member_pwrite(f->vol, i, p, SWF_SB_SIZE, SWF_SB_REPLICA_OFFSET))
				rc = EXIT_OPERR;
		}
	}
	free(p);
	free(r);
	return rc;
}

/* ---- pass 1: metadata area --------------------------------------------- */

static const char *rec_name(int type)
{
	static const char *names[] = { "?", "PAD", "INODE", "INODE_FREE", "DIRENT_ADD",
				       "DIRENT_DEL", "EXTENT", "UNMAP", "XATTR_SET",
				       "XATTR_DEL", "SYMLINK" };

	return type > 0 && type <= SWF_R_MAX ? names[type] : names[0];
}

/* What the records a repair drops did: said under their problem. */
struct lost {
	unsigned long long inodes, freed, added, removed, extents, xattrs, symlinks;
	char names[200];
};

static void lost_record(void *arg, const struct swf_rec *r)
{
	struct lost *l = arg;

	switch (r->type) {
	case SWF_R_INODE: l->inodes++; break;
	case SWF_R_INODE_FREE: l->freed++; break;
	case SWF_R_EXTENT: case SWF_R_UNMAP: l->extents++; break;
	case SWF_R_XATTR_SET: case SWF_R_XATTR_DEL: l->xattrs++; break;
	case SWF_R_SYMLINK: l->symlinks++; break;
	case SWF_R_DIRENT_ADD: case SWF_R_DIRENT_DEL: {
		size_t at = strlen(l->names);

		if (r->type == SWF_R_DIRENT_ADD)
			l->added++;
		else
			l->removed++;
		if (at + r->u.dirent.name_len + 24 < sizeof(l->names))
			snprintf(l->names + at, sizeof(l->names) - at, "%s%c'%.*s' in %llu",
				 at ? ", " : "", r->type == SWF_R_DIRENT_ADD ? '+' : '-',
				 (int)r->u.dirent.name_len, r->u.dirent.name,
				 (unsigned long long)r->u.dirent.parent);
		else if (at + 6 < sizeof(l->names) && strcmp(l->names + at - 3, "..."))
			strcat(l->names, ", ...");
		break;
	}
	}
}

static void print_lost(const struct fsck *f, const struct lost *l)
{
	const unsigned long long n[] = { l->inodes, l->freed, l->added, l->removed, l->extents,
					 l->xattrs, l->symlinks };
	static const char *what[] = { "inode", "inode free", "name added", "name removed",
				      "extent", "xattr", "symlink" };
	bool first = true;

	if (f->json)
		return;
	printf("  those records:");
	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		if (n[i]) {
			printf("%s %llu %s", first ? "" : ",", n[i], what[i]);
			first = false;
		}
	printf("\n");
	if (l->names[0])
		printf("  their names (+ added, - removed, in directory inode): %s\n", l->names);
}

/*
 * An interrupted commit: the mirrors' logs hold the same bytes up to the
 * shorter valid prefix (the longer one is what replay takes).
 */
static bool logs_agree(struct fsck *f, int64_t len)
{
	uint8_t *a = NULL, *b = NULL;
	bool same = false;

	if (len < 0 || (uint64_t)len > f->sb.log_size || len % SWF_BLOCK)
		return false;
	if (!len)
		return true;
	if (!posix_memalign((void **)&a, SWF_BLOCK, (size_t)len) &&
	    !posix_memalign((void **)&b, SWF_BLOCK, (size_t)len) &&
	    !swe_member_pread(f->vol, 0, a, (size_t)len, f->sb.log_offset) &&
	    !swe_member_pread(f->vol, 1, b, (size_t)len, f->sb.log_offset))
		same = !memcmp(a, b, (size_t)len);
	free(a);
	free(b);
	return same;
}

static int check_metadata(struct fsck *f)
{
	struct sw_load_report rep = {0};
	struct lost lost = {0};
	unsigned nm;
	int err;

	pass(f, "Pass 1: checkpoints and log");
	rep.lost_fn = lost_record;
	rep.lost_arg = &lost;
	err = sw_meta_open(&f->m, f->vol, &f->sb,
			   (f->mode == MODE_NO ? SW_LOAD_READ_ONLY : 0) | SW_LOAD_SALVAGE |
			   SW_LOAD_NO_CHECKPOINT | SW_LOAD_REPAIR, &fsck_inode_ops, &rep);
	if (err) {
		printf("swapfsck: no valid checkpoint on any metadata mirror (%s): cannot check further\n",
		       strerror(-err));
		return EXIT_OPERR | EXIT_LEFT;
	}
	f->loaded = true;
	f->max_gen = rep.max_gen;
	f->max_seq = rep.max_seq;
	nm = f->m.nmirror;
	/*
	 * A stale member (an older copy restored over it): no repair makes its
	 * bytes new, so none is offered, -y and -p included, and nothing is
	 * written (a new checkpoint would hide which metadata is the newer).
	 */
	for (unsigned i = 0; i < f->n && rep.nstale; i++)
		if (rep.stale[i])
			problem(f, PR_SB_STALE, &(struct problem_context){ .member = i,
				.str = f->members[i], .seq = rep.member_seq[i],
				.seq2 = rep.newest_seq });
	if (rep.nstale && f->mode != MODE_NO && !f->json)
		printf("swapfsck: %u stale member(s): not repaired, nothing written after pass 0\n",
		       rep.nstale);
	/*
	 * Damage a crash cannot leave: what it loses is said, and while it is
	 * left unrepaired nothing is written (the log stays as evidence).
	 */
	if (rep.ckpt_lost || rep.ckpt_torn) {
		char slot[2] = { (char)('A' + rep.lost_slot), 0 };

		/* an interrupted checkpoint (torn) is a leftover: the mount completes it */
		problem(f, rep.ckpt_lost ? PR_CKPT_LOST : PR_CKPT_TORN,
			&(struct problem_context){ .str = slot, .gen = rep.generation,
						   .leftover = rep.ckpt_torn });
	}
	if (rep.newer_records)
		problem(f, PR_LOG_NEWER, &(struct problem_context){ .num = rep.newer_records,
			.gen = rep.generation, .seq = rep.ckpt_seq });
	if (rep.orphan_records)
		problem(f, PR_LOG_CORRUPT, &(struct problem_context){ .blk = rep.damage_at,
			.num = rep.orphan_records, .seq = rep.orphan_first_seq,
			.seq2 = rep.orphan_last_seq });
	if (rep.newer_records || rep.orphan_records)
		print_lost(f, &lost);
	if (f->keep_log && f->mode == MODE_PREEN)
		return EXIT_LEFT;	/* e2fsck -p: stop at an unexpected inconsistency */
	for (unsigned d = 0; d < nm; d++) {
		unsigned slot = rep.generation % 2;

		if (!rep.ckpt_err[d][slot] && rep.ckpt_gen[d][slot] == rep.generation)
			continue;
		/* an interrupted checkpoint: this mirror still holds the two before it */
		problem(f, PR_CKPT_MIRROR, &(struct problem_context){ .member = d,
			.gen = rep.generation,
			.leftover = !rep.ckpt_err[d][slot] && rep.ckpt_gen[d][slot] < rep.generation &&
				    !rep.ckpt_err[d][!slot] &&
				    rep.ckpt_gen[d][!slot] + 1 == rep.generation });
	}
	if (nm == 2 && rep.log_head[0] != rep.log_head[1])
		problem(f, PR_LOG_MIRROR, &(struct problem_context){ .len = rep.log_head[0],
			.len2 = rep.log_head[1],
			.leftover = logs_agree(f, rep.log_head[0] < rep.log_head[1] ?
					       rep.log_head[0] : rep.log_head[1]) });
	for (unsigned d = 0; d < nm; d++)
		if (rep.log_torn[d] && !rep.orphan_records && !rep.newer_records)
			problem(f, PR_LOG_TORN, &(struct problem_context){ .member = d });
	if (f->m.bad_records)
		problem(f, PR_BAD_RECORD, &(struct problem_context){ .num = f->m.bad_records,
			.str = rec_name(f->m.bad_first_type) });
	return 0;
}

/* ---- pass 2: inodes and directories ------------------------------------ */

static bool known_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFIFO: case S_IFSOCK:
	case S_IFCHR: case S_IFBLK:
		return true;
	}
	return false;
}

static void remove_entry(struct fsck *f, struct sw_inode *dir, struct sw_dent *e)
{
	fix_apply(f, (struct swf_rec){ .type = SWF_R_DIRENT_DEL,
		.u.dirent = { dir->a.ino, e->ino, e->name, (uint16_t)strlen(e->name) } });
}

static uint64_t lost_found(struct fsck *f)
{
	struct sw_inode *root = sw_inode_get(&f->m, SW_ROOT_INO);
	struct sw_dent *e = sw_dir_lookup(root, "lost+found");
	int64_t now = sw_now_ns();
	uint64_t ino;

	if (e)
		return e->ino;
	ino = f->m.next_ino;
	fix_apply(f, (struct swf_rec){ .type = SWF_R_INODE, .u.inode = { ino, S_IFDIR | 0700,
		0, 0, 2, 0, 0, now, now, now, 0 } });
	fix_apply(f, (struct swf_rec){ .type = SWF_R_DIRENT_ADD,
		.u.dirent = { SW_ROOT_INO, ino, "lost+found", 10 } });
	root->a.nlink++;
	return ino;
}

static void check_tree(struct fsck *f)
{
	struct sw_meta *m = &f->m;
	struct sw_inode **queue = malloc((m->count + 1) * sizeof(*queue));
	size_t qh = 0, qt = 0;
	struct sw_inode_iter it;
	struct sw_inode *i;

	pass(f, "Pass 2: inodes and directories");
	if (!queue)
		return;
	/* entries: dangling ones, and directories named twice */
	queue[qt++] = sw_inode_get(m, SW_ROOT_INO);
	fsck_in(queue[0])->reached = true;
	while (qh < qt) {
		struct sw_inode *d = queue[qh++];

		for (size_t k = 0; k < d->dir->n; k++) {
			struct sw_dent *e = &d->dir->e[k];
			struct sw_inode *c;

			if (!e->ino)
				continue;
			c = sw_inode_get(m, e->ino);
			if (!c) {
				if (problem(f, PR_DIRENT_DANGLING, &(struct problem_context){
					    .dir = d->a.ino, .name = e->name, .ino = e->ino }))
					remove_entry(f, d, e);
				continue;
			}
			if (c->dir && fsck_in(c)->reached) {
				if (problem(f, PR_DIR_EXTRA_LINK, &(struct problem_context){
					    .dir = d->a.ino, .name = e->name, .ino = c->a.ino }))
					remove_entry(f, d, e);
				else
					fsck_in(c)->names++;
				continue;
			}
			fsck_in(c)->names++;
			if (c->dir) {
				fsck_in(c)->reached = true;
				c->parent = d->a.ino;
				if (qt <= m->count)
					queue[qt++] = c;
			}
		}
	}
	free(queue);
	/* inodes: types, symlinks, reachability */
	uint64_t seen = 0, total = m->count;

	sw_for_each_inode(m, &it, i) {
		progress(f, ++seen, total);
		if (i->a.ino == SW_ROOT_INO)
			continue;
		if (!known_type(i->a.mode) &&
		    problem(f, PR_BAD_MODE, &(struct problem_context){ .ino = i->a.ino,
								     .num = i->a.mode })) {
			struct swf_inode_rec a = i->a;

			a.mode = S_IFREG | (a.mode & 07777);
			fix_apply(f, (struct swf_rec){ .type = SWF_R_INODE, .u.inode = a });
		}
		if (S_ISLNK(i->a.mode) && !i->symlink &&
		    problem(f, PR_SYMLINK_TARGET, &(struct problem_context){ .ino = i->a.ino })) {
			struct sw_inode_iter dit;
			struct sw_inode *d;

			sw_for_each_inode(m, &dit, d)
				for (size_t k = 0; d->dir && k < d->dir->n; k++)
					if (d->dir->e[k].ino == i->a.ino)
						remove_entry(f, d, &d->dir->e[k]);
			fix_apply(f, (struct swf_rec){ .type = SWF_R_INODE_FREE, .u.free.ino = i->a.ino });
			continue;
		}
		if (fsck_in(i)->names || (i->dir && fsck_in(i)->reached))
			continue;
		/* no links: a file open and unlinked at a crash, or an empty directory
		 * removed while the kernel still referred to it */
		if (!i->a.nlink && (!i->dir || !i->dir->live)) {
			/* a leftover: every mount frees orphans */
			if (problem(f, PR_ORPHAN, &(struct problem_context){ .ino = i->a.ino,
				    .num = sw_inode_allocated(i), .leftover = true }))
				fix_apply(f, (struct swf_rec){ .type = SWF_R_INODE_FREE,
							       .u.free.ino = i->a.ino });
			continue;
		}
		if (problem(f, PR_UNREACHABLE, &(struct problem_context){ .ino = i->a.ino,
							     .num = i->a.nlink })) {
			char name[32];
			uint64_t lf = lost_found(f);

			snprintf(name, sizeof(name), "#%llu", (unsigned long long)i->a.ino);
			fix_apply(f, (struct swf_rec){ .type = SWF_R_DIRENT_ADD,
				.u.dirent = { lf, i->a.ino, name, (uint16_t)strlen(name) } });
			fsck_in(i)->names = 1;
			if (i->dir) {
				fsck_in(i)->reached = true;
				sw_inode_get(m, lf)->a.nlink++;
			}
		}
	}
	/* link counts: files by their entries, directories 2 + subdirectories */
	sw_for_each_inode(m, &it, i) {
		uint64_t want = fsck_in(i)->names;

		if (i->dir) {
			want = 2;
			for (size_t k = 0; k < i->dir->n; k++) {
				struct sw_inode *c = i->dir->e[k].ino ?
					sw_inode_get(m, i->dir->e[k].ino) : NULL;

				if (c && c->dir)
					want++;
			}
		}
		if (!fsck_in(i)->names && (!i->dir || (!fsck_in(i)->reached && !i->a.nlink)))
			continue;	/* freed above, or left as reported */
		if (i->a.nlink != want &&
		    problem(f, PR_NLINK, &(struct problem_context){ .ino = i->a.ino,
				    .num = i->a.nlink, .num2 = want })) {
			struct swf_inode_rec a = i->a;

			a.nlink = (uint32_t)want;
			fix_apply(f, (struct swf_rec){ .type = SWF_R_INODE, .u.inode = a });
		}
	}
}

/* ---- pass 3: extents ---------------------------------------------------- */

struct owned { uint64_t voff, len, ino, foff; };

static int cmp_owned(const void *a, const void *b)
{
	const struct owned *x = a, *y = b;

	return x->voff < y->voff ? -1 : x->voff > y->voff ? 1 :
	       x->ino < y->ino ? -1 : x->ino > y->ino;
}

struct summary { uint64_t files, dirs, other, extents, used; };

static void check_extents(struct fsck *f, struct summary *sum)
{
	struct sw_meta *m = &f->m;
	struct owned *all;
	size_t n = 0, cap = 0;
	uint64_t end = 0, end_ino = 0;
	struct sw_inode_iter it;
	struct sw_inode *i;

	pass(f, "Pass 3: extents and free space");
	sw_for_each_inode(m, &it, i)
		cap += i->next;
	all = malloc((cap + 1) * sizeof(*all));
	if (!all)
		return;
	sw_for_each_inode(m, &it, i)
		for (size_t k = 0; k < i->next; k++)
			all[n++] = (struct owned){ i->ext[k].voff, i->ext[k].len, i->a.ino,
						   i->ext[k].foff };
	qsort(all, n, sizeof(*all), cmp_owned);
	for (size_t k = 0; k < n; k++) {
		struct owned *o = &all[k];

		progress(f, k + 1, n);
		if (o->voff < end) {
			uint64_t ov = (end < o->voff + o->len ? end : o->voff + o->len) - o->voff;

			if (problem(f, PR_EXTENT_OVERLAP, &(struct problem_context){ .ino = o->ino,
				    .num = ov, .blk = o->foff, .ino2 = end_ino }))
				fix_apply(f, (struct swf_rec){ .type = SWF_R_UNMAP,
					.u.extent = { o->ino, o->foff, 0, ov, 0 } });
		}
		if (o->voff + o->len > end) {
			end = o->voff + o->len;
			end_ino = o->ino;
		}
	}
	free(all);
	memset(sum, 0, sizeof(*sum));
	sw_for_each_inode(m, &it, i) {
		if (i->dir)
			sum->dirs++;
		else if (S_ISREG(i->a.mode))
			sum->files++;
		else
			sum->other++;
		sum->extents += i->next;
		sum->used += sw_inode_allocated(i);
	}
}

/* ---- main --------------------------------------------------------------- */

static bool any_member_mounted(struct fsck *f)
{
	for (unsigned i = 0; i < f->n; i++)
		if (member_mounted(f->members[i]))
			return true;
	return false;
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage: swapfsck [-n|-y|-p] [-f] [-v] [-C] [--json] DEVICE[:DEVICE...]\n"
"\n"
"Check a swapfs (its members colon-separated, in member order) and repair it.\n"
"Without -n/-y/-p each problem is asked about on a terminal (y, n, a = yes to\n"
"all, q = quit); without a terminal nothing is changed.\n"
"\n"
"  -n            check only, change nothing (also allowed on a mounted filesystem)\n"
"  -y            fix every problem that has a repair (a stale member has none)\n"
"  -p            fix what is expected after a crash (torn log, orphans, a stale\n"
"                mirror or superblock copy, an interrupted checkpoint), report\n"
"                anything else\n"
"  -f            check even if it looks clean (swapfsck always checks fully)\n"
"  -v            also print the count of problems found, fixed and left\n"
"  -C            show each pass (a progress bar on a terminal) on standard error\n"
"      --json    print one JSON object (problems and summary) instead of text\n"
"  -h, --help    this help\n"
"\n"
"Exit status (bits, as e2fsck): 0 clean, 1 errors corrected, 4 errors left\n"
"uncorrected, 8 operational error, 16 usage error, 32 cancelled by the user.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct fsck f = { .mode = MODE_ASK };
	struct summary sum;
	char msg[1024];
	int c, n, rc = 0, modes = 0;
	bool mounted;

	while ((c = getopt_long(argc, argv, "nypfvCh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': f.mode = MODE_NO; modes++; break;
		case 'y': f.mode = MODE_YES; modes++; break;
		case 'p': f.mode = MODE_PREEN; modes++; break;
		case 'f': break;
		case 'v': f.verbose = true; break;
		case 'C': f.progress = true; break;
		case 'J': f.json = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (modes > 1 || optind + 1 != argc) {
		fprintf(stderr, "swapfsck: %s\n", modes > 1 ? "only one of -n, -y, -p" :
			"one DEVICE[:DEVICE...] argument expected");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (f.json)
		f.jproblems = json_object_new_array();
	n = split_members(argv[optind], &f.members, SWF_MAX_MEMBERS);
	if (n < 0) {
		fprintf(stderr, "swapfsck: '%s': expected DEVICE[:DEVICE...]\n", argv[optind]);
		return EXIT_USAGE;
	}
	f.n = (unsigned)n;
	mounted = any_member_mounted(&f);
	if (mounted) {
		if (f.mode != MODE_NO) {
			fprintf(stderr, "swapfsck: %s is mounted; refusing to repair it (use -n to check)\n",
				argv[optind]);
			free_members(f.members);
			return EXIT_OPERR;
		}
		fprintf(stderr, "swapfsck: warning: mounted; what is in flight may show as problems\n");
	}
	if (sw_fsvol_open((const char *const *)f.members, f.n, f.mode == MODE_NO, &f.vol, &f.sb,
			  msg, sizeof(msg))) {
		fprintf(stderr, "swapfsck: %s\n", msg);
		free_members(f.members);
		return EXIT_OPERR;
	}
	/* -n: a writer holds a member under another name (a loop device over an image file...) */
	for (unsigned i = 0; i < f.n && !mounted; i++)
		if (swe_volume_device(f.vol, i)->in_use) {
			fprintf(stderr, "swapfsck: warning: member %u (%s) is in use (mounted under another name?); what is in flight may show as problems\n",
				i, f.members[i]);
			mounted = true;
		}
	rc |= check_superblocks(&f);
	f.fixed_pass0 = f.fixed;
	if (!(rc & EXIT_OPERR))
		rc |= check_metadata(&f);
	if (f.loaded && f.keep_log && f.mode == MODE_PREEN) {
		sw_meta_close(&f.m);	/* stopped in pass 1 */
	} else if (f.loaded) {
		check_tree(&f);
		check_extents(&f, &sum);
		if (f.keep_log && f.fixed > f.fixed_pass0) {
			printf("swapfsck: metadata loss left unrepaired: the %u repair(s) after pass 0 "
			       "are not written\n", f.fixed - f.fixed_pass0);
			f.left += f.fixed - f.fixed_pass0;
			f.fixed = f.fixed_pass0;
		}
		if ((f.table_changed || f.need_checkpoint) && f.mode != MODE_NO && !f.keep_log) {
			/*
			 * The new checkpoint goes to the slot not in use, with a generation
			 * above every one on the metadata area and a sequence number above
			 * every one in the logs, so no record left there (dropped ones
			 * included) can be read as one of it or as newer than it.
			 */
			int err = sw_meta_checkpoint_above(&f.m, f.max_gen, f.max_seq);

			if (err) {
				fprintf(stderr, "swapfsck: writing the repaired table: %s\n", strerror(-err));
				rc |= EXIT_OPERR;
			}
		}
		if (f.json) {
			json_object *j = json_object_new_object();

			json_object_object_add(j, "problems", f.jproblems);
			json_object_object_add(j, "files", json_object_new_uint64(sum.files));
			json_object_object_add(j, "directories", json_object_new_uint64(sum.dirs));
			json_object_object_add(j, "other", json_object_new_uint64(sum.other));
			json_object_object_add(j, "extents", json_object_new_uint64(sum.extents));
			json_object_object_add(j, "used_bytes", json_object_new_uint64(sum.used));
			json_object_object_add(j, "volume_bytes", json_object_new_uint64(swf_volume_bytes(&f.sb)));
			printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
			json_object_put(j);
			f.jproblems = NULL;
		} else {
			uint64_t vol = swf_volume_bytes(&f.sb);

			printf("swapfsck: %llu files, %llu directories, %llu other; %llu extents (%.2f per file)\n",
			       (unsigned long long)sum.files, (unsigned long long)sum.dirs,
			       (unsigned long long)sum.other, (unsigned long long)sum.extents,
			       sum.files ? (double)sum.extents / sum.files : 0.0);
			printf("swapfsck: %.1f MiB used of %.1f MiB, %.1f MiB free\n",
			       sum.used / 1048576.0, vol / 1048576.0, (vol - sum.used) / 1048576.0);
			if (f.pending)
				printf("swapfsck: %u crash leftover(s): recovery the next mount (or -p) completes\n",
				       f.pending);
			if (f.verbose)
				printf("swapfsck: %u problem(s): %u fixed, %u left\n", f.found, f.fixed, f.left);
		}
		sw_meta_close(&f.m);
	}
	json_object_put(f.jproblems);
	if (f.fixed)
		rc |= EXIT_FIXED;
	if (f.left)
		rc |= EXIT_LEFT;
	swe_volume_close(f.vol);
	free_members(f.members);
	return rc;
}

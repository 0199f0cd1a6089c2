/*
 * lifetime.c - the end of an inode's life.  An inode lives while a name,
 * a kernel lookup reference, an open file or client-path registration
 * (nopen), or staged, in-flight or read-ahead data holds it; when the last
 * of those goes, its INODE_FREE record is emitted (sw_free_unreachable,
 * from the namespace operations and the closes here).  At mount, inodes a
 * crash left with no links are freed (sw_free_orphans).  It calls no
 * other daemon file.
 */
#include <stdlib.h>

#include "fs/daemon/lifetime.h"

/*
 * Free an inode nobody can reach any more (no links, lookups or opens).
 * Its data goes as soon as no name and no open file is left: the kernel
 * may keep its reference (and send FORGET) later, but nothing can read
 * the bytes, and a full volume needs the space for the very next write.
 */
void sw_free_unreachable(struct swapfs *fs, struct sw_inode *ino)
{
	struct swf_rec r = { .type = SWF_R_INODE_FREE };

	if (ino->a.nlink || sw_dn(ino)->nopen || ino->inflight || sw_dn(ino)->client_reads || sw_dn(ino)->wb || sw_dn(ino)->ra ||
	    ino->a.ino == SW_ROOT_INO || fs->read_only)
		return;
	if (sw_dn(ino)->nlookup) {
		struct swf_rec u = { .type = SWF_R_UNMAP,
				     .u.extent = { .ino = ino->a.ino, .len = UINT64_MAX } };

		if (!ino->dir && ino->next && sw_meta_emit(&fs->meta, &u))
			sw_err("cannot free the data of inode %llu", (unsigned long long)ino->a.ino);
		return;
	}
	r.u.free.ino = ino->a.ino;
	if (sw_meta_emit(&fs->meta, &r))
		sw_err("cannot free inode %llu", (unsigned long long)r.u.free.ino);
}

void sw_inode_close_locked(struct swapfs *fs, struct sw_inode *ino)
{
	if (sw_dn(ino)->nopen)
		sw_dn(ino)->nopen--;
	sw_free_unreachable(fs, ino);
}

void sw_inode_close(struct swapfs *fs, struct sw_inode *ino)
{
	pthread_mutex_lock(&fs->meta.lock);
	sw_inode_close_locked(fs, ino);
	pthread_mutex_unlock(&fs->meta.lock);
}

/* Inodes left with no links by a crash (open-unlinked files) are freed. */
void sw_free_orphans(struct swapfs *fs)
{
	struct sw_meta *m = &fs->meta;
	uint64_t *orphans = NULL;
	size_t n = 0, cap = 0;
	struct sw_inode_iter it;
	struct sw_inode *i;

	sw_for_each_inode(m, &it, i) {
		if (i->a.nlink || i->a.ino == SW_ROOT_INO)
			continue;
		if (n == cap) {
			uint64_t *no = realloc(orphans, (cap = cap ? cap * 2 : 16) * sizeof(*no));

			if (!no)
				break;
			orphans = no;
		}
		orphans[n++] = i->a.ino;
	}
	for (size_t k = 0; k < n; k++) {
		struct swf_rec r = { .type = SWF_R_INODE_FREE, .u.free.ino = orphans[k] };

		sw_meta_emit(m, &r);
	}
	if (n) {
		sw_notice("freed %zu orphaned inode(s) left by an unclean shutdown", n);
		sw_meta_commit(m, true);
	}
	free(orphans);
}

/*
 * dnode.c - the daemon's part of an inode (dnode.h): its lock made when
 * the table creates the inode, and what it holds let go when the table
 * frees it.
 */
#include <stdlib.h>

#include "fs/daemon/dnode.h"

static int dnode_init(struct sw_inode *ino)
{
	return -pthread_rwlock_init(&sw_dn(ino)->rw, NULL);
}

static void dnode_fini(struct sw_inode *ino)
{
	struct sw_dnode *dn = sw_dn(ino);

	free(dn->wb_lost);
	pthread_rwlock_destroy(&dn->rw);
}

const struct sw_inode_ops sw_dnode_ops = {
	.priv_size = sizeof(struct sw_dnode),
	.init = dnode_init,
	.fini = dnode_fini,
};

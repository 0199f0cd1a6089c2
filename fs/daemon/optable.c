/*
 * optable.c - the daemon's FUSE operation table: INIT and its capability
 * negotiation (request sizes, async reads and direct I/O, background
 * requests, no splice), and the handlers each module registers: the
 * namespace and open files (namespace.c), xattrs (xattr.c), file data
 * (data.c) and the client path's grant ioctl (client_srv.c).  main.c
 * hands the table to fuse_session_new.
 */
#include <string.h>

#include "fs/daemon/client_srv.h"
#include "fs/daemon/data.h"
#include "fs/daemon/fuse_io.h"
#include "fs/daemon/namespace.h"
#include "fs/daemon/optable.h"
#include "fs/daemon/xattr.h"

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* 1 MiB requests: libfuse 3.14's ceiling, and the stripe unit */
	conn->max_write = 1 << 20;
	conn->max_read = sw_fuse_max_request();	/* as the mount's max_read */
	conn->max_readahead = 1 << 20;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	/* let the kernel keep many requests in flight: write-behind acks fast */
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	/* measured: splice does not pay off for our request sizes */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
}

void sw_optable(struct fuse_lowlevel_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->init = op_init;
	sw_namespace_ops(ops);
	sw_xattr_ops(ops);
	sw_data_ops(ops);
	ops->ioctl = sw_csrv_ioctl;
}

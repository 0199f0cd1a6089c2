/*
 * client_srv.h - the client path's socket server (fs/daemon/client_srv.c):
 * started and stopped by main.c, its name given by the "swapfs.client"
 * xattr, its grant ioctl put into the op table.
 */
#ifndef SWAPFS_CLIENT_SRV_H
#define SWAPFS_CLIENT_SRV_H

#include "fs/daemon/swapfs.h"

struct sw_csrv;
/* Listen for libswapfs clients of this mount (after the mount exists). */
int sw_csrv_start(struct swapfs *fs, struct fuse_session *se);
/* Disconnect every client after its requests completed; stop listening. */
void sw_csrv_stop(struct swapfs *fs);
/* The socket's name, as the "swapfs.client" xattr gives it; NULL if none. */
const char *sw_csrv_name(const struct swapfs *fs);
/* FUSE ioctl: SWC_IOC_GRANT, the proof of access of an open file (proto.h). */
void sw_csrv_ioctl(fuse_req_t req, fuse_ino_t nr, int cmd, void *arg,
		   struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		   size_t in_bufsz, size_t out_bufsz);

#endif

/*
 * fuse_io.h - the daemon's reads and writes of /dev/fuse, through libfuse's
 * custom-io hook, to negotiate in INIT what libfuse 3.14 cannot: the
 * kernel's FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6+, protocol 7.39), which
 * lets direct_io files be mmapped with MAP_SHARED; requests larger than
 * 1 MiB (max_pages); FUSE_OVER_IO_URING (Linux 6.14+, protocol 7.42).
 * Replies to requests that came through an io_uring entry go back into the
 * entry (uring.c); the others, and notifications, to /dev/fuse.
 */
#ifndef SWAPFS_FUSE_IO_H
#define SWAPFS_FUSE_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

/* The request size to negotiate, in 4 KiB pages; 0 (default): libfuse's 1 MiB. */
void sw_fuse_io_set_max_pages(unsigned max_pages);
/* Requests of up to this many data bytes: the max_read and max_write offered. */
uint32_t sw_fuse_max_request(void);
/* Route the session's device I/O through the hook (after fuse_session_mount). */
int sw_fuse_io_install(struct fuse_session *se);
/* Offer FUSE_OVER_IO_URING in the INIT reply if the kernel does (before INIT). */
void sw_fuse_io_want_uring(bool want);
/* The kernel offered FUSE_OVER_IO_URING / INIT accepted it. */
bool sw_fuse_uring_offered(void);
bool sw_fuse_uring_negotiated(void);
/* True once INIT negotiated FUSE_DIRECT_IO_ALLOW_MMAP with the kernel. */
bool sw_fuse_direct_io_mmap(void);
/* read(2) of /dev/fuse as the hook does it (notes what INIT offers). */
ssize_t sw_fuse_read(int fd, void *buf, size_t len);
/* Replies of this thread go to fd (a clone_fd reader), or -1: the session's. */
void sw_fuse_reply_fd(int fd);

#endif

/*
 * fuse_io.h - the daemon's reads and writes of /dev/fuse, through libfuse's
 * custom-io hook, to negotiate what libfuse 3.14 cannot: the kernel's
 * FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6+, protocol 7.39), which lets
 * direct_io files be mmapped with MAP_SHARED; and to count the requests.
 */
#ifndef SWAPFS_FUSE_IO_H
#define SWAPFS_FUSE_IO_H

#include <stdbool.h>

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

/* Route the session's device I/O through the hook (after fuse_session_mount). */
int sw_fuse_io_install(struct fuse_session *se);
/* True once INIT negotiated FUSE_DIRECT_IO_ALLOW_MMAP with the kernel. */
bool sw_fuse_direct_io_mmap(void);
/*
 * The requests received so far by opcode, as JSON members ("LOOKUP":12,...;
 * opcodes without a name count as "OTHER"), written into buf; the length.
 */
size_t sw_fuse_requests_json(char *buf, size_t cap);

#endif

/*
 * reqstats.c - FUSE requests counted by opcode, whichever transport brought
 * them (/dev/fuse in fuse_io.c, an io_uring entry in uring.c), for the
 * "requests" member of the swapfs.stats xattr.
 */
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stdio.h>

#include "fs/daemon/reqstats.h"

#define NOPS 64
static _Atomic uint64_t requests[NOPS];	/* by opcode */
static const char *const op_names[NOPS] = {	/* [0]: opcodes not named here */
	[0] = "OTHER",
	[FUSE_LOOKUP] = "LOOKUP", [FUSE_FORGET] = "FORGET", [FUSE_GETATTR] = "GETATTR",
	[FUSE_SETATTR] = "SETATTR", [FUSE_READLINK] = "READLINK", [FUSE_SYMLINK] = "SYMLINK",
	[FUSE_MKNOD] = "MKNOD", [FUSE_MKDIR] = "MKDIR", [FUSE_UNLINK] = "UNLINK",
	[FUSE_RMDIR] = "RMDIR", [FUSE_RENAME] = "RENAME", [FUSE_LINK] = "LINK",
	[FUSE_OPEN] = "OPEN", [FUSE_READ] = "READ", [FUSE_WRITE] = "WRITE",
	[FUSE_STATFS] = "STATFS", [FUSE_RELEASE] = "RELEASE", [FUSE_FSYNC] = "FSYNC",
	[FUSE_SETXATTR] = "SETXATTR", [FUSE_GETXATTR] = "GETXATTR",
	[FUSE_LISTXATTR] = "LISTXATTR", [FUSE_REMOVEXATTR] = "REMOVEXATTR",
	[FUSE_FLUSH] = "FLUSH", [FUSE_INIT] = "INIT", [FUSE_OPENDIR] = "OPENDIR",
	[FUSE_READDIR] = "READDIR", [FUSE_RELEASEDIR] = "RELEASEDIR",
	[FUSE_FSYNCDIR] = "FSYNCDIR", [FUSE_GETLK] = "GETLK", [FUSE_SETLK] = "SETLK",
	[FUSE_SETLKW] = "SETLKW", [FUSE_ACCESS] = "ACCESS", [FUSE_CREATE] = "CREATE",
	[FUSE_INTERRUPT] = "INTERRUPT", [FUSE_BMAP] = "BMAP", [FUSE_DESTROY] = "DESTROY",
	[FUSE_IOCTL] = "IOCTL", [FUSE_POLL] = "POLL", [FUSE_NOTIFY_REPLY] = "NOTIFY_REPLY",
	[FUSE_BATCH_FORGET] = "BATCH_FORGET", [FUSE_FALLOCATE] = "FALLOCATE",
	[FUSE_READDIRPLUS] = "READDIRPLUS", [FUSE_RENAME2] = "RENAME2", [FUSE_LSEEK] = "LSEEK",
	[FUSE_COPY_FILE_RANGE] = "COPY_FILE_RANGE", [50] = "SYNCFS", [51] = "TMPFILE",
};

void sw_fuse_count_request(uint32_t opcode)
{
	atomic_fetch_add(&requests[opcode < NOPS && op_names[opcode] ? opcode : 0], 1);
}

size_t sw_fuse_requests_json(char *buf, size_t cap)
{
	size_t n = 0;

	for (unsigned op = 0; op < NOPS; op++) {
		uint64_t c = atomic_load(&requests[op]);

		if (c && n < cap)
			n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\":%llu", n ? "," : "",
					      op_names[op],
					      (unsigned long long)c);
	}
	return n < cap ? n : cap;
}

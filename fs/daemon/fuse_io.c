/*
 * fuse_io.c - see fuse_io.h.  The read hook notes the INIT request and
 * whether the kernel offers FUSE_DIRECT_IO_ALLOW_MMAP; the writev hook adds
 * the flag to libfuse's INIT reply.  Everything else passes through
 * untouched.  With a libfuse that negotiates the flag itself this file
 * would go away (configure would detect it), but for the count of
 * requests by opcode that the read hook keeps for the stats xattr.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs/daemon/fuse_io.h"

/* bit 36 of the INIT flags, i.e. bit 4 of flags2 (kernel include/uapi/linux/fuse.h 7.39) */
#define DIRECT_IO_ALLOW_MMAP_FLAGS2 (1u << 4)

static _Atomic uint64_t init_unique;
static atomic_bool kernel_offers, negotiated;

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

bool sw_fuse_direct_io_mmap(void)
{
	return atomic_load(&negotiated);
}

static ssize_t hook_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	const struct fuse_in_header *h = buf;

	(void)userdata;
	if (n >= (ssize_t)sizeof(*h))
		atomic_fetch_add(&requests[h->opcode < NOPS && op_names[h->opcode] ? h->opcode : 0], 1);
	if (n >= (ssize_t)(sizeof(*h) + offsetof(struct fuse_init_in, flags2) + 4) &&
	    h->opcode == FUSE_INIT) {
		const struct fuse_init_in *in = (const void *)(h + 1);

		atomic_store(&kernel_offers, (in->flags & FUSE_INIT_EXT) &&
			     (in->flags2 & DIRECT_IO_ALLOW_MMAP_FLAGS2));
		atomic_store(&init_unique, h->unique);
	}
	return n;
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

static ssize_t hook_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	uint64_t unique = atomic_load(&init_unique);

	(void)userdata;
	if (unique && count >= 2 && iov[0].iov_len >= sizeof(struct fuse_out_header)) {
		struct fuse_out_header *oh = iov[0].iov_base;

		if (oh->unique == unique && oh->error == 0 &&
		    iov[1].iov_len >= offsetof(struct fuse_init_out, flags2) + 4 &&
		    atomic_load(&kernel_offers)) {
			struct fuse_init_out *out = iov[1].iov_base;

			out->flags |= FUSE_INIT_EXT;
			out->flags2 |= DIRECT_IO_ALLOW_MMAP_FLAGS2;
			atomic_store(&negotiated, true);
		}
		if (oh->unique == unique)
			atomic_store(&init_unique, 0);
	}
	return writev(fd, iov, count);
}

int sw_fuse_io_install(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = hook_read,
		.writev = hook_writev,
	};

	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

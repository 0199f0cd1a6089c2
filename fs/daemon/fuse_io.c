/*
 * fuse_io.c - see fuse_io.h.  The read hook notes the INIT request and
 * whether the kernel offers FUSE_DIRECT_IO_ALLOW_MMAP; the writev hook adds
 * the flag to libfuse's INIT reply.  Everything else passes through
 * untouched.  With a libfuse that negotiates the flag itself this file
 * would go away (configure would detect it).
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs/daemon/fuse_io.h"

/* bit 36 of the INIT flags, i.e. bit 4 of flags2 (kernel include/uapi/linux/fuse.h 7.39) */
#define DIRECT_IO_ALLOW_MMAP_FLAGS2 (1u << 4)

static _Atomic uint64_t init_unique;
static atomic_bool kernel_offers, negotiated;

bool sw_fuse_direct_io_mmap(void)
{
	return atomic_load(&negotiated);
}

static ssize_t hook_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	const struct fuse_in_header *h = buf;

	(void)userdata;
	if (n >= (ssize_t)(sizeof(*h) + offsetof(struct fuse_init_in, flags2) + 4) &&
	    h->opcode == FUSE_INIT) {
		const struct fuse_init_in *in = (const void *)(h + 1);

		atomic_store(&kernel_offers, (in->flags & FUSE_INIT_EXT) &&
			     (in->flags2 & DIRECT_IO_ALLOW_MMAP_FLAGS2));
		atomic_store(&init_unique, h->unique);
	}
	return n;
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

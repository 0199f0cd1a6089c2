/*
 * fuse_io.c - see fuse_io.h.  The read hook notes the INIT request and what
 * the kernel offers; the writev hook patches libfuse's INIT reply (flags2,
 * max_write and max_pages) and sends every reply where its request came
 * from.  With a libfuse that negotiates all of it itself, only the reply
 * routing would stay.
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
#include "fs/daemon/reqstats.h"
#include "fs/daemon/uring.h"

/* bit 36 of the INIT flags, i.e. bit 4 of flags2 (kernel include/uapi/linux/fuse.h 7.39) */
#define DIRECT_IO_ALLOW_MMAP_FLAGS2 (1u << 4)
#define PAGE 4096u

static _Atomic uint64_t init_unique;
static _Atomic uint32_t offered_flags, offered_flags2;	/* the kernel's INIT */
static atomic_bool want_uring, mmap_negotiated, uring_negotiated;
static unsigned io_max_pages;
static __thread int reply_fd = -1;

void sw_fuse_io_set_max_pages(unsigned max_pages)
{
	io_max_pages = max_pages;
}

uint32_t sw_fuse_max_request(void)
{
	return io_max_pages ? io_max_pages * PAGE : 1u << 20;
}

void sw_fuse_io_want_uring(bool want)
{
	atomic_store(&want_uring, want);
}

bool sw_fuse_uring_offered(void)
{
	return (atomic_load(&offered_flags) & FUSE_INIT_EXT) &&
	       (atomic_load(&offered_flags2) & SW_FUSE_OVER_IO_URING_FLAGS2);
}

bool sw_fuse_uring_negotiated(void)
{
	return atomic_load(&uring_negotiated);
}

bool sw_fuse_direct_io_mmap(void)
{
	return atomic_load(&mmap_negotiated);
}

void sw_fuse_reply_fd(int fd)
{
	reply_fd = fd;
}

ssize_t sw_fuse_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);
	const struct fuse_in_header *h = buf;

	if (n >= (ssize_t)sizeof(*h))
		sw_fuse_count_request(h->opcode);
	if (n >= (ssize_t)(sizeof(*h) + offsetof(struct fuse_init_in, flags2) + 4) &&
	    h->opcode == FUSE_INIT) {
		const struct fuse_init_in *in = (const void *)(h + 1);

		atomic_store(&offered_flags, in->flags);
		atomic_store(&offered_flags2, in->flags2);
		atomic_store(&init_unique, h->unique);
	}
	return n;
}

static ssize_t hook_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	return sw_fuse_read(fd, buf, len);
}

/* Add to libfuse's INIT reply what it does not negotiate itself. */
static void patch_init(struct fuse_init_out *out)
{
	uint32_t flags = atomic_load(&offered_flags), flags2 = atomic_load(&offered_flags2);

	if (!(flags & FUSE_INIT_EXT))
		flags2 = 0;
	if (flags2 & DIRECT_IO_ALLOW_MMAP_FLAGS2) {
		out->flags |= FUSE_INIT_EXT;
		out->flags2 |= DIRECT_IO_ALLOW_MMAP_FLAGS2;
		atomic_store(&mmap_negotiated, true);
	}
	if (io_max_pages && (flags & FUSE_MAX_PAGES)) {
		out->flags |= FUSE_MAX_PAGES;
		out->max_pages = (uint16_t)io_max_pages;
		out->max_write = io_max_pages * PAGE;
	}
	if ((flags2 & SW_FUSE_OVER_IO_URING_FLAGS2) && atomic_load(&want_uring)) {
		out->flags |= FUSE_INIT_EXT;
		out->flags2 |= SW_FUSE_OVER_IO_URING_FLAGS2;
		atomic_store(&uring_negotiated, true);
	}
}

static ssize_t hook_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	uint64_t unique = atomic_load(&init_unique);
	ssize_t len;

	(void)userdata;
	if (sw_uring_reply(iov, count, &len))
		return len;
	if (unique && count >= 2 && iov[0].iov_len >= sizeof(struct fuse_out_header)) {
		struct fuse_out_header *oh = iov[0].iov_base;

		if (oh->unique == unique && oh->error == 0 &&
		    iov[1].iov_len >= offsetof(struct fuse_init_out, flags2) + 4)
			patch_init(iov[1].iov_base);
		if (oh->unique == unique)
			atomic_store(&init_unique, 0);
	}
	return writev(reply_fd >= 0 ? reply_fd : fd, iov, count);
}

int sw_fuse_io_install(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = hook_read,
		.writev = hook_writev,
	};

	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

/*
 * transport.h - the daemon's own request loop in place of libfuse's:
 * /dev/fuse reader threads (one per online CPU by default) with buffers
 * sized for the negotiated requests, and FUSE-over-io_uring queues when the
 * kernel offers them (uring.h).  libfuse decodes and dispatches
 * (fuse_session_process_buf); its handlers answer in the calling thread.
 */
#ifndef SWAPFS_TRANSPORT_H
#define SWAPFS_TRANSPORT_H

#include <stdbool.h>

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

struct sw_transport_opts {
	unsigned threads;	/* /dev/fuse readers; 0: one per online CPU */
	bool clone_fd;		/* each reader on its own clone of /dev/fuse */
	int uring;		/* 1: -o uring, -1: -o nouring, 0: if the kernel offers it */
	unsigned uring_depth;	/* entries per io_uring queue */
};

/*
 * Before mounting, as root: -o uring turns on the fuse module's
 * enable_uring; a max_pages above the kernel's max_pages_limit raises the
 * limit (each is copied when the mount is made).  Both say so in the log.
 */
void sw_transport_setup_kernel(const struct sw_transport_opts *o, unsigned max_pages);
/*
 * Serve the mount: 0 once it is unmounted, -EINTR when the session was told
 * to exit (a signal), another -errno when /dev/fuse failed.  Every thread
 * it started has ended when it returns.
 */
int sw_transport_run(struct fuse_session *se, const struct sw_transport_opts *o);
/* "io_uring" or "classic" (before INIT: "classic"). */
const char *sw_transport_name(void);

#endif

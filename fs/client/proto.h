/*
 * proto.h - the wire protocol between libswapfs (an application) and the
 * swapfs daemon.  Shared by fs/client/libswapfs.c and fs/daemon/client_srv.c.
 *
 * Transport: a SOCK_SEQPACKET Unix socket in the abstract namespace; its
 * name is the value of the virtual extended attribute "swapfs.client" on
 * any file of the mount.  Every message from the application is an array
 * of 1..SWC_MAX_BATCH struct swc_req, with no descriptor (SCM_RIGHTS): the
 * daemon takes none, and answers every request of a message that carries
 * one with EINVAL.  Every request is answered by exactly one struct
 * swc_cqe carrying its tag; the daemon batches them, except the answer to
 * SWC_BUF_ADD, which travels alone with the buffer's memfd (SCM_RIGHTS).
 *
 * Data never crosses the socket: buffers are memfds the daemon makes,
 * sealed at their size, that both processes map, and the daemon's io_uring moves the
 * bytes between them and the members with O_DIRECT.
 *
 * Files are named by descriptors the application opened on the mount, so
 * the kernel has checked permissions; the descriptor's access mode decides
 * what the file may be used for.  The proof travels through the mount:
 * ioctl(fd, SWC_IOC_GRANT, {key}) with the key HELLO gave reaches the
 * daemon with the handle of that very open file, and leaves on the
 * connection a one-time grant of its inode and access mode; FILE_ADD
 * redeems the grant by its id.  No descriptor number is ever resolved
 * behind the application's back (a dup2() cannot swap the file), an
 * O_PATH descriptor cannot do ioctls, and no descriptor of the mount ever
 * enters the daemon, whose close() of one would wait on itself.
 *
 * A connection refused (too many connections of its user) gets one answer
 * with tag 0 and result -EUSERS, then is closed.
 */
#ifndef SWAPFS_CLIENT_PROTO_H
#define SWAPFS_CLIENT_PROTO_H

#include <stdint.h>
#include <linux/ioctl.h>

#define SWC_XATTR "swapfs.client"
#define SWC_VERSION 3
#define SWC_MAX_BATCH 64		/* requests per message */
#define SWC_MAX_INFLIGHT 4096		/* requests per connection */
#define SWC_MAX_IO (1ull << 30)		/* bytes per read or write */
#define SWC_MAX_FILES 16384		/* files registered per connection (then EMFILE) */
#define SWC_MAX_BUFS 1024		/* buffers per connection (then EMFILE) */
#define SWC_MAX_BUF_BYTES (64ull << 30)	/* their bytes in all, per connection (then ENOMEM) */

enum swc_op {
	SWC_HELLO = 1,		/* len: client version; value: the connection's key */
	SWC_BUF_ADD,		/* len: bytes; value: buffer id; its memfd comes with the answer */
	SWC_BUF_DEL,		/* buf */
	SWC_FILE_ADD,		/* off: grant id; value: file id; result: size */
	SWC_FILE_DEL,		/* file: waits for its I/O */
	SWC_READ,		/* file, buf, buf_off, off, len; result: bytes */
	SWC_WRITE,		/* file, buf, buf_off, off, len; result: bytes */
	SWC_FSYNC,		/* file: data and metadata durable */
};

struct swc_req {
	uint32_t op;
	uint32_t file;
	uint32_t buf;
	uint32_t flags;		/* 0 */
	uint64_t buf_off;
	uint64_t off;
	uint64_t len;
	uint64_t tag;
};

struct swc_cqe {
	uint64_t tag;
	int64_t result;		/* >= 0 success, else -errno */
	uint64_t value;
};

/*
 * ioctl on a descriptor of the mount: in, the key of the caller's
 * connection; out, the id of a grant for FILE_ADD on that connection.
 * Errors: EXDEV (no such connection of this daemon), EISDIR, EINVAL (not a
 * regular file), EBADF (opened for neither reading nor writing).
 */
struct swc_grant {
	uint64_t key;
	uint64_t id;
};
#define SWC_IOC_GRANT _IOWR('s', 0xc1, struct swc_grant)

#endif

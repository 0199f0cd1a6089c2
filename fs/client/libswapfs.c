/*
 * libswapfs.c - the application's side of the client path (libswapfs.h,
 * wire protocol in proto.h).
 *
 * Data requests carry their slot number as tag; control calls (buffers,
 * files, fsync) carry the top bit and are answered in order, so a control
 * call simply reads answers, queueing data completions it meets, until
 * its own arrives.  Buffers not from swapfs_buf_alloc go through bounce
 * regions: shared buffers the library registers itself and reuses.
 *
 * A file is registered with the proof of access the daemon hands out
 * through the mount (SWC_IOC_GRANT on the descriptor, proto.h).  The
 * daemon closes a connection of an ordinary user that holds nothing
 * registered for a while; such a connection has no state to lose, so the
 * next registration simply connects again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fs/client/libswapfs.h"
#include "fs/client/proto.h"

#define CTL_TAG (1ull << 63)
#define BOUNCE_MIN (1u << 20)
#define BOUNCE_KEEP (256ull << 20)	/* idle bounce bytes kept for reuse */

struct region {
	char *addr;
	size_t len;
	uint32_t id;
	bool used, bounce, busy;
	bool external;		/* mapped by the caller (swapfs_buf_register) */
};

struct slot {
	bool used;
	int op;
	int bounce;		/* region index, or -1 */
	void *ubuf;
	uint64_t user_data;
};

struct swapfs_client {
	int sock;
	bool dead;
	int timeout_ms;
	struct sockaddr_un sa;	/* the daemon's socket, to connect again */
	socklen_t salen;
	uint64_t key;		/* the connection's, for SWC_IOC_GRANT */
	int64_t refusal;	/* why the daemon refused the connection (tag 0) */
	unsigned nfiles;	/* registered */
	struct region *reg;
	unsigned nreg;
	uint64_t bounce_bytes;
	struct slot slot[SWC_MAX_INFLIGHT];
	unsigned free_slot[SWC_MAX_INFLIGHT], nfree;
	unsigned inflight;
	struct swapfs_cqe *ready;
	size_t nready, capready;
	uint64_t ctl_seq;
	bool ctl_done;
	struct swc_cqe ctl;
	int ctl_fd;		/* the descriptor that came with ctl (a BUF_ADD's memfd), or -1 */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int push_ready(struct swapfs_client *c, uint64_t user_data, int64_t result)
{
	if (c->nready == c->capready) {
		size_t n = c->capready ? c->capready * 2 : 64;
		struct swapfs_cqe *r = realloc(c->ready, n * sizeof(*r));

		if (!r)
			return -ENOMEM;
		c->ready = r;
		c->capready = n;
	}
	c->ready[c->nready++] = (struct swapfs_cqe){ user_data, result };
	return 0;
}

static void slot_finish(struct swapfs_client *c, unsigned i, int64_t result)
{
	struct slot *s = &c->slot[i];

	if (s->bounce >= 0) {
		struct region *r = &c->reg[s->bounce];

		if (s->op == SWAPFS_READ && result > 0)
			memcpy(s->ubuf, r->addr, (size_t)result);
		r->busy = false;
	}
	/* the slot's array was sized for this: only ENOMEM of ready can fail */
	if (push_ready(c, s->user_data, result))
		result = -ENOMEM;
	s->used = false;
	c->free_slot[c->nfree++] = i;
	c->inflight--;
}

/* The daemon is gone: everything outstanding fails, now and later. */
static void die(struct swapfs_client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	for (unsigned i = 0; i < SWC_MAX_INFLIGHT; i++)
		if (c->slot[i].used)
			slot_finish(c, i, -ENOTCONN);
	if (!c->ctl_done) {
		c->ctl_done = true;
		c->ctl = (struct swc_cqe){ .tag = c->ctl_seq, .result = -ENOTCONN };
	}
}

/* Read one message of completions, waiting up to timeout_ms. */
static int receive(struct swapfs_client *c, int timeout_ms)
{
	struct swc_cqe cqe[256];
	struct pollfd p = { c->sock, POLLIN, 0 };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct iovec iov = { cqe, sizeof(cqe) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cm.b, .msg_controllen = sizeof(cm.b) };
	int fd = -1;
	ssize_t n;
	int pr;

	if (c->dead)
		return -ENOTCONN;
	pr = poll(&p, 1, timeout_ms);
	if (pr < 0)
		return errno == EINTR ? 0 : -errno;
	if (!pr)
		return -ETIMEDOUT;
	n = recvmsg(c->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* the daemon's memfd for a BUF_ADD comes alone with its answer */
	for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; h; h = CMSG_NXTHDR(&msg, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int x;

			memcpy(&x, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = x;
			else
				close(x);
		}
	}
	if (n <= 0 || n % (ssize_t)sizeof(cqe[0])) {
		if (fd >= 0)
			close(fd);
		die(c);
		return -ENOTCONN;
	}
	for (size_t i = 0; i < (size_t)n / sizeof(cqe[0]); i++) {
		uint64_t tag = cqe[i].tag;

		if (tag & CTL_TAG) {
			if (tag == c->ctl_seq) {
				c->ctl = cqe[i];
				c->ctl_done = true;
				if (c->ctl_fd >= 0)
					close(c->ctl_fd);
				c->ctl_fd = fd;
				fd = -1;
			}
		} else if (tag < SWC_MAX_INFLIGHT && c->slot[tag].used) {
			slot_finish(c, (unsigned)tag, cqe[i].result);
		} else if (!tag && cqe[i].result < 0) {
			c->refusal = cqe[i].result;	/* the connection was refused */
		}
	}
	if (fd >= 0)
		close(fd);
	return 1;
}

static int send_reqs(struct swapfs_client *c, const struct swc_req *r, unsigned n)
{
	ssize_t w;

	if (c->dead)
		return -ENOTCONN;
	do
		w = send(c->sock, r, n * sizeof(*r), MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)(n * sizeof(*r))) {
		die(c);
		return -ENOTCONN;
	}
	return 0;
}

/* A control request and its answer; fd (NULL: none wanted): the descriptor that came with it, or -1. */
static int64_t control(struct swapfs_client *c, struct swc_req *r, int *fd, uint64_t *value)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	int err;

	if (fd)
		*fd = -1;
	r->tag = c->ctl_seq = CTL_TAG | (c->ctl_seq + 1);
	c->ctl_done = false;
	err = send_reqs(c, r, 1);
	if (err)
		return err;
	while (!c->ctl_done) {
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			die(c);	/* answers would come out of step: give up on the daemon */
			return -ETIMEDOUT;
		}
		err = receive(c, (int)left);
		if (err < 0 && err != -ETIMEDOUT)
			return err;
	}
	if (value)
		*value = c->ctl.value;
	if (c->ctl_fd >= 0 && fd)
		*fd = c->ctl_fd;
	else if (c->ctl_fd >= 0)
		close(c->ctl_fd);
	c->ctl_fd = -1;
	return c->ctl.result;
}

/* Connect and say HELLO: a fresh connection, and its key. */
static int dial(struct swapfs_client *c)
{
	struct swc_req hello = { .op = SWC_HELLO, .len = SWC_VERSION };
	struct swc_cqe no;
	int64_t r;

	c->dead = false;
	c->refusal = 0;
	c->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->sock < 0)
		return -errno;
	if (connect(c->sock, (struct sockaddr *)&c->sa, c->salen)) {
		int err = -errno;

		close(c->sock);
		c->sock = -1;
		return err == -ECONNREFUSED ? -ENOTCONN : err;
	}
	r = control(c, &hello, NULL, &c->key);
	if (r == -ENOTCONN && !c->refusal &&
	    recv(c->sock, &no, sizeof(no), MSG_DONTWAIT) == sizeof(no) && !no.tag && no.result < 0)
		c->refusal = no.result;	/* refused before our HELLO got there */
	if (r < 0) {
		close(c->sock);
		c->sock = -1;
		c->dead = true;
		return r == -ENOTCONN && c->refusal ? (int)c->refusal : (int)r;
	}
	return 0;
}

int swapfs_client_open(struct swapfs_client **out, const char *path)
{
	struct swapfs_client *c;
	char name[sizeof(c->sa.sun_path) - 1];
	ssize_t n = getxattr(path, SWC_XATTR, name, sizeof(name) - 1);
	int err;

	*out = NULL;
	if (n < 0)
		return errno == ENODATA || errno == EOPNOTSUPP ? -ENOTSUP : -errno;
	if (n == 0)
		return -ENOTSUP;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->timeout_ms = 60000;
	c->ctl_fd = -1;
	for (unsigned i = 0; i < SWC_MAX_INFLIGHT; i++)
		c->free_slot[i] = SWC_MAX_INFLIGHT - 1 - i;
	c->nfree = SWC_MAX_INFLIGHT;
	c->sa.sun_family = AF_UNIX;
	memcpy(c->sa.sun_path + 1, name, (size_t)n);
	c->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	err = dial(c);
	if (err) {
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

/*
 * Nothing registered and nothing in flight: the daemon keeps no state of
 * this connection, and may have closed it as idle.
 */
static bool stateless(const struct swapfs_client *c)
{
	if (c->nfiles || c->inflight)
		return false;
	for (unsigned i = 0; i < c->nreg; i++)
		if (c->reg[i].used)
			return false;
	return true;
}

/* A stateless connection the daemon closed: connect again. */
static int redial(struct swapfs_client *c)
{
	if (!stateless(c))
		return -ENOTCONN;
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	c->ctl_done = true;
	return dial(c);
}

void swapfs_client_set_timeout(struct swapfs_client *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
}

/* A free entry of the region table (grown if need be), or -ENOMEM. */
static int region_slot(struct swapfs_client *c)
{
	struct region *n;
	int i;

	for (i = 0; i < (int)c->nreg && c->reg[i].used; i++)
		;
	if (i == (int)c->nreg) {
		n = realloc(c->reg, (c->nreg + 8) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		memset(n + c->nreg, 0, 8 * sizeof(*n));
		c->reg = n;
		c->nreg += 8;
	}
	return i;
}

/*
 * BUF_ADD: a buffer of len bytes the daemon registers, its id, and its
 * memfd (made and sealed at its size by the daemon, sent with the answer).
 */
static int64_t buf_add(struct swapfs_client *c, size_t len, int *fd, uint64_t *id)
{
	struct swc_req r = { .op = SWC_BUF_ADD, .len = len };
	struct stat st;
	int64_t res;

	*id = 0;
	res = control(c, &r, fd, id);
	if (res == -ENOTCONN && !redial(c))	/* closed as idle: once more */
		res = control(c, &r, fd, id);
	if (res >= 0 && (*fd < 0 || fstat(*fd, &st) || (uint64_t)st.st_size < len)) {
		struct swc_req del = { .op = SWC_BUF_DEL, .buf = (uint32_t)*id };

		(void)control(c, &del, NULL, NULL);	/* registered there, not usable here */
		res = -EPROTO;
	}
	if (res < 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return res;
}

static int region_new(struct swapfs_client *c, size_t len, bool bounce)
{
	uint64_t id;
	void *addr;
	int fd, i;
	int64_t res;

	len = (len + 4095) & ~(size_t)4095;
	if (!len)
		return -EINVAL;
	i = region_slot(c);
	if (i < 0)
		return i;
	res = buf_add(c, len, &fd, &id);
	if (res < 0)
		return (int)res;
	addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	res = addr == MAP_FAILED ? -errno : 0;
	close(fd);
	if (res < 0) {
		struct swc_req del = { .op = SWC_BUF_DEL, .buf = (uint32_t)id };

		(void)control(c, &del, NULL, NULL);
		return (int)res;
	}
	(void)madvise(addr, len, MADV_HUGEPAGE);
	(void)mlock(addr, len);	/* pinned where RLIMIT_MEMLOCK allows */
	c->reg[i] = (struct region){ addr, len, (uint32_t)id, true, bounce, false, false };
	if (bounce)
		c->bounce_bytes += len;
	return i;
}

/*
 * Ranges adopted by swapfs_buf_register, by any client of the process: one
 * daemon backs a range; adopting it again for another would silently take
 * the pages away from the first.
 */
static pthread_mutex_t adopted_lock = PTHREAD_MUTEX_INITIALIZER;
static struct adopted {
	const char *addr;
	size_t len;
	const struct swapfs_client *c;
} *adopted;
static size_t nadopted, capadopted;

/* Claim [addr, addr + len) for c: 0, -EBUSY (adopted already) or -ENOMEM. */
static int adopted_claim(const struct swapfs_client *c, const char *addr, size_t len)
{
	int err = 0;

	pthread_mutex_lock(&adopted_lock);
	for (size_t i = 0; i < nadopted && !err; i++)
		if (addr < adopted[i].addr + adopted[i].len && adopted[i].addr < addr + len)
			err = -EBUSY;
	if (!err && nadopted == capadopted) {
		struct adopted *n = realloc(adopted, (capadopted + 16) * sizeof(*n));

		if (n) {
			adopted = n;
			capadopted += 16;
		} else {
			err = -ENOMEM;
		}
	}
	if (!err)
		adopted[nadopted++] = (struct adopted){ addr, len, c };
	pthread_mutex_unlock(&adopted_lock);
	return err;
}

static void adopted_release(const struct swapfs_client *c, const char *addr)
{
	pthread_mutex_lock(&adopted_lock);
	for (size_t i = 0; i < nadopted; i++)
		if (adopted[i].c == c && adopted[i].addr == addr) {
			adopted[i] = adopted[--nadopted];
			break;
		}
	pthread_mutex_unlock(&adopted_lock);
}

/*
 * Whether the adoption may replace every mapping of [p, p + len): each must
 * be readable and writable (else -EACCES: read-only memory would come back
 * writable, a program's code would be replaced by data pages) and private,
 * or shared memory of the kernel's own (memfds, shared anonymous mappings:
 * device shm_dev); a shared mapping of a file would stop reaching the file,
 * so the caller's later stores would be lost for it (-EINVAL).  Where
 * /proc/self/maps cannot be read, nothing is checked.
 */
static int range_adoptable(const char *p, size_t len, dev_t shm_dev)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char *line = NULL, perms[5];
	size_t cap = 0;
	unsigned long lo, hi;
	unsigned maj, min;
	int err = 0;

	if (!f)
		return 0;
	while (!err && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%lx-%lx %4s %*x %x:%x", &lo, &hi, perms, &maj, &min) != 5 ||
		    hi <= (uintptr_t)p || lo >= (uintptr_t)p + len)
			continue;
		if (perms[0] != 'r' || perms[1] != 'w')
			err = -EACCES;
		else if (perms[3] == 's' && makedev(maj, min) != shm_dev)
			err = -EINVAL;
	}
	free(line);
	fclose(f);
	return err;
}

/*
 * Copy len bytes at src into dst without faulting on src: a range that is
 * mapped but not readable (PROT_NONE, a file mapping past its file's end)
 * gives -EFAULT, where a memcpy killed the caller with SIGSEGV or SIGBUS.
 */
static int copy_checked(void *dst, const void *src, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct iovec to = { (char *)dst + done, len - done };
		struct iovec from = { (char *)src + done, len - done };
		ssize_t n = process_vm_readv(getpid(), &to, 1, &from, 1, 0);

		if (n > 0) {
			done += (size_t)n;
		} else if (n == 0 || errno == EFAULT) {
			return -EFAULT;
		} else if (errno != EINTR) {
			/* not allowed here (seccomp, old kernel): msync found it mapped */
			memcpy(to.iov_base, from.iov_base, to.iov_len);
			return 0;
		}
	}
	return 0;
}

/*
 * Adopt the caller's memory: the daemon's memfd takes the place of the
 * pages at addr, with their bytes.  The daemon never takes a descriptor
 * from a client, so the buffer is the daemon's memfd (BUF_ADD), mapped at
 * a temporary address, filled from addr, then mapped over addr with
 * MAP_FIXED: one mmap replaces the caller's pages, so every other pointer
 * into the range (a tensor's data) sees the shared pages from then on.
 */
int swapfs_buf_register(struct swapfs_client *c, void *addr, size_t len)
{
	char *p = addr, *tmp;
	struct stat st;
	uint64_t id;
	int64_t res;
	int fd, i, err;

	if (!p || !len || ((uintptr_t)p & 4095) || (len & 4095) || (uintptr_t)p + len < (uintptr_t)p)
		return -EINVAL;
	for (unsigned k = 0; k < c->nreg; k++)
		if (c->reg[k].used && p < c->reg[k].addr + c->reg[k].len &&
		    c->reg[k].addr < p + len)
			return -EEXIST;	/* this client's already */
	if (msync(p, len, MS_ASYNC))	/* every page of the range mapped */
		return errno == ENOMEM ? -EFAULT : -errno;
	i = region_slot(c);
	if (i < 0)
		return i;
	err = adopted_claim(c, p, len);
	if (err)
		return err;	/* backed by another client's daemon: its I/O goes through bounce */
	res = buf_add(c, len, &fd, &id);
	if (res < 0) {
		adopted_release(c, p);
		return (int)res;
	}
	err = fstat(fd, &st) ? -errno : range_adoptable(p, len, st.st_dev);
	tmp = err ? MAP_FAILED : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (!err && tmp == MAP_FAILED)
		err = -errno;
	if (!err)
		err = copy_checked(tmp, p, len);
	if (!err) {
		if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE,
			 fd, 0) == MAP_FAILED) {
			err = -errno;
			/* a kernel that unmapped the range first: give it back the copy */
			if (msync(p, len, MS_ASYNC) && errno == ENOMEM &&
			    mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, p) != MAP_FAILED)
				tmp = MAP_FAILED;
		}
	}
	if (tmp != MAP_FAILED)
		munmap(tmp, len);
	close(fd);
	if (err) {
		struct swc_req del = { .op = SWC_BUF_DEL, .buf = (uint32_t)id };

		(void)control(c, &del, NULL, NULL);
		adopted_release(c, p);
		return err;
	}
	(void)madvise(p, len, MADV_HUGEPAGE);
	(void)mlock(p, len);	/* locked again (new pages), where RLIMIT_MEMLOCK allows */
	c->reg[i] = (struct region){ p, len, (uint32_t)id, true, false, false, true };
	return 0;
}

static int region_del(struct swapfs_client *c, int i)
{
	struct swc_req r = { .op = SWC_BUF_DEL, .buf = c->reg[i].id };
	int64_t res = c->dead ? 0 : control(c, &r, NULL, NULL);

	if (c->reg[i].external)
		adopted_release(c, c->reg[i].addr);	/* the mapping stays the caller's */
	else
		munmap(c->reg[i].addr, c->reg[i].len);
	if (c->reg[i].bounce)
		c->bounce_bytes -= c->reg[i].len;
	c->reg[i].used = false;
	return res == -ENOTCONN ? 0 : (int)res;
}

int swapfs_buf_alloc(struct swapfs_client *c, size_t len, void **addr)
{
	int i = region_new(c, len, false);

	if (i < 0)
		return i;
	*addr = c->reg[i].addr;
	return 0;
}

int swapfs_buf_free(struct swapfs_client *c, void *addr)
{
	for (unsigned i = 0; i < c->nreg; i++)
		if (c->reg[i].used && !c->reg[i].bounce && c->reg[i].addr == addr)
			return region_del(c, (int)i);
	return -EINVAL;
}

int swapfs_file_register(struct swapfs_client *c, int fd, uint64_t *size)
{
	struct swc_req r = { .op = SWC_FILE_ADD };
	struct swc_grant g;
	uint64_t id;
	int64_t res;

	if (fd < 0)
		return -EBADF;
	if (c->dead && (res = redial(c)))
		return (int)res;
	for (int attempt = 0;; attempt++) {
		/* the proof of access: through the mount, from this very open file */
		g = (struct swc_grant){ .key = c->key };
		if (ioctl(fd, SWC_IOC_GRANT, &g))
			return errno == ENOTTY || errno == ENOSYS || errno == EOPNOTSUPP ?
			       -EXDEV : -errno;	/* not a file of a swapfs mount */
		r.off = g.id;
		res = control(c, &r, NULL, &id);
		if (res != -ENOTCONN || attempt || redial(c))
			break;	/* else closed as idle: again on a new connection */
	}
	if (res < 0)
		return (int)res;
	c->nfiles++;
	if (size)
		*size = (uint64_t)res;
	return (int)id;
}

int swapfs_file_unregister(struct swapfs_client *c, int file)
{
	struct swc_req r = { .op = SWC_FILE_DEL, .file = (uint32_t)file };
	int res = file < 0 ? -EBADF : (int)control(c, &r, NULL, NULL);

	if (res != -EBADF && c->nfiles)
		c->nfiles--;	/* the daemon let it go, or is gone */
	return res;
}

int swapfs_fsync(struct swapfs_client *c, int file)
{
	struct swc_req r = { .op = SWC_FSYNC, .file = (uint32_t)file };

	return file < 0 ? -EBADF : (int)control(c, &r, NULL, NULL);
}

/* The registered buffer holding [buf, buf + len), or -1. */
static int find_region(const struct swapfs_client *c, const void *buf, size_t len)
{
	const char *p = buf;

	for (unsigned i = 0; i < c->nreg; i++) {
		const struct region *r = &c->reg[i];

		if (r->used && !r->bounce && p >= r->addr && len <= r->len &&
		    (size_t)(p - r->addr) <= r->len - len)
			return (int)i;
	}
	return -1;
}

/* An idle bounce region of at least len bytes, registered if need be. */
static int get_bounce(struct swapfs_client *c, size_t len)
{
	int best = -1;

	for (unsigned i = 0; i < c->nreg; i++) {
		struct region *r = &c->reg[i];

		if (r->used && r->bounce && !r->busy && r->len >= len &&
		    (best < 0 || r->len < c->reg[best].len))
			best = (int)i;
	}
	if (best >= 0)
		return best;
	/* make room: idle bounce regions beyond what is kept go first */
	for (unsigned i = 0; i < c->nreg && c->bounce_bytes + len > BOUNCE_KEEP; i++)
		if (c->reg[i].used && c->reg[i].bounce && !c->reg[i].busy)
			region_del(c, (int)i);
	return region_new(c, len < BOUNCE_MIN ? BOUNCE_MIN : len, true);
}

int swapfs_submit(struct swapfs_client *c, const struct swapfs_io *io, unsigned n)
{
	struct swc_req batch[SWC_MAX_BATCH];
	unsigned nb = 0, done = 0;
	int err = 0;

	if (c->dead)
		return -ENOTCONN;
	for (; done < n; done++) {
		const struct swapfs_io *x = &io[done];
		int reg, bounce = -1;
		unsigned s;
		uint64_t off;

		if ((x->op != SWAPFS_READ && x->op != SWAPFS_WRITE) || x->file < 0 ||
		    (!x->buf && x->len)) {
			err = -EINVAL;
			break;
		}
		if (!c->nfree)
			break;	/* the in-flight limit: collect completions first */
		reg = find_region(c, x->buf, x->len);
		if (reg < 0) {
			if (nb && (err = send_reqs(c, batch, nb)))
				break;
			nb = 0;
			bounce = reg = get_bounce(c, x->len ? x->len : 1);
			if (reg < 0) {
				err = reg;
				break;
			}
			c->reg[reg].busy = true;
			if (x->op == SWAPFS_WRITE)
				memcpy(c->reg[reg].addr, x->buf, x->len);
			off = 0;
		} else {
			off = (uint64_t)((const char *)x->buf - c->reg[reg].addr);
		}
		s = c->free_slot[--c->nfree];
		c->slot[s] = (struct slot){ true, x->op, bounce, x->buf, x->user_data };
		c->inflight++;
		batch[nb++] = (struct swc_req){ .op = x->op == SWAPFS_READ ? SWC_READ : SWC_WRITE,
						.file = (uint32_t)x->file, .buf = c->reg[reg].id,
						.buf_off = off, .off = x->off, .len = x->len, .tag = s };
		if (nb == SWC_MAX_BATCH) {
			if ((err = send_reqs(c, batch, nb)))
				break;
			nb = 0;
		}
	}
	if (nb && !err)
		err = send_reqs(c, batch, nb);
	if (err == -ENOTCONN)
		return done ? (int)done : err;
	return done ? (int)done : (err ? err : -EAGAIN);
}

int swapfs_wait(struct swapfs_client *c, struct swapfs_cqe *cqe, unsigned min,
		unsigned max, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
	size_t n;

	if (min > max)
		return -EINVAL;
	if (min > c->nready + c->inflight)
		min = (unsigned)(c->nready + c->inflight);	/* never wait for nothing */
	while (!c->dead && c->nready < min) {
		int64_t left = deadline == INT64_MAX ? -1 : deadline - now_ms();
		int err;

		if (deadline != INT64_MAX && left <= 0)
			return -ETIMEDOUT;
		err = receive(c, left > INT32_MAX ? INT32_MAX : (int)left);
		if (err < 0 && err != -ETIMEDOUT && err != -ENOTCONN)
			return err;
	}
	while (!c->dead && c->nready < max && receive(c, 0) > 0)
		;	/* whatever else has arrived */
	if (!c->nready && c->dead && min)
		return -ENOTCONN;
	n = c->nready < max ? c->nready : max;
	memcpy(cqe, c->ready, n * sizeof(*cqe));
	memmove(c->ready, c->ready + n, (c->nready - n) * sizeof(*cqe));
	c->nready -= n;
	return (int)n;
}

unsigned swapfs_inflight(const struct swapfs_client *c)
{
	return c->inflight + (unsigned)c->nready;
}

void swapfs_client_close(struct swapfs_client *c)
{
	int64_t deadline;

	if (!c)
		return;
	deadline = now_ms() + c->timeout_ms;
	while (!c->dead && c->inflight && now_ms() < deadline)
		receive(c, (int)(deadline - now_ms()));
	if (c->sock >= 0)
		close(c->sock);	/* the daemon unregisters files and buffers */
	if (c->ctl_fd >= 0)
		close(c->ctl_fd);
	for (unsigned i = 0; i < c->nreg; i++) {
		if (!c->reg[i].used)
			continue;
		if (c->reg[i].external)
			adopted_release(c, c->reg[i].addr);	/* the mapping stays the caller's */
		else
			munmap(c->reg[i].addr, c->reg[i].len);
	}
	free(c->reg);
	free(c->ready);
	free(c);
}

/*
 * client_srv.c - the daemon's side of the client path (fs/client/proto.h).
 *
 * A listener thread accepts libswapfs connections on an abstract Unix
 * socket; each connection gets a thread with its own io_uring ring that
 * reads request batches, starts them (fs/direct.c) and keeps reaping
 * completions, so many requests of one application thread are in flight on
 * every member at once.  Completed writes pass through the notifier
 * thread, which invalidates the kernel's cached pages and attributes of
 * the range before the application hears of it: a read or stat through
 * the mount right after sees the new bytes and size.  Invalidation runs
 * there and not on the connection thread because the kernel may wait on a
 * page whose FUSE read waits for that thread's I/O.
 *
 * The application names files by descriptors it opened on this mount: the
 * kernel already checked its permissions, and the descriptor's access mode
 * limits what it may do.  The daemon looks at the descriptor through
 * /proc/PID/fdinfo of the sender (SCM_CREDENTIALS, pinned by SCM_PIDFD)
 * rather than receiving it, so it never holds a descriptor of its own
 * mount, and keeps the inode open (nopen) while registered.  Buffers are memfds sealed against shrinking, so a client can
 * never make the daemon fault on its memory.  Only a connection's own
 * thread writes to its socket, never blocking; a client that stops reading
 * its completions for SEND_TIMEOUT_S is disconnected.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/proto.h"
#include "direct.h"
#include "util.h"

#define MAX_CONNS 64
#define SEND_TIMEOUT_S 10
#define MAX_BUF_BYTES (1ull << 40)

struct cfile {
	struct sw_inode *ino;
	bool used, rd, wr;
	unsigned inflight;	/* conn lock */
};

struct cbuf {
	char *addr;
	size_t len;
	bool used;
	unsigned inflight;	/* conn lock */
};

struct conn {
	struct sw_csrv *srv;
	int sock;
	struct ucred cred;
	pthread_t tid;
	struct cfile *files;
	unsigned nfiles;
	struct cbuf *bufs;
	unsigned nbufs;
	pthread_mutex_t lock;	/* out, inflight counts, dead */
	pthread_cond_t cond;	/* inflight dropped */
	int efd;		/* wakes the connection's thread: answers to send */
	struct swc_cqe *out;	/* answers not yet sent, oldest first */
	size_t nout, capout;
	double stalled_since;	/* the client stopped taking answers (0: it takes them) */
	unsigned inflight;
	bool dead, finished;
	struct conn *next;
};

struct creq {
	struct sw_dio d;
	struct conn *c;
	uint32_t file, buf;
	uint64_t tag;
	struct creq *next;	/* notifier queue */
	int64_t result;
};

struct sw_csrv {
	struct swapfs *fs;
	struct fuse_session *se;
	int lsock, stop_efd;
	dev_t dev;
	char name[64];		/* abstract name, without the leading NUL */
	pthread_t listener, notifier;
	pthread_mutex_t lock;	/* conns, nq */
	pthread_cond_t nq_cond;
	struct conn *conns;
	unsigned nconns;
	struct creq *nq_head, *nq_tail;
	bool stopping;
};

/* ---- completions ------------------------------------------------------- */

static void drop(struct conn *c, const char *why)
{
	if (!c->dead)
		sw_log(c->srv->fs, "client pid %d: %s: disconnecting", (int)c->cred.pid, why);
	c->dead = true;
	shutdown(c->sock, SHUT_RDWR);
}

/*
 * Send what is queued without blocking (connection thread, conn lock held).
 * A client whose socket stays full for SEND_TIMEOUT_S is dropped; no
 * other thread ever waits on a client's socket.
 */
static void flush_out(struct conn *c)
{
	size_t sent = 0;

	while (sent < c->nout && !c->dead) {
		size_t n = c->nout - sent < 256 ? c->nout - sent : 256;
		ssize_t r = send(c->sock, c->out + sent, n * sizeof(*c->out),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			if (!c->stalled_since)
				c->stalled_since = now_seconds();
			else if (now_seconds() - c->stalled_since > SEND_TIMEOUT_S)
				drop(c, "not reading its completions");
			break;
		}
		if (r != (ssize_t)(n * sizeof(*c->out))) {
			drop(c, r < 0 ? strerror(errno) : "short send");
			break;
		}
		sent += n;
		c->stalled_since = 0;
	}
	if (c->dead)
		sent = c->nout;
	memmove(c->out, c->out + sent, (c->nout - sent) * sizeof(*c->out));
	c->nout -= sent;
}

static void wake(struct conn *c)
{
	uint64_t one = 1;

	if (write(c->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		drop(c, "cannot wake its thread");
}

static void push_cqe(struct conn *c, uint64_t tag, int64_t result, uint64_t value)
{
	if (c->nout == c->capout) {
		size_t ncap = c->capout ? c->capout * 2 : 64;
		struct swc_cqe *n = realloc(c->out, ncap * sizeof(*n));

		if (!n) {	/* cannot tell the client: it must not wait forever */
			drop(c, "out of memory");
			return;
		}
		c->out = n;
		c->capout = ncap;
	}
	c->out[c->nout++] = (struct swc_cqe){ tag, result, value };
}

/* Complete a data request: its counts drop, its answer is queued for the connection's thread. */
static void complete_req(struct creq *q, int64_t result)
{
	struct conn *c = q->c;

	pthread_mutex_lock(&c->lock);
	push_cqe(c, q->tag, result, 0);
	c->files[q->file].inflight--;
	c->bufs[q->buf].inflight--;
	c->inflight--;
	wake(c);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	free(q);
}

static void *notifier(void *arg)
{
	struct sw_csrv *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct creq *q;

		while (!s->nq_head && !s->stopping)
			pthread_cond_wait(&s->nq_cond, &s->lock);
		if (!s->nq_head)
			break;
		q = s->nq_head;
		s->nq_head = NULL;
		s->nq_tail = NULL;
		pthread_mutex_unlock(&s->lock);
		while (q) {
			struct creq *next = q->next;
			int err = 0;

			/* a completed write: the kernel's cached pages and size go */
			if (q->d.write && q->result > 0)
				err = fuse_lowlevel_notify_inval_inode(s->se, q->d.ino->a.ino,
								       (off_t)q->d.off, (off_t)q->d.len);
			/* -ENOENT: the kernel holds nothing of it */
			if (err && err != -ENOENT)
				sw_log(s->fs, "invalidating inode %llu: %s",
				       (unsigned long long)q->d.ino->a.ino, strerror(-err));
			complete_req(q, q->result);
			q = next;
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/*
 * sw_dio done(): on an I/O thread, or the connection's thread when the
 * request finished at once.  The notifier sends every answer, so an I/O
 * thread never blocks on a client's socket.
 */
static void dio_done(struct sw_dio *d, int64_t result)
{
	struct creq *q = d->priv;
	struct sw_csrv *s = q->c->srv;

	q->result = result;
	q->next = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->nq_tail)
		s->nq_tail->next = q;
	else
		s->nq_head = q;
	s->nq_tail = q;
	pthread_cond_signal(&s->nq_cond);
	pthread_mutex_unlock(&s->lock);
}

/* ---- requests ------------------------------------------------------------ */

/* Wait until busy() is false: completions come from the I/O threads. */
static void wait_quiet(struct conn *c, bool (*busy)(struct conn *c, uint32_t id), uint32_t id)
{
	pthread_mutex_lock(&c->lock);
	while (busy(c, id))
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

static bool file_busy(struct conn *c, uint32_t id) { return c->files[id].inflight; }
static bool buf_busy(struct conn *c, uint32_t id) { return c->bufs[id].inflight; }
static bool conn_busy(struct conn *c, uint32_t id) { (void)id; return c->inflight; }

/* Sixteen more unused (zeroed) slots at the end of an id-indexed array. */
static int grow_slots(void **arr, unsigned *n, size_t size)
{
	char *p = realloc(*arr, (*n + 16) * size);

	if (!p)
		return -ENOMEM;
	memset(p + *n * size, 0, 16 * size);
	*arr = p;
	*n += 16;
	return 0;
}

static struct cfile *get_file(struct conn *c, uint32_t id)
{
	return id < c->nfiles && c->files[id].used ? &c->files[id] : NULL;
}

/*
 * The sender's descriptor fdnum, seen through /proc: its open flags (what
 * the kernel granted at open) and the file it names.  The daemon never
 * holds a descriptor of its own mount: closing one sends it a FLUSH, and
 * a daemon killed while waiting for that answer could never exit.  pidfd
 * (SCM_PIDFD) pins the sender: if it is still alive after the reads, its
 * pid was not reused meanwhile.
 */
static int peek_fd(pid_t pid, int pidfd, uint32_t fdnum, int *flags, struct stat *st)
{
	char path[64], line[128];
	FILE *f;
	int fl = -1;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%u", (int)pid, fdnum);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -EBADF : -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %o", (unsigned *)&fl) == 1)
			break;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/fd/%u", (int)pid, fdnum);
	if (fl < 0 || stat(path, st))
		return fl < 0 ? -EBADF : -errno;
	if (pidfd >= 0) {
		struct pollfd p = { pidfd, POLLIN, 0 };

		if (poll(&p, 1, 0) != 0)
			return -ESRCH;	/* the sender is gone: the pid may name another process */
	}
	*flags = fl;
	return 0;
}

static int file_add(struct conn *c, pid_t pid, int pidfd, uint32_t fdnum, uint64_t *id,
		    int64_t *size)
{
	struct swapfs *fs = c->srv->fs;
	struct sw_inode *ino;
	struct stat st;
	int fl = 0, err = pid > 0 ? peek_fd(pid, pidfd, fdnum, &fl, &st) : -EPERM;
	unsigned i;

	if (err)
		return err;
	if ((fl & O_PATH) || (fl & O_ACCMODE) == 3)
		return -EBADF;
	if (st.st_dev != c->srv->dev)
		return -EXDEV;	/* not a file of this mount */
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, st.st_ino);
	if (ino) {
		ino->nopen++;
		*size = (int64_t)ino->a.size;	/* client writes in flight change it under the lock */
	}
	pthread_mutex_unlock(&fs->meta.lock);
	if (!ino)
		return -ESTALE;
	for (i = 0; i < c->nfiles && c->files[i].used; i++)
		;
	if (i == c->nfiles && grow_slots((void **)&c->files, &c->nfiles, sizeof(*c->files))) {
		sw_inode_close(fs, ino);
		return -ENOMEM;
	}
	c->files[i] = (struct cfile){ .ino = ino, .used = true,
				      .rd = (fl & O_ACCMODE) != O_WRONLY,
				      .wr = (fl & O_ACCMODE) != O_RDONLY };
	*id = i;
	return 0;
}

/* Close semantics: the file's data and metadata survive a daemon crash. */
static int file_del(struct conn *c, uint32_t id)
{
	struct swapfs *fs = c->srv->fs;
	struct cfile *f = get_file(c, id);
	int err;

	if (!f)
		return -EBADF;
	wait_quiet(c, file_busy, id);
	err = f->wr ? sw_sync_file(fs, f->ino->a.ino, false) : 0;
	f->used = false;
	sw_inode_close(fs, f->ino);
	return err;
}

/*
 * -o client_fixed: register (or drop) a buffer as a fixed buffer of every
 * I/O thread's ring, on that thread (the rings are single-issuer), and
 * wait until all have.  A ring with no room simply does plain I/O on it.
 */
struct ring_call {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned left, refused;
	void *addr;
	size_t len;
	bool add;
};

static void ring_call_run(struct sw_job *job, struct swe_ring *ring)
{
	struct ring_call *rc = job->priv;

	if (!rc->add)
		swe_ring_unregister_buffer(ring, rc->addr);
	else if (swe_ring_register_buffer(ring, rc->addr, rc->len))
		job->error = -EOPNOTSUPP;
}

static void ring_call_done(struct sw_job *job, int error)
{
	struct ring_call *rc = job->priv;

	pthread_mutex_lock(&rc->lock);
	rc->refused += error != 0;
	rc->left--;
	pthread_cond_signal(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
	free(job);
}

static void fixed_buffer(struct swapfs *fs, void *addr, size_t len, bool add)
{
	struct ring_call rc = { .addr = addr, .len = len, .add = add };

	pthread_mutex_init(&rc.lock, NULL);
	pthread_cond_init(&rc.cond, NULL);
	for (unsigned i = 0; i < fs->nio; i++) {
		struct sw_job *job = sw_job_new(0);

		if (!job)
			continue;
		job->run = ring_call_run;
		job->done = ring_call_done;
		job->priv = &rc;
		pthread_mutex_lock(&rc.lock);
		rc.left++;
		pthread_mutex_unlock(&rc.lock);
		sw_iothread_submit(&fs->io[i], job);
	}
	pthread_mutex_lock(&rc.lock);
	while (rc.left)
		pthread_cond_wait(&rc.cond, &rc.lock);
	pthread_mutex_unlock(&rc.lock);
	pthread_cond_destroy(&rc.cond);
	pthread_mutex_destroy(&rc.lock);
	if (rc.refused)
		sw_log(fs, "a %zu-byte client buffer is not a fixed buffer of %u of %u rings "
		       "(I/O on it still works)", len, rc.refused, fs->nio);
}

static void unmap_buf(struct conn *c, struct cbuf *b)
{
	if (c->srv->fs->client_fixed)
		fixed_buffer(c->srv->fs, b->addr, b->len, false);
	munmap(b->addr, b->len);
	b->used = false;
}

static int buf_add(struct conn *c, int fd, uint64_t len, uint64_t *id)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);
	void *addr;
	unsigned i;

	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EPERM;	/* only memfds that cannot shrink under us */
	if (fstat(fd, &st))
		return -errno;
	if (!len || len > MAX_BUF_BYTES || len > (uint64_t)st.st_size)
		return -EINVAL;
	addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED)
		return -errno;
	for (i = 0; i < c->nbufs && c->bufs[i].used; i++)
		;
	if (i == c->nbufs && grow_slots((void **)&c->bufs, &c->nbufs, sizeof(*c->bufs))) {
		munmap(addr, len);
		return -ENOMEM;
	}
	c->bufs[i] = (struct cbuf){ .addr = addr, .len = len, .used = true };
	if (c->srv->fs->client_fixed)
		fixed_buffer(c->srv->fs, addr, len, true);
	*id = i;
	return 0;
}

static int buf_del(struct conn *c, uint32_t id)
{
	if (id >= c->nbufs || !c->bufs[id].used)
		return -EBADF;
	wait_quiet(c, buf_busy, id);
	unmap_buf(c, &c->bufs[id]);
	return 0;
}

/* Start a read or write; its completion comes later unless it fails now. */
static int start_io(struct conn *c, const struct swc_req *r)
{
	struct cfile *f = get_file(c, r->file);
	struct cbuf *b = r->buf < c->nbufs && c->bufs[r->buf].used ? &c->bufs[r->buf] : NULL;
	bool write = r->op == SWC_WRITE;
	struct creq *q;
	int err;

	if (!f || !b || (write ? !f->wr : !f->rd))
		return -EBADF;
	if (r->flags || r->len > SWC_MAX_IO || r->buf_off > b->len || r->len > b->len - r->buf_off)
		return -EINVAL;
	if (r->off > SW_MAX_FILE_SIZE || r->len > SW_MAX_FILE_SIZE - r->off)
		return write ? -EFBIG : -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	*q = (struct creq){ .c = c, .file = r->file, .buf = r->buf, .tag = r->tag };
	q->d = (struct sw_dio){ .ino = f->ino, .write = write, .uid = c->cred.uid,
				.off = r->off, .len = r->len, .buf = b->addr + r->buf_off,
				.done = dio_done, .priv = q };
	pthread_mutex_lock(&c->lock);
	c->inflight++;
	f->inflight++;
	b->inflight++;
	pthread_mutex_unlock(&c->lock);
	err = sw_dio_start(c->srv->fs, &q->d);
	if (err < 0) {
		pthread_mutex_lock(&c->lock);
		c->inflight--;
		f->inflight--;
		b->inflight--;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		free(q);
		return err;
	}
	return 0;
}

static void answer(struct conn *c, uint64_t tag, int64_t result, uint64_t value)
{
	pthread_mutex_lock(&c->lock);
	push_cqe(c, tag, result, value);
	pthread_mutex_unlock(&c->lock);
}

static void handle(struct conn *c, const struct swc_req *r, int fd, pid_t pid, int pidfd)
{
	struct swapfs *fs = c->srv->fs;
	uint64_t value = 0;
	int64_t result = 0;
	unsigned inflight;

	if ((r->op == SWC_BUF_ADD) != (fd >= 0)) {
		result = -EINVAL;	/* a descriptor where none belongs, or none */
	} else {
		switch (r->op) {
		case SWC_HELLO:
			value = SWC_VERSION;
			result = r->len == SWC_VERSION ? 0 : -EPROTO;
			break;
		case SWC_BUF_ADD:
			result = buf_add(c, fd, r->len, &value);
			break;
		case SWC_BUF_DEL:
			result = buf_del(c, r->buf);
			break;
		case SWC_FILE_ADD: {
			int64_t size = 0;

			result = file_add(c, pid, pidfd, r->file, &value, &size);
			if (!result)
				result = size;
			break;
		}
		case SWC_FILE_DEL:
			result = file_del(c, r->file);
			break;
		case SWC_READ:
		case SWC_WRITE:
			pthread_mutex_lock(&c->lock);
			inflight = c->inflight;
			pthread_mutex_unlock(&c->lock);
			result = inflight >= SWC_MAX_INFLIGHT ? -EAGAIN : start_io(c, r);
			if (!result)
				return;	/* answered when it completes */
			break;
		case SWC_FSYNC:
			if (!get_file(c, r->file)) {
				result = -EBADF;
				break;
			}
			wait_quiet(c, file_busy, r->file);
			result = sw_sync_file(fs, c->files[r->file].ino->a.ino, true);
			break;
		default:
			result = -EOPNOTSUPP;
		}
	}
	if (fd >= 0)
		close(fd);
	answer(c, r->tag, result, value);
}

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76		/* Linux 6.5 */
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

/* One message: a batch of requests, perhaps with one descriptor (a buffer). */
static int receive(struct conn *c)
{
	struct swc_req req[SWC_MAX_BATCH];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4) + CMSG_SPACE(sizeof(int)) +
		       CMSG_SPACE(sizeof(struct ucred))];
	} cm;
	struct iovec iov = { req, sizeof(req) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cm.b, .msg_controllen = sizeof(cm.b) };
	ssize_t n = recvmsg(c->sock, &msg, MSG_CMSG_CLOEXEC);
	struct ucred sender = { 0, 0, 0 };
	int fd = -1, pidfd = -1;
	size_t count;

	if (n < 0)
		return errno == EINTR ? 1 : -errno;
	if (n == 0)
		return -ECONNRESET;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
		if (h->cmsg_level != SOL_SOCKET)
			continue;
		if (h->cmsg_type == SCM_CREDENTIALS && h->cmsg_len >= CMSG_LEN(sizeof(sender))) {
			memcpy(&sender, CMSG_DATA(h), sizeof(sender));
		} else if (h->cmsg_type == SCM_PIDFD && h->cmsg_len >= CMSG_LEN(sizeof(int))) {
			memcpy(&pidfd, CMSG_DATA(h), sizeof(int));
		} else if (h->cmsg_type == SCM_RIGHTS) {
			size_t nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < nfd; i++) {
				int x;

				memcpy(&x, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
				if (fd < 0 && nfd == 1)
					fd = x;
				else
					close(x);
			}
		}
	}
	count = (size_t)n / sizeof(req[0]);
	if ((size_t)n % sizeof(req[0]) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (fd >= 0 && count != 1)) {
		if (fd >= 0)
			close(fd);
		if (pidfd >= 0)
			close(pidfd);
		sw_log(c->srv->fs, "client pid %d: malformed message: disconnecting",
		       (int)c->cred.pid);
		return -EPROTO;
	}
	for (size_t i = 0; i < count; i++)
		handle(c, &req[i], i == 0 ? fd : -1, sender.pid, pidfd);
	if (pidfd >= 0)
		close(pidfd);
	return 1;
}

static void conn_free(struct conn *c)
{
	struct sw_csrv *s = c->srv;

	for (unsigned i = 0; i < c->nfiles; i++)
		if (c->files[i].used)
			file_del(c, i);
	for (unsigned i = 0; i < c->nbufs; i++)
		if (c->bufs[i].used)
			unmap_buf(c, &c->bufs[i]);
	close(c->sock);
	close(c->efd);
	free(c->files);
	free(c->bufs);
	free(c->out);
	pthread_mutex_lock(&s->lock);
	c->finished = true;
	pthread_mutex_unlock(&s->lock);
}

/* Requests in, answers out: sleeps until either can move. */
static void *conn_main(void *arg)
{
	struct conn *c = arg;

	for (;;) {
		struct pollfd p[2] = { { c->sock, POLLIN, 0 }, { c->efd, POLLIN, 0 } };
		bool backlog;
		uint64_t n;

		pthread_mutex_lock(&c->lock);
		backlog = c->nout > 0;
		pthread_mutex_unlock(&c->lock);
		if (backlog)
			p[0].events |= POLLOUT;
		if (poll(p, 2, backlog ? 1000 : -1) < 0 && errno != EINTR)
			break;
		if ((p[1].revents & POLLIN) && read(c->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			break;
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && receive(c) <= 0)
			break;
		pthread_mutex_lock(&c->lock);
		flush_out(c);
		n = c->dead;
		pthread_mutex_unlock(&c->lock);
		if (n)
			break;
	}
	wait_quiet(c, conn_busy, 0);
	conn_free(c);
	return NULL;
}

/* ---- listener ---------------------------------------------------------- */

static void reap_finished(struct sw_csrv *s, bool all)
{
	pthread_mutex_lock(&s->lock);
	for (struct conn **p = &s->conns; *p;) {
		struct conn *c = *p;

		if (!c->finished && !all) {
			p = &c->next;
			continue;
		}
		*p = c->next;
		s->nconns--;
		pthread_mutex_unlock(&s->lock);
		if (all)
			shutdown(c->sock, SHUT_RDWR);
		pthread_join(c->tid, NULL);
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->cond);
		free(c);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
}

static void *listener(void *arg)
{
	struct sw_csrv *s = arg;
	struct pollfd p[2] = { { s->lsock, POLLIN, 0 }, { s->stop_efd, POLLIN, 0 } };

	for (;;) {
		struct conn *c;
		socklen_t cl = sizeof(struct ucred);
		int fd, one = 1;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(s->lsock, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		reap_finished(s, false);
		c = calloc(1, sizeof(*c));
		if (!c || s->nconns >= MAX_CONNS) {
			sw_log(s->fs, "client refused: %s", c ? "too many connections" : "out of memory");
			free(c);
			close(fd);
			continue;
		}
		c->srv = s;
		c->sock = fd;
		c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->efd < 0) {
			sw_log(s->fs, "client refused: %s", strerror(errno));
			close(fd);
			free(c);
			continue;
		}
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &cl);
		/* every message says who sent it: FILE_ADD reads its descriptor through /proc */
		setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one));	/* 6.5+: pid pinned */
		pthread_mutex_init(&c->lock, NULL);
		pthread_cond_init(&c->cond, NULL);
		if (pthread_create(&c->tid, NULL, conn_main, c)) {
			sw_log(s->fs, "client refused: cannot start a thread");
			close(c->efd);
			close(fd);
			free(c);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		c->next = s->conns;
		s->conns = c;
		s->nconns++;
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

static void stop_notifier(struct sw_csrv *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->nq_cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->notifier, NULL);
}

int sw_csrv_start(struct swapfs *fs, struct fuse_session *se)
{
	struct sw_csrv *s;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned maj, min;
	socklen_t len;
	char uuid[33];

	if (sscanf(fs->bdi, "%u:%u", &maj, &min) != 2)
		return -ENODEV;	/* the mount's device number is unknown */
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fs = fs;
	s->se = se;
	s->dev = makedev(maj, min);
	for (int i = 0; i < 16; i++)
		snprintf(uuid + 2 * i, 3, "%02x", fs->sb.fs_uuid.b[i]);
	snprintf(s->name, sizeof(s->name), "swapfs/%s/%d", uuid, (int)getpid());
	memcpy(sa.sun_path + 1, s->name, strlen(s->name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(s->name));
	s->lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	s->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (s->lsock < 0 || s->stop_efd < 0 || bind(s->lsock, (struct sockaddr *)&sa, len) ||
	    listen(s->lsock, 16)) {
		int err = -errno;

		if (s->lsock >= 0)
			close(s->lsock);
		if (s->stop_efd >= 0)
			close(s->stop_efd);
		free(s);
		return err;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->nq_cond, NULL);
	if (pthread_create(&s->notifier, NULL, notifier, s)) {
		close(s->lsock);
		close(s->stop_efd);
		free(s);
		return -EAGAIN;
	}
	if (pthread_create(&s->listener, NULL, listener, s)) {
		stop_notifier(s);
		close(s->lsock);
		close(s->stop_efd);
		free(s);
		return -EAGAIN;
	}
	fs->csrv = s;
	return 0;
}

void sw_csrv_stop(struct swapfs *fs)
{
	struct sw_csrv *s = fs->csrv;
	uint64_t one = 1;

	if (!s)
		return;
	if (write(s->stop_efd, &one, sizeof(one)) != sizeof(one))
		sw_log(fs, "stopping the client listener: %s", strerror(errno));
	pthread_join(s->listener, NULL);
	close(s->lsock);
	reap_finished(s, true);	/* each connection drains its requests first */
	stop_notifier(s);
	close(s->stop_efd);
	fs->csrv = NULL;
	free(s);
}

const char *sw_csrv_name(const struct swapfs *fs)
{
	return fs->csrv ? fs->csrv->name : NULL;
}

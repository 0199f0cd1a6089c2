/*
 * client_srv.c - the daemon's side of the client path (fs/client/proto.h).
 *
 * A listener thread accepts libswapfs connections on an abstract Unix
 * socket; each connection gets a thread with its own io_uring ring that
 * reads request batches, starts them (fs/daemon/direct.c) and keeps reaping
 * completions, so many requests of one application thread are in flight on
 * every member at once.  Completed writes pass through the notifier
 * thread, which invalidates the kernel's cached pages and attributes of
 * the range before the application hears of it: a read or stat through
 * the mount right after sees the new bytes and size.  Invalidation runs
 * there and not on the connection thread because the kernel may wait on a
 * page whose FUSE read waits for that thread's I/O.
 *
 * The application names files by descriptors it opened on this mount: the
 * kernel already checked its permissions at open, and the descriptor's
 * access mode limits what it may do.  The proof comes through the mount
 * itself: the SWC_IOC_GRANT ioctl on the descriptor reaches this daemon
 * (sw_csrv_ioctl) with the handle of that very open file, whose access
 * mode open() recorded (SW_FH_*), and leaves a one-time grant of that
 * inode and mode on the connection that the ioctl names by its key; the
 * connection's FILE_ADD redeems it.  Nothing is looked up by descriptor
 * number, so no dup2() can swap the file between the check and the use,
 * and an O_PATH descriptor cannot do ioctls at all.  The daemon never
 * holds a descriptor of its own mount (closing one would send it a FLUSH)
 * and keeps the inode open (nopen) while registered.  Nor any other
 * descriptor of a client (close() of a FUSE file waits for its FLUSH:
 * this mount's, or another one's whose daemon never answers): where the
 * kernel has SO_PASSRIGHTS a client cannot even send one, and messages are
 * received with no room for SCM_RIGHTS, so the kernel drops what a client
 * attaches without installing it.  Buffers are memfds the daemon makes,
 * sealed at their size, mapped here and sent to the client with the
 * BUF_ADD answer, so a client can never make the daemon fault on its
 * memory.  A connection registers at most SWC_MAX_FILES files and
 * SWC_MAX_BUFS buffers of SWC_MAX_BUF_BYTES in all.  Only a connection's
 * own thread writes to its socket, never blocking; a client that stops reading its completions for
 * SEND_TIMEOUT_S is disconnected.
 *
 * Connections are limited per user (MAX_CONNS_PER_UID, MAX_CONNS in all)
 * and one that holds nothing registered for SWAPFS_CLIENT_IDLE seconds is
 * closed, so no local user can lock others out; root and the mount's owner
 * have PRIV_CONNS of their own and are never timed out.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs/client/proto.h"
#include "fs/daemon/client_srv.h"
#include "fs/daemon/direct.h"
#include "fs/daemon/lifetime.h"
#include "fs/daemon/sync.h"
#include "fs/lib/fslib.h"

#define MAX_CONNS 256		/* of users other than root and the mount's owner */
#define MAX_CONNS_PER_UID 64	/* of one such user */
#define PRIV_CONNS 256		/* of root and the mount's owner, besides */
#define IDLE_DEFAULT_S 60	/* SWAPFS_CLIENT_IDLE: nothing registered that long: closed */
#define MAX_GRANTS 16		/* SWC_IOC_GRANT grants not yet redeemed, per connection */
#define SEND_TIMEOUT_S 10

/* Linux 6.16: 0 makes a sender's SCM_RIGHTS fail (EPERM); asm-generic value */
#if !defined(SO_PASSRIGHTS) && (defined(__x86_64__) || defined(__i386__) || \
				defined(__aarch64__) || defined(__riscv))
#define SO_PASSRIGHTS 83
#endif

struct cfile {
	struct sw_inode *ino;
	struct sw_errseen seen;	/* write-behind errors told to this registration */
	bool used, rd, wr;
	unsigned inflight;	/* conn lock */
};

struct cbuf {
	char *addr;
	size_t len;
	bool used;
	unsigned inflight;	/* conn lock */
};

/* A SWC_IOC_GRANT not yet redeemed by FILE_ADD (conn lock). */
struct grant {
	uint64_t id;		/* 0: none */
	fuse_ino_t ino;
	bool rd, wr;
};

struct conn {
	struct sw_csrv *srv;
	int sock;
	struct ucred cred;
	bool privileged;	/* root or the mount's owner: no limits */
	bool leaving;		/* its client is gone: no longer counted (srv lock) */
	uint64_t key;		/* names the connection to SWC_IOC_GRANT (srv lock) */
	struct grant grants[MAX_GRANTS];
	uint64_t grant_seq;
	double empty_since;	/* nothing registered since (connection's thread) */
	pthread_t tid;
	struct cfile *files;
	unsigned nfiles;
	struct cbuf *bufs;
	unsigned nbufs;
	pthread_mutex_t lock;	/* out, inflight counts, dead */
	pthread_cond_t cond;	/* inflight dropped */
	int efd;		/* wakes the connection's thread: answers to send */
	struct swc_cqe *out;	/* answers not yet sent, oldest first */
	int *outfd;		/* with each, the descriptor it carries, or -1 (a BUF_ADD's memfd) */
	size_t nout, capout;
	uint64_t buf_bytes;	/* of the buffers registered (connection's thread) */
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
	char name[64];		/* abstract name, without the leading NUL */
	uid_t owner;		/* the mount's owner: the daemon's user */
	unsigned idle_s;	/* SWAPFS_CLIENT_IDLE */
	pthread_t listener, notifier;
	pthread_mutex_t lock;	/* conns, nq, keys */
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
		sw_warn("client pid %d: %s: disconnecting", (int)c->cred.pid, why);
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
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int))];
		} cm;
		size_t n = 0;
		struct iovec iov;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		int fd = c->outfd[sent];
		ssize_t r;

		if (fd >= 0) {	/* a BUF_ADD's answer, alone with its memfd */
			n = 1;
			memset(&cm, 0, sizeof(cm));
			msg.msg_control = cm.b;
			msg.msg_controllen = sizeof(cm.b);
			cm.h.cmsg_level = SOL_SOCKET;
			cm.h.cmsg_type = SCM_RIGHTS;
			cm.h.cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(&cm.h), &fd, sizeof(int));
		} else {
			while (n < 256 && sent + n < c->nout && c->outfd[sent + n] < 0)
				n++;
		}
		iov = (struct iovec){ c->out + sent, n * sizeof(*c->out) };
		r = sendmsg(c->sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);

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
		if (fd >= 0)
			close(fd);	/* the client has it now; ours is a memfd (no FLUSH) */
		sent += n;
		c->stalled_since = 0;
	}
	if (c->dead) {
		for (size_t i = sent; i < c->nout; i++)
			if (c->outfd[i] >= 0)
				close(c->outfd[i]);
		sent = c->nout;
	}
	if (sent) {	/* c->out is NULL until the first answer */
		memmove(c->out, c->out + sent, (c->nout - sent) * sizeof(*c->out));
		memmove(c->outfd, c->outfd + sent, (c->nout - sent) * sizeof(*c->outfd));
	}
	c->nout -= sent;
}

static void wake(struct conn *c)
{
	uint64_t one = 1;

	if (write(c->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		drop(c, "cannot wake its thread");
}

/* Queue an answer; fd (-1: none) goes with it and is closed once sent. */
static void push_cqe_fd(struct conn *c, uint64_t tag, int64_t result, uint64_t value, int fd)
{
	if (c->nout == c->capout) {
		size_t ncap = c->capout ? c->capout * 2 : 64;
		struct swc_cqe *n = realloc(c->out, ncap * sizeof(*n));
		int *nfd = n ? realloc(c->outfd, ncap * sizeof(*nfd)) : NULL;

		if (n)
			c->out = n;
		if (!nfd) {	/* cannot tell the client: it must not wait forever */
			drop(c, "out of memory");
			if (fd >= 0)
				close(fd);
			return;
		}
		c->outfd = nfd;
		c->capout = ncap;
	}
	c->outfd[c->nout] = fd;
	c->out[c->nout++] = (struct swc_cqe){ tag, result, value };
}

static void push_cqe(struct conn *c, uint64_t tag, int64_t result, uint64_t value)
{
	push_cqe_fd(c, tag, result, value, -1);
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
				sw_warn("invalidating inode %llu: %s",
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

/* Redeem grant id (one-time): register its inode with its access mode. */
static int file_add(struct conn *c, uint64_t grant, uint64_t *id, int64_t *size)
{
	struct swapfs *fs = c->srv->fs;
	struct grant g = { 0 };
	struct sw_inode *ino;
	uint32_t seq = 0;
	unsigned i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; grant && i < MAX_GRANTS; i++)
		if (c->grants[i].id == grant) {
			g = c->grants[i];
			c->grants[i].id = 0;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	if (!g.id)
		return -EACCES;	/* no proof of access through the mount */
	pthread_mutex_lock(&fs->meta.lock);	/* writers change the size and errors under it */
	ino = sw_inode_get(&fs->meta, g.ino);
	if (ino) {
		sw_dn(ino)->nopen++;
		seq = sw_errseq_sample(ino);
		*size = (int64_t)ino->a.size;
	}
	pthread_mutex_unlock(&fs->meta.lock);
	if (!ino)
		return -ESTALE;
	for (i = 0; i < c->nfiles && c->files[i].used; i++)
		;
	if (i == c->nfiles && (i >= SWC_MAX_FILES ||
			       grow_slots((void **)&c->files, &c->nfiles, sizeof(*c->files)))) {
		sw_inode_close(fs, ino);
		return i >= SWC_MAX_FILES ? -EMFILE : -ENOMEM;
	}
	c->files[i] = (struct cfile){ .ino = ino, .used = true, .rd = g.rd, .wr = g.wr,
				      .seen = { seq, seq, seq } };
	*id = i;
	return 0;
}

/*
 * SWC_IOC_GRANT on a descriptor of the mount (a FUSE thread): the kernel
 * sends the handle of that open file, so the access mode open() recorded
 * in it and the inode belong to one and the same open file, whatever the
 * caller does with its descriptor table meanwhile.  The grant goes to the
 * connection named by its key; its FILE_ADD redeems it once.
 */
void sw_csrv_ioctl(fuse_req_t req, fuse_ino_t nr, int cmd, void *arg,
		   struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		   size_t in_bufsz, size_t out_bufsz)
{
	struct swapfs *fs = sw_fs(req);
	struct sw_csrv *s = fs->csrv;
	struct swc_grant g;
	struct sw_inode *ino;
	mode_t mode = 0;
	struct conn *c;
	bool rd, wr;

	(void)arg;
	(void)flags;
	if ((unsigned)cmd != SWC_IOC_GRANT || !s) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (in_bufsz != sizeof(g) || out_bufsz != sizeof(g) || !fi) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	memcpy(&g, in_buf, sizeof(g));
	pthread_mutex_lock(&fs->meta.lock);
	ino = sw_inode_get(&fs->meta, nr);
	if (ino)
		mode = ino->a.mode;
	pthread_mutex_unlock(&fs->meta.lock);
	/* only a regular file's fi->fh is an sw_ofile (a directory's is not) */
	rd = S_ISREG(mode) && sw_ofile_readable(sw_ofile(fi));
	wr = S_ISREG(mode) && sw_ofile_writable(sw_ofile(fi));
	if (!ino || !S_ISREG(mode) || (!rd && !wr)) {
		fuse_reply_err(req, !ino ? ESTALE : S_ISDIR(mode) ? EISDIR :
				    !S_ISREG(mode) ? EINVAL : EBADF);
		return;
	}
	pthread_mutex_lock(&s->lock);
	for (c = s->conns; c; c = c->next)
		if (c->key == g.key && !c->finished)
			break;
	if (c) {
		struct grant *slot = &c->grants[0];

		pthread_mutex_lock(&c->lock);
		for (unsigned i = 0; i < MAX_GRANTS; i++)	/* a free slot, else the oldest */
			if (c->grants[i].id < slot->id)
				slot = &c->grants[i];
		*slot = (struct grant){ ++c->grant_seq, nr, rd, wr };
		g.id = slot->id;
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&s->lock);
	if (!c)
		fuse_reply_err(req, EXDEV);	/* a connection of another daemon, or gone */
	else
		fuse_reply_ioctl(req, 0, &g, sizeof(g));
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
	err = f->wr ? sw_sync_file(fs, f->ino->a.ino, false, &f->seen.close) : 0;
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
		sw_warn("a %zu-byte client buffer is not a fixed buffer of %u of %u rings "
		       "(I/O on it still works)", len, rc.refused, fs->nio);
}

static void unmap_buf(struct conn *c, struct cbuf *b)
{
	if (c->srv->fs->client_fixed)
		fixed_buffer(c->srv->fs, b->addr, b->len, false);
	munmap(b->addr, b->len);
	c->buf_bytes -= b->len;
	b->used = false;
}

/*
 * A buffer of len bytes: a memfd of the daemon's own, sealed at that size,
 * mapped here and handed to the client (*fd) with the answer.  The daemon
 * never takes a descriptor from a client: closing one of a FUSE file (this
 * mount's, or another whose daemon does not answer) waits for its FLUSH.
 */
static int buf_add(struct conn *c, uint64_t len, uint64_t *id, int *fd)
{
	unsigned i, used = 0;
	void *addr;
	int mfd;

	for (i = 0; i < c->nbufs; i++)
		used += c->bufs[i].used;
	if (!len)
		return -EINVAL;
	if (used >= SWC_MAX_BUFS)
		return -EMFILE;
	if (len > SWC_MAX_BUF_BYTES - c->buf_bytes)
		return -ENOMEM;	/* of this connection, in all */
	mfd = memfd_create("swapfs-client", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, (off_t)len) ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		int err = -errno;

		close(mfd);
		return err;
	}
	addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (addr == MAP_FAILED) {
		int err = -errno;

		close(mfd);
		return err;
	}
	for (i = 0; i < c->nbufs && c->bufs[i].used; i++)
		;
	if (i == c->nbufs && grow_slots((void **)&c->bufs, &c->nbufs, sizeof(*c->bufs))) {
		munmap(addr, len);
		close(mfd);
		return -ENOMEM;
	}
	c->bufs[i] = (struct cbuf){ .addr = addr, .len = len, .used = true };
	c->buf_bytes += len;
	if (c->srv->fs->client_fixed)
		fixed_buffer(c->srv->fs, addr, len, true);
	*id = i;
	*fd = mfd;
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

/* A request; passed: the client sent descriptors with it (never taken: EINVAL). */
static void handle(struct conn *c, const struct swc_req *r, bool passed)
{
	struct swapfs *fs = c->srv->fs;
	uint64_t value = 0;
	int64_t result = 0;
	unsigned inflight;
	int fd = -1;

	if (passed) {
		result = -EINVAL;
	} else {
		switch (r->op) {
		case SWC_HELLO:
			value = c->key;	/* for SWC_IOC_GRANT */
			result = r->len == SWC_VERSION ? 0 : -EPROTO;
			break;
		case SWC_BUF_ADD:
			result = buf_add(c, r->len, &value, &fd);
			break;
		case SWC_BUF_DEL:
			result = buf_del(c, r->buf);
			break;
		case SWC_FILE_ADD: {
			int64_t size = 0;

			result = file_add(c, r->off, &value, &size);
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
			result = sw_sync_file(fs, c->files[r->file].ino->a.ino, true,
					      &c->files[r->file].seen.fsync);
			break;
		default:
			result = -EOPNOTSUPP;
		}
	}
	pthread_mutex_lock(&c->lock);
	push_cqe_fd(c, r->tag, result, value, fd);
	pthread_mutex_unlock(&c->lock);
}

/*
 * One message: a batch of requests.  Received with no room for ancillary
 * data, so a descriptor a client attaches is never installed here: the
 * kernel drops its reference (fput, no FLUSH: only close() flushes), and
 * MSG_CTRUNC tells us one came; each request of the message gets EINVAL.
 */
static int receive(struct conn *c)
{
	struct swc_req req[SWC_MAX_BATCH];
	struct iovec iov = { req, sizeof(req) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(c->sock, &msg, MSG_CMSG_CLOEXEC);
	size_t count;

	if (n < 0)
		return errno == EINTR ? 1 : -errno;
	if (n == 0)
		return -ECONNRESET;
	count = (size_t)n / sizeof(req[0]);
	if ((size_t)n % sizeof(req[0]) || (msg.msg_flags & MSG_TRUNC)) {
		sw_warn("client pid %d: malformed message: disconnecting",
		       (int)c->cred.pid);
		return -EPROTO;
	}
	for (size_t i = 0; i < count; i++)
		handle(c, &req[i], msg.msg_flags & MSG_CTRUNC);
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
	for (size_t i = 0; i < c->nout; i++)
		if (c->outfd[i] >= 0)
			close(c->outfd[i]);
	free(c->files);
	free(c->bufs);
	free(c->out);
	free(c->outfd);
	pthread_mutex_lock(&s->lock);
	c->finished = true;
	pthread_mutex_unlock(&s->lock);
}

/* Nothing registered: the connection costs the daemon a thread and holds nothing. */
static bool conn_empty(const struct conn *c)
{
	for (unsigned i = 0; i < c->nfiles; i++)
		if (c->files[i].used)
			return false;
	for (unsigned i = 0; i < c->nbufs; i++)
		if (c->bufs[i].used)
			return false;
	return true;
}

/*
 * Milliseconds until an unprivileged connection that holds nothing
 * registered is closed (-1: never); 0: close it now.
 */
static int idle_left_ms(struct conn *c)
{
	double t = now_seconds(), left;

	if (c->privileged || !conn_empty(c)) {
		c->empty_since = 0;
		return -1;
	}
	if (!c->empty_since)
		c->empty_since = t;
	left = c->empty_since + c->srv->idle_s - t;
	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

/* Requests in, answers out: sleeps until either can move. */
static void *conn_main(void *arg)
{
	struct conn *c = arg;

	for (;;) {
		struct pollfd p[2] = { { c->sock, POLLIN, 0 }, { c->efd, POLLIN, 0 } };
		int idle = idle_left_ms(c), wait;
		bool backlog;
		uint64_t n;

		pthread_mutex_lock(&c->lock);
		backlog = c->nout > 0;
		if (!idle && !backlog)
			drop(c, "nothing registered for SWAPFS_CLIENT_IDLE seconds (idle)");
		n = c->dead;
		pthread_mutex_unlock(&c->lock);
		if (n)
			break;
		if (backlog)
			p[0].events |= POLLOUT;
		wait = backlog ? 1000 : idle;
		if (poll(p, 2, wait) < 0 && errno != EINTR)
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
	pthread_mutex_lock(&c->srv->lock);
	c->leaving = true;	/* a client that closes and connects again is not refused */
	pthread_mutex_unlock(&c->srv->lock);
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

/* Whether a connection of cred may be served now (srv lock held). */
static const char *conn_limit(struct sw_csrv *s, const struct ucred *cred, bool privileged)
{
	unsigned all = 0, priv = 0, mine = 0;

	for (struct conn *c = s->conns; c; c = c->next) {
		if (c->finished || c->leaving)
			continue;
		all++;
		priv += c->privileged;
		mine += c->cred.uid == cred->uid;
	}
	if (privileged)
		return priv >= PRIV_CONNS ? "too many connections of root and the mount's owner" : NULL;
	if (mine >= MAX_CONNS_PER_UID)
		return "too many connections of this user";
	return all - priv >= MAX_CONNS ? "too many connections" : NULL;
}

/* Tell a refused client why (one answer, tag 0), then close. */
static void refuse(struct sw_csrv *s, int fd, const struct ucred *cred, const char *why)
{
	struct swc_cqe no = { 0, -EUSERS, 0 };

	sw_warn("client pid %d uid %u refused: %s", (int)cred->pid, (unsigned)cred->uid, why);
	(void)!send(fd, &no, sizeof(no), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void *listener(void *arg)
{
	struct sw_csrv *s = arg;
	struct pollfd p[2] = { { s->lsock, POLLIN, 0 }, { s->stop_efd, POLLIN, 0 } };

	for (;;) {
		struct conn *c;
		struct ucred cred = { 0, (uid_t)-1, (gid_t)-1 };
		socklen_t cl = sizeof(cred);
		const char *why;
		bool privileged;
		int fd;

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
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl)) {
			refuse(s, fd, &cred, strerror(errno));
			continue;
		}
		privileged = cred.uid == 0 || cred.uid == s->owner;
		pthread_mutex_lock(&s->lock);
		why = conn_limit(s, &cred, privileged);
		pthread_mutex_unlock(&s->lock);
		c = why ? NULL : calloc(1, sizeof(*c));
		if (!c) {
			refuse(s, fd, &cred, why ? why : "out of memory");
			continue;
		}
		c->srv = s;
		c->sock = fd;
		c->cred = cred;
		c->privileged = privileged;
		c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->efd < 0 || getrandom(&c->key, sizeof(c->key), 0) != sizeof(c->key)) {
			refuse(s, fd, &cred, strerror(c->efd < 0 ? errno : EAGAIN));
			if (c->efd >= 0)
				close(c->efd);
			free(c);
			continue;
		}
		pthread_mutex_init(&c->lock, NULL);
		pthread_cond_init(&c->cond, NULL);
		/* listed first: SWC_IOC_GRANT finds it as soon as HELLO gave its key */
		pthread_mutex_lock(&s->lock);
		c->next = s->conns;
		s->conns = c;
		s->nconns++;
		pthread_mutex_unlock(&s->lock);
		if (pthread_create(&c->tid, NULL, conn_main, c)) {
			pthread_mutex_lock(&s->lock);
			s->conns = c->next;	/* only this thread adds or removes */
			s->nconns--;
			pthread_mutex_unlock(&s->lock);
			pthread_mutex_destroy(&c->lock);
			pthread_cond_destroy(&c->cond);
			close(c->efd);
			refuse(s, fd, &cred, "cannot start a thread");
			free(c);
		}
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
	socklen_t len;
	char uuid[33];
	const char *idle;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fs = fs;
	s->se = se;
	s->owner = getuid();
	s->idle_s = IDLE_DEFAULT_S;
	if ((idle = getenv("SWAPFS_CLIENT_IDLE"))) {
		char *end;
		unsigned long v = strtoul(idle, &end, 10);

		if (*idle && !*end && v >= 1 && v <= 86400)
			s->idle_s = (unsigned)v;
		else
			sw_warn("SWAPFS_CLIENT_IDLE=%s: not 1..86400 seconds, using %u",
			       idle, s->idle_s);
	}
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
#ifdef SO_PASSRIGHTS
	{	/* inherited by accepted sockets; older kernels: ENOPROTOOPT, receive() drops them */
		int no = 0;

		if (setsockopt(s->lsock, SOL_SOCKET, SO_PASSRIGHTS, &no, sizeof(no)) &&
		    errno != ENOPROTOOPT)
			sw_warn("client socket: SO_PASSRIGHTS: %s", strerror(errno));
	}
#endif
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
		sw_err("stopping the client listener: %s", strerror(errno));
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

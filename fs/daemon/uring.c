/*
 * uring.c - see uring.h.  Protocol notes (kernel fs/fuse/dev_uring.c):
 *
 *   - REGISTER is refused with -EAGAIN until the INIT reply was processed,
 *     and the kernel sends nothing to the rings until every queue
 *     0..nr_possible_cpus-1 has an entry: a missing queue blocks every
 *     request of the mount.  Hence all the preparation before INIT.
 *   - An entry is a 288-byte header (in/out header, the per-opcode struct,
 *     commit id and payload size) and a payload buffer of at least
 *     max(8 KiB, max_write, max_pages pages).  Each payload buffer here
 *     starts 4 KiB into its allocation: the gap takes the in-header and the
 *     per-opcode struct, so libfuse sees a /dev/fuse request in place.
 *   - Replies: out header in the header, out args in the payload, the
 *     payload size without the out header, then COMMIT_AND_FETCH.
 *   - At unmount the kernel completes every entry with -ENOTCONN.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "fs/lib/fslib.h"
#include "fs/daemon/reqstats.h"
#include "fs/daemon/uring.h"

#define URING_IN_OUT_SZ 128
#define URING_OP_IN_SZ 128
#define URING_GAP 4096		/* in-header + per-opcode struct, before the payload */

enum { CMD_REGISTER = 1, CMD_COMMIT_AND_FETCH = 2 };

struct uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;	/* kernel -> daemon: the request's id, echoed in the commit */
	uint32_t payload_sz;	/* valid payload bytes, both ways */
	uint32_t padding;
	uint64_t reserved;
};

struct uring_req_header {
	char in_out[URING_IN_OUT_SZ];	/* fuse_in_header in, fuse_out_header out */
	char op_in[URING_OP_IN_SZ];	/* the request's first argument */
	struct uring_ent_in_out ent;
};

struct uring_cmd_req {		/* in the SQE's 80-byte command area */
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

_Static_assert(sizeof(struct uring_ent_in_out) == 32, "fuse_uring_ent_in_out");
_Static_assert(sizeof(struct uring_req_header) == 288, "fuse_uring_req_header");
_Static_assert(offsetof(struct uring_req_header, op_in) == 128, "op_in");
_Static_assert(offsetof(struct uring_req_header, ent) == 256, "ring_ent_in_out");
_Static_assert(sizeof(struct uring_cmd_req) == 24, "fuse_uring_cmd_req");
_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct fuse_out_header) == 16, "fuse_out_header");
_Static_assert(sizeof(struct fuse_in_header) + URING_OP_IN_SZ <= URING_GAP, "gap");

struct ent {
	struct queue *q;
	struct uring_req_header *hdr;
	char *buf;		/* URING_GAP, then the payload */
	struct iovec iov[2];
	uint64_t unique;	/* of the request in the handler */
	int cmd;		/* the last command submitted */
	bool replied;
	bool live;		/* registered, not ended by the kernel */
};

struct queue {
	struct sw_uring *u;
	unsigned qid;
	bool pin;
	pthread_t thread;
	bool started;
	struct io_uring ring;
	bool ring_ok;
	struct ent *ents;
	unsigned nlive;
	int error;		/* preparation or registration, -errno */
	_Atomic int64_t busy_since;	/* CLOCK_MONOTONIC s of the request in a handler, 0 none */
	_Atomic uint32_t busy_op;
	_Atomic uint64_t requests;
};

struct sw_uring {
	struct fuse_session *se;
	int fuse_fd;
	int stop_fd;		/* eventfd: every ring polls it */
	unsigned nq, depth;
	size_t payload;
	struct queue *q;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned prepared, registered;	/* queues past each step */
	int go;			/* 0 wait, 1 register, -1 leave */
};

static __thread struct ent *cur_ent;	/* the entry whose request this thread handles */

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The kernel's queue count: num_possible_cpus(), from sysfs ("0-15"). */
static unsigned possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	unsigned last = 0, a, b;
	int n;
	char c;

	if (!f)
		return (unsigned)get_nprocs_conf();
	while ((n = fscanf(f, "%u%c", &a, &c)) >= 1) {
		b = a;
		if (n == 2 && c == '-' && fscanf(f, "%u%c", &b, &c) < 1)
			break;
		if (b > last)
			last = b;
		if (n < 2 || c == '\n')
			break;
	}
	fclose(f);
	return last + 1;
}

static void prep(struct queue *q, struct ent *e, int cmd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
	struct uring_cmd_req *req;

	if (!sqe) {	/* cannot be: the SQ holds an SQE for each entry and the poll */
		sw_err("io_uring queue %u: no free SQE", q->qid);
		return;
	}
	memset(sqe, 0, 2 * sizeof(*sqe));	/* SQE128: both halves */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = 0;
	sqe->cmd_op = (uint32_t)cmd;
	sqe->user_data = (uint64_t)(uintptr_t)e;
	req = (struct uring_cmd_req *)sqe->cmd;
	req->qid = (uint16_t)q->qid;
	if (cmd == CMD_REGISTER) {
		sqe->addr = (uint64_t)(uintptr_t)e->iov;
		sqe->len = 2;
	} else {
		req->commit_id = e->unique;
	}
	e->cmd = cmd;
}

static void prep_stop_poll(struct queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);	/* the ring is empty */

	io_uring_prep_poll_add(sqe, q->u->stop_fd, POLLIN);
	sqe->user_data = 0;
}

static int queue_init(struct queue *q)
{
	struct sw_uring *u = q->u;
	struct io_uring_params p = { .flags = IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE,
				     .cq_entries = 2 * (u->depth + 1) };
	int err;

	if (q->pin) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(q->qid, &set);
		err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (err)
			return -err;
	}
	err = io_uring_queue_init_params(u->depth + 1, &q->ring, &p);
	if (err)
		return err;
	q->ring_ok = true;
	err = io_uring_register_files(&q->ring, &u->fuse_fd, 1);
	if (err)
		return err;
	q->ents = calloc(u->depth, sizeof(*q->ents));
	if (!q->ents)
		return -ENOMEM;
	for (unsigned i = 0; i < u->depth; i++) {
		struct ent *e = &q->ents[i];

		e->q = q;
		e->hdr = aligned_alloc(4096, 4096);
		e->buf = aligned_alloc(4096, URING_GAP + u->payload);
		if (!e->hdr || !e->buf)
			return -ENOMEM;
		memset(e->hdr, 0, sizeof(*e->hdr));
		e->iov[0] = (struct iovec){ e->hdr, sizeof(*e->hdr) };
		e->iov[1] = (struct iovec){ e->buf + URING_GAP, u->payload };
	}
	return 0;
}

static void queue_free(struct queue *q)
{
	if (q->ents)
		for (unsigned i = 0; i < q->u->depth; i++) {
			free(q->ents[i].hdr);
			free(q->ents[i].buf);
		}
	free(q->ents);
	q->ents = NULL;
	if (q->ring_ok)
		io_uring_queue_exit(&q->ring);
	q->ring_ok = false;
}

/* Register every entry; an error shows as an immediate completion. */
static int queue_register(struct queue *q)
{
	struct io_uring_cqe *cqe;
	int ret;

	for (unsigned i = 0; i < q->u->depth; i++) {
		prep(q, &q->ents[i], CMD_REGISTER);
		q->ents[i].live = true;
	}
	q->nlive = q->u->depth;
	ret = io_uring_submit(&q->ring);
	if (ret < 0)
		return ret;
	if (io_uring_peek_cqe(&q->ring, &cqe) == 0 && cqe->res < 0 && cqe->user_data)
		return cqe->res;	/* the loop ends that entry */
	return 0;
}

/*
 * A request arrived in e: build the /dev/fuse layout in front of the
 * payload (in-header, then the per-opcode struct) and let libfuse run the
 * handler, whose reply lands in the entry through sw_uring_reply.
 */
static void handle(struct queue *q, struct ent *e)
{
	struct fuse_in_header in;
	size_t psz = e->hdr->ent.payload_sz, op_len;
	char *payload = e->buf + URING_GAP;
	struct fuse_buf fbuf = {0};

	memcpy(&in, e->hdr->in_out, sizeof(in));
	e->unique = e->hdr->ent.commit_id;
	e->replied = false;
	op_len = in.len - sizeof(in) - psz;
	if (in.len < sizeof(in) + psz || op_len > URING_OP_IN_SZ || op_len % 8 ||
	    psz > q->u->payload) {
		sw_err("io_uring queue %u: request %llu (opcode %u): length %u with %zu payload bytes",
		       q->qid, (unsigned long long)e->unique, in.opcode, in.len, psz);
		struct fuse_out_header oh = { sizeof(oh), -EIO, e->unique };

		memcpy(e->hdr->in_out, &oh, sizeof(oh));
		e->hdr->ent.payload_sz = 0;
		prep(q, e, CMD_COMMIT_AND_FETCH);
		return;
	}
	fbuf.mem = payload - sizeof(in) - op_len;
	fbuf.size = sizeof(in) + op_len + psz;
	memcpy(fbuf.mem, &in, sizeof(in));
	memcpy((char *)fbuf.mem + sizeof(in), e->hdr->op_in, op_len);
	sw_fuse_count_request(in.opcode);
	atomic_store(&q->busy_op, in.opcode);
	atomic_store(&q->busy_since, now_s());
	cur_ent = e;
	fuse_session_process_buf(q->u->se, &fbuf);
	cur_ent = NULL;
	atomic_store(&q->busy_since, 0);
	atomic_fetch_add_explicit(&q->requests, 1, memory_order_relaxed);
	if (!e->replied) {	/* handlers answer in the thread that runs them */
		sw_err("io_uring queue %u: opcode %u was not answered in its thread",
		       q->qid, in.opcode);
		struct fuse_out_header oh = { sizeof(oh), -EIO, e->unique };

		memcpy(e->hdr->in_out, &oh, sizeof(oh));
		e->hdr->ent.payload_sz = 0;
	}
	prep(q, e, CMD_COMMIT_AND_FETCH);
}

bool sw_uring_reply(const struct iovec *iov, int count, ssize_t *len)
{
	struct ent *e = cur_ent;
	struct fuse_out_header oh;
	size_t n = 0, cap;
	char *payload;

	if (!e || count < 1 || iov[0].iov_len != sizeof(oh))
		return false;
	memcpy(&oh, iov[0].iov_base, sizeof(oh));
	if (oh.unique != e->unique || e->replied)
		return false;
	payload = e->buf + URING_GAP;
	cap = e->q->u->payload;
	for (int i = 1; i < count; i++) {
		if (iov[i].iov_len > cap - n) {
			sw_err("io_uring: a %u-byte reply does not fit the %zu-byte entry",
			       oh.len, cap);
			oh.error = -EIO;
			n = 0;
			break;
		}
		memmove(payload + n, iov[i].iov_base, iov[i].iov_len);
		n += iov[i].iov_len;
	}
	memcpy(e->hdr->in_out, &oh, sizeof(oh));
	e->hdr->ent.payload_sz = (uint32_t)n;	/* without the out header */
	e->replied = true;
	*len = (ssize_t)(sizeof(oh) + n);
	return true;
}

/* Serve the queue until the kernel ends its entries or stop_fd fires. */
static void queue_serve(struct queue *q)
{
	bool stop = false;

	while (!stop && q->nlive) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int ret = io_uring_submit_and_wait(&q->ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			sw_err("io_uring queue %u: %s", q->qid, strerror(-ret));
			break;
		}
		io_uring_for_each_cqe(&q->ring, head, cqe) {
			struct ent *e = (struct ent *)(uintptr_t)cqe->user_data;

			seen++;
			if (!e) {
				stop = true;
			} else if (cqe->res == 0) {
				handle(q, e);
			} else if (cqe->res == -EAGAIN || cqe->res == -EINTR) {
				prep(q, e, e->cmd);
			} else if (e->live) {
				/* -ENOTCONN: unmounted or aborted; a refused REGISTER is
				 * reported by sw_uring_start */
				if (cqe->res != -ENOTCONN && cqe->res != -ECANCELED &&
				    e->cmd != CMD_REGISTER)
					sw_err("io_uring queue %u: %s", q->qid, strerror(-cqe->res));
				e->live = false;
				q->nlive--;
			}
		}
		io_uring_cq_advance(&q->ring, seen);
	}
}

static void *queue_thread(void *arg)
{
	struct queue *q = arg;
	struct sw_uring *u = q->u;
	int go;

	q->error = queue_init(q);
	if (!q->error)
		prep_stop_poll(q);
	pthread_mutex_lock(&u->lock);
	u->prepared++;
	pthread_cond_broadcast(&u->cond);
	while (!u->go)
		pthread_cond_wait(&u->cond, &u->lock);
	go = u->go;
	pthread_mutex_unlock(&u->lock);
	if (go > 0 && !q->error) {
		q->error = queue_register(q);
		pthread_mutex_lock(&u->lock);
		u->registered++;
		pthread_cond_broadcast(&u->cond);
		pthread_mutex_unlock(&u->lock);
		queue_serve(q);
	} else if (go > 0) {
		pthread_mutex_lock(&u->lock);
		u->registered++;
		pthread_cond_broadcast(&u->cond);
		pthread_mutex_unlock(&u->lock);
	}
	return NULL;
}

static void release(struct sw_uring *u, int go)
{
	pthread_mutex_lock(&u->lock);
	u->go = go;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

int sw_uring_prepare(struct sw_uring **up, struct fuse_session *se, unsigned depth,
		     size_t max_payload)
{
	struct sw_uring *u = calloc(1, sizeof(*u));
	cpu_set_t allowed;
	sigset_t block, old;
	unsigned started = 0;
	int err = 0;

	*up = NULL;
	if (!u)
		return -ENOMEM;
	u->se = se;
	u->fuse_fd = fuse_session_fd(se);
	u->depth = depth;
	u->payload = max_payload < 8192 ? 8192 : (max_payload + 4095) & ~(size_t)4095;
	u->nq = possible_cpus();
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	u->stop_fd = eventfd(0, EFD_CLOEXEC);
	u->q = calloc(u->nq, sizeof(*u->q));
	if (u->stop_fd < 0 || !u->q) {
		err = u->stop_fd < 0 ? -errno : -ENOMEM;
		sw_uring_stop(u);
		return err;
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		CPU_ZERO(&allowed);
	/* the signals that end the daemon go to the main thread */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (unsigned i = 0; i < u->nq && !err; i++, started++) {
		struct queue *q = &u->q[i];

		q->u = u;
		q->qid = i;
		/* CPUs this daemon may not run on (cpusets, offline) keep an unpinned thread */
		q->pin = i < CPU_SETSIZE && CPU_ISSET(i, &allowed);
		err = -pthread_create(&q->thread, NULL, queue_thread, q);
		q->started = !err;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_lock(&u->lock);
	while (u->prepared < started - (err != 0))
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
	for (unsigned i = 0; i < u->nq && !err; i++)
		if (u->q[i].error) {
			sw_debug("io_uring queue %u: %s", i, strerror(-u->q[i].error));
			err = u->q[i].error;
		}
	if (err) {
		sw_uring_stop(u);
		return err;
	}
	*up = u;
	return 0;
}

bool sw_uring_start(struct sw_uring *u, bool negotiated)
{
	bool ok = true;

	release(u, negotiated ? 1 : -1);
	if (!negotiated)
		return false;
	pthread_mutex_lock(&u->lock);
	while (u->registered < u->nq)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
	for (unsigned i = 0; i < u->nq && ok; i++)
		if (u->q[i].error) {
			sw_warn("io_uring: queue %u refused its entries (%s): the mount uses /dev/fuse",
				i, strerror(-u->q[i].error));
			ok = false;
		}
	return ok;
}

void sw_uring_stop(struct sw_uring *u)
{
	uint64_t one = 1;
	bool served;

	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	served = u->go == 1;	/* the queues registered: INIT took io_uring */
	pthread_mutex_unlock(&u->lock);
	release(u, -1);
	if (u->stop_fd >= 0 && write(u->stop_fd, &one, sizeof(one)) != sizeof(one))
		sw_err("io_uring: waking the queues: %s", strerror(errno));
	for (unsigned i = 0; u->q && i < u->nq; i++)
		if (u->q[i].started) {
			pthread_join(u->q[i].thread, NULL);
			if (served)
				sw_info("io_uring queue %u: %llu requests", i,
					(unsigned long long)atomic_load(&u->q[i].requests));
		}
	for (unsigned i = 0; u->q && i < u->nq; i++)
		if (u->q[i].u)
			queue_free(&u->q[i]);
	if (u->stop_fd >= 0)
		close(u->stop_fd);
	free(u->q);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

unsigned sw_uring_queues(const struct sw_uring *u)
{
	return u->nq;
}

unsigned sw_uring_depth(const struct sw_uring *u)
{
	return u->depth;
}

void sw_uring_watch(struct sw_uring *u, unsigned secs)
{
	int64_t now = now_s();

	for (unsigned i = 0; i < u->nq; i++) {
		int64_t since = atomic_load(&u->q[i].busy_since);

		if (since && now - since >= secs) {
			sw_warn("io_uring queue %u: opcode %u has been in its handler for over %u s; "
				"the queue's other requests wait", i, atomic_load(&u->q[i].busy_op), secs);
			/* the next word about it after as long again */
			atomic_compare_exchange_strong(&u->q[i].busy_since, &since, now);
		}
	}
}

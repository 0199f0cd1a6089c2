/*
 * transport.c - see transport.h.  The main thread waits; readers end with
 * the mount (ENODEV) and are cancelled, only while they wait in read(2),
 * when the session exits first (a signal), as libfuse's own loop does.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fs/lib/fslib.h"
#include "fs/daemon/fuse_io.h"
#include "fs/daemon/transport.h"
#include "fs/daemon/uring.h"

#define URING_SYSFS "/sys/module/fuse/parameters/enable_uring"
#define MAX_PAGES_SYSCTL "/proc/sys/fs/fuse/max_pages_limit"
#define HEADER_ROOM 4096	/* in-header and per-opcode struct before a request's data */
#define WATCH_SECS 30		/* a request in one io_uring handler this long is logged */

struct reader {
	struct transport *t;
	pthread_t thread;
	bool started;
	int fd;			/* the session's, or a clone */
};

struct transport {
	struct fuse_session *se;
	const struct sw_transport_opts *o;
	struct reader *r;
	unsigned nr;
	size_t bufsize;
	struct sw_uring *u;	/* prepared queues, until INIT says whether they serve */
	int uring_err;		/* why none were prepared */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned ended;		/* readers that returned */
	int error;		/* of the first that failed */
};

static atomic_bool on_uring;

const char *sw_transport_name(void)
{
	return atomic_load(&on_uring) ? "io_uring" : "classic";
}

/* Read a number from a sysfs/procfs file: 0 or -errno. */
static int read_param(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		err = ferror(f) ? -EIO : -ENODATA;
	fclose(f);
	return err;
}

static int write_param(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

void sw_transport_setup_kernel(const struct sw_transport_opts *o, unsigned max_pages)
{
	char cur[32];
	int err;

	if (o->uring > 0 && read_param(URING_SYSFS, cur, sizeof(cur)) == 0 && cur[0] == 'N') {
		err = write_param(URING_SYSFS, "Y");
		if (err)
			sw_warn("-o uring: cannot set %s to Y: %s", URING_SYSFS, strerror(-err));
		else
			sw_notice("-o uring: set %s to Y", URING_SYSFS);
	}
	if (max_pages && read_param(MAX_PAGES_SYSCTL, cur, sizeof(cur)) == 0 &&
	    strtoul(cur, NULL, 10) < max_pages) {
		char val[16];

		snprintf(val, sizeof(val), "%u", max_pages);
		err = write_param(MAX_PAGES_SYSCTL, val);
		if (err)
			sw_warn("-o max_pages=%u: cannot raise %s from %lu: %s (requests stay smaller)",
				max_pages, MAX_PAGES_SYSCTL, strtoul(cur, NULL, 10), strerror(-err));
		else
			sw_notice("-o max_pages=%u: raised %s from %lu", max_pages, MAX_PAGES_SYSCTL,
				  strtoul(cur, NULL, 10));
	}
}

/* After the INIT reply (in the reader that handled it): the rings serve, or go. */
static void init_done(struct transport *t)
{
	bool negotiated = t->u && sw_fuse_uring_negotiated(), ring;
	bool asked = t->o->uring > 0, offered = sw_fuse_uring_offered();
	unsigned kib = sw_fuse_max_request() >> 10;

	/* the rings' first requests may come before sw_uring_start returns */
	atomic_store(&on_uring, negotiated);
	ring = t->u && sw_uring_start(t->u, negotiated);

	if (!t->u && t->o->uring >= 0 && (asked || offered))
		sw_warn("io_uring unavailable (%s): the mount uses /dev/fuse", strerror(-t->uring_err));
	else if (asked && !offered)
		sw_warn("-o uring: the kernel does not offer FUSE-over-io_uring "
			"(" URING_SYSFS "): the mount uses /dev/fuse");
	atomic_store(&on_uring, ring);
	if (ring) {
		sw_notice("transport: io_uring, %u queues of %u entries, requests up to %u KiB",
			  sw_uring_queues(t->u), sw_uring_depth(t->u), kib);
	} else {
		pthread_mutex_lock(&t->lock);
		sw_uring_stop(t->u);
		t->u = NULL;
		pthread_mutex_unlock(&t->lock);
		sw_notice("transport: classic /dev/fuse, %u threads, requests up to %u KiB",
			  t->nr, kib);
	}
}

static void reader_ended(struct transport *t, int error)
{
	pthread_mutex_lock(&t->lock);
	t->ended++;
	if (error && !t->error)
		t->error = error;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

/* Read and dispatch until the mount goes (0) or /dev/fuse fails (-errno). */
static int serve(struct reader *r, char *buf)
{
	struct transport *t = r->t;

	while (!fuse_session_exited(t->se)) {
		struct fuse_buf fbuf = { .mem = buf };
		ssize_t n;
		bool init;
		int error;

		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		n = sw_fuse_read(r->fd, buf, t->bufsize);
		error = n < 0 ? errno : 0;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (n < 0 && (error == EINTR || error == EAGAIN || error == ENOENT))
			continue;	/* ENOENT: the request was interrupted */
		if (n < 0 && error == ENODEV)
			return 0;	/* unmounted */
		if (n < 0) {
			sw_err("reading /dev/fuse: %s", strerror(error));
			return -error;
		}
		if ((size_t)n < sizeof(struct fuse_in_header)) {
			sw_err("reading /dev/fuse: a %zd-byte request", n);
			return -EIO;
		}
		fbuf.size = (size_t)n;
		init = ((struct fuse_in_header *)buf)->opcode == FUSE_INIT;
		fuse_session_process_buf(t->se, &fbuf);
		if (init)
			init_done(t);
	}
	return 0;
}

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	char *buf = malloc(r->t->bufsize);
	int error = -ENOMEM;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	sw_fuse_reply_fd(r->fd == fuse_session_fd(r->t->se) ? -1 : r->fd);
	if (buf) {
		pthread_cleanup_push(free, buf);
		error = serve(r, buf);
		pthread_cleanup_pop(1);
	}
	reader_ended(r->t, error);
	return NULL;
}

/* A clone of the session's /dev/fuse (its requests answered on it), or the session's. */
static int reader_fd(struct fuse_session *se, bool clone)
{
	uint32_t master = (uint32_t)fuse_session_fd(se);
	int fd;

	if (!clone)
		return (int)master;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, FUSE_DEV_IOC_CLONE, &master)) {
		sw_warn("clone_fd: %s; the reader uses the session's /dev/fuse", strerror(errno));
		if (fd >= 0)
			close(fd);
		return (int)master;
	}
	return fd;
}

static int start_readers(struct transport *t)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	sigset_t block, old;
	int err = 0;

	/*
	 * At least 8 by default: a reader's read-ahead requests arrive together
	 * and are served in parallel (cold reads on 2 CPUs, docs/PERFORMANCE.md).
	 */
	t->nr = t->o->threads ? t->o->threads : cpus > 8 ? (unsigned)cpus : 8;
	t->r = calloc(t->nr, sizeof(*t->r));
	if (!t->r)
		return -ENOMEM;
	/* the signals that end the daemon go to the main thread */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (unsigned i = 0; i < t->nr && !err; i++) {
		t->r[i].t = t;
		t->r[i].fd = reader_fd(t->se, t->o->clone_fd);
		err = -pthread_create(&t->r[i].thread, NULL, reader_thread, &t->r[i]);
		t->r[i].started = !err;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

static void stop_readers(struct transport *t)
{
	for (unsigned i = 0; i < t->nr; i++) {
		if (t->r[i].started) {
			pthread_cancel(t->r[i].thread);
			pthread_join(t->r[i].thread, NULL);
		}
		if (t->r[i].t && t->r[i].fd != fuse_session_fd(t->se))
			close(t->r[i].fd);
	}
	free(t->r);
}

int sw_transport_run(struct fuse_session *se, const struct sw_transport_opts *o)
{
	struct transport t = { .se = se, .o = o };
	int err;

	t.bufsize = sw_fuse_max_request() + HEADER_ROOM;
	pthread_mutex_init(&t.lock, NULL);
	pthread_cond_init(&t.cond, NULL);
	/* everything but the registration itself before INIT: see uring.h */
	if (o->uring >= 0)
		t.uring_err = sw_uring_prepare(&t.u, se, o->uring_depth, sw_fuse_max_request());
	sw_fuse_io_want_uring(t.u != NULL);
	err = start_readers(&t);
	if (err)
		sw_err("cannot start the /dev/fuse readers: %s", strerror(-err));
	pthread_mutex_lock(&t.lock);
	while (!err && t.ended < t.nr && !t.error && !fuse_session_exited(se)) {
		struct timespec ts;

		/* signal handlers only mark the session: look every second */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&t.cond, &t.lock, &ts);
		if (t.u)
			sw_uring_watch(t.u, WATCH_SECS);
		/* one reader that saw the unmount: the others see it too */
		if (t.ended && !t.error)
			break;
	}
	if (!err)
		err = t.error ? t.error : fuse_session_exited(se) ? -EINTR : 0;
	pthread_mutex_unlock(&t.lock);
	stop_readers(&t);
	sw_uring_stop(t.u);
	pthread_cond_destroy(&t.cond);
	pthread_mutex_destroy(&t.lock);
	return err;
}

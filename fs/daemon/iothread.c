/*
 * iothread.c - see iothread.h.  Jobs arrive on a mutex-protected list and
 * an eventfd wakes the thread, which sleeps in io_uring on both the
 * eventfd and its I/O (swe_ring_wait_event), so one wait covers both.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fs/daemon/iothread.h"
#include "fs/lib/fslib.h"

struct sw_job *sw_job_new(unsigned nio)
{
	struct sw_job *j = calloc(1, sizeof(*j) + nio * sizeof(struct swe_io));

	if (j)
		j->nio = nio;
	return j;
}

static void io_done(struct swe_io *io, int result)
{
	struct sw_job *j = io->priv;

	if (result && !j->error)
		j->error = result;
	if (--j->pending == 0)
		j->done(j, j->error);
}

static void start_job(struct swe_ring *ring, struct sw_job *j)
{
	if (j->run) {
		j->run(j, ring);
		j->done(j, j->error);
		return;
	}
	j->pending = j->nio + 1;	/* +1 holds the job open while submitting */
	for (unsigned i = 0; i < j->nio; i++) {
		struct swe_io *io = &j->io[i];
		int err;

		io->cb = io_done;
		io->priv = j;
		err = swe_ring_submit(ring, io);
		if (err) {
			sw_err("I/O request rejected: %s", io->errmsg);
			if (!j->error)
				j->error = err;
			j->pending--;
		}
	}
	if (--j->pending == 0)
		j->done(j, j->error);
}

static void *run(void *arg)
{
	struct sw_iothread *t = arg;
	struct swe_ring_opts ro = { .queue_depth = t->queue_depth };
	struct swe_ring *ring;
	struct swe_err e;
	int err;

	/* the ring belongs to this thread (SINGLE_ISSUER) */
	t->start_error = swe_ring_create(&ring, t->vol, t->arena, &ro, &e);
	if (t->start_error)
		sw_err("I/O thread: %s", e.msg);
	else
		t->start_error = swe_ring_set_notify(ring, t->efd);
	pthread_mutex_lock(&t->lock);
	t->started = true;
	pthread_mutex_unlock(&t->lock);
	if (t->start_error)
		return NULL;
	for (;;) {
		struct sw_job *list;
		bool stop, notified;

		pthread_mutex_lock(&t->lock);
		list = t->head;
		t->head = t->tail = NULL;
		stop = t->stop;
		pthread_mutex_unlock(&t->lock);
		while (list) {
			struct sw_job *j = list;

			list = j->next;
			start_job(ring, j);
		}
		if (stop && !swe_ring_pending(ring)) {
			pthread_mutex_lock(&t->lock);
			stop = !t->head;
			pthread_mutex_unlock(&t->lock);
			if (stop)
				break;
			continue;
		}
		if ((err = swe_ring_wait_event(ring, &notified)) < 0)
			sw_err("I/O thread: waiting for I/O: %s", strerror(-err));
	}
	swe_ring_destroy(ring);
	return NULL;
}

int sw_iothread_start(struct sw_iothread *t, struct swe_volume *vol,
		      struct swe_arena *arena, unsigned queue_depth)
{
	t->efd = eventfd(0, EFD_CLOEXEC);
	if (t->efd < 0)
		return -errno;
	pthread_mutex_init(&t->lock, NULL);
	t->vol = vol;
	t->arena = arena;
	t->queue_depth = queue_depth;
	if (pthread_create(&t->tid, NULL, run, t)) {
		close(t->efd);
		return -EAGAIN;
	}
	for (;;) {	/* wait until the ring exists (or failed) */
		bool started;

		pthread_mutex_lock(&t->lock);
		started = t->started;
		pthread_mutex_unlock(&t->lock);
		if (started)
			break;
		usleep(1000);
	}
	if (t->start_error) {
		pthread_join(t->tid, NULL);
		close(t->efd);
		return t->start_error;
	}
	return 0;
}

static void wake(struct sw_iothread *t)
{
	uint64_t one = 1;

	while (write(t->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void sw_iothread_submit(struct sw_iothread *t, struct sw_job *job)
{
	bool was_empty;

	job->next = NULL;
	pthread_mutex_lock(&t->lock);
	was_empty = !t->head;
	if (t->tail)
		t->tail->next = job;
	else
		t->head = job;
	t->tail = job;
	pthread_mutex_unlock(&t->lock);
	if (was_empty)	/* otherwise a wake-up is pending: the thread takes the whole list */
		wake(t);
}

void sw_iothread_stop(struct sw_iothread *t)
{
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_mutex_unlock(&t->lock);
	wake(t);
	pthread_join(t->tid, NULL);
	close(t->efd);
	pthread_mutex_destroy(&t->lock);
}

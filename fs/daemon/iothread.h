/*
 * iothread.h - the daemon's I/O thread: owns an io_uring ring, takes jobs
 * (groups of volume requests) from FUSE handler threads, and runs each
 * job's completion on itself, so handlers never wait for a device.
 */
#ifndef SWAPFS_IOTHREAD_H
#define SWAPFS_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>

#include "engine/engine.h"

struct sw_job;
/* Runs on the I/O thread when every request of the job has completed. */
typedef void (*sw_job_done)(struct sw_job *job, int error);

struct sw_job {
	struct sw_job *next;
	sw_job_done done;
	/* instead of I/O: run on the thread with its ring (then done) */
	void (*run)(struct sw_job *job, struct swe_ring *ring);
	void *priv;
	unsigned nio, pending;
	int error;
	struct swe_io io[];	/* nio requests, filled by the submitter */
};

struct sw_iothread {
	pthread_t tid;
	int efd;
	pthread_mutex_t lock;
	struct sw_job *head, *tail;
	bool stop, started;
	struct swe_volume *vol;
	struct swe_arena *arena;
	unsigned queue_depth;
	int start_error;
};

/* A job with room for nio requests (calloc'd; freed by the caller's done). */
struct sw_job *sw_job_new(unsigned nio);
int sw_iothread_start(struct sw_iothread *t, struct swe_volume *vol,
		      struct swe_arena *arena, unsigned queue_depth);
void sw_iothread_submit(struct sw_iothread *t, struct sw_job *job);
/* Finish every queued and running job, then end the thread. */
void sw_iothread_stop(struct sw_iothread *t);

#endif

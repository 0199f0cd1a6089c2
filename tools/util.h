/* util.h - helpers for the command-line tools only (child processes, fio, progress).
 * Argument parsing shared with the daemon is in fs/lib/fslib.h. */
#ifndef SWAPFS_TOOLS_UTIL_H
#define SWAPFS_TOOLS_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fs/lib/fslib.h"

/* Sum of fio terse-v3 bandwidth over its lines (one per job), in KiB/s. */
double fio_terse_kib(char *out, bool read);
/* Run argv, capture its stdout into a malloc'd string; returns exit status or -errno. */
int run_capture(char *const argv[], char **out);

/* Page cache dropped (root), so reads that follow are cold. */
void drop_caches(void);
/* v[0..n) in ascending order. */
void sort_doubles(double *v, size_t n);

/* A one-line progress indicator on stderr, only when stderr is a terminal. */
struct progress {
	bool tty;
	double last;
	const char *label;
};
void progress_start(struct progress *p, const char *label);
void progress_update(struct progress *p, uint64_t done, uint64_t total, double t0);
void progress_end(struct progress *p);

#endif

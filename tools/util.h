/* util.h - small helpers shared by the command-line tools. */
#ifndef SWAPFS_TOOLS_UTIL_H
#define SWAPFS_TOOLS_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* "4096", "64k", "1M", "2G", "1T" (binary multiples) -> bytes; -EINVAL on junk. */
int parse_size(const char *s, uint64_t *out);
/* Split "A:B:C" into a NULL-terminated array of up to max members; returns count or -errno. */
int split_members(const char *list, char ***out, unsigned max);
void free_members(char **members);
double now_seconds(void);
/* Is path a member of a mounted swapfs (named in a mount source, colon-separated)? */
bool member_mounted(const char *path);
/* Sum of fio terse-v3 bandwidth over its lines (one per job), in KiB/s. */
double fio_terse_kib(char *out, bool read);
/* Run argv, capture its stdout into a malloc'd string; returns exit status or -errno. */
int run_capture(char *const argv[], char **out);

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

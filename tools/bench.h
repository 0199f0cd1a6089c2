/* bench.h - the modes of swapbench beyond `raw`, one file each. */
#ifndef SWAPFS_TOOLS_BENCH_H
#define SWAPFS_TOOLS_BENCH_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int bench_table(int argc, char **argv);
int bench_mount(int argc, char **argv);
int bench_compare(int argc, char **argv, const char *self);
int bench_client(int argc, char **argv);
/* Runs the swapbench-offload script (Python, swapfs.aio); returns only on failure. */
int bench_offload(int argc, char **argv, const char *self);
/* Write (with fsync) then read files through libswapfs on a swapfs mount dir. */
int client_workload(const char *dir, unsigned files, uint64_t size, size_t block,
		    unsigned qd, double *write_mib_s, double *read_mib_s);

/* bench_streams.c: N concurrent writers (64 MiB writes + fsync), then N cold readers. */
struct stream_result {
	unsigned streams;
	double write, read;			/* MiB/s, all streams together */
	double cpu_write_s_gib, cpu_read_s_gib;	/* CPU seconds per GiB moved */
	bool daemon_measured;			/* the swapfs daemon's CPU is included */
};
#define MAX_STREAM_COUNTS 8
/* Files under dir; or, with members, O_DIRECT slices of the members (a raw writer). */
int streams_workload(const char *dir, char *const *members, unsigned nmembers,
		     const unsigned *counts, size_t ncounts, uint64_t total,
		     struct stream_result *out);
/* "1,4,8,16" -> counts; returns how many or -EINVAL. */
int parse_stream_counts(const char *list, unsigned *counts, size_t max);
/* The FUSE transport a swapfs mount reports ("kernel" for another filesystem). */
void mount_transport(const char *dir, char *out, size_t len);
json_object *streams_json(const struct stream_result *r, size_t n);
void print_streams(const char *label, const struct stream_result *r, size_t n);

/* bench_small.c: one-at-a-time latency of small-file and metadata operations. */
#define SMALL_OPS 6
struct small_latency {
	double p50, p90, p99;	/* microseconds */
	double ops_s;
};
/* n files of 4 KiB under dir/lat (removed after), 512 B I/O on a 64 MiB file. */
int small_latency(const char *dir, unsigned n, struct small_latency out[SMALL_OPS]);
json_object *small_latency_json(const struct small_latency l[SMALL_OPS]);
void print_small_latency(const char *label, const struct small_latency l[SMALL_OPS]);
const char *small_op_name(int op);

#endif

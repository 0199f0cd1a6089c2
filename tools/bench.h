/* bench.h - the modes of swapbench beyond `raw`, one file each. */
#ifndef SWAPFS_TOOLS_BENCH_H
#define SWAPFS_TOOLS_BENCH_H

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

#endif

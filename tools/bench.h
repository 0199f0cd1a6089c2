/* bench.h - the modes of swapbench beyond `raw`, one file each. */
#ifndef SWAPFS_TOOLS_BENCH_H
#define SWAPFS_TOOLS_BENCH_H

int bench_table(int argc, char **argv);
int bench_mount(int argc, char **argv);
int bench_compare(int argc, char **argv, const char *self);

#endif

/* bench.h - the modes of swapbench beyond `raw`, one file each. */
#ifndef SWAPFS_TOOLS_BENCH_H
#define SWAPFS_TOOLS_BENCH_H

int bench_table(int argc, char **argv);

#endif

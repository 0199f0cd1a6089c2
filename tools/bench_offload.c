/*
 * bench_offload.c - `swapbench offload`: the ZeRO-Infinity-shaped
 * optimizer-state swap benchmark (swapfs.aio vs POSIX on the mount vs
 * O_DIRECT io_uring on btrfs raid0 and on the raw members).  The loop is
 * Python (torch tensors, CUDA where present, through swapfs.aio as
 * DeepSpeed would drive it): this runs the swapbench-offload script next
 * to this swapbench (build tree or installed), else the one on PATH.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/bench.h"

int bench_offload(int argc, char **argv, const char *self)
{
	const char *slash = strrchr(self, '/');
	char script[4096];
	char **args = calloc((size_t)argc + 2, sizeof(*args));

	if (!args) {
		fprintf(stderr, "swapbench offload: out of memory\n");
		return 1;
	}
	if (slash && (size_t)snprintf(script, sizeof(script), "%.*s/swapbench-offload",
				      (int)(slash - self), self) < sizeof(script) &&
	    access(script, X_OK) == 0)
		args[0] = script;
	else
		args[0] = "swapbench-offload";
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	execvp(args[0], args);
	fprintf(stderr, "swapbench offload: cannot run %s: %s\n", args[0], strerror(errno));
	free(args);
	return 1;
}

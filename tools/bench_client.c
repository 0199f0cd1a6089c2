/*
 * bench_client.c - `swapbench client`: the large-tensor workloads of
 * `swapbench mount` through libswapfs instead of read()/write(): N files
 * of S bytes written in BLOCK requests with QD in flight from a shared
 * buffer, made durable with fsync, then read back.  Like fio, every
 * request in flight has its own block of the buffer (QD x BLOCK bytes).
 * `swapbench compare` runs it on the swapfs mount beside the POSIX figures.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/bench.h"
#include "fs/client/libswapfs.h"
#include "tools/util.h"

#define MiB (1024.0 * 1024.0)

/* One file, whole, in block requests with qd in flight, each in its own buffer slot. */
static int stream_file(struct swapfs_client *c, int op, int file, char *buf,
		       uint64_t size, size_t block, unsigned qd)
{
	uint64_t next = 0, done = 0;
	unsigned nfree = qd, free_slot[256];
	struct swapfs_cqe cqe[256];

	for (unsigned i = 0; i < qd; i++)
		free_slot[i] = i;
	while (done < size) {
		while (nfree && next < size) {
			size_t n = size - next < block ? (size_t)(size - next) : block;
			unsigned slot = free_slot[nfree - 1];
			struct swapfs_io io = { op, file, buf + (size_t)slot * block, n, next,
						(uint64_t)slot << 32 | n };
			int r = swapfs_submit(c, &io, 1);

			if (r < 0)
				return r;
			if (!r)
				break;
			nfree--;
			next += n;
		}
		int got = swapfs_wait(c, cqe, 1, 256, 30000);

		if (got < 0)
			return got;
		for (int i = 0; i < got; i++) {
			if (cqe[i].result < 0)
				return (int)cqe[i].result;
			done += cqe[i].user_data & 0xffffffffu;
			free_slot[nfree++] = (unsigned)(cqe[i].user_data >> 32);
		}
	}
	return 0;
}

int client_workload(const char *dir, unsigned files, uint64_t size, size_t block,
		    unsigned qd, double *write_mib_s, double *read_mib_s)
{
	struct swapfs_client *c;
	char *buf, path[4096];
	int err = swapfs_client_open(&c, dir);
	double t0;

	*write_mib_s = *read_mib_s = -1;
	if (err)
		return err;
	err = swapfs_buf_alloc(c, block * qd, (void **)&buf);
	if (err)
		goto out;
	memset(buf, 0x5a, block * qd);
	for (int pass = 0; pass < 2 && !err; pass++) {
		bool write = pass == 0;

		t0 = now_seconds();
		for (unsigned i = 0; i < files && !err; i++) {
			int fd, file;

			snprintf(path, sizeof(path), "%s/client%u.tensor", dir, i);
			fd = open(path, write ? O_RDWR | O_CREAT | O_TRUNC : O_RDONLY, 0644);
			if (fd < 0) {
				err = -errno;
				break;
			}
			file = swapfs_file_register(c, fd, NULL);
			close(fd);
			if (file < 0) {
				err = file;
				break;
			}
			err = stream_file(c, write ? SWAPFS_WRITE : SWAPFS_READ, file, buf,
					  size, block, qd);
			if (!err && write)
				err = swapfs_fsync(c, file);
			if (swapfs_file_unregister(c, file) && !err)
				err = -EIO;
		}
		if (!err)
			*(write ? write_mib_s : read_mib_s) =
				(double)files * (double)size / MiB / (now_seconds() - t0);
	}
	for (unsigned i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/client%u.tensor", dir, i);
		unlink(path);
	}
out:
	swapfs_client_close(c);
	return err;
}

int bench_client(int argc, char **argv)
{
	const char *dir = NULL;
	uint64_t files = 8, size = 512ull << 20, block = 1 << 20, qd = 32;
	bool json = false;
	double w, r;
	int err;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t *dst = !strcmp(a, "--files") ? &files : !strcmp(a, "--file-size") ? &size :
				!strcmp(a, "--block") ? &block : !strcmp(a, "--qd") ? &qd : NULL;

		if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--dir") && v) {
			dir = v;
			i++;
		} else if (dst && v && !parse_size(v, dst)) {
			i++;
		} else {
			dir = NULL;
			break;
		}
	}
	if (!dir || !files || files > 100000 || !size || block < 4096 || block > (1u << 30) ||
	    !qd || qd > 256) {
		fprintf(stderr, "usage: swapbench client --dir MOUNTDIR [--files N] [--file-size S] [--block S] [--qd N] [--json]\n");
		return 2;
	}
	err = client_workload(dir, (unsigned)files, size, block, (unsigned)qd, &w, &r);
	if (err) {
		fprintf(stderr, "swapbench: client path on %s: %s\n", dir, strerror(-err));
		return 1;
	}
	if (json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "client_write_mib_s", json_object_new_double(w));
		json_object_object_add(j, "client_read_mib_s", json_object_new_double(r));
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
		json_object_put(j);
	} else {
		printf("client (libswapfs, %llu x %llu MiB, %llu KiB blocks, qd %llu): write+fsync %.0f  read %.0f MiB/s\n",
		       (unsigned long long)files, (unsigned long long)(size >> 20),
		       (unsigned long long)(block >> 10), (unsigned long long)qd, w, r);
	}
	return 0;
}

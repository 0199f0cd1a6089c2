/*
 * bench_small.c - the latency of small-file and metadata operations, one at a
 * time, as tokenizer files, configs and per-layer tensors are written and
 * read: percentiles (50/90/99) in microseconds of each operation.
 *
 *   create  open(O_CREAT|O_TRUNC) + write 4 KiB + close of a new file
 *   open+read  open + read 4 KiB + close of one of those files
 *   stat    stat of one of those files
 *   pwrite  512 bytes at a random aligned offset of a 64 MiB file, open once
 *   pread   512 bytes likewise
 *   unlink  unlink of each file
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/bench.h"
#include "tools/util.h"

static const char *const op_names[SMALL_OPS] = {
	"create", "open_read", "stat", "pwrite_512", "pread_512", "unlink",
};

static void summarise(struct small_latency *l, double *us, unsigned n)
{
	double sum = 0;

	sort_doubles(us, n);
	for (unsigned i = 0; i < n; i++)
		sum += us[i];
	l->p50 = us[n / 2];
	l->p90 = us[(unsigned)(n * 0.9)];
	l->p99 = us[(unsigned)(n * 0.99)];
	l->ops_s = sum > 0 ? n / (sum / 1e6) : 0;
}

/* One op on file i (or block i of the big file); returns 0 or -errno. */
static int one_op(int op, const char *dir, unsigned i, int big, char *buf)
{
	char path[4200];
	off_t off = (off_t)((i * 2654435761u) % (64u << 11)) * 512;	/* 64 MiB / 512 */
	int fd;

	snprintf(path, sizeof(path), "%s/lat/f%u", dir, i);
	switch (op) {
	case 0:
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return -errno;
		if (write(fd, buf, 4096) != 4096) {
			close(fd);
			return -EIO;
		}
		return close(fd) < 0 ? -errno : 0;
	case 1:
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -errno;
		if (read(fd, buf, 4096) != 4096) {
			close(fd);
			return -EIO;
		}
		return close(fd) < 0 ? -errno : 0;
	case 2: {
		struct stat st;

		return stat(path, &st) < 0 ? -errno : 0;
	}
	case 3:
		return pwrite(big, buf, 512, off) == 512 ? 0 : -EIO;
	case 4:
		return pread(big, buf, 512, off) == 512 ? 0 : -EIO;
	default:
		return unlink(path) < 0 ? -errno : 0;
	}
}

int small_latency(const char *dir, unsigned n, struct small_latency out[SMALL_OPS])
{
	char path[4200], *buf = calloc(1, 1 << 20);
	double *us = calloc(n ? n : 1, sizeof(double));
	int big = -1, err = 0;

	memset(out, 0, sizeof(struct small_latency) * SMALL_OPS);
	snprintf(path, sizeof(path), "%s/lat", dir);
	if (!buf || !us || !n || (mkdir(path, 0755) < 0 && errno != EEXIST)) {
		err = !buf || !us ? -ENOMEM : n ? -errno : -EINVAL;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/lat/big", dir);
	big = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (big < 0) {
		err = -errno;
		goto out;
	}
	for (unsigned k = 0; k < 64 && !err; k++)	/* the 64 MiB file, written once */
		if (write(big, buf, 1 << 20) != 1 << 20)
			err = -EIO;
	if (!err && fsync(big) < 0)
		err = -errno;
	for (int op = 0; op < SMALL_OPS && !err; op++) {
		for (unsigned i = 0; i < n && !err; i++) {
			double t0 = now_seconds();

			err = one_op(op, dir, i, big, buf);
			us[i] = (now_seconds() - t0) * 1e6;
		}
		if (!err)
			summarise(&out[op], us, n);
	}
out:
	if (big >= 0) {
		close(big);
		unlink(path);
	}
	for (unsigned i = 0; err && i < n; i++) {	/* after a failure, leave nothing */
		snprintf(path, sizeof(path), "%s/lat/f%u", dir, i);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/lat", dir);
	rmdir(path);
	free(buf);
	free(us);
	return err;
}

json_object *small_latency_json(const struct small_latency l[SMALL_OPS])
{
	json_object *j = json_object_new_object();

	for (int op = 0; op < SMALL_OPS; op++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "p50_us", json_object_new_double(l[op].p50));
		json_object_object_add(o, "p90_us", json_object_new_double(l[op].p90));
		json_object_object_add(o, "p99_us", json_object_new_double(l[op].p99));
		json_object_object_add(o, "ops_s", json_object_new_double(l[op].ops_s));
		json_object_object_add(j, op_names[op], o);
	}
	return j;
}

void print_small_latency(const char *label, const struct small_latency l[SMALL_OPS])
{
	printf("%-10s latency p50/p90/p99 us:", label);
	for (int op = 0; op < SMALL_OPS; op++)
		printf("  %s %.0f/%.0f/%.0f", op_names[op], l[op].p50, l[op].p90, l[op].p99);
	printf("\n");
}

const char *small_op_name(int op)
{
	return op_names[op];
}

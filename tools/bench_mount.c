/*
 * bench_mount.c - `swapbench mount` (application workloads on a directory:
 * a swapfs mount, or any filesystem for comparison) and `swapbench compare`
 * (the raw limit, swapfs and btrfs raid0 over the same image files, one run).
 *
 * Workloads, as the frameworks issue them:
 *   write   N files of S bytes with 64 MiB write() calls, fsync each
 *   read    the same files read back cold (page cache dropped) in 64 MiB reads
 *   direct  Linux AIO O_DIRECT 1 MiB at depth 32 (DeepSpeed's swapper), write then read
 *   mmap    cold full scan of one file through a MAP_SHARED read-only mapping
 *   small   10,000 x 64 KiB tensors: create+write+close, read, unlink (files/s),
 *           then the latency percentiles of small-file operations (bench_small.c)
 *   streams 1, 4, 8 and 16 writers at once, then as many cold readers, with
 *           CPU seconds per GiB (bench_streams.c)
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/bench.h"
#include "tools/util.h"

#define MiB (1024.0 * 1024.0)

struct wl_opts {
	const char *dir;
	unsigned files, small_files;
	uint64_t file_size, stream_bytes;
	unsigned stream_counts[MAX_STREAM_COUNTS];
	size_t nstreams;
	bool direct, json;
};

struct wl_result {
	double write, read, direct_write, direct_read, mmap_scan;
	double small_create, small_read, small_unlink;	/* files/s */
	struct stream_result streams[MAX_STREAM_COUNTS];
	struct small_latency lat[SMALL_OPS];
	char transport[32];
};

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static double wl_write(const struct wl_opts *o, char *buf, size_t bufsz)
{
	double t0 = now_seconds();
	char path[4096];

	for (unsigned i = 0; i < o->files; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/t%u.tensor", o->dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return -errno;
		for (uint64_t done = 0; done < o->file_size; done += bufsz) {
			size_t n = o->file_size - done < bufsz ? o->file_size - done : bufsz;

			if (write_all(fd, buf, n) || fsync(fd) < 0 * (done + n < o->file_size)) {
				close(fd);
				return -EIO;
			}
		}
		if (fsync(fd) < 0 || close(fd) < 0)
			return -EIO;
	}
	return o->files * (double)o->file_size / MiB / (now_seconds() - t0);
}

static double wl_read(const struct wl_opts *o, char *buf, size_t bufsz)
{
	char path[4096];
	double t0;

	drop_caches();
	t0 = now_seconds();
	for (unsigned i = 0; i < o->files; i++) {
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "%s/t%u.tensor", o->dir, i);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -errno;
		while ((n = read(fd, buf, bufsz)) > 0)
			;
		close(fd);
		if (n < 0)
			return -EIO;
	}
	return o->files * (double)o->file_size / MiB / (now_seconds() - t0);
}

static double wl_mmap(const struct wl_opts *o)
{
	char path[4096];
	volatile uint64_t sum = 0;
	uint64_t size = o->file_size * (o->files < 4 ? o->files : 4);
	double t0;
	int fd;
	void *p;

	/* one large tensor: the first files concatenated would need a copy; use t0 grown */
	snprintf(path, sizeof(path), "%s/t0.tensor", o->dir);
	size = o->file_size;
	drop_caches();
	t0 = now_seconds();
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, size, MADV_SEQUENTIAL);
	for (uint64_t i = 0; i < size / 8; i += 8)	/* every cache line */
		sum += ((const uint64_t *)p)[i];
	munmap(p, size);
	(void)sum;
	return size / MiB / (now_seconds() - t0);
}

static int wl_small(const struct wl_opts *o, struct wl_result *r, char *buf)
{
	char path[4096];
	double t0;

	snprintf(path, sizeof(path), "%s/small", o->dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	t0 = now_seconds();
	for (unsigned i = 0; i < o->small_files; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/small/s%u.tensor.swp", o->dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write_all(fd, buf, 65536) || close(fd) < 0)
			return -EIO;
	}
	r->small_create = o->small_files / (now_seconds() - t0);
	drop_caches();
	t0 = now_seconds();
	for (unsigned i = 0; i < o->small_files; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/small/s%u.tensor.swp", o->dir, i);
		fd = open(path, O_RDONLY);
		if (fd < 0 || read(fd, buf, 65536) != 65536 || close(fd) < 0)
			return -EIO;
	}
	r->small_read = o->small_files / (now_seconds() - t0);
	t0 = now_seconds();
	for (unsigned i = 0; i < o->small_files; i++) {
		snprintf(path, sizeof(path), "%s/small/s%u.tensor.swp", o->dir, i);
		if (unlink(path) < 0)
			return -errno;
	}
	r->small_unlink = o->small_files / (now_seconds() - t0);
	snprintf(path, sizeof(path), "%s/small", o->dir);
	rmdir(path);
	return 0;
}

/*
 * DeepSpeed's swapper as it reaches the filesystem: Linux AIO (io_submit, what
 * libaio wraps) on one O_DIRECT file, 1 MiB requests, 32 in flight.  The
 * system calls are made directly, so no fio or libaio is needed.
 */
static double wl_direct(const struct wl_opts *o, bool write)
{
	enum { QD = 32, BS = 1 << 20 };
	uint64_t total = o->file_size * 2, next = 0, done = 0;
	aio_context_t ctx = 0;
	struct iocb cb[QD], *cbp[QD];
	struct io_event ev[QD];
	char path[4200], *buf = NULL;
	double t0;
	int fd, err = 0;
	unsigned inflight = 0;

	snprintf(path, sizeof(path), "%s/direct.swp", o->dir);
	fd = open(path, (write ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY) | O_DIRECT, 0644);
	if (fd < 0)
		return -errno;
	if (posix_memalign((void **)&buf, 4096, (size_t)QD * BS) ||
	    syscall(SYS_io_setup, QD, &ctx) < 0) {
		free(buf);
		close(fd);
		return -ENOMEM;
	}
	memset(buf, 0xa5, (size_t)QD * BS);
	if (!write)
		drop_caches();
	t0 = now_seconds();
	while (!err && done < total) {
		unsigned n = 0;
		long got;

		/* buffers are shared round-robin: the bytes are all alike */
		while (next < total && inflight + n < QD) {
			memset(&cb[n], 0, sizeof(cb[n]));
			cb[n].aio_fildes = (uint32_t)fd;
			cb[n].aio_lio_opcode = write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
			cb[n].aio_buf = (uint64_t)(uintptr_t)(buf + (size_t)((next / BS) % QD) * BS);
			cb[n].aio_nbytes = BS;
			cb[n].aio_offset = (int64_t)next;
			cbp[n] = &cb[n];
			next += BS;
			n++;
		}
		if (n && syscall(SYS_io_submit, ctx, (long)n, cbp) != (long)n)
			err = -EIO;
		inflight += n;
		got = err ? 0 : syscall(SYS_io_getevents, ctx, 1L, (long)QD, ev, NULL);
		if (got < 0)
			err = -EIO;
		for (long k = 0; k < got; k++)
			if (ev[k].res != BS)
				err = -EIO;
		done += (uint64_t)(got > 0 ? got : 0) * BS;
		inflight -= got > 0 ? (unsigned)got : 0;
	}
	if (!err && write && fsync(fd) < 0)
		err = -errno;
	t0 = now_seconds() - t0;
	syscall(SYS_io_destroy, ctx);
	free(buf);
	close(fd);
	return err ? err : (double)total / MiB / t0;
}

static int run_workloads(const struct wl_opts *o, struct wl_result *r)
{
	size_t bufsz = 64 << 20;
	char *buf;
	char path[4096];

	memset(r, 0, sizeof(*r));
	if (posix_memalign((void **)&buf, 4096, bufsz))
		return -ENOMEM;
	memset(buf, 0x5a, bufsz);
	r->write = wl_write(o, buf, bufsz);
	r->read = r->write > 0 ? wl_read(o, buf, bufsz) : -1;
	r->mmap_scan = r->write > 0 ? wl_mmap(o) : -1;
	for (unsigned i = 0; i < o->files; i++) {
		snprintf(path, sizeof(path), "%s/t%u.tensor", o->dir, i);
		unlink(path);
	}
	if (o->direct) {
		r->direct_write = wl_direct(o, true);
		r->direct_read = r->direct_write > 0 ? wl_direct(o, false) : -1;
		snprintf(path, sizeof(path), "%s/direct.swp", o->dir);
		unlink(path);
	}
	if (o->small_files && (wl_small(o, r, buf) || small_latency(o->dir, o->small_files, r->lat)))
		fprintf(stderr, "swapbench: a small-file workload failed in %s\n", o->dir);
	free(buf);
	if (o->nstreams && streams_workload(o->dir, NULL, 0, o->stream_counts, o->nstreams,
					    o->stream_bytes, r->streams))
		fprintf(stderr, "swapbench: a streams pass failed in %s\n", o->dir);
	mount_transport(o->dir, r->transport, sizeof(r->transport));
	return r->write > 0 && r->read > 0 ? 0 : -EIO;
}

static void print_result(const char *label, const struct wl_result *r, size_t nstreams)
{
	printf("%-10s write %6.0f  read %6.0f  direct w %6.0f r %6.0f  mmap %6.0f MiB/s  small c/r/u %6.0f %6.0f %6.0f files/s  [%s]\n",
	       label, r->write, r->read, r->direct_write, r->direct_read, r->mmap_scan,
	       r->small_create, r->small_read, r->small_unlink, r->transport);
	print_streams(label, r->streams, nstreams);
	if (r->lat[0].ops_s > 0)
		print_small_latency(label, r->lat);
}

static json_object *result_json(const struct wl_result *r, size_t nstreams)
{
	json_object *j = json_object_new_object();

	json_object_object_add(j, "transport", json_object_new_string(r->transport));
	json_object_object_add(j, "streams", streams_json(r->streams, nstreams));
	json_object_object_add(j, "small_latency", small_latency_json(r->lat));
	json_object_object_add(j, "write_mib_s", json_object_new_double(r->write));
	json_object_object_add(j, "read_mib_s", json_object_new_double(r->read));
	json_object_object_add(j, "direct_write_mib_s", json_object_new_double(r->direct_write));
	json_object_object_add(j, "direct_read_mib_s", json_object_new_double(r->direct_read));
	json_object_object_add(j, "mmap_scan_mib_s", json_object_new_double(r->mmap_scan));
	json_object_object_add(j, "small_create_files_s", json_object_new_double(r->small_create));
	json_object_object_add(j, "small_read_files_s", json_object_new_double(r->small_read));
	json_object_object_add(j, "small_unlink_files_s", json_object_new_double(r->small_unlink));
	return j;
}

static int parse_common(int argc, char **argv, struct wl_opts *o, const char **extra,
			unsigned *ndev, uint64_t *dev_size, const char **png, const char **mount_opts)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x;

		if (!strcmp(a, "--json")) {
			o->json = true;
			continue;
		}
		if (!strcmp(a, "--no-direct")) {
			o->direct = false;
			continue;
		}
		if (!v)
			return -EINVAL;
		i++;
		if (!strcmp(a, "--streams")) {
			int n = !strcmp(v, "0") ? 0 :
				parse_stream_counts(v, o->stream_counts, MAX_STREAM_COUNTS);

			if (n < 0)
				return -EINVAL;
			o->nstreams = (size_t)n;
		} else if (!strcmp(a, "--dir"))
			o->dir = v;
		else if (!strcmp(a, "--images") && extra)
			*extra = v;
		else if (!strcmp(a, "--png") && png)
			*png = v;
		else if (!strcmp(a, "--mount-opts") && mount_opts)
			*mount_opts = v;
		else if (parse_size(v, &x))
			return -EINVAL;
		else if (!strcmp(a, "--files") && x > 0 && x < 100000)
			o->files = (unsigned)x;
		else if (!strcmp(a, "--file-size") && x >= (1 << 20))
			o->file_size = x;
		else if (!strcmp(a, "--stream-bytes") && x >= (64 << 20))
			o->stream_bytes = x;
		else if (!strcmp(a, "--small") && x < 10000000)
			o->small_files = (unsigned)x;
		else if (!strcmp(a, "--ndev") && ndev && x >= 1 && x <= 16)
			*ndev = (unsigned)x;
		else if (!strcmp(a, "--dev-size") && dev_size)
			*dev_size = x;
		else
			return -EINVAL;
	}
	return 0;
}

int bench_mount(int argc, char **argv)
{
	struct wl_opts o = { .files = 8, .file_size = 512ull << 20, .small_files = 10000,
			     .direct = true, .stream_bytes = 2ull << 30,
			     .stream_counts = { 1, 4, 8, 16 }, .nstreams = 4 };
	struct wl_result r;

	if (parse_common(argc, argv, &o, NULL, NULL, NULL, NULL, NULL) || !o.dir) {
		fprintf(stderr, "usage: swapbench mount --dir DIR [--files N] [--file-size S] [--small N] [--streams LIST|0] [--stream-bytes S] [--no-direct] [--json]\n");
		return 2;
	}
	if (run_workloads(&o, &r)) {
		fprintf(stderr, "swapbench: a workload failed in %s\n", o.dir);
		return 1;
	}
	if (o.json) {
		json_object *j = result_json(&r, o.nstreams);

		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
		json_object_put(j);
	} else {
		print_result(o.dir, &r, o.nstreams);
	}
	return 0;
}

/* ---- compare ----------------------------------------------------------- */

static int run(char *const argv[])
{
	char *out = NULL;
	int st = run_capture(argv, &out);

	if (st)
		fprintf(stderr, "swapbench: %s failed (%d): %s\n", argv[0], st, out ? out : "");
	free(out);
	return st;
}

static bool wait_mounted(const char *mnt)
{
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen("/proc/self/mounts", "r");
		char line[8192];
		bool found = false;

		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, mnt))
				found = true;
		if (f)
			fclose(f);
		if (found)
			return true;
		usleep(50000);
	}
	return false;
}

/* The swapfs and mkswapfs next to this swapbench (build tree or installed). */
static void sibling(const char *self, const char *name, const char *alt, char *out, size_t len)
{
	const char *slash = strrchr(self, '/');
	int dlen = slash ? (int)(slash - self) : 1;
	const char *dir = slash ? self : ".";

	if ((size_t)snprintf(out, len, "%.*s/%s", dlen, dir, name) < len && access(out, X_OK) == 0)
		return;
	if ((size_t)snprintf(out, len, "%.*s/%s", dlen, dir, alt) < len && access(out, X_OK) == 0)
		return;
	snprintf(out, len, "%s", name);
}

int bench_compare(int argc, char **argv, const char *self)
{
	struct wl_opts o = { .files = 8, .file_size = 512ull << 20, .small_files = 10000,
			     .direct = true, .stream_bytes = 2ull << 30,
			     .stream_counts = { 1, 4, 8, 16 }, .nstreams = 4 };
	const char *images = "/dev/shm/swapbench", *png = NULL, *mount_opts = NULL;
	bool made_images;
	unsigned ndev = 4;
	uint64_t dev_size = 3ull << 30;
	char img[16][1024], mnt[1024], members[16 * 1024 + 16] = "", swapfs[4096], mkfs[4096];
	char loops[16][64];
	struct wl_result rs, rb, re;
	struct stream_result raw_streams[MAX_STREAM_COUNTS];
	char *member_list[16];
	double raw_w = 0, raw_r = 0, cl_w = -1, cl_r = -1;
	json_object *j;
	int rc = 1;

	if (parse_common(argc, argv, &o, &images, &ndev, &dev_size, &png, &mount_opts)) {
		fprintf(stderr, "usage: swapbench compare [--images DIR] [--ndev N] [--dev-size S] [--files N] [--file-size S] [--small N] [--streams LIST|0] [--stream-bytes S] [--mount-opts OPTS] [--json] [--png FILE]\n");
		return 2;
	}
	sibling(self, "swapfs", "../fs/daemon/swapfs", swapfs, sizeof(swapfs));
	sibling(self, "mkswapfs", "mkswapfs", mkfs, sizeof(mkfs));
	made_images = mkdir(images, 0755) == 0;	/* ours to remove after, if still empty */
	snprintf(mnt, sizeof(mnt), "%.900s/mnt", images);
	mkdir(mnt, 0755);
	for (unsigned i = 0; i < ndev; i++) {
		char of[1100], count[32];

		if (strlen(images) > 900) {
			fprintf(stderr, "swapbench: --images path too long\n");
			return 2;
		}
		snprintf(img[i], sizeof(img[i]), "%.900s/member%u.img", images, i);
		snprintf(of, sizeof(of), "of=%.1000s", img[i]);
		snprintf(count, sizeof(count), "count=%llu", (unsigned long long)(dev_size >> 24));
		/* fault the backing memory or blocks in once (this VM touches fresh memory slowly) */
		if (run((char *[]){ "dd", "if=/dev/zero", of, "bs=16M", count, "oflag=direct",
				    "status=none", NULL }))
			return 1;
		strcat(members, i ? ":" : "");
		strcat(members, img[i]);
		member_list[i] = img[i];
	}
	fprintf(stderr, "swapbench compare: %u members of %llu MiB in %s, %u x %llu MiB files\n",
		ndev, (unsigned long long)(dev_size >> 20), images, o.files,
		(unsigned long long)(o.file_size >> 20));
	/* 1. raw limit: fio io_uring, one job per member */
	{
		char *raw_w_argv[] = { (char *)self, "raw", "--devices", members, "--size",
				       NULL, "--compare-fio", "--json", "--no-warmup", NULL };
		char sz[32], *out = NULL;
		json_object *jr, *v;

		snprintf(sz, sizeof(sz), "%llu", (unsigned long long)(o.files * o.file_size));
		raw_w_argv[5] = sz;
		if (run_capture(raw_w_argv, &out) == 0 && (jr = json_tokener_parse(out))) {
			if (json_object_object_get_ex(jr, "fio_write", &v) &&
			    json_object_object_get_ex(v, "median_mib_s", &v))
				raw_w = json_object_get_double(v);
			if (json_object_object_get_ex(jr, "fio_read", &v) &&
			    json_object_object_get_ex(v, "median_mib_s", &v))
				raw_r = json_object_get_double(v);
			json_object_put(jr);
		}
		free(out);
	}
	/* 1b. raw writers: the streams workload on O_DIRECT slices of the members */
	memset(raw_streams, 0, sizeof(raw_streams));
	if (o.nstreams && streams_workload(NULL, member_list, ndev, o.stream_counts, o.nstreams,
					   o.stream_bytes, raw_streams))
		fprintf(stderr, "swapbench: a raw streams pass failed\n");
	/* 2. swapfs */
	{
		char *mk[20] = { mkfs, "-q", "-f" };
		char *mount_argv[] = { swapfs, "-o", (char *)mount_opts, members, mnt, NULL };
		int k = 3;

		for (unsigned i = 0; i < ndev; i++)
			mk[k++] = img[i];
		mk[k] = NULL;
		if (run(mk) || run(mount_opts ? mount_argv : (char *[]){ swapfs, members, mnt, NULL }) || !wait_mounted(mnt))
			goto out;
		o.dir = mnt;
		if (run_workloads(&o, &rs))
			fprintf(stderr, "swapbench: a workload failed on swapfs\n");
		if (client_workload(mnt, o.files, o.file_size, 1 << 20, 32, &cl_w, &cl_r))
			fprintf(stderr, "swapbench: the client path failed on swapfs\n");
		run((char *[]){ "umount", mnt, NULL });
		sleep(1);
	}
	/* 3. btrfs raid0 over loop devices on the same files (nodatasum: O_DIRECT) */
	memset(&rb, 0, sizeof(rb));
	{
		char *mk[24] = { "mkfs.btrfs", "-q", "-f", "-d", "raid0", "-m", "raid1" };
		int k = 7;
		bool ok = true;

		for (unsigned i = 0; i < ndev && ok; i++) {
			char *out = NULL;

			ok = run_capture((char *[]){ "losetup", "--direct-io=on", "-f", "--show",
						     img[i], NULL }, &out) == 0 && out;
			if (ok) {
				snprintf(loops[i], sizeof(loops[i]), "%s", out);
				loops[i][strcspn(loops[i], "\n")] = 0;
				mk[k++] = loops[i];
			} else {
				loops[i][0] = 0;
			}
			free(out);
		}
		mk[k] = NULL;
		if (ok && !run(mk) &&
		    !run((char *[]){ "mount", "-o", "nodatasum", loops[0], mnt, NULL })) {
			o.dir = mnt;
			run_workloads(&o, &rb);
			run((char *[]){ "umount", mnt, NULL });
		}
		for (unsigned i = 0; i < ndev; i++)
			if (loops[i][0])
				run((char *[]){ "losetup", "-d", loops[i], NULL });
	}
	/* 4. ext4 on member 0 (a loop device): the kernel peer for small files */
	memset(&re, 0, sizeof(re));
	if (o.small_files) {
		char *out = NULL, loop[64] = "", *sbuf = calloc(1, 65536);

		if (sbuf && run_capture((char *[]){ "losetup", "--direct-io=on", "-f", "--show",
						    img[0], NULL }, &out) == 0 && out) {
			snprintf(loop, sizeof(loop), "%s", out);
			loop[strcspn(loop, "\n")] = 0;
		}
		free(out);
		if (loop[0] && !run((char *[]){ "mkfs.ext4", "-q", "-F", loop, NULL }) &&
		    !run((char *[]){ "mount", loop, mnt, NULL })) {
			o.dir = mnt;
			if (wl_small(&o, &re, sbuf) || small_latency(mnt, o.small_files, re.lat))
				fprintf(stderr, "swapbench: a small-file workload failed on ext4\n");
			run((char *[]){ "umount", mnt, NULL });
		}
		if (loop[0])
			run((char *[]){ "losetup", "-d", loop, NULL });
		free(sbuf);
	}
	rc = 0;
	if (o.json) {
		j = json_object_new_object();
		json_object_object_add(j, "raw_fio_write_mib_s", json_object_new_double(raw_w));
		json_object_object_add(j, "raw_fio_read_mib_s", json_object_new_double(raw_r));
		json_object_object_add(j, "raw_streams", streams_json(raw_streams, o.nstreams));
		json_object_object_add(j, "swapfs", result_json(&rs, o.nstreams));
		json_object_object_add(j, "swapfs_client_write_mib_s", json_object_new_double(cl_w));
		json_object_object_add(j, "swapfs_client_read_mib_s", json_object_new_double(cl_r));
		json_object_object_add(j, "btrfs_raid0", result_json(&rb, o.nstreams));
		json_object_object_add(j, "ext4_small_latency", small_latency_json(re.lat));
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
		json_object_put(j);
	} else {
		printf("raw limit (fio io_uring, O_DIRECT, 1M, qd 32, one job per member): write %.0f  read %.0f MiB/s\n",
		       raw_w, raw_r);
		print_streams("raw", raw_streams, o.nstreams);
		print_result("swapfs", &rs, o.nstreams);
		printf("swapfs client path (libswapfs, 1M, qd 32): write+fsync %.0f  read %.0f MiB/s = %.2f / %.2f of raw, write %.2fx the POSIX path\n",
		       cl_w, cl_r, cl_w / raw_w, cl_r / raw_r, cl_w / rs.write);
		print_result("btrfs-r0", &rb, o.nstreams);
		for (size_t k = 0; k < o.nstreams; k++)
			printf("%2u stream%s swapfs / raw: write %.2f  read %.2f  CPU/GiB write %.2fx  swapfs / btrfs: write %.2f  read %.2f\n",
			       rs.streams[k].streams, rs.streams[k].streams == 1 ? " " : "s",
			       rs.streams[k].write / raw_streams[k].write,
			       rs.streams[k].read / raw_streams[k].read,
			       rs.streams[k].cpu_write_s_gib / raw_streams[k].cpu_write_s_gib,
			       rs.streams[k].write / rb.streams[k].write,
			       rs.streams[k].read / rb.streams[k].read);
		if (o.small_files) {
			printf("ext4 (member 0) small c/r/u %6.0f %6.0f %6.0f files/s\n",
			       re.small_create, re.small_read, re.small_unlink);
			print_small_latency("ext4", re.lat);
			printf("swapfs / ext4 latency p50:");
			for (int op = 0; op < SMALL_OPS; op++)
				printf("  %s %.1fx", small_op_name(op), rs.lat[op].p50 / re.lat[op].p50);
			printf("\n");
		}
		printf("swapfs / raw:   write %.2f  read %.2f  direct w %.2f r %.2f  mmap %.2f\n",
		       rs.write / raw_w, rs.read / raw_r, rs.direct_write / raw_w,
		       rs.direct_read / raw_r, rs.mmap_scan / raw_r);
		printf("swapfs / btrfs: write %.2f  read %.2f  direct w %.2f r %.2f  mmap %.2f  small c/r/u %.2f %.2f %.2f\n",
		       rs.write / rb.write, rs.read / rb.read, rs.direct_write / rb.direct_write,
		       rs.direct_read / rb.direct_read, rs.mmap_scan / rb.mmap_scan,
		       rs.small_create / rb.small_create, rs.small_read / rb.small_read,
		       rs.small_unlink / rb.small_unlink);
	}
	if (png) {
		char dat[1100], sdat[1100], script[4096];
		FILE *f, *g;

		snprintf(dat, sizeof(dat), "%.900s/compare.dat", images);
		snprintf(sdat, sizeof(sdat), "%.900s/compare_small.dat", images);
		f = fopen(dat, "w");
		g = fopen(sdat, "w");
		if (f && g) {
			fprintf(f, "# workload raw swapfs btrfs\n");
			fprintf(f, "write %.0f %.0f %.0f\n", raw_w, rs.write, rb.write);
			fprintf(f, "read %.0f %.0f %.0f\n", raw_r, rs.read, rb.read);
			fprintf(f, "direct-write %.0f %.0f %.0f\n", raw_w, rs.direct_write, rb.direct_write);
			fprintf(f, "direct-read %.0f %.0f %.0f\n", raw_r, rs.direct_read, rb.direct_read);
			fprintf(f, "mmap-scan %.0f %.0f %.0f\n", raw_r, rs.mmap_scan, rb.mmap_scan);
			fprintf(f, "client-write %.0f %.0f 0\n", raw_w, cl_w);
			fprintf(f, "client-read %.0f %.0f 0\n", raw_r, cl_r);
			fprintf(g, "# op swapfs btrfs ext4 (p50 microseconds)\n");
			for (int op = 0; op < SMALL_OPS; op++)
				fprintf(g, "%s %.1f %.1f %.1f\n", small_op_name(op), rs.lat[op].p50,
					rb.lat[op].p50, re.lat[op].p50);
		}
		if (f)
			fclose(f);
		if (g)
			fclose(g);
		if (f && g) {
			snprintf(script, sizeof(script),
				 "set terminal png size 900,1000 noenhanced; set output '%s'; set multiplot layout 2,1;"
				 "set style data histograms; set style fill solid;"
				 "set key outside bottom center horizontal; set yrange [0:*];"
				 "set ylabel 'MiB/s'; set xrange [-0.6:6.6];"
				 "set title 'swapfs vs raw limit vs btrfs raid0 (%u members)';"
				 "plot '%s' using 2:xtic(1) title 'raw (fio)', '' using 3 title 'swapfs', '' using 4 title 'btrfs raid0';"
				 "set logscale y; set yrange [0.1:*]; set ylabel 'median latency (us, log)'; set xrange [-0.6:5.6];"
				 "set title 'small files and metadata, one operation at a time';"
				 "plot '%s' using 2:xtic(1) title 'swapfs', '' using 3 title 'btrfs raid0', '' using 4 title 'ext4 (one member)';"
				 "unset multiplot",
				 png, ndev, dat, sdat);
			if (run((char *[]){ "gnuplot", "-e", script, NULL }))
				fprintf(stderr, "swapbench: no chart (is gnuplot installed?)\n");
		}
	}
out:
	for (unsigned i = 0; i < ndev; i++)
		unlink(img[i]);
	rmdir(mnt);
	if (made_images && !png)	/* a chart keeps its data files there */
		rmdir(images);
	return rc;
}

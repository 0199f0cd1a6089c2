/*
 * bench_streams.c - N ordinary writers at once, then N cold readers: the
 * "one writer at the devices' speed" figure and how it scales.
 *
 * Each stream is a process that writes its own file with 64 MiB write()
 * calls, fsyncs and closes it; after the page cache is dropped, N processes
 * read the files back with 64 MiB read() calls.  Bandwidth is the total bytes
 * over the wall time of the slowest stream.  CPU per GiB adds the streams'
 * own CPU time (user + system, from wait4) and, on a swapfs mount, the
 * daemon's (from /proc/PID/stat), so the cost of the FUSE transport shows
 * beside a raw writer's: the same streams writing O_DIRECT slices of the
 * members themselves (`members` given; stream s uses member s mod n).  Kernel
 * worker threads (loop devices, btrfs) are not counted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tools/bench.h"
#include "tools/util.h"

#define STREAM_BUF (64u << 20)
#define GiB (1024.0 * 1024.0 * 1024.0)

/* The pid of the swapfs daemon serving mountpoint dir, or 0 (another filesystem). */
static pid_t daemon_of(const char *dir)
{
	char *real = realpath(dir, NULL);
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (!real || !d) {
		free(real);
		if (d)
			closedir(d);
		return 0;
	}
	while (!found && (e = readdir(d))) {
		char path[300], args[8192];
		ssize_t n;
		int fd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, args, sizeof(args) - 1);
		close(fd);
		if (n <= 0)
			continue;
		args[n] = 0;
		{
			const char *base = strrchr(args, '/');

			if (strcmp(base ? base + 1 : args, "swapfs"))
				continue;
		}
		for (char *a = args + strlen(args) + 1; a < args + n; a += strlen(a) + 1) {
			char *ra = realpath(a, NULL);

			if (ra && !strcmp(ra, real))
				found = (pid_t)atoi(e->d_name);
			free(ra);
		}
	}
	closedir(d);
	free(real);
	return found;
}

/* CPU seconds (user + system) the process pid has used, or 0. */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd;

	if (!pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');	/* the command name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Where a stream's bytes go: its file on the mount, or a slice of a member. */
struct target {
	char path[4200];
	uint64_t off;
	bool direct;
};

static int write_stream(const struct target *t, uint64_t bytes, char *buf)
{
	int fd = open(t->path, t->direct ? O_WRONLY | O_DIRECT : O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -errno;
	for (uint64_t done = 0; done < bytes;) {
		size_t want = bytes - done < STREAM_BUF ? (size_t)(bytes - done) : STREAM_BUF;
		ssize_t n = pwrite(fd, buf, want, (off_t)(t->off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return n < 0 ? -errno : -EIO;
		}
		done += (uint64_t)n;
	}
	if (fsync(fd) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return close(fd) < 0 ? -errno : 0;
}

static int read_stream(const struct target *t, uint64_t bytes, char *buf)
{
	int fd = open(t->path, t->direct ? O_RDONLY | O_DIRECT : O_RDONLY);
	uint64_t got = 0;

	if (fd < 0)
		return -errno;
	while (got < bytes) {
		size_t want = bytes - got < STREAM_BUF ? (size_t)(bytes - got) : STREAM_BUF;
		ssize_t n = pread(fd, buf, want, (off_t)(t->off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (uint64_t)n;
	}
	close(fd);
	return got == bytes ? 0 : -EIO;
}

/* Stream s of a pass: its file under dir, or (members given) a slice of member s % n. */
static void stream_target(struct target *t, const char *dir, char *const *members,
			  unsigned nmembers, unsigned s, uint64_t each)
{
	if (members) {
		snprintf(t->path, sizeof(t->path), "%s", members[s % nmembers]);
		t->off = (uint64_t)(s / nmembers) * each;
		t->direct = true;
	} else {
		snprintf(t->path, sizeof(t->path), "%s/stream%u.tensor", dir, s);
		t->off = 0;
		t->direct = false;
	}
}

/* One pass: n processes at once; returns MiB/s, *cpu the CPU seconds used. */
static double run_pass(const char *dir, char *const *members, unsigned nmembers, unsigned n,
		       uint64_t each, bool write, pid_t daemon, double *cpu)
{
	pid_t *kids = calloc(n, sizeof(pid_t));
	double t0, d0 = proc_cpu(daemon), kid_cpu = 0;
	bool ok = kids != NULL;

	if (!write && !members)
		drop_caches();
	t0 = now_seconds();
	for (unsigned s = 0; ok && s < n; s++) {
		kids[s] = fork();
		if (kids[s] < 0) {
			ok = false;
		} else if (kids[s] == 0) {
			struct target t;
			char *buf;
			int err;

			stream_target(&t, dir, members, nmembers, s, each);
			if (posix_memalign((void **)&buf, 4096, STREAM_BUF))
				_exit(1);
			memset(buf, 0x5a ^ (int)s, STREAM_BUF);
			err = write ? write_stream(&t, each, buf) : read_stream(&t, each, buf);
			_exit(err ? 1 : 0);
		}
	}
	for (unsigned s = 0; kids && s < n; s++) {
		struct rusage ru;
		int st;

		if (kids[s] <= 0)
			continue;
		if (wait4(kids[s], &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			ok = false;
		kid_cpu += ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			   ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	}
	t0 = now_seconds() - t0;
	free(kids);
	*cpu = kid_cpu + proc_cpu(daemon) - d0;
	return ok ? (double)n * (double)each / (1024.0 * 1024.0) / t0 : -1;
}

int streams_workload(const char *dir, char *const *members, unsigned nmembers,
		     const unsigned *counts, size_t ncounts, uint64_t total,
		     struct stream_result *out)
{
	pid_t daemon = members ? 0 : daemon_of(dir);
	int rc = 0;

	for (size_t k = 0; k < ncounts; k++) {
		struct stream_result *r = &out[k];
		uint64_t each = total / counts[k] / 4096 * 4096;
		double gib = (double)each * counts[k] / GiB, cpu_w = 0, cpu_r = 0;

		memset(r, 0, sizeof(*r));
		r->streams = counts[k];
		r->write = run_pass(dir, members, nmembers, counts[k], each, true, daemon, &cpu_w);
		r->read = r->write > 0 ?
			run_pass(dir, members, nmembers, counts[k], each, false, daemon, &cpu_r) : -1;
		r->cpu_write_s_gib = cpu_w / gib;
		r->cpu_read_s_gib = r->read > 0 ? cpu_r / gib : 0;
		r->daemon_measured = daemon != 0;
		for (unsigned s = 0; !members && s < counts[k]; s++) {
			char path[4200];

			snprintf(path, sizeof(path), "%s/stream%u.tensor", dir, s);
			unlink(path);
		}
		if (r->write <= 0 || r->read <= 0)
			rc = -EIO;
	}
	return rc;
}

int parse_stream_counts(const char *list, unsigned *counts, size_t max)
{
	size_t n = 0;
	const char *p = list;

	while (*p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || !v || v > 256 || n == max || (*end && *end != ','))
			return -EINVAL;
		counts[n++] = (unsigned)v;
		p = *end ? end + 1 : end;
	}
	return n ? (int)n : -EINVAL;
}

void mount_transport(const char *dir, char *out, size_t len)
{
	char buf[65536];
	ssize_t n = getxattr(dir, "swapfs.stats", buf, sizeof(buf) - 1);
	json_object *j, *v;

	snprintf(out, len, "%s", n > 0 ? "fuse" : "kernel");
	if (n <= 0)
		return;
	buf[n] = 0;
	j = json_tokener_parse(buf);
	if (j && json_object_object_get_ex(j, "transport", &v))
		snprintf(out, len, "%s", json_object_get_string(v));
	json_object_put(j);
}

json_object *streams_json(const struct stream_result *r, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t k = 0; k < n; k++) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "streams", json_object_new_int((int)r[k].streams));
		json_object_object_add(j, "write_mib_s", json_object_new_double(r[k].write));
		json_object_object_add(j, "read_mib_s", json_object_new_double(r[k].read));
		json_object_object_add(j, "cpu_write_s_per_gib",
				       json_object_new_double(r[k].cpu_write_s_gib));
		json_object_object_add(j, "cpu_read_s_per_gib",
				       json_object_new_double(r[k].cpu_read_s_gib));
		json_object_object_add(j, "daemon_cpu_counted",
				       json_object_new_boolean(r[k].daemon_measured));
		json_object_array_add(a, j);
	}
	return a;
}

void print_streams(const char *label, const struct stream_result *r, size_t n)
{
	for (size_t k = 0; k < n; k++)
		printf("%-10s %2u stream%s write %6.0f  read %6.0f MiB/s  CPU %.2f / %.2f s/GiB%s\n",
		       label, r[k].streams, r[k].streams == 1 ? " " : "s", r[k].write, r[k].read,
		       r[k].cpu_write_s_gib, r[k].cpu_read_s_gib,
		       r[k].daemon_measured ? " (with the daemon's)" : "");
}

/*
 * swapfs-stat - live figures of a mounted swapfs: per-member bytes, MiB/s,
 * utilisation, queue depth and errors, staging use, metadata counters.
 * Reads the read-only virtual xattr "swapfs.stats" of the mount's root, so
 * it needs no privileges beyond access to the mount and stops nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tools/util.h"

#define MiB (1024.0 * 1024.0)

static json_object *fetch(const char *mnt)
{
	char buf[65536];
	ssize_t n = getxattr(mnt, "swapfs.stats", buf, sizeof(buf) - 1);

	if (n < 0) {
		fprintf(stderr, "swapfs-stat: %s: %s%s\n", mnt, strerror(errno),
			errno == ENODATA || errno == ENOTSUP ? " (not a swapfs mount?)" : "");
		return NULL;
	}
	buf[n] = 0;
	return json_tokener_parse(buf);
}

static uint64_t num(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

static void show(json_object *now, json_object *prev, double dt)
{
	json_object *mem, *pmem = NULL;
	uint64_t tr = 0, tw = 0, trp = 0, twp = 0;

	json_object_object_get_ex(now, "members", &mem);
	if (prev)
		json_object_object_get_ex(prev, "members", &pmem);
	printf("%-7s %12s %12s %9s %9s %6s %8s %7s\n", "member", "read MiB", "written MiB",
	       "read/s", "write/s", "util", "inflight", "errors");
	for (size_t i = 0; i < json_object_array_length(mem); i++) {
		json_object *m = json_object_array_get_idx(mem, i);
		json_object *p = pmem ? json_object_array_get_idx(pmem, i) : NULL;
		double r = num(m, "bytes_read") / MiB, w = num(m, "bytes_written") / MiB;
		double rs = p && dt > 0 ? (num(m, "bytes_read") - num(p, "bytes_read")) / MiB / dt : 0;
		double ws = p && dt > 0 ? (num(m, "bytes_written") - num(p, "bytes_written")) / MiB / dt : 0;
		double util = p && dt > 0 ? (num(m, "busy_ns") - num(p, "busy_ns")) / 1e9 / dt * 100 : 0;

		tr += num(m, "bytes_read");
		tw += num(m, "bytes_written");
		if (p) {
			trp += num(p, "bytes_read");
			twp += num(p, "bytes_written");
		}
		printf("%-7zu %12.0f %12.0f %9.0f %9.0f %5.0f%% %8llu %7llu\n", i, r, w, rs, ws,
		       util > 100 ? 100 : util, (unsigned long long)num(m, "inflight"),
		       (unsigned long long)num(m, "errors"));
	}
	printf("%-7s %12.0f %12.0f %9.0f %9.0f\n", "total", tr / MiB, tw / MiB,
	       prev && dt > 0 ? (tr - trp) / MiB / dt : 0, prev && dt > 0 ? (tw - twp) / MiB / dt : 0);
	printf("staging %.0f of %.0f MiB in use, %llu write(s) in flight, %llu I/O error(s)\n",
	       (num(now, "staging_bytes") - num(now, "staging_free_bytes")) / MiB,
	       num(now, "staging_bytes") / MiB, (unsigned long long)num(now, "writes_in_flight"),
	       (unsigned long long)num(now, "io_errors"));
	printf("%llu inodes, %.0f of %.0f MiB used; %llu commits, %llu checkpoints, log %.1f of %.1f MiB\n",
	       (unsigned long long)num(now, "files"), num(now, "used_bytes") / MiB,
	       num(now, "volume_bytes") / MiB, (unsigned long long)num(now, "commits"),
	       (unsigned long long)num(now, "checkpoints"), num(now, "log_bytes") / MiB,
	       num(now, "log_size") / MiB);
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: swapfs-stat [-i SECONDS] [-c COUNT] [--json] MOUNTPOINT\n"
"\n"
"Print the live figures of a mounted swapfs: per member bytes read and\n"
"written, MiB/s and utilisation over the interval, requests in flight and\n"
"errors; staging memory in use; inode count, space, metadata commits.\n"
"\n"
"  -i, --interval S   refresh every S seconds (rates need an interval)\n"
"  -c, --count N      stop after N reports (default: 1 without -i, else forever)\n"
"  -j, --json         print the raw JSON object of each report\n"
"  -h, --help         this help\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	double interval = 0;
	long count = -1;
	bool json = false;
	json_object *prev = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "i:c:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': interval = atof(optarg); if (interval <= 0) goto bad; break;
		case 'c': count = atol(optarg); if (count <= 0) goto bad; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if (count < 0)
		count = interval > 0 ? -1 : 1;
	for (long k = 0; count < 0 || k < count; k++) {
		json_object *now = fetch(argv[optind]);

		if (!now) {
			json_object_put(prev);
			return 1;
		}
		if (json)
			printf("%s\n", json_object_to_json_string(now));
		else {
			if (k)
				printf("\n");
			show(now, prev, interval);
		}
		fflush(stdout);
		json_object_put(prev);
		prev = now;
		if (count > 0 && k + 1 == count)
			break;
		usleep((useconds_t)(interval * 1e6));
	}
	json_object_put(prev);
	return 0;
bad:
	fprintf(stderr, "swapfs-stat: bad value '%s' for -%c\n", optarg, c);
	return 2;
}

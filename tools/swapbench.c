/*
 * swapbench - measure raw member devices through the swapfs engine.
 *
 * `swapbench raw` streams sequential writes then reads over the striped
 * volume with io_uring at a fixed block size and per-member queue depth,
 * and with --compare-fio runs fio's io_uring engine over the same files
 * (one job per member, same bytes, block size and depth) in the same run.
 * It overwrites the members: use scratch devices or image files.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/bench.h"
#include "engine/engine.h"
#include "tools/util.h"

#define MiB (1024.0 * 1024.0)

struct raw_opts {
	char **members;
	unsigned ndev;
	uint64_t size, block, stripe_unit;
	unsigned qd, threads, runs;
	bool json, compare_fio, warmup, fixed_buffers, force_async;
};

struct stream_ctx {
	struct swe_volume *vol;
	struct swe_arena *arena;
	const struct raw_opts *o;
	enum swe_op op;
	_Atomic uint64_t done;
	_Atomic unsigned thread_ids;
	double t0;
	int error;
	pthread_mutex_t lock;
	pthread_barrier_t ready;	/* rings and buffers set up: start the clock */
	struct progress prog;
};

struct slot {
	struct swe_io io;
	bool busy;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: swapbench raw --devices A[:B...] [options]\n"
"       swapbench table --devices A[:B...] [--files N]\n"
"       swapbench mount --dir DIR [--files N] [--file-size S] [--small N]\n"
"                       [--streams LIST|0] [--stream-bytes S] [--no-direct] [--json]\n"
"       swapbench client --dir MOUNTDIR [--files N] [--file-size S] [--block S] [--qd N] [--json]\n"
"       swapbench compare [--images DIR] [--ndev N] [--dev-size S] [--files N]\n"
"                         [--file-size S] [--small N] [--streams LIST|0]\n"
"                         [--stream-bytes S] [--mount-opts OPTS] [--json] [--png FILE]\n"
"       swapbench offload [--images DIR] [--groups N] [--group-size S] [--buffers N]\n"
"                         [--cuda auto|on|off] [--json] [--png FILE] (--help: all)\n"
"\n"
"Measure sequential write then read bandwidth of the member devices through\n"
"the swapfs io_uring engine (striped, O_DIRECT).  THE MEMBERS ARE OVERWRITTEN:\n"
"use scratch block devices or image files.\n"
"\n"
"Options:\n"
"  -d, --devices LIST     colon-separated member devices or image files\n"
"  -s, --size N           bytes to write and read in total (default: the smaller\n"
"                         of the volume and 1G per member); suffixes k M G T\n"
"  -b, --block N          request size (default 1M)\n"
"  -q, --qd N             requests in flight per member (default 32)\n"
"  -u, --stripe-unit N    stripe unit (default 1M)\n"
"  -t, --threads N        I/O threads, each with its own ring; thread t takes\n"
"                         blocks t, t+N, t+2N... (default: one per member)\n"
"  -r, --runs N           timed runs; min/median/max reported (default 1)\n"
"      --no-warmup        skip the untimed write pass that faults memory in\n"
"      --no-fixed-buffers do not register the buffer arena with io_uring\n"
"      --async            hand every I/O to io_uring's worker threads (IOSQE_ASYNC)\n"
"                         instead of issuing it inline\n"
"      --compare-fio      also run fio (io_uring, O_DIRECT, one job per member)\n"
"                         over the same bytes and print the ratio\n"
"  -j, --json             print one JSON object instead of text\n"
"  -h, --help             show this help\n"
"\n"
"mount: application workloads on DIR (a swapfs mount or any filesystem):\n"
"large writes with fsync then cold reads, Linux AIO O_DIRECT 1M depth 32,\n"
"a cold mmap scan, --small (10,000) tensors of 64K created, read and unlinked,\n"
"the latency percentiles of small-file operations one at a time (create,\n"
"open+read, stat, 512-byte pwrite/pread, unlink), and\n"
"--streams (default 1,4,8,16) writers at once (64M writes + fsync, together\n"
"--stream-bytes, default 2G) then as many cold readers, with CPU seconds per\n"
"GiB (the daemon's included) and the FUSE transport the mount reports.\n"
"client: the large writes (with fsync) and reads of mount, through libswapfs\n"
"(the zero-copy client path) on a swapfs mount: 1M requests, 32 in flight.\n"
"compare: on the same image files in one run: the raw limit (fio io_uring),\n"
"the streams on O_DIRECT slices of the members (a raw writer's bandwidth and CPU),\n"
"swapfs (POSIX and client path), btrfs raid0 over loop devices and, for small\n"
"files, ext4 on one member; a table of MiB/s, latencies and ratios,\n"
"JSON with --json, a bar chart with --png (gnuplot).  Needs root.\n"
"offload: a ZeRO-Infinity-style optimizer-state swap loop (pinned-buffer\n"
"pipeline, CUDA tensors where a GPU is) through swapfs.aio, POSIX on the mount,\n"
"O_DIRECT io_uring on btrfs raid0 and on the raw members: GB/s of swap-out and\n"
"swap-in (the swapbench-offload script, Python with torch).  Needs root.\n"
"\n"
"table: build a table of N tensor files (default 1000000) on formatted members\n"
"(their table is replaced), then time loading it as a mount does and report\n"
"the memory per file.\n"
"\n"
"Exit status: 0 success, 1 an I/O or fio error, 2 usage error.\n");
}

static void on_done(struct swe_io *io, int result)
{
	struct slot *s = io->priv;

	(void)result;	/* kept in io->result, checked before the slot is reused */
	s->busy = false;
}

static void *stream_thread(void *arg)
{
	struct stream_ctx *c = arg;
	const struct raw_opts *o = c->o;
	struct swe_ring_opts ro = { .queue_depth = o->qd,
				    .no_fixed_buffers = !o->fixed_buffers,
				    .force_async = o->force_async };
	unsigned nslots = o->qd * c->o->ndev;
	/*
	 * Thread t takes blocks t, t + T, t + 2T ...: with one thread per member
	 * and blocks of a stripe unit, each thread feeds one member, as fio's
	 * one job per member does (no two threads contend for a member file).
	 */
	uint64_t tid = atomic_fetch_add(&c->thread_ids, 1), k = 0;
	struct swe_ring *ring = NULL;
	struct slot *slots = calloc(nslots, sizeof(*slots));
	void *bufs = NULL;
	struct swe_err e;
	const char *why = NULL;	/* the failing call's or request's own text */
	int err = -ENOMEM;

	if (!slots)
		goto out_ready;
	err = swe_arena_alloc(c->arena, nslots * o->block, &bufs);
	if (err)
		goto out_ready;
	memset(bufs, 0x5a, nslots * o->block);
	err = swe_ring_create(&ring, c->vol, c->arena, &ro, &e);
	if (err)
		why = e.msg;
out_ready:
	pthread_barrier_wait(&c->ready);
	if (err)
		goto out;
	for (;;) {
		bool started = false;

		for (unsigned i = 0; i < nslots; i++) {
			struct slot *s = &slots[i];
			uint64_t off;

			if (s->busy)
				continue;
			if (s->io.result) {
				err = s->io.result;
				why = s->io.errmsg;
				goto drain;
			}
			off = (k++ * o->threads + tid) * o->block;
			if (off >= o->size)
				break;
			s->io = (struct swe_io){ .op = c->op, .offset = off,
				.len = o->size - off < o->block ? o->size - off : o->block,
				.buf = (char *)bufs + i * o->block,
				.cb = on_done, .priv = s };
			s->busy = true;
			err = swe_ring_submit(ring, &s->io);
			if (err) {
				s->busy = false;
				why = s->io.errmsg;
				goto drain;
			}
			started = true;
		}
		if (!started && !swe_ring_pending(ring))
			break;
		err = swe_ring_reap(ring, true);
		if (err < 0)
			goto drain;
		atomic_fetch_add(&c->done, (uint64_t)err * o->block);
		progress_update(&c->prog, atomic_load(&c->done), o->size, c->t0);
	}
	err = 0;
drain:
	if (swe_ring_wait_all(ring) < 0 && !err)
		err = -EIO;
	for (unsigned i = 0; i < nslots && !err; i++)
		if (slots[i].io.result) {
			err = slots[i].io.result;
			why = slots[i].io.errmsg;
		}
out:
	if (err) {
		pthread_mutex_lock(&c->lock);
		if (!c->error) {
			c->error = err;
			fprintf(stderr, "swapbench: %s\n", why ? why : strerror(-err));
		}
		pthread_mutex_unlock(&c->lock);
	}
	swe_ring_destroy(ring);
	swe_arena_free(c->arena, bufs);
	free(slots);
	return NULL;
}

/* One timed pass; returns MiB/s or a negative errno. */
static double engine_pass(struct swe_volume *vol, struct swe_arena *arena,
			  const struct raw_opts *o, enum swe_op op, const char *label)
{
	struct stream_ctx c = { .vol = vol, .arena = arena, .o = o, .op = op };
	pthread_t tid[64];
	unsigned started = 0;
	double t;

	pthread_mutex_init(&c.lock, NULL);
	if (pthread_barrier_init(&c.ready, NULL, o->threads + 1))
		return -ENOMEM;
	progress_start(&c.prog, label);
	while (started < o->threads &&
	       pthread_create(&tid[started], NULL, stream_thread, &c) == 0)
		started++;
	if (started < o->threads) {
		fprintf(stderr, "swapbench: cannot start %u I/O threads\n", o->threads);
		exit(1);
	}
	c.t0 = now_seconds();	/* before the barrier: the threads read it after */
	pthread_barrier_wait(&c.ready);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	t = now_seconds() - c.t0;
	progress_end(&c.prog);
	pthread_mutex_destroy(&c.lock);
	pthread_barrier_destroy(&c.ready);
	if (c.error)
		return c.error;
	return o->size / MiB / t;
}

/* fio over the same members: one job per member, size/ndev bytes each. */
static double fio_pass(const struct raw_opts *o, const char *rw)
{
	char size[32], bs[32], qd[32], rwarg[32];
	char *argv[16 + 2 * SWE_MAX_DEVICES], *out = NULL;
	char names[SWE_MAX_DEVICES][48], files[SWE_MAX_DEVICES][4200];
	double kib = 0;
	int argc = 0, status;

	snprintf(size, sizeof(size), "--size=%llu",
		 (unsigned long long)(o->size / o->ndev / o->block * o->block));
	snprintf(bs, sizeof(bs), "--bs=%llu", (unsigned long long)o->block);
	snprintf(qd, sizeof(qd), "--iodepth=%u", o->qd);
	snprintf(rwarg, sizeof(rwarg), "--rw=%s", rw);
	argv[argc++] = FIO_PATH;
	argv[argc++] = "--output-format=terse";
	argv[argc++] = "--terse-version=3";
	/* one aggregate figure: bytes over the longest job's time (summing
	 * per-job rates overstates it when jobs end at different times) */
	argv[argc++] = "--group_reporting";
	argv[argc++] = "--ioengine=io_uring";
	argv[argc++] = "--direct=1";
	argv[argc++] = size;
	argv[argc++] = bs;
	argv[argc++] = qd;
	argv[argc++] = rwarg;
	for (unsigned i = 0; i < o->ndev; i++) {
		snprintf(names[i], sizeof(names[i]), "--name=member%u", i);
		snprintf(files[i], sizeof(files[i]), "--filename=%s", o->members[i]);
		argv[argc++] = names[i];
		argv[argc++] = files[i];
	}
	argv[argc] = NULL;
	status = run_capture(argv, &out);
	if (status != 0) {
		fprintf(stderr, "swapbench: fio %s failed (%s %d)\n", rw,
			status < 0 ? "error" : "exit", status < 0 ? -status : status);
		free(out);
		return -EIO;
	}
	kib = fio_terse_kib(out, rw[0] == 'r');
	free(out);
	return kib / 1024.0;
}

struct series { double v[32]; unsigned n; };

static void series_add(struct series *s, double v) { if (s->n < 32) s->v[s->n++] = v; }

static double series_median(struct series *s)
{
	sort_doubles(s->v, s->n);
	return s->n ? s->v[s->n / 2] : 0;
}

static json_object *series_json(struct series *s)
{
	json_object *j = json_object_new_object();

	json_object_object_add(j, "min_mib_s", json_object_new_double(s->v[0]));
	json_object_object_add(j, "median_mib_s", json_object_new_double(series_median(s)));
	json_object_object_add(j, "max_mib_s", json_object_new_double(s->v[s->n - 1]));
	return j;
}

static void print_series(const char *label, struct series *s)
{
	double med = series_median(s);

	if (s->n > 1)
		printf("%-16s %9.0f MiB/s  (min %.0f, max %.0f, %u runs)\n", label,
		       med, s->v[0], s->v[s->n - 1], s->n);
	else
		printf("%-16s %9.0f MiB/s\n", label, med);
}

static int run_raw(const struct raw_opts *o)
{
	struct swe_volume_opts vo = { .stripe_unit = (uint32_t)o->stripe_unit };
	struct swe_volume *vol = NULL;
	struct swe_arena *arena = NULL;
	struct series ew = {0}, er = {0}, fw = {0}, fr = {0};
	struct raw_opts eff = *o;
	struct swe_err e;
	int err;

	err = swe_volume_open(&vol, (const char *const *)o->members, o->ndev, &vo, &e);
	if (err) {
		fprintf(stderr, "swapbench: %s\n", e.msg);
		return 1;
	}
	if (!eff.size || eff.size > swe_volume_size(vol))
		eff.size = eff.size ? swe_volume_size(vol) :
			(swe_volume_size(vol) < (1ull << 30) * o->ndev ?
			 swe_volume_size(vol) : (1ull << 30) * o->ndev);
	eff.size = eff.size / eff.block * eff.block;
	if (eff.block % swe_volume_align(vol) || !eff.size) {
		fprintf(stderr, "swapbench: block %llu must be a multiple of the alignment %u and fit the volume\n",
			(unsigned long long)eff.block, swe_volume_align(vol));
		swe_volume_close(vol);
		return 2;
	}
	err = swe_arena_create(&arena, (size_t)eff.threads * eff.qd * eff.ndev * eff.block, 0, 0, &e);
	if (err) {
		fprintf(stderr, "swapbench: %s\n", e.msg);
		swe_volume_close(vol);
		return 1;
	}
	if (eff.warmup && engine_pass(vol, arena, &eff, SWE_WRITE, "warmup") < 0)
		goto io_error;
	for (unsigned run = 0; run < eff.runs; run++) {
		double w = engine_pass(vol, arena, &eff, SWE_WRITE, "write");
		double r = w < 0 ? w : engine_pass(vol, arena, &eff, SWE_READ, "read");

		if (w < 0 || r < 0)
			goto io_error;
		series_add(&ew, w);
		series_add(&er, r);
		if (eff.compare_fio) {
			w = fio_pass(&eff, "write");
			r = w < 0 ? w : fio_pass(&eff, "read");
			if (w < 0 || r < 0)
				goto io_error;
			series_add(&fw, w);
			series_add(&fr, r);
		}
	}
	if (eff.json) {
		json_object *j = json_object_new_object(), *devs = json_object_new_array();

		for (unsigned i = 0; i < eff.ndev; i++)
			json_object_array_add(devs, json_object_new_string(eff.members[i]));
		json_object_object_add(j, "mode", json_object_new_string("raw"));
		json_object_object_add(j, "devices", devs);
		json_object_object_add(j, "bytes", json_object_new_uint64(eff.size));
		json_object_object_add(j, "block", json_object_new_uint64(eff.block));
		json_object_object_add(j, "queue_depth", json_object_new_int((int)eff.qd));
		json_object_object_add(j, "threads", json_object_new_int((int)eff.threads));
		json_object_object_add(j, "stripe_unit", json_object_new_uint64(eff.stripe_unit));
		json_object_object_add(j, "engine_write", series_json(&ew));
		json_object_object_add(j, "engine_read", series_json(&er));
		if (eff.compare_fio) {
			json_object_object_add(j, "fio_write", series_json(&fw));
			json_object_object_add(j, "fio_read", series_json(&fr));
			json_object_object_add(j, "write_ratio",
				json_object_new_double(series_median(&ew) / series_median(&fw)));
			json_object_object_add(j, "read_ratio",
				json_object_new_double(series_median(&er) / series_median(&fr)));
		}
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
		json_object_put(j);
	} else {
		printf("swapbench raw: %u members, %.0f MiB, block %llu KiB, qd %u per member, %u thread(s)%s\n",
		       eff.ndev, eff.size / MiB, (unsigned long long)eff.block >> 10, eff.qd,
		       eff.threads, eff.fixed_buffers ? "" : ", unregistered buffers");
		print_series("engine write", &ew);
		print_series("engine read", &er);
		if (eff.compare_fio) {
			print_series("fio write", &fw);
			print_series("fio read", &fr);
			printf("%-16s %9.2f write  %.2f read\n", "engine/fio",
			       series_median(&ew) / series_median(&fw),
			       series_median(&er) / series_median(&fr));
		}
	}
	swe_arena_destroy(arena);
	swe_volume_close(vol);
	return 0;
io_error:
	swe_arena_destroy(arena);
	swe_volume_close(vol);
	return 1;
}

static int parse_count(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t v;

	if (parse_size(s, &v) || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int cmd_raw(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "devices", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "block", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'q' },
		{ "stripe-unit", required_argument, NULL, 'u' },
		{ "threads", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "compare-fio", no_argument, NULL, 'F' },
		{ "no-warmup", no_argument, NULL, 'W' },
		{ "no-fixed-buffers", no_argument, NULL, 'B' },
		{ "async", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct raw_opts o = { .block = 1 << 20, .stripe_unit = SWE_DEFAULT_STRIPE_UNIT,
			      .qd = SWE_DEFAULT_QUEUE_DEPTH, .runs = 1,
			      .warmup = true, .fixed_buffers = true };
	int c, n, rc;

	while ((c = getopt_long(argc, argv, "d:s:b:q:u:t:r:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			free_members(o.members);
			n = split_members(optarg, &o.members, SWE_MAX_DEVICES);
			if (n < 0) {
				fprintf(stderr, "swapbench: --devices '%s': expected A[:B...] with 1..%d members\n",
					optarg, SWE_MAX_DEVICES);
				return 2;
			}
			o.ndev = (unsigned)n;
			break;
		case 's':
			if (parse_size(optarg, &o.size) || !o.size)
				goto bad;
			break;
		case 'b':
			if (parse_size(optarg, &o.block) || !o.block || o.block > (256u << 20))
				goto bad;
			break;
		case 'u':
			if (parse_size(optarg, &o.stripe_unit) || o.stripe_unit > (1u << 30))
				goto bad;
			break;
		case 'q': if (parse_count(optarg, 1, 256, &o.qd)) goto bad; break;
		case 't': if (parse_count(optarg, 1, 64, &o.threads)) goto bad; break;
		case 'r': if (parse_count(optarg, 1, 32, &o.runs)) goto bad; break;
		case 'j': o.json = true; break;
		case 'F': o.compare_fio = true; break;
		case 'W': o.warmup = false; break;
		case 'B': o.fixed_buffers = false; break;
		case 'A': o.force_async = true; break;
		case 'h': usage(stdout); free_members(o.members); return 0;
		default: usage(stderr); free_members(o.members); return 2;
		}
	}
	if (optind != argc || !o.members) {
		fprintf(stderr, "swapbench: raw needs --devices and takes no other arguments\n");
		usage(stderr);
		free_members(o.members);
		return 2;
	}
	if (!o.threads)
		o.threads = o.ndev;
	rc = run_raw(&o);
	free_members(o.members);
	return rc;
bad:
	fprintf(stderr, "swapbench: bad value '%s' for -%c\n", optarg, c);
	free_members(o.members);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "raw"))
		return cmd_raw(argc - 1, argv + 1);
	if (!strcmp(argv[1], "table"))
		return bench_table(argc - 1, argv + 1);
	if (!strcmp(argv[1], "mount"))
		return bench_mount(argc - 1, argv + 1);
	if (!strcmp(argv[1], "client"))
		return bench_client(argc - 1, argv + 1);
	if (!strcmp(argv[1], "compare"))
		return bench_compare(argc - 1, argv + 1, argv[0]);
	if (!strcmp(argv[1], "offload"))
		return bench_offload(argc - 1, argv + 1, argv[0]);
	fprintf(stderr, "swapbench: unknown mode '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

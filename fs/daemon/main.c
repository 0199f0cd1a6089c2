/*
 * main.c - the swapfs daemon: command line, opening and checking the
 * members, loading the table, mounting, the background commit, and the
 * final checkpoint at unmount.
 *
 *   swapfs [-f] [-o OPTIONS] DEVICE[:DEVICE...] MOUNTPOINT
 *
 * Without -f it returns once the mount is ready (fuse_daemonize after the
 * mount), so scripts can use the mountpoint as soon as it exits 0.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fs/lib/fslib.h"
#include "fs/daemon/fuse_io.h"
#include "fs/daemon/swapfs.h"
#include "fs/daemon/transport.h"

struct cli {
	char *devices;
	char *staging;
	char *read_ahead;
	unsigned qd, io_threads;
	unsigned fuse_threads, max_pages, uring_depth;
	int uring, nouring;
	double commit_interval;
	double attr_timeout;
	int read_only, no_client, client_fixed;
	int show_help, show_version;
};

enum { KEY_HELP, KEY_VERSION, KEY_RO };

#define CLI_OPT(t, p) { t, offsetof(struct cli, p), 1 }
static const struct fuse_opt cli_spec[] = {
	CLI_OPT("qd=%u", qd),
	CLI_OPT("io_threads=%u", io_threads),
	CLI_OPT("fuse_threads=%u", fuse_threads),
	CLI_OPT("max_pages=%u", max_pages),
	CLI_OPT("uring", uring),
	CLI_OPT("nouring", nouring),
	CLI_OPT("uring_depth=%u", uring_depth),
	CLI_OPT("staging=%s", staging),
	CLI_OPT("commit=%lf", commit_interval),
	CLI_OPT("attr_timeout=%lf", attr_timeout),
	CLI_OPT("read_ahead=%s", read_ahead),
	CLI_OPT("no_client", no_client),
	CLI_OPT("client_fixed", client_fixed),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

static int cli_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct cli *c = data;

	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!c->devices) {
			c->devices = strdup(arg);
			return 0;
		}
		return 1;	/* the mountpoint, for fuse_parse_cmdline */
	case KEY_RO:
		c->read_only = 1;
		return 1;	/* the kernel needs it too */
	case KEY_HELP:
		c->show_help = 1;
		return 0;
	case KEY_VERSION:
		c->show_version = 1;
		return 0;
	}
	return 1;
}

static void usage(void)
{
	printf(
"Usage: swapfs [-f] [-o OPTIONS] DEVICE[:DEVICE...] MOUNTPOINT\n"
"\n"
"Mount the swapfs formatted by mkswapfs on DEVICEs (block devices or image\n"
"files, colon-separated, in member order) at MOUNTPOINT.  Without -f the\n"
"command returns once the filesystem is mounted.  Unmount with umount or\n"
"fusermount3 -u; the daemon then writes a checkpoint and exits 0.\n"
"\n"
"swapfs options:\n"
"  -o qd=N                requests in flight per member and I/O thread (default 32)\n"
"  -o io_threads=N        I/O threads, each with its own io_uring ring (default:\n"
"                         one per member, up to 16; members are spread over them)\n"
"  -o fuse_threads=N      threads reading /dev/fuse (default: one per CPU)\n"
"  -o uring, -o nouring   FUSE-over-io_uring: one queue per CPU (-o uring turns on\n"
"                         the fuse module's enable_uring; default: if offered)\n"
"  -o uring_depth=N       requests in flight per io_uring queue (default 8)\n"
"  -o max_pages=N         requests of up to N 4 KiB pages (default 256: 1 MiB;\n"
"                         raises /proc/sys/fs/fuse/max_pages_limit if needed)\n"
"  -o staging=SIZE        write-behind and I/O buffer memory (default 128M)\n"
"  -o commit=SECONDS      interval of the background metadata commit (default 1)\n"
"  -o attr_timeout=SECS   kernel attribute/entry cache time (default 1)\n"
"  -o read_ahead=SIZE     kernel read-ahead window of the mount (default 4M)\n"
"  -o ro                  mount read-only (nothing is written to the members)\n"
"  -o no_client           no client path: libswapfs and swapfs.aio cannot connect\n"
"  -o client_fixed        register client buffers with io_uring as fixed buffers\n"
"  -o allow_other         let other users access the mount (off by default)\n"
"  -o default_permissions kernel permission checks (always on)\n"
"  -f                     stay in the foreground\n"
"  -d                     foreground with FUSE debug output\n"
"  -s                     one thread reading /dev/fuse\n"
"  -h, --help             this help\n"
"  -V, --version          version\n"
"\n"
"Also as: mount -t fuse.swapfs DEV0:DEV1 MOUNTPOINT -o OPTIONS, or in fstab:\n"
"  /dev/nvme0n1:/dev/nvme1n1  /mnt/swap  fuse.swapfs  defaults  0 0\n"
"\n"
"Durability: fsync and fdatasync make data and metadata durable; close makes\n"
"them survive a crash of the daemon; otherwise metadata reaches the members\n"
"within the commit interval.\n"
"\n"
"Client path: applications using libswapfs (or Python's swapfs.aio) move\n"
"data between their shared buffers and the members with no copy through\n"
"FUSE, on the same files; see libswapfs.h and docs/CLIENT.md.\n\n");
}

static void *committer(void *arg)
{
	struct swapfs *fs = arg;
	struct timespec ts;

	pthread_mutex_lock(&fs->stop_lock);
	while (!fs->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)fs->commit_interval;
		ts.tv_nsec += (long)((fs->commit_interval - (time_t)fs->commit_interval) * 1e9);
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&fs->stop_cond, &fs->stop_lock, &ts);
		if (fs->stopping)
			break;
		pthread_mutex_lock(&fs->meta.lock);
		if (sw_meta_pending(&fs->meta)) {
			int err = sw_meta_commit(&fs->meta, false);

			if (err)
				sw_err("background commit: %s", strerror(-err));
		}
		pthread_mutex_unlock(&fs->meta.lock);
	}
	pthread_mutex_unlock(&fs->stop_lock);
	return NULL;
}

/* Inodes left with no links by a crash (open-unlinked files) are freed. */
static void free_orphans(struct swapfs *fs)
{
	struct sw_meta *m = &fs->meta;
	uint64_t *orphans = NULL;
	size_t n = 0, cap = 0;
	struct sw_inode_iter it;
	struct sw_inode *i;

	sw_for_each_inode(m, &it, i) {
		if (i->a.nlink || i->a.ino == SW_ROOT_INO)
			continue;
		if (n == cap) {
			uint64_t *no = realloc(orphans, (cap = cap ? cap * 2 : 16) * sizeof(*no));

			if (!no)
				break;
			orphans = no;
		}
		orphans[n++] = i->a.ino;
	}
	for (size_t k = 0; k < n; k++) {
		struct swf_rec r = { .type = SWF_R_INODE_FREE, .u.free.ino = orphans[k] };

		sw_meta_emit(m, &r);
	}
	if (n) {
		sw_notice("freed %zu orphaned inode(s) left by an unclean shutdown", n);
		sw_meta_commit(m, true);
	}
	free(orphans);
}

/* served: the filesystem was mounted; one that never was has nothing to write. */
static void close_fs(struct swapfs *fs, bool served)
{
	int err = 0;

	pthread_mutex_lock(&fs->meta.lock);
	if (!fs->read_only && served) {
		err = sw_meta_commit(&fs->meta, true);
		if (!err)
			err = sw_meta_checkpoint(&fs->meta);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	if (err)
		sw_err("final checkpoint failed: %s", strerror(-err));
	sw_meta_close(&fs->meta);
	swe_arena_destroy(fs->arena);
	swe_volume_close(fs->vol);
}

/*
 * Testing hook: SWAPFS_FAULTS="DEV:OPS:NTH:COUNT:ERRNO[:DELAY_US];..." arms
 * engine fault rules after the filesystem is loaded (DEV -1 = any member,
 * OPS a subset of "rwf", COUNT 0 = forever); SWAPFS_OPEN_FAULTS the same
 * while it is loaded (the mount's counter update and checkpoint), cleared
 * after.  Not mount options on purpose.
 */
static int arm_faults(struct swapfs *fs, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (char *r = strtok_r(copy, ";", &save); r && !err; r = strtok_r(NULL, ";", &save)) {
		struct swe_fault f = {0};
		char ops[8] = "";
		unsigned long long nth, count;
		unsigned delay = 0;

		if (sscanf(r, "%d:%7[rwf]:%llu:%llu:%d:%u", &f.dev, ops, &nth, &count,
			   &f.error, &delay) < 5) {
			fprintf(stderr, "swapfs: SWAPFS_FAULTS: cannot parse '%s'\n", r);
			err = -EINVAL;
			break;
		}
		f.ops = (strchr(ops, 'r') ? SWE_READ : 0) | (strchr(ops, 'w') ? SWE_WRITE : 0) |
			(strchr(ops, 'f') ? SWE_FLUSH : 0);
		f.nth = nth;
		f.count = count;
		f.delay_us = delay;
		if (swe_fault_add(fs->vol, &f) < 0) {
			fprintf(stderr, "swapfs: SWAPFS_FAULTS: %s\n", swe_errmsg());
			err = -EINVAL;
		}
	}
	free(copy);
	return err;
}

static int open_fs(struct swapfs *fs, const char *devices, bool read_only,
		   uint64_t staging)
{
	char msg[1024], **members;
	int n = split_members(devices, &members, SWF_MAX_MEMBERS), err;
	struct sw_load_report rep = {0};

	if (n < 0) {
		fprintf(stderr, "swapfs: '%s': expected DEVICE[:DEVICE...]\n", devices);
		return -EINVAL;
	}
	/*
	 * Read-only, a member may be held by a writer (see the end of the
	 * loop); as the engine does for writers, wait up to two seconds for a
	 * killed one's rings to let go of it.
	 */
	for (int tries = 0;; tries++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		int busy = -1;

		err = sw_fsvol_open((const char *const *)members, (unsigned)n, read_only,
				    &fs->vol, &fs->sb, msg, sizeof(msg));
		if (err)
			break;
		for (unsigned i = 0; i < swe_volume_ndev(fs->vol) && busy < 0; i++)
			if (swe_volume_device(fs->vol, i)->in_use)
				busy = (int)i;
		if (busy < 0)
			break;
		if (tries == 100) {
			/* read-only here, read-write there: a table changing under this mount */
			snprintf(msg, sizeof(msg), "member %d (%s): in use by a read-write mount or a swapfs tool",
				 busy, members[busy]);
			swe_volume_close(fs->vol);
			err = -EBUSY;
			break;
		}
		swe_volume_close(fs->vol);
		nanosleep(&ts, NULL);
	}
	free_members(members);
	if (err) {
		fprintf(stderr, "swapfs: %s%s\n", msg,
			!read_only && (err == -EROFS || err == -EACCES) ?
			" (mount with -o ro to use it read-only)" : "");
		return err;
	}
	if (msg[0])
		fprintf(stderr, "swapfs: %s\n", msg);
	/* testing hook: as SWAPFS_FAULTS, for the loading and the mount's own writes only */
	if (getenv("SWAPFS_OPEN_FAULTS") && arm_faults(fs, getenv("SWAPFS_OPEN_FAULTS"))) {
		swe_volume_close(fs->vol);
		return -EINVAL;
	}
	err = sw_meta_open(&fs->meta, fs->vol, &fs->sb, read_only ? SW_LOAD_READ_ONLY : 0, &rep);
	swe_fault_clear(fs->vol);
	if (err && rep.nstale) {	/* an older copy of a member: its name, nothing else */
		fprintf(stderr, "swapfs: %s run swapfsck\n", rep.why);
		swe_volume_close(fs->vol);
		return err;
	}
	if (err) {
		fprintf(stderr, "swapfs: cannot load the metadata: %s%s%s%s\n", strerror(-err),
			rep.why[0] ? ": " : "", rep.why, err == -EUCLEAN ? " (run swapfsck)" : "");
		swe_volume_close(fs->vol);
		return err;
	}
	if (rep.ckpt_torn)
		fprintf(stderr, "swapfs: note: %s\n", rep.why);
	err = swe_arena_create(&fs->arena, staging, 0, 0);
	if (err) {
		fprintf(stderr, "swapfs: staging memory: %s\n", swe_errmsg());
		sw_meta_close(&fs->meta);
		swe_volume_close(fs->vol);
		return err;
	}
	if (!read_only)
		free_orphans(fs);
	if (getenv("SWAPFS_FAULTS") && arm_faults(fs, getenv("SWAPFS_FAULTS"))) {
		close_fs(fs, false);
		return -EINVAL;
	}
	return 0;
}

/* The mount's device number, from mountinfo (stat() would ask this daemon). */
static void find_bdi(struct swapfs *fs, const char *mountpoint)
{
	char line[8192], mnt[4096];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char d[32];

		if (sscanf(line, "%*u %*u %31s %*s %4095s", d, mnt) == 2 &&
		    !strcmp(mnt, mountpoint) && strstr(line, " - fuse.swapfs "))
			snprintf(fs->bdi, sizeof(fs->bdi), "%s", d);	/* the last one is ours */
	}
	fclose(f);
}

/* Every staged chunk written and waited for, before the I/O thread stops. */
static void drain_all(struct swapfs *fs)
{
	struct sw_inode_iter it;
	struct sw_inode *i;

	sw_for_each_inode(&fs->meta, &it, i)
		if (sw_writes_pending(fs, i)) {	/* I/O threads still complete jobs */
			pthread_rwlock_wrlock(&i->rw);
			if (sw_wb_sync(fs, i, NULL))
				sw_err("inode %llu: staged data lost at unmount",
				       (unsigned long long)i->a.ino);
			pthread_rwlock_unlock(&i->rw);
		}
}

static char *escape_commas(const char *s)
{
	char *out = malloc(2 * strlen(s) + 1), *p = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p = 0;
	return out;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct cli cli = { .qd = SWE_DEFAULT_QUEUE_DEPTH, .io_threads = 0, .commit_interval = 1.0,
			   .attr_timeout = 1.0 };
	struct fuse_cmdline_opts opts = {0};
	struct sw_transport_opts topts = { .uring_depth = 8 };
	struct fuse_session *se = NULL;
	static struct swapfs fs;
	struct stat mst;
	uint64_t staging = 128ull << 20, read_ahead = 4ull << 20;
	char *fsname_opt = NULL, *esc, *mount_path = NULL, max_read[32];
	bool mounted = false;
	int ret = 1;

	if (fuse_opt_parse(&args, &cli, cli_spec, cli_proc) == -1)
		return 2;
	if (cli.show_help) {
		usage();
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_args;
	}
	if (cli.show_version) {
		printf("swapfs %s (libfuse %s)\n", PACKAGE_VERSION, fuse_pkgversion());
		ret = 0;
		goto out_args;
	}
	if (fuse_parse_cmdline(&args, &opts) != 0) {
		ret = 2;
		goto out_args;
	}
	if (!cli.devices || !opts.mountpoint) {
		fprintf(stderr, "swapfs: usage: swapfs [-f] [-o OPTIONS] DEVICE[:DEVICE...] MOUNTPOINT (see --help)\n");
		ret = 2;
		goto out_opts;
	}
	if (cli.qd < 1 || cli.qd > 256 || cli.commit_interval <= 0 ||
	    cli.io_threads > SW_MAX_IO_THREADS || cli.max_pages > 65535 ||
	    cli.uring_depth > 1024 || (cli.uring && cli.nouring) ||
	    cli.commit_interval > 3600 || cli.attr_timeout < 0 ||
	    (cli.staging && (parse_size(cli.staging, &staging) || staging < (4u << 20))) ||
	    (cli.read_ahead && (parse_size(cli.read_ahead, &read_ahead) || read_ahead > (1u << 30)))) {
		fprintf(stderr, "swapfs: bad option value (qd 1..256, io_threads 1..16, commit 0..3600 s, staging >= 4M, read_ahead <= 1G, max_pages <= 65535, uring_depth <= 1024, uring or nouring)\n");
		ret = 2;
		goto out_opts;
	}
	fs.read_only = cli.read_only;
	fs.foreground = opts.foreground;
	fs.queue_depth = cli.qd;
	fs.commit_interval = cli.commit_interval;
	fs.attr_timeout = cli.attr_timeout;
	fs.client_fixed = cli.client_fixed;
	topts.threads = opts.singlethread ? 1 : cli.fuse_threads;
	topts.clone_fd = opts.clone_fd;
	topts.uring = cli.uring ? 1 : cli.nouring ? -1 : 0;
	if (cli.uring_depth)
		topts.uring_depth = cli.uring_depth;
	sw_fuse_io_set_max_pages(cli.max_pages);
	snprintf(max_read, sizeof(max_read), "-omax_read=%u", sw_fuse_max_request());
	/* before anything is written: the root of the mount is a directory */
	if (stat(opts.mountpoint, &mst) < 0) {
		fprintf(stderr, "swapfs: mountpoint %s: %s\n", opts.mountpoint, strerror(errno));
		goto out_opts;
	}
	if (!S_ISDIR(mst.st_mode)) {
		fprintf(stderr, "swapfs: mountpoint %s: not a directory\n", opts.mountpoint);
		goto out_opts;
	}
	/* the session first: options it refuses are refused before a read-write
	 * open writes anything (the mount counter, docs/RELIABILITY.md) */
	esc = escape_commas(cli.devices);
	if (esc && asprintf(&fsname_opt, "-ofsname=%s,subtype=swapfs,default_permissions", esc) < 0)
		fsname_opt = NULL;
	free(esc);
	if (!fsname_opt || fuse_opt_add_arg(&args, fsname_opt) ||
	    fuse_opt_add_arg(&args, max_read))
		goto out_opts;
	se = fuse_session_new(&args, &sw_ops, sizeof(sw_ops), &fs);
	if (!se)
		goto out_opts;
	if (open_fs(&fs, cli.devices, fs.read_only, staging)) {
		fuse_session_destroy(se);
		goto out_opts;
	}
	pthread_key_create(&fs.ring_key, sw_thread_io_free);
	if (fuse_set_signal_handlers(se))
		goto out_session;
	mount_path = realpath(opts.mountpoint, NULL);	/* before it is a FUSE mount */
	sw_transport_setup_kernel(&topts, cli.max_pages);
	if (fuse_session_mount(se, opts.mountpoint)) {
		fprintf(stderr, "swapfs: cannot mount on %s\n", opts.mountpoint);
		goto out_signals;
	}
	mounted = true;
	if (sw_fuse_io_install(se)) {
		sw_warn("custom FUSE I/O unavailable: mmap of large files uses the page cache, no io_uring");
		topts.uring = -1;
	}
	if (mount_path)
		find_bdi(&fs, mount_path);
	fs.read_ahead = read_ahead;
	if (!fs.foreground)
		sw_log_to_syslog("swapfs");
	fuse_daemonize(opts.foreground);
	/* threads start after daemonizing: fork keeps only the calling thread */
	pthread_mutex_init(&fs.stop_lock, NULL);
	pthread_cond_init(&fs.stop_cond, NULL);
	pthread_cond_init(&fs.io_cond, NULL);
	if (!cli.io_threads)	/* one ring (and io_uring worker pool) per member */
		cli.io_threads = swe_volume_ndev(fs.vol) < SW_MAX_IO_THREADS ?
				 swe_volume_ndev(fs.vol) : SW_MAX_IO_THREADS;
	for (fs.nio = 0; fs.nio < cli.io_threads; fs.nio++)
		if (sw_iothread_start(&fs.io[fs.nio], fs.vol, fs.arena, fs.queue_depth)) {
			sw_err("cannot start I/O thread %u: %s", fs.nio, swe_errmsg());
			break;
		}
	if (!fs.nio)
		goto out_unmount;
	fs.committer_started = !fs.read_only &&
		pthread_create(&fs.committer, NULL, committer, &fs) == 0;
	if (!cli.no_client) {
		int err = sw_csrv_start(&fs, se);

		if (err)
			sw_warn("client path (libswapfs) unavailable: %s", strerror(-err));
	}
	ret = sw_transport_run(se, &topts);
	sw_csrv_stop(&fs);
	if (fs.committer_started) {
		pthread_mutex_lock(&fs.stop_lock);
		fs.stopping = true;
		pthread_cond_signal(&fs.stop_cond);
		pthread_mutex_unlock(&fs.stop_lock);
		pthread_join(fs.committer, NULL);
	}
	drain_all(&fs);
	for (unsigned i = 0; i < fs.nio; i++)
		sw_iothread_stop(&fs.io[i]);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	close_fs(&fs, mounted);
	free(mount_path);
	ret = ret ? 1 : 0;
out_opts:
	free(fsname_opt);
	free(opts.mountpoint);
out_args:
	free(cli.devices);
	free(cli.staging);
	free(cli.read_ahead);
	fuse_opt_free_args(&args);
	return ret;
}

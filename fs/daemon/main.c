/*
 * main.c - the swapfs daemon's command line (options, usage) and main():
 * the FUSE session, the volume opened and closed (mountvol.c), the mount,
 * the I/O threads, the background commit and the client path started and
 * stopped around the request loop.
 *
 *   swapfs [-f] [-o OPTIONS] DEVICE[:DEVICE...] MOUNTPOINT
 *
 * Without -f it returns once the mount is ready (fuse_daemonize after the
 * mount), so scripts can use the mountpoint as soon as it exits 0.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/lib/fslib.h"
#include "fs/daemon/bdi.h"
#include "fs/daemon/client_srv.h"
#include "fs/daemon/fuse_io.h"
#include "fs/daemon/mountvol.h"
#include "fs/daemon/optable.h"
#include "fs/daemon/swapfs.h"
#include "fs/daemon/transport.h"

struct cli {
	char *devices;
	char *staging;
	char *read_ahead;
	char *log_file, *log_level;
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
	CLI_OPT("log=%s", log_file),
	CLI_OPT("log_level=%s", log_level),
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
"  -o fuse_threads=N      threads reading /dev/fuse (default: one per CPU, at least 8)\n"
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
"  -o log=FILE            append messages to FILE, time-stamped (default: stderr\n"
"                         with -f, syslog without)\n"
"  -o log_level=LEVEL     err, warning, notice, info or debug (default: notice,\n"
"                         info with -f, debug with -d)\n"
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
"Durability: fsync and fdatasync make data and metadata durable; close of a\n"
"file opened for writing makes them survive a crash of the daemon; otherwise\n"
"metadata reaches the members within the commit interval.\n"
"\n"
"Client path: applications using libswapfs (or Python's swapfs.aio) move\n"
"data between their shared buffers and the members with no copy through\n"
"FUSE, on the same files; see libswapfs.h and docs/CLIENT.md.\n\n");
}

/* The log's level and file (-o log_level=, -d, -o log=), before daemonizing. */
static int setup_log(const struct cli *c, const struct fuse_cmdline_opts *o)
{
	int level = c->log_level ? sw_log_level_parse(c->log_level) :
		    o->debug ? SW_LOG_DEBUG : o->foreground ? SW_LOG_INFO : SW_LOG_NOTICE;
	int err;

	if (level < 0) {
		fprintf(stderr, "swapfs: log_level=%s: expected err, warning, notice, info or debug\n",
			c->log_level);
		return level;
	}
	sw_log_set_level(level);
	if (c->log_file && (err = sw_log_to_file(c->log_file))) {
		fprintf(stderr, "swapfs: log=%s: cannot open: %s\n", c->log_file, strerror(-err));
		return err;
	}
	return 0;
}

static void fuse_log_to_sw(enum fuse_log_level level, const char *fmt, va_list ap)
{
	sw_vlog((int)level, fmt, ap);
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
	struct fuse_lowlevel_ops ops;
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
	if (setup_log(&cli, &opts)) {
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
	sw_optable(&ops);
	se = fuse_session_new(&args, &ops, sizeof(ops), &fs);
	if (!se)
		goto out_opts;
	if (sw_mountvol_open(&fs, cli.devices, fs.read_only, staging)) {
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
		sw_find_bdi(&fs, mount_path);
	fs.read_ahead = read_ahead;
	if (!fs.foreground && !cli.log_file)
		sw_log_to_syslog("swapfs");
	fuse_set_log_func(fuse_log_to_sw);	/* libfuse's messages too, not to /dev/null */
	fuse_daemonize(opts.foreground);
	/* threads start after daemonizing: fork keeps only the calling thread */
	pthread_cond_init(&fs.io_cond, NULL);
	if (!cli.io_threads)	/* one ring (and io_uring worker pool) per member */
		cli.io_threads = swe_volume_ndev(fs.vol) < SW_MAX_IO_THREADS ?
				 swe_volume_ndev(fs.vol) : SW_MAX_IO_THREADS;
	for (fs.nio = 0; fs.nio < cli.io_threads; fs.nio++)
		if ((ret = sw_iothread_start(&fs.io[fs.nio], fs.vol, fs.arena, fs.queue_depth))) {
			sw_err("cannot start I/O thread %u: %s", fs.nio, strerror(-ret));
			break;
		}
	if (!fs.nio)
		goto out_unmount;
	sw_committer_start(&fs);
	if (!cli.no_client) {
		int err = sw_csrv_start(&fs, se);

		if (err)
			sw_warn("client path (libswapfs) unavailable: %s", strerror(-err));
	}
	ret = sw_transport_run(se, &topts);
	sw_csrv_stop(&fs);
	sw_committer_stop(&fs);
	sw_mountvol_drain(&fs);
	for (unsigned i = 0; i < fs.nio; i++)
		sw_iothread_stop(&fs.io[i]);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	sw_mountvol_close(&fs, mounted);
	free(mount_path);
	ret = ret ? 1 : 0;
out_opts:
	free(fsname_opt);
	free(opts.mountpoint);
out_args:
	free(cli.devices);
	free(cli.staging);
	free(cli.read_ahead);
	free(cli.log_file);
	free(cli.log_level);
	fuse_opt_free_args(&args);
	return ret;
}

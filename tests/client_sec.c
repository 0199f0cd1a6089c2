/*
 * client_sec.c - the client path's permission model under attack, run as
 * an unprivileged user by tests/client_sec.sh.
 *
 * Usage: client_sec MNT PUBLIC SECRET OWN
 *   PUBLIC: a file of another user that this user may read, not write;
 *   SECRET: a file of another user that this user may not read;
 *   OWN:    a file this user creates and may read and write.
 *
 * Checks that a descriptor registers with exactly the rights it was opened
 * with (O_WRONLY cannot read, O_RDONLY cannot write, O_PATH registers not
 * at all), then races: a thread swaps the target and this user's own
 * read-write file on one descriptor number with dup2() while the main
 * thread registers that number again and again and tries to read and
 * write through what it got.  The target must never be written nor the
 * secret read.  Bounded in iterations and time; a breach ends it at once.
 * Exit status: 0 no breach, 1 a breach or a failed check.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/client/libswapfs.h"

#define SZ 4096
#define RACE_FD 200
#define ITERATIONS 5000		/* rounds of a race; O_PATH ones (cheap: refused) 4 times that */
#define MAX_SECONDS 30

static struct swapfs_client *c;
static char *buf;
static int own, target;
static atomic_bool stop;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t io1(int op, int file)
{
	struct swapfs_io io = { op, file, buf, SZ, 0, 0 };
	struct swapfs_cqe cqe;
	int r = swapfs_submit(c, &io, 1);

	if (r < 0)
		return r;
	r = swapfs_wait(c, &cqe, 1, 1, 10000);
	return r < 0 ? r : cqe.result;
}

static bool all(const char *p, char ch, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ch)
			return false;
	return true;
}

/* A descriptor registers with what it was opened for, and nothing more. */
static int modes(const char *pub, const char *secret, const char *ownpath)
{
	int fd, f, bad = 0;
	int64_t r;

	fd = open(ownpath, O_WRONLY);
	f = fd < 0 ? -errno : swapfs_file_register(c, fd, NULL);
	if (f < 0) {
		printf("FAIL register O_WRONLY: %s\n", strerror(-f));
		return 1;
	}
	if ((r = io1(SWAPFS_READ, f)) != -EBADF) {
		printf("FAIL read through an O_WRONLY registration: %lld\n", (long long)r);
		bad = 1;
	}
	memset(buf, 'o', SZ);
	if ((r = io1(SWAPFS_WRITE, f)) != SZ) {
		printf("FAIL write through an O_WRONLY registration: %lld\n", (long long)r);
		bad = 1;
	}
	swapfs_file_unregister(c, f);
	close(fd);

	fd = open(pub, O_RDONLY);
	f = fd < 0 ? -errno : swapfs_file_register(c, fd, NULL);
	if (f < 0) {
		printf("FAIL register O_RDONLY: %s\n", strerror(-f));
		return 1;
	}
	if ((r = io1(SWAPFS_WRITE, f)) != -EBADF) {
		printf("FAIL write through an O_RDONLY registration: %lld\n", (long long)r);
		bad = 1;
	}
	swapfs_file_unregister(c, f);
	close(fd);

	for (int i = 0; i < 2; i++) {
		fd = open(i ? pub : secret, O_PATH);
		if (fd < 0) {
			printf("FAIL open O_PATH: %s\n", strerror(errno));
			return 1;
		}
		f = swapfs_file_register(c, fd, NULL);
		if (f >= 0) {
			printf("FAIL an O_PATH descriptor of %s registered\n", i ? "PUBLIC" : "SECRET");
			swapfs_file_unregister(c, f);
			bad = 1;
		}
		close(fd);
	}
	if (!bad)
		printf("ok modes\n");
	return bad;
}

/*
 * Flip RACE_FD between target and own.  Replacing own sends the daemon a
 * FLUSH (slow), replacing target does not: own stays a varying while, so
 * that both files spend time on the number.
 */
static void *swapper(void *arg)
{
	unsigned x = 1;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (dup2(target, RACE_FD) < 0 || dup2(own, RACE_FD) < 0)
			break;
		x = x * 1103515245u + 12345u;
		for (volatile unsigned i = 0; i < (x >> 16) % 4096; i++)
			;
	}
	return NULL;
}

/*
 * Register RACE_FD while it flips between own and target; read and write
 * through whatever registered.  check: a read-only descriptor of PUBLIC,
 * to see whether it was overwritten.
 */
static int race(const char *what, int check, bool secret, unsigned rounds)
{
	pthread_t t;
	unsigned ok = 0, refused = 0, rd_only = 0, it;
	double end = now() + MAX_SECONDS;
	int breach = 0;
	char back[SZ];

	if (dup2(own, RACE_FD) < 0) {
		printf("FAIL dup2: %s\n", strerror(errno));
		return 1;
	}
	atomic_store(&stop, false);
	if (pthread_create(&t, NULL, swapper, NULL)) {
		printf("FAIL pthread_create\n");
		return 1;
	}
	for (it = 0; it < rounds && now() < end && !breach; it++) {
		int f = swapfs_file_register(c, RACE_FD, NULL);
		int64_t r;

		if (f < 0) {
			refused++;
			continue;
		}
		ok++;
		memset(buf, 0, SZ);
		r = io1(SWAPFS_READ, f);
		if (secret && r > 0 && memchr(buf, 's', (size_t)r)) {
			printf("BREACH: read the secret file through a registration\n");
			breach = 1;
		}
		memset(buf, 'o', SZ);
		r = io1(SWAPFS_WRITE, f);
		if (r == -EBADF)
			rd_only++;
		if (!secret && r == SZ &&
		    (pread(check, back, SZ, 0) != SZ || !all(back, 'p', SZ))) {
			printf("BREACH: wrote into a file opened read-only\n");
			breach = 1;
		}
		swapfs_file_unregister(c, f);
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	printf("%s race: %u registrations, %u read-only, %u refused, in %u rounds\n",
	       what, ok, rd_only, refused, it);
	if (!breach)
		printf("ok race %s\n", what);
	return breach;
}

int main(int argc, char **argv)
{
	int err, check, bad;

	if (argc != 5) {
		fprintf(stderr, "usage: %s MNT PUBLIC SECRET OWN\n", argv[0]);
		return 2;
	}
	err = swapfs_client_open(&c, argv[1]);
	if (err) {
		printf("FAIL connect: %s\n", strerror(-err));
		return 1;
	}
	err = swapfs_buf_alloc(c, SZ, (void **)&buf);
	own = open(argv[4], O_RDWR | O_CREAT | O_TRUNC, 0644);
	check = open(argv[2], O_RDONLY);
	if (err || own < 0 || check < 0) {
		printf("FAIL setup: %s\n", err ? strerror(-err) : strerror(errno));
		return 1;
	}
	memset(buf, 'o', SZ);
	if (pwrite(own, buf, SZ, 0) != SZ) {
		printf("FAIL write %s: %s\n", argv[4], strerror(errno));
		return 1;
	}
	bad = modes(argv[2], argv[3], argv[4]);

	/* a file this user may read but not write, opened read-only */
	target = open(argv[2], O_RDONLY);
	bad |= target < 0 || race("read-only descriptor", check, false, ITERATIONS);
	close(target);
	/* a file this user may not even read, named by an O_PATH descriptor */
	target = open(argv[3], O_PATH);
	bad |= target < 0 || race("O_PATH descriptor", check, true, 4 * ITERATIONS);
	close(target);
	target = open(argv[2], O_PATH);
	bad |= target < 0 || race("O_PATH descriptor of a readable file", check, false,
				      4 * ITERATIONS);
	close(target);

	close(RACE_FD);
	close(own);
	close(check);
	swapfs_client_close(c);
	return bad;
}

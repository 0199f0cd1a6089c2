/*
 * client_io.c - the client path (libswapfs) against a real mount, checked
 * through the mount's POSIX view.  Usage: client_io MOUNTPOINT [CHECK...]
 * Each check prints "ok NAME" or "FAIL NAME: why" and the exit status is
 * the number of failures.  tests/client.sh mounts and runs it.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/client/libswapfs.h"
#include "fs/client/proto.h"
#include "tests/testutil.h"

static const char *mnt;
static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		printf("FAIL %s: ", __func__);				\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		failures++;						\
		return;							\
	}								\
} while (0)

static char *path(const char *name)
{
	static char p[4096];

	snprintf(p, sizeof(p), "%s/%s", mnt, name);
	return p;
}

/* Run n requests and wait for all; returns the first error or 0. */
static int64_t run(struct swapfs_client *c, struct swapfs_io *io, unsigned n)
{
	struct swapfs_cqe cqe[64];
	int64_t first = 0;
	unsigned done = 0, sent = 0;

	while (done < n) {
		if (sent < n) {
			int r = swapfs_submit(c, io + sent, n - sent);

			if (r < 0)
				return r;
			sent += (unsigned)r;
		}
		int got = swapfs_wait(c, cqe, 1, 64, 10000);

		if (got < 0)
			return got;
		for (int i = 0; i < got; i++)
			if (cqe[i].result < 0 && !first)
				first = cqe[i].result;
		done += (unsigned)got;
	}
	return first;
}

static struct swapfs_client *connect_or_fail(void)
{
	struct swapfs_client *c;
	int err = swapfs_client_open(&c, mnt);

	if (err) {
		printf("FAIL connect: %s\n", strerror(-err));
		exit(1);
	}
	return c;
}

/* 8 MiB in 1 MiB requests at depth 8, read back through the mount. */
static void write_then_posix_read(void)
{
	struct swapfs_client *c = connect_or_fail();
	size_t n = 8u << 20;
	char *buf, *back = malloc(n);
	struct swapfs_io io[8];
	struct stat st;
	int fd = open(path("w1"), O_RDWR | O_CREAT | O_TRUNC, 0644), file;
	int64_t r;

	CHECK(fd >= 0 && back, "open: %s", strerror(errno));
	CHECK(!swapfs_buf_alloc(c, n, (void **)&buf), "buf_alloc");
	file = swapfs_file_register(c, fd, NULL);
	CHECK(file >= 0, "register: %s", strerror(-file));
	tu_fill(buf, n, 0, 1);
	for (unsigned i = 0; i < 8; i++)
		io[i] = (struct swapfs_io){ SWAPFS_WRITE, file, buf + (i << 20), 1u << 20,
					    (uint64_t)i << 20, i };
	r = run(c, io, 8);
	CHECK(r == 0, "write: %s", strerror((int)-r));
	/* no close, no fsync: the mount must show size and bytes at once */
	CHECK(!fstat(fd, &st) && st.st_size == (off_t)n, "size %lld after completion",
	      (long long)st.st_size);
	CHECK(pread(fd, back, n, 0) == (ssize_t)n && !memcmp(back, buf, n),
	      "POSIX read differs from what the client wrote");
	CHECK(!swapfs_fsync(c, file), "fsync");
	CHECK(!swapfs_file_unregister(c, file), "unregister");
	close(fd);
	swapfs_client_close(c);
	free(back);
	printf("ok %s\n", __func__);
}

/* POSIX write, client read into a shared buffer; holes and EOF. */
static void posix_write_then_read(void)
{
	struct swapfs_client *c = connect_or_fail();
	size_t n = 3u << 20;
	char *src = malloc(n), *buf;
	int fd = open(path("p1"), O_RDWR | O_CREAT | O_TRUNC, 0644), file;
	struct swapfs_io io;
	struct swapfs_cqe cqe;

	CHECK(fd >= 0 && src, "open");
	tu_fill(src, n, 0, 2);
	CHECK(pwrite(fd, src, n, 0) == (ssize_t)n, "pwrite");
	CHECK(ftruncate(fd, 8 << 20) == 0, "ftruncate");	/* a hole after the data */
	CHECK(!swapfs_buf_alloc(c, 16u << 20, (void **)&buf), "buf_alloc");
	memset(buf, 0x55, 16u << 20);
	file = swapfs_file_register(c, fd, NULL);
	CHECK(file >= 0, "register");
	io = (struct swapfs_io){ SWAPFS_READ, file, buf, 16u << 20, 0, 7 };
	CHECK(swapfs_submit(c, &io, 1) == 1, "submit");
	CHECK(swapfs_wait(c, &cqe, 1, 1, 10000) == 1, "wait");
	CHECK(cqe.user_data == 7 && cqe.result == 8 << 20, "read gave %lld", (long long)cqe.result);
	CHECK(!memcmp(buf, src, n), "data differs");
	for (size_t i = n; i < 8u << 20; i++)
		CHECK(!buf[i], "hole byte %zu not zero", i);
	CHECK((unsigned char)buf[8u << 20] == 0x55, "read wrote past EOF");
	swapfs_file_unregister(c, file);
	close(fd);
	swapfs_client_close(c);
	free(src);
	printf("ok %s\n", __func__);
}

/* Unaligned ranges and buffers that are not shared (bounce + copy path). */
static void unaligned_and_private_buffers(void)
{
	struct swapfs_client *c = connect_or_fail();
	char *a = malloc(20000), *b = malloc(20000), *back = malloc(30000);
	int fd = open(path("u1"), O_RDWR | O_CREAT | O_TRUNC, 0644), file;
	struct swapfs_io io[2];
	int64_t r;

	CHECK(fd >= 0 && a && b && back, "open");
	tu_fill(a, 20000, 0, 3);
	tu_fill(b, 20000, 0, 4);
	file = swapfs_file_register(c, fd, NULL);
	CHECK(file >= 0, "register");
	io[0] = (struct swapfs_io){ SWAPFS_WRITE, file, a + 1, 12345, 1000, 0 };
	io[1] = (struct swapfs_io){ SWAPFS_WRITE, file, b, 4096, 16384, 1 };
	r = run(c, io, 2);
	CHECK(r == 0, "write: %s", strerror((int)-r));
	CHECK(pread(fd, back, 30000, 0) == 16384 + 4096, "size");
	for (int i = 0; i < 1000; i++)
		CHECK(!back[i], "byte %d before the data not zero", i);
	CHECK(!memcmp(back + 1000, a + 1, 12345), "unaligned data differs");
	for (int i = 13345; i < 16384; i++)
		CHECK(!back[i], "gap byte %d not zero", i);
	CHECK(!memcmp(back + 16384, b, 4096), "aligned private data differs");
	memset(back, 0, 30000);
	io[0] = (struct swapfs_io){ SWAPFS_READ, file, back + 3, 7000, 999, 0 };
	r = run(c, io, 1);
	CHECK(r == 0 && !memcmp(back + 4, a + 1, 6999) && !back[3], "unaligned read");
	swapfs_file_unregister(c, file);
	close(fd);
	swapfs_client_close(c);
	free(a);
	free(b);
	free(back);
	printf("ok %s\n", __func__);
}

/* The kernel's cached pages of an mmap see a client write at once. */
static void mmap_coherent(void)
{
	struct swapfs_client *c = connect_or_fail();
	int fd = open(path("m1"), O_RDWR | O_CREAT | O_TRUNC, 0644), file;
	char *buf, *map;
	struct swapfs_io io;
	int64_t r;

	CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0, "open");
	map = mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	CHECK(map[4096] == 0, "fresh file not zero");	/* now cached */
	CHECK(!swapfs_buf_alloc(c, 1 << 20, (void **)&buf), "buf_alloc");
	memset(buf, 'x', 1 << 20);
	file = swapfs_file_register(c, fd, NULL);
	CHECK(file >= 0, "register");
	io = (struct swapfs_io){ SWAPFS_WRITE, file, buf, 1 << 20, 0, 0 };
	r = run(c, &io, 1);
	CHECK(r == 0, "write");
	CHECK(map[4096] == 'x' && map[(1 << 20) - 1] == 'x', "mmap shows stale bytes");
	munmap(map, 1 << 20);
	swapfs_file_unregister(c, file);
	close(fd);
	swapfs_client_close(c);
	printf("ok %s\n", __func__);
}

/* What the descriptor allows, bad ids and ranges, foreign files. */
static void errors(void)
{
	struct swapfs_client *c = connect_or_fail();
	int ro = open(path("e1"), O_RDWR | O_CREAT | O_TRUNC, 0644), dirfd, other, file, r;
	char *buf;
	struct swapfs_io io;
	int64_t res;
	char tmpl[] = "/tmp/swapfs-client-XXXXXX";

	CHECK(ro >= 0, "open");
	close(ro);
	ro = open(path("e1"), O_RDONLY);
	CHECK(!swapfs_buf_alloc(c, 1 << 20, (void **)&buf), "buf_alloc");
	file = swapfs_file_register(c, ro, NULL);
	CHECK(file >= 0, "register read-only");
	io = (struct swapfs_io){ SWAPFS_WRITE, file, buf, 4096, 0, 0 };
	res = run(c, &io, 1);
	CHECK(res == -EBADF, "write through a read-only descriptor: %lld", (long long)res);
	io = (struct swapfs_io){ SWAPFS_READ, file + 100, buf, 4096, 0, 0 };
	res = run(c, &io, 1);
	CHECK(res == -EBADF, "unknown file: %lld", (long long)res);
	io = (struct swapfs_io){ SWAPFS_READ, file, buf, 4096, UINT64_MAX - 100, 0 };
	res = run(c, &io, 1);
	CHECK(res == -EINVAL, "huge offset: %lld", (long long)res);
	CHECK(swapfs_submit(c, &(struct swapfs_io){ 9, file, buf, 1, 0, 0 }, 1) == -EINVAL,
	      "bad op accepted");
	dirfd = open(mnt, O_RDONLY | O_DIRECTORY);
	r = swapfs_file_register(c, dirfd, NULL);
	CHECK(r == -EISDIR, "directory: %d", r);
	other = mkstemp(tmpl);
	CHECK(other >= 0, "mkstemp");
	unlink(tmpl);
	r = swapfs_file_register(c, other, NULL);
	CHECK(r == -EXDEV, "file of another filesystem: %d", r);
	CHECK(swapfs_file_unregister(c, 999) == -EBADF, "unregister unknown");
	CHECK(swapfs_buf_free(c, buf + 1) == -EINVAL, "free of a non-buffer");
	CHECK(!swapfs_buf_free(c, buf), "buf_free");
	close(other);
	close(dirfd);
	swapfs_file_unregister(c, file);
	close(ro);
	swapfs_client_close(c);
	printf("ok %s\n", __func__);
}

/* Writes until the volume is full: -ENOSPC, then the space comes back. */
static void enospc(void)
{
	struct swapfs_client *c = connect_or_fail();
	int fd = open(path("full"), O_RDWR | O_CREAT | O_TRUNC, 0644), file;
	char *buf;
	struct swapfs_io io[8];
	int64_t r = 0;
	uint64_t off = 0;

	CHECK(fd >= 0, "open");
	CHECK(!swapfs_buf_alloc(c, 8u << 20, (void **)&buf), "buf_alloc");
	memset(buf, 'f', 8u << 20);
	file = swapfs_file_register(c, fd, NULL);
	CHECK(file >= 0, "register");
	for (int round = 0; round < 100000 && !r; round++) {
		for (unsigned i = 0; i < 8; i++, off += 1 << 20)
			io[i] = (struct swapfs_io){ SWAPFS_WRITE, file, buf + (i << 20), 1 << 20, off, i };
		r = run(c, io, 8);
	}
	CHECK(r == -ENOSPC, "filling the volume ended with %lld", (long long)r);
	swapfs_file_unregister(c, file);
	close(fd);
	CHECK(!unlink(path("full")), "unlink");
	fd = open(path("after"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	file = swapfs_file_register(c, fd, NULL);
	io[0] = (struct swapfs_io){ SWAPFS_WRITE, file, buf, 1 << 20, 0, 0 };
	r = run(c, io, 1);
	CHECK(r == 0, "write after freeing: %lld", (long long)r);
	swapfs_file_unregister(c, file);
	close(fd);
	swapfs_client_close(c);
	printf("ok %s\n", __func__);
}

/*
 * One connection registers at most SWC_MAX_FILES files (then EMFILE) and
 * keeps serving; what it lets go is free again.
 */
static void limits(void)
{
	struct swapfs_client *c = connect_or_fail();
	int fd = open(path("limits"), O_RDWR | O_CREAT | O_TRUNC, 0644), r = 0;
	static int ids[SWC_MAX_FILES];
	unsigned n;

	CHECK(fd >= 0, "open");
	for (n = 0; n < SWC_MAX_FILES; n++) {
		r = swapfs_file_register(c, fd, NULL);
		if (r < 0)
			break;
		ids[n] = r;
	}
	CHECK(n == SWC_MAX_FILES, "registration %u of %u: %s", n + 1, SWC_MAX_FILES,
	      strerror(-r));
	r = swapfs_file_register(c, fd, NULL);
	CHECK(r == -EMFILE, "registration %u: %d, not EMFILE", SWC_MAX_FILES + 1, r);
	CHECK(!swapfs_file_unregister(c, ids[0]), "unregister");
	r = swapfs_file_register(c, fd, NULL);
	CHECK(r >= 0, "after one went: %s", strerror(-r));
	ids[0] = r;
	for (n = 0; n < SWC_MAX_FILES; n++)
		CHECK(!swapfs_file_unregister(c, ids[n]), "unregister %u", n);
	close(fd);
	swapfs_client_close(c);
	printf("ok limits (%u files)\n", SWC_MAX_FILES);
}

/* The VMA of /proc/self/smaps holding addr: its mapped name in name, whether it is locked. */
static bool vma_of(const void *addr, char *name, size_t size, bool *locked)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	bool in = false, found = false;

	if (!f)
		return false;
	*locked = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		int pos = 0;

		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &pos) == 2 && pos) {
			in = lo <= (unsigned long)addr && (unsigned long)addr < hi;
			if (in) {
				found = true;
				snprintf(name, size, "%s", line + pos);
				name[strcspn(name, "\n")] = 0;
			}
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			*locked = strstr(line, " lo") != NULL;
		}
	}
	fclose(f);
	return found;
}

/*
 * swapfs_buf_register adopts the caller's memory: the same address, the
 * same bytes, now the daemon's memfd (no descriptor ever goes to the
 * daemon), still locked if it was; I/O from and into it; a second client
 * (as another mount) cannot adopt it again and goes through its bounce
 * buffer; after swapfs_buf_free the mapping stays the caller's.
 */
static void adopt(void)
{
	struct swapfs_client *c = connect_or_fail(), *c2 = connect_or_fail();
	size_t n = 1u << 20;
	char *p = mmap(NULL, n + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *want = malloc(n), *back = malloc(n), name[256], *hole;
	int fd = open(path("adopt"), O_RDWR | O_CREAT | O_TRUNC, 0644), file, file2, r;
	struct swapfs_io io;
	bool was_locked, locked;
	int64_t res;

	CHECK(p != MAP_FAILED && want && back && fd >= 0, "setup: %s", strerror(errno));
	CHECK(!munmap(p + n, 4096), "munmap");	/* a hole right after the range */
	hole = p + n;
	tu_fill(p, n, 0, 21);
	memcpy(want, p, n);
	(void)mlock(p, n);	/* where RLIMIT_MEMLOCK allows (ASan's mlock does nothing) */
	CHECK(vma_of(p, name, sizeof(name), &was_locked), "no mapping at %p", (void *)p);
	CHECK(swapfs_buf_register(c, p + 8, n - 4096) == -EINVAL, "unaligned address taken");
	CHECK(swapfs_buf_register(c, p, n - 100) == -EINVAL, "length not a page multiple taken");
	CHECK(swapfs_buf_register(c, NULL, n) == -EINVAL, "NULL taken");
	r = swapfs_buf_register(c, hole, 4096);
	CHECK(r == -EFAULT, "an unmapped range: %d, not EFAULT", r);
	r = swapfs_buf_register(c, p + n - 4096, 8192);
	CHECK(r == -EFAULT, "a range running into a hole: %d, not EFAULT", r);
	CHECK(!memcmp(p, want, n), "a refused registration changed the bytes");
	r = swapfs_buf_register(c, p, n);
	CHECK(!r, "register: %s", strerror(-r));
	CHECK(!memcmp(p, want, n), "the bytes changed in the adoption");
	CHECK(vma_of(p, name, sizeof(name), &locked), "no mapping at %p", (void *)p);
	CHECK(strstr(name, "memfd:swapfs-client"), "%p is \"%s\", not the daemon's memfd",
	      (void *)p, name);
	CHECK(locked || !was_locked, "locked before, not after the adoption");
	CHECK(swapfs_buf_register(c, p, n) == -EEXIST, "registered twice");
	r = swapfs_buf_register(c2, p, n);
	CHECK(r == -EBUSY, "adopted again by another client: %d, not EBUSY", r);
	CHECK(!memcmp(p, want, n), "the bytes changed");

	file = swapfs_file_register(c, fd, NULL);
	CHECK(file >= 0, "register file: %s", strerror(-file));
	io = (struct swapfs_io){ SWAPFS_WRITE, file, p, n, 0, 1 };
	res = run(c, &io, 1);
	CHECK(res == 0, "write: %s", strerror((int)-res));
	CHECK(pread(fd, back, n, 0) == (ssize_t)n && !memcmp(back, want, n),
	      "the file differs from the adopted buffer");
	tu_fill(want, n, 0, 22);
	CHECK(pwrite(fd, want, n, 0) == (ssize_t)n && !fsync(fd), "POSIX write");
	io = (struct swapfs_io){ SWAPFS_READ, file, p, n, 0, 2 };
	res = run(c, &io, 1);
	CHECK(res == 0 && !memcmp(p, want, n), "read into the adopted buffer");

	/* the other client: through its bounce buffer, the same bytes */
	file2 = swapfs_file_register(c2, fd, NULL);
	CHECK(file2 >= 0, "register file 2: %s", strerror(-file2));
	tu_fill(p, n, 0, 23);
	memcpy(want, p, n);
	io = (struct swapfs_io){ SWAPFS_WRITE, file2, p, n, 0, 3 };
	res = run(c2, &io, 1);
	CHECK(res == 0, "write 2: %s", strerror((int)-res));
	CHECK(pread(fd, back, n, 0) == (ssize_t)n && !memcmp(back, want, n), "write 2 differs");
	memset(p, 0, n);
	io = (struct swapfs_io){ SWAPFS_READ, file2, p, n, 0, 4 };
	res = run(c2, &io, 1);
	CHECK(res == 0 && !memcmp(p, want, n), "read 2 into the adopted buffer");
	CHECK(!swapfs_file_unregister(c2, file2), "unregister 2");
	CHECK(!swapfs_file_unregister(c, file), "unregister");

	/* freed: the daemon lets it go, the caller keeps the mapping and its bytes */
	CHECK(!swapfs_buf_free(c, p), "buf_free");
	CHECK(!memcmp(p, want, n), "the bytes changed at buf_free");
	p[0] ^= 1;
	r = swapfs_buf_register(c2, p, n);	/* free again: another client may adopt it */
	CHECK(!r, "register with the other client after buf_free: %s", strerror(-r));
	CHECK(p[0] == (char)(want[0] ^ 1) && !memcmp(p + 1, want + 1, n - 1),
	      "the bytes changed in the second adoption");
	swapfs_client_close(c2);	/* leaves the mapping too */
	CHECK(p[0] == (char)(want[0] ^ 1), "the mapping went with the client");
	CHECK(!munmap(p, n), "munmap");
	close(fd);
	swapfs_client_close(c);
	free(want);
	free(back);
	printf("ok %s\n", __func__);
}

/*
 * Ranges that are mapped but cannot be read: swapfs_buf_register copied
 * them with memcpy and the caller died of SIGSEGV (PROT_NONE) or SIGBUS (a
 * file mapping past the file's end) inside the library.  They get EACCES
 * (not readable and writable, adopt_foreign) and EFAULT, the mapping stays
 * as it was, and a readable range still adopts.
 */
static void adopt_unreadable(void)
{
	struct swapfs_client *c = connect_or_fail();
	size_t n = 8192;
	char *p = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *q;
	int fd = open(path("adopt_short"), O_RDWR | O_CREAT | O_TRUNC, 0644), r;

	CHECK(p != MAP_FAILED && fd >= 0, "setup: %s", strerror(errno));
	r = swapfs_buf_register(c, p, n);
	CHECK(r == -EACCES, "a PROT_NONE range: %d, not EACCES", r);
	CHECK(!mprotect(p, n, PROT_READ | PROT_WRITE), "mprotect");
	tu_fill(p, n, 0, 24);
	r = swapfs_buf_register(c, p, n);
	CHECK(!r, "register after mprotect: %s", strerror(-r));
	CHECK(!swapfs_buf_free(c, p), "buf_free");
	CHECK(!munmap(p, n), "munmap");

	/* one page of file, two of mapping: the second page is past its end */
	CHECK(ftruncate(fd, 4096) == 0, "ftruncate: %s", strerror(errno));
	q = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(q != MAP_FAILED, "mmap of the file: %s", strerror(errno));
	r = swapfs_buf_register(c, q, n);
	CHECK(r == -EFAULT, "a mapping past the end of its file: %d, not EFAULT", r);
	r = swapfs_buf_register(c, q, 4096);
	CHECK(!r, "register the page inside the file: %s", strerror(-r));
	CHECK(!swapfs_buf_free(c, q), "buf_free 2");
	CHECK(!munmap(q, n), "munmap 2");
	close(fd);
	swapfs_client_close(c);
	printf("ok %s\n", __func__);
}

/*
 * Ranges the adoption would change behind the caller's back: a read-only
 * mapping came back writable (a program's own code was replaced by data
 * pages), and a shared mapping of a file no longer reached the file (the
 * caller's later stores went into the daemon's memfd: lost for the file).
 * They are refused; a shared anonymous mapping still adopts.
 */
static void adopt_foreign(void)
{
	struct swapfs_client *c = connect_or_fail();
	size_t n = 8192;
	char *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *q, back[16];
	int fd = open(path("adopt_shared"), O_RDWR | O_CREAT | O_TRUNC, 0644), r;

	CHECK(p != MAP_FAILED && fd >= 0, "setup: %s", strerror(errno));
	r = swapfs_buf_register(c, p, n);
	CHECK(r == -EACCES, "a read-only range: %d, not EACCES", r);
	r = swapfs_buf_register(c, (void *)((uintptr_t)adopt_foreign & ~(uintptr_t)4095), 4096);
	CHECK(r == -EACCES, "the program's code: %d, not EACCES", r);
	CHECK(!munmap(p, n), "munmap");

	CHECK(ftruncate(fd, (off_t)n) == 0, "ftruncate: %s", strerror(errno));
	q = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(q != MAP_FAILED, "mmap of the file: %s", strerror(errno));
	r = swapfs_buf_register(c, q, n);
	CHECK(r == -EINVAL, "a shared mapping of a file: %d, not EINVAL", r);
	memcpy(q, "still the file's", 16);
	CHECK(!msync(q, n, MS_SYNC), "msync");
	CHECK(pread(fd, back, 16, 0) == 16 && !memcmp(back, "still the file's", 16),
	      "a store into the refused mapping did not reach the file");
	CHECK(!munmap(q, n), "munmap 2");

	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap shared anonymous: %s", strerror(errno));
	r = swapfs_buf_register(c, p, n);
	CHECK(!r, "a shared anonymous range: %s", strerror(-r));
	CHECK(!swapfs_buf_free(c, p), "buf_free");
	CHECK(!munmap(p, n), "munmap 3");
	close(fd);
	swapfs_client_close(c);
	printf("ok %s\n", __func__);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } checks[] = {
		{ "write", write_then_posix_read }, { "read", posix_write_then_read },
		{ "unaligned", unaligned_and_private_buffers }, { "mmap", mmap_coherent },
		{ "errors", errors }, { "enospc", enospc }, { "limits", limits },
		{ "adopt", adopt }, { "adopt_unreadable", adopt_unreadable },
		{ "adopt_foreign", adopt_foreign },
	};

	if (argc < 2) {
		fprintf(stderr, "usage: client_io MOUNTPOINT [CHECK...]\n");
		return 2;
	}
	mnt = argv[1];
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		bool want = argc == 2;

		for (int a = 2; a < argc; a++)
			want |= !strcmp(argv[a], checks[i].name);
		if (want)
			checks[i].fn();
	}
	return failures;
}

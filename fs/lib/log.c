/*
 * log.c - the one log of the daemon and the library.
 *
 * A level threshold and one destination, both chosen at startup before
 * any thread runs: standard error ("swapfs: TEXT"), syslog, or a file
 * opened O_APPEND ("TIME swapfs[PID] LEVEL: TEXT").  Each message is
 * formatted whole and leaves in one write(2) (or one syslog(3)), so the
 * lines of concurrent threads never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fs/lib/fslib.h"

#define LINE_MAX_BYTES 2048	/* longer messages are cut, the newline kept */

enum dest { TO_STDERR, TO_SYSLOG, TO_FILE };

static enum dest dest = TO_STDERR;
static int threshold = SW_LOG_INFO;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void sw_log_set_level(int level)
{
	threshold = level;
}

int sw_log_level_parse(const char *name)
{
	for (int l = SW_LOG_ERR; l <= SW_LOG_DEBUG; l++)
		if (!strcmp(name, level_names[l]))
			return l;
	return -EINVAL;
}

void sw_log_to_syslog(const char *ident)
{
	openlog(ident, LOG_PID, LOG_DAEMON);
	dest = TO_SYSLOG;
}

int sw_log_to_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);

	if (fd < 0)
		return -errno;
	log_fd = fd;
	dest = TO_FILE;
	return 0;
}

/* "2026-01-31T12:00:00.123456Z swapfs[PID] LEVEL: " into buf; its length. */
static size_t file_prefix(char *buf, size_t len, int level)
{
	struct timespec ts;
	struct tm tm;
	size_t n;
	int k;

	if (clock_gettime(CLOCK_REALTIME, &ts) || !gmtime_r(&ts.tv_sec, &tm)) {
		ts = (struct timespec){0};
		tm = (struct tm){ .tm_year = 70, .tm_mday = 1 };	/* the epoch */
	}
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(buf + n, len - n, ".%06ldZ swapfs[%ld] %s: ", ts.tv_nsec / 1000,
		     (long)getpid(), level_names[level]);
	return k > 0 && (size_t)k < len - n ? n + (size_t)k : n;
}

/* The whole line in one write; a failing log has nowhere to report itself. */
static void write_line(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(log_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

void sw_vlog(int level, const char *fmt, va_list ap)
{
	char line[LINE_MAX_BYTES];
	size_t n;
	int saved = errno, k;

	if (level > threshold)
		return;
	if (level < 0)
		level = 0;
	if (dest == TO_SYSLOG) {
		vsyslog(level, fmt, ap);
		errno = saved;
		return;
	}
	if (dest == TO_FILE)
		n = file_prefix(line, sizeof(line), level);
	else
		n = (size_t)snprintf(line, sizeof(line), "swapfs: ");
	k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (k > 0)
		n += (size_t)k < sizeof(line) - n ? (size_t)k : sizeof(line) - n - 1;
	while (n && line[n - 1] == '\n')	/* libfuse's messages end in one */
		n--;
	line[n++] = '\n';
	write_line(line, n);
	errno = saved;
}

void sw_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sw_vlog(level, fmt, ap);
	va_end(ap);
}

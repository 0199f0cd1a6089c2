/* errmsg.c - the text of a failure, written into what the caller owns. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/internal.h"

/* "CONTEXT: strerror" into msg (SWE_ERRMSG_LEN bytes, cut if longer). */
static void format(char *msg, int err, const char *fmt, va_list ap)
{
	int n = vsnprintf(msg, SWE_ERRMSG_LEN, fmt, ap);

	if (n >= 0 && n < SWE_ERRMSG_LEN)
		snprintf(msg + n, SWE_ERRMSG_LEN - (size_t)n, ": %s", strerror(-err));
}

int swe_fail(struct swe_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		format(e->msg, err, fmt, ap);
		va_end(ap);
	}
	return err;
}

int swe_io_fail(struct swe_io *io, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(io->errmsg, err, fmt, ap);
	va_end(ap);
	return err;
}

const char *swe_io_errmsg(const struct swe_io *ios, unsigned n, int err)
{
	for (unsigned i = 0; i < n; i++)
		if (ios[i].errmsg[0])
			return ios[i].errmsg;
	return strerror(-err);
}

uint64_t swe_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

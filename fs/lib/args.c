/* args.c - size and member-list arguments, and the clock, for the daemon and the tools. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/lib/fslib.h"

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'B' || *end == 'b') && shift)
		end++;
	if (*end || (shift && v > (~0ull >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int split_members(const char *list, char ***out, unsigned max)
{
	char **m = calloc(max + 1, sizeof(char *));
	const char *p = list;
	unsigned n = 0;

	if (!m)
		return -ENOMEM;
	while (p && *p) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);

		if (!len || n == max) {
			free_members(m);
			return -EINVAL;
		}
		m[n] = strndup(p, len);
		if (!m[n++]) {
			free_members(m);
			return -ENOMEM;
		}
		p = colon ? colon + 1 : NULL;
		if (colon && !*p) {	/* trailing colon */
			free_members(m);
			return -EINVAL;
		}
	}
	if (!n) {
		free_members(m);
		return -EINVAL;
	}
	*out = m;
	return (int)n;
}

void free_members(char **members)
{
	if (!members)
		return;
	for (char **p = members; *p; p++)
		free(*p);
	free(members);
}

bool member_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char src[8192], *real = realpath(path, NULL), *save;
	bool mounted = false;

	if (!f) {
		free(real);
		return false;
	}
	while (!mounted && fscanf(f, "%8191s %*s %*s %*s %*d %*d", src) == 1)
		for (char *tok = strtok_r(src, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
			if (!strcmp(tok, path) || (real && !strcmp(tok, real)))
				mounted = true;
	fclose(f);
	free(real);
	return mounted;
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

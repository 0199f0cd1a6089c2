/* util.c - argument parsing, child processes and progress output for the tools. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

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

double fio_terse_kib(char *out, bool read)
{
	double kib = 0;
	char *save;

	/* terse v3: field 7 is read KiB/s, field 48 write KiB/s */
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f = line;

		for (int field = 1; f && field < (read ? 7 : 48); field++)
			if ((f = strchr(f, ';')))
				f++;
		if (f)
			kib += strtod(f, NULL);
	}
	return kib;
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int run_capture(char *const argv[], char **out)
{
	int pipefd[2], status;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	pid_t pid;
	ssize_t n;

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free(buf);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(pipefd[0]);
		close(pipefd[1]);
		free(buf);
		return err;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		if (len + 1 >= cap) {
			char *bigger = realloc(buf, cap *= 2);

			if (!bigger)
				break;
			buf = bigger;
		}
		n = read(pipefd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			free(buf);
			return -errno;
		}
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void progress_start(struct progress *p, const char *label)
{
	p->tty = isatty(STDERR_FILENO);
	p->last = 0;
	p->label = label;
}

void progress_update(struct progress *p, uint64_t done, uint64_t total, double t0)
{
	double t = now_seconds();

	if (!p->tty || t - p->last < 0.2)
		return;
	p->last = t;
	fprintf(stderr, "\r%-8s %5.1f%%  %8.0f MiB/s ", p->label,
		total ? 100.0 * done / total : 100.0,
		t > t0 ? done / 1048576.0 / (t - t0) : 0.0);
}

void progress_end(struct progress *p)
{
	if (p->tty)
		fprintf(stderr, "\r%40s\r", "");
}

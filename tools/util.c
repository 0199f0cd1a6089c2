/* util.c - child processes, fio output and progress lines for the tools. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/util.h"

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

void drop_caches(void)
{
	FILE *f;

	sync();
	f = fopen("/proc/sys/vm/drop_caches", "w");
	if (f) {
		fputs("3\n", f);
		fclose(f);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void sort_doubles(double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
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

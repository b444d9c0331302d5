/*
 * timeit: run one command once and print its wall-clock time in nanoseconds.
 *
 *   timeit [-o LOG] [-r] [--] COMMAND [ARG...]
 *
 * The child's stdout and stderr go to LOG (truncated; default /dev/null), which
 * is opened before the clock starts.  The time is taken with CLOCK_MONOTONIC
 * around fork + exec + wait, so it includes process start-up, as a user sees
 * it, and nothing of the calling shell.  On success prints "<ns>\n" and exits 0;
 * if the command fails, prints nothing and exits with its status (127 if it
 * could not be run, 128+N if killed by signal N).  With -r it prints
 * "<ns> <KB>\n": KB is the peak resident set size of the command, that is of
 * the largest process of its tree that was waited for (getrusage's
 * RUSAGE_CHILDREN, as /usr/bin/time reports it).
 *
 * Used by bench/spawn.sh, bench/review.sh and bench/trace.sh; built there with
 * `cc -O2`.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("timeit: clock_gettime");
		exit(125);
	}
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *log = "/dev/null";
	long long t0, t1;
	int i = 1, fd, status, rss = 0;
	struct rusage ru;
	pid_t pid;

	for (;;) {
		if (i + 1 < argc && strcmp(argv[i], "-o") == 0) {
			log = argv[i + 1];
			i += 2;
		} else if (i < argc && strcmp(argv[i], "-r") == 0) {
			rss = 1;
			i++;
		} else {
			break;
		}
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		fputs("usage: timeit [-o LOG] [-r] [--] COMMAND [ARG...]\n", stderr);
		return 129;
	}
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "timeit: cannot open '%s': %s\n", log, strerror(errno));
		return 125;
	}
	fflush(stdout);

	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("timeit: fork");
		return 125;
	}
	if (pid == 0) {
		if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		close(fd);
		execvp(argv[i], argv + i);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("timeit: waitpid");
			return 125;
		}
	}
	t1 = now_ns();
	close(fd);

	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	if (WEXITSTATUS(status) != 0)
		return WEXITSTATUS(status);
	if (!rss) {
		printf("%lld\n", t1 - t0);
		return 0;
	}
	if (getrusage(RUSAGE_CHILDREN, &ru) != 0) {
		perror("timeit: getrusage");
		return 125;
	}
	printf("%lld %ld\n", t1 - t0, ru.ru_maxrss);
	return 0;
}

/*
 * appender: WRITERS processes append EVENTS events each to one trace file,
 * through common/trace.c's trace_append(), as `git agent trace --emit` and
 * every git-agent command do, but without starting a process per event.
 *
 *   bench/appender FILE WRITERS EVENTS
 *
 * Writer k (1..WRITERS) appends the events "bench.append" of the task
 * "bench-writer-<k>", each with a message and the field "seq" (1..EVENTS),
 * built the way --emit builds them.  The writers run at the same time; the
 * program exits 0 when every append succeeded, else 1 with a message.
 *
 * Built by `make bench/appender` (it links the common objects) for
 * bench/append.sh, which times it against shell loops and checks the file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

static long number(const char *s, const char *what)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 1 || n > 1000000)
		die("%s must be a number from 1 to 1000000, not '%s'", what, s);
	return n;
}

/* One writer's events; runs in its own process. */
static int append_events(const char *path, long writer, long events)
{
	char task[48], seq[24], *message;
	json_t *e;
	long i;

	snprintf(task, sizeof(task), "bench-writer-%02ld", writer);
	for (i = 1; i <= events; i++) {
		snprintf(seq, sizeof(seq), "%ld", i);
		message = xstrfmt("event %ld of writer %ld", i, writer);
		e = trace_event("bench.append", task);
		json_object_set_new(e, "emitted", json_true());
		json_object_set_new(e, "message", json_text(message));
		json_object_set_new(e, "seq", json_string(seq));
		free(message);
		if (trace_append(path, e) < 0) {
			error("writer %ld, event %ld: cannot append to '%s': %s", writer, i, path,
			      strerror(errno));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	long writers, events, k;
	int status, failed = 0;
	pid_t pid;

	if (argc != 4) {
		fputs("usage: appender FILE WRITERS EVENTS\n", stderr);
		return EXIT_USAGE;
	}
	writers = number(argv[2], "WRITERS");
	events = number(argv[3], "EVENTS");
	for (k = 1; k <= writers; k++) {
		pid = fork();
		if (pid < 0)
			die_errno("cannot start writer %ld", k);
		if (pid == 0)
			_exit(append_events(argv[1], k, events));
	}
	while ((pid = wait(&status)) > 0 || errno == EINTR)
		if (pid > 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			failed++;
	if (failed)
		die("%d of %ld writers failed", failed, writers);
	return 0;
}

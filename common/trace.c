/* The append-only event log: one JSON object per line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

json_t *json_text(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *j;

	if (!s)
		return json_null();
	if (utf8_valid(s, strlen(s)))
		return json_string(s);
	utf8_lossy(&sb, s);
	j = json_string(sb.buf ? sb.buf : "");
	sb_release(&sb);
	return j;
}

void json_print(json_t *value)
{
	json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(value);
}


json_t *trace_event(const char *event, const char *task)
{
	char ts[32];
	json_t *e = json_object();

	format_timestamp(ts);
	json_object_set_new(e, "v", json_integer(1));
	json_object_set_new(e, "ts", json_string(ts));
	json_object_set_new(e, "event", json_text(event));
	if (task)
		json_object_set_new(e, "task", json_text(task));
	return e;
}

/*
 * O_APPEND puts every write at the end; the lock keeps two writers' lines
 * (and our cut-back below) from interleaving.
 */
int trace_append(const char *path, json_t *event)
{
	char *line = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct strbuf buf = STRBUF_INIT;
	struct stat st;
	int fd = -1, saved, ret = -1;

	json_decref(event);
	if (!line) {
		errno = EINVAL;
		return -1;
	}
	mkdir_for(path, 0777);	/* open() below reports what matters */

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		goto done;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			goto done;
	if (fstat(fd, &st) < 0)
		goto done;
	/* A writer killed mid-line left no newline: start ours on a new line. */
	if (st.st_size > 0) {
		char last = '\n';

		if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
			sb_addch(&buf, '\n');
	}
	sb_adds(&buf, line);
	sb_addch(&buf, '\n');
	if (write_all(fd, buf.buf, buf.len) < 0) {
		saved = errno;
		/* Cut back whatever part of the line made it to the file. */
		if (ftruncate(fd, st.st_size) < 0) {
			/* the error we report is the write's */
		}
		errno = saved;
		goto done;
	}
	ret = 0;
done:
	saved = errno;
	if (fd >= 0)
		close(fd);	/* also releases the lock */
	free(line);
	sb_release(&buf);
	errno = saved;
	return ret;
}

void trace_log(const struct agent_repo *r, json_t *event)
{
	if (trace_append(r->config.trace, event) < 0)
		warning("cannot append to the trace '%s': %s", r->config.trace,
			strerror(errno));
}

void trace_log_or_die(const struct agent_repo *r, json_t *event)
{
	if (trace_append(r->config.trace, event) < 0)
		die_errno("cannot append to the trace '%s'", esc(r->config.trace));
}

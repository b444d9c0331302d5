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

void json_write_stdout(const char *text, size_t len, int terminal)
{
	if (terminal) {
		struct strbuf safe = STRBUF_INIT;

		escape_json_for_terminal(&safe, text, len);
		if (safe.len)
			fwrite(safe.buf, 1, safe.len, stdout);
		sb_release(&safe);
	} else {
		fwrite(text, 1, len, stdout);
	}
	putchar('\n');
}

void json_print(json_t *value)
{
	char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (!text)
		die("cannot encode the JSON output");
	json_write_stdout(text, strlen(text), isatty(STDOUT_FILENO));
	free(text);
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

/* Where the longest string of an event is: a member, or an item of an array member. */
struct string_slot {
	json_t *parent;
	const char *key;	/* NULL: item index of an array */
	size_t index, len;	/* len: its room in the line */
};

/* The room a string takes in a line: controls are six bytes there (\u001b), quotes two. */
static size_t encoded_length(json_t *value)
{
	const unsigned char *p = (const unsigned char *)json_string_value(value);
	size_t len = json_string_length(value), n = 0, i;

	for (i = 0; i < len; i++)
		n += p[i] < 0x20 ? 6 : p[i] == '"' || p[i] == '\\' ? 2 : 1;
	return n;
}

static void consider(struct string_slot *best, json_t *parent, const char *key, size_t index,
		     json_t *value)
{
	size_t len;

	if (json_is_string(value) && (len = encoded_length(value)) > best->len) {
		best->parent = parent;
		best->key = key;
		best->index = index;
		best->len = len;
	}
}

/* Replaces the longest string with its first half (whole characters) and "...". */
static int cut_longest_string(json_t *event)
{
	struct string_slot best = { NULL, NULL, 0, 0 };
	const char *key, *text;
	json_t *value, *item, *cut;
	size_t i, len;

	json_object_foreach(event, key, value) {
		consider(&best, event, key, 0, value);
		json_array_foreach(value, i, item)
			consider(&best, value, NULL, i, item);
	}
	if (best.len < 64)
		return -1;
	value = best.key ? json_object_get(best.parent, best.key) : json_array_get(best.parent, best.index);
	text = json_string_value(value);
	for (len = json_string_length(value) / 2; len && (text[len] & 0xc0) == 0x80; len--)
		;	/* not inside a UTF-8 sequence */
	{
		char *shorter = xstrfmt("%.*s...", (int)len, text);

		cut = json_string(shorter);
		free(shorter);
	}
	if (best.key)
		json_object_set_new(best.parent, best.key, cut);
	else
		json_array_set_new(best.parent, best.index, cut);
	return 0;
}

/*
 * The event as one line. Readers skip lines longer than TRACE_MAX_LINE, so
 * an event that would make one (a title of many words, a long request) has
 * its longest strings cut until it fits, and says so with "truncated".
 */
static char *event_line(json_t *event)
{
	char *line = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);

	while (line && strlen(line) > TRACE_MAX_LINE) {
		free(line);
		if (cut_longest_string(event) < 0) {
			errno = EMSGSIZE;
			return NULL;
		}
		json_object_set_new(event, "truncated", json_true());
		line = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
	}
	if (!line)
		errno = EINVAL;
	return line;
}

/*
 * O_APPEND puts every write at the end; the lock keeps two writers' lines
 * (and our cut-back below) from interleaving.
 */
int trace_append(const char *path, json_t *event)
{
	char *line = event_line(event);
	struct strbuf buf = STRBUF_INIT;
	struct stat st;
	int fd = -1, saved, ret = -1;

	json_decref(event);
	if (!line)
		return -1;
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

/*
 * The trace line reader and the trace command's filter: event_scan() on one
 * line, then json_span_text(), json_span_int() and parse_event_time() on
 * what it found, then event_filter_match() as `git agent trace --task
 * --event --since --until --grep` runs it.
 *
 * The input is a filter and a line: up to the first newline the filter, as
 * tab-separated fields (task globs, event globs, grep text, since, until,
 * flags; globs separated by 0x01; an empty field is an option not given;
 * flag 'a' is --agent given), and after it the line. An input without a
 * newline is a line alone.
 *
 * Properties:
 * - no crash, no leak, no read outside the line (it sits in a buffer of
 *   exactly its size);
 * - every span of an accepted line lies inside the line, a string's between
 *   its quotes, and "when" is parse_event_time() of "ts";
 * - jansson agrees: a line event_scan() accepts, json_loadb() accepts too,
 *   with the same value for every field event_scan() reports (type, text,
 *   integer); and a line jansson reads as an object with a "ts" time and an
 *   "event" string, event_scan() accepts. Exclusions, where jansson departs
 *   from RFC 8259: it refuses numbers beyond 64 bits
 *   (json_error_numeric_overflow) and "\u0000" in a key
 *   (json_error_null_byte_in_key), and it lets a raw NUL byte pass between
 *   tokens (json_loadb("{\"a\":1\0}") succeeds), where event_scan() says
 *   "contains a NUL byte"; and nesting deeper than event_scan's 128 levels,
 *   which it refuses on purpose;
 * - the filter matches exactly when a reference written here on jansson's
 *   tree matches; and a line it matches holds one of the needles, the text
 *   the trace command searches for to skip lines unread.
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <limits.h>

#include "fuzz.h"

#define NOW 1795255200000LL	/* 2026-11-21T10:00:00Z: a fixed now for ages */
#define MAX_DEPTH 128

static const char *const field_names[] = {
	"ts", "event", "task", "agent", "branch", "emitted", "round", "insertions", "deletions",
	"mergeable",
};

static const struct json_span *field_span(const struct event_line *ev, size_t i)
{
	const struct json_span *spans[] = {
		&ev->ts, &ev->event, &ev->task, &ev->agent, &ev->branch, &ev->emitted, &ev->round,
		&ev->insertions, &ev->deletions, &ev->mergeable,
	};

	return spans[i];
}

static void check_inside(const char *line, size_t len, const struct json_span *s, const char *name)
{
	if (!s->type)
		return;
	fuzz_check(s->p >= line && s->len <= len && s->p + s->len <= line + len,
		   "\"%s\" lies outside the line", name);
	if (s->type == 's')
		fuzz_check(s->p > line && s->p[-1] == '"' && s->p + s->len < line + len &&
			   s->p[s->len] == '"', "\"%s\" is not between its quotes", name);
}

static size_t depth(json_t *j)
{
	size_t deepest = 0, d, i;
	const char *key;
	json_t *v;

	if (json_is_object(j)) {
		json_object_foreach(j, key, v)
			if ((d = depth(v)) > deepest)
				deepest = d;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if ((d = depth(v)) > deepest)
				deepest = d;
	} else {
		return 0;
	}
	return deepest + 1;
}

/* The same field as jansson read it. */
static void check_field(const char *line, size_t len, const struct json_span *s, json_t *j,
			const char *name, struct strbuf *tmp)
{
	static const char types[] = { [JSON_OBJECT] = '{', [JSON_ARRAY] = '[',
				      [JSON_STRING] = 's', [JSON_INTEGER] = 'n', [JSON_REAL] = 'n',
				      [JSON_TRUE] = 't', [JSON_FALSE] = 'f', [JSON_NULL] = 'z' };
#define shown fuzz_show(line, len)	/* worked out only when a check fails */
	if (!j) {
		fuzz_check(!s->type, "'%s': \"%s\" found, jansson has none", shown, name);
		return;
	}
	fuzz_check(s->type == types[json_typeof(j)], "'%s': \"%s\" of type '%c', jansson's %d",
		   shown, name, s->type ? s->type : '0', (int)json_typeof(j));
	if (json_is_string(j)) {
		json_span_text(s, tmp);
		fuzz_check(tmp->len == json_string_length(j) &&
			   (!tmp->len || !memcmp(tmp->buf, json_string_value(j), tmp->len)),
			   "'%s': \"%s\" reads '%s', jansson '%s'", shown, name,
			   fuzz_show(tmp->buf ? tmp->buf : "", tmp->len),
			   fuzz_show(json_string_value(j), json_string_length(j)));
		if (!memchr(json_string_value(j), '\0', json_string_length(j)))
			fuzz_check(json_span_is(s, json_string_value(j)), "'%s': \"%s\" is not itself",
				   shown, name);
	} else {
		fuzz_check(!json_span_is(s, ""), "'%s': \"%s\", no string, is \"\"", shown, name);
	}
	if (json_is_integer(j)) {
		long long v = json_span_int(s, LLONG_MIN), want = json_integer_value(j);

		if (want > -99999999999999LL && want < 99999999999999LL)
			fuzz_check(v == want, "'%s': \"%s\" = %lld, jansson %lld", shown, name, v, want);
		else
			fuzz_check(v == want || v == LLONG_MIN, "'%s': \"%s\" = %lld, jansson %lld",
				   shown, name, v, want);
	} else {
		fuzz_check(json_span_int(s, -42) == -42, "'%s': \"%s\" is no integer but reads as one",
			   shown, name);
	}
#undef shown
}

/* Whether any string in j holds text: --grep, on jansson's tree. */
static int any_string_holds(json_t *j, const char *text)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_string(j))
		return memmem(json_string_value(j), json_string_length(j), text, strlen(text)) != NULL;
	if (json_is_object(j))
		json_object_foreach(j, key, v)
			if (any_string_holds(v, text))
				return 1;
	if (json_is_array(j))
		json_array_foreach(j, i, v)
			if (any_string_holds(v, text))
				return 1;
	return 0;
}

static int any_glob_matches(const struct strlist *globs, json_t *j)
{
	size_t i;

	if (!json_is_string(j) || strlen(json_string_value(j)) != json_string_length(j))
		return 0;	/* a name with a NUL in it matches no glob */
	for (i = 0; i < globs->nr; i++)
		if (!fnmatch(globs->items[i], json_string_value(j), 0))
			return 1;
	return 0;
}

static int reference_match(const struct event_filter *f, json_t *root, long long when)
{
	if (f->tasks.nr && !any_glob_matches(&f->tasks, json_object_get(root, "task")))
		return 0;
	if (f->events.nr && !any_glob_matches(&f->events, json_object_get(root, "event")))
		return 0;
	if ((f->since_set && when < f->since) || (f->until_set && when > f->until))
		return 0;
	return !f->grep || any_string_holds(root, f->grep);
}

struct filter_spec {
	struct event_filter filter;
	char *grep;
	int by_agent;
};

static void split_globs(struct strlist *out, const char *field)
{
	const uint8_t *p = (const uint8_t *)field;
	size_t n = strlen(field);

	while (n) {
		char *glob = fuzz_take(&p, &n, 0x01);

		strlist_push(out, glob);
		free(glob);
	}
}

static void read_spec(struct filter_spec *spec, const char *text)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t n = strlen(text);
	char *fields[6];
	size_t i;

	memset(spec, 0, sizeof(*spec));
	for (i = 0; i < 6; i++)
		fields[i] = fuzz_take(&p, &n, '\t');
	split_globs(&spec->filter.tasks, fields[0]);
	split_globs(&spec->filter.events, fields[1]);
	if (*fields[2])
		spec->filter.grep = spec->grep = xstrdup(fields[2]);
	spec->filter.since_set = *fields[3] && !parse_when(fields[3], NOW, 0, &spec->filter.since);
	spec->filter.until_set = *fields[4] && !parse_when(fields[4], NOW, 1, &spec->filter.until);
	spec->by_agent = strchr(fields[5], 'a') != NULL;
	event_filter_needles(&spec->filter, spec->by_agent);
	for (i = 0; i < 6; i++)
		free(fields[i]);
}

static void release_spec(struct filter_spec *spec)
{
	strlist_clear(&spec->filter.tasks);
	strlist_clear(&spec->filter.events);
	strlist_clear(&spec->filter.needles);
	free(spec->grep);
}

static void check_filter(const struct filter_spec *spec, const char *line, size_t len,
			 const struct event_line *ev, json_t *root, struct strbuf *tmp)
{
	const struct event_filter *f = &spec->filter;
	int match = event_filter_match(f, line, len, ev, tmp);
	size_t i;

	fuzz_check(match == reference_match(f, root, ev->when),
		   "'%s': the filter says %d, the reference %d", fuzz_show(line, len), match, !match);
	if (!match || !f->needles.nr)
		return;
	for (i = 0; i < f->needles.nr; i++)
		if (memmem(line, len, f->needles.items[i], strlen(f->needles.items[i])))
			return;
	fuzz_fail("'%s' matches, but holds no needle (the first: '%s'): the trace skips it",
		  fuzz_show(line, len), fuzz_show(f->needles.items[0], strlen(f->needles.items[0])));
}

static void check_line(const char *line, size_t len, const struct filter_spec *spec)
{
	struct strbuf tmp = STRBUF_INIT;
	struct event_line ev;
	const char *why = event_scan(line, len, &ev);
	json_error_t err;
	json_t *root = json_loadb(line, len, JSON_ALLOW_NUL, &err);
	size_t i;

	if (!why) {
		long long when;

		for (i = 0; i < sizeof(field_names) / sizeof(*field_names); i++)
			check_inside(line, len, field_span(&ev, i), field_names[i]);
		json_span_text(&ev.ts, &tmp);
		fuzz_check(!parse_event_time(tmp.buf ? tmp.buf : "", tmp.len, &when) &&
			   when == ev.when, "'%s': \"when\" is not the time of \"ts\"",
			   fuzz_show(line, len));
		if (!root) {
			enum json_error_code code = json_error_code(&err);

			fuzz_check(code == json_error_numeric_overflow ||
				   code == json_error_null_byte_in_key,
				   "'%s' is an event, but jansson says: %s", fuzz_show(line, len),
				   err.text);
			/* An integer beyond 64 bits is still an event: --grep too must see its text. */
			root = json_loadb(line, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
			if (root)
				check_filter(spec, line, len, &ev, root, &tmp);
			goto done;
		}
		for (i = 0; i < sizeof(field_names) / sizeof(*field_names); i++)
			check_field(line, len, field_span(&ev, i), json_object_get(root, field_names[i]),
				    field_names[i], &tmp);
		check_filter(spec, line, len, &ev, root, &tmp);
	} else if (root && json_is_object(root) && depth(root) <= MAX_DEPTH &&
		   !memchr(line, '\0', len)) {
		json_t *ts = json_object_get(root, "ts"), *event = json_object_get(root, "event");
		long long when;

		fuzz_check(!json_is_string(ts) || !json_is_string(event) ||
			   parse_event_time(json_string_value(ts), json_string_length(ts), &when),
			   "'%s' is an event to jansson, event_scan says: %s", fuzz_show(line, len), why);
	}
done:
	json_decref(root);
	sb_release(&tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct filter_spec spec;
	char *spec_text = nl ? fuzz_string(data, (size_t)(nl - data)) : xstrdup("");
	size_t len = nl ? size - (size_t)(nl + 1 - data) : size;
	/* Exactly the line's bytes, so a read past them is caught. */
	char *line = xmalloc(len ? len : 1);

	memcpy(line, nl ? nl + 1 : data, len);
	read_spec(&spec, spec_text);
	check_line(line, len, &spec);
	release_spec(&spec);
	free(line);
	free(spec_text);
	return 0;
}

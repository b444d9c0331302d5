/*
 * Reading the event log: one strict pass over a line checks it is a JSON
 * object in UTF-8 and finds the top-level fields the reader needs, without
 * building a tree; and the filters of `git agent trace` on what it read.
 * The fuzz targets and the unit tests call these too.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

/* Deeper than any event; jansson itself stops at 2048. */
#define MAX_DEPTH 128

struct scanner {
	const char *p, *end;
	int depth;
};

/* Bytes that end the fast run inside a string: quote, backslash, controls, non-ASCII. */
static unsigned char string_stop[256];

static void init_tables(void)
{
	static int done;
	int c;

	if (done)
		return;
	for (c = 0; c < 256; c++)
		string_stop[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
	done = 1;
}

static void skip_ws(struct scanner *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + (unsigned)d;
	}
	*out = v;
	return 0;
}

/* One UTF-8 sequence starting at p (a byte >= 0x80): its length, or 0. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], min, cp;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Whether none of 8 bytes ends a plain run (a control, quote, backslash or
 * non-ASCII byte), tested a word at a time as strlen() does.
 */
static int plain_word(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t x, quote, backslash;

	memcpy(&x, p, 8);
	if (x & highs)
		return 0;
	quote = x ^ (ones * '"');
	backslash = x ^ (ones * '\\');
	/* With no high bit set, a byte borrows into its own high bit only when it is below. */
	return !(((x - ones * 0x20) | (quote - ones) | (backslash - ones)) & highs);
}

/* A string at s->p (the opening quote); fills span with what is inside. */
static int scan_string(struct scanner *s, struct json_span *span)
{
	const unsigned char *p = (const unsigned char *)s->p + 1;
	const unsigned char *end = (const unsigned char *)s->end;
	int escaped = 0;

	span->p = (const char *)p;
	for (;;) {
		while (end - p >= 8 && plain_word(p))
			p += 8;
		while (p < end && !string_stop[*p])
			p++;
		if (p >= end || *p < 0x20)
			return -1;
		if (*p == '"')
			break;
		if (*p == '\\') {
			unsigned u, low;

			escaped = 1;
			if (++p >= end)
				return -1;
			if (strchr("\"\\/bfnrt", *p) && *p) {
				p++;
				continue;
			}
			if (*p != 'u' || end - p < 5 || hex4((const char *)p + 1, &u) < 0)
				return -1;
			p += 5;
			if (u >= 0xdc00 && u <= 0xdfff)
				return -1;	/* a low surrogate alone */
			if (u >= 0xd800 && u <= 0xdbff) {
				if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
				    hex4((const char *)p + 2, &low) < 0 || low < 0xdc00 || low > 0xdfff)
					return -1;
				p += 6;
			}
			continue;
		}
		{
			size_t n = utf8_sequence(p, end);

			if (!n)
				return -1;
			p += n;
		}
	}
	span->len = (size_t)((const char *)p - span->p);
	span->type = 's';
	span->escaped = escaped;
	s->p = (const char *)p + 1;
	return 0;
}

static int scan_digits(struct scanner *s)
{
	const char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start ? 0 : -1;
}

static int scan_number(struct scanner *s, struct json_span *span)
{
	span->p = s->p;
	if (*s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (scan_digits(s) < 0)
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (scan_digits(s) < 0)
			return -1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (scan_digits(s) < 0)
			return -1;
	}
	span->len = (size_t)(s->p - span->p);
	span->type = 'n';
	return 0;
}

static int scan_literal(struct scanner *s, const char *word, char type, struct json_span *span)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return -1;
	span->p = s->p;
	span->len = n;
	span->type = type;
	s->p += n;
	return 0;
}

static int scan_value(struct scanner *s, struct json_span *span, struct event_line *fields);

static struct json_span *field_slot(struct event_line *ev, const struct json_span *key);

/*
 * Our writer never escapes a key, but another may spell "task" as
 * "t\u0061sk": it is read as jq and jansson read it, so no line shows one
 * task to them and another to us.
 */
static struct json_span *escaped_field_slot(struct event_line *ev, const struct json_span *key)
{
	struct strbuf text = STRBUF_INIT;
	struct json_span plain = *key, *slot = NULL;

	if (key->len <= 6 * 10) {	/* no longer than "insertions" all in \uXXXX */
		json_span_text(key, &text);
		plain.p = text.buf;
		plain.len = text.len;
		plain.escaped = 0;
		if (plain.len)
			slot = field_slot(ev, &plain);
	}
	sb_release(&text);
	return slot;
}

/* Which field of an event a top-level key names, or NULL: on every key of every line. */
static struct json_span *field_slot(struct event_line *ev, const struct json_span *key)
{
	const char *k = key->p;

	if (key->escaped)
		return escaped_field_slot(ev, key);
	switch (key->len) {
	case 2:
		return !memcmp(k, "ts", 2) ? &ev->ts : NULL;
	case 3:
		return !memcmp(k, "pid", 3) ? &ev->pid : NULL;
	case 4:
		return !memcmp(k, "task", 4) ? &ev->task : NULL;
	case 5:
		return !memcmp(k, "event", 5) ? &ev->event : !memcmp(k, "agent", 5) ? &ev->agent :
			!memcmp(k, "round", 5) ? &ev->round : !memcmp(k, "class", 5) ? &ev->class : NULL;
	case 6:
		return !memcmp(k, "branch", 6) ? &ev->branch : !memcmp(k, "signal", 6) ?
			&ev->signal : NULL;
	case 7:
		return !memcmp(k, "emitted", 7) ? &ev->emitted : NULL;
	case 9:
		return !memcmp(k, "deletions", 9) ? &ev->deletions : !memcmp(k, "mergeable", 9) ?
			&ev->mergeable : !memcmp(k, "exit_code", 9) ? &ev->exit_code : NULL;
	case 10:
		return !memcmp(k, "insertions", 10) ? &ev->insertions : NULL;
	default:
		return NULL;
	}
}

static int scan_container(struct scanner *s, struct json_span *span, struct event_line *fields)
{
	char close = *s->p == '{' ? '}' : ']';
	int object = close == '}';

	if (++s->depth > MAX_DEPTH)
		return -1;
	span->p = s->p;
	span->type = *s->p;
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		goto done;
	}
	for (;;) {
		struct json_span key, value, *slot = NULL;

		if (object) {
			if (s->p >= s->end || *s->p != '"' || scan_string(s, &key) < 0)
				return -1;
			skip_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return -1;
			s->p++;
			skip_ws(s);
			if (fields)
				slot = field_slot(fields, &key);
		}
		if (scan_value(s, &value, NULL) < 0)
			return -1;
		if (slot)
			*slot = value;	/* a repeated key: the last one counts, as in jansson */
		skip_ws(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p == close) {
			s->p++;
			break;
		}
		if (*s->p != ',')
			return -1;
		s->p++;
		skip_ws(s);
	}
done:
	s->depth--;
	span->len = (size_t)(s->p - span->p);
	return 0;
}

static int scan_value(struct scanner *s, struct json_span *span, struct event_line *fields)
{
	memset(span, 0, sizeof(*span));
	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '"':
		return scan_string(s, span);
	case '{':
	case '[':
		return scan_container(s, span, *s->p == '{' ? fields : NULL);
	case 't':
		return scan_literal(s, "true", 't', span);
	case 'f':
		return scan_literal(s, "false", 'f', span);
	case 'n':
		return scan_literal(s, "null", 'z', span);
	default:
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
			return scan_number(s, span);
		return -1;
	}
}

/* The time of a "ts" string, escapes undone (ours has none). */
static int span_time(const struct json_span *ts, long long *out)
{
	struct strbuf text = STRBUF_INIT;
	int ret;

	if (!ts->escaped)
		return parse_event_time(ts->p, ts->len, out);
	json_span_text(ts, &text);
	ret = parse_event_time(text.buf ? text.buf : "", text.len, out);
	sb_release(&text);
	return ret;
}

const char *event_scan(const char *line, size_t len, struct event_line *out)
{
	struct scanner s = { line, line + len, 0 };
	struct json_span top;

	init_tables();
	memset(out, 0, sizeof(*out));
	skip_ws(&s);
	if (scan_value(&s, &top, out) < 0 || (skip_ws(&s), s.p != s.end)) {
		if (memchr(line, '\0', len))
			return "contains a NUL byte";
		if (!utf8_valid(line, len))
			return "not UTF-8";
		return "not valid JSON";
	}
	if (top.type != '{')
		return "not a JSON object";
	if (!out->ts.type)
		return "no \"ts\" field";
	if (!out->event.type)
		return "no \"event\" field";
	if (out->event.type != 's')
		return "\"event\" is not a string";
	if (out->ts.type != 's' || span_time(&out->ts, &out->when) < 0)
		return "\"ts\" is not a time";
	return NULL;
}

static void put_utf8(struct strbuf *out, unsigned cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80)
		b[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	else
		b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	sb_add(out, b, n);
}

void json_span_text(const struct json_span *s, struct strbuf *out)
{
	const char *p = s->p, *end = s->p + s->len;

	sb_reset(out);
	if (!s->escaped) {
		sb_add(out, p, s->len);
		return;
	}
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		unsigned u, low;

		if (!bs) {
			sb_add(out, p, (size_t)(end - p));
			break;
		}
		sb_add(out, p, (size_t)(bs - p));
		p = bs + 1;
		switch (*p) {
		case 'b': sb_addch(out, '\b'); break;
		case 'f': sb_addch(out, '\f'); break;
		case 'n': sb_addch(out, '\n'); break;
		case 'r': sb_addch(out, '\r'); break;
		case 't': sb_addch(out, '\t'); break;
		case 'u':
			hex4(p + 1, &u);	/* checked by the scan */
			p += 4;
			if (u >= 0xd800 && u <= 0xdbff) {
				hex4(p + 3, &low);
				u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
				p += 6;
			}
			put_utf8(out, u);
			break;
		default: sb_addch(out, *p); break;
		}
		p++;
	}
}

int json_span_is(const struct json_span *s, const char *text)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(text);
	int same;

	if (s->type != 's')
		return 0;
	if (!s->escaped)
		return s->len == n && !memcmp(s->p, text, n);
	json_span_text(s, &sb);
	same = sb.len == n && !memcmp(sb.buf, text, n);
	sb_release(&sb);
	return same;
}

long long json_span_int(const struct json_span *s, long long fallback)
{
	long long v = 0;
	size_t i = 0;
	int neg = 0;

	if (s->type != 'n')
		return fallback;
	if (s->p[0] == '-')
		neg = 1, i = 1;
	for (; i < s->len; i++) {
		if (s->p[i] < '0' || s->p[i] > '9' || v > 99999999999999LL)
			return fallback;	/* fractions, exponents, huge */
		v = v * 10 + (s->p[i] - '0');
	}
	return neg ? -v : v;
}

/* Filters */

/*
 * The ']' that ends the bracket expression opened at p, as fnmatch(3) reads
 * it, or NULL when it does not end (fnmatch then takes the '[' as itself).
 */
static const char *bracket_end(const char *p)
{
	p++;
	if (*p == '!' || *p == '^')
		p++;
	if (*p == ']')
		p++;	/* a ']' first is a member */
	for (; *p && *p != ']'; p++) {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *close = p + 2;

			while (*close && !(close[0] == p[1] && close[1] == ']'))
				close++;
			if (!*close)
				return NULL;
			p = close + 1;
		} else if (*p == '\\' && p[1]) {
			p++;
		}
	}
	return *p ? p : NULL;
}

/*
 * The longest run of plain text in a glob, which every match holds; NULL
 * when there is none, or when the glob is beyond this reading of it.
 * Bracket expressions, wildcards and escaped characters end a run.
 */
static char *glob_literal(const char *glob)
{
	const char *p = glob, *run = glob, *best = NULL;
	size_t best_len = 0;

	for (;; p++) {
		if (*p && !strchr("*?[\\", *p))
			continue;
		if ((size_t)(p - run) > best_len)
			best = run, best_len = (size_t)(p - run);
		if (!*p)
			break;
		if (*p == '[' && !(p = bracket_end(p)))
			return NULL;
		if (*p == '\\' && p[1])
			p++;
		run = p + 1;
	}
	return best_len ? xstrndup(best, best_len) : NULL;
}

/* Text that a JSON writer only escapes out of spite, and which a backslash needle covers. */
static int plain_json_text(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

/*
 * Lines that cannot match are skipped unparsed: a line can only hold a
 * task, event or text when it holds its literal text, or an escape that
 * might spell it.
 */
void event_filter_needles(struct event_filter *f, int by_agent)
{
	const struct strlist *from = f->tasks.nr ? &f->tasks :
		by_agent ? NULL : f->events.nr ? &f->events : NULL;
	size_t i;

	if (from) {
		for (i = 0; i < from->nr; i++) {
			char *lit = glob_literal(from->items[i]);

			if (!lit || !plain_json_text(lit)) {
				free(lit);
				strlist_clear(&f->needles);
				return;
			}
			strlist_push(&f->needles, lit);
			free(lit);
		}
	} else if (f->grep && !by_agent && *f->grep && plain_json_text(f->grep)) {
		strlist_push(&f->needles, f->grep);
	}
	if (f->needles.nr)
		strlist_push(&f->needles, "\\");
}

static int glob_any(const struct strlist *globs, const struct json_span *s, struct strbuf *tmp)
{
	size_t i;

	if (s->type != 's')
		return 0;
	json_span_text(s, tmp);
	if (!tmp->buf || memchr(tmp->buf, '\0', tmp->len))
		return 0;
	for (i = 0; i < globs->nr; i++)
		if (!fnmatch(globs->items[i], tmp->buf, 0))
			return 1;
	return 0;
}

static int json_holds_text(json_t *j, const char *text)
{
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_STRING:
		return !!memmem(json_string_value(j), json_string_length(j), text, strlen(text));
	case JSON_OBJECT:
		json_object_foreach(j, key, v)
			if (json_holds_text(v, text))
				return 1;
		return 0;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			if (json_holds_text(v, text))
				return 1;
		return 0;
	default:
		return 0;
	}
}

/*
 * Whether any string value in a line holds text, read without a tree: for
 * the lines event_scan() accepts and jansson cannot hold (a number beyond a
 * double, "\u0000" in a key). Unlike the tree, it also sees the values of
 * keys repeated later.
 */
static int values_hold(const char *line, size_t len, const char *text, struct strbuf *tmp)
{
	struct scanner s = { line, line + len, 0 };
	size_t n = strlen(text);

	while (s.p < s.end) {
		struct json_span str;

		if (*s.p != '"') {
			s.p++;	/* outside strings a quote only opens one */
			continue;
		}
		if (scan_string(&s, &str) < 0)
			return 0;
		skip_ws(&s);
		if (s.p < s.end && *s.p == ':')
			continue;	/* a key */
		json_span_text(&str, tmp);
		if (tmp->len && memmem(tmp->buf, tmp->len, text, n))
			return 1;
	}
	return 0;
}

/* --grep: on jansson's tree, where a repeated key's last value counts, as in jq. */
static int event_holds_text(const char *line, size_t len, const char *text, struct strbuf *tmp)
{
	json_error_t err;
	json_t *j = json_loadb(line, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
	int found;

	if (!j)
		return values_hold(line, len, text, tmp);
	found = json_holds_text(j, text);
	json_decref(j);
	return found;
}

int event_filter_match(const struct event_filter *f, const char *line, size_t len,
		       const struct event_line *ev, struct strbuf *tmp)
{
	if (f->tasks.nr && !glob_any(&f->tasks, &ev->task, tmp))
		return 0;
	if (f->events.nr && !glob_any(&f->events, &ev->event, tmp))
		return 0;
	if ((f->since_set && ev->when < f->since) || (f->until_set && ev->when > f->until))
		return 0;
	if (f->grep) {
		if (!memmem(line, len, f->grep, strlen(f->grep)) && !memchr(line, '\\', len))
			return 0;
		if (!event_holds_text(line, len, f->grep, tmp))
			return 0;
	}
	return 1;
}

/* Times */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static int digits(const char *p, const char *end, int n, int *out)
{
	int v = 0, i;

	if (end - p < n)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the four-digit years. */
#define FIRST_MS (-62167219200000LL)
#define LAST_MS 253402300799999LL

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int parse_iso_time(const char *s, size_t len, int local, long long *out, int *date_only)
{
	const char *p = s, *end = s + len;
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, zone = 0, has_zone = 0;

	*date_only = 0;
	if (digits(p, end, 4, &y) < 0 || end - p < 10 || p[4] != '-' ||
	    digits(p + 5, end, 2, &mo) < 0 || p[7] != '-' || digits(p + 8, end, 2, &d) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	p += 10;
	if (p == end) {
		*date_only = 1;
	} else {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return -1;
		p++;
		if (digits(p, end, 2, &h) < 0 || end - p < 5 || p[2] != ':' ||
		    digits(p + 3, end, 2, &mi) < 0 || h > 23 || mi > 59)
			return -1;
		p += 5;
		if (p < end && *p == ':') {
			if (digits(p + 1, end, 2, &sec) < 0 || sec > 60)
				return -1;
			p += 3;
			if (p < end && (*p == '.' || *p == ',')) {
				int scale = 100, any = 0;

				for (p++; p < end && *p >= '0' && *p <= '9'; p++, any = 1) {
					ms += (*p - '0') * scale;
					scale /= 10;
				}
				if (!any)
					return -1;
			}
		}
		if (p < end && (*p == 'Z' || *p == 'z')) {
			has_zone = 1;
			p++;
		} else if (p < end && (*p == '+' || *p == '-')) {
			int sign = *p == '-' ? -1 : 1, zh, zm = 0;

			if (digits(p + 1, end, 2, &zh) < 0 || zh > 23)
				return -1;
			p += 3;
			if (p < end && *p == ':')
				p++;
			if (p < end && (digits(p, end, 2, &zm) < 0 || zm > 59))
				return -1;
			if (p < end)
				p += 2;
			zone = sign * (zh * 60 + zm);
			has_zone = 1;
		}
		if (p != end)
			return -1;
	}
	if (has_zone || !local) {
		long long days = days_from_civil(y, (unsigned)mo, (unsigned)d);

		*out = ((days * 86400 + h * 3600 + mi * 60 + sec) - zone * 60LL) * 1000 + ms;
	} else {
		struct tm tm;
		time_t t;

		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
		tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec, tm.tm_isdst = -1;
		/* Only a failed mktime() leaves tm_wday alone: -1 is also the second before 1970. */
		tm.tm_wday = -1;
		t = mktime(&tm);
		if (tm.tm_wday < 0)
			return -1;
		*out = (long long)t * 1000 + ms;
	}
	/* A zone can carry a time past the years format_time_utc() writes back. */
	if (*out < FIRST_MS || *out > LAST_MS)
		return -1;
	return 0;
}

int parse_event_time(const char *s, size_t len, long long *out)
{
	int date_only, y, mo, d, h, mi, sec, ms;

	/* Ours, "2026-11-21T07:30:00.123Z", without the general parser. */
	if (len == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
	    s[16] == ':' && s[19] == '.' && s[23] == 'Z' &&
	    !digits(s, s + 4, 4, &y) && !digits(s + 5, s + 7, 2, &mo) &&
	    !digits(s + 8, s + 10, 2, &d) && !digits(s + 11, s + 13, 2, &h) &&
	    !digits(s + 14, s + 16, 2, &mi) && !digits(s + 17, s + 19, 2, &sec) &&
	    !digits(s + 20, s + 23, 3, &ms) && mo >= 1 && mo <= 12 && d >= 1 &&
	    d <= days_in_month(y, mo) && h < 24 && mi < 60 && sec <= 60) {
		long long days = days_from_civil(y, (unsigned)mo, (unsigned)d);

		*out = (days * 86400 + h * 3600 + mi * 60 + sec) * 1000 + ms;
		return *out > LAST_MS ? -1 : 0;	/* 9999-12-31T23:59:60 */
	}
	if (parse_iso_time(s, len, 0, out, &date_only) < 0 || date_only)
		return -1;
	return 0;
}

int parse_when(const char *arg, long long now, int until, long long *out)
{
	size_t len = strlen(arg);
	int date_only;

	if (len >= 2 && isdigit((unsigned char)arg[0]) && strspn(arg, "0123456789") == len - 1) {
		long long unit;

		switch (arg[len - 1]) {
		case 's': unit = 1000; break;
		case 'm': unit = 60 * 1000LL; break;
		case 'h': unit = 3600 * 1000LL; break;
		case 'd': unit = 86400 * 1000LL; break;
		case 'w': unit = 7 * 86400 * 1000LL; break;
		default: return -1;
		}
		if (len > 10)
			return -1;
		*out = now - atoll(arg) * unit;
		return 0;
	}
	if (parse_iso_time(arg, len, 1, out, &date_only) < 0)
		return -1;
	if (date_only && until) {
		/* The whole day: up to the last millisecond before the next one begins. */
		struct tm tm;
		time_t t = (time_t)(*out / 1000);

		localtime_r(&t, &tm);
		tm.tm_mday++;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		*out = (long long)mktime(&tm) * 1000 - 1;
	}
	return 0;
}

/*
 * The task list of `git agent spawn --from FILE`: the [task "<slug>"]
 * sections of an INI file, or the open features of a features.json.
 *
 * inih reads the INI file's "key = value" lines, but it cannot take a file
 * a person wrote as it is: it cuts section names at 50 bytes (`task "<slug>"`
 * is 55 for a 48-character slug), says nothing of a section without keys, takes
 * an indented line (git config's usual layout) as the continuation of the
 * previous value, and by default splits lines over 200 bytes and cuts
 * values at " ;". So our reader hands it one line at a time: it checks the
 * bytes, strips the indentation, and takes the section headers, comments
 * and blank lines itself. Debian's inih (the one this project builds
 * against) turns its build options into globals: they are set for the one
 * call and put back.
 *
 * jansson reads features.json but keeps no positions, so the line where
 * each feature starts is found by a second, simple scan of the valid text.
 */
#define INI_HANDLER_LINENO 1	/* the Debian library passes the line number */
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent.h"

/* A quoted value may escape every byte: its line may be twice as long. */
#define BATCH_LINE_MAX (2 * BATCH_VALUE_MAX + 1024)

/*
 * What is stripped around a line: all that inih's isspace() strips, so that
 * it never sees an indented line (a continuation) or a header we did not.
 */
#define BLANKS " \t\r\v\f"

/* How much of a bad name or value a message shows. */
#define SHOWN_MAX 60

/* ------------------------------------------------------------------ */
/* Shared by both formats                                              */

/*
 * s (len bytes) for a message: control characters and invalid UTF-8
 * escaped, cut to SHOWN_MAX bytes at a character boundary. Freed by the
 * caller.
 */
static char *shown(const char *s, size_t len)
{
	struct strbuf out = STRBUF_INIT;
	char *cut;
	size_t n = len;

	if (n > SHOWN_MAX) {
		n = SHOWN_MAX;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	cut = xstrndup(s, n);
	escape_control(&out, cut);
	if (n < len)
		sb_adds(&out, "...");
	free(cut);
	return sb_detach(&out);
}

/* Sets err to "<name>:<line>: <problem>" (or "<name>: ..." for line 0); -1. */
static int fail(struct strbuf *err, const char *name, int line, const char *fmt, ...)
	FORMAT(4, 5);
static int fail(struct strbuf *err, const char *name, int line, const char *fmt, ...)
{
	va_list ap;

	if (err->len)
		return -1;	/* the first problem is the one reported */
	escape_control(err, name);
	if (line > 0)
		sb_addf(err, ":%d", line);
	sb_adds(err, ": ");
	va_start(ap, fmt);
	sb_vaddf(err, fmt, ap);
	va_end(ap);
	return -1;
}

/* Rejects NUL bytes and invalid UTF-8 anywhere, naming the line. */
static int check_bytes(const char *name, const char *text, size_t len, struct strbuf *err)
{
	const char *p = text, *end = text + len, *eol;
	int line = 1;

	for (; p < end; p = eol + 1, line++) {
		eol = memchr(p, '\n', end - p);
		if (!eol)
			eol = end;
		if (memchr(p, '\0', eol - p))
			return fail(err, name, line, "a NUL byte: a task file is UTF-8 text");
		if (!utf8_valid(p, eol - p))
			return fail(err, name, line, "invalid UTF-8: a task file is UTF-8 text");
	}
	return 0;
}

static int is_one_of(const char *set, char c)
{
	return c && strchr(set, c);
}

static int is_blank_only(const char *s)
{
	return !s[strspn(s, " \t\r\n\v\f")];
}

/* A new task at the end of the list, all zero. */
static struct batch_task *add_task(struct batch *b)
{
	struct batch_task *t;

	if (b->nr == b->alloc) {
		b->alloc = b->alloc ? 2 * b->alloc : 8;
		b->tasks = xrealloc(b->tasks, b->alloc * sizeof(*b->tasks));
	}
	t = &b->tasks[b->nr++];
	memset(t, 0, sizeof(*t));
	return t;
}

static void task_clear(struct batch_task *t)
{
	free(t->slug);
	free(t->title);
	free(t->description);
	free(t->base);
	free(t->agent);
	strlist_clear(&t->scope);
	strlist_clear(&t->steps);
	strlist_clear(&t->checks);
}

void batch_release(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->nr; i++)
		task_clear(&b->tasks[i]);
	free(b->tasks);
	memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------ */
/* INI                                                                 */

enum batch_key { KEY_TITLE, KEY_DESCRIPTION, KEY_BASE, KEY_AGENT,
		 KEY_SCOPE, KEY_STEP, KEY_CHECK, KEY_NR };

static const char *key_names[KEY_NR] = {
	"title", "description", "base", "agent", "scope", "step", "check"
};

struct ini_reader {
	struct batch *b;
	const char *name;
	struct strbuf *err;
	const char *pos, *end;		/* the lines not read yet */
	int line;			/* the line handed to inih last */
	int key_line[KEY_NR];		/* where the current task set a single-valued key */
};

static int ini_fail(struct ini_reader *rd, const char *fmt, ...) FORMAT(2, 3);
static int ini_fail(struct ini_reader *rd, const char *fmt, ...)
{
	struct strbuf problem = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&problem, fmt, ap);
	va_end(ap);
	fail(rd->err, rd->name, rd->line, "%s", problem.buf);
	sb_release(&problem);
	return -1;
}

static struct batch_task *current_task(struct ini_reader *rd)
{
	return rd->b->nr ? &rd->b->tasks[rd->b->nr - 1] : NULL;
}

/* The key of a line, or -1 after the error: outside any section, or unknown. */
static int find_key(struct ini_reader *rd, const char *name, size_t len)
{
	char *what;
	int k;

	for (k = 0; k < KEY_NR; k++)
		if (strlen(key_names[k]) == len && !strncasecmp(name, key_names[k], len))
			break;
	if (k < KEY_NR && current_task(rd))
		return k;
	what = shown(name, len);
	if (!current_task(rd))
		ini_fail(rd, "key '%s' outside any [task \"<slug>\"] section", what);
	else
		ini_fail(rd, "unknown key '%s' in task '%s': the keys are title, "
			 "description, scope, step, check, base and agent",
			 what, current_task(rd)->slug);
	free(what);
	return -1;
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* The slug in `task "<slug>"` (p to end, inside the brackets), or NULL. */
static const char *header_slug(const char *p, const char *end, size_t *len)
{
	const char *slug, *close;

	p = skip_blanks(p, end);
	if (end - p < 5 || strncasecmp(p, "task", 4) || (p[4] != ' ' && p[4] != '\t'))
		return NULL;
	p = skip_blanks(p + 4, end);
	if (p == end || *p != '"')
		return NULL;
	slug = p + 1;
	if (!(close = memchr(slug, '"', end - slug)) || skip_blanks(close + 1, end) != end)
		return NULL;
	*len = close - slug;
	return slug;
}

/* A `[task "<slug>"]` line (s after the '[', len to the line's end): a new task. */
static int start_task(struct ini_reader *rd, const char *s, size_t len)
{
	struct batch *b = rd->b;
	const char *slug = NULL;
	size_t slug_len = 0, i;
	char *what;

	memset(rd->key_line, 0, sizeof(rd->key_line));
	if (len && s[len - 1] == ']')
		slug = header_slug(s, s + len - 1, &slug_len);
	what = shown(slug ? slug : s - 1, slug ? slug_len : len + 1);
	if (!len || s[len - 1] != ']')
		ini_fail(rd, "unterminated section header '%s': no closing ']'", what);
	else if (!slug)
		ini_fail(rd, "bad section '%s': expected [task \"<slug>\"]", what);
	else if (slug_len > SLUG_MAX || !slug_is_valid(what))
		ini_fail(rd, "invalid slug '%s': use lower-case letters, digits and single "
			 "dashes, at most %d characters", what, SLUG_MAX);
	for (i = 0; !rd->err->len && i < b->nr; i++)
		if (!strcmp(b->tasks[i].slug, what))
			ini_fail(rd, "duplicate task '%s' (first at line %d)", what,
				 b->tasks[i].line);
	if (!rd->err->len && b->nr == BATCH_TASKS_MAX)
		ini_fail(rd, "more than %d tasks", BATCH_TASKS_MAX);
	if (rd->err->len) {
		free(what);
		return -1;
	}
	add_task(b)->slug = what;
	b->tasks[b->nr - 1].line = rd->line;
	return 0;
}

/*
 * A line too long for inih: its value is longer than the limit whatever
 * the quoting, when it has a key at all.
 */
static void too_long(struct ini_reader *rd, const char *s, size_t len)
{
	size_t name_len = 0;
	int k;

	while (name_len < len && s[name_len] != '=' && s[name_len] != ':')
		name_len++;	/* where inih would split it */
	if (name_len >= len) {
		ini_fail(rd, "line is longer than %d bytes", BATCH_LINE_MAX);
		return;
	}
	while (name_len && (s[name_len - 1] == ' ' || s[name_len - 1] == '\t'))
		name_len--;
	if ((k = find_key(rd, s, name_len)) >= 0)
		ini_fail(rd, "'%s' is longer than %d bytes", key_names[k], BATCH_VALUE_MAX);
}

/*
 * inih's fgets: the next line, blanks and "\r" stripped at both ends, or an empty
 * line in place of what the reader took itself (headers, comments).
 * NULL at the end, and after an error so that inih stops.
 */
static char *next_line(char *buf, int size, void *stream)
{
	struct ini_reader *rd = stream;
	const char *s = rd->pos, *eol;
	size_t len;

	if (rd->err->len || s >= rd->end)
		return NULL;
	eol = memchr(s, '\n', rd->end - s);
	if (!eol)
		eol = rd->end;
	rd->pos = eol + 1;
	rd->line++;
	if (rd->line == 1 && eol - s >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	while (s < eol && is_one_of(BLANKS, *s))
		s++;
	while (eol > s && is_one_of(BLANKS, eol[-1]))
		eol--;
	len = eol - s;
	if (!len || *s == '#' || *s == ';') {
		len = 0;
	} else if (*s == '[') {
		if (start_task(rd, s + 1, len - 1) < 0)
			return NULL;
		len = 0;
	} else if (len > BATCH_LINE_MAX || len + 2 > (size_t)size) {
		too_long(rd, s, len);
		return NULL;
	}
	memcpy(buf, s, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	return buf;
}

static int unknown_escape(struct ini_reader *rd, int k, const char *c)
{
	size_t n = 1;
	char *what;

	while (n < 4 && ((unsigned char)c[n] & 0xc0) == 0x80)
		n++;	/* the whole character, shown escaped when it is a control */
	what = shown(c, n);
	ini_fail(rd, "unknown escape '\\%s' in quoted '%s': use \\n, \\t, \\\" or \\\\",
		 what, key_names[k]);
	free(what);
	return -1;
}

/* A value "in double quotes" with \n, \t, \" and \\ undone; other escapes are errors. */
static int unquote(struct ini_reader *rd, int k, const char *v, struct strbuf *out)
{
	size_t len = strlen(v), i;

	if (len < 2 || v[0] != '"' || v[len - 1] != '"') {
		sb_add(out, v, len);
		return 0;
	}
	for (i = 1; i < len - 1; i++) {
		char c = v[i];

		if (c == '"')
			return ini_fail(rd, "quoted '%s' has a '\"' inside: write it as \\\"",
					key_names[k]);
		if (c == '\\') {
			c = v[++i];
			if (i == len - 1)
				return ini_fail(rd, "quoted '%s' ends in a backslash: write it as \\\\",
						key_names[k]);
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c != '"' && c != '\\')
				return unknown_escape(rd, k, v + i);
		}
		sb_addch(out, c);
	}
	return 0;
}

static void set_value(struct ini_reader *rd, struct batch_task *t, int k, char *value)
{
	static const size_t single[] = {
		offsetof(struct batch_task, title), offsetof(struct batch_task, description),
		offsetof(struct batch_task, base), offsetof(struct batch_task, agent)
	};
	struct strlist *list = k == KEY_SCOPE ? &t->scope : k == KEY_STEP ? &t->steps : &t->checks;

	if (k >= KEY_SCOPE) {
		strlist_push(list, value);
		free(value);
	} else if (rd->key_line[k]) {
		ini_fail(rd, "'%s' given twice in task '%s' (first at line %d): only scope, "
			 "step and check take several values", key_names[k], t->slug,
			 rd->key_line[k]);
		free(value);
	} else {
		*(char **)((char *)t + single[k]) = value;
		rd->key_line[k] = rd->line;
	}
}

static int handle_key(void *user, const char *section, const char *name,
		      const char *value, int lineno)
{
	struct ini_reader *rd = user;
	struct strbuf decoded = STRBUF_INIT;
	int k;

	(void)section;		/* cut at 50 bytes: the reader keeps the task */
	(void)lineno;
	if (rd->err->len || (k = find_key(rd, name, strlen(name))) < 0)
		return 0;
	if (unquote(rd, k, value, &decoded) < 0) {
		sb_release(&decoded);
		return 0;
	}
	if (decoded.len > BATCH_VALUE_MAX)
		ini_fail(rd, "'%s' is longer than %d bytes", key_names[k], BATCH_VALUE_MAX);
	else if (is_blank_only(decoded.buf ? decoded.buf : ""))
		ini_fail(rd, "'%s' is empty", key_names[k]);
	else
		set_value(rd, current_task(rd), k, sb_detach(&decoded));
	sb_release(&decoded);
	return !rd->err->len;
}

struct inih_options {
	int max_line, initial_alloc;
	bool use_stack, allow_realloc, allow_multiline, allow_inline_comments, stop_on_first_error;
};

static void inih_options_get(struct inih_options *o)
{
	o->max_line = ini_max_line;
	o->initial_alloc = ini_initial_alloc;
	o->use_stack = ini_use_stack;
	o->allow_realloc = ini_allow_realloc;
	o->allow_multiline = ini_allow_multiline;
	o->allow_inline_comments = ini_allow_inline_comments;
	o->stop_on_first_error = ini_stop_on_first_error;
}

static void inih_options_set(const struct inih_options *o)
{
	ini_max_line = o->max_line;
	ini_initial_alloc = o->initial_alloc;
	ini_use_stack = o->use_stack;
	ini_allow_realloc = o->allow_realloc;
	ini_allow_multiline = o->allow_multiline;
	ini_allow_inline_comments = o->allow_inline_comments;
	ini_stop_on_first_error = o->stop_on_first_error;
}

static int parse_ini(struct batch *b, const char *name, const char *text, size_t len,
		     struct strbuf *err)
{
	/* One heap buffer for the longest line (inih wants 3 bytes more); values as written. */
	static const struct inih_options ours = {
		.max_line = BATCH_LINE_MAX + 3, .initial_alloc = BATCH_LINE_MAX + 3,
		.use_stack = false, .allow_realloc = false, .allow_multiline = false,
		.allow_inline_comments = false, .stop_on_first_error = true
	};
	struct ini_reader rd = { b, name, err, text, text + len, 0, { 0 } };
	struct inih_options saved;
	size_t i;
	int ret;

	inih_options_get(&saved);
	inih_options_set(&ours);
	ret = ini_parse_stream(next_line, &rd, handle_key, &rd);
	inih_options_set(&saved);
	if (ret == -2)
		die("out of memory");
	if (ret && !err->len)
		fail(err, name, ret, "expected 'key = value', a [task \"<slug>\"] header or a comment");
	if (!err->len && !b->nr)
		fail(err, name, 0, "no [task \"<slug>\"] section");
	for (i = 0; !err->len && i < b->nr; i++)
		if (!b->tasks[i].title)
			fail(err, name, b->tasks[i].line, "task '%s' has no title",
			     b->tasks[i].slug);
	return err->len ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* features.json                                                       */

/*
 * The lines where the nr elements of the features array start: jansson
 * keeps no positions, so the text (valid JSON) is scanned again. The array
 * is the document, or the value of the top-level object's "features".
 */
static void feature_lines(const char *text, size_t len, int *lines, size_t nr)
{
	const char *p, *end = text + len, *key = NULL;
	int line = 1, depth = 0, array_depth = -1;
	int in_object = 0, want_key = 0, features_next = 0, want_element = 0;
	size_t found = 0;

	for (p = text; p < end && found < nr; p++) {
		if (*p == '\n')
			line++;
		if (is_one_of(" \t\r\n", *p))
			continue;
		if (want_element && *p != ']') {
			lines[found++] = line;
			want_element = 0;
		}
		if (depth == 0 && *p == '{')
			in_object = want_key = 1;
		if (*p == '[' && (depth == 0 || features_next)) {
			array_depth = depth + 1;
			want_element = 1;
		}
		features_next = 0;
		if (*p == '"') {
			const char *start = p;

			for (p++; p < end && *p != '"'; p++)
				p += *p == '\\';
			if (in_object && depth == 1 && want_key)
				key = start;
			want_key = 0;
		} else if (*p == ':' && key) {
			json_t *k = json_loadb(key, p - key, JSON_DECODE_ANY, NULL);

			features_next = json_is_string(k) && !strcmp(json_string_value(k), "features");
			json_decref(k);
			key = NULL;
		} else if (*p == '[' || *p == '{') {
			depth++;
		} else if (*p == ']' || *p == '}') {
			if (depth-- == array_depth)
				break;
		} else if (*p == ',') {
			want_element = depth == array_depth;
			want_key = depth == 1;
		}
	}
	while (found < nr)
		lines[found++] = 0;
}

struct feature_reader {
	const char *name;
	struct strbuf *err;
	size_t index;			/* 1-based, for the message */
	int line;
};

static int feature_fail(struct feature_reader *fr, const char *fmt, ...) FORMAT(2, 3);
static int feature_fail(struct feature_reader *fr, const char *fmt, ...)
{
	struct strbuf problem = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&problem, fmt, ap);
	va_end(ap);
	fail(fr->err, fr->name, fr->line, "feature %zu: %s", fr->index, problem.buf);
	sb_release(&problem);
	return -1;
}

/* An optional string member (null counts as absent): 0, 1 when set, or -1. */
static int get_string(struct feature_reader *fr, json_t *f, const char *key,
		      const char **out)
{
	json_t *v = json_object_get(f, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return feature_fail(fr, "'%s' is not a string", key);
	if (json_string_length(v) > BATCH_VALUE_MAX)
		return feature_fail(fr, "'%s' is longer than %d bytes", key, BATCH_VALUE_MAX);
	if (is_blank_only(json_string_value(v)))
		return feature_fail(fr, "'%s' is empty", key);
	*out = json_string_value(v);
	return 1;
}

/* The id as text: a string, or an integer in decimal. */
static int get_id(struct feature_reader *fr, json_t *f, char **out)
{
	json_t *id = json_object_get(f, "id");
	const char *s;
	char *what;

	*out = NULL;
	if (json_is_integer(id)) {
		*out = xstrfmt("%" JSON_INTEGER_FORMAT, json_integer_value(id));
		return 0;
	}
	if (!id)
		return feature_fail(fr, "no 'id'");
	if (!json_is_string(id))
		return feature_fail(fr, "'id' is not a string or an integer");
	s = json_string_value(id);
	if (!s[strcspn(s, "abcdefghijklmnopqrstuvwxyz"
		       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")]) {
		what = shown(s, strlen(s));
		feature_fail(fr, "id '%s' has no ASCII letter or digit to make a slug of", what);
		free(what);
		return -1;
	}
	*out = xstrdup(s);
	return 0;
}

static int get_steps(struct feature_reader *fr, json_t *f, struct strlist *steps)
{
	json_t *list = json_object_get(f, "steps"), *step;
	size_t i;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return feature_fail(fr, "'steps' is not an array of strings");
	json_array_foreach(list, i, step) {
		if (!json_is_string(step))
			return feature_fail(fr, "step %zu is not a string", i + 1);
		if (json_string_length(step) > BATCH_VALUE_MAX)
			return feature_fail(fr, "step %zu is longer than %d bytes", i + 1,
					    BATCH_VALUE_MAX);
		if (is_blank_only(json_string_value(step)))
			return feature_fail(fr, "step %zu is empty", i + 1);
		strlist_push(steps, json_string_value(step));
	}
	return 0;
}

/*
 * One feature into t (its slug set by the caller from *id). Returns 1 when
 * it is open, 0 when its status skips it, -1 on error.
 */
static int read_feature(struct feature_reader *fr, json_t *f, char **id, struct batch_task *t)
{
	const char *name, *category, *description, *status;

	if (!json_is_object(f))
		return feature_fail(fr, "not an object");
	if (get_id(fr, f, id) < 0 ||
	    get_string(fr, f, "name", &name) < 0 ||
	    get_string(fr, f, "category", &category) < 0 ||
	    get_string(fr, f, "description", &description) < 0 ||
	    get_string(fr, f, "status", &status) < 0 ||
	    get_steps(fr, f, &t->steps) < 0)
		return -1;
	if (!name)
		return feature_fail(fr, "no 'name' (the task's title)");
	t->title = xstrdup(name);
	if (category && description)
		t->description = xstrfmt("Category: %s\n\n%s", category, description);
	else if (category)
		t->description = xstrfmt("Category: %s", category);
	else if (description)
		t->description = xstrdup(description);
	if (t->description && strlen(t->description) > BATCH_VALUE_MAX)
		return feature_fail(fr, "'description' is longer than %d bytes", BATCH_VALUE_MAX);
	return !status || !strcmp(status, "open");
}

struct feature_slug {
	char *slug;
	size_t index;
	int line;
};

static int compare_slugs(const void *a, const void *b)
{
	const struct feature_slug *x = a, *y = b;
	int cmp = strcmp(x->slug, y->slug);

	return cmp ? cmp : (x->index > y->index) - (x->index < y->index);
}

/* Every feature's slug, open or not, must be its own. */
static int check_duplicates(const char *name, struct feature_slug *slugs, size_t nr,
			    struct strbuf *err)
{
	const struct feature_slug *dup = NULL;
	size_t i;

	qsort(slugs, nr, sizeof(*slugs), compare_slugs);
	for (i = 1; i < nr; i++)
		if (!strcmp(slugs[i].slug, slugs[i - 1].slug) &&
		    (!dup || slugs[i].index < dup->index))
			dup = &slugs[i];
	if (!dup)
		return 0;
	for (i = 0; strcmp(slugs[i].slug, dup->slug); i++)
		;
	return fail(err, name, dup->line, "feature %zu: duplicate slug '%s': feature %zu "
		    "(line %d) has it too", dup->index, dup->slug, slugs[i].index, slugs[i].line);
}

static json_t *load_features(const char *name, const char *text, size_t len,
			     json_t **root, struct strbuf *err)
{
	json_error_t jerr;
	json_t *list;

	*root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*root) {
		/* jansson quotes the text near the problem: it may hold control bytes */
		fail(err, name, jerr.line > 0 ? jerr.line : 1, "invalid JSON: %s", esc(jerr.text));
		return NULL;
	}
	list = json_is_object(*root) ? json_object_get(*root, "features") : *root;
	if (!json_is_array(list)) {
		fail(err, name, 1, "expected an array of features, or an object with a "
		     "\"features\" array");
		return NULL;
	}
	return list;
}

static int parse_features(struct batch *b, const char *name, const char *text, size_t len,
			  struct strbuf *err)
{
	json_t *root, *list = load_features(name, text, len, &root, err), *f;
	struct feature_reader fr = { name, err, 0, 0 };
	struct feature_slug *slugs = NULL;
	size_t i, nr = 0, skipped = 0;
	int *lines = NULL;

	if (list) {
		nr = json_array_size(list);
		lines = xcalloc(nr + 1, sizeof(*lines));
		slugs = xcalloc(nr + 1, sizeof(*slugs));
		feature_lines(text, len, lines, nr);
	}
	for (i = 0; !err->len && i < nr; i++) {
		struct batch_task t = { 0 };
		char *id = NULL;
		int open;

		f = json_array_get(list, i);
		fr.index = i + 1;
		fr.line = lines[i];
		open = read_feature(&fr, f, &id, &t);
		if (open >= 0) {
			slugs[i].slug = slugify(id, SLUG_MAX);
			slugs[i].index = i + 1;
			slugs[i].line = lines[i];
		}
		if (open > 0 && b->nr == BATCH_TASKS_MAX)
			feature_fail(&fr, "more than %d open features", BATCH_TASKS_MAX);
		if (open > 0 && !err->len) {
			t.slug = xstrdup(slugs[i].slug);
			t.line = lines[i];
			*add_task(b) = t;
		} else {
			skipped += open == 0;
			task_clear(&t);
		}
		free(id);
	}
	if (!err->len)
		check_duplicates(name, slugs, nr, err);
	if (list && !err->len && !b->nr)
		fail(err, name, 0, nr ? "no open feature (%zu skipped by their status)" :
		     "no features", skipped);
	for (i = 0; i < nr; i++)
		free(slugs[i].slug);
	free(slugs);
	free(lines);
	json_decref(root);
	return err->len ? -1 : 0;
}

/* ------------------------------------------------------------------ */

/*
 * features.json by its name, or by its first character: '{', or '[' not
 * followed by a letter (an INI file starts "[task").
 */
static int is_json(const char *name, const char *text, size_t len)
{
	size_t n = strlen(name), i = 0;

	if (n >= 5 && !strcasecmp(name + n - 5, ".json"))
		return 1;
	while (i < len && is_one_of(" \t\r\n", text[i]))
		i++;
	if (i < len && text[i] == '{')
		return 1;
	if (i >= len || text[i] != '[')
		return 0;
	for (i++; i < len && is_one_of(" \t\r\n", text[i]); i++)
		;
	return i >= len || !((text[i] >= 'a' && text[i] <= 'z') ||
			     (text[i] >= 'A' && text[i] <= 'Z'));
}

int batch_parse(struct batch *b, const char *name, const char *text, size_t len,
		struct strbuf *err)
{
	int ret;

	memset(b, 0, sizeof(*b));
	sb_reset(err);
	if (check_bytes(name, text, len, err) < 0)
		return -1;
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3) && is_json(name, text + 3, len - 3)) {
		text += 3;	/* jansson takes no byte order mark */
		len -= 3;
	}
	if (is_json(name, text, len))
		ret = parse_features(b, name, text, len, err);
	else
		ret = parse_ini(b, name, text, len, err);
	if (ret < 0)
		batch_release(b);
	return ret;
}

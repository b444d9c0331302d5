/*
 * git agent trace: print, filter, follow and summarize the event log, and
 * --emit for agents and scripts to add to it.
 *
 * The log can hold a million events, so it is streamed through one buffer:
 * a filter's literal text is searched for across the whole buffer first, as
 * grep does, and only the lines that hold it are checked and parsed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static const char usage_text[] =
	"usage: git agent trace [<task>...] [--event <glob>] [--since <when>] [--until <when>]\n"
	"                       [--agent <name>] [--grep <text>] [-n <n>] [--json] [--follow]\n"
	"                       [--color[=<when>]] [--no-pager]\n"
	"   or: git agent trace --tasks [<task>...] [--agent <name>] [--json]\n"
	"   or: git agent trace --emit <event> [-m <text>] [--field <key>=<value>]... [--task <task>]\n"
	"\n"
	"    <task>...             only these tasks (shell globs allowed)\n"
	"    -e, --event <glob>    only these events (repeatable)\n"
	"    --since <when>        events at or after <when>: ISO-8601, or 30m, 2h, 3d, 1w ago\n"
	"    --until <when>        events at or before <when>\n"
	"    --agent <name>        only tasks of this agent (branch prefix)\n"
	"    --grep <text>         only events with <text> in a value\n"
	"    -n, --max-count <n>   only the last <n> events that match\n"
	"    --json                the matching lines as they are stored\n"
	"    -f, --follow          keep printing events as they are appended\n"
	"    --color[=<when>]      color the output: always, never or auto\n"
	"    --no-color            do not color the output\n"
	"    --no-pager            do not page the output\n"
	"    --tasks               one line per task: state, branch, age, +/-, verdict\n"
	"    --emit <event>        append an event for the current task\n"
	"    -m, --message <text>  the emitted event's message\n"
	"    --field <key>=<value> a field of the emitted event (repeatable)\n"
	"    --task <task>         the task to emit for (default: the current worktree's)\n";

/* Warnings about bad lines, then only a count. */
#define MAX_BAD_SHOWN 10
#define READ_SIZE (1024 * 1024)
#define FOLLOW_POLL_MS 100
#define MAX_EMIT_MESSAGE 65536

enum trace_mode { PRINT_EVENTS, SUMMARIZE_TASKS, EMIT_EVENT };

struct trace_options {
	enum trace_mode mode;
	struct strlist tasks, events, fields;
	const char *since, *until, *agent, *grep;
	long long max_count;		/* -1: all */
	int json, follow, pager, color;	/* color: -1 unset, 0 never, 1 always, 2 auto */
	const char *emit, *message, *emit_task;
};

/* Tasks as their events describe them: --tasks, and the agent of each for --agent. */
enum task_state { ST_NONE, ST_PLANNED, ST_RUNNING, ST_EXITED, ST_REVIEWED, ST_CHANGES,
		  ST_MERGED, ST_ABANDONED, ST_FAILED, ST_LOST };
static const char *state_names[] = { "-", "planned", "running", "exited", "reviewed",
				     "changes requested", "merged", "abandoned", "failed", "lost" };
static const char *failure_classes[] = { "rate-limit", "environment", "implementation" };

struct task_summary {
	const char *slug;		/* the table's key */
	const char *agent;		/* interned */
	char *branch;			/* NULL when it is <agent>/<slug> */
	const char *last_event;		/* interned */
	const char *verdict;		/* static text, or NULL */
	enum task_state state;
	long long first, last, events, round, insertions, deletions;
	int mergeable;			/* -1 unknown */
	int agent_looked_up, has_branch;
	/* The agent of spawn --run: started and not yet exited, and how it ended. */
	int agent_running, pid, exit_code;	/* exit_code -1: none or a signal */
	char signal[12];
	const char *failure_class;	/* one of failure_classes, or NULL */
};

/* A hash table from bytes to a pointer: tasks by slug, event names. */
struct table_slot {
	char *key;
	size_t len;
	void *value;
};

struct table {
	struct table_slot *slots;
	size_t cap, nr;
};

struct filter {
	struct event_filter match;	/* all but --agent */
	const char *agent;
	const char **next;		/* per needle: where it next occurs in the buffer */
};

struct reader {
	const char *path;
	int fd;
	char *buf;
	size_t len, pos;		/* bytes in buf; the start of the unread line */
	off_t offset;			/* of buf[len] in the file */
	off_t limit;			/* read no further (-1: to the end) */
	unsigned long long line;	/* the number of the line at buf[pos] */
	int discarding;			/* inside an over-long line */
	int quiet;			/* count bad lines without warning */
	unsigned long long bad;
	dev_t dev;
	ino_t ino;
};

struct trace {
	struct agent_repo repo;
	struct trace_options *o;
	struct filter filter;
	struct reader rd;
	struct table tasks, names, agents;
	struct task_summary **order;	/* tasks by first appearance */
	size_t order_nr, order_alloc;
	int color, tty;
	long long matched, skip;	/* -n: matches seen, matches to pass over */
	int counting;			/* -n's first pass: count the matches only */
	struct strbuf text, line;
	struct child pager;
};

/* Options */

enum {
	OPT_SINCE = 256, OPT_UNTIL, OPT_AGENT, OPT_GREP, OPT_JSON, OPT_COLOR, OPT_NO_COLOR,
	OPT_NO_PAGER, OPT_TASKS, OPT_EMIT, OPT_FIELD, OPT_TASK
};

static long long parse_count(const char *arg)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(arg, &end, 10);
	if (!*arg || *end || errno || n < 0) {
		error("-n needs a count of 0 or more, not '%s'", esc(arg));
		usage_die(usage_text);
	}
	return n;
}

static int parse_color(const char *arg)
{
	if (!arg || !strcmp(arg, "always"))
		return 1;
	if (!strcmp(arg, "never"))
		return 0;
	if (!strcmp(arg, "auto"))
		return 2;
	error("--color takes always, never or auto, not '%s'", esc(arg));
	usage_die(usage_text);
}

static void check_mode_options(struct trace_options *o)
{
	if (o->mode == EMIT_EVENT) {
		if (o->tasks.nr || o->events.nr || o->since || o->until || o->agent || o->grep ||
		    o->max_count >= 0 || o->json || o->follow) {
			error("--emit takes only -m, --field and --task");
			usage_die(usage_text);
		}
		return;
	}
	if (o->message || o->fields.nr || o->emit_task) {
		error("-m, --field and --task only work with --emit");
		usage_die(usage_text);
	}
	if (o->mode == SUMMARIZE_TASKS &&
	    (o->events.nr || o->since || o->until || o->grep || o->max_count >= 0 || o->follow)) {
		error("--tasks takes only task names, --agent and --json");
		usage_die(usage_text);
	}
}

static void parse_options(int argc, char **argv, struct trace_options *o)
{
	static const struct option longopts[] = {
		{ "event", required_argument, NULL, 'e' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "grep", required_argument, NULL, OPT_GREP },
		{ "max-count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "follow", no_argument, NULL, 'f' },
		{ "color", optional_argument, NULL, OPT_COLOR },
		{ "no-color", no_argument, NULL, OPT_NO_COLOR },
		{ "no-pager", no_argument, NULL, OPT_NO_PAGER },
		{ "tasks", no_argument, NULL, OPT_TASKS },
		{ "emit", required_argument, NULL, OPT_EMIT },
		{ "message", required_argument, NULL, 'm' },
		{ "field", required_argument, NULL, OPT_FIELD },
		{ "task", required_argument, NULL, OPT_TASK },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->max_count = -1;
	o->pager = 1;
	o->color = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":he:n:fm:", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': strlist_push(&o->events, optarg); break;
		case OPT_SINCE: o->since = optarg; break;
		case OPT_UNTIL: o->until = optarg; break;
		case OPT_AGENT: o->agent = optarg; break;
		case OPT_GREP: o->grep = optarg; break;
		case 'n': o->max_count = parse_count(optarg); break;
		case OPT_JSON: o->json = 1; break;
		case 'f': o->follow = 1; break;
		case OPT_COLOR: o->color = parse_color(optarg); break;
		case OPT_NO_COLOR: o->color = 0; break;
		case OPT_NO_PAGER: o->pager = 0; break;
		case OPT_TASKS: o->mode = SUMMARIZE_TASKS; break;
		case OPT_EMIT: o->mode = EMIT_EVENT; o->emit = optarg; break;
		case 'm': o->message = optarg; break;
		case OPT_FIELD: strlist_push(&o->fields, optarg); break;
		case OPT_TASK: o->emit_task = optarg; break;
		case 'H': show_man_page("trace");
		default: usage_getopt(c, usage_text, argv[optind - 1]);
		}
	}
	while (optind < argc)
		strlist_push(&o->tasks, argv[optind++]);
	check_mode_options(o);
}

/* The hash table */

static size_t hash_bytes(const char *p, size_t len)
{
	size_t h = 14695981039346656037ULL & (size_t)-1;

	while (len--)
		h = (h ^ (unsigned char)*p++) * (size_t)1099511628211ULL;
	return h;
}

static struct table_slot *table_find(struct table *t, const char *key, size_t len)
{
	size_t i;

	if (!t->cap)
		return NULL;
	for (i = hash_bytes(key, len) & (t->cap - 1); t->slots[i].key; i = (i + 1) & (t->cap - 1))
		if (t->slots[i].len == len && !memcmp(t->slots[i].key, key, len))
			return &t->slots[i];
	return NULL;
}

static struct table_slot *table_add(struct table *t, const char *key, size_t len)
{
	struct table_slot *slot;
	size_t i;

	if ((slot = table_find(t, key, len)))
		return slot;
	if ((t->nr + 1) * 4 > t->cap * 3) {
		struct table old = *t;

		t->cap = old.cap ? old.cap * 2 : 256;
		t->slots = xcalloc(t->cap, sizeof(*t->slots));
		for (i = 0; i < old.cap; i++) {
			size_t j;

			if (!old.slots[i].key)
				continue;
			j = hash_bytes(old.slots[i].key, old.slots[i].len) & (t->cap - 1);
			while (t->slots[j].key)
				j = (j + 1) & (t->cap - 1);
			t->slots[j] = old.slots[i];
		}
		free(old.slots);
	}
	i = hash_bytes(key, len) & (t->cap - 1);
	while (t->slots[i].key)
		i = (i + 1) & (t->cap - 1);
	slot = &t->slots[i];
	slot->key = xmalloc(len + 1);
	memcpy(slot->key, key, len);
	slot->key[len] = '\0';
	slot->len = len;
	t->nr++;
	return slot;
}

static void table_clear(struct table *t, int free_values)
{
	size_t i;

	for (i = 0; i < t->cap; i++) {
		free(t->slots[i].key);
		if (free_values && t->slots[i].value) {
			struct task_summary *ts = t->slots[i].value;

			free(ts->branch);
			free(ts);
		}
	}
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* Filters */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --since or --until: whether it was given; a bad one is a usage error. */
static int read_when(const char *arg, const char *option, int until, long long *out)
{
	if (!arg)
		return 0;
	if (parse_when(arg, now_ms(), until, out) < 0) {
		error("cannot read %s '%s': use ISO-8601 (2026-11-21, 2026-11-21T09:30, "
		      "2026-11-21T09:30:00Z) or an age (30m, 2h, 3d, 1w)", option, esc(arg));
		usage_die(usage_text);
	}
	return 1;
}

static void set_up_filter(struct filter *f, const struct trace_options *o)
{
	struct event_filter *m = &f->match;

	memset(f, 0, sizeof(*f));
	m->tasks = o->tasks;
	m->events = o->events;
	m->grep = o->grep;
	m->since_set = read_when(o->since, "--since", 0, &m->since);
	m->until_set = read_when(o->until, "--until", 1, &m->until);
	f->agent = o->agent;
	event_filter_needles(m, o->agent != NULL);
	if (m->needles.nr)
		f->next = xcalloc(m->needles.nr, sizeof(*f->next));
}

/* Tasks */

static struct task_summary *task_of(struct trace *tr, const struct json_span *slug)
{
	struct table_slot *slot;
	struct task_summary *ts;

	if (slug->type != 's' || !slug->len)
		return NULL;
	if (!slug->escaped && (slot = table_find(&tr->tasks, slug->p, slug->len)))
		return slot->value;
	json_span_text(slug, &tr->text);
	if (memchr(tr->text.buf, '\0', tr->text.len))
		return NULL;	/* \u0000 in a name: no task of ours, nor one to show as "t" */
	slot = table_add(&tr->tasks, tr->text.buf, tr->text.len);
	if (slot->value)
		return slot->value;
	ts = xcalloc(1, sizeof(*ts));
	ts->slug = slot->key;
	ts->mergeable = -1;
	ts->round = ts->insertions = ts->deletions = -1;
	ts->exit_code = -1;
	slot->value = ts;
	if (tr->order_nr == tr->order_alloc) {
		tr->order_alloc = tr->order_alloc ? tr->order_alloc * 2 : 256;
		tr->order = xrealloc(tr->order, tr->order_alloc * sizeof(*tr->order));
	}
	tr->order[tr->order_nr++] = ts;
	return ts;
}

static const char *intern_agent(struct trace *tr, const char *name, size_t len)
{
	return table_add(&tr->agents, name, len)->key;
}

/* Whether branch is <agent>/<slug>, the branch spawn names. */
static int usual_branch(const char *agent, const char *slug, const char *branch, size_t len)
{
	size_t a = strlen(agent), s = strlen(slug);

	return agent && len == a + 1 + s && !memcmp(branch, agent, a) && branch[a] == '/' &&
		!memcmp(branch + a + 1, slug, s);
}

static void learn_agent(struct trace *tr, struct task_summary *ts, const struct event_line *ev)
{
	struct strbuf *text = &tr->text;

	if (ev->emitted.type == 't')
		return;		/* an agent does not say who it is */
	if (ev->agent.type == 's') {
		json_span_text(&ev->agent, text);
		if (!ts->agent || strlen(ts->agent) != text->len || memcmp(ts->agent, text->buf, text->len))
			ts->agent = intern_agent(tr, text->buf ? text->buf : "", text->len);
	}
	if (ev->branch.type != 's')
		return;
	json_span_text(&ev->branch, text);
	if (!text->buf)
		return;
	if (!ts->agent) {	/* <agent>/<slug>: the agent is what comes before */
		size_t s = strlen(ts->slug);

		if (text->len > s + 1 && !strcmp(text->buf + text->len - s, ts->slug) &&
		    text->buf[text->len - s - 1] == '/')
			ts->agent = intern_agent(tr, text->buf, text->len - s - 1);
	}
	if (ts->agent && usual_branch(ts->agent, ts->slug, text->buf, text->len)) {
		free(ts->branch);
		ts->branch = NULL;
		ts->has_branch = 1;
	} else if (!ts->branch || strcmp(ts->branch, text->buf)) {
		free(ts->branch);
		ts->branch = xstrdup(text->buf);
		ts->has_branch = 1;
	}
}

/* The branch, spelled out: the caller frees it. */
static char *branch_of(const struct task_summary *ts)
{
	if (ts->branch)
		return xstrdup(ts->branch);
	return ts->has_branch ? xstrfmt("%s/%s", ts->agent, ts->slug) : NULL;
}

/* A task whose events never named its agent: its record does. */
/* The task record of a task the trace names; -1 when there is none to read. */
static int read_record(struct trace *tr, const char *slug, struct task *t)
{
	char *path;
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	int ret = -1;

	if (!slug_is_valid(slug))
		return -1;	/* no record path can be made of it */
	path = task_record_path(&tr->repo, slug);
	if (!sb_read_file(&text, path)) {
		ret = task_parse(t, text.buf ? text.buf : "", &err);
		if (ret < 0)
			task_release(t);	/* a record refused holds what was read of it */
	}
	sb_release(&text);
	sb_release(&err);
	free(path);
	return ret;
}

static const char *agent_of(struct trace *tr, struct task_summary *ts)
{
	struct task t;

	if (!ts->agent && !ts->agent_looked_up) {
		ts->agent_looked_up = 1;
		if (!read_record(tr, ts->slug, &t)) {
			ts->agent = intern_agent(tr, t.agent, strlen(t.agent));
			task_release(&t);
		}
	}
	return ts->agent;
}

/* What one of the tool's events does to its task. */
struct event_kind {
	const char *event;
	enum task_state state;		/* ST_NONE: leaves it */
	const char *verdict;		/* NULL: leaves it */
};

static const struct event_kind event_kinds[] = {
	{ "task.planned", ST_PLANNED, NULL }, { "worktree.created", ST_RUNNING, NULL },
	{ "agent.started", ST_RUNNING, NULL }, { "agent.exited", ST_EXITED, NULL },
	{ "setup.failed", ST_FAILED, NULL }, { "spawn.failed", ST_FAILED, NULL },
	{ "review.recorded", ST_REVIEWED, NULL }, { "verdict.changes", ST_CHANGES, "changes" },
	{ "verdict.merge", ST_NONE, "merge" }, { "verdict.abandon", ST_ABANDONED, "abandon" },
	{ "merge.refused", ST_NONE, "merge refused" }, { "merge.failed", ST_NONE, "merge failed" },
	{ "merge.done", ST_MERGED, "merged" },
};
static const struct event_kind other_event = { NULL, ST_NONE, NULL };

/* The event's name, kept once, and what it does. */
static const char *intern_event(struct trace *tr, const struct json_span *name,
				const struct event_kind **kind)
{
	struct table_slot *slot;
	size_t i;

	if (!name->escaped && (slot = table_find(&tr->names, name->p, name->len))) {
		*kind = slot->value;
		return slot->key;
	}
	json_span_text(name, &tr->text);
	slot = table_add(&tr->names, tr->text.buf ? tr->text.buf : "", tr->text.len);
	if (!slot->value) {
		slot->value = (void *)&other_event;
		for (i = 0; i < sizeof(event_kinds) / sizeof(*event_kinds); i++)
			if (!strcmp(slot->key, event_kinds[i].event))
				slot->value = (void *)&event_kinds[i];
	}
	*kind = slot->value;
	return slot->key;
}

/* How one of the tool's events moves a task on. */
static void apply_event(struct task_summary *ts, const struct event_kind *kind,
			const struct event_line *ev)
{
	if (kind->state != ST_NONE)
		ts->state = kind->state;
	if (kind->verdict)
		ts->verdict = kind->verdict;
	if (kind->state == ST_REVIEWED) {
		ts->verdict = NULL;	/* a new round awaits its verdict */
		ts->round = json_span_int(&ev->round, -1);
		ts->insertions = json_span_int(&ev->insertions, -1);
		ts->deletions = json_span_int(&ev->deletions, -1);
		ts->mergeable = ev->mergeable.type == 't' ? 1 : ev->mergeable.type == 'f' ? 0 : -1;
	}
}

/* agent.started and agent.exited: the pid, and how the agent ended. */
static void apply_agent_event(struct task_summary *ts, const struct event_kind *kind,
			      const struct event_line *ev)
{
	size_t i;

	ts->agent_running = kind->state == ST_RUNNING;
	ts->pid = json_span_int(&ev->pid, 0);
	ts->exit_code = -1;
	ts->signal[0] = '\0';
	ts->failure_class = NULL;
	if (ts->agent_running)
		return;
	ts->exit_code = json_span_int(&ev->exit_code, -1);
	if (ev->signal.type == 's' && !ev->signal.escaped && ev->signal.len < sizeof(ts->signal)) {
		memcpy(ts->signal, ev->signal.p, ev->signal.len);
		ts->signal[ev->signal.len] = '\0';
	}
	for (i = 0; i < sizeof(failure_classes) / sizeof(*failure_classes); i++)
		if (json_span_is(&ev->class, failure_classes[i]))
			ts->failure_class = failure_classes[i];
}

static void summarize_event(struct trace *tr, const struct event_line *ev)
{
	struct task_summary *ts = task_of(tr, &ev->task);
	const struct event_kind *kind;

	if (!ts)
		return;
	if (!ts->events++)
		ts->first = ev->when;
	ts->last = ev->when;
	ts->last_event = intern_event(tr, &ev->event, &kind);
	learn_agent(tr, ts, ev);
	if (ev->emitted.type != 't') {	/* an agent cannot move its own task on */
		apply_event(ts, kind, ev);
		if (kind->event && !strncmp(kind->event, "agent.", 6))
			apply_agent_event(ts, kind, ev);
	}
}

/* Output */

#define COLOR_RESET "\033[m"
#define COLOR_TIME "\033[33m"
#define COLOR_TASK "\033[1m"

static const char *event_color(const char *name, int emitted)
{
	size_t n = strlen(name);

	if (emitted)
		return "\033[35m";
	if ((n > 7 && !strcmp(name + n - 7, ".failed")) || !strcmp(name, "merge.refused"))
		return "\033[31m";
	if (!strncmp(name, "verdict.", 8))
		return "\033[36m";
	if ((n > 5 && !strcmp(name + n - 5, ".done")) || (n > 7 && !strcmp(name + n - 7, ".passed")) ||
	    !strcmp(name, "review.recorded"))
		return "\033[32m";
	return NULL;
}

static void add_colored(struct trace *tr, struct strbuf *out, const char *color, const char *text)
{
	if (tr->color && color)
		sb_addf(out, "%s%s%s", color, text, COLOR_RESET);
	else
		sb_adds(out, text);
}

static int is_object_id(const char *s, size_t len)
{
	return len == 40 && strspn(s, "0123456789abcdef") == 40;
}

/* escape_control() of len bytes that may hold NUL (from \u0000): shown as \x00. */
static void escape_bytes(struct strbuf *out, const char *s, size_t len)
{
	const char *end = s + len;

	for (;;) {
		escape_control(out, s);
		s += strlen(s);
		if (s >= end)
			break;
		sb_adds(out, "\\x00");
		s++;
	}
}

/* A string of the line as escaped text for the terminal. */
static const char *shown_span(struct strbuf *out, const struct json_span *s)
{
	struct strbuf text = STRBUF_INIT;

	sb_reset(out);
	json_span_text(s, &text);
	escape_bytes(out, text.buf ? text.buf : "", text.len);
	sb_release(&text);
	return out->buf ? out->buf : "";
}

/* A value as key=value text: escaped, quoted when it has spaces, cut when long. */
static void add_value(struct strbuf *out, json_t *v)
{
	char buf[64];

	switch (json_typeof(v)) {
	case JSON_STRING: {
		struct strbuf raw = STRBUF_INIT, shown = STRBUF_INIT;
		const char *s = json_string_value(v);
		size_t len = json_string_length(v), i, cut = 0, chars = 0;

		if (is_object_id(s, len))
			len = 12;
		for (i = 0; i < len; i++) {
			if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars > 60 && !cut)
				cut = i;
		}
		sb_add(&raw, s, cut ? cut : len);
		escape_bytes(&shown, raw.buf ? raw.buf : "", raw.len);
		if (cut)
			sb_adds(&shown, "...");
		if (!shown.len || strpbrk(shown.buf, " \"=")) {
			sb_addch(out, '"');
			for (i = 0; i < shown.len; i++) {
				if (shown.buf[i] == '"')
					sb_addch(out, '\\');
				sb_addch(out, shown.buf[i]);
			}
			sb_addch(out, '"');
		} else {
			sb_add(out, shown.buf, shown.len);
		}
		sb_release(&raw);
		sb_release(&shown);
		return;
	}
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		sb_adds(out, buf);
		return;
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%g", json_real_value(v));
		sb_adds(out, buf);
		return;
	case JSON_TRUE: sb_adds(out, "true"); return;
	case JSON_FALSE: sb_adds(out, "false"); return;
	case JSON_NULL: sb_adds(out, "null"); return;
	case JSON_ARRAY: {
		size_t i;
		json_t *item;

		json_array_foreach(v, i, item) {
			if (i)
				sb_adds(out, "; ");
			add_value(out, item);
		}
		return;
	}
	case JSON_OBJECT: {
		char *dump = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
		struct strbuf shown = STRBUF_INIT;

		escape_control(&shown, dump ? dump : "{}");
		sb_add(out, shown.buf, shown.len > 60 ? 60 : shown.len);
		if (shown.len > 60)
			sb_adds(out, "...");
		sb_release(&shown);
		free(dump);
		return;
	}
	}
}

/* After the event two spaces, between fields one. */
static void add_field(struct strbuf *out, const char *key, json_t *v, int *first)
{
	sb_adds(out, *first ? "  " : " ");
	*first = 0;
	if (!strcmp(key, "insertions") && json_is_integer(v)) {
		sb_addf(out, "+%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	}
	if (!strcmp(key, "deletions") && json_is_integer(v)) {
		sb_addf(out, "-%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	}
	sb_adds(out, esc(key));
	sb_addch(out, '=');
	add_value(out, v);
}

/* The fields worth a glance, per event of ours; others show all of theirs. */
static const char *const *key_fields(const char *event)
{
	static const struct { const char *event; const char *keys[7]; } table[] = {
		{ "task.planned", { "title" } },
		{ "worktree.created", { "branch", "base" } },
		{ "setup.done", { "copied", "linked", "commands" } },
		{ "spawn.failed", { "reason" } },
		{ "review.recorded", { "round", "files_changed", "insertions", "deletions",
				       "checks_failed", "mergeable" } },
		{ "check.passed", { "round", "command", "exit" } },
		{ "check.failed", { "round", "command", "exit", "timed_out" } },
		{ "verdict.changes", { "round", "text" } },
		{ "verdict.merge", { "round", "style", "into" } },
		{ "verdict.abandon", { "force", "keep_branch" } },
		{ "merge.done", { "style", "into", "commit" } },
		{ "merge.failed", { "reason" } },
		{ "merge.refused", { "reasons" } },
		{ "worktree.removed", { "worktree" } },
		{ "branch.deleted", { "branch" } },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(*table); i++)
		if (!strcmp(event, table[i].event))
			return table[i].keys;
	return NULL;
}

static void format_time(char *out, size_t size, long long ms)
{
	time_t t = (time_t)(ms / 1000 - (ms < 0 && ms % 1000));
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, size, "%lld", ms);
}

static int print_human(struct trace *tr, const char *line, size_t len, const struct event_line *ev)
{
	static const char *const skip[] = { "v", "ts", "event", "task", "emitted", "message", NULL };
	struct strbuf *out = &tr->line;
	json_error_t err;
	json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &err), *v;
	const char *event, *key;
	const char *const *keys;
	char when[64];
	struct strbuf shown = STRBUF_INIT, name = STRBUF_INIT;
	int emitted, first = 1;
	size_t i;

	if (!j)
		return -1;
	/*
	 * The task, event and emitted as the filters and --tasks saw them: an
	 * escaped duplicate key ("ev\u0065nt") must not show another event.
	 */
	json_span_text(&ev->event, &name);
	event = name.buf ? name.buf : "";
	emitted = ev->emitted.type == 't';
	sb_reset(out);
	format_time(when, sizeof(when), ev->when);
	add_colored(tr, out, COLOR_TIME, when);
	sb_adds(out, "  ");
	add_colored(tr, out, COLOR_TASK, ev->task.type == 's' ? shown_span(&shown, &ev->task) : "-");
	sb_adds(out, "  ");
	add_colored(tr, out, event_color(event, emitted), shown_span(&shown, &ev->event));
	keys = emitted ? NULL : key_fields(event);
	if (keys) {
		for (i = 0; i < 7 && keys[i]; i++)
			if ((v = json_object_get(j, keys[i])))
				add_field(out, keys[i], v, &first);
	} else {
		if ((v = json_object_get(j, "message")))
			add_field(out, "message", v, &first);
		json_object_foreach(j, key, v) {
			size_t k;

			for (k = 0; skip[k] && strcmp(skip[k], key); k++)
				;
			if (!skip[k])
				add_field(out, key, v, &first);
		}
	}
	sb_addch(out, '\n');
	fwrite(out->buf, 1, out->len, stdout);
	sb_release(&shown);
	sb_release(&name);
	json_decref(j);
	return 0;
}

/*
 * --json passes lines through as they are. Only on a terminal are C1
 * controls and bidi marks, which JSON allows raw, written as \u escapes.
 */
static void print_json(struct trace *tr, const char *line, size_t len)
{
	json_write_stdout(line, len, tr->tty);
}

/* Reading */

static void bad_line(struct reader *rd, const char *why)
{
	if (++rd->bad <= MAX_BAD_SHOWN && !rd->quiet)
		warning("%s:%llu: %s", esc(rd->path), rd->line, why);
}

static int event_matches(struct trace *tr, const char *line, size_t len, struct event_line *ev)
{
	struct filter *f = &tr->filter;
	const char *why;

	if (len > TRACE_MAX_LINE) {
		bad_line(&tr->rd, "longer than 262144 bytes");
		return 0;
	}
	if ((why = event_scan(line, len, ev))) {
		bad_line(&tr->rd, why);
		return 0;
	}
	if (tr->o->mode == SUMMARIZE_TASKS) {
		summarize_event(tr, ev);
		return 0;	/* --tasks picks its tasks at the end */
	}
	if (f->agent) {
		struct task_summary *ts = task_of(tr, &ev->task);
		const char *agent;

		if (ts)
			learn_agent(tr, ts, ev);
		agent = ts ? agent_of(tr, ts) : NULL;
		if (!agent || strcmp(agent, f->agent))
			return 0;
	}
	return event_filter_match(&f->match, line, len, ev, &tr->text);
}

static void handle_line(struct trace *tr, const char *line, size_t len)
{
	struct event_line ev;

	if (!event_matches(tr, line, len, &ev) || tr->matched++ < tr->skip || tr->counting)
		return;
	if (tr->o->json)
		print_json(tr, line, len);
	else if (print_human(tr, line, len, &ev) < 0)
		bad_line(&tr->rd, "not valid JSON");
}

static size_t count_newlines(const char *p, const char *end)
{
	size_t n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
		n++;
		p++;
	}
	return n;
}

/* Where the next line that may match starts, or NULL when none is whole in the buffer. */
static const char *next_candidate(struct trace *tr)
{
	struct filter *f = &tr->filter;
	struct reader *rd = &tr->rd;
	const char *start = rd->buf + rd->pos, *end = rd->buf + rd->len, *best = end;
	size_t i;

	for (i = 0; i < f->match.needles.nr; i++) {
		const char *n = f->match.needles.items[i];

		if (!f->next[i] || f->next[i] < start) {
			f->next[i] = memmem(start, (size_t)(end - start), n, strlen(n));
			if (!f->next[i])
				f->next[i] = end;
		}
		if (f->next[i] < best)
			best = f->next[i];
	}
	if (best == end)
		return NULL;
	while (best > start && best[-1] != '\n')
		best--;
	return best;
}

/* Handles every whole line in the buffer. */
static void handle_lines(struct trace *tr)
{
	struct reader *rd = &tr->rd;
	char *end = rd->buf + rd->len;

	while (rd->pos < rd->len) {
		char *start = rd->buf + rd->pos, *nl;

		if (rd->discarding) {
			if (!(nl = memchr(start, '\n', (size_t)(end - start)))) {
				rd->pos = rd->len;
				break;
			}
			rd->discarding = 0;
			rd->pos = (size_t)(nl + 1 - rd->buf);
			rd->line++;
			continue;
		}
		if (tr->filter.match.needles.nr) {
			const char *cand = next_candidate(tr);

			if (!cand) {
				const char *last = memrchr(start, '\n', (size_t)(end - start));

				if (last) {
					rd->line += count_newlines(start, last + 1);
					rd->pos = (size_t)(last + 1 - rd->buf);
				}
				break;
			}
			rd->line += count_newlines(start, cand);
			rd->pos = (size_t)(cand - rd->buf);
			start = rd->buf + rd->pos;
		}
		if (!(nl = memchr(start, '\n', (size_t)(end - start))))
			break;
		handle_line(tr, start, (size_t)(nl - start));
		rd->line++;
		rd->pos = (size_t)(nl + 1 - rd->buf);
	}
}

/* Reads what is there now; 0 at the end of the file (or the limit). */
static ssize_t fill(struct trace *tr)
{
	struct reader *rd = &tr->rd;
	size_t room;
	ssize_t n;

	if (rd->pos) {
		memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
		rd->len -= rd->pos;
		rd->pos = 0;
	}
	if (rd->len > TRACE_MAX_LINE) {	/* no newline in sight: drop it */
		bad_line(rd, "longer than 262144 bytes");
		rd->len = 0;
		rd->discarding = 1;
	}
	room = READ_SIZE + TRACE_MAX_LINE + 1 - rd->len;
	if (rd->limit >= 0 && (off_t)room > rd->limit - rd->offset)
		room = (size_t)(rd->limit - rd->offset);
	if (!room)
		return 0;
	do
		n = read(rd->fd, rd->buf + rd->len, room);
	while (n < 0 && errno == EINTR && !interrupted);
	if (n < 0)
		die_errno("cannot read the trace '%s'", esc(rd->path));
	rd->len += (size_t)n;
	rd->offset += n;
	if (tr->filter.next)	/* where needles occur is searched again */
		memset(tr->filter.next, 0, tr->filter.match.needles.nr * sizeof(*tr->filter.next));
	return n;
}

static void read_to_end(struct trace *tr)
{
	while (fill(tr) > 0 && !interrupted)
		handle_lines(tr);
	handle_lines(tr);
}

/* What is left at the end of the file has no newline: a writer stopped halfway. */
static void finish_partial(struct trace *tr)
{
	struct reader *rd = &tr->rd;
	size_t i;

	if (rd->pos >= rd->len || rd->discarding)
		return;
	for (i = 0; i + 1 < tr->filter.match.needles.nr; i++)	/* the last needle is "\\" */
		if (memmem(rd->buf + rd->pos, rd->len - rd->pos, tr->filter.match.needles.items[i],
			   strlen(tr->filter.match.needles.items[i])))
			break;
	if (!tr->filter.match.needles.nr || i + 1 < tr->filter.match.needles.nr ||
	    memchr(rd->buf + rd->pos, '\\', rd->len - rd->pos))
		bad_line(rd, "cut short at the end of the file");
	rd->pos = rd->len;
}

/* The reader at the first line of the file, with nothing buffered. */
static void start_over(struct reader *rd)
{
	rd->len = rd->pos = 0;
	rd->offset = 0;
	rd->line = 1;
	rd->discarding = 0;
}

/* Opens the log; 0 when there is none yet. */
static int open_log(struct trace *tr)
{
	struct reader *rd = &tr->rd;
	struct stat st;

	rd->fd = open(rd->path, O_RDONLY | O_CLOEXEC);
	if (rd->fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		die_errno("cannot read the trace '%s'", esc(rd->path));
	}
	if (fstat(rd->fd, &st) < 0)
		die_errno("cannot read the trace '%s'", esc(rd->path));
	if (S_ISDIR(st.st_mode))
		die("cannot read the trace '%s': it is a directory", esc(rd->path));
	rd->dev = st.st_dev;
	rd->ino = st.st_ino;
	start_over(rd);
	posix_fadvise(rd->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 1;
}

static void rewind_log(struct trace *tr)
{
	if (lseek(tr->rd.fd, 0, SEEK_SET) < 0)
		die_errno("cannot read the trace '%s'", esc(tr->rd.path));
	start_over(&tr->rd);
}

static void report_bad_lines(struct reader *rd)
{
	if (rd->bad > MAX_BAD_SHOWN)
		warning("%llu more bad lines in '%s' skipped", rd->bad - MAX_BAD_SHOWN, esc(rd->path));
	rd->bad = 0;
}

/* Following */

/* Whether whoever reads our stdout has gone (a pipe whose reader closed). */
static int stdout_gone(void)
{
	struct pollfd p = { STDOUT_FILENO, 0, 0 };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP));
}

/* A log that was replaced, or cut shorter, is read again from its start. */
static int log_replaced(struct trace *tr)
{
	struct stat st;

	if (stat(tr->rd.path, &st) < 0)
		return 0;
	return st.st_dev != tr->rd.dev || st.st_ino != tr->rd.ino || st.st_size < tr->rd.offset;
}

static void follow(struct trace *tr)
{
	struct reader *rd = &tr->rd;

	fflush(stdout);
	for (;;) {
		if (interrupted)
			return;
		if (stdout_gone()) {
			signal(SIGPIPE, SIG_DFL);
			raise(SIGPIPE);
		}
		if (rd->fd < 0) {
			if (!open_log(tr)) {
				sleep_ms(FOLLOW_POLL_MS);
				continue;
			}
		} else if (log_replaced(tr)) {
			close(rd->fd);
			rd->fd = -1;
			continue;
		}
		if (fill(tr) > 0) {
			handle_lines(tr);
			if (fflush(stdout) == EOF && errno == EPIPE)
				return;
			continue;
		}
		sleep_ms(FOLLOW_POLL_MS);
	}
}

/* Color and pager */

static int want_color(struct trace *tr)
{
	char *ui;
	int when = tr->o->color;
	const char *no_color = getenv("NO_COLOR");

	if (when < 0 && (ui = config_string(&tr->repo, "color.ui"))) {
		int b = parse_bool(ui);

		if (!strcasecmp(ui, "always"))
			when = 1;
		else if (!strcasecmp(ui, "never") || b == 0)
			when = 0;
		else if (!strcasecmp(ui, "auto") || b == 1)
			when = 2;
		free(ui);
	}
	if (when < 0)
		when = no_color && *no_color ? 0 : 2;
	return when == 2 ? tr->tty : when;
}

static void start_pager(struct trace *tr)
{
	const char *argv[] = { "sh", "-c", NULL, NULL };
	char *pager = NULL;
	const char *env;
	int fds[2];

	if (!tr->tty || !tr->o->pager || tr->o->follow)
		return;
	if ((env = getenv("GIT_PAGER")))
		pager = xstrdup(env);
	else if (!(pager = config_string(&tr->repo, "core.pager")))
		pager = xstrdup((env = getenv("PAGER")) ? env : "less");
	if (!*pager || !strcmp(pager, "cat") || pipe2(fds, O_CLOEXEC) < 0) {
		free(pager);
		return;
	}
	setenv("LESS", "FRX", 0);
	setenv("LV", "-c", 0);
	argv[2] = pager;
	tr->pager.argv = argv;
	tr->pager.stdin_fd = fds[0];
	if (start_child(&tr->pager) < 0) {
		close(fds[0]);
		close(fds[1]);
		free(pager);
		tr->pager.pid = 0;
		return;
	}
	close(fds[0]);
	dup2(fds[1], STDOUT_FILENO);
	close(fds[1]);
	free(pager);
	tr->pager.argv = NULL;
}

static void wait_for_pager(struct trace *tr)
{
	int status;

	if (tr->pager.pid <= 0)
		return;
	fflush(stdout);
	close(STDOUT_FILENO);
	while (waitpid(tr->pager.pid, &status, 0) < 0 && errno == EINTR)
		;
	tr->pager.pid = 0;
}

/* Printing and summarizing */

static void print_events(struct trace *tr)
{
	struct reader *rd = &tr->rd;
	int have_log = open_log(tr);

	if (have_log && tr->o->max_count >= 0) {
		/* The last N: count the matches, then print from the right one on. */
		rd->quiet = tr->counting = 1;
		read_to_end(tr);
		rd->quiet = tr->counting = 0;
		rd->bad = 0;
		rd->limit = tr->o->follow ? -1 : rd->offset;
		tr->skip = tr->matched > tr->o->max_count ? tr->matched - tr->o->max_count : 0;
		tr->matched = 0;
		rewind_log(tr);
	}
	if (have_log) {
		read_to_end(tr);
		if (!tr->o->follow)
			finish_partial(tr);
		report_bad_lines(rd);
	}
	if (tr->o->follow) {
		tr->skip = 0;
		tr->matched = 0;
		rd->limit = -1;
		follow(tr);
	}
}

static void format_age(char *out, size_t size, long long ms)
{
	long long s = ms / 1000;

	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, size, "%llds", s);
	else if (s < 3600)
		snprintf(out, size, "%lldm", s / 60);
	else if (s < 86400)
		snprintf(out, size, "%lldh", s / 3600);
	else if (s < 7 * 86400)
		snprintf(out, size, "%lldd", s / 86400);
	else
		snprintf(out, size, "%lldw", s / (7 * 86400));
}

static int task_wanted(struct trace *tr, struct task_summary *ts)
{
	size_t i;

	if (tr->o->agent && (!agent_of(tr, ts) || strcmp(ts->agent, tr->o->agent)))
		return 0;
	if (!tr->o->tasks.nr)
		return 1;
	for (i = 0; i < tr->o->tasks.nr; i++)
		if (!fnmatch(tr->o->tasks.items[i], ts->slug, 0))
			return 1;
	return 0;
}

/*
 * An agent that started and never logged its end runs while its supervisor
 * holds the lock in the task folder; otherwise it was lost.
 */
static void check_running_agents(struct trace *tr, struct task_summary **tasks, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		struct task_summary *ts = tasks[i];
		pid_t supervisor, pgid;
		struct task t;

		if (ts->state != ST_RUNNING || !ts->agent_running || read_record(tr, ts->slug, &t))
			continue;
		if (!agent_probe(t.folder, &supervisor, &pgid))
			ts->state = ST_LOST;
		task_release(&t);
	}
}

/* "running (pid 42)", "exited (1, rate-limit)", "exited (SIGTERM)", "lost (pid 42)". */
static void state_text(struct strbuf *out, const struct task_summary *ts)
{
	sb_adds(out, state_names[ts->state]);
	if ((ts->state == ST_RUNNING || ts->state == ST_LOST) && ts->agent_running && ts->pid > 0) {
		sb_addf(out, " (pid %d)", ts->pid);
	} else if (ts->state == ST_EXITED) {
		if (ts->signal[0])
			sb_addf(out, " (%s", esc(ts->signal));
		else
			sb_addf(out, " (%d", ts->exit_code);
		if (ts->failure_class)
			sb_addf(out, ", %s", ts->failure_class);
		sb_addch(out, ')');
	}
}

static json_t *int_or_null(long long v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static void print_task_json(struct trace *tr, struct task_summary *ts)
{
	char first[32], last[32], *line, *branch = branch_of(ts);
	json_t *j = json_object();

	format_time_utc(first, ts->first);
	format_time_utc(last, ts->last);
	json_object_set_new(j, "task", json_text(ts->slug));
	json_object_set_new(j, "state", json_string(state_names[ts->state]));
	json_object_set_new(j, "branch", json_text(branch));
	json_object_set_new(j, "agent", json_text(ts->agent));
	json_object_set_new(j, "created", json_string(first));
	json_object_set_new(j, "updated", json_string(last));
	json_object_set_new(j, "last_event", json_text(ts->last_event));
	json_object_set_new(j, "events", json_integer(ts->events));
	json_object_set_new(j, "round", int_or_null(ts->round));
	json_object_set_new(j, "insertions", int_or_null(ts->insertions));
	json_object_set_new(j, "deletions", int_or_null(ts->deletions));
	json_object_set_new(j, "verdict", ts->verdict ? json_string(ts->verdict) : json_null());
	json_object_set_new(j, "mergeable", ts->mergeable < 0 ? json_null() : json_boolean(ts->mergeable));
	json_object_set_new(j, "agent_pid", ts->pid > 0 ? json_integer(ts->pid) : json_null());
	json_object_set_new(j, "exit_code", int_or_null(ts->exit_code));
	json_object_set_new(j, "signal", ts->signal[0] ? json_text(ts->signal) : json_null());
	json_object_set_new(j, "failure_class", ts->failure_class ?
			    json_string(ts->failure_class) : json_null());
	line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_write_stdout(line, strlen(line), tr->tty);
	free(line);
	free(branch);
	json_decref(j);
}

/* Columns of the --tasks table: TASK STATE BRANCH AGE "LAST EVENT" +/- VERDICT. */
#define TASK_COLUMNS 7

static void task_cells(struct task_summary *ts, long long now, struct strbuf cells[TASK_COLUMNS])
{
	char age[32], *branch = branch_of(ts);
	size_t c;

	for (c = 0; c < TASK_COLUMNS; c++)
		sb_reset(&cells[c]);
	format_age(age, sizeof(age), now - ts->first);
	sb_adds(&cells[0], esc(ts->slug));
	state_text(&cells[1], ts);
	sb_adds(&cells[2], branch ? esc(branch) : "-");
	sb_adds(&cells[3], age);
	sb_adds(&cells[4], ts->last_event ? esc(ts->last_event) : "-");
	if (ts->insertions >= 0 || ts->deletions >= 0)
		sb_addf(&cells[5], "+%lld -%lld", ts->insertions < 0 ? 0 : ts->insertions,
			ts->deletions < 0 ? 0 : ts->deletions);
	else
		sb_adds(&cells[5], "-");
	sb_adds(&cells[6], ts->verdict ? ts->verdict : "-");
	free(branch);
}

static size_t display_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Two passes over the tasks, one to size the columns and one to print them. */
static void print_task_table(struct trace *tr, struct task_summary **tasks, size_t nr)
{
	static const char *header[TASK_COLUMNS] = { "TASK", "STATE", "BRANCH", "AGE", "LAST EVENT",
						    "+/-", "VERDICT" };
	struct strbuf cells[TASK_COLUMNS];
	size_t width[TASK_COLUMNS], i, c;
	long long now = now_ms();

	memset(cells, 0, sizeof(cells));
	for (c = 0; c < TASK_COLUMNS; c++)
		width[c] = strlen(header[c]);
	for (i = 0; i < nr; i++) {
		task_cells(tasks[i], now, cells);
		for (c = 0; c < TASK_COLUMNS; c++)
			if (display_width(cells[c].buf) > width[c])
				width[c] = display_width(cells[c].buf);
	}
	for (i = 0; i <= nr; i++) {
		struct strbuf *out = &tr->line;

		if (i)
			task_cells(tasks[i - 1], now, cells);
		sb_reset(out);
		for (c = 0; c < TASK_COLUMNS; c++) {
			const char *cell = i ? cells[c].buf : header[c];

			if (i && c == 0)
				add_colored(tr, out, COLOR_TASK, cell);
			else
				sb_adds(out, cell);
			if (c + 1 < TASK_COLUMNS)
				sb_addf(out, "%*s", (int)(width[c] - display_width(cell) + 2), "");
		}
		sb_addch(out, '\n');
		fwrite(out->buf, 1, out->len, stdout);
	}
	for (c = 0; c < TASK_COLUMNS; c++)
		sb_release(&cells[c]);
}

static void summarize_tasks(struct trace *tr)
{
	struct task_summary **wanted;
	size_t i, nr = 0;

	if (open_log(tr)) {
		read_to_end(tr);
		finish_partial(tr);
		report_bad_lines(&tr->rd);
	}
	wanted = xcalloc(tr->order_nr ? tr->order_nr : 1, sizeof(*wanted));
	for (i = 0; i < tr->order_nr; i++)
		if (task_wanted(tr, tr->order[i]))
			wanted[nr++] = tr->order[i];
	check_running_agents(tr, wanted, nr);
	if (tr->o->json)
		for (i = 0; i < nr; i++)
			print_task_json(tr, wanted[i]);
	else if (nr)
		print_task_table(tr, wanted, nr);
	free(wanted);
}

/* --emit */

static int reserved_event(const char *name)
{
	static const char *const namespaces[] = { "task", "worktree", "setup", "spawn", "agent",
		"review", "check", "verdict", "merge", "branch", NULL };
	size_t n = strcspn(name, "."), i;

	for (i = 0; namespaces[i]; i++)
		if (strlen(namespaces[i]) == n && !strncmp(name, namespaces[i], n))
			return 1;
	return 0;
}

static int valid_name(const char *s, const char *first, const char *rest)
{
	size_t n = strlen(s);

	return n && n <= 64 && strchr(first, s[0]) && strspn(s + 1, rest) == n - 1;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

static const char *const own_keys[] = { "v", "ts", "event", "task", "emitted", "message",
					"agent", "truncated", NULL };

/*
 * Every --field is checked before anything is allocated: LeakSanitizer counts
 * what a die() drops. A name is at most 64 bytes, so a copy on the stack does.
 */
static void check_fields(const struct strlist *fields)
{
	size_t i, j, k;

	for (i = 0; i < fields->nr; i++) {
		const char *field = fields->items[i], *eq = strchr(field, '=');
		char key[66];
		size_t n;

		if (!eq) {
			error("--field needs <key>=<value>, not '%s'", esc(field));
			usage_die(usage_text);
		}
		n = (size_t)(eq - field);
		if (n > 64)
			die("bad field name of %zu bytes: at most 64", n);
		memcpy(key, field, n);
		key[n] = '\0';
		if (!valid_name(key, "abcdefghijklmnopqrstuvwxyz_", LOWER_DIGITS "_"))
			die("bad field name '%s': use lower-case letters, digits and '_', at most 64, "
			    "not starting with a digit", esc(key));
		for (k = 0; own_keys[k] && strcmp(own_keys[k], key); k++)
			;
		if (own_keys[k])
			die("field '%s' is reserved: git agent sets it itself", key);
		for (j = 0; j < i; j++)
			if (!strncmp(fields->items[j], field, n + 1))
				die("field '%s' is given twice", key);
	}
}

static void emit_event(struct trace *tr)
{
	const struct trace_options *o = tr->o;
	char *slug;
	json_t *e;
	size_t i;

	if (!valid_name(o->emit, LOWER_DIGITS, LOWER_DIGITS "._-"))
		die("bad event name '%s': use lower-case letters, digits, '.', '_' and '-', "
		    "at most 64, starting with a letter or digit", esc(o->emit));
	if (reserved_event(o->emit))
		die("event name '%s' is reserved: git agent writes the task.*, worktree.*, setup.*, "
		    "spawn.*, agent.*, review.*, check.*, verdict.*, merge.* and branch.* events "
		    "itself; choose another name, such as 'note.%s'", esc(o->emit), esc(o->emit));
	if (o->message && strlen(o->message) > MAX_EMIT_MESSAGE)
		die("the message is too long: at most %d bytes", MAX_EMIT_MESSAGE);
	check_fields(&o->fields);
	if (!(slug = task_find(&tr->repo, o->emit_task))) {
		if (!o->emit_task)
			die("not inside a task's worktree; name the task with --task <task>");
		die("task '%s' not found: name a task by its slug or its branch", esc(o->emit_task));
	}
	e = trace_event(o->emit, slug);
	free(slug);
	json_object_set_new(e, "emitted", json_true());
	if (o->message)
		json_object_set_new(e, "message", json_text(o->message));
	for (i = 0; i < o->fields.nr; i++) {
		const char *field = o->fields.items[i], *eq = strchr(field, '=');
		char *key = xstrndup(field, (size_t)(eq - field));

		json_object_set_new(e, key, json_text(eq + 1));
		free(key);
	}
	if (trace_append(tr->repo.config.trace, e) < 0)
		die_errno("cannot append to the trace '%s'", esc(tr->repo.config.trace));
}

/* Printing or summarizing: the filter, the reader, color and pager set up. */
static void read_log(struct trace *tr)
{
	const struct trace_options *o = tr->o;

	set_up_filter(&tr->filter, o);
	tr->rd.path = tr->repo.config.trace;
	tr->rd.fd = -1;
	tr->rd.limit = -1;
	tr->rd.buf = xmalloc(READ_SIZE + TRACE_MAX_LINE + 1);
	tr->tty = isatty(STDOUT_FILENO);
	tr->color = want_color(tr);
	if (o->follow)
		catch_interrupts();
	start_pager(tr);
	if (o->mode == SUMMARIZE_TASKS)
		summarize_tasks(tr);
	else
		print_events(tr);
	if (fflush(stdout) == EOF && errno == EPIPE) {
		signal(SIGPIPE, SIG_DFL);	/* as git: a closed pipe ends us quietly */
		raise(SIGPIPE);
	}
	finish_stdout();
	wait_for_pager(tr);
}

static void trace_release(struct trace *tr)
{
	if (tr->rd.fd >= 0)
		close(tr->rd.fd);
	free(tr->rd.buf);
	free(tr->filter.next);
	strlist_clear(&tr->filter.match.needles);
	table_clear(&tr->tasks, 1);
	table_clear(&tr->names, 0);
	table_clear(&tr->agents, 0);
	free(tr->order);
	sb_release(&tr->text);
	sb_release(&tr->line);
	agent_repo_close(&tr->repo);
}

int main(int argc, char **argv)
{
	struct trace_options o;
	struct trace tr;

	ignore_file_size_signal();
	parse_options(argc, argv, &o);
	memset(&tr, 0, sizeof(tr));
	tr.o = &o;
	tr.rd.fd = -1;
	agent_repo_open(&tr.repo);
	if (o.mode == EMIT_EVENT)
		emit_event(&tr);
	else
		read_log(&tr);
	trace_release(&tr);
	strlist_clear(&o.tasks);
	strlist_clear(&o.events);
	strlist_clear(&o.fields);
	return 0;
}
